#pragma once

// The user-agent server's decision (RFC 3261 §8.2): what a new request is answered, as a pure
// function of the request and what the endpoint knows (draining, digest credentials, the time).
// The endpoint sends what this decides; the dialog layer will add its methods here.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sip/digest.hpp"
#include "sip/message.hpp"

namespace portline::sip {

/// The methods this UAS implements: what Allow lists.
inline constexpr std::string_view kAllowedMethods = "OPTIONS";

struct UasContext {
  bool draining = false;  // answer OPTIONS 503 so health checkers move traffic away
  /// Digest verification of incoming requests; null = requests need no credentials.
  const DigestVerifier* verifier = nullptr;
  DigestAlgorithm algorithm = DigestAlgorithm::kSha256;
  /// The password of a digest username (nullopt: no such user); used when `verifier` is set.
  const std::function<std::optional<std::string>(std::string_view username)>* password_for =
      nullptr;
  std::chrono::system_clock::time_point now;
};

struct UasAnswer {
  int code = 500;
  std::vector<std::pair<std::string, std::string>> headers;  // besides the response's own
};

/// The answer to a new (validated) request: 401 with a challenge without good credentials, 420
/// for a Require we do not support, 200 (503 while draining) for OPTIONS, 481 for CANCEL, 405
/// for methods we know but do not implement and 501 for the rest, each with Allow.
[[nodiscard]] UasAnswer DecideAnswer(const Message& request, const UasContext& ctx);

/// Text made safe for a `Warning: 399 portline "<text>"` value: quotes, backslashes and control
/// characters become apostrophes, and it is cut to 200 bytes.
[[nodiscard]] std::string WarningText(std::string text);

}  // namespace portline::sip
