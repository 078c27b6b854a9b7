#include "api/api.hpp"

#include <exception>

#include "api/json.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/utf8.hpp"

namespace portline::api {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool IsSipPath(std::string_view path) { return path == "/v1/sip" || StartsWith(path, "/v1/sip/"); }

// Every /v1 route needs an API key except the API description itself.
bool NeedsAuth(std::string_view path) {
  return (path == "/v1" || StartsWith(path, "/v1/")) && path != "/v1/openapi.json";
}

// "Bearer <key>" (scheme case-insensitive) or the bare key, as the Bland seeds show both.
std::string_view PresentedKey(std::string_view header) {
  while (!header.empty() && header.front() == ' ') {
    header.remove_prefix(1);
  }
  while (!header.empty() && header.back() == ' ') {
    header.remove_suffix(1);
  }
  if (header.size() > 7 && IEquals(header.substr(0, 7), "bearer ")) {
    header.remove_prefix(7);
    while (!header.empty() && header.front() == ' ') {
      header.remove_prefix(1);
    }
  }
  return header;
}

// `ct` names `media` (parameters such as charset ignored; case-insensitive).
bool IsMediaType(std::string_view ct, std::string_view media) {
  const auto semi = ct.find(';');
  std::string_view given = ct.substr(0, semi);
  while (!given.empty() && given.back() == ' ') {
    given.remove_suffix(1);
  }
  return IEquals(given, media);
}

}  // namespace

Api::Api(accounts::Accounts& accounts, trunks::SipService& sip,
         const numbering::PortabilityChecker& checker, porting::PortingService& porting,
         carriers::SimulatedNetwork* sandbox, store::Database& db, const Clock& clock,
         Metrics& metrics, ApiOptions options)
    : accounts_(accounts),
      db_(db),
      clock_(clock),
      metrics_(metrics),
      options_(options),
      idempotency_(
          db, clock,
          IdempotencyStore::Options{.ttl = options.idempotency_ttl,
                                    .max_bytes_per_org = options.idempotency_max_bytes_per_org}),
      rate_limiter_(options.rate_limit_per_second, options.rate_limit_burst),
      query_params_(DocumentedQueryParameters()) {
  RegisterSystemRoutes(router_, *this, db_);
  RegisterAccountRoutes(router_, accounts_);
  RegisterSipRoutes(router_, sip);
  RegisterPortingRoutes(router_, checker, porting, sandbox);
}

bool Api::CanRunInline(const Request& req) const {
  if (NeedsAuth(req.path)) {
    return false;
  }
  std::vector<std::pair<std::string, std::string>> params;
  const auto m = router_.Find(req.method, req.path, params);
  return m.route == nullptr || m.route->inline_ok;
}

Response Api::Handle(Request& req) {
  try {
    return Dispatch(req);
  } catch (const std::exception& e) {
    log::Error(
        "unhandled exception in handler",
        {{"request_id", req.request_id}, {"path", LoggablePath(req.path)}, {"error", e.what()}});
  } catch (...) {
    log::Error("unhandled exception in handler",
               {{"request_id", req.request_id}, {"path", LoggablePath(req.path)}});
  }
  metrics_.Increment("handler_exception", "-");  // a label of patterns only, never a path
  return ErrorResponse(Error{Errc::kInternal, "internal error", {}, {}, {}}, req.request_id);
}

std::optional<Response> Api::Authenticate(Request& req) {
  if (req.principal) {
    return std::nullopt;  // checked before the body was read
  }
  const auto header = req.HeaderValue("authorization");
  if (!header || PresentedKey(*header).empty()) {
    Response r = ErrorResponse(Error{Errc::kUnauthenticated,
                                     "missing API key: send it in the Authorization header",
                                     {},
                                     "UNAUTHORIZED",
                                     {}},
                               req.request_id);
    r.headers.push_back({"WWW-Authenticate", "Bearer"});
    return r;
  }
  auto principal = accounts_.Authenticate(PresentedKey(*header));
  if (!principal) {
    Response r = ErrorResponse(principal.error(), req.request_id);
    if (r.status == 401) {
      r.headers.push_back({"WWW-Authenticate", "Bearer error=\"invalid_token\""});
    }
    return r;
  }
  req.principal = std::move(*principal);
  return std::nullopt;
}

