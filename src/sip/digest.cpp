#include "sip/digest.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

#include "sip/syntax.hpp"

namespace portline::sip {
namespace {

std::string Hex(const unsigned char* d, unsigned n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(kHex[d[i] >> 4]);
    out.push_back(kHex[d[i] & 15]);
  }
  return out;
}

bool IsSha256(DigestAlgorithm a) {
  return a == DigestAlgorithm::kSha256 || a == DigestAlgorithm::kSha256Sess;
}
bool IsSess(DigestAlgorithm a) {
  return a == DigestAlgorithm::kMd5Sess || a == DigestAlgorithm::kSha256Sess;
}

std::string H(DigestAlgorithm a, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned n = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &n, IsSha256(a) ? EVP_sha256() : EVP_md5(),
             nullptr);
  return Hex(md.data(), n);
}

std::string_view AlgorithmName(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::kMd5:
      return "MD5";
    case DigestAlgorithm::kMd5Sess:
      return "MD5-sess";
    case DigestAlgorithm::kSha256:
      return "SHA-256";
    case DigestAlgorithm::kSha256Sess:
      return "SHA-256-sess";
  }
  return "MD5";
}

std::optional<DigestAlgorithm> AlgorithmFrom(std::string_view s) {
  if (s.empty() || syntax::IEquals(s, "MD5")) {
    return DigestAlgorithm::kMd5;
  }
  if (syntax::IEquals(s, "MD5-sess")) {
    return DigestAlgorithm::kMd5Sess;
  }
  if (syntax::IEquals(s, "SHA-256")) {
    return DigestAlgorithm::kSha256;
  }
  if (syntax::IEquals(s, "SHA-256-sess")) {
    return DigestAlgorithm::kSha256Sess;
  }
  return std::nullopt;
}

std::string Response(DigestAlgorithm alg, std::string_view username, std::string_view realm,
                     std::string_view password, std::string_view nonce, std::string_view cnonce,
                     std::string_view nc, std::string_view qop, std::string_view method,
                     std::string_view uri) {
  std::string a1 = std::string(username) + ":" + std::string(realm) + ":" + std::string(password);
  std::string ha1 = H(alg, a1);
  if (IsSess(alg)) {
    ha1 = H(alg, ha1 + ":" + std::string(nonce) + ":" + std::string(cnonce));
  }
  const std::string ha2 = H(alg, std::string(method) + ":" + std::string(uri));
  if (qop.empty()) {
    return H(alg, ha1 + ":" + std::string(nonce) + ":" + ha2);
  }
  return H(alg, ha1 + ":" + std::string(nonce) + ":" + std::string(nc) + ":" + std::string(cnonce) +
                    ":" + std::string(qop) + ":" + ha2);
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

Result<DigestChallenge> ParseChallenge(std::string_view header_value) {
  PORTLINE_ASSIGN_OR_RETURN(const AuthHeader auth, ParseAuth(header_value));
  if (!syntax::IEquals(auth.scheme, "Digest")) {
    return Fail(Errc::kInvalidArgument,
                "unsupported authentication scheme '" + std::string(auth.scheme) + "'");
  }
  DigestChallenge c;
  c.realm = std::string(auth.Get("realm").value_or(""));
  c.nonce = std::string(auth.Get("nonce").value_or(""));
  c.opaque = std::string(auth.Get("opaque").value_or(""));
  if (c.nonce.empty()) {
    return Fail(Errc::kInvalidArgument, "the Digest challenge has no nonce");
  }
  const std::string_view alg = auth.Get("algorithm").value_or("");
  auto a = AlgorithmFrom(alg);
  if (!a) {
    return Fail(Errc::kInvalidArgument, "unsupported Digest algorithm '" + std::string(alg) + "'");
  }
  c.algorithm = *a;
  if (auto qop = auth.Get("qop")) {
    for (std::string_view q : SplitList(*qop)) {
      c.qop_auth = c.qop_auth || syntax::IEquals(q, "auth");
    }
    if (!c.qop_auth) {
      return Fail(Errc::kInvalidArgument, "the server offers only qop='" + std::string(*qop) +
                                              "'; Portline supports qop=auth");
    }
  }
  c.stale = syntax::IEquals(auth.Get("stale").value_or(""), "true");
  return c;
}

std::string DigestAuthorization(const DigestChallenge& c, const DigestAnswer& a) {
  std::array<char, 9> nc{};
  std::snprintf(nc.data(), nc.size(), "%08x", a.nc);
  const std::string_view qop = c.qop_auth ? "auth" : "";
  const std::string response = Response(c.algorithm, a.username, c.realm, a.password, c.nonce,
                                        a.cnonce, nc.data(), qop, a.method, a.uri);
  std::string out = "Digest username=" + Quote(a.username) + ", realm=" + Quote(c.realm) +
                    ", nonce=" + Quote(c.nonce) + ", uri=" + Quote(a.uri) +
                    ", response=" + Quote(response) +
                    ", algorithm=" + std::string(AlgorithmName(c.algorithm));
  if (c.qop_auth) {
    out += ", qop=auth, nc=" + std::string(nc.data()) + ", cnonce=" + Quote(a.cnonce);
  }
  if (!c.opaque.empty()) {
    out += ", opaque=" + Quote(c.opaque);
  }
  return out;
}

DigestVerifier::DigestVerifier(std::string realm, std::string secret,
                               std::chrono::seconds nonce_lifetime)
    : realm_(std::move(realm)), secret_(std::move(secret)), lifetime_(nonce_lifetime) {}

std::string DigestVerifier::NonceFor(std::int64_t issued) const {
  const std::string ts = std::to_string(issued);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned n = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(ts.data()), ts.size(), mac.data(), &n);
  return ts + "." + Hex(mac.data(), 16);
}

