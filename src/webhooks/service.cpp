#include "webhooks/service.hpp"

#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <deque>
#include <map>
#include <random>
#include <set>
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
    : db_(db),
      box_(box),
      clock_(clock),
      guard_(std::move(guard)),
      opts_(std::move(options)),
      http_(HttpClientOptions{.ca_file = opts_.ca_file}) {}

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
  auto create = [&](store::Connection& c) -> Result<store::Rows> {
    // The organization's row serializes its creates (SQLite's one writer does already), so the
    // cap holds under concurrent requests.
    if (c.backend() == store::Backend::kPostgres) {
      PORTLINE_RETURN_IF_ERROR(
          c.Query("SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE", {org}).map([](auto&&) {
          }));
    }
    PORTLINE_ASSIGN_OR_RETURN(
        auto count, c.Query("SELECT COUNT(*) FROM webhook_endpoints WHERE org_id = $1", {org}));
    if (count.at(0).Int(0) >= kMaxEndpointsPerOrg) {
      return FailCode(Errc::kConflict, "LIMIT_REACHED",
                      "an organization has at most " + std::to_string(kMaxEndpointsPerOrg) +
                          " webhook endpoints; delete one first (one endpoint can take every "
                          "event type)");
    }
    return c.Query(
        "INSERT INTO webhook_endpoints (id, org_id, url, description, event_types, "
        "secret, enabled, max_concurrency, created_at, updated_at) VALUES ($1, $2, $3, "
        "$4, $5, $6, $7, $8, $9, $9) RETURNING " +
            std::string(kEndpointColumns),
        {id, std::string(org), *url, description.value_or(""), types.value_or("[\"*\"]"),
         box_.Seal(secret), static_cast<std::int64_t>(enabled.value_or(true) ? 1 : 0),
         concurrency.value_or(2), now});
  };
  PORTLINE_ASSIGN_OR_RETURN(auto rows, store::WithTransaction(*conn, create));
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
  const std::string endpoint(id), org_id(org);
  const std::int64_t now = ToUnixMillis(clock_.Now());
  // What it still had queued or in flight ends as failed (one statement per partial index).
  auto remove = [&](store::Connection& c) -> Result<std::vector<store::Rows>> {
    return c.Pipeline(
        {{"DELETE FROM webhook_endpoints WHERE id = $1 AND org_id = $2 RETURNING id",
          {endpoint, org_id}},
         {"UPDATE webhook_deliveries SET status = 'failed', completed_at = $1 WHERE endpoint_id = "
          "$2 AND org_id = $3 AND status = 'pending'",
          {now, endpoint, org_id}},
         {"UPDATE webhook_deliveries SET status = 'failed', completed_at = $1 WHERE endpoint_id = "
          "$2 AND org_id = $3 AND status = 'delivering'",
          {now, endpoint, org_id}}});
  };
  PORTLINE_ASSIGN_OR_RETURN(auto results, store::WithTransaction(*conn, remove));
  if (results.at(0).empty()) {
    return NotFound("webhook endpoint", id);
  }
  return json::object{{"deleted", true}, {"id", endpoint}};
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
  return RecordAll(c, {NewEvent{org, event_id, type, request_id, sequence, &data, occurred_at_ms}},
                   now_ms);
}

