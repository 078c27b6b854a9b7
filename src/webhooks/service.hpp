#pragma once

// Webhooks: endpoints per organization (URL, secret, event-type filter, enable/disable), a
// durable outbox of events with stable ids and per-request sequences, at-least-once delivery
// signed the Standard Webhooks way, retried on the ladder 0, 5 s, 5 min, 30 min, 2 h, 5 h,
// 10 h, 10 h (±10 % jitter), endpoints disabled after 5 days of failures, every attempt logged.

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/net_guard.hpp"
#include "core/secret_box.hpp"
#include "store/database.hpp"
#include "webhooks/http_post.hpp"

namespace portline::webhooks {

/// Endpoints an organization may have (one endpoint can subscribe to every event type).
inline constexpr std::int64_t kMaxEndpointsPerOrg = 20;

struct WebhookOptions {
  std::chrono::milliseconds timeout{15000};  // per delivery
  int batch = 200;                           // deliveries claimed per round
  int threads = 16;                          // deliveries in flight per round
  std::chrono::hours previous_secret_valid{24};
  std::string ca_file;  // extra CA bundle trusted for https endpoints (besides the system's)
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

  /// A claimed delivery.
  struct Job {
    std::string delivery, event, endpoint, url, payload;
    std::vector<std::string> secrets;
    std::int64_t attempts = 0;
    std::optional<std::int64_t> failing_since;
  };
  /// Claims up to `max` due deliveries, respecting each endpoint's max_concurrency (counting
  /// what is in flight anywhere), under a lease.
  [[nodiscard]] Result<std::vector<Job>> Claim(int max);
  /// The result of one post.
  struct Outcome {
    Job job;
    std::int64_t started = 0;
    std::int64_t done = 0;
    std::int64_t duration_ms = 0;
    int status = 0;  // 0 = no HTTP response
    std::string error;
    std::string response;
  };
  /// Posts one delivery (no database access).
  [[nodiscard]] Outcome Send(const Job& job);
  /// Records attempts and outcomes (retry schedule, failures, endpoint health) in one transaction.
  [[nodiscard]] Result<void> RecordOutcomes(const std::vector<Outcome>& outcomes);
  /// Both in one transaction (what a dispatcher does each round: one commit, not two).
  /// `finished` (optional) counts, per endpoint, deliveries that have ended but are not recorded
  /// yet: they no longer use the endpoint's concurrency, so the claim does not count them.
  using FinishedCounts = std::function<std::map<std::string, std::int64_t>()>;
  [[nodiscard]] Result<std::vector<Job>> RecordAndClaim(const std::vector<Outcome>& outcomes,
                                                        int max,
                                                        const FinishedCounts& finished = {});

  /// Records an event and its deliveries inside the caller's transaction. `data` is the event's
  /// own data (port_request_id is added).
  static Result<void> Record(store::Connection& c, std::string_view org, std::string_view event_id,
                             std::string_view type, std::string_view request_id,
                             std::int64_t sequence, const boost::json::object& data,
                             std::int64_t occurred_at_ms, std::int64_t now_ms);
  /// One event to record; the views and `data` must outlive the RecordAll call.
  struct NewEvent {
    std::string_view org, id, type, request_id;
    std::int64_t sequence = 0;
    const boost::json::object* data = nullptr;
    std::int64_t occurred_at_ms = 0;
  };
  /// Records many events and their deliveries inside the caller's transaction, in three
  /// statements whatever their number (events, the organizations' endpoints, deliveries).
  static Result<void> RecordAll(store::Connection& c, const std::vector<NewEvent>& events,
                                std::int64_t now_ms);

 private:
  // The statements that record `outcomes` (attempts, delivery states, endpoint health); their
  // parameters may point into `texts`.
  Result<std::vector<store::Statement>> RecordStatements(const std::vector<Outcome>& outcomes,
                                                         std::deque<std::string>& texts);
  // Claims what the endpoint probe's rows (and expired leases) allow, in one pipeline.
  Result<std::vector<Job>> ClaimIn(store::Connection& c, int max, const FinishedCounts& finished,
                                   std::int64_t now, const store::Rows& endpoints,
                                   const store::Rows& expired);

  store::Database& db_;
  const SecretBox& box_;
  const Clock& clock_;
  net::OutboundGuard guard_;
  WebhookOptions opts_;
  HttpClient http_;
  std::atomic<std::int64_t> last_lease_scan_ms_{std::numeric_limits<std::int64_t>::min() / 2};
};

/// The delivery loop of a server: one thread claims due deliveries whenever worker slots are
/// free; `threads` workers post them independently, so a slow endpoint occupies at most its own
/// max_concurrency slots while the others keep flowing. A post that has run for over
/// kStuckAfter (a receiver that is slow or silent) gets a stand-in worker, up to kMaxWorkers in
/// all, so however many endpoints hang, `threads` workers stay free for the rest. Notify()
/// (after an event is recorded) wakes the claimer at once; otherwise it polls every
/// `idle_poll`.
class Dispatcher {
 public:
  /// Workers a server runs. A silent endpoint holds up to its max_concurrency (≤ 20) of them
  /// until its posts count as stuck; with 16 (and before stand-ins), one such endpoint left a
  /// busy one (cap 14) no spare worker and cost it 19 %.
  static constexpr int kDefaultWorkers = 32;
  /// Workers never exceed this (stand-ins included); they are not shrunk until Stop.
  static constexpr int kMaxWorkers = 256;
  static constexpr std::chrono::milliseconds kStuckAfter{1000};

  Dispatcher(WebhookService& service, int threads, std::chrono::milliseconds idle_poll);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;
  void Start();
  void Stop();
  void Notify();
  /// Workers started so far (the base `threads` plus stand-ins).
  int workers();

 private:
  void ClaimLoop();
  void WorkLoop(std::size_t slot);
  void AddWorker();  // with mu_ held
  WebhookService& service_;
  int threads_;
  std::chrono::milliseconds idle_poll_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable work_;
  std::deque<WebhookService::Job> queue_;
  std::vector<WebhookService::Outcome> outcomes_;  // posted, not yet recorded
  int busy_ = 0;
  int recording_ = 0;
  bool running_ = false;
  bool notified_ = false;
  std::thread claimer_;
  std::vector<std::thread> workers_;
  // Per worker: when its current post started (empty while it waits for work).
  std::vector<std::optional<std::chrono::steady_clock::time_point>> posting_since_;
};

}  // namespace portline::webhooks
