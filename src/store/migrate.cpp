#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <span>

#include "core/clock.hpp"
#include "core/embedded.hpp"
#include "store/backends.hpp"

// Generated from migrations/*.sql by cmake/Embed.cmake.
std::span<const portline::EmbeddedFile> PortlineMigrations();

namespace portline::store {
namespace {

struct Migration {
  int version = 0;
  std::string name;
  std::string_view sql;
};

// Migrations are NNNN_name.sql (portable) or NNNN_name.sqlite.sql / NNNN_name.postgres.sql
// where the dialects differ; a backend-specific file wins over the portable one.
std::vector<Migration> MigrationsFor(Backend backend) {
  const std::string_view own = backend == Backend::kSqlite ? ".sqlite.sql" : ".postgres.sql";
  const std::string_view other = backend == Backend::kSqlite ? ".postgres.sql" : ".sqlite.sql";
  std::map<int, Migration> by_version;
  for (const EmbeddedFile& f : PortlineMigrations()) {
    const std::string_view name = f.name;
    if (name.size() > other.size() && name.substr(name.size() - other.size()) == other) {
      continue;
    }
    const bool specific = name.size() > own.size() && name.substr(name.size() - own.size()) == own;
    int version = 0;
    std::from_chars(name.data(), name.data() + std::min<std::size_t>(4, name.size()), version);
    auto& slot = by_version[version];
    if (slot.sql.empty() || specific) {
      slot = Migration{version, std::string(name.substr(0, name.find('.'))), f.data};
    }
  }
  std::vector<Migration> out;
  for (auto& [v, m] : by_version) {
    out.push_back(m);
  }
  return out;
}

}  // namespace

int LatestSchemaVersion() {
  const auto all = MigrationsFor(Backend::kSqlite);
  return all.empty() ? 0 : all.back().version;
}

Result<std::vector<int>> Migrate(Database& db) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db.Acquire());
  Connection& conn = *lease;
  PORTLINE_RETURN_IF_ERROR(conn.ExecuteScript(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at BIGINT NOT NULL)"));
  auto apply = [&](Connection& c) -> Result<std::vector<int>> {
    if (c.backend() == Backend::kPostgres) {
      // Serialises concurrent migrators on several nodes; released at commit.
      PORTLINE_RETURN_IF_ERROR(c.Query("SELECT pg_advisory_xact_lock(7263001)", {}));
    }
    PORTLINE_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT version FROM schema_migrations", {}));
    std::vector<int> applied_before;
    for (const auto& r : rows) {
      applied_before.push_back(static_cast<int>(r.Int(0)));
    }
    const auto all = MigrationsFor(c.backend());
    const int latest = all.empty() ? 0 : all.back().version;
    for (int v : applied_before) {
      if (v > latest) {
        return Fail(Errc::kInternal, "database schema version " + std::to_string(v) +
                                         " is newer than this binary supports (" +
                                         std::to_string(latest) + "); upgrade portline");
      }
    }
    std::vector<int> applied_now;
    for (const Migration& m : all) {
      if (std::find(applied_before.begin(), applied_before.end(), m.version) !=
          applied_before.end()) {
        continue;
      }
      PORTLINE_RETURN_IF_ERROR(c.ExecuteScript(m.sql));
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    {m.version, m.name, ToUnixMillis(std::chrono::system_clock::now())}));
      applied_now.push_back(m.version);
    }
    return applied_now;
  };
  return WithTransaction(conn, apply);
}

}  // namespace portline::store
