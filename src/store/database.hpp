#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace portline::store {

enum class Backend : std::uint8_t { kSqlite, kPostgres };

/// A bound statement parameter: NULL, a 64-bit integer or text. The parameter owns its text, so
/// a caller never keeps strings alive for it (short texts, such as numbers and ids, stay inside
/// the string's own buffer; pass a std::string by move to hand over a long one).
class Param {
 public:
  enum class Kind : std::uint8_t { kNull, kInt, kText };
  Param(std::nullptr_t) {}                               // NOLINT(google-explicit-constructor)
  Param(std::int64_t v) : kind_(Kind::kInt), int_(v) {}  // NOLINT(google-explicit-constructor)
  Param(int v) : kind_(Kind::kInt), int_(v) {}           // NOLINT(google-explicit-constructor)
  Param(std::string_view v) : kind_(Kind::kText), text_(v) {}          // NOLINT
  Param(const std::string& v) : kind_(Kind::kText), text_(v) {}        // NOLINT
  Param(std::string&& v) : kind_(Kind::kText), text_(std::move(v)) {}  // NOLINT
  Param(const char* v) : kind_(Kind::kText), text_(v) {}               // NOLINT
  Param(const std::optional<std::string>& v) {                         // NOLINT
    if (v) {
      kind_ = Kind::kText;
      text_ = *v;
    }
  }
  Param(const std::optional<std::int64_t>& v) {  // NOLINT
    if (v) {
      kind_ = Kind::kInt;
      int_ = *v;
    }
  }

  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] std::int64_t int_value() const { return int_; }
  [[nodiscard]] std::string_view text() const { return text_; }

 private:
  Kind kind_ = Kind::kNull;
  std::int64_t int_ = 0;
  std::string text_;
};

using Params = std::vector<Param>;

/// One result row; every column arrives as text (or NULL) from both backends.
struct Row {
  std::vector<std::optional<std::string>> cols;

  [[nodiscard]] bool IsNull(std::size_t i) const { return !cols.at(i).has_value(); }
  [[nodiscard]] const std::string& Text(std::size_t i) const;  // "" when NULL
  [[nodiscard]] std::int64_t Int(std::size_t i) const;         // 0 when NULL
  [[nodiscard]] std::optional<std::int64_t> OptInt(std::size_t i) const;
  [[nodiscard]] std::optional<std::string> OptText(std::size_t i) const { return cols.at(i); }
};
using Rows = std::vector<Row>;

/// A statement with its parameters, for Connection::Pipeline.
struct Statement {
  std::string sql;
  Params params;
};

/// One database connection. SQL is written once for both backends, with `$1`, `$2`… placeholders
/// (translated for SQLite) and the common dialect both accept (ON CONFLICT, RETURNING, BIGINT).
/// Not thread-safe: a connection is used by one thread at a time (see Database::Acquire).
/// Errors: kConflict for unique/foreign-key violations, kUnavailable for busy/locked/lost
/// connections (retryable), kDeadlineExceeded for statement timeouts, kInternal otherwise.
class Connection {
 public:
  virtual ~Connection() = default;
  [[nodiscard]] virtual Backend backend() const = 0;
  /// Runs a statement and returns its rows.
  [[nodiscard]] virtual Result<Rows> Query(std::string_view sql, const Params& params) = 0;
  /// Runs a statement and returns the number of rows it changed.
  [[nodiscard]] virtual Result<std::int64_t> Execute(std::string_view sql,
                                                     const Params& params) = 0;
  /// Runs `statements` in order and returns each one's rows; stops at the first that fails and
  /// returns its error. PostgreSQL sends them all in one round trip (libpq pipeline mode), so a
  /// transaction of independent statements costs one wait for the server, not one per
  /// statement; SQLite runs them one by one. Inside a transaction a failure aborts it; outside
  /// one, the statements form one implicit transaction on PostgreSQL. Every statement is sent
  /// before any result is read, so keep pipelines to what one round needs (a statement with a
  /// huge result followed by megabytes of statements could stall both sides).
  [[nodiscard]] virtual Result<std::vector<Rows>> Pipeline(
      const std::vector<Statement>& statements) {
    std::vector<Rows> out;
    out.reserve(statements.size());
    for (const Statement& s : statements) {
      auto rows = Query(s.sql, s.params);
      if (!rows) {
        return tl::unexpected(std::move(rows).error());
      }
      out.push_back(std::move(*rows));
    }
    return out;
  }
  /// Runs several statements without parameters (migrations).
  [[nodiscard]] virtual Result<void> ExecuteScript(std::string_view sql) = 0;
  /// Starts a write transaction (SQLite: BEGIN IMMEDIATE, so it never fails on upgrade;
  /// PostgreSQL: BEGIN travels with the transaction's first statement, saving a round trip).
  /// Inside a transaction, Begin opens a savepoint instead, and Commit and Rollback end that
  /// savepoint: a nested unit of work rolls back alone and commits only with the outermost one
  /// (see Database::Ambient).
  [[nodiscard]] Result<void> Begin();
  [[nodiscard]] Result<void> Commit();
  void Rollback();
  [[nodiscard]] bool InTransaction() const { return depth_ > 0; }

