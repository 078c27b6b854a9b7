#include "webhooks/service.hpp"

#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <map>
#include <random>
#include <thread>

#include "core/crypto.hpp"
#include "core/json_util.hpp"
#include "core/time.hpp"
#include "webhooks/http_post.hpp"
#include "webhooks/signing.hpp"

namespace portline::webhooks {
namespace {

namespace json = boost::json;

// 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: the delay before attempt n (1-based).
constexpr std::int64_t kLadderMs[] = {0,         5'000,      300'000,    1'800'000,
                                      7'200'000, 18'000'000, 36'000'000, 36'000'000};
constexpr std::int64_t kDisableAfterMs = 5LL * 24 * 3600 * 1000;

constexpr std::string_view kEndpointColumns =
    "id, url, description, event_types, enabled, disabled_reason, failing_since, "
    "max_concurrency, created_at, updated_at, previous_expires_at";

json::value EndpointJson(const store::Row& r) {
  return json::object{
      {"id", r.Text(0)},
      {"url", r.Text(1)},
      {"description", r.Text(2)},
      {"event_types", json::parse(r.Text(3))},
      {"enabled", r.Int(4) != 0},
      {"disabled_reason", r.IsNull(5) ? json::value(nullptr) : json::value(r.Text(5))},
      {"failing_since", TimestampJson(r.OptInt(6))},
      {"max_concurrency", r.Int(7)},
      {"created_at", TimestampJson(r.Int(8))},
      {"updated_at", TimestampJson(r.Int(9))},
      {"previous_secret_expires_at", TimestampJson(r.OptInt(10))}};
}

tl::unexpected<Error> NotFound(std::string_view what, std::string_view id) {
  return FailCode(Errc::kNotFound, "NOT_FOUND", "no " + std::string(what) + " " + std::string(id));
}

// Validates the mutable fields of an endpoint; fills the out parameters that are present.
void CheckFields(const json::object& body, FieldErrors& errors, bool create,
                 std::optional<std::string>& url, std::optional<std::string>& description,
                 std::optional<std::string>& types, std::optional<bool>& enabled,
                 std::optional<std::int64_t>& concurrency) {
  errors.RejectUnknown(body, {"url", "description", "event_types", "enabled", "max_concurrency"});
  url = create ? errors.String(body, "url", 2000) : errors.OptString(body, "url", 2000);
  if (url) {
    auto u = boost::urls::parse_absolute_uri(*url);
    if (!u || (u->scheme() != "https" && u->scheme() != "http") || u->host().empty()) {
      errors.Add("url", "INVALID_URL", "url must be an absolute http:// or https:// URL");
    }
  }
  description = errors.OptString(body, "description", 500);
  if (const auto* t = body.if_contains("event_types"); t != nullptr) {
    if (!t->is_array() || t->as_array().empty() || t->as_array().size() > 100) {
      errors.Add("event_types", "INVALID_TYPE",
                 "event_types must be a non-empty array of event types (or [\"*\"])");
    } else {
      for (const auto& v : t->as_array()) {
        if (!v.is_string() ||
            (v.as_string() != "*" && !std::string_view(v.as_string()).starts_with("port."))) {
          errors.Add("event_types", "INVALID_VALUE",
                     "event types look like \"port.signed\" (see the catalog), or \"*\"");
          break;
        }
      }
      types = json::serialize(*t);
    }
  }
  enabled = errors.OptBool(body, "enabled");
  concurrency = errors.OptInt(body, "max_concurrency", 1, 20);
}

bool Subscribed(std::string_view types_json, std::string_view type) {
  const json::value types = json::parse(types_json);
  for (const auto& t : types.as_array()) {
    if (t.as_string() == "*" || t.as_string() == type) {
      return true;
    }
  }
  return false;
}

}  // namespace

WebhookService::WebhookService(store::Database& db, const SecretBox& box, const Clock& clock,
                               net::OutboundGuard guard, WebhookOptions options)
    : db_(db), box_(box), clock_(clock), guard_(std::move(guard)), opts_(options) {}

Result<json::value> WebhookService::CreateEndpoint(std::string_view org, const json::object& body) {
  FieldErrors errors;
  std::optional<std::string> url, description, types;
  std::optional<bool> enabled;
  std::optional<std::int64_t> concurrency;
  CheckFields(body, errors, true, url, description, types, enabled, concurrency);
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  const std::int64_t now = ToUnixMillis(clock_.Now());
  const std::string id = NewId("we", clock_.Now());
  const std::string secret = NewSecret();
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("INSERT INTO webhook_endpoints (id, org_id, url, description, event_types, "
                  "secret, enabled, max_concurrency, created_at, updated_at) VALUES ($1, $2, $3, "
                  "$4, $5, $6, $7, $8, $9, $9) RETURNING " +
                      std::string(kEndpointColumns),
                  {id, std::string(org), *url, description.value_or(""), types.value_or("[\"*\"]"),
                   box_.Seal(secret), static_cast<std::int64_t>(enabled.value_or(true) ? 1 : 0),
                   concurrency.value_or(2), now}));
  json::value out = EndpointJson(rows.at(0));
  out.as_object()["secret"] = secret;  // shown once
  return out;
}

