// PostgreSQL adapter for store::Connection (libpq). The only file that includes libpq-fe.h.
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/resolve.hpp"
#include "store/backends.hpp"

namespace portline::store {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Opens a connection. A host given by name is looked up here, within connect_timeout, and
// handed to libpq as hostaddr (libpq's own lookup is a getaddrinfo with no deadline); `host`
// stays for TLS verification. Several hosts, sockets and hostaddr given are left to libpq.
// A name that does not resolve in time gives a connection that failed at once, and the reason
// in `lookup_error`.
PGconn* ConnectResolved(const std::string& url, std::string& lookup_error) {
  lookup_error.clear();
  char* error = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &error);
  PQfreemem(error);
  std::string host;
  std::string port = "5432";
  std::string hostaddr;
  int timeout_s = 5;
  for (PQconninfoOption* o = opts; o != nullptr && o->keyword != nullptr; ++o) {
    const std::string_view k = o->keyword;
    const std::string v = o->val != nullptr ? o->val : "";
    if (k == "host") {
      host = v;
    } else if (k == "port" && !v.empty()) {
      port = v;
    } else if (k == "hostaddr") {
      hostaddr = v;
    } else if (k == "connect_timeout" && !v.empty()) {
      timeout_s = std::max(1, std::atoi(v.c_str()));
    }
  }
  PQconninfoFree(opts);
  const bool single_name = !host.empty() && host.front() != '/' &&
                           host.find(',') == std::string::npos && hostaddr.empty() &&
                           port.find(',') == std::string::npos;
  if (single_name) {
    auto addresses =
        net::Resolve(host, static_cast<std::uint16_t>(std::atoi(port.c_str())),
                     std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s));
    const char* keys[] = {"dbname", "hostaddr", nullptr};
    if (!addresses) {
      lookup_error = addresses.error().message;
      const char* values[] = {url.c_str(), "not-resolved", nullptr};  // fails without a lookup
      return PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    }
    const char* values[] = {url.c_str(), addresses->front().text.c_str(), nullptr};
    return PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  }
  return PQconnectdb(url.c_str());
}

class PgConnection final : public Connection {
 public:
  PgConnection(PGconn* conn, std::string url, std::string setup)
      : conn_(conn), url_(std::move(url)), setup_(std::move(setup)) {}
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection() override { PQfinish(conn_); }

  // store::Connection
  [[nodiscard]] Backend backend() const override { return Backend::kPostgres; }

  Result<Rows> Query(std::string_view sql, const Params& params) override {
    PORTLINE_ASSIGN_OR_RETURN(auto res, Run(sql, params));
    return ToRows(res.get());
  }

  Result<std::int64_t> Execute(std::string_view sql, const Params& params) override {
    PORTLINE_ASSIGN_OR_RETURN(auto res, Run(sql, params));
    const char* tuples = PQcmdTuples(res.get());
    return tuples[0] == '\0' ? 0 : std::stoll(tuples);
  }

  Result<std::vector<Rows>> Pipeline(const std::vector<Statement>& statements) override {
    PORTLINE_ASSIGN_OR_RETURN(auto results, Send(statements));
    std::vector<Rows> out;
    out.reserve(results.size());
    for (const PgResult& r : results) {
      out.push_back(ToRows(r.get()));
    }
    return out;
  }

  Result<void> ExecuteScript(std::string_view sql) override {
    PORTLINE_RETURN_IF_ERROR(EnsureConnected());
    // A deferred BEGIN goes first, in the same simple-query message.
    const std::string text = begin_ ? "BEGIN; " + std::string(sql) : std::string(sql);
    PgResult res(PQexec(conn_, text.c_str()));
    PORTLINE_RETURN_IF_ERROR(Check(res));
    begin_ = false;
    return {};
  }

