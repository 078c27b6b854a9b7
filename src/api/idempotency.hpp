#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace portline::api {

/// Durable Idempotency-Key records (table idempotency_keys). Thread-safe; blocks on storage.
///
/// A key is claimed by the first request; a later request with the same key and the same
/// request hash gets the stored response; with a different hash, kConflict
/// (IDEMPOTENCY_KEY_REUSED); while the first is still running, kConflict
/// (IDEMPOTENCY_KEY_IN_USE). A claim left behind by a crash is taken over after `stale_after`.
/// Records older than `ttl` are forgotten (and purged by Purge()).
class IdempotencyStore {
 public:
  IdempotencyStore(store::Database& db, const Clock& clock,
                   std::chrono::milliseconds ttl = std::chrono::hours(24),
                   std::chrono::milliseconds stale_after = std::chrono::seconds(60))
      : db_(db), clock_(clock), ttl_(ttl), stale_after_(stale_after) {}

  struct Stored {
    int status = 0;
    std::string body;
  };
  /// nullopt: the caller owns the key and must call Finish or Release. A value: replay it.
  [[nodiscard]] Result<std::optional<Stored>> Claim(std::string_view org_id, std::string_view key,
                                                    std::string_view request_hash);
  /// Stores the response of a claimed key.
  [[nodiscard]] Result<void> Finish(std::string_view org_id, std::string_view key, int status,
                                    std::string_view body);
  /// Gives a claimed key back (the request failed in a way worth retrying, e.g. 5xx).
  [[nodiscard]] Result<void> Release(std::string_view org_id, std::string_view key);
  /// Deletes records older than the TTL; returns how many.
  [[nodiscard]] Result<std::int64_t> Purge();

  /// A valid key is 1–255 printable ASCII characters.
  [[nodiscard]] static bool IsValidKey(std::string_view key);

 private:
  store::Database& db_;
  const Clock& clock_;
  std::chrono::milliseconds ttl_;
  std::chrono::milliseconds stale_after_;
};

}  // namespace portline::api
