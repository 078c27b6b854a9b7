#include "sip/uas.hpp"

#include <array>

namespace portline::sip {

UasAnswer DecideAnswer(const Message& m, const UasContext& ctx) {
  UasAnswer a;
  auto allow = [&a] { a.headers.emplace_back("Allow", std::string(kAllowedMethods)); };
  if (ctx.verifier != nullptr && m.Method() != "CANCEL") {
    const std::string_view authz = m.Get(HeaderId::kAuthorization);
    DigestVerifier::Verdict verdict = DigestVerifier::Verdict::kMalformed;
    if (!authz.empty()) {
      const std::string user = DigestVerifier::Username(authz);
      const std::optional<std::string> password = ctx.password_for != nullptr && *ctx.password_for
                                                      ? (*ctx.password_for)(user)
                                                      : std::nullopt;
      verdict = password ? ctx.verifier->Verify(authz, m.Method(), *password, ctx.now)
                         : DigestVerifier::Verdict::kBadCredentials;
    }
    if (verdict != DigestVerifier::Verdict::kOk) {
      a.code = 401;
      a.headers.emplace_back(
          "WWW-Authenticate",
          ctx.verifier->Challenge(ctx.algorithm, ctx.now,
                                  verdict == DigestVerifier::Verdict::kStaleNonce));
      return a;
    }
  }
  if (const std::string_view require = m.Get(HeaderId::kRequire); !require.empty()) {
    a.code = 420;
    a.headers.emplace_back("Unsupported", std::string(require));
    return a;
  }
  if (m.Method() == "OPTIONS") {
    allow();
    a.headers.emplace_back("Accept", "application/sdp");
    a.headers.emplace_back("Accept-Encoding", "identity");
    a.headers.emplace_back("Accept-Language", "en");
    a.headers.emplace_back("Supported", "");
    if (ctx.draining) {
      a.headers.emplace_back("Retry-After", "30");
      a.code = 503;
      return a;
    }
    a.code = 200;
    return a;
  }
  if (m.Method() == "CANCEL") {
    a.code = 481;  // no INVITE transaction of ours to cancel
    return a;
  }
  static constexpr std::array<std::string_view, 11> kKnown = {
      "INVITE",    "BYE",    "REGISTER", "INFO",    "UPDATE", "PRACK",
      "SUBSCRIBE", "NOTIFY", "REFER",    "MESSAGE", "PUBLISH"};
  allow();
  for (std::string_view k : kKnown) {
    if (m.Method() == k) {
      a.code = 405;
      return a;
    }
  }
  a.code = 501;
  return a;
}

std::string WarningText(std::string text) {
  for (char& c : text) {
    c = (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '\'' : c;
  }
  if (text.size() > 200) {
    text.resize(200);
  }
  return text;
}

}  // namespace portline::sip