  Result<void> BeginTop() override {
    begin_ = true;  // deferred: sent with the first statement, no round trip of its own
    return {};
  }
  Result<void> CommitTop() override {
    if (begin_) {  // nothing ran
      begin_ = false;
      return {};
    }
    return ExecuteScript("COMMIT");
  }
  void RollbackTop() override {
    begin_ = false;
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      (void)ExecuteScript("ROLLBACK");
    }
  }

 private:
  static Rows ToRows(const PGresult* res) {
    Rows rows;
    const int n = PQntuples(res);
    const int cols = PQnfields(res);
    rows.reserve(static_cast<std::size_t>(n));
    for (int r = 0; r < n; ++r) {
      Row row;
      row.cols.reserve(static_cast<std::size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(res, r, c) != 0) {
          row.cols.emplace_back(std::nullopt);
        } else {
          row.cols.emplace_back(
              std::string(PQgetvalue(res, r, c), static_cast<std::size_t>(PQgetlength(res, r, c))));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  // A fresh connection, looked up again (the database's address may have moved).
  void Reconnect() {
    PQfinish(conn_);
    conn_ = ConnectResolved(url_, lookup_error_);
  }
  std::string ConnectError() const {
    return lookup_error_.empty() ? std::string(PQerrorMessage(conn_)) : lookup_error_;
  }

  Result<void> EnsureConnected() {
    if (PQstatus(conn_) == CONNECTION_OK) {
      return {};
    }
    Reconnect();
    statements_.clear();
    if (PQstatus(conn_) != CONNECTION_OK) {
      return Fail(Errc::kUnavailable, "database unavailable",
                  "postgres reconnect: " + ConnectError());
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
    const char* message = res ? PQresultErrorMessage(res.get()) : "";
    const std::string detail =
        "postgres " + sqlstate + ": " + (*message != '\0' ? message : PQerrorMessage(conn_));
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
    PORTLINE_ASSIGN_OR_RETURN(auto results, Send({{std::string(sql), params}}));
    return std::move(results.at(0));
  }

  // Sends a deferred BEGIN, the statements (each prepared first when this connection has not
  // prepared its text yet) and one Sync as a single pipeline, then reads every result: one round
  // trip whatever the number of statements. Returns each statement's result, or the first error.
  Result<std::vector<PgResult>> Send(const std::vector<Statement>& statements) {
    PORTLINE_RETURN_IF_ERROR(EnsureConnected());
    if (statements_.size() + statements.size() > kMaxCachedStatements &&
        PQtransactionStatus(conn_) == PQTRANS_IDLE) {
      // SQL built with variable IN lists has many shapes: keep the server's cache bounded.
      PgResult gone(PQexec(conn_, "DEALLOCATE ALL"));
      PORTLINE_RETURN_IF_ERROR(Check(gone));
      statements_.clear();
    }
    // What each result in the pipeline answers: a statement (its index), or -1 for BEGIN or a
    // new prepared statement (its text, recorded in the cache once the server accepted it).
    struct Expect {
      int statement = -1;
      const std::string* prepared_text = nullptr;
      std::string prepared_name;
    };
    std::vector<Expect> expect;
    bool sent = PQenterPipelineMode(conn_) == 1;
    auto send_plain = [&](const char* text) {
      sent = sent && PQsendQueryParams(conn_, text, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
      expect.push_back({});
    };
    if (begin_) {
      send_plain("BEGIN");
    }
    std::vector<std::string> storage;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::unordered_map<std::string_view, std::string> preparing;  // text → name, this pipeline
    for (std::size_t k = 0; k < statements.size() && sent; ++k) {
      const Statement& st = statements[k];
      std::string name;
      if (auto it = statements_.find(st.sql); it != statements_.end()) {
        name = it->second;
      } else if (auto p = preparing.find(st.sql); p != preparing.end()) {
        name = p->second;
      } else {
        name = "s" + std::to_string(next_statement_++);
        sent = sent && PQsendPrepare(conn_, name.c_str(), st.sql.c_str(), 0, nullptr) == 1;
        expect.push_back({-1, &st.sql, name});
        preparing.emplace(st.sql, name);
      }
      storage.clear();
      storage.reserve(st.params.size());
      values.assign(st.params.size(), nullptr);
      lengths.assign(st.params.size(), 0);
      for (std::size_t i = 0; i < st.params.size(); ++i) {
        switch (st.params[i].kind()) {
          case Param::Kind::kNull:
            break;
          case Param::Kind::kInt:
            storage.push_back(std::to_string(st.params[i].int_value()));
            values[i] = storage.back().c_str();
            lengths[i] = static_cast<int>(storage.back().size());
            break;
          case Param::Kind::kText:
            storage.emplace_back(st.params[i].text());
            values[i] = storage.back().c_str();
            lengths[i] = static_cast<int>(storage.back().size());
            break;
        }
      }
      sent = sent && PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(st.params.size()),
                                         values.data(), lengths.data(), nullptr, 0) == 1;
      expect.push_back({static_cast<int>(k)});
    }
    sent = sent && PQpipelineSync(conn_) == 1;
    if (!sent) {
      // The connection broke while sending: start over on a fresh one next time.
      const std::string why = PQerrorMessage(conn_);
      Reconnect();
      statements_.clear();
      begin_ = false;
      return Fail(Errc::kUnavailable, "database unavailable", "postgres send: " + why);
    }
    std::vector<PgResult> results(statements.size());
    std::optional<Error> failed;
    for (const Expect& e : expect) {
      PgResult res(PQgetResult(conn_));
      while (PGresult* extra = PQgetResult(conn_)) {  // NULL ends each command's results
        PQclear(extra);
      }
      if (res && PQresultStatus(res.get()) == PGRES_PIPELINE_ABORTED) {
        continue;  // skipped after an earlier error
      }
      if (failed) {
        continue;
      }
      auto ok = Check(res);
      if (!ok) {
        failed = std::move(ok).error();
        continue;
      }
      if (e.prepared_text != nullptr) {
        statements_.emplace(*e.prepared_text, e.prepared_name);
      } else if (e.statement >= 0) {
        results[static_cast<std::size_t>(e.statement)] = std::move(*ok);
      }
    }
    PgResult sync(PQgetResult(conn_));
    if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC ||
        PQexitPipelineMode(conn_) != 1) {
      const std::string why = PQerrorMessage(conn_);
      Reconnect();
      statements_.clear();
      begin_ = false;
      return Fail(Errc::kUnavailable, "database unavailable", "postgres pipeline: " + why);
    }
    if (begin_ && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      begin_ = false;  // the transaction is open (or failed, and Rollback ends it)
    }
    if (failed) {
      return tl::unexpected(std::move(*failed));
    }
    return results;
  }

  PGconn* conn_;
  std::string url_;
  std::string lookup_error_;
  std::string setup_;
  static constexpr std::size_t kMaxCachedStatements = 256;
  std::unordered_map<std::string, std::string> statements_;
  std::uint64_t next_statement_ = 0;  // names stay unique across evictions
  bool begin_ = false;                // a deferred BEGIN (see Begin), sent with the next statement
};

}  // namespace

Result<std::unique_ptr<Connection>> OpenPostgres(const std::string& url,
                                                 std::chrono::milliseconds statement_timeout) {
  std::string lookup_error;
  PGconn* conn = ConnectResolved(url, lookup_error);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = lookup_error.empty() ? std::string(PQerrorMessage(conn)) : lookup_error;
    PQfinish(conn);
    return Fail(Errc::kUnavailable, "cannot connect to PostgreSQL",
                "postgres connect " + RedactUrl(url) + ": " + msg);
  }
  std::string setup = "SET statement_timeout = " + std::to_string(statement_timeout.count()) +
                      "; SET client_min_messages = warning; SET TIME ZONE 'UTC'";
  auto pg = std::make_unique<PgConnection>(conn, url, setup);
  PORTLINE_RETURN_IF_ERROR(pg->ExecuteScript(setup));
  return std::unique_ptr<Connection>(std::move(pg));
}

}  // namespace portline::store
