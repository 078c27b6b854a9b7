#pragma once

#include <optional>
#include <string>

namespace portline::testing {

/// PORTLINE_TEST_PG_DSN (set by `make test`, which starts a throwaway PostgreSQL), if any.
[[nodiscard]] std::optional<std::string> PgDsn();

/// Whether PostgreSQL tests must run: PORTLINE_REQUIRE_PG=1 turns a missing DSN into a failure
/// instead of a skip, so CI can never pass by skipping them.
[[nodiscard]] bool PgRequired();

/// Creates an empty database on the test server and returns its postgres:// URL. Aborts the
/// test (ADD_FAILURE + empty string) if the server is unreachable.
[[nodiscard]] std::string FreshPgDatabase();

}  // namespace portline::testing

/// In a test body: skip (or fail, when required) if there is no PostgreSQL server.
#define PORTLINE_REQUIRE_PG_OR_SKIP()                                          \
  do {                                                                         \
    if (!::portline::testing::PgDsn()) {                                       \
      if (::portline::testing::PgRequired()) {                                 \
        FAIL() << "PORTLINE_REQUIRE_PG=1 but PORTLINE_TEST_PG_DSN is not set"; \
      }                                                                        \
      GTEST_SKIP() << "PORTLINE_TEST_PG_DSN not set";                          \
    }                                                                          \
  } while (false)
