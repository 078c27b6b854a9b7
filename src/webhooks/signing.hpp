#pragma once

// Standard Webhooks signatures (https://www.standardwebhooks.com): secrets "whsec_<base64>",
// headers webhook-id, webhook-timestamp (Unix seconds) and webhook-signature
// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" (several, space-separated, while a rotated
// secret is still valid). Pure.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace portline::webhooks {

/// A new secret: "whsec_" + base64 of 32 random bytes.
[[nodiscard]] std::string NewSecret();

/// "v1,<base64>" for one secret (kInvalidArgument when the secret is malformed).
[[nodiscard]] Result<std::string> Sign(std::string_view secret, std::string_view id,
                                       std::int64_t timestamp, std::string_view body);

/// Checks a delivery: any of the space-separated v1 signatures made with any of `secrets`, and a
/// timestamp within `tolerance` of `now`. Errors say which check failed.
[[nodiscard]] Result<void> Verify(const std::vector<std::string>& secrets, std::string_view id,
                                  std::string_view timestamp, std::string_view signatures,
                                  std::string_view body, std::chrono::system_clock::time_point now,
                                  std::chrono::seconds tolerance = std::chrono::seconds(300));

}  // namespace portline::webhooks
