// PostgreSQL adapter for store::Connection (libpq). The only file that includes libpq-fe.h.
#include <libpq-fe.h>

#include <string>
#include <unordered_map>

#include "store/backends.hpp"

namespace portline::store {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

class PgConnection final : public Connection {
 public:
  PgConnection(PGconn* conn, std::string setup) : conn_(conn), setup_(std::move(setup)) {}
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection() override { PQfinish(conn_); }

  // store::Connection
  [[nodiscard]] Backend backend() const override { return Backend::kPostgres; }

  Result<Rows> Query(std::string_view sql, const Params& params) override {
    PORTLINE_ASSIGN_OR_RETURN(auto res, Run(sql, params));
    Rows rows;
    const int n = PQntuples(res.get());
    const int cols = PQnfields(res.get());
    rows.reserve(static_cast<std::size_t>(n));
    for (int r = 0; r < n; ++r) {
      Row row;
      row.cols.reserve(static_cast<std::size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(res.get(), r, c) != 0) {
          row.cols.emplace_back(std::nullopt);
        } else {
          row.cols.emplace_back(std::string(
              PQgetvalue(res.get(), r, c), static_cast<std::size_t>(PQgetlength(res.get(), r, c))));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Result<std::int64_t> Execute(std::string_view sql, const Params& params) override {
    PORTLINE_ASSIGN_OR_RETURN(auto res, Run(sql, params));
    const char* tuples = PQcmdTuples(res.get());
    return tuples[0] == '\0' ? 0 : std::stoll(tuples);
  }

  Result<void> ExecuteScript(std::string_view sql) override {
    PORTLINE_RETURN_IF_ERROR(EnsureConnected());
    const std::string text(sql);
    PgResult res(PQexec(conn_, text.c_str()));
    return Check(res).map([](auto&&) {});
  }

  using Connection::Begin;
  Result<void> Begin(const TransactionOptions& options) override {
    // SET LOCAL rides on the BEGIN round trip and ends with the transaction.
    return ExecuteScript(options.plan_each_statement
                             ? "BEGIN; SET LOCAL plan_cache_mode = force_custom_plan"
                             : "BEGIN");
  }
  Result<void> Commit() override { return ExecuteScript("COMMIT"); }
  void Rollback() override {
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      (void)ExecuteScript("ROLLBACK");
    }
  }

 private:
  Result<void> EnsureConnected() {
    if (PQstatus(conn_) == CONNECTION_OK) {
      return {};
    }
    PQreset(conn_);
    statements_.clear();
    if (PQstatus(conn_) != CONNECTION_OK) {
      return Fail(Errc::kUnavailable, "database unavailable",
                  std::string("postgres reconnect: ") + PQerrorMessage(conn_));
    }
    PgResult res(PQexec(conn_, setup_.c_str()));
    return Check(res).map([](auto&&) {});
  }

  Result<PgResult> Check(PgResult& res) {
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      return std::move(res);
    }
    const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state != nullptr ? state : "";
    const std::string detail = "postgres " + sqlstate + ": " + PQerrorMessage(conn_);
    if (sqlstate.rfind("23", 0) == 0) {  // integrity constraint violation
      return Fail(Errc::kConflict, "conflicts with an existing record", detail);
    }
    if (sqlstate == "57014") {
      return Fail(Errc::kDeadlineExceeded, "database statement timed out", detail);
    }
    if (sqlstate.empty() || sqlstate.rfind("08", 0) == 0 || sqlstate == "40001" ||
        sqlstate == "40P01" || sqlstate.rfind("57P", 0) == 0 || PQstatus(conn_) != CONNECTION_OK) {
      return Fail(Errc::kUnavailable, "database unavailable", detail);
    }
    return Fail(Errc::kInternal, "database error", detail);
  }

  Result<PgResult> Run(std::string_view sql, const Params& params) {
    PORTLINE_RETURN_IF_ERROR(EnsureConnected());
    auto it = statements_.find(std::string(sql));
    if (it == statements_.end()) {
      if (statements_.size() >= kMaxCachedStatements &&
          PQtransactionStatus(conn_) == PQTRANS_IDLE) {
        // SQL built with variable IN lists has many shapes: keep the server's cache bounded.
        PgResult gone(PQexec(conn_, "DEALLOCATE ALL"));
        PORTLINE_RETURN_IF_ERROR(Check(gone));
        statements_.clear();
      }
      std::string name = "s" + std::to_string(next_statement_++);
      const std::string text(sql);
      PgResult prep(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr));
      PORTLINE_RETURN_IF_ERROR(Check(prep));
      it = statements_.emplace(text, std::move(name)).first;
    }
    std::vector<std::string> storage;
    storage.reserve(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i) {
      switch (params[i].kind()) {
        case Param::Kind::kNull:
          break;
        case Param::Kind::kInt:
          storage.push_back(std::to_string(params[i].int_value()));
          values[i] = storage.back().c_str();
          lengths[i] = static_cast<int>(storage.back().size());
          break;
        case Param::Kind::kText:
          storage.emplace_back(params[i].text());
          values[i] = storage.back().c_str();
          lengths[i] = static_cast<int>(storage.back().size());
          break;
      }
    }
    PgResult res(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()),
                                values.data(), lengths.data(), nullptr, 0));
    return Check(res);
  }

  PGconn* conn_;
  std::string setup_;
  static constexpr std::size_t kMaxCachedStatements = 256;
  std::unordered_map<std::string, std::string> statements_;
  std::uint64_t next_statement_ = 0;  // names stay unique across evictions
};

}  // namespace

Result<std::unique_ptr<Connection>> OpenPostgres(const std::string& url,
                                                 std::chrono::milliseconds statement_timeout) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    return Fail(Errc::kUnavailable, "cannot connect to PostgreSQL",
                "postgres connect " + RedactUrl(url) + ": " + msg);
  }
  std::string setup = "SET statement_timeout = " + std::to_string(statement_timeout.count()) +
                      "; SET client_min_messages = warning; SET TIME ZONE 'UTC'";
  auto pg = std::make_unique<PgConnection>(conn, setup);
  PORTLINE_RETURN_IF_ERROR(pg->ExecuteScript(setup));
  return std::unique_ptr<Connection>(std::move(pg));
}

}  // namespace portline::store