std::optional<Response> Api::CheckBeforeBody(Request& req) {
  if (!NeedsAuth(req.path)) {
    return std::nullopt;
  }
  try {
    auto refused = Authenticate(req);
    if (refused) {
      refused->route = "-";
    }
    return refused;
  } catch (const std::exception& e) {
    log::Error("unhandled exception before the body", {{"error", e.what()}});
    return ErrorResponse(Error{Errc::kInternal, "internal error", {}, {}, {}}, req.request_id);
  }
}

Response Api::Dispatch(Request& req) {
  const auto error = [&req](const Error& e) { return ErrorResponse(e, req.request_id); };

  if (NeedsAuth(req.path)) {
    if (auto refused = Authenticate(req)) {
      return std::move(*refused);
    }
    if (IsSipPath(req.path) && !req.principal->Has("SIP")) {
      Response r = error(Error{Errc::kPermissionDenied,
                               "SIP is not enabled for this organization",
                               {},
                               "SIP_NOT_ENABLED",
                               {}});
      r.org_id = req.principal->org_id;
      return r;
    }
    if (auto wait = rate_limiter_.Take(req.principal->org_id, clock_.SteadyNow())) {
      Response r =
          error(Error{Errc::kRateLimited, "too many requests for this organization", {}, {}, {}});
      const auto secs = std::max<std::int64_t>(1, (wait->count() + 999) / 1000);
      r.headers.push_back({"Retry-After", std::to_string(secs)});
      r.org_id = req.principal->org_id;
      return r;
    }
  }

  const auto match = router_.Find(req.method, req.path, req.path_params);
  if (match.route == nullptr) {
    if (!match.allowed.empty()) {
      std::string allow;
      for (const auto& m : match.allowed) {
        allow += (allow.empty() ? "" : ", ") + m;
      }
      Response r = error(Error{Errc::kMethodNotAllowed,
                               "method " + req.method + " is not allowed here; use " + allow,
                               {},
                               {},
                               {}});
      r.headers.push_back({"Allow", allow});
      return r;
    }
    return error(Error{Errc::kNotFound, "no route for " + req.path, {}, {}, {}});
  }
  const Route& route = *match.route;

  if (!req.body.empty() && (req.method == "POST" || req.method == "PUT" || req.method == "PATCH")) {
    const auto ct = req.HeaderValue("content-type");
    if (!ct || !IsMediaType(*ct, route.body_type)) {
      Response r = error(Error{Errc::kUnsupportedMediaType,
                               "the request body must be sent as Content-Type: " + route.body_type,
                               {},
                               {},
                               {}});
      r.route = route.pattern;
      return r;
    }
  }

  if (auto unknown = CheckQueryParameters(route, req)) {
    Response r = error(*unknown);
    r.route = route.pattern;
    return r;
  }

  if (req.method == "POST" && req.principal) {
    if (const auto key = req.HeaderValue("idempotency-key")) {
      return RunIdempotent(route, req, *key);
    }
  }
  return RunHandler(route, req);
}

