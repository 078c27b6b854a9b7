#include "store/database.hpp"

#include <algorithm>
#include <bit>
#include <charconv>

namespace portline::store {

const std::string& Row::Text(std::size_t i) const {
  static const std::string kEmpty;
  const auto& c = cols.at(i);
  return c ? *c : kEmpty;
}

std::int64_t Row::Int(std::size_t i) const { return OptInt(i).value_or(0); }

std::optional<std::int64_t> Row::OptInt(std::size_t i) const {
  const auto& c = cols.at(i);
  if (!c) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  std::from_chars(c->data(), c->data() + c->size(), v);
  return v;
}

Result<std::vector<Statement>> RowStatements(std::string_view head, std::string_view tail,
                                             const std::vector<std::string_view>& casts,
                                             const Params& values, bool pad_with_nulls) {
  const std::size_t width = casts.size();
  if (width == 0 || values.size() % width != 0) {
    return Fail(Errc::kInternal, "RowStatements: values do not fill whole rows");
  }
  const std::size_t rows = values.size() / width;
  // 4,000 parameters a statement: far below SQLite's 32,766 and PostgreSQL's 65,535, and big
  // enough that a batch of workflow steps is a handful of statements.
  const std::size_t per_chunk = std::max<std::size_t>(1, 4000 / width);
  std::vector<Statement> out;
  for (std::size_t first = 0; first < rows; first += per_chunk) {
    const std::size_t n = std::min(per_chunk, rows - first);
    const std::size_t shape = pad_with_nulls ? std::min(per_chunk, std::bit_ceil(n)) : n;
    Statement& st = out.emplace_back();
    st.sql = head;
    st.sql.reserve(head.size() + tail.size() + shape * width * 12);
    st.params.assign(values.begin() + static_cast<std::ptrdiff_t>(first * width),
                     values.begin() + static_cast<std::ptrdiff_t>((first + n) * width));
    st.params.resize(shape * width, Param(nullptr));
    std::size_t k = 0;
    for (std::size_t r = 0; r < shape; ++r) {
      st.sql += r == 0 ? "(" : ", (";
      for (std::size_t col = 0; col < width; ++col) {
        st.sql += col == 0 ? "" : ", ";
        const std::string ph = "$" + std::to_string(++k);
        if (casts[col].empty()) {
          st.sql += ph;
        } else {
          st.sql += "CAST(" + ph + " AS " + std::string(casts[col]) + ")";
        }
      }
      st.sql += ")";
    }
    st.sql += tail;
  }
  return out;
}

Result<std::int64_t> ExecuteRows(Connection& c, std::string_view head, std::string_view tail,
                                 const std::vector<std::string_view>& casts, const Params& values,
                                 bool pad_with_nulls) {
  PORTLINE_ASSIGN_OR_RETURN(auto statements,
                            RowStatements(head, tail, casts, values, pad_with_nulls));
  std::int64_t changed = 0;
  for (const Statement& st : statements) {
    PORTLINE_ASSIGN_OR_RETURN(auto done, c.Execute(st.sql, st.params));
    changed += done;
  }
  return changed;
}

std::string Placeholders(std::size_t first, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += (i == 0 ? "$" : ", $") + std::to_string(first + i);
  }
  return out;
}

Result<Rows> QueryIn(Connection& c, std::string_view head, const Params& fixed,
                     const std::vector<std::string>& values, std::string_view tail) {
  Rows out;
  for (std::size_t i = 0; i < values.size(); i += 500) {
    const std::size_t end = std::min(values.size(), i + 500);
    Params params = fixed;
    for (std::size_t k = i; k < end; ++k) {
      params.emplace_back(values[k]);
    }
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query(std::string(head) + " IN (" + Placeholders(fixed.size() + 1, end - i) +
                               ")" + std::string(tail),
                           params));
    out.insert(out.end(), std::make_move_iterator(rows.begin()),
               std::make_move_iterator(rows.end()));
  }
  return out;
}

std::string PaddedInList(Params& params, const std::vector<std::string_view>& values) {
  std::string out;
  if (values.empty()) {
    return "NULL";
  }
  const std::size_t shape = std::max<std::size_t>(16, std::bit_ceil(values.size()));
  for (std::size_t i = 0; i < shape; ++i) {
    params.emplace_back(values[std::min(i, values.size() - 1)]);
    out += (i == 0 ? "$" : ", $") + std::to_string(params.size());
  }
  return out;
}

