#include "api/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace portline::api {

std::optional<std::chrono::milliseconds> RateLimiter::Take(
    std::string_view key, std::chrono::steady_clock::time_point now) {
  if (rate_ <= 0) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  auto [it, inserted] = buckets_.try_emplace(std::string(key), Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait_s = (1.0 - b.tokens) / rate_;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1000.0)));
}

}  // namespace portline::api
