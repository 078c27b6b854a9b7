#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace portline::api {

/// Durable Idempotency-Key records (table idempotency_keys). Thread-safe; blocks on storage.
///
/// The key, everything the request writes and its response commit in one transaction (Run), so
/// a crash at any instant leaves either all three or none: a retry either replays the response
/// or runs the request for the first time, never a second time. A later request with the same
/// key and the same request hash gets the stored response; with a different hash, kConflict
/// (IDEMPOTENCY_KEY_REUSED). A request that arrives while the first is still running waits for
/// it (PostgreSQL: on the key's unique index; SQLite: on the one writer) and then replays it.
/// Records older than `ttl` are forgotten (and purged by Purge()). What each organization's
/// records weigh is kept in idempotency_usage by the same transactions, and capped.
class IdempotencyStore {
 public:
  struct Options {
    std::chrono::milliseconds ttl = std::chrono::hours(24);
    /// A response bigger than this keeps only its status, size and SHA-256.
    std::size_t max_stored_body = 256 * 1024;
    /// What one organization's live records may weigh (kRecordBytes each plus the responses
    /// kept); a new key beyond it is refused (429 IDEMPOTENCY_STORAGE_FULL) before any work.
    std::int64_t max_bytes_per_org = 256LL << 20;
  };
  static constexpr std::int64_t kRecordBytes = 256;
  IdempotencyStore(store::Database& db, const Clock& clock, Options options)
      : db_(db), clock_(clock), options_(options) {}
  IdempotencyStore(store::Database& db, const Clock& clock) : IdempotencyStore(db, clock, {}) {}

  struct Stored {
    int status = 0;
    std::string body;
    bool kept = true;  // false: too big to keep; body is empty, size and sha256 say what it was
    std::int64_t size = 0;
    std::string sha256;
  };

  /// The stored response of `key` when there is one (replay it); otherwise runs `run` inside
  /// one transaction that also stores the key and what `run` returns, with every connection
  /// this thread acquires meanwhile joining that transaction (store::Database::Ambient), and
  /// returns nullopt. `run` returns the response to keep, or nullopt to keep nothing (a server
  /// error): then its writes are rolled back with the key, for a retry. An error means nothing
  /// of `run` was kept.
  [[nodiscard]] Result<std::optional<Stored>> Run(
      std::string_view org_id, std::string_view key, std::string_view request_hash,
      const std::function<std::optional<Stored>()>& run);

  /// Deletes records older than the TTL; returns how many.
  [[nodiscard]] Result<std::int64_t> Purge();

 private:
  store::Database& db_;
  const Clock& clock_;
  Options options_;
};

}  // namespace portline::api
