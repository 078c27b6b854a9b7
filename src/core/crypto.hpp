#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace portline {

/// Initialises libsodium; call once at start-up (idempotent, thread-safe).
void InitCrypto();

/// Lowercase hex SHA-256 of `data`.
[[nodiscard]] std::string Sha256Hex(std::string_view data);

/// `n` random bytes, lowercase hex (2n characters). Cryptographically secure.
[[nodiscard]] std::string RandomHex(std::size_t n);

/// Standard base64 (RFC 4648 §4, padded) of bytes, and back (nullopt when not base64).
[[nodiscard]] std::string Base64Encode(std::string_view bytes);
[[nodiscard]] std::optional<std::string> Base64Decode(std::string_view text);

/// Constant-time comparison of two strings of equal length (false if lengths differ).
[[nodiscard]] bool ConstantTimeEqual(std::string_view a, std::string_view b);

/// A sortable, unguessable identifier: `prefix_` + 10 base32 characters of the creation time in
/// milliseconds + 16 base32 characters of randomness (80 bits). Lexical order = creation order
/// (to the millisecond), which cursor pagination relies on.
[[nodiscard]] std::string NewId(std::string_view prefix, std::chrono::system_clock::time_point now);

/// "req_" + 16 hex characters for correlating a request in logs and error bodies. Not a secret:
/// drawn from a per-thread PRNG (seeded from the OS once), so it costs no system call.
[[nodiscard]] std::string NewRequestId();

/// Whether `s` looks like an id made by NewId with this prefix.
[[nodiscard]] bool IsWellFormedId(std::string_view s, std::string_view prefix);

}  // namespace portline
