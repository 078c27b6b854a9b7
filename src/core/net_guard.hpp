#pragma once

// The SSRF guard for outbound connections to customer-supplied hosts (SIP probes and test
// calls, webhooks): private, loopback, link-local, metadata and other non-public addresses are
// refused unless an allow-list (CIDRs from configuration) admits them. It is checked on the
// address actually connected to, after DNS, so a name that re-resolves to 127.0.0.1 is caught.
// Pure.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace portline::net {

/// An IPv4 or IPv6 network; IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d) with prefix + 96.
struct Cidr {
  std::array<std::uint8_t, 16> address{};
  int prefix = 128;
  [[nodiscard]] bool Contains(const std::array<std::uint8_t, 16>& a) const;
};

/// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
[[nodiscard]] Result<Cidr> ParseCidr(std::string_view text);

/// An address as 16 bytes (IPv4 mapped); false when `text` is not an IP literal.
[[nodiscard]] bool ParseAddress(std::string_view text, std::array<std::uint8_t, 16>& out);

class OutboundGuard {
 public:
  OutboundGuard() = default;
  explicit OutboundGuard(std::vector<Cidr> allow) : allow_(std::move(allow)) {}
  /// From CIDR texts; errors name the bad entry.
  [[nodiscard]] static Result<OutboundGuard> FromList(const std::vector<std::string>& cidrs);

  /// kPermissionDenied with the reason ("127.0.0.1 is a loopback address; allow it with
  /// --outbound-allow") unless the address is public or allowed.
  [[nodiscard]] Result<void> Check(std::string_view ip) const;
  [[nodiscard]] Result<void> Check(const std::array<std::uint8_t, 16>& address,
                                   std::string_view shown) const;

  /// Why an address is not public ("loopback", "private (RFC 1918)"…), or "" when it is.
  [[nodiscard]] static std::string_view Classify(const std::array<std::uint8_t, 16>& address);

 private:
  std::vector<Cidr> allow_;
};

}  // namespace portline::net
