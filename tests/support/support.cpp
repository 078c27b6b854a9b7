#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "core/crypto.hpp"
#include "store/database.hpp"
#include "support/pg.hpp"
#include "support/temp_dir.hpp"

namespace portline::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/portline-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::abort();
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::optional<std::string> PgDsn() {
  const char* dsn = std::getenv("PORTLINE_TEST_PG_DSN");  // NOLINT(concurrency-mt-unsafe)
  if (dsn == nullptr || *dsn == '\0') {
    return std::nullopt;
  }
  return std::string(dsn);
}

bool PgRequired() {
  const char* v = std::getenv("PORTLINE_REQUIRE_PG");  // NOLINT(concurrency-mt-unsafe)
  return v != nullptr && std::string(v) == "1";
}

std::string FreshPgDatabase() {
  const auto dsn = PgDsn();
  if (!dsn) {
    ADD_FAILURE() << "no PostgreSQL DSN";
    return {};
  }
  InitCrypto();
  store::StoreOptions opts;
  opts.database_url = *dsn;
  opts.pool_size = 1;
  auto db = store::OpenDatabase(opts);
  if (!db) {
    ADD_FAILURE() << "cannot reach test PostgreSQL: " << db.error().detail;
    return {};
  }
  const std::string name = "portline_t_" + RandomHex(8);
  auto lease = (*db)->Acquire();
  if (!lease) {
    ADD_FAILURE() << lease.error().message;
    return {};
  }
  if (auto r = (*lease)->ExecuteScript("CREATE DATABASE " + name); !r) {
    ADD_FAILURE() << "CREATE DATABASE failed: " << r.error().detail;
    return {};
  }
  // Replace the database name (last path segment before any query) in the DSN.
  std::string url = *dsn;
  const auto query = url.find('?');
  const auto slash = url.rfind('/', query);
  return url.substr(0, slash + 1) + name +
         (query == std::string::npos ? std::string() : url.substr(query));
}

}  // namespace portline::testing
