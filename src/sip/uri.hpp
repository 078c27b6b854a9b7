#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace portline::sip {

enum class Scheme : std::uint8_t { kSip, kSips, kTel, kOther };

/// A SIP, SIPS or TEL URI (RFC 3261 §19.1, RFC 3966), or any other absolute URI kept opaque.
/// Zero copy: every view points into the parsed text, escapes are kept as written.
struct Uri {
  Scheme scheme = Scheme::kSip;
  std::string_view scheme_text;
  std::string_view user;      // sip/sips userinfo user; tel: the number
  std::string_view password;  // only when has_password
  bool has_password = false;
  std::string_view host;  // IPv6 without brackets
  bool host_ipv6 = false;
  std::optional<std::uint16_t> port;
  std::string_view params;   // ";a=b;c" as written (leading ';' included), may be empty
  std::string_view headers;  // after '?', may be empty
  std::string_view opaque;   // kOther: everything after the ':'

  /// The value of a URI parameter (case-insensitive name). A flag parameter yields "".
  [[nodiscard]] std::optional<std::string_view> Param(std::string_view name) const;
  /// `transport` parameter, lower-cased copy ("" when absent).
  [[nodiscard]] std::string Transport() const;
  /// Whether the host is an IPv4 or IPv6 literal.
  [[nodiscard]] bool HostIsIp() const;
  /// The URI as text again (escapes as written; IPv6 hosts bracketed).
  [[nodiscard]] std::string ToString() const;
};

/// Parses a URI. Errors say what is wrong and where, e.g. "URI: port 70000 is out of range".
[[nodiscard]] Result<Uri> ParseUri(std::string_view text);

/// Validates a host (hostname, IPv4 or a bracketed IPv6 reference). `ipv6` is set when the text
/// is an IPv6 reference; `host` receives the address without brackets.
[[nodiscard]] bool ParseHost(std::string_view text, std::string_view& host, bool& ipv6);

/// An IPv4 address or an IPv6 address, bare or in brackets.
[[nodiscard]] bool IsIpAddress(std::string_view text);

/// Percent-decodes `s` (invalid escapes are kept as written).
[[nodiscard]] std::string Unescape(std::string_view s);

}  // namespace portline::sip