std::string DigestVerifier::Challenge(DigestAlgorithm algorithm,
                                      std::chrono::system_clock::time_point now, bool stale) const {
  const auto issued =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::string out = "Digest realm=" + Quote(realm_) + ", nonce=" + Quote(NonceFor(issued)) +
                    ", qop=\"auth\", algorithm=" + std::string(AlgorithmName(algorithm));
  if (stale) {
    out += ", stale=true";
  }
  return out;
}

std::string DigestVerifier::Username(std::string_view authorization) {
  auto a = ParseAuth(authorization);
  return a ? std::string(a->Get("username").value_or("")) : std::string();
}

DigestVerifier::Verdict DigestVerifier::Verify(std::string_view authorization,
                                               std::string_view method, std::string_view password,
                                               std::chrono::system_clock::time_point now) const {
  auto a = ParseAuth(authorization);
  if (!a || !syntax::IEquals(a->scheme, "Digest")) {
    return Verdict::kMalformed;
  }
  const std::string_view nonce = a->Get("nonce").value_or("");
  const std::string_view username = a->Get("username").value_or("");
  const std::string_view uri = a->Get("uri").value_or("");
  const std::string_view response = a->Get("response").value_or("");
  const std::string_view realm = a->Get("realm").value_or("");
  const std::string_view qop = a->Get("qop").value_or("");
  auto alg = AlgorithmFrom(a->Get("algorithm").value_or(""));
  if (nonce.empty() || username.empty() || uri.empty() || response.empty() || !alg ||
      realm != realm_ || (!qop.empty() && !syntax::IEquals(qop, "auth"))) {
    return Verdict::kMalformed;
  }
  const std::size_t dot = nonce.find('.');
  std::uint64_t issued = 0;
  if (dot == std::string_view::npos ||
      !syntax::ParseUnsigned(nonce.substr(0, dot), 1ULL << 40, issued) ||
      NonceFor(static_cast<std::int64_t>(issued)) != nonce) {
    return Verdict::kBadCredentials;  // not our nonce
  }
  const std::string expected =
      Response(*alg, username, realm_, password, nonce, a->Get("cnonce").value_or(""),
               a->Get("nc").value_or(""), qop, method, uri);
  if (expected.size() != response.size() ||
      CRYPTO_memcmp(expected.data(), response.data(), expected.size()) != 0) {
    return Verdict::kBadCredentials;
  }
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (now_s - static_cast<std::int64_t>(issued) > lifetime_.count()) {
    return Verdict::kStaleNonce;
  }
  return Verdict::kOk;
}

}  // namespace portline::sip
