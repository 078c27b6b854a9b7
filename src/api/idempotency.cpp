#include "api/idempotency.hpp"

#include <algorithm>
#include <map>

#include "core/crypto.hpp"

namespace portline::api {
namespace {

// What a record weighs, in SQL (the same rule as migration 0015).
constexpr std::string_view kWeight =
    "256 + CASE WHEN response_body IS NULL THEN 0 ELSE COALESCE(response_size, 0) END";

Result<void> AddUsage(store::Connection& c, std::string_view org_id, std::int64_t bytes) {
  return c
      .Execute(
          "INSERT INTO idempotency_usage (org_id, bytes) VALUES ($1, $2) ON CONFLICT (org_id) "
          "DO UPDATE SET bytes = CASE WHEN idempotency_usage.bytes + $3 < 0 THEN 0 "
          "ELSE idempotency_usage.bytes + $3 END",
          {org_id, std::max<std::int64_t>(bytes, 0), bytes})
      .map([](std::int64_t) {});
}

}  // namespace

Result<std::optional<IdempotencyStore::Stored>> IdempotencyStore::Run(
    std::string_view org_id, std::string_view key, std::string_view request_hash,
    const std::function<std::optional<Stored>()>& run) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  store::Connection& c = *lease;
  const std::int64_t now = ToUnixMillis(clock_.Now());
  // Claims the key in the transaction that will hold the work: a concurrent claim of the same
  // key waits for this transaction, then finds its response.
  // A new key is refused while the organization's records weigh their cap.
  auto room = [&]() -> Result<std::optional<Stored>> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto usage, c.Query("SELECT bytes FROM idempotency_usage WHERE org_id = $1", {org_id}));
    if (!usage.empty() && usage[0].Int(0) >= options_.max_bytes_per_org) {
      return FailCode(Errc::kRateLimited, "IDEMPOTENCY_STORAGE_FULL",
                      "this organization's idempotency records from the last " +
                          std::to_string(options_.ttl.count() / 3600000) +
                          " hours fill their storage; retry later, or send the request "
                          "without an Idempotency-Key",
                      "Idempotency-Key");
    }
    return std::nullopt;
  };
  auto claim = [&]() -> Result<std::optional<Stored>> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto inserted,
        c.Execute("INSERT INTO idempotency_keys (org_id, idem_key, request_hash, created_at) "
                  "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                  {org_id, key, request_hash, now}));
    if (inserted == 1) {
      return room();
    }
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT request_hash, status, response_body, created_at, "
                           "response_size, response_sha256 FROM idempotency_keys WHERE org_id = "
                           "$1 AND idem_key = $2",
                           {org_id, key}));
    if (rows.empty() || rows[0].Int(3) < now - options_.ttl.count() || rows[0].IsNull(1)) {
      // Expired (or purged since the insert): the key starts over. So does a claim without a
      // response, which only a version before migration 0011 could leave behind.
      PORTLINE_ASSIGN_OR_RETURN(
          auto gone, c.Query("DELETE FROM idempotency_keys WHERE org_id = $1 AND idem_key = $2 "
                             "RETURNING " +
                                 std::string(kWeight),
                             {org_id, key}));
      if (!gone.empty()) {
        PORTLINE_RETURN_IF_ERROR(AddUsage(c, org_id, -gone[0].Int(0)));
      }
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("INSERT INTO idempotency_keys (org_id, idem_key, request_hash, created_at) "
                    "VALUES ($1, $2, $3, $4)",
                    {org_id, key, request_hash, now}));
      return room();
    }
    const auto& r = rows[0];
    if (r.Text(0) != request_hash) {
      return FailCode(Errc::kConflict, "IDEMPOTENCY_KEY_REUSED",
                      "this Idempotency-Key was already used with a different request",
                      "Idempotency-Key");
    }
    return Stored{static_cast<int>(r.Int(1)), r.Text(2), !r.IsNull(2), r.Int(4), r.Text(5)};
  };
  PORTLINE_RETURN_IF_ERROR(c.Begin());
  auto claimed = claim();
  if (!claimed || *claimed) {
    c.Rollback();
    return claimed;
  }
  std::optional<Stored> out;
  {
    store::Database::Ambient ambient(db_, c);
    out = run();
  }
  if (!out) {
    c.Rollback();
    return std::nullopt;
  }
  const bool keep = out->body.size() <= options_.max_stored_body;
  auto stored = c.Execute(
      "UPDATE idempotency_keys SET status = $1, response_body = $2, response_size = $3, "
      "response_sha256 = $4 WHERE org_id = $5 AND idem_key = $6",
      {out->status, keep ? store::Param(out->body) : store::Param(nullptr),
       static_cast<std::int64_t>(out->body.size()), Sha256Hex(out->body), org_id, key});
  Result<void> counted = stored.map([](std::int64_t) {});
  if (counted) {
    counted =
        AddUsage(c, org_id, kRecordBytes + static_cast<std::int64_t>(keep ? out->body.size() : 0));
  }
  if (!counted) {
    c.Rollback();
    return tl::unexpected(counted.error());
  }
  if (auto committed = c.Commit(); !committed) {
    c.Rollback();
    return tl::unexpected(committed.error());
  }
  return std::nullopt;
}

Result<std::int64_t> IdempotencyStore::Purge() {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  store::Connection& c = *lease;
  PORTLINE_RETURN_IF_ERROR(c.Begin());
  auto purged = [&]() -> Result<std::int64_t> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto gone, c.Query("DELETE FROM idempotency_keys WHERE created_at < $1 RETURNING org_id, " +
                               std::string(kWeight),
                           {ToUnixMillis(clock_.Now()) - options_.ttl.count()}));
    std::map<std::string, std::int64_t> by_org;
    for (const auto& row : gone) {
      by_org[row.Text(0)] += row.Int(1);
    }
    for (const auto& [org, bytes] : by_org) {
      PORTLINE_RETURN_IF_ERROR(AddUsage(c, org, -bytes));
    }
    return static_cast<std::int64_t>(gone.size());
  }();
  if (!purged) {
    c.Rollback();
    return purged;
  }
  PORTLINE_RETURN_IF_ERROR(c.Commit());
  return purged;
}

}  // namespace portline::api
