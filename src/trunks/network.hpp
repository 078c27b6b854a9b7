#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace portline::trunks {

/// One region of Portline's SIP network: where customers send calls and what to allow.
struct Region {
  std::string id;
  std::string name;
  std::string sip_server;
  int sip_port = 5061;
  std::string sip_transport = "tls";
  std::vector<std::string> ip_addresses;
  std::string sip_ports;  // "5061 TLS"
  std::string rtp_ports;  // "10000-20000 UDP"
};

/// Network data comes from configuration (sip.network_file), never from code; the embedded
/// default holds the seed's values.
struct Network {
  std::string default_region;
  std::vector<Region> regions;

  /// Parses and validates a network JSON document (every problem listed).
  [[nodiscard]] static Result<Network> Parse(std::string_view json_text);
  /// The embedded default (src/trunks/network.default.json).
  [[nodiscard]] static Network Default();
  /// The configured file, or the default when `path` is empty.
  [[nodiscard]] static Result<Network> Load(const std::string& path);

  [[nodiscard]] const Region* Find(std::string_view id) const;
};

}  // namespace portline::trunks
