#include "config/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/temp_dir.hpp"

namespace portline::config {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ConfigTest, ExampleFileLoadsAndDocumentsEveryKey) {
  const std::string text = ReadFile(PORTLINE_EXAMPLE_CONFIG);
  ASSERT_FALSE(text.empty());
  Config cfg;
  auto r = ApplyJson(cfg, text);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(Validate(cfg));
  for (const auto& [path, env] : KeyList()) {
    const auto leaf = path.substr(path.find('.') + 1);
    EXPECT_NE(text.find("\"" + leaf + "\""), std::string::npos) << path << " not in example";
  }
}

TEST(ConfigTest, SipListenersAndTlsAreValidated) {
  auto listeners = ParseSipListen("udp:127.0.0.1:5060, tcp:[::1]:5060,tls:0.0.0.0:5061");
  ASSERT_TRUE(listeners) << listeners.error().message;
  ASSERT_EQ(listeners->size(), 3u);
  EXPECT_EQ((*listeners)[1].transport, "tcp");
  EXPECT_EQ((*listeners)[1].host, "::1");
  EXPECT_EQ((*listeners)[2].port, 5061);
  EXPECT_FALSE(ParseSipListen("sctp:127.0.0.1:5060"));
  EXPECT_FALSE(ParseSipListen("udp:127.0.0.1"));
  EXPECT_FALSE(ParseSipListen("127.0.0.1:5060"));

  Config cfg;
  cfg.sip_listen = "tls:127.0.0.1:5061";
  cfg.sip_tls_verify = "sometimes";
  cfg.sip_t1_ms = 5;
  cfg.sip_dns_servers = "127.0.0.1";
  auto r = Validate(cfg);
  ASSERT_FALSE(r);
  std::string all;
  for (const auto& f : r.error().fields) {
    all += f.field + ": " + f.message + "\n";
  }
  EXPECT_NE(all.find("sip.listen: sip.listen a tls listener needs sip.tls_cert_file"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("sip.tls_verify"), std::string::npos) << all;
  EXPECT_NE(all.find("sip.t1_ms"), std::string::npos) << all;
  EXPECT_NE(all.find("sip.dns_servers"), std::string::npos) << all;
}

TEST(ConfigTest, PrecedenceDefaultsFileEnvFlags) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/c.json";
  std::ofstream(file) << R"({"server": {"listen": "127.0.0.1:1111", "workers": 3},
                            "storage": {"data_dir": "/from-file"}})";
  Flags flags;
  flags.config_file = file;
  auto only_file = Load(flags, {});
  ASSERT_TRUE(only_file);
  EXPECT_EQ(only_file->listen, "127.0.0.1:1111");
  EXPECT_EQ(only_file->workers, 3);
  EXPECT_EQ(only_file->idle_timeout_ms, 60000);  // default kept

  auto with_env = Load(flags, {"PORTLINE_LISTEN=127.0.0.1:2222", "PORTLINE_DATA_DIR=/from-env"});
  ASSERT_TRUE(with_env);
  EXPECT_EQ(with_env->listen, "127.0.0.1:2222");
  EXPECT_EQ(with_env->data_dir, "/from-env");
  EXPECT_EQ(with_env->workers, 3);

  flags.listen = "127.0.0.1:3333";
  auto with_flag = Load(flags, {"PORTLINE_LISTEN=127.0.0.1:2222"});
  ASSERT_TRUE(with_flag);
  EXPECT_EQ(with_flag->listen, "127.0.0.1:3333");

  Flags via_env_file;
  auto env_file = Load(via_env_file, {"PORTLINE_CONFIG=" + file});
  ASSERT_TRUE(env_file);
  EXPECT_EQ(env_file->data_dir, "/from-file");
}

TEST(ConfigTest, UnknownKeysAndBadTypesAreAllReported) {
  Config cfg;
  auto r = ApplyJson(cfg, R"({"server": {"listn": "x", "workers": "four"}, "bogus": 1})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().fields.size(), 3U);
}

TEST(ConfigTest, ValidationListsEveryProblem) {
  Config cfg;
  cfg.listen = "nowhere";
  cfg.workers = 0;
  cfg.log_level = "loud";
  cfg.database_url = "mysql://x";
  auto r = Validate(cfg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().fields.size(), 4U);
}

TEST(ConfigTest, EnvironmentValuesAreTyped) {
  Config cfg;
  EXPECT_FALSE(ApplyEnvironment(cfg, {"PORTLINE_WORKERS=many"}));
  EXPECT_TRUE(ApplyEnvironment(cfg, {"PORTLINE_WORKERS=8", "PORTLINE_ACCESS_LOG=false",
                                     "PORTLINE_RATE_LIMIT_PER_SECOND=2.5", "PATH=/bin"}));
  EXPECT_EQ(cfg.workers, 8);
  EXPECT_FALSE(cfg.access_log);
  EXPECT_DOUBLE_EQ(cfg.rate_limit_per_second, 2.5);
}

TEST(ConfigTest, SplitHostPort) {
  auto v4 = SplitHostPort("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->first, "127.0.0.1");
  EXPECT_EQ(v4->second, 8080);
  auto v6 = SplitHostPort("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->first, "::1");
  for (const char* bad : {"", "host", ":80", "host:", "host:65536", "host:8x", "[::1]80"}) {
    EXPECT_FALSE(SplitHostPort(bad)) << bad;
  }
}

TEST(ConfigTest, DescriptorBudgetKeepsRoomForTheApiWhateverSipIsGiven) {
  Config c;
  // A generous limit changes nothing.
  DescriptorBudget roomy = BudgetDescriptors(c, 1u << 20);
  EXPECT_FALSE(roomy.reduced);
  EXPECT_EQ(roomy.sip_incoming, 1024u);
  EXPECT_EQ(roomy.sip_outgoing, 1024u);
  EXPECT_EQ(roomy.http_connections, 10000u);
  EXPECT_EQ(roomy.reserved, 1024u);

  // A tight one: SIP streams get a quarter each, HTTP the rest, and a reserve stays free.
  c.sip_max_connections = 100000;
  c.sip_max_outgoing_connections = 100000;
  c.max_connections = 1000000;
  DescriptorBudget tight = BudgetDescriptors(c, 512);
  EXPECT_TRUE(tight.reduced);
  EXPECT_EQ(tight.reserved, 64u);
  EXPECT_EQ(tight.sip_incoming, 112u);
  EXPECT_EQ(tight.sip_outgoing, 112u);
  EXPECT_EQ(tight.http_connections, 224u);
  EXPECT_EQ(tight.reserved + tight.sip_incoming + tight.sip_outgoing + tight.http_connections,
            512u);

  // Absurdly small: every cap stays at least 1.
  DescriptorBudget tiny = BudgetDescriptors(c, 10);
  EXPECT_EQ(tiny.sip_incoming, 1u);
  EXPECT_EQ(tiny.http_connections, 1u);
}

}  // namespace
}  // namespace portline::config
