// Reusable trunks: create, list, read, update, delete.
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

Result<json::value> SipService::TrunkView(store::Connection& c, std::string_view org,
                                          const store::Row& r) const {
  PORTLINE_ASSIGN_OR_RETURN(
      auto count, c.Query("SELECT COUNT(DISTINCT phone_number) FROM sip_configs WHERE org_id = $1 "
                          "AND trunk_id = $2",
                          {org, r.Text(0)}));
  const auto settings = ParseObject(r.Text(2));
  // Reuse the direction view for redaction; a trunk carries inbound auth settings too.
  ConfigRow as_row{r.Text(0), "", "inbound", "", std::nullopt, settings, r.Int(3), r.Int(4)};
  json::object v = View(org, as_row, nullptr);
  json::object out{{"id", r.Text(0)},
                   {"name", r.Text(1)},
                   {"sip_endpoint", v.at("sip_endpoint")},
                   {"headers", v.at("headers")},
                   {"options", v.at("options")},
                   {"attached_numbers", count[0].Int(0)},
                   {"created_at", v.at("created_at")},
                   {"updated_at", v.at("updated_at")}};
  return json::value(std::move(out));
}

Result<json::value> SipService::CreateTrunk(std::string_view org, const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(
      body, {"name", "sip_endpoint", "auth_mode", "register_auth", "headers", "options"});
  const auto name = errors.String(body, "name", 100);
  if (name && (name->empty() || !std::all_of(name->begin(), name->end(), [](char ch) {
                 return static_cast<unsigned char>(ch) >= 0x20;
               }))) {
    errors.Add("name", "INVALID_VALUE", "name must be 1 to 100 characters without control codes");
  }
  json::object settings = ValidateSettings(body, "", Kind::kTrunk, errors);
  if (EffectiveAuthMode(settings) == "register" && !settings.contains("register_auth")) {
    errors.Add("register_auth", "REQUIRED",
               "register_auth {username, password} is required when auth_mode is register");
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  const auto now = clock_.Now();
  const std::string id = NewId("trk", now);
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto inserted = lease->Execute(
      "INSERT INTO sip_trunks (id, org_id, name, settings, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $5)",
      {id, org, *name, json::serialize(settings), ToUnixMillis(now)});
  if (!inserted) {
    if (inserted.error().code == Errc::kConflict) {
      return FailCode(Errc::kConflict, "TRUNK_EXISTS",
                      "a trunk named '" + *name + "' already exists", "name");
    }
    return tl::unexpected(inserted.error());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto view, GetTrunk(org, id));
  if (auto username = settings.if_contains("register_auth")) {
    view.as_object()["register_password_for_pbx"] =
        PbxPassword(org, id, std::string(username->at("username").as_string()));
  }
  return view;
}

Result<json::value> SipService::ListTrunks(std::string_view org,
                                           const std::optional<std::string>& after, int limit) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT id, name, settings, created_at, updated_at FROM sip_trunks "
                              "WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                              {org, after.value_or(""), static_cast<std::int64_t>(limit) + 1}));
  json::object data{{"next_cursor", nullptr}};
  if (rows.size() > static_cast<std::size_t>(limit)) {
    rows.pop_back();
    data["next_cursor"] = rows.back().Text(0);
  }
  json::array trunks;
  for (const auto& r : rows) {
    PORTLINE_ASSIGN_OR_RETURN(auto v, TrunkView(*lease, org, r));
    trunks.push_back(std::move(v));
  }
  data["trunks"] = std::move(trunks);
  return data;
}

Result<json::value> SipService::GetTrunk(std::string_view org, std::string_view trunk_id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT id, name, settings, created_at, updated_at FROM sip_trunks "
                              "WHERE org_id = $1 AND id = $2",
                              {org, trunk_id}));
  if (rows.empty()) {
    return Fail(Errc::kNotFound, "trunk not found");
  }
  return TrunkView(*lease, org, rows[0]);
}

Result<json::value> SipService::UpdateTrunk(std::string_view org, std::string_view trunk_id,
                                            const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(
      body, {"name", "sip_endpoint", "auth_mode", "register_auth", "headers", "options"});
  const auto name = errors.OptString(body, "name", 100);
  if (name && name->empty()) {
    errors.Add("name", "INVALID_VALUE", "name must not be empty");
  }
  json::object changes = ValidateSettings(body, "", Kind::kTrunk, errors);
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto update = [&](store::Connection& c) -> Result<bool> {
    PORTLINE_ASSIGN_OR_RETURN(auto current, LoadTrunk(c, org, trunk_id));
    if (!current) {
      return Fail(Errc::kNotFound, "trunk not found");
    }
    if (StringAt(changes, "auth_mode") == std::optional<std::string>("ip")) {
      current->erase("register_auth");
    }
    json::object merged = Overlay(*current, changes);
    if (EffectiveAuthMode(merged) == "register" && !merged.contains("register_auth")) {
      return FailCode(Errc::kInvalidArgument, "REQUIRED",
                      "register_auth is required when auth_mode is register", "register_auth");
    }
    auto updated = c.Execute(
        "UPDATE sip_trunks SET settings = $1, name = COALESCE($2, name), updated_at = $3 "
        "WHERE id = $4 AND org_id = $5",
        {json::serialize(merged), name, ToUnixMillis(clock_.Now()), trunk_id, org});
    if (!updated && updated.error().code == Errc::kConflict) {
      return FailCode(Errc::kConflict, "TRUNK_EXISTS", "a trunk with that name already exists",
                      "name");
    }
    PORTLINE_RETURN_IF_ERROR(updated);
    return true;
  };
  PORTLINE_RETURN_IF_ERROR(store::WithTransaction(*lease, update));
  PORTLINE_ASSIGN_OR_RETURN(auto view, GetTrunk(org, trunk_id));
  return view;
}

Result<json::value> SipService::DeleteTrunk(std::string_view org, std::string_view trunk_id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto remove = [&](store::Connection& c) -> Result<json::value> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT id, name, settings, created_at, updated_at FROM sip_trunks "
                           "WHERE org_id = $1 AND id = $2",
                           {org, trunk_id}));
    if (rows.empty()) {
      return Fail(Errc::kNotFound, "trunk not found");
    }
    PORTLINE_ASSIGN_OR_RETURN(auto view, TrunkView(c, org, rows[0]));
    const auto attached = view.at("attached_numbers").as_int64();
    if (attached > 0) {
      return FailCode(
          Errc::kConflict, "TRUNK_IN_USE",
          "trunk is attached to " + std::to_string(attached) + " number(s); detach them first",
          "trunk_id");
    }
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("DELETE FROM sip_trunks WHERE org_id = $1 AND id = $2", {org, trunk_id}));
    view.as_object()["deleted"] = true;
    return view;
  };
  return store::WithTransaction(*lease, remove);
}

}  // namespace portline::trunks
