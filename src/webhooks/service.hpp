#pragma once

// Webhooks: endpoints per organization (URL, secret, event-type filter, enable/disable), a
// durable outbox of events with stable ids and per-request sequences, at-least-once delivery
// signed the Standard Webhooks way, retried on the ladder 0, 5 s, 5 min, 30 min, 2 h, 5 h,
// 10 h, 10 h (±10 % jitter), endpoints disabled after 5 days of failures, every attempt logged.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/net_guard.hpp"
#include "core/secret_box.hpp"
#include "store/database.hpp"

namespace portline::webhooks {

struct WebhookOptions {
  std::chrono::milliseconds timeout{15000};  // per delivery
  int batch = 200;                           // deliveries claimed per round
  int threads = 16;                          // deliveries in flight per round
  std::chrono::hours previous_secret_valid{24};
};

class WebhookService {
 public:
  WebhookService(store::Database& db, const SecretBox& box, const Clock& clock,
                 net::OutboundGuard guard, WebhookOptions options = {});

  // Endpoints (the secret appears only in create and rotate answers).
  [[nodiscard]] Result<boost::json::value> CreateEndpoint(std::string_view org,
                                                          const boost::json::object& body);
  [[nodiscard]] Result<boost::json::value> ListEndpoints(std::string_view org);
  [[nodiscard]] Result<boost::json::value> GetEndpoint(std::string_view org, std::string_view id);
  [[nodiscard]] Result<boost::json::value> UpdateEndpoint(std::string_view org, std::string_view id,
                                                          const boost::json::object& body);
  [[nodiscard]] Result<boost::json::value> DeleteEndpoint(std::string_view org,
                                                          std::string_view id);
  [[nodiscard]] Result<boost::json::value> RotateSecret(std::string_view org, std::string_view id);
  [[nodiscard]] Result<boost::json::value> ListEvents(std::string_view org, std::string_view type,
                                                      std::string_view request_id);
  [[nodiscard]] Result<boost::json::value> ListAttempts(std::string_view org,
                                                        std::string_view endpoint_id);
  /// Queues the event again for every enabled endpoint that takes it (same webhook-id).
  [[nodiscard]] Result<boost::json::value> Redeliver(std::string_view org,
                                                     std::string_view event_id);

  /// Delivers what is due: claims deliveries (at most max_concurrency per endpoint at a time, so
  /// one slow endpoint cannot hold the others), posts them in parallel, records each attempt and
  /// the outcome. Returns the number attempted.
  [[nodiscard]] Result<int> RunDue();

  /// Records an event and its deliveries inside the caller's transaction. `data` is the event's
  /// own data (port_request_id is added).
  static Result<void> Record(store::Connection& c, std::string_view org, std::string_view event_id,
                             std::string_view type, std::string_view request_id,
                             std::int64_t sequence, const boost::json::object& data,
                             std::int64_t occurred_at_ms, std::int64_t now_ms);

 private:
  store::Database& db_;
  const SecretBox& box_;
  const Clock& clock_;
  net::OutboundGuard guard_;
  WebhookOptions opts_;
};

}  // namespace portline::webhooks
