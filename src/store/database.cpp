#include "store/database.hpp"

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

Database::Lease::~Lease() {
  if (conn_ && db_ != nullptr) {
    db_->Release(std::move(conn_));
  }
}

Database::Database(Backend backend, std::vector<std::unique_ptr<Connection>> connections,
                   std::string description)
    : backend_(backend), description_(std::move(description)), idle_(std::move(connections)) {}

Result<Database::Lease> Database::Acquire(std::chrono::milliseconds timeout) {
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
