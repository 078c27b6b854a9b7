// Header values: parameters, lists, Via, name-addr, CSeq, authorization headers.
#include <algorithm>

#include "sip/message.hpp"
#include "sip/message_internal.hpp"
#include "sip/syntax.hpp"

namespace portline::sip {

using detail::Bad;
using detail::IsGenValueChar;
using detail::ScanHostPort;
using detail::ScanParams;
using detail::Trim;
using syntax::Cursor;
using syntax::IEquals;

namespace detail {

// Scans *(SEMI generic-param) from the cursor. On a problem returns false and sets `problem`.
bool ScanParams(Cursor& c, std::string& problem) {
  while (true) {
    const std::size_t save = c.Pos();
    if (!c.Separator(';')) {
      c.Seek(save);
      return true;
    }
    const std::string_view name = c.Token();
    if (name.empty()) {
      problem = "empty parameter (stray ';')";
      return false;
    }
    const std::size_t before_eq = c.Pos();
    if (c.Separator('=')) {
      if (c.Peek() == '"') {
        bool ok = false;
        (void)c.Quoted(ok);
        if (!ok) {
          problem = "unterminated quoted value of parameter '" + std::string(name) + "'";
          return false;
        }
      } else {
        const std::size_t start = c.Pos();
        while (!c.Done() && IsGenValueChar(c.Peek())) {
          c.Advance();
        }
        if (c.Pos() == start) {
          problem = "parameter '" + std::string(name) + "' has '=' but no value";
          return false;
        }
      }
    } else {
      c.Seek(before_eq);
    }
  }
}

std::string_view Trim(std::string_view s) {
  Cursor c(s);
  c.SkipLws();
  s = c.Rest();
  while (!s.empty() && (syntax::IsWsp(s.back()) || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

tl::unexpected<Error> Bad(std::string message) {
  return Fail(Errc::kInvalidArgument, std::move(message));
}

bool IsVersion(std::string_view v) {
  if (v.size() < 7 || !IEquals(v.substr(0, 4), "SIP/")) {
    return false;
  }
  const std::string_view rest = v.substr(4);
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size()) {
    return false;
  }
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (i != dot && !syntax::IsDigit(rest[i])) {
      return false;
    }
  }
  return true;
}

// Reads a host[:port] (sent-by) at the cursor.
bool ScanHostPort(Cursor& c, std::string_view& host, bool& ipv6, std::optional<std::uint16_t>& port,
                  std::string& problem) {
  const std::size_t start = c.Pos();
  if (c.Peek() == '[') {
    while (!c.Done() && c.Peek() != ']') {
      c.Advance();
    }
    if (!c.Consume(']')) {
      problem = "unterminated IPv6 reference";
      return false;
    }
  } else {
    while (!c.Done() && (syntax::Is(c.Peek(), syntax::kHostChar) || c.Peek() == '_')) {
      c.Advance();
    }
  }
  const std::string_view text = c.Text().substr(start, c.Pos() - start);
  if (text.empty() || !ParseHost(text, host, ipv6)) {
    problem = text.empty() ? "missing host" : "invalid host '" + std::string(text) + "'";
    return false;
  }
  if (c.Separator(':')) {
    const std::string_view digits = c.Span(syntax::kDigit);
    std::uint64_t v = 0;
    if (!syntax::ParseUnsigned(digits, 65535, v)) {
      problem = "port must be a number from 0 to 65535";
      return false;
    }
    port = static_cast<std::uint16_t>(v);
  }
  return true;
}

bool IsWordString(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!syntax::Is(c, syntax::kWord)) {
      return false;
    }
  }
  return true;
}

}  // namespace detail

