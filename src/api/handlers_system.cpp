// /healthz, /readyz, /metrics and /v1/openapi.json.
#include <boost/json/serialize.hpp>
#include <span>

#include "api/api.hpp"
#include "api/json.hpp"
#include "core/embedded.hpp"

std::span<const portline::EmbeddedFile> PortlineOpenApi();

namespace portline::api {

std::string_view OpenApiDocument() { return PortlineOpenApi().front().data; }

void RegisterSystemRoutes(Router& router, Api& api, store::Database& db) {
  router.Add(
      "GET", "/healthz",
      [](Request&) -> Result<Response> {
        Response r;
        r.body = R"({"status":"ok"})";
        return r;
      },
      /*inline_ok=*/true);

  router.Add("GET", "/readyz", [&api, &db](Request&) -> Result<Response> {
    Response r;
    boost::json::object body;
    body["storage"] = db.backend() == store::Backend::kSqlite ? "sqlite" : "postgres";
    if (api.draining()) {
      r.status = 503;
      body["status"] = "draining";
    } else if (auto ping = db.Ping(); !ping) {
      r.status = 503;
      body["status"] = "unavailable";
      body["reason"] = ping.error().message;
    } else {
      body["status"] = "ready";
    }
    r.body = boost::json::serialize(body);
    return r;
  });

  router.Add(
      "GET", "/metrics",
      [&api](Request&) -> Result<Response> {
        Response r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = api.metrics().Render();
        return r;
      },
      /*inline_ok=*/true);

  router.Add(
      "GET", "/v1/openapi.json",
      [](Request&) -> Result<Response> {
        Response r;
        r.body = std::string(OpenApiDocument());
        return r;
      },
      /*inline_ok=*/true);
}

}  // namespace portline::api
