#include "sip/uri.hpp"

#include <arpa/inet.h>

#include <array>

#include "sip/syntax.hpp"

namespace portline::sip {
namespace {

using syntax::Is;

tl::unexpected<Error> Bad(std::string message) {
  return Fail(Errc::kInvalidArgument, "URI: " + std::move(message));
}

bool IsIpv4(std::string_view s) {
  if (s.size() > 15) {
    return false;
  }
  std::array<char, 16> buf{};
  s.copy(buf.data(), s.size());
  in_addr a{};
  return inet_pton(AF_INET, buf.data(), &a) == 1;
}

bool IsIpv6(std::string_view s) {
  if (s.size() > 45 || s.empty()) {
    return false;
  }
  std::array<char, 46> buf{};
  s.copy(buf.data(), s.size());
  in6_addr a{};
  if (inet_pton(AF_INET6, buf.data(), &a) == 1) {
    return true;
  }
  // RFC 5118 §4.10: RFC 3261's ABNF admits "2001:db8:::192.0.2.1"; tolerate that one form.
  const std::size_t triple = s.find(":::");
  if (triple == std::string_view::npos || s.find('.') == std::string_view::npos) {
    return false;
  }
  std::string fixed(s);
  fixed.erase(triple, 1);
  return fixed.find(":::") == std::string::npos && inet_pton(AF_INET6, fixed.c_str(), &a) == 1;
}

bool IsHostname(std::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  if (s.back() == '.') {
    s.remove_suffix(1);
  }
  std::size_t label = 0;
  char prev = '.';
  for (char c : s) {
    if (c == '.') {
      if (label == 0 || prev == '-') {
        return false;
      }
      label = 0;
    } else if (Is(c, syntax::kAlnum) || c == '-' || c == '_') {
      if (label == 0 && c == '-') {
        return false;
      }
      if (++label > 63) {
        return false;
      }
    } else {
      return false;
    }
    prev = c;
  }
  // toplabel = ALPHA *( alphanum / "-" ): an all-digit last label is a bad IPv4 address.
  const std::size_t last = s.rfind('.');
  const char top = s[last == std::string_view::npos ? 0 : last + 1];
  return label > 0 && prev != '-' && !syntax::IsDigit(top);
}

// ";name[=value]" pairs, each name and value 1*paramchar.
bool ValidParams(std::string_view params, std::string& problem) {
  std::size_t i = 0;
  while (i < params.size()) {
    // params[i] == ';'
    std::size_t end = params.find(';', i + 1);
    if (end == std::string_view::npos) {
      end = params.size();
    }
    const std::string_view p = params.substr(i + 1, end - i - 1);
    const std::size_t eq = p.find('=');
    const std::string_view name = p.substr(0, eq);
    if (name.empty()) {
      problem = "empty parameter name";
      return false;
    }
    if (!syntax::IsEscapedOf(name, syntax::kUnreserved | syntax::kParamUnreserved)) {
      problem = "invalid character in parameter '" + std::string(name) + "'";
      return false;
    }
    if (eq != std::string_view::npos) {
      const std::string_view value = p.substr(eq + 1);
      if (value.empty() ||
          !syntax::IsEscapedOf(value, syntax::kUnreserved | syntax::kParamUnreserved)) {
        problem = "invalid value of parameter '" + std::string(name) + "'";
        return false;
      }
    }
    i = end;
  }
  return true;
}

Result<Uri> ParseTel(Uri uri, std::string_view rest) {
  const std::size_t semi = rest.find(';');
  const std::string_view number = rest.substr(0, semi);
  uri.user = number;
  uri.params = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi);
  if (number.empty()) {
    return Bad("tel URI has no number");
  }
  const bool global = number.front() == '+';
  int digits = 0;
  for (std::size_t i = global ? 1 : 0; i < number.size(); ++i) {
    const char c = number[i];
    if (syntax::IsDigit(c)) {
      ++digits;
    } else if (!global && (Is(c, syntax::kHex) || c == '*' || c == '#')) {
      ++digits;
    } else if (c != '-' && c != '.' && c != '(' && c != ')') {
      return Bad("invalid character '" + std::string(1, c) + "' in tel number");
    }
  }
  if (digits == 0) {
    return Bad("tel number has no digits");
  }
  std::string problem;
  if (!ValidParams(uri.params, problem)) {
    return Bad(problem);
  }
  if (!global && !uri.Param("phone-context")) {
    return Bad("a local tel number needs a phone-context parameter");
  }
  return uri;
}

}  // namespace

bool ParseHost(std::string_view text, std::string_view& host, bool& ipv6) {
  ipv6 = false;
  if (!text.empty() && text.front() == '[') {
    if (text.size() < 3 || text.back() != ']') {
      return false;
    }
    host = text.substr(1, text.size() - 2);
    ipv6 = true;
    return IsIpv6(host);
  }
  host = text;
  return IsIpv4(text) || IsHostname(text);
}

std::optional<std::string_view> Uri::Param(std::string_view name) const {
  std::size_t i = 0;
  while (i < params.size()) {
    std::size_t end = params.find(';', i + 1);
    if (end == std::string_view::npos) {
      end = params.size();
    }
    const std::string_view p = params.substr(i + 1, end - i - 1);
    const std::size_t eq = p.find('=');
    if (syntax::IEquals(p.substr(0, eq), name)) {
      return eq == std::string_view::npos ? std::string_view{} : p.substr(eq + 1);
    }
    i = end;
  }
  return std::nullopt;
}

std::string Uri::Transport() const {
  std::string out(Param("transport").value_or(""));
  for (char& c : out) {
    c = syntax::Lower(c);
  }
  return out;
}

