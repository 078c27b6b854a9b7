#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace portline::trunks {

/// A SIP destination as a user typed it: a hostname or IP, a `sip:`/`sips:` URI, `tls://host`,
/// or `host:port`. Pure; no DNS.
struct Destination {
  std::string scheme = "sip";  // "sip" or "sips"
  std::string host;            // lower-case; IPv6 without brackets
  bool host_is_ip = false;
  bool ipv6 = false;
  std::optional<int> port;          // as given
  std::optional<std::string> user;  // as given (percent-encoding kept)
  std::optional<std::string>
      transport;  // as given or implied by a shorthand: udp|tcp|tls|sctp|ws|wss
  std::vector<std::pair<std::string, std::string>> params;  // other URI parameters, in order
  bool is_private_ip = false;  // RFC 1918, loopback, link-local, CGNAT, ULA; "localhost"

  // RFC 3263 §4: how a client would reach it.
  bool srv_lookup = false;                         // hostname without port: NAPTR/SRV decide
  std::optional<std::string> effective_transport;  // null while SRV/NAPTR decide
  int default_port = 5060;                         // port when SRV yields nothing (5061 for TLS)

  /// Canonical URI: "sip:user@host:port;transport=tls".
  [[nodiscard]] std::string Normalized() const;
};

/// kInvalidArgument with a reason a user can act on ("port must be from 1 to 65535").
[[nodiscard]] Result<Destination> ParseDestination(std::string_view input);

/// True for loopback, private, link-local, CGNAT, unspecified and ULA addresses.
[[nodiscard]] bool IsPrivateAddress(std::string_view ip);
/// RFC 1123 hostname (labels of letters, digits and hyphens; ≤ 253 characters).
[[nodiscard]] bool IsValidHostname(std::string_view host);

}  // namespace portline::trunks
