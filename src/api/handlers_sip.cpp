// /v1/sip*: the SIP configuration surface (Bland's shapes) and reusable trunks. The handlers only
// decode and encode; trunks::SipService validates and stores.
#include "api/api.hpp"
#include "api/json.hpp"
#include "core/crypto.hpp"

namespace portline::api {
namespace {

using Call = Result<boost::json::value> (trunks::SipService::*)(std::string_view,
                                                                const boost::json::object&);

// POST/PATCH handlers that take the JSON body.
Handler BodyHandler(trunks::SipService& sip, Call call, int status = 200) {
  return [&sip, call, status](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    PORTLINE_ASSIGN_OR_RETURN(auto data, (sip.*call)(req.OrgId(), body));
    return DataResponse(status, std::move(data));
  };
}

Result<std::string> TrunkIdParam(const Request& req) {
  const std::string& id = req.PathParam("trunk_id");
  if (!IsWellFormedId(id, "trk")) {
    return Fail(Errc::kNotFound, "trunk not found");
  }
  return id;
}

}  // namespace

void RegisterSipRoutes(Router& router, trunks::SipService& sip) {
  router.Add("POST", "/v1/sip/attach", BodyHandler(sip, &trunks::SipService::Attach));
  router.Add("POST", "/v1/sip/update", BodyHandler(sip, &trunks::SipService::Update));
  router.Add("POST", "/v1/sip/detach", BodyHandler(sip, &trunks::SipService::Detach));
  router.Add("PATCH", "/v1/sip/config", BodyHandler(sip, &trunks::SipService::PatchConfig));

  router.Add("GET", "/v1/sip", [&sip](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto data, sip.Get(req.OrgId(), req.Query("phone_number")));
    return DataResponse(200, std::move(data));
  });

  router.Add("GET", "/v1/sip/numbers", [&sip](Request& req) -> Result<Response> {
    auto is_number = [](std::string_view c) {
      return trunks::NormalizeE164(c) == std::optional<std::string>(std::string(c));
    };
    PORTLINE_ASSIGN_OR_RETURN(auto page, ParsePageParams(req, is_number, 100, 1000));
    PORTLINE_ASSIGN_OR_RETURN(auto data, sip.ListNumbers(req.OrgId(), page.cursor, page.limit));
    return DataResponse(200, std::move(data));
  });

  router.Add("POST", "/v1/sip/parse-destination", [](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    PORTLINE_ASSIGN_OR_RETURN(auto data, trunks::SipService::ParseDestinationRequest(body));
    return DataResponse(200, std::move(data));
  });

  router.Add("GET", "/v1/sip/firewall-ips", [&sip](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto data, sip.FirewallIps(req.Query("region")));
    return DataResponse(200, std::move(data));
  });

  router.Add("GET", "/v1/sip/outbound-setup", [&sip](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto data, sip.OutboundSetup(req.OrgId(), req.Query("phone_number"), req.Query("region")));
    return DataResponse(200, std::move(data));
  });

  router.Add("POST", "/v1/sip/trunks", BodyHandler(sip, &trunks::SipService::CreateTrunk, 201));
  router.Add("GET", "/v1/sip/trunks", [&sip](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto page, ParsePageParams(req, "trk"));
    PORTLINE_ASSIGN_OR_RETURN(auto data, sip.ListTrunks(req.OrgId(), page.cursor, page.limit));
    return DataResponse(200, std::move(data));
  });
  router.Add("GET", "/v1/sip/trunks/{trunk_id}", [&sip](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto id, TrunkIdParam(req));
    PORTLINE_ASSIGN_OR_RETURN(auto data, sip.GetTrunk(req.OrgId(), id));
    return DataResponse(200, std::move(data));
  });
  router.Add("PATCH", "/v1/sip/trunks/{trunk_id}", [&sip](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto id, TrunkIdParam(req));
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    PORTLINE_ASSIGN_OR_RETURN(auto data, sip.UpdateTrunk(req.OrgId(), id, body));
    return DataResponse(200, std::move(data));
  });
  router.Add("DELETE", "/v1/sip/trunks/{trunk_id}", [&sip](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto id, TrunkIdParam(req));
    PORTLINE_ASSIGN_OR_RETURN(auto data, sip.DeleteTrunk(req.OrgId(), id));
    return DataResponse(200, std::move(data));
  });
}

}  // namespace portline::api
