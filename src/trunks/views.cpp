// Configurations as the API shows them, secrets redacted: one number, and the list.
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

json::object SipService::View(std::string_view org, const ConfigRow& row,
                              const json::object* trunk_settings) const {
  const json::object eff =
      trunk_settings != nullptr ? Overlay(*trunk_settings, row.settings) : row.settings;
  json::object v;
  v["number"] = row.phone_number;
  v["id"] = row.id;
  v["org_id"] = org;
  v["direction"] = row.direction;
  v["trunk_id"] = row.trunk_id ? json::value(*row.trunk_id) : nullptr;
  const auto* ep = eff.if_contains("sip_endpoint");
  v["sip_endpoint"] = ep != nullptr ? *ep : nullptr;
  v["created_at"] = TimestampJson(row.created_at);
  v["updated_at"] = TimestampJson(row.updated_at);
  const auto* headers = eff.if_contains("headers");
  v["headers"] = headers != nullptr && headers->is_array() && !headers->get_array().empty()
                     ? *headers
                     : json::value(nullptr);
  json::object options;
  if (row.direction == "inbound") {
    options["auth_mode"] = EffectiveAuthMode(eff);
    if (const auto* ra = eff.if_contains("register_auth"); ra != nullptr && ra->is_object()) {
      options["register_auth"] =
          json::object{{"username", ra->get_object().at("username")}, {"password", kRedacted}};
    }
  }
  if (const auto* o = eff.if_contains("options"); o != nullptr && o->is_object()) {
    for (const auto& kv : o->get_object()) {
      options[kv.key()] = kv.key() == "sip_password" ? json::value(kRedacted) : kv.value();
    }
  }
  v["options"] = std::move(options);
  return v;
}

Result<json::value> SipService::Get(std::string_view org, const std::optional<std::string>& raw) {
  if (!raw) {
    return FailCode(Errc::kInvalidArgument, "REQUIRED", "phone_number is required", "phone_number");
  }
  const auto number = NormalizeE164(*raw);
  if (!number) {
    return InvalidNumber("phone_number");
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT " + std::string(kConfigColumns) +
                                  " FROM sip_configs WHERE org_id = $1 AND phone_number = $2 "
                                  "ORDER BY slot, direction",
                              {org, *number}));
  if (rows.empty()) {
    return FailCode(Errc::kNotFound, "NOT_FOUND", "no SIP configuration for " + *number,
                    "phone_number");
  }
  std::map<std::string, json::object> trunks;
  json::value inbound = nullptr;
  json::value outbound = nullptr;
  json::array all;
  for (const auto& r : rows) {
    ConfigRow row{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.OptText(4), ParseObject(r.Text(5)),
                  r.Int(6),  r.Int(7)};
    const json::object* trunk = nullptr;
    if (row.trunk_id) {
      if (!trunks.count(*row.trunk_id)) {
        PORTLINE_ASSIGN_OR_RETURN(auto t, LoadTrunk(*lease, org, *row.trunk_id));
        trunks[*row.trunk_id] = t.value_or(json::object{});
      }
      trunk = &trunks[*row.trunk_id];
    }
    json::object view = View(org, row, trunk);
    if (row.direction == "inbound" && inbound.is_null()) {
      inbound = view;
    } else if (row.direction == "outbound" && outbound.is_null()) {
      outbound = view;
    }
    all.push_back(std::move(view));
  }
  json::object advanced{{"inbound", nullptr}, {"outbound", nullptr}};
  PORTLINE_ASSIGN_OR_RETURN(
      auto adv, lease->Query("SELECT direction, failover, codecs, alerts, updated_at FROM "
                             "sip_advanced WHERE org_id = $1 AND phone_number = $2",
                             {org, *number}));
  for (const auto& a : adv) {
    advanced[a.Text(0)] = json::object{
        {"failover_config", a.IsNull(1) ? json::value(nullptr) : json::parse(a.Text(1))},
        {"codec_config", a.IsNull(2) ? json::value(nullptr) : json::parse(a.Text(2))},
        {"alert_config", a.IsNull(3) ? json::value(nullptr) : json::parse(a.Text(3))},
        {"updated_at", TimestampJson(a.Int(4))}};
  }
  return json::object{{"inbound", std::move(inbound)},
                      {"outbound", std::move(outbound)},
                      {"configurations", std::move(all)},
                      {"advanced", std::move(advanced)}};
}

Result<json::value> SipService::ListNumbers(std::string_view org,
                                            const std::optional<std::string>& after, int limit) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto page, lease->Query("SELECT DISTINCT phone_number FROM sip_configs WHERE org_id = $1 "
                              "AND phone_number > $2 ORDER BY phone_number LIMIT $3",
                              {org, after.value_or(""), static_cast<std::int64_t>(limit) + 1}));
  json::object data;
  data["next_cursor"] = nullptr;
  if (page.size() > static_cast<std::size_t>(limit)) {
    page.pop_back();
    data["next_cursor"] = page.back().Text(0);
  }
  json::array numbers;
  if (!page.empty()) {
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, lease->Query("SELECT phone_number, direction, trunk_id, settings FROM "
                                "sip_configs WHERE org_id = $1 AND phone_number >= $2 AND "
                                "phone_number <= $3 ORDER BY phone_number, slot, direction",
                                {org, page.front().Text(0), page.back().Text(0)}));
    std::map<std::string, json::object> trunks;
    json::object* current = nullptr;
    for (const auto& r : rows) {
      if (current == nullptr || current->at("phone_number").as_string() != r.Text(0)) {
        numbers.push_back(json::object{{"phone_number", r.Text(0)},
                                       {"directions", json::array{}},
                                       {"sip_endpoint", nullptr},
                                       {"health_status", "unchecked"},
                                       {"trunk_ids", json::array{}}});
        current = &numbers.back().as_object();
      }
      auto settings = ParseObject(r.Text(3));
      if (const auto trunk_id = r.OptText(2)) {
        if (!trunks.count(*trunk_id)) {
          PORTLINE_ASSIGN_OR_RETURN(auto t, LoadTrunk(*lease, org, *trunk_id));
          trunks[*trunk_id] = t.value_or(json::object{});
        }
        settings = Overlay(trunks[*trunk_id], settings);
        auto& ids = current->at("trunk_ids").as_array();
        if (std::find(ids.begin(), ids.end(), json::value(*trunk_id)) == ids.end()) {
          ids.emplace_back(*trunk_id);
        }
      }
      auto& dirs = current->at("directions").as_array();
      if (std::find(dirs.begin(), dirs.end(), json::value(r.Text(1))) == dirs.end()) {
        dirs.emplace_back(r.Text(1));
      }
      const auto endpoint = StringAt(settings, "sip_endpoint");
      if (endpoint && (current->at("sip_endpoint").is_null() || r.Text(1) == "outbound")) {
        (*current)["sip_endpoint"] = *endpoint;
      }
    }
  }
  data["numbers"] = std::move(numbers);
  return data;
}

}  // namespace portline::trunks
