#include "core/net_guard.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace portline::net {
namespace {

struct Range {
  const char* cidr;
  std::string_view why;
};

// Everything that is not a public unicast address. IPv4 ranges also cover their IPv4-mapped
// IPv6 form; NAT64 (64:ff9b::/96) is judged by the IPv4 address it embeds.
constexpr Range kBlocked[] = {
    {"0.0.0.0/8", "an unspecified or 'this network' address"},
    {"10.0.0.0/8", "a private address (RFC 1918)"},
    {"100.64.0.0/10", "a carrier-grade NAT address (RFC 6598)"},
    {"127.0.0.0/8", "a loopback address"},
    {"169.254.169.254/32", "the cloud metadata address"},
    {"169.254.0.0/16", "a link-local address"},
    {"172.16.0.0/12", "a private address (RFC 1918)"},
    {"192.0.0.0/24", "an IETF protocol assignment (RFC 6890)"},
    {"192.168.0.0/16", "a private address (RFC 1918)"},
    {"198.18.0.0/15", "a benchmarking address (RFC 2544)"},
    {"224.0.0.0/4", "a multicast address"},
    {"240.0.0.0/4", "a reserved address"},
    {"::/128", "an unspecified address"},
    {"::1/128", "a loopback address"},
    {"fd00:ec2::254/128", "the cloud metadata address"},
    {"fc00::/7", "a unique local address (RFC 4193)"},
    {"fe80::/10", "a link-local address"},
    {"fec0::/10", "a site-local address"},
    {"ff00::/8", "a multicast address"},
};

std::vector<std::pair<Cidr, std::string_view>> BlockedTable() {
  std::vector<std::pair<Cidr, std::string_view>> out;
  for (const Range& r : kBlocked) {
    out.emplace_back(*ParseCidr(r.cidr), r.why);
  }
  return out;
}

}  // namespace

bool Cidr::Contains(const std::array<std::uint8_t, 16>& a) const {
  int bits = prefix;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff);
    if ((a[i] & mask) != (address[i] & mask)) {
      return false;
    }
  }
  return true;
}

bool ParseAddress(std::string_view text, std::array<std::uint8_t, 16>& out) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > 45) {
    return false;
  }
  std::array<char, 46> buf{};
  text.copy(buf.data(), text.size());
  in_addr v4{};
  if (inet_pton(AF_INET, buf.data(), &v4) == 1) {
    out = {};
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buf.data(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return true;
  }
  return false;
}

Result<Cidr> ParseCidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  Cidr c;
  const std::string_view addr = text.substr(0, slash);
  if (!ParseAddress(addr, c.address)) {
    return Fail(Errc::kInvalidArgument, "'" + std::string(text) + "' is not an IP network (CIDR)");
  }
  const bool v4 = addr.find(':') == std::string_view::npos;
  const int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc{} || end != p.data() + p.size() || prefix < 0 || prefix > max) {
      return Fail(Errc::kInvalidArgument,
                  "'" + std::string(text) + "': the prefix must be 0 to " + std::to_string(max));
    }
  }
  c.prefix = v4 ? prefix + 96 : prefix;
  return c;
}

Result<OutboundGuard> OutboundGuard::FromList(const std::vector<std::string>& cidrs) {
  std::vector<Cidr> allow;
  for (const std::string& text : cidrs) {
    PORTLINE_ASSIGN_OR_RETURN(Cidr c, ParseCidr(text));
    allow.push_back(c);
  }
  return OutboundGuard(std::move(allow));
}

std::string_view OutboundGuard::Classify(const std::array<std::uint8_t, 16>& address) {
  static const auto table = BlockedTable();
  std::array<std::uint8_t, 16> a = address;
  // NAT64 well-known prefix: judge the embedded IPv4 address.
  static const Cidr nat64 = *ParseCidr("64:ff9b::/96");
  if (nat64.Contains(a)) {
    a = {};
    a[10] = 0xff;
    a[11] = 0xff;
    std::memcpy(a.data() + 12, address.data() + 12, 4);
  }
  for (const auto& [cidr, why] : table) {
    if (cidr.Contains(a)) {
      return why;
    }
  }
  return {};
}

Result<void> OutboundGuard::Check(const std::array<std::uint8_t, 16>& address,
                                  std::string_view shown) const {
  const std::string_view why = Classify(address);
  if (why.empty()) {
    return {};
  }
  for (const Cidr& c : allow_) {
    if (c.Contains(address)) {
      return {};
    }
  }
  return FailCode(Errc::kPermissionDenied, "OUTBOUND_ADDRESS_REFUSED",
                  std::string(shown) + " is " + std::string(why) +
                      "; Portline does not connect to it unless an operator allows it "
                      "(--outbound-allow / security.outbound_allow)");
}

Result<void> OutboundGuard::Check(std::string_view ip) const {
  std::array<std::uint8_t, 16> a{};
  if (!ParseAddress(ip, a)) {
    return Fail(Errc::kInvalidArgument, "'" + std::string(ip) + "' is not an IP address");
  }
  return Check(a, ip);
}

}  // namespace portline::net
