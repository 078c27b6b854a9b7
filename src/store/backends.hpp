#pragma once
// Internal to store/: the adapter factories behind OpenDatabase.

#include <chrono>
#include <memory>
#include <string>

#include "store/database.hpp"

namespace portline::store {

[[nodiscard]] Result<std::unique_ptr<Connection>> OpenSqlite(const std::string& path,
                                                             bool synchronous_full);
[[nodiscard]] Result<std::unique_ptr<Connection>> OpenPostgres(
    const std::string& url, std::chrono::milliseconds statement_timeout);

}  // namespace portline::store