 protected:
  [[nodiscard]] virtual Result<void> BeginTop() = 0;
  [[nodiscard]] virtual Result<void> CommitTop() = 0;
  virtual void RollbackTop() = 0;

 private:
  int depth_ = 0;  // 0: no transaction; 1: a transaction; n > 1: n - 1 savepoints inside it
};

/// A fixed pool of connections to one database. Thread-safe.
class Database {
 public:
  class Lease {
   public:
    Lease(Database* db, std::unique_ptr<Connection> conn)
        : db_(db), conn_(std::move(conn)), ptr_(conn_.get()) {}
    /// A lease of a connection someone else holds (the thread's ambient one): never released.
    explicit Lease(Connection* borrowed) : db_(nullptr), ptr_(borrowed) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    Connection& operator*() { return *ptr_; }
    Connection* operator->() { return ptr_; }

   private:
    Database* db_;
    std::unique_ptr<Connection> conn_;
    Connection* ptr_;
  };

  /// While alive, every Acquire of this database on this thread returns `conn` (which must be
  /// in a transaction), so the services a caller runs write into that one transaction: their
  /// own transactions become savepoints in it. The API uses it to commit an idempotent
  /// request's writes and its stored response together. Work that hands rows to other threads
  /// must not run under it (they would wait for this transaction's locks): see HasAmbient.
  class Ambient {
   public:
    Ambient(Database& db, Connection& conn);
    ~Ambient();
    Ambient(const Ambient&) = delete;
    Ambient& operator=(const Ambient&) = delete;

   private:
    Database* previous_db_;
    Connection* previous_conn_;
  };
  /// Whether this thread runs under an Ambient connection of this database.
  [[nodiscard]] bool HasAmbient() const;

  Database(Backend backend, std::vector<std::unique_ptr<Connection>> connections,
           std::string description);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() = default;

