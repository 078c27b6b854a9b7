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
  /// The configuration keys of values this deployment has not set (reported as such, never
  /// filled in with someone else's hosts): e.g. "sip.public_host".
  std::vector<std::string> unconfigured;
};

/// What this deployment is, for the network data it reports when no sip.network_file is given.
struct Deployment {
  struct Listener {
    std::string transport;  // udp | tcp | tls
    int port = 0;
  };
  std::string public_host;
  std::vector<std::string> public_ips;
  std::vector<Listener> listeners;
  std::string rtp_ports;  // "10000-20000"
};

/// Network data comes from configuration, never from code: a sip.network_file for several
/// regions, or else this deployment's own SIP listeners and public address (one region,
/// "default").
struct Network {
  std::string default_region;
  std::vector<Region> regions;

  /// Parses and validates a network JSON document (every problem listed).
  [[nodiscard]] static Result<Network> Parse(std::string_view json_text);
  /// One region describing `d`; what `d` leaves empty is listed in the region's unconfigured.
  [[nodiscard]] static Network ForDeployment(const Deployment& d);
  /// A deployment that configured nothing (tests, and the shape of an empty one).
  [[nodiscard]] static Network Default() { return ForDeployment({}); }
  /// The configured file, or `self` when `path` is empty.
  [[nodiscard]] static Result<Network> Load(const std::string& path, const Deployment& self);

  [[nodiscard]] const Region* Find(std::string_view id) const;
};

}  // namespace portline::trunks
