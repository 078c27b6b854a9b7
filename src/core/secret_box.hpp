#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace portline {

/// Encrypts secrets at rest (SIP passwords, PINs, account numbers) and derives stable
/// per-identity passwords. One 32-byte server key; XSalsa20-Poly1305 (libsodium secretbox) with
/// a random nonce per value; HMAC-SHA-256 for derivations. Thread-safe (immutable).
class SecretBox {
 public:
  /// `key` must be 32 bytes.
  explicit SecretBox(std::string key);

  /// Loads the key from `key_hex` (64 hex characters) if given, else from DIR/secret.key, creating
  /// that file (mode 0600) with a random key on first use.
  [[nodiscard]] static Result<SecretBox> Load(const std::string& key_hex,
                                              const std::string& data_dir);

  /// "v1:" + base64(nonce ‖ ciphertext). Never fails.
  [[nodiscard]] std::string Seal(std::string_view plaintext) const;
  /// kInternal if the value was not sealed with this key or was tampered with.
  [[nodiscard]] Result<std::string> Open(std::string_view sealed) const;
  /// base64url(HMAC-SHA-256(key ‖ purpose, message)), `length` characters (≤ 43).
  [[nodiscard]] std::string Derive(std::string_view purpose, std::string_view message,
                                   std::size_t length = 24) const;

 private:
  std::string key_;
};

}  // namespace portline