Result<json::value> WebhookService::ListEndpoints(std::string_view org) {
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const std::string org_id(org);
  PORTLINE_ASSIGN_OR_RETURN(auto rows,
                            conn->Query("SELECT " + std::string(kEndpointColumns) +
                                            " FROM webhook_endpoints WHERE org_id = $1 ORDER BY id",
                                        {org_id}));
  json::array out;
  for (const auto& r : rows) {
    out.push_back(EndpointJson(r));
  }
  return json::object{{"endpoints", std::move(out)}};
}

Result<json::value> WebhookService::GetEndpoint(std::string_view org, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto rows,
                            conn->Query("SELECT " + std::string(kEndpointColumns) +
                                            " FROM webhook_endpoints WHERE id = $1 AND org_id = $2",
                                        {std::string(id), std::string(org)}));
  if (rows.empty()) {
    return NotFound("webhook endpoint", id);
  }
  return EndpointJson(rows[0]);
}

Result<json::value> WebhookService::UpdateEndpoint(std::string_view org, std::string_view id,
                                                   const json::object& body) {
  FieldErrors errors;
  std::optional<std::string> url, description, types;
  std::optional<bool> enabled;
  std::optional<std::int64_t> concurrency;
  CheckFields(body, errors, false, url, description, types, enabled, concurrency);
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(json::value current, GetEndpoint(org, id));
  const auto& c = current.as_object();
  const std::int64_t now = ToUnixMillis(clock_.Now());
  const bool now_enabled = enabled.value_or(c.at("enabled").as_bool());
  {
    PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());  // released before GetEndpoint
    // Re-enabling clears the failure record.
    PORTLINE_RETURN_IF_ERROR(conn->Execute(
        "UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, enabled = "
        "CAST($4 AS BIGINT), max_concurrency = $5, updated_at = $6, disabled_reason = CASE WHEN "
        "CAST($4 AS BIGINT) = 1 THEN NULL ELSE disabled_reason END, failing_since = CASE WHEN "
        "CAST($4 AS BIGINT) = 1 THEN NULL ELSE failing_since END WHERE id = $7 AND org_id = $8",
        {url.value_or(std::string(c.at("url").as_string())),
         description.value_or(std::string(c.at("description").as_string())),
         types.value_or(json::serialize(c.at("event_types"))),
         static_cast<std::int64_t>(now_enabled ? 1 : 0),
         concurrency.value_or(c.at("max_concurrency").as_int64()), now, std::string(id),
         std::string(org)}));
  }
  return GetEndpoint(org, id);
}

Result<json::value> WebhookService::DeleteEndpoint(std::string_view org, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      const std::int64_t n,
      conn->Execute("DELETE FROM webhook_endpoints WHERE id = $1 AND org_id = $2",
                    {std::string(id), std::string(org)}));
  if (n == 0) {
    return NotFound("webhook endpoint", id);
  }
  PORTLINE_RETURN_IF_ERROR(conn->Execute(
      "UPDATE webhook_deliveries SET status = 'failed', completed_at = $1 WHERE endpoint_id = $2 "
      "AND status IN ('pending', 'delivering')",
      {ToUnixMillis(clock_.Now()), std::string(id)}));
  return json::object{{"deleted", true}, {"id", std::string(id)}};
}

