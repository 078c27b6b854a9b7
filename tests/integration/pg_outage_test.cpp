// PostgreSQL goes away under a running server and comes back: readiness turns 503, requests get
// a clean 503 in the envelope, the server stays up, and it reconnects by itself afterwards.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <thread>

#include "support/http_client.hpp"
#include "support/pg.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace portline {
namespace {

std::string Sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (p != nullptr && fgets(buf, sizeof buf, p) != nullptr) {
    out += buf;
  }
  if (p != nullptr) {
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

TEST(PgOutageTest, ServerDegradesCleanlyAndReconnects) {
  PORTLINE_REQUIRE_PG_OR_SKIP();  // needs the PostgreSQL server binaries make test installs
  const std::string script = PORTLINE_SOURCE_DIR "/scripts/pg-test.sh";
  testing::TempDir dir;
  // Directly under /tmp: the server runs as 'postgres' and cannot enter our 0700 temp dir.
  const std::string pg = Sh("mktemp -d /tmp/portline-pg-outage-XXXXXX");
  const std::string dsn = Sh(script + " start " + pg);
  struct Cleanup {
    std::string cmd;
    ~Cleanup() { (void)std::system(cmd.c_str()); }  // NOLINT(concurrency-mt-unsafe)
  } cleanup{script + " stop " + pg};
  ASSERT_EQ(dsn.rfind("postgres://", 0), 0U) << dsn;

  const std::map<std::string, std::string> env = {{"PORTLINE_DATA_DIR", dir.path() + "/data"},
                                                  {"PORTLINE_DATABASE_URL", dsn},
                                                  {"PORTLINE_RATE_LIMIT_PER_SECOND", "0"}};
  testing::ServerProcess server({}, env);
  ASSERT_NE(server.port(), 0) << server.stderr_text();
  auto key = testing::RunPortline({"key", "create", "--org", "default"}, env);
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::map<std::string, std::string> auth = {
      {"Authorization", "Bearer " + key.out.substr(0, key.out.find('\n'))}};
  auto status = [&](const std::string& path) {
    auto r = testing::HttpRequest(server.port(), "GET", path, "", auth);
    return r ? r->status : 0;
  };
  ASSERT_EQ(status("/readyz"), 200);
  ASSERT_EQ(status("/v1/organization"), 200);

  Sh(script + " pause " + pg);
  EXPECT_EQ(status("/readyz"), 503);
  auto down = testing::HttpRequest(server.port(), "GET", "/v1/organization", "", auth);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503);
  EXPECT_EQ(boost::json::parse(down->body).at("errors").at(0).at("error").as_string(),
            "UNAVAILABLE");
  EXPECT_EQ(down->body.find("postgres"), std::string::npos);  // no internals in the answer
  EXPECT_EQ(status("/healthz"), 200);                         // the process is fine

  Sh(script + " resume " + pg);
  int recovered = 0;
  for (int i = 0; i < 100 && recovered != 200; ++i) {  // bounded wait for reconnection
    recovered = status("/v1/organization");
    if (recovered != 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(recovered, 200) << server.stderr_text();
  EXPECT_EQ(status("/readyz"), 200);
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace portline
