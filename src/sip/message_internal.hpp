#pragma once
// Internal to the SIP message files (header_names, header_parsers, message, validate, writer):
// the small scanners they share.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "sip/syntax.hpp"

namespace portline::sip::detail {

constexpr bool IsGenValueChar(char c) {
  return syntax::IsToken(c) || c == '[' || c == ']' || c == ':';
}

/// Scans *(SEMI generic-param) from the cursor. On a problem returns false and sets `problem`.
bool ScanParams(syntax::Cursor& c, std::string& problem);
/// `s` without leading linear white space and trailing white space or line ends.
std::string_view Trim(std::string_view s);
/// A kInvalidArgument error with `message`.
tl::unexpected<Error> Bad(std::string message);
/// "SIP/" 1*DIGIT "." 1*DIGIT.
bool IsVersion(std::string_view v);
/// Reads a host[:port] (sent-by) at the cursor.
bool ScanHostPort(syntax::Cursor& c, std::string_view& host, bool& ipv6,
                  std::optional<std::uint16_t>& port, std::string& problem);
/// 1*word characters (RFC 3261 §25.1), as in Call-ID.
bool IsWordString(std::string_view s);

}  // namespace portline::sip::detail
