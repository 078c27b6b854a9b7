#include "core/crypto.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <stdexcept>

#include "core/clock.hpp"

namespace portline {
namespace {
constexpr std::string_view kBase32 = "0123456789abcdefghjkmnpqrstvwxyz";  // Crockford, lowercase
constexpr std::string_view kHex = "0123456789abcdef";

std::string ToHex(const unsigned char* p, std::size_t n) {
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4U];
    out[2 * i + 1] = kHex[p[i] & 0xFU];
  }
  return out;
}
}  // namespace

void InitCrypto() {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium initialisation failed");
  }
}

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size());
  return ToHex(digest.data(), digest.size());
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t n = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &n, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  out.resize(n);
  return out;
}

std::string RandomHex(std::size_t n) {
  std::string bytes(n, '\0');
  randombytes_buf(bytes.data(), n);
  return ToHex(reinterpret_cast<const unsigned char*>(bytes.data()), n);
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string NewId(std::string_view prefix, std::chrono::system_clock::time_point now) {
  std::string out(prefix);
  out.push_back('_');
  auto ms = static_cast<std::uint64_t>(ToUnixMillis(now));
  for (int i = 9; i >= 0; --i) {  // 50 bits: good until the year 37648
    out.push_back(kBase32[(ms >> (static_cast<unsigned>(i) * 5U)) & 31U]);
  }
  std::array<unsigned char, 16> rnd{};
  randombytes_buf(rnd.data(), rnd.size());
  for (unsigned char c : rnd) {
    out.push_back(kBase32[c & 31U]);
  }
  return out;
}

std::string NewRequestId() {
  // splitmix64: tiny, fast, and plenty for correlation ids.
  thread_local std::uint64_t state = [] {
    std::uint64_t seed = 0;
    randombytes_buf(&seed, sizeof seed);
    return seed;
  }();
  state += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  z ^= z >> 31U;
  std::string out = "req_";
  for (int i = 15; i >= 0; --i) {
    out.push_back(kHex[(z >> (static_cast<unsigned>(i) * 4U)) & 0xFU]);
  }
  return out;
}

bool IsWellFormedId(std::string_view s, std::string_view prefix) {
  if (s.size() != prefix.size() + 1 + 26 || s.substr(0, prefix.size()) != prefix ||
      s[prefix.size()] != '_') {
    return false;
  }
  for (char c : s.substr(prefix.size() + 1)) {
    if (kBase32.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace portline
