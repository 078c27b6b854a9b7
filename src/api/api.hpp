#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "accounts/accounts.hpp"
#include "api/idempotency.hpp"
#include "api/metrics.hpp"
#include "api/rate_limit.hpp"
#include "api/router.hpp"
#include "api/types.hpp"
#include "carriers/simulator.hpp"
#include "core/clock.hpp"
#include "numbering/check.hpp"
#include "porting/service.hpp"
#include "store/database.hpp"
#include "trunks/service.hpp"

namespace portline::documents {
class DocumentService;
}
namespace portline::mail {
class MailService;
}
namespace portline::webhooks {
class WebhookService;
}

namespace portline::api {

struct ApiOptions {
  double rate_limit_per_second = 100;  // per organization; ≤ 0 disables
  double rate_limit_burst = 200;
  std::chrono::milliseconds idempotency_ttl = std::chrono::hours(24);
  std::int64_t idempotency_max_bytes_per_org = 256LL << 20;
};

/// The HTTP API without HTTP plumbing: authentication, entitlements, rate limits, idempotency,
/// routing and the handlers. The HTTP shell (api/http) turns bytes into a Request and a Response
/// back into bytes. Handle() is thread-safe and never throws; it may block on storage unless
/// CanRunInline() says the request never touches storage.
class Api {
 public:
  Api(accounts::Accounts& accounts, trunks::SipService& sip,
      const numbering::PortabilityChecker& checker, porting::PortingService& porting,
      carriers::SimulatedNetwork* sandbox, store::Database& db, const Clock& clock,
      Metrics& metrics, ApiOptions options);

  /// Registers the document routes (call before serving).
  void AddDocuments(documents::DocumentService& docs);
  /// Registers GET /v1/emails (call before serving).
  void AddEmails(mail::MailService& mail);
  /// Registers /v1/webhooks/… (call before serving).
  void AddWebhooks(webhooks::WebhookService& hooks);

  [[nodiscard]] Response Handle(Request& req);
  [[nodiscard]] bool CanRunInline(const Request& req) const;
  /// What can be refused before a body is read (the HTTP shell calls it, on a worker, when a
  /// body is still to come): a route that needs a key without a valid one. On success the
  /// request keeps its principal, and Handle does not look the key up again.
  [[nodiscard]] std::optional<Response> CheckBeforeBody(Request& req);
  /// While draining, /readyz answers 503 so load balancers stop sending traffic.
  void SetDraining(bool draining) { draining_.store(draining); }
  [[nodiscard]] bool draining() const { return draining_.load(); }

  [[nodiscard]] const Router& router() const { return router_; }
  [[nodiscard]] IdempotencyStore& idempotency() { return idempotency_; }
  [[nodiscard]] Metrics& metrics() { return metrics_; }

 private:
  Response Dispatch(Request& req);
  /// Sets req.principal from its key, or returns the 401 to answer.
  std::optional<Response> Authenticate(Request& req);
  Response RunIdempotent(const Route& route, Request& req, std::string_view key);
  [[nodiscard]] std::optional<Error> CheckQueryParameters(const Route& route,
                                                          const Request& req) const;
  Response RunHandler(const Route& route, Request& req);

  accounts::Accounts& accounts_;
  store::Database& db_;
  const Clock& clock_;
  Metrics& metrics_;
  ApiOptions options_;
  IdempotencyStore idempotency_;
  RateLimiter rate_limiter_;
  Router router_;
  std::unordered_map<std::string, std::vector<std::string>> query_params_;  // by "METHOD /pattern"
  std::atomic<bool> draining_{false};
};

/// Route registration, one function per area (api/handlers_*.cpp).
void RegisterSystemRoutes(Router& router, Api& api, store::Database& db);
void RegisterAccountRoutes(Router& router, accounts::Accounts& accounts);
void RegisterSipRoutes(Router& router, trunks::SipService& sip);
void RegisterDocumentRoutes(Router& router, documents::DocumentService& docs);
void RegisterEmailRoutes(Router& router, mail::MailService& mail);
void RegisterWebhookRoutes(Router& router, webhooks::WebhookService& hooks);
/// `sandbox`: the simulated carrier network behind /v1/sandbox/accounts (nullptr: none).
void RegisterPortingRoutes(Router& router, const numbering::PortabilityChecker& checker,
                           porting::PortingService& porting, carriers::SimulatedNetwork* sandbox);

/// The OpenAPI 3.1 document served at /v1/openapi.json (api/openapi.json, embedded).
[[nodiscard]] std::string_view OpenApiDocument();
/// The query parameters each documented operation accepts, by "METHOD /pattern": the document
/// is the one list, so what the API accepts and what it documents cannot drift apart.
[[nodiscard]] std::unordered_map<std::string, std::vector<std::string>> DocumentedQueryParameters();

}  // namespace portline::api
