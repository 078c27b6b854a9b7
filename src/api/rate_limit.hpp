#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portline::api {

/// Token bucket per organization, in memory (per node). Thread-safe.
class RateLimiter {
 public:
  /// `per_second` ≤ 0 disables limiting.
  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}

  /// nullopt if allowed; otherwise how long to wait before a token is available.
  [[nodiscard]] std::optional<std::chrono::milliseconds> Take(
      std::string_view key, std::chrono::steady_clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
  };
  double rate_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace portline::api
