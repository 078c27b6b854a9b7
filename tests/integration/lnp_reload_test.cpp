// LNP data is replaced in a running server without downtime: on SIGHUP and when the file changes.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace portline {
namespace {

TEST(LnpReloadTest, SighupSwapsTheDataWhileServing) {
  testing::TempDir dir;
  const std::string csv = dir.path() + "/lnp.csv";
  std::ofstream(csv) << "prefix,415555,S101\n";
  const std::map<std::string, std::string> env = {{"PORTLINE_DATA_DIR", dir.path()},
                                                  {"PORTLINE_LNP_FILE", csv},
                                                  {"PORTLINE_RATE_LIMIT_PER_SECOND", "0"}};
  testing::ServerProcess server({}, env);
  ASSERT_NE(server.port(), 0) << server.stderr_text();
  auto key = testing::RunPortline({"key", "create", "--org", "default"}, env);
  const std::map<std::string, std::string> auth = {
      {"Authorization", "Bearer " + key.out.substr(0, key.out.find('\n'))}};
  auto spid = [&] {
    auto r = testing::HttpRequest(server.port(), "GET",
                                  "/v1/sip/port/check?phone_numbers[]=%2B14155550123", "", auth);
    const auto at = r ? r->body.find("\"spid\":\"") : std::string::npos;
    return at == std::string::npos ? std::string() : r->body.substr(at + 8, 4);
  };
  ASSERT_EQ(spid(), "S101");

  std::ofstream(csv) << "prefix,415555,S101\nported,4155550123,S302\n";
  server.Signal(SIGHUP);
  std::string seen;
  for (int i = 0; i < 100 && seen != "S302"; ++i) {  // bounded wait for the reload
    seen = spid();
    if (seen != "S302") {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_EQ(seen, "S302");

  // A broken file keeps the current data.
  std::ofstream(csv) << "ported,4155550123,NOPE\n";
  server.Signal(SIGHUP);
  bool refused = false;  // the reload ran and was refused: then the data must be unchanged
  for (int i = 0; i < 200 && !refused; ++i) {
    refused = server.stderr_text().find("lnp reload failed") != std::string::npos;
    if (!refused) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  EXPECT_TRUE(refused) << server.stderr_text();
  EXPECT_EQ(spid(), "S302");
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(std::chrono::seconds(10)), 0);
}

// Real LNP data refers to real carriers: `lnp import --carriers` checks the file against that
// registry and installs both; the server then answers with those carriers (and their country's
// business calendar), not the simulated ones.
TEST(LnpReloadTest, ImportedDataComesWithItsCarrierRegistry) {
  testing::TempDir dir;
  const std::string registry = dir.path() + "/registry-src.csv";
  std::ofstream(registry)
      << "# carriers of this LNP extract\n"
         "spid,ocn,name,kind,country,foc_business_days,pin_required,account_number_required,"
         "fast_port,supported\n"
         "6006,6006,\"Example Wireless, Inc.\",wireless,US,1,yes,yes,yes,yes\n"
         "7777,7777,Example Telecom Canada,wireline,CA,5,no,yes,no,yes\n";
  const std::string lnp = dir.path() + "/lnp-src.csv";
  std::ofstream(lnp) << "prefix,415555,6006\nprefix,416555,7777\n";
  const std::map<std::string, std::string> env = {{"PORTLINE_DATA_DIR", dir.path()},
                                                  {"PORTLINE_RATE_LIMIT_PER_SECOND", "0"}};
  // Without the registry, the SPIDs are unknown.
  auto refused = testing::RunPortline({"lnp", "import", lnp}, env);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("6006"), std::string::npos) << refused.err;
  auto bad_registry = dir.path() + "/bad.csv";
  std::ofstream(bad_registry) << "spid,ocn,name,kind,country,foc_business_days,pin_required,"
                                 "account_number_required,fast_port,supported\n"
                                 "6006,1,X,wireless,MX,1,yes,yes,yes,yes\n";
  auto bad = testing::RunPortline({"lnp", "import", lnp, "--carriers", bad_registry}, env);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("line 2: country 'MX' must be US or CA"), std::string::npos) << bad.err;

  auto imported = testing::RunPortline({"lnp", "import", lnp, "--carriers", registry}, env);
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  std::map<std::string, std::string> serve_env = env;
  serve_env["PORTLINE_LNP_FILE"] = dir.path() + "/lnp.csv";  // where import put it
  testing::ServerProcess server({}, serve_env);
  ASSERT_NE(server.port(), 0) << server.stderr_text();
  auto key = testing::RunPortline({"key", "create", "--org", "default"}, serve_env);
  const std::map<std::string, std::string> auth = {
      {"Authorization", "Bearer " + key.out.substr(0, key.out.find('\n'))}};
  auto r = testing::HttpRequest(
      server.port(), "GET",
      "/v1/sip/port/check?phone_numbers[]=%2B14155550123&phone_numbers[]=%2B14165550123", "", auth);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("\"name\":\"Example Wireless, Inc.\""), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"name\":\"Example Telecom Canada\""), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"data_source\":\"imported\""), std::string::npos) << r->body;
}

}  // namespace
}  // namespace portline
