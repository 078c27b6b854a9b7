// /v1/organization and /v1/api-keys: the caller's organization and its API keys.
#include <boost/json/serialize.hpp>

#include "api/api.hpp"
#include "api/json.hpp"
#include "core/crypto.hpp"

namespace portline::api {
namespace {

boost::json::object OrgJson(const accounts::Organization& org) {
  boost::json::object o;
  o["id"] = org.id;
  o["name"] = org.name;
  boost::json::array ents;
  for (const auto& e : org.entitlements) {
    ents.emplace_back(e);
  }
  o["entitlements"] = std::move(ents);
  o["created_at"] = TimestampJson(org.created_at);
  return o;
}

boost::json::object KeyJson(const accounts::ApiKey& k) {
  boost::json::object o;
  o["id"] = k.id;
  o["name"] = k.name;
  o["prefix"] = k.prefix;
  o["status"] = k.revoked_at ? "revoked" : "active";
  o["created_at"] = TimestampJson(k.created_at);
  o["last_used_at"] = TimestampJson(k.last_used_at);
  o["revoked_at"] = TimestampJson(k.revoked_at);
  return o;
}

Result<std::string> KeyIdParam(const Request& req) {
  const std::string& id = req.PathParam("key_id");
  if (!IsWellFormedId(id, "key")) {
    // Malformed ids cannot exist; answer exactly as for a missing key.
    return Fail(Errc::kNotFound, "API key not found");
  }
  return id;
}

}  // namespace

void RegisterAccountRoutes(Router& router, accounts::Accounts& accounts) {
  router.Add("GET", "/v1/organization", [&accounts](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto org, accounts.GetOrg(req.OrgId()));
    return DataResponse(200, OrgJson(org));
  });

  router.Add("GET", "/v1/api-keys", [&accounts](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto page_params, ParsePageParams(req, "key"));
    PORTLINE_ASSIGN_OR_RETURN(
        auto page, accounts.ListKeys(req.OrgId(), page_params.cursor, page_params.limit));
    boost::json::array keys;
    for (const auto& k : page.items) {
      keys.push_back(KeyJson(k));
    }
    boost::json::object data;
    data["api_keys"] = std::move(keys);
    data["next_cursor"] = page.next_cursor ? boost::json::value(*page.next_cursor) : nullptr;
    return DataResponse(200, std::move(data));
  });

  router.Add("POST", "/v1/api-keys", [&accounts](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    FieldErrors errors;
    errors.RejectUnknown(body, {"name"});
    const auto name = errors.OptString(body, "name", 100);
    if (!errors.empty()) {
      return tl::unexpected(errors.ToError());
    }
    PORTLINE_ASSIGN_OR_RETURN(auto created, accounts.CreateKey(req.OrgId(), name.value_or("")));
    auto data = KeyJson(created.key);
    // The secret is shown once. An idempotent replay returns the same key without the secret,
    // since storing it for replays would keep it in clear.
    data["key"] = nullptr;
    data["key_shown_once"] = true;
    std::string replay =
        boost::json::serialize(boost::json::object{{"data", data}, {"errors", nullptr}});
    data["key"] = created.secret;
    Response r = DataResponse(201, std::move(data));
    r.body_for_replay = std::move(replay);
    return r;
  });

  router.Add("GET", "/v1/api-keys/{key_id}", [&accounts](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto id, KeyIdParam(req));
    PORTLINE_ASSIGN_OR_RETURN(auto key, accounts.GetKey(req.OrgId(), id));
    return DataResponse(200, KeyJson(key));
  });

  router.Add("DELETE", "/v1/api-keys/{key_id}", [&accounts](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto id, KeyIdParam(req));
    PORTLINE_ASSIGN_OR_RETURN(auto key, accounts.RevokeKey(req.OrgId(), id));
    return DataResponse(200, KeyJson(key));
  });
}

}  // namespace portline::api