Result<void> WebhookService::RecordAll(store::Connection& c, const std::vector<NewEvent>& events,
                                       std::int64_t now_ms) {
  if (events.empty()) {
    return {};
  }
  std::deque<std::string> texts;  // parameters hold views
  store::Params event_rows;
  std::set<std::string_view> orgs;
  for (const NewEvent& e : events) {
    json::object payload_data = e.data != nullptr ? *e.data : json::object{};
    payload_data["port_request_id"] = std::string(e.request_id);
    const std::string occurred = FormatRfc3339(FromUnixMillis(e.occurred_at_ms));
    const std::string& payload =
        texts.emplace_back(json::serialize(json::object{{"id", std::string(e.id)},
                                                        {"type", std::string(e.type)},
                                                        {"timestamp", occurred},
                                                        {"occurred_at", occurred},
                                                        {"sequence", e.sequence},
                                                        {"data", std::move(payload_data)}}));
    event_rows.insert(event_rows.end(),
                      {e.id, e.org, e.type, e.request_id, e.sequence, payload, e.occurred_at_ms});
    orgs.insert(e.org);
  }
  PORTLINE_RETURN_IF_ERROR(store::ExecuteRows(c,
                                              "INSERT INTO webhook_events (id, org_id, type, "
                                              "request_id, sequence, payload, occurred_at) "
                                              "SELECT * FROM (VALUES ",
                                              ") AS v WHERE v.column1 IS NOT NULL",
                                              {"", "", "", "", "BIGINT", "", "BIGINT"}, event_rows,
                                              true)
                               .map([](std::int64_t) {}));
  store::Params org_params;
  const std::string in =
      store::PaddedInList(org_params, std::vector<std::string_view>(orgs.begin(), orgs.end()));
  PORTLINE_ASSIGN_OR_RETURN(
      auto endpoints,
      c.Query("SELECT id, org_id, event_types FROM webhook_endpoints WHERE enabled = 1 AND "
              "org_id IN (" +
                  in + ") ORDER BY id",
              org_params));
  if (endpoints.empty()) {
    return {};
  }
  store::Params delivery_rows;
  for (const NewEvent& e : events) {
    for (const auto& ep : endpoints) {
      if (ep.Text(1) != e.org || !Subscribed(ep.Text(2), e.type)) {
        continue;
      }
      delivery_rows.insert(delivery_rows.end(),
                           {texts.emplace_back(NewId("wd", FromUnixMillis(now_ms))), e.org, e.id,
                            ep.Text(0), now_ms});
    }
  }
  if (delivery_rows.empty()) {
    return {};
  }
  return store::ExecuteRows(c,
                            "INSERT INTO webhook_deliveries (id, org_id, event_id, endpoint_id, "
                            "status, next_attempt_at, created_at) SELECT column1, column2, "
                            "column3, column4, 'pending', column5, column5 FROM (VALUES ",
                            ") AS v WHERE v.column1 IS NOT NULL", {"", "", "", "", "BIGINT"},
                            delivery_rows, true)
      .map([](std::int64_t) {});
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

namespace {

// Each enabled endpoint with what it has in flight (any node) and its earliest pending delivery:
// two probes of its own index range. Claims then take each endpoint's due deliveries separately,
// so the backlog of an endpoint held at its cap (a slow receiver) is never stepped over to reach
// the others.
constexpr std::string_view kEndpointProbe =
    "SELECT e.id, e.url, e.secret, e.previous_secret, e.previous_expires_at, e.max_concurrency, "
    "e.failing_since, (SELECT d.next_attempt_at FROM webhook_deliveries d WHERE d.endpoint_id = "
    "e.id AND d.status = 'pending' ORDER BY d.next_attempt_at LIMIT 1), (SELECT COUNT(*) FROM "
    "webhook_deliveries f WHERE f.endpoint_id = e.id AND f.status = 'delivering' AND "
    "f.lease_until >= $1) FROM webhook_endpoints e WHERE e.enabled = 1";

// What a claim returns for each delivery it takes: the payload rides along.
constexpr std::string_view kClaimedColumns =
    " RETURNING id, event_id, attempts, endpoint_id, (SELECT ev.payload FROM webhook_events ev "
    "WHERE ev.id = webhook_deliveries.event_id)";

}  // namespace

Result<std::vector<WebhookService::Job>> WebhookService::Claim(int max) {
  return RecordAndClaim({}, max);
}

Result<void> WebhookService::RecordOutcomes(const std::vector<Outcome>& outcomes) {
  if (outcomes.empty()) {
    return {};
  }
  return RecordAndClaim(outcomes, 0).map([](auto&&) {});
}

Result<std::vector<WebhookService::Job>> WebhookService::RecordAndClaim(
    const std::vector<Outcome>& outcomes, int max, const FinishedCounts& finished) {
  // A round is two pipelines and a commit, three round trips on PostgreSQL whatever the number
  // of outcomes and endpoints: (1) BEGIN, the outcomes, the endpoint probe and, at most once a
  // second, the expired-lease scan; (2) the claims the probe allows; (3) COMMIT.
  std::deque<std::string> texts;  // parameters hold views
  PORTLINE_ASSIGN_OR_RETURN(std::vector<store::Statement> first, RecordStatements(outcomes, texts));
  const std::int64_t now = ToUnixMillis(clock_.Now());
  const std::size_t probe = first.size();
  bool scan = false;
  if (max > 0) {
    first.push_back({std::string(kEndpointProbe), {now}});
    // Leases that ran out (a node died mid-delivery) are rare; looked for at most once a second,
    // since on PostgreSQL the scan steps over the dead index entries every claimed row leaves in
    // the 'delivering' range until vacuum, and it dominated rounds.
    std::int64_t last_scan = last_lease_scan_ms_.load();
    scan = now - last_scan >= 1000 && last_lease_scan_ms_.compare_exchange_strong(last_scan, now);
    if (scan) {
      first.push_back(
          {"SELECT id, endpoint_id FROM webhook_deliveries WHERE status = "
           "'delivering' AND lease_until < $1 ORDER BY lease_until LIMIT $2",
           {now, static_cast<std::int64_t>(max)}});
    }
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  std::vector<Job> jobs;
  auto round = [&](store::Connection& c) -> Result<void> {
    PORTLINE_ASSIGN_OR_RETURN(auto results, c.Pipeline(first));
    if (max > 0) {
      static const store::Rows kNone;
      PORTLINE_ASSIGN_OR_RETURN(
          jobs, ClaimIn(c, max, finished, now, results[probe], scan ? results[probe + 1] : kNone));
    }
    return {};
  };
  // Generic plans are fine here: each statement has exactly one index that can serve it (the
  // primary key, or one of the two partial indexes), so no cached plan can wander off to
  // another; planning every round instead cost PostgreSQL a third of its CPU.
  PORTLINE_RETURN_IF_ERROR(store::WithTransaction(*lease, round));
  return jobs;
}

Result<std::vector<WebhookService::Job>> WebhookService::ClaimIn(store::Connection& c, int max,
                                                                 const FinishedCounts& finished,
                                                                 std::int64_t now,
                                                                 const store::Rows& endpoints,
                                                                 const store::Rows& expired) {
  const std::int64_t lease =
      now + std::chrono::duration_cast<std::chrono::milliseconds>(opts_.timeout).count() + 5'000;
  std::map<std::string, const store::Row*> by_id;
  std::map<std::string, std::int64_t> busy;
  std::vector<std::pair<std::int64_t, const store::Row*>> due;
  for (const auto& e : endpoints) {
    by_id[e.Text(0)] = &e;
    busy[e.Text(0)] = e.Int(8);
    if (!e.IsNull(7) && e.Int(7) <= now) {
      due.emplace_back(e.Int(7), &e);
    }
  }
  if (finished) {
    for (const auto& [endpoint, n] : finished()) {
      busy[endpoint] -= n;
    }
  }
  std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<store::Statement> claims;
  std::int64_t room_left = max;
  // Expired leases first, one row each (re-checked in the UPDATE, as another node may take it).
  for (const auto& d : expired) {
    const auto e = by_id.find(d.Text(1));
    if (room_left == 0 || e == by_id.end() || busy[d.Text(1)] >= e->second->Int(5)) {
      continue;  // disabled, or at its cap: later
    }
    ++busy[d.Text(1)];
    --room_left;
    claims.push_back(
        {"UPDATE webhook_deliveries SET lease_until = $1 WHERE id = $2 AND status = "
         "'delivering' AND lease_until < $3" +
             std::string(kClaimedColumns),
         {lease, d.Text(0), now}});
  }
  // Then each due endpoint, oldest first, up to its free slots: one statement per endpoint.
  // On PostgreSQL, SKIP LOCKED passes over rows another node is claiming, and the outer status
  // test drops a row that node took meanwhile (re-checked after the row lock). SQLite has one
  // writer at a time, and there the outer test would make it walk every pending row.
  const bool pg = c.backend() == store::Backend::kPostgres;
  const std::string claim_sql =
      std::string(
          "UPDATE webhook_deliveries SET status = 'delivering', lease_until = $1 WHERE id IN "
          "(SELECT id FROM webhook_deliveries WHERE endpoint_id = $2 AND status = 'pending' AND "
          "next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT $4") +
      (pg ? " FOR UPDATE SKIP LOCKED) AND status = 'pending'" : ")") + std::string(kClaimedColumns);
  for (const auto& [due_at, e] : due) {
    const std::int64_t room = std::min(e->Int(5) - busy[e->Text(0)], room_left);
    if (room <= 0) {
      continue;
    }
    room_left -= room;
    claims.push_back({claim_sql, {lease, e->Text(0), now, room}});
  }
  std::vector<Job> jobs;
  if (claims.empty()) {
    return jobs;
  }
  PORTLINE_ASSIGN_OR_RETURN(auto claimed, c.Pipeline(claims));
  for (const auto& rows : claimed) {
    for (const auto& d : rows) {
      const store::Row& e = *by_id.at(d.Text(3));
      Job j;
      j.delivery = d.Text(0);
      j.event = d.Text(1);
      j.attempts = d.Int(2);
      j.payload = d.Text(4);
      j.endpoint = e.Text(0);
      j.url = e.Text(1);
      j.failing_since = e.OptInt(6);
      if (auto secret = box_.Open(e.Text(2))) {
        j.secrets.push_back(*secret);
      }
      if (!e.IsNull(3) && e.OptInt(4).value_or(0) > now) {
        if (auto secret = box_.Open(e.Text(3))) {
          j.secrets.push_back(*secret);
        }
      }
      jobs.push_back(std::move(j));
    }
  }
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
  auto result = http_.Post(j.url,
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

Result<std::vector<store::Statement>> WebhookService::RecordStatements(
    const std::vector<Outcome>& outcomes, std::deque<std::string>& texts) {
  std::vector<store::Statement> out;
  if (outcomes.empty()) {
    return out;
  }
  thread_local std::mt19937 rng{std::random_device{}()};
  // One INSERT of every attempt, one UPDATE of every delivery from a VALUES list of new states
  // (both padded to a power of two rows, so a few statement shapes serve every batch size), and
  // endpoint health changes once per endpoint.
  store::Params attempts;
  store::Params states;
  std::map<std::string, std::int64_t> failing;  // endpoint → first failure in this batch
  std::map<std::string, std::string> disable;   // endpoint → reason
  std::set<std::string> recovered;
  for (const Outcome& o : outcomes) {
    const Job& j = o.job;
    const std::int64_t attempt = j.attempts + 1;
    const bool ok = o.status >= 200 && o.status < 300;
    attempts.insert(
        attempts.end(),
        {texts.emplace_back(NewId("wa", clock_.Now())), j.delivery, j.endpoint, j.event, attempt,
         o.started, o.duration_ms,
         o.status != 0 ? store::Param(static_cast<std::int64_t>(o.status)) : store::Param(nullptr),
         o.error.empty() ? store::Param(nullptr) : store::Param(o.error),
         o.status != 0 ? store::Param(o.response) : store::Param(nullptr)});
    const char* status = "succeeded";
    std::optional<std::int64_t> next_at;
    std::optional<std::int64_t> completed = o.done;
    if (ok) {
      if (j.failing_since) {
        recovered.insert(j.endpoint);
      }
    } else {
      const bool exhausted = attempt >= static_cast<std::int64_t>(std::size(kLadderMs));
      std::int64_t delay = exhausted ? 0 : kLadderMs[attempt];
      delay += static_cast<std::int64_t>(std::uniform_real_distribution<double>(-0.1, 0.1)(rng) *
                                         static_cast<double>(delay));
      status = exhausted ? "failed" : "pending";
      next_at = o.done + delay;
      if (!exhausted) {
        completed.reset();
      }
      const std::int64_t since = j.failing_since.value_or(o.done);
      if (o.done - since >= kDisableAfterMs) {
        disable[j.endpoint] = "every delivery failed for 5 days (last: " + o.error + ")";
      } else if (!j.failing_since && !failing.contains(j.endpoint)) {
        failing[j.endpoint] = o.done;
      }
    }
    states.insert(states.end(), {j.delivery, status, attempt, next_at, completed});
  }
  PORTLINE_ASSIGN_OR_RETURN(
      out, store::RowStatements("INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, "
                                "event_id, attempt, started_at, duration_ms, status_code, error, "
                                "response) SELECT * FROM (VALUES ",
                                ") AS v WHERE v.column1 IS NOT NULL",
                                {"TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT",
                                 "BIGINT", "TEXT", "TEXT"},
                                attempts, true));
  PORTLINE_ASSIGN_OR_RETURN(
      auto updates,
      store::RowStatements(
          "UPDATE webhook_deliveries SET status = v.column2, attempts = v.column3, "
          "next_attempt_at = COALESCE(v.column4, webhook_deliveries.next_attempt_at), "
          "completed_at = v.column5, lease_until = NULL FROM (VALUES ",
          ") AS v WHERE webhook_deliveries.id = v.column1",
          {"TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT"}, states, true));
  for (auto& u : updates) {
    out.push_back(std::move(u));
  }
  for (const std::string& endpoint : recovered) {
    out.push_back({"UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1",
                   {texts.emplace_back(endpoint)}});
  }
  for (const auto& [endpoint, since] : failing) {
    out.push_back(
        {"UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2 AND "
         "failing_since IS NULL",
         {since, texts.emplace_back(endpoint)}});
  }
  for (const auto& [endpoint, reason] : disable) {
    out.push_back({"UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $1 WHERE id = $2",
                   {texts.emplace_back(reason), texts.emplace_back(endpoint)}});
  }
  return out;
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
  std::lock_guard lock(mu_);
  running_ = true;
  for (int i = 0; i < threads_; ++i) {
    AddWorker();
  }
  claimer_ = std::thread([this] { ClaimLoop(); });
}

void Dispatcher::AddWorker() {
  posting_since_.emplace_back();
  const std::size_t slot = posting_since_.size() - 1;
  workers_.emplace_back([this, slot] { WorkLoop(slot); });
}

int Dispatcher::workers() {
  std::lock_guard lock(mu_);
  return static_cast<int>(workers_.size());
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
  // Posted but not yet recorded: still "delivering" in the database, no longer in flight.
  const WebhookService::FinishedCounts finished = [this] {
    std::map<std::string, std::int64_t> out;
    std::lock_guard lock(mu_);
    for (const auto& o : outcomes_) {
      ++out[o.job.endpoint];
    }
    return out;
  };
  int quick_retries = 0;
  while (true) {
    int free_slots = 0;
    std::vector<WebhookService::Outcome> done;
    {
      std::unique_lock lock(mu_);
      if (!running_) {
        return;
      }
      done.swap(outcomes_);
      // A post running for over kStuckAfter is waiting on a slow receiver: each such one gets a
      // stand-in worker, so `threads_` workers stay free for everyone else (up to kMaxWorkers).
      const auto now = std::chrono::steady_clock::now();
      int stuck = 0;
      for (const auto& since : posting_since_) {
        stuck += since && now - *since > kStuckAfter ? 1 : 0;
      }
      while (static_cast<int>(workers_.size()) < std::min(threads_ + stuck, kMaxWorkers)) {
        AddWorker();
      }
      // What is recorded below frees its slot in the same transaction.
      free_slots = static_cast<int>(workers_.size()) * 2 - static_cast<int>(queue_.size()) - busy_ -
                   recording_ + static_cast<int>(done.size());
    }
    // One transaction records the finished batch and claims the next (a single writer).
    int claimed = 0;
    if (!done.empty() || free_slots > 0) {
      auto jobs = service_.RecordAndClaim(done, free_slots, finished);
      if (!done.empty()) {
        std::lock_guard lock(mu_);
        recording_ -= static_cast<int>(done.size());
      }
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

void Dispatcher::WorkLoop(std::size_t slot) {
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
      posting_since_[slot] = std::chrono::steady_clock::now();
    }
    WebhookService::Outcome outcome = service_.Send(job);
    {
      std::lock_guard lock(mu_);
      --busy_;
      posting_since_[slot].reset();
      ++recording_;
      outcomes_.push_back(std::move(outcome));
    }
    wake_.notify_one();  // the claimer records it and refills the slot
  }
}

}  // namespace portline::webhooks