Result<json::value> WebhookService::RotateSecret(std::string_view org, std::string_view id) {
  const std::string secret = NewSecret();
  {
    PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());  // released before GetEndpoint
    const std::int64_t now = ToUnixMillis(clock_.Now());
    const std::int64_t until =
        now +
        std::chrono::duration_cast<std::chrono::milliseconds>(opts_.previous_secret_valid).count();
    PORTLINE_ASSIGN_OR_RETURN(
        const std::int64_t n,
        conn->Execute("UPDATE webhook_endpoints SET previous_secret = secret, "
                      "previous_expires_at = $1, secret = $2, updated_at = $3 WHERE id = $4 AND "
                      "org_id = $5",
                      {until, box_.Seal(secret), now, std::string(id), std::string(org)}));
    if (n == 0) {
      return NotFound("webhook endpoint", id);
    }
  }
  PORTLINE_ASSIGN_OR_RETURN(json::value out, GetEndpoint(org, id));
  out.as_object()["secret"] = secret;
  return out;
}

Result<void> WebhookService::Record(store::Connection& c, std::string_view org,
                                    std::string_view event_id, std::string_view type,
                                    std::string_view request_id, std::int64_t sequence,
                                    const json::object& data, std::int64_t occurred_at_ms,
                                    std::int64_t now_ms) {
  json::object payload_data = data;
  payload_data["port_request_id"] = std::string(request_id);
  const std::string occurred = FormatRfc3339(FromUnixMillis(occurred_at_ms));
  const std::string payload = json::serialize(json::object{{"id", std::string(event_id)},
                                                           {"type", std::string(type)},
                                                           {"timestamp", occurred},
                                                           {"occurred_at", occurred},
                                                           {"sequence", sequence},
                                                           {"data", std::move(payload_data)}});
  PORTLINE_RETURN_IF_ERROR(c.Execute(
      "INSERT INTO webhook_events (id, org_id, type, request_id, sequence, payload, occurred_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {event_id, org, type, request_id, sequence, payload, occurred_at_ms}));
  PORTLINE_ASSIGN_OR_RETURN(
      auto endpoints,
      c.Query("SELECT id, event_types FROM webhook_endpoints WHERE org_id = $1 AND enabled = 1",
              {org}));
  for (const auto& e : endpoints) {
    if (!Subscribed(e.Text(1), type)) {
      continue;
    }
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("INSERT INTO webhook_deliveries (id, org_id, event_id, endpoint_id, status, "
                  "next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
                  {NewId("wd", FromUnixMillis(now_ms)), org, event_id, e.Text(0), now_ms}));
  }
  return {};
}

Result<json::value> WebhookService::ListEvents(std::string_view org, std::string_view type,
                                               std::string_view request_id) {
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const std::string org_id(org), t(type), r(request_id);
  std::string sql = "SELECT payload FROM webhook_events WHERE org_id = $1";
  store::Params params{org_id};
  if (!t.empty()) {
    params.emplace_back(t);
    sql += " AND type = $" + std::to_string(params.size());
  }
  if (!r.empty()) {
    params.emplace_back(r);
    sql += " AND request_id = $" + std::to_string(params.size());
  }
  sql += " ORDER BY occurred_at DESC, sequence DESC LIMIT 500";
  PORTLINE_ASSIGN_OR_RETURN(auto rows, conn->Query(sql, params));
  json::array out;
  for (const auto& row : rows) {
    out.push_back(json::parse(row.Text(0)));
  }
  return json::object{{"events", std::move(out)}};
}

Result<json::value> WebhookService::ListAttempts(std::string_view org,
                                                 std::string_view endpoint_id) {
  PORTLINE_RETURN_IF_ERROR(GetEndpoint(org, endpoint_id).map([](auto&&) {}));
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT id, delivery_id, event_id, attempt, started_at, duration_ms, "
                  "status_code, error, response FROM webhook_attempts WHERE endpoint_id = $1 "
                  "ORDER BY id DESC LIMIT 500",
                  {std::string(endpoint_id)}));
  json::array out;
  for (const auto& r : rows) {
    out.push_back(
        json::object{{"id", r.Text(0)},
                     {"delivery_id", r.Text(1)},
                     {"event_id", r.Text(2)},
                     {"attempt", r.Int(3)},
                     {"started_at", TimestampJson(r.Int(4))},
                     {"duration_ms", r.Int(5)},
                     {"status_code", r.IsNull(6) ? json::value(nullptr) : json::value(r.Int(6))},
                     {"error", r.IsNull(7) ? json::value(nullptr) : json::value(r.Text(7))},
                     {"response", r.IsNull(8) ? json::value(nullptr) : json::value(r.Text(8))}});
  }
  return json::object{{"attempts", std::move(out)}};
}

