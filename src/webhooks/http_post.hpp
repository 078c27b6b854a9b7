#pragma once

// A small blocking HTTP/1.1 POST for webhook delivery (http and https with verified
// certificates), bounded by one deadline, guarded against SSRF on the resolved address.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/net_guard.hpp"

namespace portline::webhooks {

struct HttpResult {
  int status = 0;
  std::string body_excerpt;  // first 500 bytes
  std::chrono::milliseconds duration{0};
};

[[nodiscard]] Result<HttpResult> Post(
    const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body, const net::OutboundGuard* guard, std::chrono::milliseconds timeout);

}  // namespace portline::webhooks
