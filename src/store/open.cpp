#include <filesystem>
#include <system_error>

#include "store/backends.hpp"

namespace portline::store {

Result<std::unique_ptr<Database>> OpenDatabase(const StoreOptions& options) {
  const int size = std::max(1, options.pool_size);
  std::vector<std::unique_ptr<Connection>> conns;
  const std::string& url = options.database_url;
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    std::string full = url;
    if (full.find("connect_timeout=") == std::string::npos) {
      full += (full.find('?') == std::string::npos ? "?" : "&");
      full += "connect_timeout=5";
    }
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
  auto writer = std::make_shared<std::timed_mutex>();
  for (int i = 0; i < size; ++i) {
    PORTLINE_ASSIGN_OR_RETURN(auto c, OpenSqlite(path, options.sqlite_synchronous_full, writer));
    conns.push_back(std::move(c));
  }
  return std::make_unique<Database>(Backend::kSqlite, std::move(conns), "sqlite:" + path);
}

}  // namespace portline::store
