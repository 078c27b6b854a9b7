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
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(spid(), "S302");
  EXPECT_NE(server.stderr_text().find("lnp reload failed"), std::string::npos);
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace portline