Result<json::value> WebhookService::Redeliver(std::string_view org, std::string_view event_id) {
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, conn->Query("SELECT type FROM webhook_events WHERE id = $1 AND org_id = $2",
                             {std::string(event_id), std::string(org)}));
  if (rows.empty()) {
    return NotFound("webhook event", event_id);
  }
  PORTLINE_ASSIGN_OR_RETURN(
      auto endpoints,
      conn->Query("SELECT id, event_types FROM webhook_endpoints WHERE org_id = $1 AND enabled = 1",
                  {std::string(org)}));
  const std::int64_t now = ToUnixMillis(clock_.Now());
  json::array queued;
  for (const auto& e : endpoints) {
    if (!Subscribed(e.Text(1), rows[0].Text(0))) {
      continue;
    }
    PORTLINE_RETURN_IF_ERROR(conn->Execute(
        "INSERT INTO webhook_deliveries (id, org_id, event_id, endpoint_id, status, "
        "next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
        {NewId("wd", clock_.Now()), std::string(org), std::string(event_id), e.Text(0), now}));
    queued.emplace_back(e.Text(0));
  }
  return json::object{{"event_id", std::string(event_id)}, {"endpoints", std::move(queued)}};
}

Result<std::vector<WebhookService::Job>> WebhookService::Claim(int max) {
  const std::int64_t now = ToUnixMillis(clock_.Now());
  std::vector<Job> jobs;
  PORTLINE_ASSIGN_OR_RETURN(auto lease_conn, db_.Acquire());
  auto claim = [&](store::Connection& tx) -> Result<void> {
    store::Connection* conn = &tx;
    // Deliveries in flight anywhere (any node), per endpoint: endpoints at their cap are left
    // out of the candidate window, so they cannot crowd out the others.
    PORTLINE_ASSIGN_OR_RETURN(
        auto inflight,
        conn->Query("SELECT f.endpoint_id, COUNT(*), e.max_concurrency FROM webhook_deliveries f "
                    "JOIN webhook_endpoints e ON e.id = f.endpoint_id WHERE f.status = "
                    "'delivering' AND f.lease_until >= $1 GROUP BY f.endpoint_id, "
                    "e.max_concurrency",
                    {now}));
    std::map<std::string, std::int64_t> busy;
    std::vector<std::string> capped;
    for (const auto& r : inflight) {
      busy[r.Text(0)] = r.Int(1);
      if (r.Int(1) >= r.Int(2)) {
        capped.push_back(r.Text(0));
      }
    }
    std::string sql =
        "SELECT d.id, d.event_id, d.endpoint_id, d.attempts, e.url, e.secret, "
        "e.previous_secret, e.previous_expires_at, e.max_concurrency, v.payload, "
        "e.failing_since FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = "
        "d.endpoint_id JOIN webhook_events v ON v.id = d.event_id WHERE e.enabled = 1 AND "
        "((d.status = 'pending' AND d.next_attempt_at <= $1) OR (d.status = 'delivering' AND "
        "d.lease_until < $1))";
    store::Params params{now, static_cast<std::int64_t>(opts_.batch * 4)};
    if (!capped.empty()) {
      sql += " AND d.endpoint_id NOT IN (";
      for (std::size_t i = 0; i < capped.size(); ++i) {
        params.emplace_back(capped[i]);
        sql += (i == 0 ? "$" : ", $") + std::to_string(params.size());
      }
      sql += ")";
    }
    sql += " ORDER BY d.next_attempt_at, v.sequence LIMIT $2";
    PORTLINE_ASSIGN_OR_RETURN(auto rows, conn->Query(sql, params));
    std::map<std::string, std::int64_t>& taken = busy;
    const std::int64_t lease =
        now + std::chrono::duration_cast<std::chrono::milliseconds>(opts_.timeout).count() + 5'000;
    for (const auto& r : rows) {
      if (static_cast<int>(jobs.size()) >= max) {
        break;
      }
      const std::string endpoint = r.Text(2);
      std::int64_t& n = taken[endpoint];
      if (n >= r.Int(8)) {
        continue;  // this endpoint is at its concurrency cap
      }
      PORTLINE_ASSIGN_OR_RETURN(
          const std::int64_t claimed,
          conn->Execute("UPDATE webhook_deliveries SET status = 'delivering', lease_until = $1 "
                        "WHERE id = $2 AND (status = 'pending' OR (status = 'delivering' AND "
                        "lease_until < $3))",
                        {lease, r.Text(0), now}));
      if (claimed == 0) {
        continue;  // another node took it
      }
      ++n;
      Job j;
      j.delivery = r.Text(0);
      j.event = r.Text(1);
      j.endpoint = endpoint;
      j.attempts = r.Int(3);
      j.url = r.Text(4);
      j.payload = r.Text(9);
      j.failing_since = r.OptInt(10);
      if (auto s = box_.Open(r.Text(5))) {
        j.secrets.push_back(*s);
      }
      if (!r.IsNull(6) && r.OptInt(7).value_or(0) > now) {
        if (auto s = box_.Open(r.Text(6))) {
          j.secrets.push_back(*s);
        }
      }
      jobs.push_back(std::move(j));
    }
    return {};
  };
  PORTLINE_RETURN_IF_ERROR(store::WithTransaction(*lease_conn, claim));
  return jobs;
}