  /// Waits up to `timeout` for a free connection; kUnavailable when none frees up.
  [[nodiscard]] Result<Lease> Acquire(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  [[nodiscard]] Backend backend() const { return backend_; }
  /// "sqlite:/path/portline.db" or "postgres://host:port/db" (never the password).
  [[nodiscard]] const std::string& description() const { return description_; }
  /// Runs a trivial query; used by /readyz.
  [[nodiscard]] Result<void> Ping();

 private:
  void Release(std::unique_ptr<Connection> conn);

  Backend backend_;
  std::string description_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

/// Runs `fn(conn)` inside a transaction: commits when it returns a value, rolls back otherwise.
template <typename F>
auto WithTransaction(Connection& conn, F&& fn) -> decltype(fn(conn)) {
  if (auto began = conn.Begin(); !began) {
    return tl::unexpected(std::move(began).error());
  }
  auto result = fn(conn);
  if (!result) {
    conn.Rollback();
    return result;
  }
  if (auto committed = conn.Commit(); !committed) {
    conn.Rollback();
    return tl::unexpected(std::move(committed).error());
  }
  return result;
}

/// One statement for many rows: runs `head` + "(…), (…), …" + `tail`, one parenthesized row of
/// `casts.size()` parameters per row of `values` (flat, row after row). A column whose cast is
/// not empty is written `CAST($n AS <cast>)`, so VALUES columns get their type on PostgreSQL
/// (untyped parameters would be text). Rows go in chunks that keep each statement's parameter
/// count within both backends' limits. Use it for multi-row INSERT … VALUES and for
/// UPDATE … FROM (VALUES …) AS v (whose columns are v.column1, v.column2, … on both backends).
/// With `pad_with_nulls`, each chunk is padded with all-NULL rows up to a power of two, so
/// batches of similar sizes reuse one prepared statement (and plan) instead of preparing one
/// per row count; the SQL must ignore such rows (a join on v.column1, or WHERE v.column1 IS NOT
/// NULL).
[[nodiscard]] Result<std::int64_t> ExecuteRows(Connection& c, std::string_view head,
                                               std::string_view tail,
                                               const std::vector<std::string_view>& casts,
                                               const Params& values, bool pad_with_nulls = false);

/// The statements ExecuteRows runs, to send them some other way (in a Connection::Pipeline).
[[nodiscard]] Result<std::vector<Statement>> RowStatements(
    std::string_view head, std::string_view tail, const std::vector<std::string_view>& casts,
    const Params& values, bool pad_with_nulls = false);

/// A condition "<column> matches one of `values`", its parameters appended to `params`: on
/// PostgreSQL `= ANY(CAST($k AS TEXT[]))` with one array parameter, so the statement has one
/// shape and its generic plan an index lookup whatever the list's length; on SQLite a padded IN
/// list (PaddedInList).
[[nodiscard]] std::string MatchAny(Backend backend, std::string_view column, Params& params,
                                   const std::vector<std::string_view>& values);

/// "$a, $b, …" placeholders for `n` values starting at parameter `first`.
[[nodiscard]] std::string Placeholders(std::size_t first, std::size_t n);

/// Runs `head + " IN (…)" + tail` for `values` in chunks of 500 (within both backends' parameter
/// limits), the IN list's placeholders numbered after `fixed` (the leading parameters), and
/// returns every chunk's rows.
[[nodiscard]] Result<Rows> QueryIn(Connection& c, std::string_view head, const Params& fixed,
                                   const std::vector<std::string>& values,
                                   std::string_view tail = {});

/// The placeholders "$k, $k+1, …" of an IN list of `values`, appended to `params`. The last value
/// is repeated up to a power of two (16 at least), for the same reason as ExecuteRows pads.
[[nodiscard]] std::string PaddedInList(Params& params, const std::vector<std::string_view>& values);

struct StoreOptions {
  std::string data_dir = "./data";
  std::string database_url;  // empty: SQLite under data_dir; postgres://… or postgresql://…
  int pool_size = 4;
  bool sqlite_synchronous_full = true;
  std::chrono::milliseconds statement_timeout{10000};
};

/// A PostgreSQL URL with Portline's connection defaults added where it sets none:
/// connect_timeout=5, TCP keepalives (30 s idle, 10 s apart, 3 probes), tcp_user_timeout=30000.
[[nodiscard]] std::string WithConnectionDefaults(std::string_view url);

/// Opens the pool the options describe (creating the data directory for SQLite).
[[nodiscard]] Result<std::unique_ptr<Database>> OpenDatabase(const StoreOptions& options);

/// Applies pending migrations (embedded in the binary); returns the versions it applied.
/// Safe to run concurrently from several nodes (PostgreSQL advisory lock / SQLite write lock).
[[nodiscard]] Result<std::vector<int>> Migrate(Database& db);

/// Highest migration version compiled into this binary.
[[nodiscard]] int LatestSchemaVersion();

/// Redacts the password of a postgres URL for logs ("postgres://u:***@h/db").
[[nodiscard]] std::string RedactUrl(std::string_view url);

}  // namespace portline::store
