// /healthz, /readyz, /metrics and /v1/openapi.json.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <span>

#include "api/api.hpp"
#include "api/json.hpp"
#include "core/embedded.hpp"

std::span<const portline::EmbeddedFile> PortlineOpenApi();

namespace portline::api {

std::string_view OpenApiDocument() { return PortlineOpenApi().front().data; }

std::unordered_map<std::string, std::vector<std::string>> DocumentedQueryParameters() {
  std::unordered_map<std::string, std::vector<std::string>> out;
  const boost::json::value doc = boost::json::parse(OpenApiDocument());
  const boost::json::object& shared = doc.at("components").at("parameters").as_object();
  auto query_names = [&shared](const boost::json::value* list, std::vector<std::string>& names) {
    if (list == nullptr) {
      return;
    }
    for (const boost::json::value& p : list->as_array()) {
      const boost::json::object* param = &p.as_object();
      if (const auto* ref = param->if_contains("$ref")) {
        const std::string_view r = ref->as_string();
        param = &shared.at(r.substr(r.rfind('/') + 1)).as_object();
      }
      if (param->at("in").as_string() == "query") {
        names.emplace_back(param->at("name").as_string());
      }
    }
  };
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    std::vector<std::string> common;
    query_names(item.as_object().if_contains("parameters"), common);
    for (const auto& [method, op] : item.as_object()) {
      if (method == "parameters" || !op.is_object()) {
        continue;
      }
      std::string upper(method);
      for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      std::vector<std::string> names = common;
      query_names(op.as_object().if_contains("parameters"), names);
      out[upper + " " + std::string(path)] = std::move(names);
    }
  }
  return out;
}

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