WebhookService::Outcome WebhookService::Send(const Job& j) {
  const std::int64_t ts =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  std::string signatures;
  for (const std::string& secret : j.secrets) {
    if (auto s = Sign(secret, j.event, ts, j.payload)) {
      signatures += (signatures.empty() ? "" : " ") + *s;
    }
  }
  Outcome o;
  o.job = j;
  o.started = ToUnixMillis(clock_.Now());
  auto result = Post(j.url,
                     {{"Content-Type", "application/json"},
                      {"User-Agent", "Portline-Webhooks/1"},
                      {"webhook-id", j.event},
                      {"webhook-timestamp", std::to_string(ts)},
                      {"webhook-signature", signatures}},
                     j.payload, &guard_, opts_.timeout);
  o.done = ToUnixMillis(clock_.Now());
  if (result) {
    o.status = result->status;
    o.duration_ms = result->duration.count();
    o.response = std::move(result->body_excerpt);
    if (o.status < 200 || o.status >= 300) {
      o.error = "HTTP " + std::to_string(o.status);
    }
  } else {
    o.duration_ms = o.done - o.started;
    o.error = result.error().message;
  }
  return o;
}

Result<void> WebhookService::RecordOutcomes(const std::vector<Outcome>& outcomes) {
  if (outcomes.empty()) {
    return {};
  }
  thread_local std::mt19937 rng{std::random_device{}()};
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto record = [&](store::Connection& c) -> Result<void> {
    for (const Outcome& o : outcomes) {
      const Job& j = o.job;
      const std::int64_t attempt = j.attempts + 1;
      const bool ok = o.status >= 200 && o.status < 300;
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, event_id, attempt, "
          "started_at, duration_ms, status_code, error, response) VALUES ($1, $2, $3, $4, $5, "
          "$6, $7, $8, $9, $10)",
          {NewId("wa", clock_.Now()), j.delivery, j.endpoint, j.event, attempt, o.started,
           o.duration_ms,
           o.status != 0 ? store::Param(static_cast<std::int64_t>(o.status))
                         : store::Param(nullptr),
           o.error.empty() ? store::Param(nullptr) : store::Param(o.error),
           o.status != 0 ? store::Param(o.response) : store::Param(nullptr)}));
      if (ok) {
        PORTLINE_RETURN_IF_ERROR(c.Execute(
            "UPDATE webhook_deliveries SET status = 'succeeded', attempts = $1, completed_at = "
            "$2, lease_until = NULL WHERE id = $3",
            {attempt, o.done, j.delivery}));
        if (j.failing_since) {
          PORTLINE_RETURN_IF_ERROR(c.Execute(
              "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1", {j.endpoint}));
        }
        continue;
      }
      const bool exhausted = attempt >= static_cast<std::int64_t>(std::size(kLadderMs));
      std::int64_t delay = exhausted ? 0 : kLadderMs[attempt];
      delay += static_cast<std::int64_t>(std::uniform_real_distribution<double>(-0.1, 0.1)(rng) *
                                         static_cast<double>(delay));
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, "
          "lease_until = NULL, completed_at = $4 WHERE id = $5",
          {exhausted ? "failed" : "pending", attempt, o.done + delay,
           exhausted ? store::Param(o.done) : store::Param(nullptr), j.delivery}));
      const std::int64_t since = j.failing_since.value_or(o.done);
      if (o.done - since >= kDisableAfterMs) {
        PORTLINE_RETURN_IF_ERROR(c.Execute(
            "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $1 WHERE id = $2",
            {"every delivery failed for 5 days (last: " + o.error + ")", j.endpoint}));
      } else if (!j.failing_since) {
        PORTLINE_RETURN_IF_ERROR(c.Execute(
            "UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2 AND failing_since IS "
            "NULL",
            {o.done, j.endpoint}));
      }
    }
    return {};
  };
  return store::WithTransaction(*lease, record);
}