bool IsIpAddress(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    return IsIpv6(text.substr(1, text.size() - 2));
  }
  return IsIpv4(text) || IsIpv6(text);
}

bool Uri::HostIsIp() const { return host_ipv6 || IsIpv4(host); }

std::string Uri::ToString() const {
  std::string out(scheme_text);
  out.push_back(':');
  if (scheme == Scheme::kOther) {
    return out.append(opaque);
  }
  if (scheme == Scheme::kTel) {
    return out.append(user).append(params);
  }
  if (!user.empty()) {
    out.append(user);
    if (has_password) {
      out.append(":").append(password);
    }
    out.push_back('@');
  }
  if (host_ipv6) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  if (port) {
    out.append(":").append(std::to_string(*port));
  }
  out.append(params);
  if (!headers.empty()) {
    out.append("?").append(headers);
  }
  return out;
}

std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) { return c <= '9' ? c - '0' : (syntax::Lower(c) - 'a' + 10); };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Is(s[i + 1], syntax::kHex) &&
        Is(s[i + 2], syntax::kHex)) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<Uri> ParseUri(std::string_view text) {
  Uri uri;
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Bad("missing scheme (expected e.g. 'sip:')");
  }
  uri.scheme_text = text.substr(0, colon);
  if (!Is(uri.scheme_text.front(), syntax::kAlnum) || syntax::IsDigit(uri.scheme_text.front())) {
    return Bad("invalid scheme '" + std::string(uri.scheme_text) + "'");
  }
  for (char c : uri.scheme_text) {
    if (!Is(c, syntax::kSchemeChar)) {
      return Bad("invalid scheme '" + std::string(uri.scheme_text) + "'");
    }
  }
  const std::string_view rest = text.substr(colon + 1);
  for (char c : rest) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return Bad("white space or a control character inside the URI");
    }
  }
  if (syntax::IEquals(uri.scheme_text, "sip")) {
    uri.scheme = Scheme::kSip;
  } else if (syntax::IEquals(uri.scheme_text, "sips")) {
    uri.scheme = Scheme::kSips;
  } else if (syntax::IEquals(uri.scheme_text, "tel")) {
    uri.scheme = Scheme::kTel;
    return ParseTel(uri, rest);
  } else {
    uri.scheme = Scheme::kOther;
    if (rest.empty()) {
      return Bad("empty URI after the scheme");
    }
    uri.opaque = rest;
    return uri;
  }

  // sip/sips: [userinfo "@"] hostport uri-parameters [headers]. The user part may hold ';' and
  // '?', the host part never holds '@', so the last '@' ends the userinfo.
  std::string_view hostpart = rest;
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    hostpart = rest.substr(at + 1);
    const std::size_t pc = userinfo.find(':');
    uri.user = userinfo.substr(0, pc);
    if (uri.user.empty()) {
      return Bad("empty user part before '@'");
    }
    if (!syntax::IsEscapedOf(uri.user, syntax::kUnreserved | syntax::kUserUnreserved)) {
      return Bad("invalid character or escape in the user part");
    }
    if (pc != std::string_view::npos) {
      uri.has_password = true;
      uri.password = userinfo.substr(pc + 1);
      if (!syntax::IsEscapedOf(uri.password, syntax::kUnreserved | syntax::kPasswordExtra)) {
        return Bad("invalid character or escape in the password");
      }
    }
  }
  std::size_t host_end = 0;
  if (!hostpart.empty() && hostpart.front() == '[') {
    host_end = hostpart.find(']');
    if (host_end == std::string_view::npos) {
      return Bad("unterminated IPv6 reference");
    }
    ++host_end;
  }
  host_end = hostpart.find_first_of(":;?", host_end);
  if (host_end == std::string_view::npos) {
    host_end = hostpart.size();
  }
  const std::string_view host_text = hostpart.substr(0, host_end);
  if (host_text.empty()) {
    return Bad("missing host");
  }
  if (!ParseHost(host_text, uri.host, uri.host_ipv6)) {
    return Bad("invalid host '" + std::string(host_text) + "'");
  }
  std::string_view tail = hostpart.substr(host_end);
  if (!tail.empty() && tail.front() == ':') {
    const std::size_t pe = tail.find_first_of(";?");
    const std::string_view port = tail.substr(1, pe == std::string_view::npos ? pe : pe - 1);
    std::uint64_t v = 0;
    if (!syntax::ParseUnsigned(port, 65535, v)) {
      return Bad("port '" + std::string(port) + "' is not a number from 0 to 65535");
    }
    uri.port = static_cast<std::uint16_t>(v);
    tail = pe == std::string_view::npos ? std::string_view{} : tail.substr(pe);
  }
  const std::size_t q = tail.find('?');
  uri.params = tail.substr(0, q);
  if (q != std::string_view::npos) {
    uri.headers = tail.substr(q + 1);
    if (uri.headers.empty()) {
      return Bad("empty header part after '?'");
    }
    std::size_t i = 0;
    while (i <= uri.headers.size()) {
      std::size_t end = uri.headers.find('&', i);
      if (end == std::string_view::npos) {
        end = uri.headers.size();
      }
      const std::string_view h = uri.headers.substr(i, end - i);
      const std::size_t eq = h.find('=');
      if (eq == std::string_view::npos || eq == 0 ||
          !syntax::IsEscapedOf(h.substr(0, eq), syntax::kUnreserved | syntax::kHnvUnreserved) ||
          !syntax::IsEscapedOf(h.substr(eq + 1), syntax::kUnreserved | syntax::kHnvUnreserved)) {
        return Bad("invalid header '" + std::string(h) + "'");
      }
      i = end + 1;
    }
  }
  std::string problem;
  if (!ValidParams(uri.params, problem)) {
    return Bad(problem);
  }
  return uri;
}

}  // namespace portline::sip
