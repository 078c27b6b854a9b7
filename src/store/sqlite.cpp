// SQLite adapter for store::Connection. The only file that includes sqlite3.h.
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "store/backends.hpp"

namespace portline::store {
namespace {

// "$1" -> "?1": our SQL uses PostgreSQL placeholders; SQLite's ?NNN binds by the same index.
std::string TranslatePlaceholders(std::string_view sql) {
  std::string out(sql);
  for (char& c : out) {
    if (c == '$') {
      c = '?';
    }
  }
  return out;
}

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(sqlite3* db, std::shared_ptr<WriterLock> writer)
      : db_(db), writer_(std::move(writer)) {}
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection() override {
    if (writing_) {
      writer_->Unlock();
    }
    for (auto& [sql, stmt] : statements_) {
      sqlite3_finalize(stmt);
    }
    sqlite3_close_v2(db_);
  }

  // store::Connection
  [[nodiscard]] Backend backend() const override { return Backend::kSqlite; }

  Result<Rows> Query(std::string_view sql, const Params& params) override {
    Rows rows;
    PORTLINE_RETURN_IF_ERROR(Run(sql, params, &rows));
    return rows;
  }

  Result<std::int64_t> Execute(std::string_view sql, const Params& params) override {
    PORTLINE_RETURN_IF_ERROR(Run(sql, params, nullptr));
    return static_cast<std::int64_t>(sqlite3_changes(db_));
  }

  Result<void> ExecuteScript(std::string_view sql) override {
    char* err = nullptr;
    const std::string text(sql);
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return ErrorFor(rc, msg);
    }
    return {};
  }

  // The pool's writer lock is held from Begin to Commit or Rollback (same thread: a connection
  // is used by one thread at a time). Other processes still meet SQLite's own lock.
  Result<void> BeginTop() override {
    if (!writer_->TryLockFor(std::chrono::seconds(5))) {
      return Fail(Errc::kUnavailable, "database busy",
                  "sqlite: no write transaction could start within 5 s");
    }
    writing_ = true;
    auto began = ExecuteScript("BEGIN IMMEDIATE");
    if (!began) {
      Release();
    }
    return began;
  }
  Result<void> CommitTop() override {
    auto done = ExecuteScript("COMMIT");
    if (done) {
      Release();
    }
    return done;  // on failure the caller rolls back, which releases
  }
  void RollbackTop() override {
    if (sqlite3_get_autocommit(db_) == 0) {
      (void)ExecuteScript("ROLLBACK");
    }
    Release();
  }

 private:
  void Release() {
    if (writing_) {
      writing_ = false;
      writer_->Unlock();
    }
  }

  tl::unexpected<Error> ErrorFor(int rc, const std::string& message) {
    const int primary = rc & 0xFF;
    if (primary == SQLITE_CONSTRAINT) {
      return Fail(Errc::kConflict, "conflicts with an existing record", "sqlite: " + message);
    }
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      return Fail(Errc::kUnavailable, "database busy", "sqlite: " + message);
    }
    return Fail(Errc::kInternal, "database error", "sqlite: " + message);
  }

  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    auto it = statements_.find(std::string(sql));
    if (it != statements_.end()) {
      return it->second;
    }
    if (statements_.size() >= kMaxCachedStatements) {
      // SQL built with variable IN lists has many shapes: keep the cache bounded.
      for (auto& [text, cached] : statements_) {
        sqlite3_finalize(cached);
      }
      statements_.clear();
    }
    const std::string translated = TranslatePlaceholders(sql);
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_, translated.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      return ErrorFor(rc, std::string(sqlite3_errmsg(db_)) + " in: " + translated);
    }
    statements_.emplace(std::string(sql), stmt);
    return stmt;
  }

  Result<void> Run(std::string_view sql, const Params& params, Rows* rows) {
    PORTLINE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i) + 1;
      const Param& p = params[i];
      int rc = SQLITE_OK;
      switch (p.kind()) {
        case Param::Kind::kNull:
          rc = sqlite3_bind_null(stmt, idx);
          break;
        case Param::Kind::kInt:
          rc = sqlite3_bind_int64(stmt, idx, p.int_value());
          break;
        case Param::Kind::kText:
          rc = sqlite3_bind_text64(stmt, idx, p.text().data(), p.text().size(), SQLITE_STATIC,
                                   SQLITE_UTF8);
          break;
      }
      if (rc != SQLITE_OK) {
        return ErrorFor(rc, sqlite3_errmsg(db_));
      }
    }
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) {
        return {};
      }
      if (rc != SQLITE_ROW) {
        return ErrorFor(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
      }
      if (rows == nullptr) {
        continue;
      }
      Row row;
      const int n = sqlite3_column_count(stmt);
      row.cols.reserve(static_cast<std::size_t>(n));
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.cols.emplace_back(std::nullopt);
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          const int len = sqlite3_column_bytes(stmt, c);
          row.cols.emplace_back(std::string(text, static_cast<std::size_t>(len)));
        }
      }
      rows->push_back(std::move(row));
    }
  }

  sqlite3* db_;
  std::shared_ptr<WriterLock> writer_;
  bool writing_ = false;
  static constexpr std::size_t kMaxCachedStatements = 256;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

Result<std::unique_ptr<Connection>> OpenSqlite(const std::string& path, bool synchronous_full,
                                               std::shared_ptr<WriterLock> writer) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Fail(Errc::kUnavailable, "cannot open the SQLite database",
                "sqlite open " + path + ": " + msg);
  }
  auto conn = std::make_unique<SqliteConnection>(db, std::move(writer));
  sqlite3_busy_timeout(db, 5000);
  const std::string pragmas = std::string("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; ") +
                              "PRAGMA synchronous=" + (synchronous_full ? "FULL" : "NORMAL") + ";";
  PORTLINE_RETURN_IF_ERROR(conn->ExecuteScript(pragmas));
  return std::unique_ptr<Connection>(std::move(conn));
}

}  // namespace portline::store
