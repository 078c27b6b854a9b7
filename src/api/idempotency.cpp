#include "api/idempotency.hpp"

#include <algorithm>

#include "core/crypto.hpp"

namespace portline::api {

bool IdempotencyStore::IsValidKey(std::string_view key) {
  return !key.empty() && key.size() <= 255 &&
         std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7E; });
}

Result<std::optional<IdempotencyStore::Stored>> IdempotencyStore::Run(
    std::string_view org_id, std::string_view key, std::string_view request_hash,
    const std::function<std::optional<Stored>()>& run) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  store::Connection& c = *lease;
  const std::int64_t now = ToUnixMillis(clock_.Now());
  // Claims the key in the transaction that will hold the work: a concurrent claim of the same
  // key waits for this transaction, then finds its response.
  auto claim = [&]() -> Result<std::optional<Stored>> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto inserted,
        c.Execute("INSERT INTO idempotency_keys (org_id, idem_key, request_hash, created_at) "
                  "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                  {org_id, key, request_hash, now}));
    if (inserted == 1) {
      return std::nullopt;
    }
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT request_hash, status, response_body, created_at, "
                           "response_size, response_sha256 FROM idempotency_keys WHERE org_id = "
                           "$1 AND idem_key = $2",
                           {org_id, key}));
    if (rows.empty() || rows[0].Int(3) < now - options_.ttl.count() || rows[0].IsNull(1)) {
      // Expired (or purged since the insert): the key starts over. So does a claim without a
      // response, which only a version before migration 0011 could leave behind.
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "DELETE FROM idempotency_keys WHERE org_id = $1 AND idem_key = $2", {org_id, key}));
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("INSERT INTO idempotency_keys (org_id, idem_key, request_hash, created_at) "
                    "VALUES ($1, $2, $3, $4)",
                    {org_id, key, request_hash, now}));
      return std::nullopt;
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
  if (!stored) {
    c.Rollback();
    return tl::unexpected(stored.error());
  }
  if (auto committed = c.Commit(); !committed) {
    c.Rollback();
    return tl::unexpected(committed.error());
  }
  return std::nullopt;
}

Result<std::int64_t> IdempotencyStore::Purge() {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  return lease->Execute("DELETE FROM idempotency_keys WHERE created_at < $1",
                        {ToUnixMillis(clock_.Now()) - options_.ttl.count()});
}

}  // namespace portline::api
