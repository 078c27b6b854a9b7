#pragma once

// HTTP Digest authentication for SIP (RFC 2617, RFC 7616 as used by RFC 3261 §22 and RFC 8760):
// MD5 and SHA-256, qop=auth (and no qop for old servers). Pure.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "sip/message.hpp"

namespace portline::sip {

enum class DigestAlgorithm : std::uint8_t { kMd5, kMd5Sess, kSha256, kSha256Sess };

struct DigestChallenge {
  std::string realm;
  std::string nonce;
  std::string opaque;
  DigestAlgorithm algorithm = DigestAlgorithm::kMd5;
  bool qop_auth = false;  // the server offered qop=auth
  bool stale = false;
};

/// Reads a WWW-Authenticate / Proxy-Authenticate value. Unsupported schemes, algorithms or a
/// qop list without "auth" are errors that say so.
[[nodiscard]] Result<DigestChallenge> ParseChallenge(std::string_view header_value);

struct DigestAnswer {
  std::string username;
  std::string password;
  std::string method;  // "INVITE", "OPTIONS"
  std::string uri;     // the Request-URI
  std::string cnonce;  // random per request; NewTag() is fine
  std::uint32_t nc = 1;
};

/// The Authorization / Proxy-Authorization header value answering `challenge`.
[[nodiscard]] std::string DigestAuthorization(const DigestChallenge& challenge,
                                              const DigestAnswer& answer);

/// Server side: issues stateless nonces (timestamp + HMAC) and verifies credentials.
class DigestVerifier {
 public:
  DigestVerifier(std::string realm, std::string secret, std::chrono::seconds nonce_lifetime);

  /// A challenge header value (`Digest realm=…, nonce=…, qop="auth", algorithm=…`).
  [[nodiscard]] std::string Challenge(DigestAlgorithm algorithm,
                                      std::chrono::system_clock::time_point now,
                                      bool stale = false) const;

  enum class Verdict : std::uint8_t { kOk, kBadCredentials, kStaleNonce, kMalformed };
  /// Checks an Authorization value for `method` with the user's password.
  [[nodiscard]] Verdict Verify(std::string_view authorization, std::string_view method,
                               std::string_view password,
                               std::chrono::system_clock::time_point now) const;
  /// The username in an Authorization value ("" when absent).
  [[nodiscard]] static std::string Username(std::string_view authorization);

 private:
  std::string NonceFor(std::int64_t issued) const;
  std::string realm_;
  std::string secret_;
  std::chrono::seconds lifetime_;
};

}  // namespace portline::sip
