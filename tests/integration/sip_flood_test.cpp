// `portline serve` under a SIP connection flood with a small descriptor limit: the SIP caps hold,
// the HTTP API keeps answering and SIP over UDP keeps working.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace portline {
namespace {

using namespace std::chrono_literals;

// The value of an unlabelled metric, or -1.
long Metric(std::uint16_t port, const std::string& name) {
  auto m = testing::HttpRequest(port, "GET", "/metrics");
  if (!m || m->status != 200) {
    return -1;
  }
  const std::string line = "\n" + name + " ";
  const auto at = m->body.find(line);
  return at == std::string::npos ? -1 : std::stol(m->body.substr(at + line.size()));
}

TEST(SipFlood, TheApiKeepsAnsweringWhileSipConnectionsFlood) {
  // The flood needs more descriptors than the server gets.
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  lim.rlim_cur = lim.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
  ASSERT_GE(lim.rlim_cur, 2048u);

  testing::TempDir dir;
  const std::uint16_t sip_port = testing::FreePort();
  const std::string sip = "127.0.0.1:" + std::to_string(sip_port);
  const std::map<std::string, std::string> env{
      {"PORTLINE_DATA_DIR", dir.path()},
      {"PORTLINE_SIP_LISTEN", "udp:" + sip + ",tcp:" + sip},
      {"PORTLINE_RATE_LIMIT_PER_SECOND", "0"}};
  // 512 descriptors: 64 reserved, 112 for SIP connections in, 112 out, 224 for HTTP.
  testing::ServerProcess server({}, env, 512);
  ASSERT_NE(server.port(), 0) << server.stderr_text();
  ASSERT_NE(server.stderr_text().find("connection caps lowered"), std::string::npos);

  // 15 source addresses × 40 connections, all held open: more than the process's descriptors.
  std::vector<int> held;
  for (int host = 2; host <= 16; ++host) {
    for (int i = 0; i < 40; ++i) {
      const int s = testing::ConnectTcpFrom("127.0.0." + std::to_string(host), sip_port);
      if (s >= 0) {
        held.push_back(s);
      }
    }
  }
  ASSERT_EQ(held.size(), 600u);
  const long attempts = static_cast<long>(held.size());
  long open = -1;
  long rejected = -1;
  for (int i = 0; i < 200 && open + rejected < attempts; ++i) {
    std::this_thread::sleep_for(50ms);  // the metrics are published once a second
    open = Metric(server.port(), "portline_sip_connections_open");
    rejected = Metric(server.port(), "portline_sip_connections_rejected_total");
  }
  EXPECT_EQ(open + rejected, attempts) << server.stderr_text();
  EXPECT_LE(open, 112);
  EXPECT_GE(open, 100);  // the cap, not something else, did the refusing

  // The API answers, on many fresh connections at once.
  std::vector<std::unique_ptr<testing::HttpConnection>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(std::make_unique<testing::HttpConnection>(server.port(), 5s));
    ASSERT_TRUE(clients.back()->connected());
  }
  for (auto& c : clients) {
    auto r = c->Request("GET", "/healthz");
    ASSERT_TRUE(r) << server.stderr_text();
    EXPECT_EQ(r->status, 200);
  }

  // SIP over UDP is unaffected.
  auto probe = testing::RunPortline({"sip", "options", "sip:" + sip, "--timeout", "3000"}, env);
  EXPECT_EQ(probe.exit_code, 0) << probe.out << probe.err;
  EXPECT_NE(probe.out.find(": 200 OK in "), std::string::npos) << probe.out;

  for (int s : held) {
    ::close(s);
  }
}

}  // namespace
}  // namespace portline
