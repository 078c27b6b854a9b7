#include "core/secret_box.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/crypto.hpp"

namespace portline {
namespace {

std::string Base64(const unsigned char* data, std::size_t n, int variant) {
  std::string out(sodium_base64_encoded_len(n, variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

bool FromHex(std::string_view hex, std::string& out) {
  if (hex.size() != 64) {
    return false;
  }
  out.assign(32, '\0');
  std::size_t len = 0;
  return sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                        hex.size(), nullptr, &len, nullptr) == 0 &&
         len == 32;
}

}  // namespace

SecretBox::SecretBox(std::string key) : key_(std::move(key)) {}

Result<SecretBox> SecretBox::Load(const std::string& key_hex, const std::string& data_dir) {
  InitCrypto();
  std::string key;
  if (!key_hex.empty()) {
    if (!FromHex(key_hex, key)) {
      return Fail(Errc::kInvalidArgument, "security.secret_key must be 64 hex characters");
    }
    return SecretBox(std::move(key));
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  const std::string path = (std::filesystem::path(data_dir) / "secret.key").string();
  std::ifstream in(path);
  if (in) {
    std::string hex;
    std::getline(in, hex);
    if (!FromHex(hex, key)) {
      return Fail(Errc::kInvalidArgument, path + " does not hold a 64-hex-character key");
    }
    return SecretBox(std::move(key));
  }
  // First start: create the key file exclusively, so two processes cannot both create one.
  const std::string hex = RandomHex(32);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Load(key_hex, data_dir);
    }
    return Fail(Errc::kUnavailable, "cannot create " + path + ": " + ErrnoText(errno));
  }
  const std::string line = hex + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    return Fail(Errc::kUnavailable, "cannot write " + path);
  }
  FromHex(hex, key);
  return SecretBox(std::move(key));
}

std::string SecretBox::Seal(std::string_view plaintext) const {
  std::string buf(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(buf.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        nonce, reinterpret_cast<const unsigned char*>(key_.data()));
  return "v1:" + Base64(nonce, buf.size(), sodium_base64_VARIANT_ORIGINAL);
}

Result<std::string> SecretBox::Open(std::string_view sealed) const {
  if (sealed.substr(0, 3) != "v1:") {
    return Fail(Errc::kInternal, "sealed value has an unknown format");
  }
  sealed.remove_prefix(3);
  std::string bin(sealed.size(), '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(), sealed.data(),
                        sealed.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Fail(Errc::kInternal, "sealed value is corrupt");
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(bin.data());
  std::string plain(len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 nonce + crypto_secretbox_NONCEBYTES,
                                 len - crypto_secretbox_NONCEBYTES, nonce,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
    return Fail(Errc::kInternal, "sealed value does not open with this server key");
  }
  return plain;
}

std::string SecretBox::Derive(std::string_view purpose, std::string_view message,
                              std::size_t length) const {
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> subkey{};
  crypto_auth_hmacsha256(subkey.data(), reinterpret_cast<const unsigned char*>(purpose.data()),
                         purpose.size(), reinterpret_cast<const unsigned char*>(key_.data()));
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, subkey.data(), subkey.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&st, mac.data());
  std::string out = Base64(mac.data(), mac.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out.substr(0, std::min(length, out.size()));
}

}  // namespace portline