std::string MatchAny(Backend backend, std::string_view column, Params& params,
                     const std::vector<std::string_view>& values) {
  if (backend == Backend::kSqlite) {
    return std::string(column) + " IN (" + PaddedInList(params, values) + ")";
  }
  // An array literal: every element quoted, with " and \ escaped.
  std::string storage = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    storage += i == 0 ? "\"" : ",\"";
    for (const char ch : values[i]) {
      if (ch == '"' || ch == '\\') {
        storage += '\\';
      }
      storage += ch;
    }
    storage += '"';
  }
  storage += "}";
  params.emplace_back(std::move(storage));
  return std::string(column) + " = ANY(CAST($" + std::to_string(params.size()) + " AS TEXT[]))";
}

Result<void> Connection::Begin() {
  if (depth_ > 0) {
    PORTLINE_RETURN_IF_ERROR(ExecuteScript("SAVEPOINT portline_" + std::to_string(depth_)));
    ++depth_;
    return {};
  }
  PORTLINE_RETURN_IF_ERROR(BeginTop());
  depth_ = 1;
  return {};
}

Result<void> Connection::Commit() {
  if (depth_ > 1) {
    // On failure the savepoint stays open for the caller's Rollback.
    PORTLINE_RETURN_IF_ERROR(
        ExecuteScript("RELEASE SAVEPOINT portline_" + std::to_string(depth_ - 1)));
    --depth_;
    return {};
  }
  PORTLINE_RETURN_IF_ERROR(CommitTop());
  depth_ = 0;
  return {};
}

void Connection::Rollback() {
  if (depth_ > 1) {
    const std::string name = "portline_" + std::to_string(depth_ - 1);
    (void)ExecuteScript("ROLLBACK TO SAVEPOINT " + name + "; RELEASE SAVEPOINT " + name);
    --depth_;
    return;
  }
  depth_ = 0;
  RollbackTop();
}

namespace {
thread_local Database* ambient_db = nullptr;
thread_local Connection* ambient_conn = nullptr;
}  // namespace

Database::Ambient::Ambient(Database& db, Connection& conn)
    : previous_db_(ambient_db), previous_conn_(ambient_conn) {
  ambient_db = &db;
  ambient_conn = &conn;
}

Database::Ambient::~Ambient() {
  ambient_db = previous_db_;
  ambient_conn = previous_conn_;
}

bool Database::HasAmbient() const { return ambient_db == this && ambient_conn != nullptr; }

Database::Lease::~Lease() {
  if (conn_ && db_ != nullptr) {
    db_->Release(std::move(conn_));
  }
}

Database::Database(Backend backend, std::vector<std::unique_ptr<Connection>> connections,
                   std::string description)
    : backend_(backend), description_(std::move(description)), idle_(std::move(connections)) {}

Result<Database::Lease> Database::Acquire(std::chrono::milliseconds timeout) {
  if (HasAmbient()) {
    return Lease(ambient_conn);
  }
  std::unique_lock lock(mutex_);
  if (!available_.wait_for(lock, timeout, [this] { return !idle_.empty(); })) {
    return Fail(Errc::kUnavailable, "database busy: no free connection",
                "connection pool exhausted on " + description_);
  }
  auto conn = std::move(idle_.back());
  idle_.pop_back();
  return Lease(this, std::move(conn));
}

void Database::Release(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(conn));
  }
  available_.notify_one();
}

Result<void> Database::Ping() {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, Acquire(std::chrono::milliseconds(2000)));
  PORTLINE_ASSIGN_OR_RETURN(auto rows, lease->Query("SELECT 1", {}));
  if (rows.size() != 1 || rows[0].Int(0) != 1) {
    return Fail(Errc::kUnavailable, "database did not answer SELECT 1");
  }
  return {};
}

std::string RedactUrl(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return std::string(url);
  }
  const auto at = url.find('@', scheme_end + 3);
  if (at == std::string_view::npos) {
    return std::string(url);
  }
  const auto colon = url.find(':', scheme_end + 3);
  if (colon == std::string_view::npos || colon > at) {
    return std::string(url);
  }
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

}  // namespace portline::store
