#pragma once

#include <chrono>

namespace portline {

/// Time source. Inject it; never call system_clock::now() in domain code.
/// Implementations must be safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock time (UTC).
  [[nodiscard]] virtual std::chrono::system_clock::time_point Now() const = 0;
  /// Monotonic time, for durations and timeouts.
  [[nodiscard]] virtual std::chrono::steady_clock::time_point SteadyNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  [[nodiscard]] std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
};

/// Milliseconds since the Unix epoch: the storage representation of timestamps.
[[nodiscard]] inline std::int64_t ToUnixMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
[[nodiscard]] inline std::chrono::system_clock::time_point FromUnixMillis(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace portline
