// What this deployment tells a customer: destinations parsed, firewall addresses, outbound setup.
#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <set>

#include "core/crypto.hpp"
#include "holdings/holdings.hpp"
#include "trunks/destination.hpp"
#include "trunks/internal.hpp"
#include "trunks/service.hpp"

namespace portline::trunks {
namespace json = boost::json;

Result<json::value> SipService::ParseDestinationRequest(const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(body, {"input"});
  const auto input = errors.String(body, "input", 2048);
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  auto d = ParseDestination(*input);
  if (!d) {
    return json::object{{"valid", false}, {"parsed", nullptr}, {"reason", d.error().message}};
  }
  json::object parsed{{"host", d->host}};
  if (d->port) {
    parsed["port"] = *d->port;
  }
  if (d->user) {
    parsed["user"] = *d->user;
  }
  if (d->transport) {
    parsed["transport"] = *d->transport;
  }
  parsed["is_private_ip"] = d->is_private_ip;
  parsed["normalized"] = d->Normalized();
  parsed["scheme"] = d->scheme;
  parsed["host_type"] = d->ipv6 ? "ipv6" : (d->host_is_ip ? "ipv4" : "hostname");
  parsed["srv_lookup"] = d->srv_lookup;
  parsed["effective_transport"] =
      d->effective_transport ? json::value(*d->effective_transport) : nullptr;
  parsed["default_port"] = d->default_port;
  return json::object{{"valid", true}, {"parsed", std::move(parsed)}};
}

namespace {
Result<const Region*> PickRegion(const Network& net, const std::optional<std::string>& region) {
  const std::string id = region.value_or(net.default_region);
  if (const Region* r = net.Find(id)) {
    return r;
  }
  std::string known;
  for (const auto& r : net.regions) {
    known += (known.empty() ? "" : ", ") + r.id;
  }
  return FailCode(Errc::kInvalidArgument, "UNKNOWN_REGION",
                  "unknown region '" + id + "'; known regions: " + known, "region");
}
}  // namespace

namespace {
json::array Unconfigured(const Region& r) {
  json::array out;
  for (const auto& key : r.unconfigured) {
    out.emplace_back(key);
  }
  return out;
}
}  // namespace

Result<json::value> SipService::FirewallIps(const std::optional<std::string>& region) const {
  PORTLINE_ASSIGN_OR_RETURN(const Region* r, PickRegion(network_, region));
  json::array ips;
  for (const auto& ip : r->ip_addresses) {
    ips.emplace_back(ip);
  }
  auto text_or_null = [](const std::string& v) {
    return v.empty() ? json::value() : json::value(v);
  };
  return json::object{{"region", r->id},
                      {"ip_addresses", std::move(ips)},
                      {"ports", json::object{{"sip", text_or_null(r->sip_ports)},
                                             {"rtp", text_or_null(r->rtp_ports)}}},
                      {"unconfigured", Unconfigured(*r)}};
}

Result<json::value> SipService::OutboundSetup(std::string_view org,
                                              const std::optional<std::string>& raw,
                                              const std::optional<std::string>& region) {
  PORTLINE_ASSIGN_OR_RETURN(const Region* r, PickRegion(network_, region));
  std::string transport = r->sip_transport;
  std::transform(transport.begin(), transport.end(), transport.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const bool known = !r->sip_server.empty() && r->sip_port > 0;
  json::object data{
      {"region", r->id},
      {"sip_server", r->sip_server.empty() ? json::value() : json::value(r->sip_server)},
      {"port", r->sip_port > 0 ? json::value(r->sip_port) : json::value()},
      {"transport", r->sip_transport.empty() ? json::value() : json::value(r->sip_transport)},
      {"instructions",
       known ? "Configure your PBX to send SIP INVITE requests to " + r->sip_server + ":" +
                   std::to_string(r->sip_port) + " over " + transport +
                   ". Whitelist the IP addresses from /v1/sip/firewall-ips."
             : std::string("This deployment has not said where customers send SIP yet: its "
                           "operator sets sip.public_host and sip.listen (see unconfigured).")},
      {"credentials", nullptr},
      {"unconfigured", Unconfigured(*r)}};
  if (raw) {
    PORTLINE_ASSIGN_OR_RETURN(auto config, Get(org, raw));
    const auto& inbound = config.at("inbound");
    if (inbound.is_object()) {
      const auto& opts = inbound.at("options").as_object();
      if (const auto* ra = opts.if_contains("register_auth")) {
        data["credentials"] = json::object{
            {"username", ra->at("username")}, {"password", kRedacted}, {"auth_mode", "register"}};
      }
    }
  }
  return data;
}

}  // namespace portline::trunks