Result<int> WebhookService::RunDue() {
  PORTLINE_ASSIGN_OR_RETURN(const std::vector<Job> jobs, Claim(opts_.batch));
  std::vector<Outcome> outcomes(jobs.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&]() {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      outcomes[i] = Send(jobs[i]);  // no database connection held meanwhile
    }
  };
  std::vector<std::thread> threads;
  const int n_threads = std::min<int>(opts_.threads, static_cast<int>(jobs.size()));
  for (int t = 0; t < n_threads; ++t) {
    threads.emplace_back(worker);
  }
  for (auto& t : threads) {
    t.join();
  }
  PORTLINE_RETURN_IF_ERROR(RecordOutcomes(outcomes));
  return static_cast<int>(jobs.size());
}

// ---- Dispatcher --------------------------------------------------------------------------------

Dispatcher::Dispatcher(WebhookService& service, int threads, std::chrono::milliseconds idle_poll)
    : service_(service), threads_(threads), idle_poll_(idle_poll) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  running_ = true;
  claimer_ = std::thread([this] { ClaimLoop(); });
  for (int i = 0; i < threads_; ++i) {
    workers_.emplace_back([this] { WorkLoop(); });
  }
}

void Dispatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) {
      return;
    }
    running_ = false;
  }
  wake_.notify_all();
  work_.notify_all();
  if (claimer_.joinable()) {
    claimer_.join();
  }
  for (auto& w : workers_) {
    w.join();
  }
  workers_.clear();
  (void)service_.RecordOutcomes(outcomes_);  // what finished after the claimer stopped
  outcomes_.clear();
}

void Dispatcher::Notify() {
  {
    std::lock_guard lock(mu_);
    notified_ = true;
  }
  wake_.notify_one();
}

void Dispatcher::ClaimLoop() {
  int quick_retries = 0;
  while (true) {
    int free_slots = 0;
    {
      std::unique_lock lock(mu_);
      if (!running_) {
        return;
      }
      free_slots = threads_ * 2 - static_cast<int>(queue_.size()) - busy_ - recording_;
    }
    std::vector<WebhookService::Outcome> done;
    {
      std::lock_guard lock(mu_);
      done.swap(outcomes_);
    }
    if (!done.empty()) {
      (void)service_.RecordOutcomes(done);  // one transaction for the batch: a single writer
      std::lock_guard lock(mu_);
      recording_ -= static_cast<int>(done.size());
    }
    int claimed = 0;
    if (free_slots > 0) {
      auto jobs = service_.Claim(free_slots);
      if (jobs) {
        std::lock_guard lock(mu_);
        for (auto& j : *jobs) {
          queue_.push_back(std::move(j));
        }
        claimed = static_cast<int>(jobs->size());
      }
    }
    if (claimed > 0) {
      work_.notify_all();
      quick_retries = 0;
      continue;
    }
    std::unique_lock lock(mu_);
    // After a notification the event's transaction may not have committed yet: look again
    // shortly (2, 4, 8 ms) before falling back to the idle poll.
    const auto wait = quick_retries > 0 && quick_retries <= 3
                          ? std::chrono::milliseconds(1 << quick_retries)
                          : idle_poll_;
    wake_.wait_for(lock, wait, [this] { return notified_ || !running_ || !outcomes_.empty(); });
    if (notified_) {
      notified_ = false;
      quick_retries = 1;
    } else if (quick_retries > 0) {
      quick_retries = quick_retries > 3 ? 0 : quick_retries + 1;
    }
  }
}

void Dispatcher::WorkLoop() {
  while (true) {
    WebhookService::Job job;
    {
      std::unique_lock lock(mu_);
      work_.wait(lock, [this] { return !queue_.empty() || !running_; });
      if (!running_ && queue_.empty()) {
        return;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    WebhookService::Outcome outcome = service_.Send(job);
    {
      std::lock_guard lock(mu_);
      --busy_;
      ++recording_;
      outcomes_.push_back(std::move(outcome));
    }
    wake_.notify_one();  // the claimer records it and refills the slot
  }
}

}  // namespace portline::webhooks
