#include "trunks/network.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/json_util.hpp"

namespace portline::trunks {

Result<Network> Network::Parse(std::string_view json_text) {
  PORTLINE_ASSIGN_OR_RETURN(auto doc, ParseJson(json_text));
  FieldErrors errors;
  if (!doc.is_object()) {
    return Fail(Errc::kInvalidArgument, "network data must be a JSON object");
  }
  const auto& root = doc.get_object();
  Network net;
  net.default_region = errors.String(root, "default_region", 32).value_or("");
  const auto* regions = root.if_contains("regions");
  if (regions == nullptr || !regions->is_array() || regions->get_array().empty()) {
    errors.Add("regions", "REQUIRED", "regions must be a non-empty array");
  } else {
    std::size_t i = 0;
    for (const auto& r : regions->get_array()) {
      const std::string prefix = "regions[" + std::to_string(i++) + "]";
      if (!r.is_object()) {
        errors.Add(prefix, "INVALID_TYPE", prefix + " must be an object");
        continue;
      }
      const auto& o = r.get_object();
      Region region;
      region.id = errors.String(o, "id", 32, prefix).value_or("");
      region.name = errors.String(o, "name", 100, prefix).value_or("");
      region.sip_server = errors.String(o, "sip_server", 253, prefix).value_or("");
      region.sip_port =
          static_cast<int>(errors.OptInt(o, "sip_port", 1, 65535, prefix).value_or(5061));
      region.sip_transport = errors.OptString(o, "sip_transport", 8, prefix).value_or("tls");
      if (const auto* ips = o.if_contains("ip_addresses"); ips != nullptr && ips->is_array()) {
        for (const auto& ip : ips->get_array()) {
          in6_addr buf{};
          const std::string text = ip.is_string() ? std::string(ip.get_string()) : std::string();
          if (inet_pton(AF_INET, text.c_str(), &buf) != 1 &&
              inet_pton(AF_INET6, text.c_str(), &buf) != 1) {
            errors.Add(prefix + ".ip_addresses", "INVALID_IP",
                       "'" + text + "' is not an IP address");
            continue;
          }
          region.ip_addresses.push_back(text);
        }
      } else {
        errors.Add(prefix + ".ip_addresses", "REQUIRED", prefix + ".ip_addresses must be an array");
      }
      if (const auto* ports = errors.OptObject(o, "ports", prefix)) {
        region.sip_ports = errors.String(*ports, "sip", 64, prefix + ".ports").value_or("");
        region.rtp_ports = errors.String(*ports, "rtp", 64, prefix + ".ports").value_or("");
      } else {
        errors.Add(prefix + ".ports", "REQUIRED", prefix + ".ports is required");
      }
      net.regions.push_back(std::move(region));
    }
  }
  if (errors.empty() && net.Find(net.default_region) == nullptr) {
    errors.Add("default_region", "UNKNOWN_REGION",
               "default_region '" + net.default_region + "' is not one of the regions");
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  return net;
}

Network Network::ForDeployment(const Deployment& d) {
  Region r;
  r.id = "default";
  r.name = d.public_host.empty() ? "This deployment" : d.public_host;
  r.sip_server = d.public_host;
  if (d.public_host.empty()) {
    r.unconfigured.emplace_back("sip.public_host");
  }
  r.ip_addresses = d.public_ips;
  if (d.public_ips.empty()) {
    r.unconfigured.emplace_back("sip.public_ips");
  }
  // Customers are best sent to TLS, then TCP, then UDP: the listener of the first kind found.
  const Deployment::Listener* best = nullptr;
  for (const char* kind : {"tls", "tcp", "udp"}) {
    for (const auto& l : d.listeners) {
      if (best == nullptr && l.transport == kind) {
        best = &l;
      }
    }
  }
  if (best != nullptr) {
    r.sip_port = best->port;
    r.sip_transport = best->transport;
  } else {
    r.sip_port = 0;
    r.sip_transport.clear();
    r.unconfigured.emplace_back("sip.listen");
  }
  for (const auto& l : d.listeners) {
    std::string t = l.transport;
    std::transform(t.begin(), t.end(), t.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const std::string entry = std::to_string(l.port) + " " + t;
    if (r.sip_ports.find(entry) == std::string::npos) {
      r.sip_ports += (r.sip_ports.empty() ? "" : ", ") + entry;
    }
  }
  r.rtp_ports = d.rtp_ports.empty() ? std::string() : d.rtp_ports + " UDP";
  if (d.rtp_ports.empty()) {
    r.unconfigured.emplace_back("sip.rtp_ports");
  }
  Network net;
  net.default_region = r.id;
  net.regions.push_back(std::move(r));
  return net;
}

Result<Network> Network::Load(const std::string& path, const Deployment& self) {
  if (path.empty()) {
    return ForDeployment(self);
  }
  std::ifstream in(path);
  if (!in) {
    return Fail(Errc::kInvalidArgument, "cannot read sip.network_file '" + path + "'");
  }
  std::stringstream text;
  text << in.rdbuf();
  auto net = Parse(text.str());
  if (!net) {
    Error e = net.error();
    e.message = "sip.network_file '" + path + "': " + e.message;
    return tl::unexpected(e);
  }
  return net;
}

const Region* Network::Find(std::string_view id) const {
  for (const auto& r : regions) {
    if (r.id == id) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace portline::trunks
