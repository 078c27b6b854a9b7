#include <filesystem>
#include <system_error>

#include "store/backends.hpp"

namespace portline::store {

std::string WithConnectionDefaults(std::string_view url) {
  // Every connection has deadlines of its own: to connect, and to notice a peer that went
  // silent (TCP keepalives, and tcp_user_timeout for data that is never acknowledged), so a
  // dead database or a cut network fails a statement in seconds instead of hanging a worker.
  // A value the URL sets wins.
  static constexpr std::pair<std::string_view, std::string_view> kDefaults[] = {
      {"connect_timeout", "5"},      {"keepalives", "1"},       {"keepalives_idle", "30"},
      {"keepalives_interval", "10"}, {"keepalives_count", "3"}, {"tcp_user_timeout", "30000"}};
  std::string full(url);
  const auto query = full.find('?');
  const std::string_view present =
      query == std::string::npos ? std::string_view() : std::string_view(full).substr(query);
  std::string added;
  for (const auto& [key, value] : kDefaults) {
    const std::string k = std::string(key) + "=";
    if (present.find("?" + k) == std::string_view::npos &&
        present.find("&" + k) == std::string_view::npos) {
      added += (added.empty() && query == std::string::npos ? "?" : "&") + k + std::string(value);
    }
  }
  return full + added;
}

Result<std::unique_ptr<Database>> OpenDatabase(const StoreOptions& options) {
  const int size = std::max(1, options.pool_size);
  std::vector<std::unique_ptr<Connection>> conns;
  const std::string& url = options.database_url;
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    std::string full = WithConnectionDefaults(url);
    for (int i = 0; i < size; ++i) {
      PORTLINE_ASSIGN_OR_RETURN(auto c, OpenPostgres(full, options.statement_timeout));
      conns.push_back(std::move(c));
    }
    return std::make_unique<Database>(Backend::kPostgres, std::move(conns), RedactUrl(url));
  }
  if (!url.empty()) {
    return Fail(
        Errc::kInvalidArgument,
        "database URL must start with postgres:// or postgresql:// (got '" + RedactUrl(url) + "')");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return Fail(Errc::kUnavailable,
                "cannot create data directory " + options.data_dir + ": " + ec.message());
  }
  std::filesystem::permissions(options.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  const std::string path = (std::filesystem::path(options.data_dir) / "portline.db").string();
  auto writer = std::make_shared<WriterLock>();
  for (int i = 0; i < size; ++i) {
    PORTLINE_ASSIGN_OR_RETURN(auto c, OpenSqlite(path, options.sqlite_synchronous_full, writer));
    conns.push_back(std::move(c));
  }
  return std::make_unique<Database>(Backend::kSqlite, std::move(conns), "sqlite:" + path);
}

}  // namespace portline::store