std::optional<std::string_view> Params::Get(std::string_view name) const {
  Cursor c(text);
  while (c.Separator(';')) {
    const std::string_view n = c.Token();
    if (n.empty()) {
      return std::nullopt;
    }
    std::string_view value;
    bool has_value = false;
    const std::size_t before_eq = c.Pos();
    if (c.Separator('=')) {
      has_value = true;
      if (c.Peek() == '"') {
        bool ok = false;
        value = c.Quoted(ok);
      } else {
        const std::size_t start = c.Pos();
        while (!c.Done() && IsGenValueChar(c.Peek())) {
          c.Advance();
        }
        value = text.substr(start, c.Pos() - start);
      }
    } else {
      c.Seek(before_eq);
    }
    if (IEquals(n, name)) {
      return has_value ? value : std::string_view{};
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> AuthHeader::Get(std::string_view name) const {
  for (std::string_view item : SplitList(params)) {
    Cursor c(item);
    const std::string_view n = c.Token();
    if (!c.Separator('=') || !IEquals(n, name)) {
      continue;
    }
    if (c.Peek() == '"') {
      bool ok = false;
      return c.Quoted(ok);
    }
    return Trim(c.Rest());
  }
  return std::nullopt;
}

std::vector<std::string_view> SplitList(std::string_view value) {
  std::vector<std::string_view> out;
  bool quoted = false;
  bool angle = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      angle = true;
    } else if (c == '>') {
      angle = false;
    } else if (c == ',' && !angle) {
      out.push_back(Trim(value.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(Trim(value.substr(start)));
  return out;
}

Result<Via> ParseVia(std::string_view element) {
  Via via;
  Cursor c(element);
  c.SkipLws();
  via.protocol = c.Token();
  if (via.protocol.empty() || !c.Separator('/')) {
    return Bad("expected 'SIP/2.0/<transport>'");
  }
  via.version = c.Token();
  if (via.version.empty() || !c.Separator('/')) {
    return Bad("expected 'SIP/2.0/<transport>'");
  }
  via.transport = c.Token();
  if (via.transport.empty()) {
    return Bad("missing transport after 'SIP/2.0/'");
  }
  if (!c.SkipLws()) {
    return Bad("expected white space before the sent-by host");
  }
  std::string problem;
  if (!ScanHostPort(c, via.host, via.host_ipv6, via.port, problem)) {
    return Bad(problem);
  }
  const std::size_t params_start = c.Pos();
  if (!ScanParams(c, problem)) {
    return Bad(problem);
  }
  via.params.text = element.substr(params_start, c.Pos() - params_start);
  c.SkipLws();
  if (!c.Done()) {
    return Bad("unexpected '" + std::string(c.Rest().substr(0, 20)) + "' after the parameters");
  }
  if (auto ttl = via.params.Get("ttl")) {
    std::uint64_t v = 0;
    if (!syntax::ParseUnsigned(*ttl, 255, v)) {
      return Bad("ttl must be 0 to 255");
    }
  }
  if (auto received = via.params.Get("received"); received && !IsIpAddress(*received)) {
    return Bad("received must be an IP address");
  }
  return via;
}

Result<std::vector<Via>> ParseVias(std::string_view value) {
  std::vector<Via> out;
  for (std::string_view e : SplitList(value)) {
    if (e.empty()) {
      return Bad("empty Via element (stray ',')");
    }
    PORTLINE_ASSIGN_OR_RETURN(Via v, ParseVia(e));
    out.push_back(v);
  }
  return out;
}

Result<NameAddr> ParseNameAddr(std::string_view element) {
  NameAddr na;
  Cursor c(element);
  c.SkipLws();
  if (c.Peek() == '"') {
    bool ok = false;
    na.display_name = c.Quoted(ok);
    if (!ok) {
      return Bad("unterminated quoted string in the display name");
    }
    na.quoted = true;
    c.SkipLws();
    if (c.Peek() != '<') {
      return Bad("a quoted display name must be followed by <URI>");
    }
  } else if (element.find('<') != std::string_view::npos) {
    // display-name = *(token LWS) before '<'.
    const std::size_t start = c.Pos();
    while (!c.Done() && c.Peek() != '<') {
      if (!c.Token().empty()) {
        continue;
      }
      if (!c.SkipLws()) {
        const char bad = c.Peek();
        return Bad(std::string("character '") + bad +
                   "' in an unquoted display name (quote the display name)");
      }
    }
    na.display_name = Trim(element.substr(start, c.Pos() - start));
  }
  if (c.Consume('<')) {
    na.angle = true;
    const std::size_t close = element.find('>', c.Pos());
    if (close == std::string_view::npos) {
      return Bad("missing '>' after the URI");
    }
    const std::string_view inner = element.substr(c.Pos(), close - c.Pos());
    if (!inner.empty() && (syntax::IsWsp(inner.front()) || syntax::IsWsp(inner.back()))) {
      return Bad("white space inside <> around the URI");
    }
    PORTLINE_ASSIGN_OR_RETURN(na.uri, ParseUri(inner));
    c.Seek(close + 1);
  } else {
    // addr-spec: the URI ends at ';' or white space; it may not hold ',', '?' or ';'.
    const std::size_t start = c.Pos();
    while (!c.Done() && c.Peek() != ';' && !syntax::IsWsp(c.Peek()) && c.Peek() != '\r') {
      c.Advance();
    }
    const std::string_view text = element.substr(start, c.Pos() - start);
    if (text.empty()) {
      return Bad("missing URI");
    }
    if (text.find_first_of("?,") != std::string_view::npos) {
      return Bad("a URI containing '?' or ',' must be enclosed in <> (RFC 3261 §20)");
    }
    PORTLINE_ASSIGN_OR_RETURN(na.uri, ParseUri(text));
  }
  const std::size_t params_start = c.Pos();
  std::string problem;
  if (!ScanParams(c, problem)) {
    return Bad(problem);
  }
  na.params.text = element.substr(params_start, c.Pos() - params_start);
  c.SkipLws();
  if (!c.Done()) {
    return Bad("unexpected '" + std::string(c.Rest().substr(0, 20)) + "' after the address");
  }
  return na;
}

Result<sip::CSeq> ParseCSeq(std::string_view value) {
  Cursor c(value);
  c.SkipLws();
  const std::string_view digits = c.Span(syntax::kDigit);
  std::uint64_t n = 0;
  if (digits.empty()) {
    return Bad("CSeq must start with a sequence number");
  }
  if (!syntax::ParseUnsigned(digits, 0xffffffffULL, n)) {
    return Bad("CSeq number " + std::string(digits) + " does not fit in 32 bits");
  }
  if (!c.SkipLws()) {
    return Bad("expected white space between the CSeq number and the method");
  }
  sip::CSeq out;
  out.number = static_cast<std::uint32_t>(n);
  out.method = c.Token();
  c.SkipLws();
  if (out.method.empty() || !c.Done()) {
    return Bad("CSeq method must be one token");
  }
  return out;
}

Result<AuthHeader> ParseAuth(std::string_view value) {
  AuthHeader out;
  Cursor c(value);
  c.SkipLws();
  out.scheme = c.Token();
  if (out.scheme.empty()) {
    return Bad("missing authentication scheme");
  }
  c.SkipLws();
  out.params = c.Rest();
  if (out.params.empty()) {
    return out;
  }
  for (std::string_view item : SplitList(out.params)) {
    Cursor p(item);
    const std::string_view name = p.Token();
    if (name.empty() || !p.Separator('=')) {
      return Bad("authentication parameters must be name=value pairs");
    }
    if (p.Peek() == '"') {
      bool ok = false;
      (void)p.Quoted(ok);
      if (!ok) {
        return Bad("unterminated quoted value of '" + std::string(name) + "'");
      }
    } else if (p.Token().empty()) {
      return Bad("parameter '" + std::string(name) + "' has no value");
    }
    p.SkipLws();
    if (!p.Done()) {
      return Bad("unexpected text after parameter '" + std::string(name) + "'");
    }
  }
  return out;
}

}  // namespace portline::sip
