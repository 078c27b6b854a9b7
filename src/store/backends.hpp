#pragma once
// Internal to store/: the adapter factories behind OpenDatabase.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "store/database.hpp"

namespace portline::store {

/// The SQLite pool's writer lock: held from BEGIN to COMMIT or ROLLBACK by one connection, which
/// may wait a bounded time for it. A mutex and a condition variable rather than
/// std::timed_mutex, whose try_lock_for (pthread_mutex_clocklock) ThreadSanitizer cannot see,
/// so TSan reported every commit as an unlock of an unlocked mutex and was blind to what the
/// lock protects.
class WriterLock {
 public:
  [[nodiscard]] bool TryLockFor(std::chrono::milliseconds wait) {
    std::unique_lock lock(mu_);
    if (!free_.wait_for(lock, wait, [this] { return !held_; })) {
      return false;
    }
    held_ = true;
    return true;
  }
  void Unlock() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    free_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable free_;
  bool held_ = false;
};

/// `writer` is shared by the connections of one pool: write transactions queue on it in process
/// (woken at once) instead of in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between
/// tries and gave webhook deliveries a p99 of 100–200 ms next to a busy writer.
[[nodiscard]] Result<std::unique_ptr<Connection>> OpenSqlite(const std::string& path,
                                                             bool synchronous_full,
                                                             std::shared_ptr<WriterLock> writer);
[[nodiscard]] Result<std::unique_ptr<Connection>> OpenPostgres(
    const std::string& url, std::chrono::milliseconds statement_timeout);

}  // namespace portline::store