// A query parameter the operation does not document is an error naming it, as a typo
// ("phone_numbr") should not silently list everything.
std::optional<Error> Api::CheckQueryParameters(const Route& route, const Request& req) const {
  const auto it = query_params_.find(route.method + " " + route.pattern);
  if (it == query_params_.end() || req.query.empty()) {
    return std::nullopt;  // not a documented operation (/healthz, /metrics…)
  }
  const std::vector<std::string>& accepted = it->second;
  FieldErrors errors;
  for (const auto& [name, value] : req.query) {
    if (std::find(accepted.begin(), accepted.end(), name) != accepted.end()) {
      continue;
    }
    std::string list;
    for (const std::string& a : accepted) {
      list += (list.empty() ? "" : ", ") + a;
    }
    std::string shown = name;
    if (shown.size() > 64) {
      std::size_t cut = 0;  // whole UTF-8 characters only
      while (cut < 64) {
        cut += std::max<std::size_t>(Utf8SequenceLength(shown, cut), 1);
      }
      shown = shown.substr(0, cut) + "…";
    }
    errors.Add(shown, "UNKNOWN_PARAMETER",
               "unknown query parameter '" + shown + "'; " +
                   (accepted.empty() ? std::string("this endpoint takes none")
                                     : "this endpoint takes " + list));
  }
  if (errors.empty()) {
    return std::nullopt;
  }
  return errors.ToError();
}

Response Api::RunHandler(const Route& route, Request& req) {
  auto result = route.handler(req);
  Response r = result ? std::move(*result) : ErrorResponse(result.error(), req.request_id);
  if (!result && !result.error().detail.empty()) {
    log::Warn("request failed", {{"request_id", req.request_id},
                                 {"route", route.pattern},
                                 {"detail", result.error().detail}});
  }
  r.route = route.pattern;
  if (req.principal) {
    r.org_id = req.principal->org_id;
  }
  return r;
}

Response Api::RunIdempotent(const Route& route, Request& req, std::string_view key) {
  if (!IsValidIdempotencyKey(key)) {
    Response r = ErrorResponse(
        FailCode(Errc::kInvalidArgument, "INVALID_IDEMPOTENCY_KEY",
                 "Idempotency-Key must be 1 to 255 printable ASCII characters", "Idempotency-Key")
            .value(),
        req.request_id);
    r.route = route.pattern;
    return r;
  }
  const std::string org = req.principal->org_id;
  const std::string hash = Sha256Hex(req.method + " " + req.target + "\n" + req.body);
  auto fail = [&](const Error& e) {
    Response r = ErrorResponse(e, req.request_id);
    r.route = route.pattern;
    r.org_id = org;
    return r;
  };
  // The handler's writes, the key and its stored response commit together, or none does.
  Response r;
  auto run = [&]() -> std::optional<IdempotencyStore::Stored> {
    r = RunHandler(route, req);
    if (r.status >= 500) {
      return std::nullopt;
    }
    return IdempotencyStore::Stored{r.status, r.body_for_replay.value_or(r.body)};
  };
  auto replay = idempotency_.Run(org, key, hash, run);
  if (!replay) {
    if (r.status != 0 && r.status < 500) {
      metrics_.Increment("idempotency_store", "save_failed");
      log::Warn("an idempotent request's writes did not commit",
                {{"request_id", req.request_id}, {"detail", replay.error().detail}});
    }
    return fail(replay.error());
  }
  if (!*replay) {
    return r;
  }
  IdempotencyStore::Stored& stored = **replay;
  if (!stored.kept) {
    // Done, but too big to keep: say what it was rather than run the request again.
    Response out =
        fail(FailCode(Errc::kConflict, "IDEMPOTENT_RESPONSE_NOT_KEPT",
                      "the request with this Idempotency-Key already succeeded (status " +
                          std::to_string(stored.status) + ", " + std::to_string(stored.size) +
                          " bytes, sha256 " + stored.sha256 +
                          "); its response was too large to keep: read the result "
                          "with a GET",
                      "Idempotency-Key")
                 .value());
    out.headers.push_back({"Idempotent-Replayed", "true"});
    return out;
  }
  Response out;
  out.status = stored.status;
  out.body = std::move(stored.body);
  out.headers.push_back({"Idempotent-Replayed", "true"});
  out.route = route.pattern;
  out.org_id = org;
  return out;
}

}  // namespace portline::api
