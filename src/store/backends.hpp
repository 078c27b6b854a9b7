#pragma once
// Internal to store/: the adapter factories behind OpenDatabase.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "store/database.hpp"

namespace portline::store {

/// `writer` is shared by the connections of one pool: write transactions queue on it in process
/// (woken at once) instead of in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between
/// tries and gave webhook deliveries a p99 of 100–200 ms next to a busy writer.
[[nodiscard]] Result<std::unique_ptr<Connection>> OpenSqlite(
    const std::string& path, bool synchronous_full, std::shared_ptr<std::timed_mutex> writer);
[[nodiscard]] Result<std::unique_ptr<Connection>> OpenPostgres(
    const std::string& url, std::chrono::milliseconds statement_timeout);

}  // namespace portline::store
