#include "trunks/destination.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>

namespace portline::trunks {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool StartsWithI(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && Lower(s.substr(0, prefix.size())) == prefix;
}

tl::unexpected<Error> Invalid(std::string reason) {
  return FailCode(Errc::kInvalidArgument, "INVALID_DESTINATION", std::move(reason), "input");
}

bool IsAllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

constexpr std::array<std::string_view, 6> kTransports = {"udp", "tcp", "tls", "sctp", "ws", "wss"};

bool ValidUser(std::string_view user) {
  if (user.empty() || user.size() > 128) {
    return false;
  }
  for (std::size_t i = 0; i < user.size(); ++i) {
    const auto c = static_cast<unsigned char>(user[i]);
    if (c == '%') {
      if (i + 2 >= user.size() || !std::isxdigit(static_cast<unsigned char>(user[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(user[i + 2]))) {
        return false;
      }
      i += 2;
      continue;
    }
    // RFC 3261 user: unreserved / escaped / user-unreserved.
    if (std::isalnum(c) == 0 && std::strchr("-_.!~*'()&=+$,;?/", c) == nullptr) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool IsValidHostname(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  std::string_view last_label;
  while (start <= host.size()) {
    const auto dot = host.find('.', start);
    const auto label = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-') {
        return false;
      }
    }
    last_label = label;
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  return !IsAllDigits(last_label);  // "1.2.3.999" is a bad IPv4 address, not a hostname
}

bool IsPrivateAddress(std::string_view ip) {
  const std::string s(ip);
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    const std::uint32_t a = ntohl(v4.s_addr);
    auto in = [a](std::uint32_t net, int bits) {
      const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
      return (a & mask) == net;
    };
    return in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16) || in(0x7F000000, 8) ||
           in(0xA9FE0000, 16) || in(0x64400000, 10) || in(0x00000000, 8);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    const auto* b = v6.s6_addr;
    static constexpr std::array<unsigned char, 16> kLoopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                                                0, 0, 0, 0, 0, 0, 0, 1};
    static constexpr std::array<unsigned char, 16> kUnspecified = {};
    if (std::memcmp(b, kLoopback.data(), 16) == 0 || std::memcmp(b, kUnspecified.data(), 16) == 0) {
      return true;
    }
    if ((b[0] & 0xFEU) == 0xFC || (b[0] == 0xFE && (b[1] & 0xC0U) == 0x80)) {
      return true;  // fc00::/7 unique local, fe80::/10 link-local
    }
    static constexpr std::array<unsigned char, 12> kMapped = {0, 0, 0, 0, 0,    0,
                                                              0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(b, kMapped.data(), 12) == 0) {
      char text[INET_ADDRSTRLEN];
      in_addr mapped{};
      std::memcpy(&mapped, b + 12, 4);
      inet_ntop(AF_INET, &mapped, text, sizeof text);
      return IsPrivateAddress(text);
    }
    return false;
  }
  return Lower(ip) == "localhost";
}

std::string Destination::Normalized() const {
  std::string out = scheme + ":";
  if (user) {
    out += *user + "@";
  }
  out += ipv6 ? "[" + host + "]" : host;
  if (port) {
    out += ":" + std::to_string(*port);
  }
  if (transport && !(scheme == "sips" && *transport == "tls")) {
    out += ";transport=" + *transport;
  }
  for (const auto& [k, v] : params) {
    out += ";" + k;
    if (!v.empty()) {
      out += "=" + v;
    }
  }
  return out;
}

Result<Destination> ParseDestination(std::string_view input) {
  while (!input.empty() && (input.front() == ' ' || input.front() == '\t')) {
    input.remove_prefix(1);
  }
  while (!input.empty() && (input.back() == ' ' || input.back() == '\t')) {
    input.remove_suffix(1);
  }
  if (input.empty()) {
    return Invalid("input is empty");
  }
  if (input.size() > 512) {
    return Invalid("input is longer than 512 characters");
  }
  for (char c : input) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) {
      return Invalid("input contains spaces, control or non-ASCII characters");
    }
  }

  Destination d;
  std::string_view rest = input;
  if (StartsWithI(rest, "sips:")) {
    d.scheme = "sips";
    rest.remove_prefix(5);
  } else if (StartsWithI(rest, "sip:")) {
    rest.remove_prefix(4);
  } else if (const auto sep = rest.find("://"); sep != std::string_view::npos) {
    const std::string proto = Lower(rest.substr(0, sep));
    if (proto != "tls" && proto != "tcp" && proto != "udp") {
      return Invalid("unsupported scheme '" + proto +
                     "://'; use sip:, sips:, tls://, tcp:// or udp://");
    }
    d.transport = proto;
    rest.remove_prefix(sep + 3);
    if (!rest.empty() && rest.back() == '/') {
      rest.remove_suffix(1);
    }
  }
  if (rest.find('?') != std::string_view::npos) {
    return Invalid("URI headers ('?…') are not allowed in a destination");
  }
  if (rest.find('/') != std::string_view::npos) {
    return Invalid("a destination has no path ('/')");
  }

  // [user@]hostport[;params]
  const auto at = rest.rfind('@', rest.find(';'));
  if (at != std::string_view::npos) {
    const std::string_view user = rest.substr(0, at);
    if (user.find(':') != std::string_view::npos) {
      return Invalid("do not put a password in the URI; use options.sip_password");
    }
    if (!ValidUser(user)) {
      return Invalid("invalid user part '" + std::string(user) + "'");
    }
    d.user = std::string(user);
    rest.remove_prefix(at + 1);
  }
  const auto semi = rest.find(';');
  std::string_view hostport = rest.substr(0, semi);
  std::string_view params =
      semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);

  std::string_view host;
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) {
      return Invalid("IPv6 address is missing its closing ']'");
    }
    host = hostport.substr(1, close - 1);
    const auto after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Invalid("unexpected characters after the IPv6 address");
      }
      port = after.substr(1);
      if (port.empty()) {
        return Invalid("port is empty");
      }
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &v6) != 1) {
      return Invalid("'" + std::string(host) + "' is not a valid IPv6 address");
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &v6, text, sizeof text);
    d.host = text;
    d.ipv6 = true;
    d.host_is_ip = true;
  } else {
    const auto colons = std::count(hostport.begin(), hostport.end(), ':');
    if (colons > 1) {
      return Invalid("IPv6 addresses must be written in brackets, e.g. [2001:db8::1]:5060");
    }
    const auto colon = hostport.find(':');
    host = hostport.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) {
        return Invalid("port is empty");
      }
    }
    if (host.empty()) {
      return Invalid("host is missing");
    }
    std::string h = Lower(host);
    if (h.size() > 1 && h.back() == '.') {
      h.pop_back();  // absolute FQDN
    }
    in_addr v4{};
    const bool looks_v4 =
        std::all_of(h.begin(), h.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (looks_v4) {
      if (inet_pton(AF_INET, h.c_str(), &v4) != 1) {
        return Invalid("'" + h + "' is not a valid IPv4 address");
      }
      d.host_is_ip = true;
    } else if (!IsValidHostname(h)) {
      return Invalid("'" + h + "' is not a valid hostname");
    }
    d.host = h;
  }
  if (!port.empty()) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || ptr != port.data() + port.size() || p < 1 || p > 65535) {
      return Invalid("port must be a number from 1 to 65535 (got '" + std::string(port) + "')");
    }
    d.port = p;
  }

  while (!params.empty()) {
    const auto next = params.find(';');
    const std::string_view item = params.substr(0, next);
    params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
    if (item.empty()) {
      continue;
    }
    const auto eq = item.find('=');
    const std::string name = Lower(item.substr(0, eq));
    const std::string value = eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1));
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                 c == '.';
        })) {
      return Invalid("invalid URI parameter '" + std::string(item) + "'");
    }
    if (name == "transport") {
      const std::string t = Lower(value);
      if (std::find(kTransports.begin(), kTransports.end(), t) == kTransports.end()) {
        return Invalid("unsupported transport '" + value + "'; use udp, tcp or tls");
      }
      if (d.transport && *d.transport != t) {
        return Invalid("transport is given twice with different values");
      }
      d.transport = t;
      continue;
    }
    for (const auto& p : d.params) {
      if (p.first == name) {
        return Invalid("URI parameter '" + name + "' is given twice");
      }
    }
    d.params.emplace_back(name, value);
  }
  if (d.scheme == "sips" && d.transport && *d.transport != "tls" && *d.transport != "tcp" &&
      *d.transport != "wss") {
    return Invalid("sips: requires TLS; transport=" + *d.transport + " is not allowed");
  }

  d.is_private_ip = d.host_is_ip ? IsPrivateAddress(d.host) : d.host == "localhost";
  // RFC 3263 §4.1/§4.2.
  const bool tls = d.scheme == "sips" || (d.transport && *d.transport == "tls");
  d.default_port = tls ? 5061 : 5060;
  if (d.transport) {
    d.effective_transport = d.scheme == "sips" && *d.transport == "tcp" ? "tls" : *d.transport;
  } else if (d.scheme == "sips") {
    d.effective_transport = "tls";
  } else if (d.host_is_ip || d.port) {
    d.effective_transport = "udp";
  }
  d.srv_lookup = !d.host_is_ip && !d.port;
  // The canonical form is what gets stored and parsed again: it must fit the same limit.
  if (d.Normalized().size() > 512) {
    return Invalid("destination is longer than 512 characters once normalized");
  }
  return d;
}

}  // namespace portline::trunks
