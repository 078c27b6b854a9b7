#pragma once

#include <atomic>
#include <chrono>

#include "core/clock.hpp"

namespace portline::testing {

/// A clock that only moves when the test says so. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start =
                         std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000)))
      : wall_ms_(ToUnixMillis(start)) {}

  [[nodiscard]] std::chrono::system_clock::time_point Now() const override {
    return FromUnixMillis(wall_ms_.load());
  }
  [[nodiscard]] std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(steady_ms_.load()));
  }
  void Advance(std::chrono::milliseconds d) {
    wall_ms_ += d.count();
    steady_ms_ += d.count();
  }

 private:
  std::atomic<std::int64_t> wall_ms_;
  std::atomic<std::int64_t> steady_ms_{1000000};
};

}  // namespace portline::testing
