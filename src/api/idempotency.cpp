#include "api/idempotency.hpp"

#include <algorithm>

namespace portline::api {

bool IdempotencyStore::IsValidKey(std::string_view key) {
  return !key.empty() && key.size() <= 255 &&
         std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7E; });
}

Result<std::optional<IdempotencyStore::Stored>> IdempotencyStore::Claim(
    std::string_view org_id, std::string_view key, std::string_view request_hash) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  const std::int64_t now = ToUnixMillis(clock_.Now());
  auto claim = [&](store::Connection& c) -> Result<std::optional<Stored>> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto inserted,
        c.Execute("INSERT INTO idempotency_keys (org_id, idem_key, request_hash, created_at) "
                  "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                  {org_id, key, request_hash, now}));
    if (inserted == 1) {
      return std::nullopt;
    }
    PORTLINE_ASSIGN_OR_RETURN(auto rows,
                              c.Query("SELECT request_hash, status, response_body, created_at "
                                      "FROM idempotency_keys WHERE org_id = $1 AND idem_key = $2",
                                      {org_id, key}));
    if (rows.empty()) {  // purged between the two statements: claim it now
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("INSERT INTO idempotency_keys (org_id, idem_key, request_hash, created_at) "
                    "VALUES ($1, $2, $3, $4)",
                    {org_id, key, request_hash, now}));
      return std::nullopt;
    }
    const auto& r = rows[0];
    const std::int64_t created = r.Int(3);
    const bool expired = created < now - ttl_.count();
    const bool stale_claim = r.IsNull(1) && created < now - stale_after_.count();
    if (expired || stale_claim) {
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("UPDATE idempotency_keys SET request_hash = $1, status = NULL, "
                    "response_body = NULL, created_at = $2 WHERE org_id = $3 AND idem_key = $4",
                    {request_hash, now, org_id, key}));
      return std::nullopt;
    }
    if (r.Text(0) != request_hash) {
      return FailCode(Errc::kConflict, "IDEMPOTENCY_KEY_REUSED",
                      "this Idempotency-Key was already used with a different request",
                      "Idempotency-Key");
    }
    if (r.IsNull(1)) {
      return FailCode(Errc::kConflict, "IDEMPOTENCY_KEY_IN_USE",
                      "a request with this Idempotency-Key is still being processed; retry later",
                      "Idempotency-Key");
    }
    return Stored{static_cast<int>(r.Int(1)), r.Text(2)};
  };
  return store::WithTransaction(*lease, claim);
}

Result<void> IdempotencyStore::Finish(std::string_view org_id, std::string_view key, int status,
                                      std::string_view body) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_RETURN_IF_ERROR(
      lease->Execute("UPDATE idempotency_keys SET status = $1, response_body = $2 "
                     "WHERE org_id = $3 AND idem_key = $4",
                     {status, body, org_id, key}));
  return {};
}

Result<void> IdempotencyStore::Release(std::string_view org_id, std::string_view key) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_RETURN_IF_ERROR(lease->Execute(
      "DELETE FROM idempotency_keys WHERE org_id = $1 AND idem_key = $2 AND status IS NULL",
      {org_id, key}));
  return {};
}

Result<std::int64_t> IdempotencyStore::Purge() {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  return lease->Execute("DELETE FROM idempotency_keys WHERE created_at < $1",
                        {ToUnixMillis(clock_.Now()) - ttl_.count()});
}

}  // namespace portline::api
