// /v1/webhooks/…: endpoints (create, list, get, update, delete, rotate secret), events, attempts,
// redelivery.
#include "api/api.hpp"
#include "api/json.hpp"
#include "webhooks/service.hpp"

namespace portline::api {
void RegisterWebhookRoutes(Router& router, webhooks::WebhookService& hooks) {
  router.Add("POST", "/v1/webhooks/endpoints", [&hooks](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    return Ok(hooks.CreateEndpoint(req.OrgId(), body), 201);
  });
  router.Add("GET", "/v1/webhooks/endpoints", [&hooks](Request& req) -> Result<Response> {
    return Ok(hooks.ListEndpoints(req.OrgId()));
  });
  router.Add("GET", "/v1/webhooks/endpoints/{id}", [&hooks](Request& req) -> Result<Response> {
    return Ok(hooks.GetEndpoint(req.OrgId(), req.PathParam("id")));
  });
  router.Add("PATCH", "/v1/webhooks/endpoints/{id}", [&hooks](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    return Ok(hooks.UpdateEndpoint(req.OrgId(), req.PathParam("id"), body));
  });
  router.Add("DELETE", "/v1/webhooks/endpoints/{id}", [&hooks](Request& req) -> Result<Response> {
    return Ok(hooks.DeleteEndpoint(req.OrgId(), req.PathParam("id")));
  });
  router.Add("POST", "/v1/webhooks/endpoints/{id}/rotate-secret",
             [&hooks](Request& req) -> Result<Response> {
               return Ok(hooks.RotateSecret(req.OrgId(), req.PathParam("id")));
             });
  router.Add("GET", "/v1/webhooks/endpoints/{id}/attempts",
             [&hooks](Request& req) -> Result<Response> {
               return Ok(hooks.ListAttempts(req.OrgId(), req.PathParam("id")));
             });
  router.Add("GET", "/v1/webhooks/events", [&hooks](Request& req) -> Result<Response> {
    return Ok(hooks.ListEvents(req.OrgId(), req.Query("type").value_or(""),
                               req.Query("port_request_id").value_or("")));
  });
  router.Add("POST", "/v1/webhooks/events/{id}/redeliver",
             [&hooks](Request& req) -> Result<Response> {
               return Ok(hooks.Redeliver(req.OrgId(), req.PathParam("id")), 202);
             });
}

void Api::AddWebhooks(webhooks::WebhookService& hooks) { RegisterWebhookRoutes(router_, hooks); }

}  // namespace portline::api
