// Numbers' SIP configurations: attach (holding the number), update, detach, and the
// configuration a ported number gets.
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

Result<json::value> SipService::Attach(std::string_view org, const json::object& body) {
  return AttachImpl(org, body, /*dry_run=*/false);
}

Result<void> SipService::ValidateAttach(std::string_view org, const json::object& config) {
  json::object body = config;
  body["phone_numbers"] = json::array{"+14155550100"};  // any number: only the config is checked
  PORTLINE_ASSIGN_OR_RETURN(auto checked, AttachImpl(org, body, /*dry_run=*/true));
  (void)checked;
  return {};
}

Result<json::value> SipService::AttachImpl(std::string_view org, const json::object& body,
                                           bool dry_run) {
  FieldErrors errors;
  PORTLINE_ASSIGN_OR_RETURN(auto request, DecodeNumbersRequest(body, errors, true));
  const auto& raw_numbers = request.raw_numbers;
  const auto& trunk_id = request.trunk_id;
  const auto& types = request.types;
  std::vector<json::object> settings;
  // Directions() reported a malformed list already; validate entries only when it accepted it.
  if (const auto* dirs = body.if_contains("directions");
      dirs != nullptr && dirs->is_array() && dirs->get_array().size() == types.size()) {
    std::size_t i = 0;
    for (const auto& d : dirs->get_array()) {
      const std::string p = "directions[" + std::to_string(i) + "]";
      const Kind kind = types[i] == "inbound" ? Kind::kInbound : Kind::kOutbound;
      settings.push_back(d.is_object() ? ValidateSettings(d.get_object(), p, kind, errors)
                                       : json::object{});
      if (kind == Kind::kInbound && d.is_object() && settings.back().contains("register_auth") &&
          StringAt(settings.back(), "auth_mode").value_or("ip") != "register") {
        errors.Add(p + ".register_auth", "INVALID_VALUE",
                   "register_auth is only used with auth_mode \"register\"");
      }
      ++i;
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }

  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  std::optional<json::object> trunk;
  if (trunk_id) {
    PORTLINE_ASSIGN_OR_RETURN(trunk, LoadTrunk(*lease, org, *trunk_id));
    if (!trunk) {
      return FailCode(Errc::kNotFound, "NOT_FOUND", "trunk '" + *trunk_id + "' not found",
                      "trunk_id");
    }
  }
  std::string pbx_username;
  for (std::size_t i = 0; i < types.size(); ++i) {
    const json::object eff = trunk ? Overlay(*trunk, settings[i]) : settings[i];
    CheckEffective(eff, types[i], "directions[" + std::to_string(i) + "]", errors);
    if (types[i] == "inbound" && EffectiveAuthMode(eff) == "register" &&
        eff.contains("register_auth")) {
      pbx_username = std::string(eff.at("register_auth").at("username").as_string());
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  if (dry_run) {
    return json::value(nullptr);
  }

  const std::string slot = trunk_id.value_or("");
  const std::int64_t now = ToUnixMillis(clock_.Now());
  PORTLINE_ASSIGN_OR_RETURN(const std::string realm, holdings::RealmOf(*lease, org));
  json::array configured;
  json::array failed;
  std::set<std::string> done;
  for (const auto& raw : raw_numbers) {
    const auto number = NormalizeE164(raw);
    if (!number) {
      failed.push_back(InvalidNumberEntry(raw));
      continue;
    }
    if (!done.insert(*number).second) {
      continue;  // listed twice
    }
    // The number must be this organization's to configure: held by nobody (it is taken now),
    // by this organization, or in a port request of this organization.
    auto attach_one = [&](store::Connection& c) -> Result<bool> {
      PORTLINE_ASSIGN_OR_RETURN(
          const auto taken,
          holdings::Take(
              c,
              holdings::Claim{
                  realm, org, holdings::Status::kActive, holdings::Source::kAttach, {}, now},
              {*number}));
      if (!taken.empty()) {
        return false;
      }
      for (std::size_t i = 0; i < types.size(); ++i) {
        PORTLINE_RETURN_IF_ERROR(c.Execute(
            "INSERT INTO sip_configs (id, org_id, phone_number, direction, slot, trunk_id, "
            "settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) "
            "ON CONFLICT (org_id, phone_number, direction, slot) DO UPDATE SET "
            "settings = excluded.settings, updated_at = excluded.updated_at",
            {NewId("sipc", clock_.Now()), org, *number, types[i], slot,
             trunk_id ? store::Param(*trunk_id) : store::Param(nullptr),
             json::serialize(settings[i]), now}));
      }
      PORTLINE_ASSIGN_OR_RETURN(auto count,
                                c.Query("SELECT COUNT(*) FROM sip_configs WHERE org_id = $1 AND "
                                        "phone_number = $2",
                                        {org, *number}));
      if (count[0].Int(0) > static_cast<std::int64_t>(kMaxConfigsPerNumber)) {
        return Fail(Errc::kConflict, "limit");  // rolled back; reported per number below
      }
      return true;
    };
    auto ok = store::WithTransaction(*lease, attach_one);
    if (ok && *ok) {
      configured.emplace_back(*number);
    } else if (ok) {
      // Neutral: whoever holds it, the answer names nobody.
      failed.push_back(FailedEntry(*number, "number_unavailable",
                                   *number + " is in service on Portline under another account "
                                             "and cannot be attached"));
    } else if (ok.error().code == Errc::kConflict) {
      failed.push_back(
          FailedEntry(*number, "config_limit", "a number can have at most 10 SIP configurations"));
    } else {
      return tl::unexpected(ok.error());
    }
  }
  json::object data{{"configured", std::move(configured)}, {"failed", std::move(failed)}};
  if (!pbx_username.empty()) {
    data["register_password_for_pbx"] = PbxPassword(org, slot, pbx_username);
  }
  return data;
}

Result<json::value> SipService::Update(std::string_view org, const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(body, {"phone_number", "trunk_id", "updates", "service"});
  const auto raw = errors.String(body, "phone_number", 32);
  const auto trunk_id = errors.OptString(body, "trunk_id", 64);
  if (body.contains("service")) {
    CheckService(body, errors);
  }
  const auto* updates = errors.OptObject(body, "updates");
  std::string type;
  json::object changes;
  if (updates == nullptr) {
    errors.Add("updates", "REQUIRED", "updates is required");
  } else {
    type = errors.String(*updates, "type", 16, "updates").value_or("");
    if (!type.empty() && type != "inbound" && type != "outbound") {
      errors.Add("updates.type", "INVALID_VALUE",
                 "updates.type must be \"inbound\" or \"outbound\"");
    }
    changes = ValidateSettings(*updates, "updates",
                               type == "inbound" ? Kind::kInbound : Kind::kOutbound, errors);
  }
  std::optional<std::string> number;
  if (raw) {
    number = NormalizeE164(*raw);
    if (!number) {
      errors.Add("phone_number", "INVALID_PHONE_NUMBER",
                 "phone_number must be an E.164 number such as +14150000000");
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  const std::string slot = trunk_id.value_or("");
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto update = [&](store::Connection& c) -> Result<json::value> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT " + std::string(kConfigColumns) +
                               " FROM sip_configs WHERE org_id = $1 AND phone_number = $2 AND "
                               "direction = $3 AND slot = $4",
                           {org, *number, type, slot}));
    if (rows.empty()) {
      return FailCode(Errc::kNotFound, "NOT_FOUND",
                      "no " + type + " SIP configuration for " + *number +
                          (slot.empty() ? std::string() : " on trunk " + slot),
                      "phone_number");
    }
    const auto& r = rows[0];
    ConfigRow row{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.OptText(4), ParseObject(r.Text(5)),
                  r.Int(6),  r.Int(7)};
    if (StringAt(changes, "auth_mode") == std::optional<std::string>("ip")) {
      row.settings.erase("register_auth");
    }
    row.settings = Overlay(row.settings, changes);
    std::optional<json::object> trunk;
    if (row.trunk_id) {
      PORTLINE_ASSIGN_OR_RETURN(trunk, LoadTrunk(c, org, *row.trunk_id));
    }
    const json::object eff = trunk ? Overlay(*trunk, row.settings) : row.settings;
    FieldErrors effective_errors;
    CheckEffective(eff, type, "updates", effective_errors);
    if (!effective_errors.empty()) {
      return tl::unexpected(effective_errors.ToError());
    }
    row.updated_at = ToUnixMillis(clock_.Now());
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("UPDATE sip_configs SET settings = $1, updated_at = $2 WHERE id = $3",
                  {json::serialize(row.settings), row.updated_at, row.id}));
    json::object data = View(org, row, trunk ? &*trunk : nullptr);
    if (type == "inbound" && EffectiveAuthMode(eff) == "register" &&
        (changes.contains("auth_mode") || changes.contains("register_auth"))) {
      data["register_password_for_pbx"] =
          PbxPassword(org, slot, std::string(eff.at("register_auth").at("username").as_string()));
    }
    return json::value(std::move(data));
  };
  return store::WithTransaction(*lease, update);
}

Result<json::value> SipService::Detach(std::string_view org, const json::object& body) {
  FieldErrors errors;
  PORTLINE_ASSIGN_OR_RETURN(auto request, DecodeNumbersRequest(body, errors, false));
  const auto& raw_numbers = request.raw_numbers;
  const auto& trunk_id = request.trunk_id;
  auto& types = request.types;
  if (const auto* dirs = body.if_contains("directions"); dirs != nullptr && dirs->is_array()) {
    std::size_t i = 0;
    for (const auto& d : dirs->get_array()) {
      if (d.is_object()) {
        errors.RejectUnknown(d.get_object(), {"type"}, "directions[" + std::to_string(i) + "]");
      }
      ++i;
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  if (types.empty()) {
    types = {"inbound", "outbound"};
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  json::array detached;
  json::array not_configured;
  json::array failed;
  for (const auto& raw : raw_numbers) {
    const auto number = NormalizeE164(raw);
    if (!number) {
      failed.push_back(InvalidNumberEntry(raw));
      continue;
    }
    auto detach_one = [&](store::Connection& c) -> Result<json::array> {
      json::array removed;
      for (const auto& type : types) {
        PORTLINE_ASSIGN_OR_RETURN(
            auto n, trunk_id ? c.Execute("DELETE FROM sip_configs WHERE org_id = $1 AND "
                                         "phone_number = $2 AND direction = $3 AND slot = $4",
                                         {org, *number, type, *trunk_id})
                             : c.Execute("DELETE FROM sip_configs WHERE org_id = $1 AND "
                                         "phone_number = $2 AND direction = $3",
                                         {org, *number, type}));
        if (n > 0) {
          removed.emplace_back(type);
          PORTLINE_RETURN_IF_ERROR(c.Execute(
              "DELETE FROM sip_advanced WHERE org_id = $1 AND phone_number = $2 AND direction = $3 "
              "AND NOT EXISTS (SELECT 1 FROM sip_configs WHERE org_id = $1 AND phone_number = $2 "
              "AND direction = $3)",
              {org, *number, type}));
        }
      }
      if (!removed.empty()) {
        PORTLINE_RETURN_IF_ERROR(holdings::ReleaseIfUnattached(c, org, *number));
      }
      return removed;
    };
    PORTLINE_ASSIGN_OR_RETURN(auto removed, store::WithTransaction(*lease, detach_one));
    if (removed.empty()) {
      not_configured.emplace_back(*number);
    } else {
      detached.push_back(json::object{{"phone_number", *number}, {"directions", removed}});
    }
  }
  return json::object{{"detached", std::move(detached)},
                      {"not_configured", std::move(not_configured)},
                      {"failed", std::move(failed)}};
}

Result<void> SipService::AttachPorted(std::string_view org, const std::vector<std::string>& numbers,
                                      const Object& config) {
  Object body = config;
  boost::json::array list;
  for (const auto& n : numbers) {
    list.emplace_back(n);
  }
  body["phone_numbers"] = std::move(list);
  PORTLINE_ASSIGN_OR_RETURN(auto attached, Attach(org, body));
  const auto* failed = attached.as_object().if_contains("failed");
  if (failed != nullptr && failed->is_array() && !failed->get_array().empty()) {
    return Fail(Errc::kUnprocessable, "the post_port configuration could not be attached: " +
                                          boost::json::serialize(failed->get_array().at(0)));
  }
  return {};
}

}  // namespace portline::trunks
