#include "webhooks/signing.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <optional>

namespace portline::webhooks {
namespace {

std::string Base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

Result<std::string> Unbase64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) {
    return Fail(Errc::kInvalidArgument, "the webhook secret is not valid base64");
  }
  std::string out(3 * s.size() / 4, '\0');
  const int len =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (len < 0) {
    return Fail(Errc::kInvalidArgument, "the webhook secret is not valid base64");
  }
  std::size_t pad = 0;
  while (pad < 2 && s[s.size() - 1 - pad] == '=') {
    ++pad;
  }
  out.resize(static_cast<std::size_t>(len) - pad);
  return out;
}

}  // namespace

std::string NewSecret() {
  std::array<unsigned char, 32> key{};
  RAND_bytes(key.data(), static_cast<int>(key.size()));
  return "whsec_" + Base64(key.data(), key.size());
}

namespace {
// Signs "id.timestamp.body" with the timestamp's text as it is (sent or received).
Result<std::string> SignText(std::string_view secret, std::string_view id,
                             std::string_view timestamp, std::string_view body) {
  if (secret.substr(0, 6) == "whsec_") {
    secret.remove_prefix(6);
  }
  PORTLINE_ASSIGN_OR_RETURN(const std::string key, Unbase64(secret));
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac.data(), &n);
  return "v1," + Base64(mac.data(), n);
}
}  // namespace

Result<std::string> Sign(std::string_view secret, std::string_view id, std::int64_t timestamp,
                         std::string_view body) {
  return SignText(secret, id, std::to_string(timestamp), body);
}

Result<void> Verify(const std::vector<std::string>& secrets, std::string_view id,
                    std::string_view timestamp, std::string_view signatures, std::string_view body,
                    std::chrono::system_clock::time_point now, std::chrono::seconds tolerance) {
  std::int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc{} || end != timestamp.data() + timestamp.size()) {
    return Fail(Errc::kInvalidArgument, "webhook-timestamp is not a Unix time in seconds");
  }
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (ts < now_s - tolerance.count() || ts > now_s + tolerance.count()) {
    return Fail(Errc::kInvalidArgument, "webhook-timestamp is too old or in the future (replay?)");
  }
  // Every secret is tried (a rotation has two), each over the timestamp exactly as it was sent;
  // one that is not a valid secret does not stop the others.
  std::optional<Error> bad_secret;
  for (const std::string& secret : secrets) {
    auto signed_text = SignText(secret, id, timestamp, body);
    if (!signed_text) {
      bad_secret = signed_text.error();
      continue;
    }
    const std::string& expected = *signed_text;
    std::size_t start = 0;
    while (start < signatures.size()) {
      std::size_t sp = signatures.find(' ', start);
      if (sp == std::string_view::npos) {
        sp = signatures.size();
      }
      const std::string_view candidate = signatures.substr(start, sp - start);
      if (candidate.size() == expected.size() &&
          CRYPTO_memcmp(candidate.data(), expected.data(), expected.size()) == 0) {
        return {};
      }
      start = sp + 1;
    }
  }
  if (bad_secret && secrets.size() == 1) {
    return tl::unexpected(*bad_secret);
  }
  return Fail(Errc::kUnauthenticated,
              "no webhook-signature matches (wrong secret or altered body)");
}

}  // namespace portline::webhooks
