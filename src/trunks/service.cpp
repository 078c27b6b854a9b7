// SipService: what its parts share (stored settings, overlays, the derived PBX password).
// The operations: numbers.cpp (attach, update, detach), views.cpp, network_setup.cpp,
// advanced.cpp (PATCH config), trunk_store.cpp; the rules in validation.cpp.
#include "trunks/service.hpp"

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

namespace portline::trunks {
namespace json = boost::json;

json::object ParseObject(const std::string& text) {
  auto v = json::parse(text);
  return v.is_object() ? std::move(v.as_object()) : json::object{};
}

// base's keys, replaced by top's; "options" is merged key by key.
json::object Overlay(const json::object& base, const json::object& top) {
  json::object out = base;
  for (const auto& kv : top) {
    if (kv.key() == "options" && kv.value().is_object() && out.contains("options") &&
        out.at("options").is_object()) {
      auto& opts = out.at("options").as_object();
      for (const auto& o : kv.value().get_object()) {
        opts[o.key()] = o.value();
      }
    } else {
      out[kv.key()] = kv.value();
    }
  }
  return out;
}

std::optional<std::string> StringAt(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::optional<std::string>(std::string(v->get_string()))
                                        : std::nullopt;
}

std::string EffectiveAuthMode(const json::object& eff) {
  return StringAt(eff, "auth_mode").value_or("ip");
}

json::object FailedEntry(std::string number, std::string reason, std::string message) {
  return json::object{{"phone_number", std::move(number)},
                      {"reason", std::move(reason)},
                      {"message", std::move(message)}};
}

json::object InvalidNumberEntry(const std::string& raw) {
  return FailedEntry(raw, "invalid_number",
                     "'" + raw + "' is not an E.164 number such as +14150000000");
}

std::string SipService::PbxPassword(std::string_view org, std::string_view slot,
                                    std::string_view username) const {
  const std::string identity = std::string(org) + "|" +
                               (slot.empty() ? std::string("inline") : std::string(slot)) + "|" +
                               std::string(username);
  return box_.Derive("pbx-register-v1", identity);
}

Result<std::optional<json::object>> SipService::LoadTrunk(store::Connection& c,
                                                          std::string_view org,
                                                          std::string_view trunk_id) const {
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows,
      c.Query("SELECT settings FROM sip_trunks WHERE id = $1 AND org_id = $2", {trunk_id, org}));
  if (rows.empty()) {
    return std::optional<json::object>();
  }
  return std::optional<json::object>(ParseObject(rows[0].Text(0)));
}

}  // namespace portline::trunks
