// `portline` admin commands as scripts use them.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <set>

#include "store/database.hpp"
#include "support/child_process.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace portline {
namespace {

using testing::RunPortline;

// `prefix` + exactly `n` characters of `alphabet` + "\n": what scripts capture.
bool IsTokenLine(const std::string& s, const std::string& prefix, std::size_t n,
                 const std::string& alphabet) {
  return s.size() == prefix.size() + n + 1 && s.rfind(prefix, 0) == 0 && s.back() == '\n' &&
         std::all_of(s.begin() + static_cast<std::ptrdiff_t>(prefix.size()), s.end() - 1,
                     [&](char c) { return alphabet.find(c) != std::string::npos; });
}

class CliTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::map<std::string, std::string> env_{{"PORTLINE_DATA_DIR", dir_.path()}};
};

TEST_F(CliTest, ScriptFriendlyOutputs) {
  auto org = RunPortline({"org", "create", "Acme", "--entitlement", "SIP"}, env_);
  ASSERT_EQ(org.exit_code, 0) << org.err;
  EXPECT_TRUE(IsTokenLine(org.out, "org_", 26, "0123456789abcdefghjkmnpqrstvwxyz")) << org.out;

  auto key = RunPortline({"key", "create", "--org", "Acme", "--name", "ci"}, env_);
  ASSERT_EQ(key.exit_code, 0) << key.err;
  EXPECT_TRUE(IsTokenLine(key.out, "pl_", 48, "0123456789abcdef")) << key.out;

  auto list = RunPortline({"org", "list"}, env_);
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("Acme\tSIP"), std::string::npos) << list.out;

  auto keys = RunPortline({"key", "list", "--org", "Acme"}, env_);
  EXPECT_NE(keys.out.find("\tci\tpl_"), std::string::npos) << keys.out;
  EXPECT_EQ(keys.out.find(key.out.substr(0, 51)), std::string::npos);  // secrets never listed
  const std::string key_id = keys.out.substr(0, keys.out.find('\t'));

  auto revoke = RunPortline({"key", "revoke", key_id, "--org", "Acme"}, env_);
  EXPECT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_NE(RunPortline({"key", "list", "--org", "Acme"}, env_).out.find("revoked"),
            std::string::npos);

  auto entitle = RunPortline({"org", "entitle", "Acme", "SIP", "--revoke"}, env_);
  EXPECT_EQ(entitle.exit_code, 0);
  EXPECT_NE(entitle.out.find("\t-"), std::string::npos);
}

TEST_F(CliTest, PortRequestsAndTheSandboxFromTheCommandLine) {
  ASSERT_EQ(
      RunPortline({"org", "create", "sb", "--sandbox", "--entitlement", "SIP"}, env_).exit_code, 0);
  EXPECT_NE(RunPortline({"org", "list"}, env_).out.find("\tsandbox\t"), std::string::npos);
  const std::string body = R"({"phone_numbers": ["+12125550101", "+12125550102"],
      "losing_carrier_information": {"customer_type": "personal", "first_name": "Ann",
      "last_name": "Lee", "account_number": "A-1", "authorized_representative_email":
      "ann@example.com", "address": {"street": "1 Elm St", "city": "New York", "state": "NY",
      "zip": "10001"}}})";
  auto created = RunPortline({"port", "create", "--org", "sb", "--json", body}, env_);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const auto at = created.out.find("\"port_request_id\":\"");
  ASSERT_NE(at, std::string::npos) << created.out;
  const std::string id = created.out.substr(at + 19, created.out.find('"', at + 19) - at - 19);
  EXPECT_EQ(created.out.find("A-1"), std::string::npos) << "account numbers are never printed";
  // Links name where the server is reached: server.public_url, else the configured listener.
  auto listen_env = env_;
  listen_env["PORTLINE_LISTEN"] = "127.0.0.1:9123";
  const std::string other = R"({"phone_numbers": ["+12125550103"], "losing_carrier_information":
      {"customer_type": "personal", "first_name": "Ann", "last_name": "Lee", "account_number":
      "A-1", "authorized_representative_email": "ann@example.com", "address": {"street":
      "1 Elm St", "city": "New York", "state": "NY", "zip": "10001"}}})";
  auto on_listener = RunPortline({"port", "create", "--org", "sb", "--json", other}, listen_env);
  EXPECT_NE(on_listener.out.find("\"http://127.0.0.1:9123/sign/"), std::string::npos)
      << on_listener.out;
  auto public_env = env_;
  public_env["PORTLINE_PUBLIC_URL"] = "https://port.example.com";
  std::string another = other;
  another.replace(another.find("+12125550103"), 12, "+12125550104");
  auto on_public = RunPortline({"port", "create", "--org", "sb", "--json", another}, public_env);
  EXPECT_NE(on_public.out.find("\"https://port.example.com/sign/"), std::string::npos)
      << on_public.out;

  auto list = RunPortline({"port", "list", "--org", "sb"}, env_);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(id + " "), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("waiting_for_signature"), std::string::npos) << list.out;

  auto note =
      RunPortline({"port", "notes", "--org", "sb", id, "--add", "called the customer"}, env_);
  EXPECT_EQ(note.exit_code, 0) << note.err;
  EXPECT_NE(RunPortline({"port", "notes", "--org", "sb", id}, env_).out.find("called the"),
            std::string::npos);
  auto one = RunPortline({"port", "cancel", "--org", "sb", id, "--number", "+12125550102"}, env_);
  EXPECT_EQ(one.exit_code, 0) << one.err;
  auto cancel = RunPortline({"port", "cancel", "--org", "sb", id}, env_);
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_NE(RunPortline({"port", "show", "--org", "sb", id}, env_).out.find("\"canceled\""),
            std::string::npos);
  EXPECT_NE(RunPortline({"port", "events", "--org", "sb", id}, env_).out.find("port.canceled"),
            std::string::npos);
  EXPECT_NE(RunPortline({"port", "show", "--org", "sb", "port_nope"}, env_).exit_code, 0);
  // What the CLI changed reached the webhook outbox, as a change through the API does.
  {
    store::StoreOptions so;
    so.data_dir = dir_.path();
    so.pool_size = 1;
    auto db = store::OpenDatabase(so);
    ASSERT_TRUE(db) << db.error().message;
    auto lease = (*db)->Acquire();
    ASSERT_TRUE(lease);
    auto rows = (*lease)->Query("SELECT type FROM webhook_events WHERE request_id = $1", {id});
    ASSERT_TRUE(rows);
    std::set<std::string> types;
    for (const auto& r : *rows) {
      types.insert(r.Text(0));
    }
    for (const char* t : {"port.created", "port.note_created", "port.canceled"}) {
      EXPECT_EQ(types.count(t), 1U) << t;
    }
  }

  auto advanced = RunPortline({"sandbox", "advance", "--org", "sb", "--days", "3"}, env_);
  ASSERT_EQ(advanced.exit_code, 0) << advanced.err;
  EXPECT_NE(advanced.out.find("\"offset_seconds\":259"), std::string::npos) << advanced.out;
  EXPECT_NE(RunPortline({"sandbox", "accounts", "--org", "sb"}, env_).out.find("Acme Corp"),
            std::string::npos);
  // Live organizations have no sandbox.
  ASSERT_EQ(RunPortline({"org", "create", "live"}, env_).exit_code, 0);
  EXPECT_NE(RunPortline({"sandbox", "clock", "--org", "live"}, env_).exit_code, 0);
}

TEST_F(CliTest, RotateRevokesPreviousKeysWithTheSameName) {
  ASSERT_EQ(RunPortline({"org", "create", "o"}, env_).exit_code, 0);
  ASSERT_EQ(RunPortline({"key", "create", "--org", "o", "--name", "run"}, env_).exit_code, 0);
  ASSERT_EQ(
      RunPortline({"key", "create", "--org", "o", "--name", "run", "--rotate"}, env_).exit_code, 0);
  const auto out = RunPortline({"key", "list", "--org", "o"}, env_).out;
  EXPECT_NE(out.find("revoked"), std::string::npos);
  EXPECT_NE(out.find("active"), std::string::npos);
}

TEST_F(CliTest, ErrorsAreClearAndExitCodesDistinct) {
  auto unknown = RunPortline({"org", "create", "x", "--entitlement", "TELEPORT"}, env_);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("unknown entitlement 'TELEPORT'"), std::string::npos);

  auto no_org = RunPortline({"key", "create", "--org", "ghost"}, env_);
  EXPECT_EQ(no_org.exit_code, 1);
  EXPECT_NE(no_org.err.find("not found"), std::string::npos);

  auto env = env_;
  env["PORTLINE_WORKERS"] = "zero";
  env["PORTLINE_LOG_LEVEL"] = "loud";
  auto bad_cfg = RunPortline({"serve", "--listen", "nowhere"}, env);
  EXPECT_EQ(bad_cfg.exit_code, 2);
  EXPECT_NE(bad_cfg.err.find("PORTLINE_WORKERS must be an integer"), std::string::npos)
      << bad_cfg.err;

  env.erase("PORTLINE_WORKERS");
  auto two = RunPortline({"serve", "--listen", "nowhere"}, env);
  EXPECT_EQ(two.exit_code, 2);
  EXPECT_NE(two.err.find("server.listen"), std::string::npos) << two.err;
  EXPECT_NE(two.err.find("log.level"), std::string::npos) << two.err;  // all problems at once

  auto missing_file = RunPortline({"migrate", "--config", "/nonexistent.json"}, env_);
  EXPECT_EQ(missing_file.exit_code, 2);
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const auto& cmd : std::vector<std::vector<std::string>>{{"--help"},
                                                               {"serve", "--help"},
                                                               {"migrate", "--help"},
                                                               {"org", "--help"},
                                                               {"org", "create", "--help"},
                                                               {"org", "list", "--help"},
                                                               {"org", "entitle", "--help"},
                                                               {"key", "--help"},
                                                               {"key", "create", "--help"},
                                                               {"key", "list", "--help"},
                                                               {"key", "revoke", "--help"},
                                                               {"trunk", "--help"},
                                                               {"trunk", "attach", "--help"},
                                                               {"trunk", "update", "--help"},
                                                               {"trunk", "detach", "--help"},
                                                               {"trunk", "show", "--help"},
                                                               {"trunk", "list", "--help"},
                                                               {"trunk", "parse", "--help"},
                                                               {"trunk", "config", "--help"}}) {
    auto r = RunPortline(cmd, env_);
    EXPECT_EQ(r.exit_code, 0) << cmd[0];
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd[0];
  }
}

TEST_F(CliTest, MigrateReportsSchemaVersion) {
  auto r = RunPortline({"migrate"}, env_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("schema at version " + std::to_string(store::LatestSchemaVersion())),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace portline

namespace portline {
namespace {

TEST_F(CliTest, TrunkCommandsSpeakTheApiEnvelope) {
  auto parse = RunPortline({"trunk", "parse", "tls://10.0.0.5:5061"}, env_);
  ASSERT_EQ(parse.exit_code, 0) << parse.err;
  EXPECT_NE(parse.out.find(R"("normalized":"sip:10.0.0.5:5061;transport=tls")"), std::string::npos);
  EXPECT_NE(parse.out.find(R"("is_private_ip":true)"), std::string::npos);

  auto attach = RunPortline({"trunk", "attach", "--org", "default", "--json",
                             R"({"phone_number": "14155550100", "service": "sip", "directions":
                                 [{"type": "outbound", "sip_endpoint": "pbx.example.com",
                                   "options": {"sip_password": "cli-secret"}}]})"},
                            env_);
  ASSERT_EQ(attach.exit_code, 0) << attach.err;
  EXPECT_NE(attach.out.find(R"("configured":["+14155550100"])"), std::string::npos) << attach.out;

  auto show = RunPortline({"trunk", "show", "--org", "default", "+14155550100"}, env_);
  EXPECT_EQ(show.exit_code, 0);
  EXPECT_NE(show.out.find("sip:pbx.example.com"), std::string::npos);
  EXPECT_EQ(show.out.find("cli-secret"), std::string::npos);
  EXPECT_NE(show.out.find("[redacted]"), std::string::npos);

  auto list = RunPortline({"trunk", "list", "--org", "default"}, env_);
  EXPECT_NE(list.out.find(R"("health_status":"unchecked")"), std::string::npos);

  const std::string cfg_file = dir_.path() + "/config.json";
  std::ofstream(cfg_file) << R"({"phone_number": "+14155550100", "direction": "outbound",
                                 "codec_config": {"codecs": ["opus", "pcmu"]}})";
  auto cfg = RunPortline({"trunk", "config", "--org", "default", "--file", cfg_file}, env_);
  EXPECT_EQ(cfg.exit_code, 0) << cfg.err;
  EXPECT_NE(cfg.out.find(R"("codecs":["Opus","PCMU"])"), std::string::npos) << cfg.out;

  auto update = RunPortline({"trunk", "update", "--org", "default", "--json",
                             R"({"phone_number": "+14155550100", "updates": {"type": "outbound",
                                 "options": {"transport": "carrier-pigeon"}}})"},
                            env_);
  EXPECT_EQ(update.exit_code, 1);
  EXPECT_NE(update.err.find("updates.options.transport"), std::string::npos) << update.err;

  auto detach = RunPortline({"trunk", "detach", "--org", "default", "--json",
                             R"({"phone_number": "+14155550100", "service": "sip"})"},
                            env_);
  EXPECT_EQ(detach.exit_code, 0);
  EXPECT_NE(detach.out.find(R"("detached":[{"phone_number":"+14155550100")"), std::string::npos);

  auto bad_json = RunPortline({"trunk", "attach", "--org", "default", "--json", "{"}, env_);
  EXPECT_EQ(bad_json.exit_code, 1);
  EXPECT_NE(bad_json.err.find("invalid JSON"), std::string::npos);
  auto no_body = RunPortline({"trunk", "attach", "--org", "default"}, env_);
  EXPECT_EQ(no_body.exit_code, 1);
  EXPECT_NE(no_body.err.find("--json"), std::string::npos);
}

}  // namespace
}  // namespace portline

namespace portline {
namespace {

TEST_F(CliTest, PortCheckTableJsonAndStdin) {
  auto table = RunPortline({"port", "check", "+14155550123", "+18005550100"}, env_);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("NUMBER"), std::string::npos);
  EXPECT_NE(table.out.find("+18005550100     no"), std::string::npos) << table.out;
  auto json = RunPortline({"port", "check", "--json", "+442079460000"}, env_);
  EXPECT_NE(json.out.find(R"("code":"unsupported_country")"), std::string::npos) << json.out;
  const std::string list = dir_.path() + "/numbers.txt";
  std::ofstream(list) << "+14155550123\n\n+12125550100\n";
  auto piped = RunPortline({"port", "check", "--json", "-"}, env_, list);
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_NE(piped.out.find(R"("phone_number":"+14155550123")"), std::string::npos) << piped.out;
  EXPECT_NE(piped.out.find(R"("phone_number":"+12125550100")"), std::string::npos) << piped.out;
  EXPECT_NE(piped.out.find(R"("total":2)"), std::string::npos);  // the blank line is skipped
}

TEST_F(CliTest, LnpImportValidatesAndInstalls) {
  const std::string csv = dir_.path() + "/in.csv";
  std::ofstream(csv) << "prefix,415555,S101\nported,4155550123,S302\nblock,41555,S101\n";
  auto bad = RunPortline({"lnp", "import", csv}, env_);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("line 3"), std::string::npos) << bad.err;
  std::ofstream(csv) << "prefix,415555,S101\nported,4155550123,S302\n";
  auto ok = RunPortline({"lnp", "import", csv}, env_);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("1 prefixes, 0 blocks, 1 ported numbers"), std::string::npos) << ok.out;
  auto env = env_;
  env["PORTLINE_LNP_FILE"] = dir_.path() + "/lnp.csv";
  auto check = RunPortline({"port", "check", "--json", "+14155550123", "+14155550124"}, env);
  EXPECT_NE(check.out.find(R"("spid":"S302")"), std::string::npos) << check.out;  // ported
  EXPECT_NE(check.out.find(R"("spid":"S101")"), std::string::npos) << check.out;  // code holder
}

TEST_F(CliTest, SipOptionsProbesAServerAndLintReportsProblems) {
  const std::uint16_t port = testing::FreePort();
  auto env = env_;
  env["PORTLINE_SIP_LISTEN"] =
      "udp:127.0.0.1:" + std::to_string(port) + ",tcp:127.0.0.1:" + std::to_string(port);
  testing::ServerProcess server({}, env);
  ASSERT_NE(server.port(), 0) << server.stderr_text();
  const std::string uri = "sip:127.0.0.1:" + std::to_string(port);
  auto udp = RunPortline({"sip", "options", uri}, env_);
  ASSERT_EQ(udp.exit_code, 0) << udp.err;
  EXPECT_NE(udp.out.find(": 200 OK in "), std::string::npos) << udp.out;
  EXPECT_NE(udp.out.find("over udp"), std::string::npos) << udp.out;
  EXPECT_NE(udp.out.find("Server:     Portline/"), std::string::npos) << udp.out;
  EXPECT_NE(udp.out.find("Allow:      OPTIONS"), std::string::npos) << udp.out;
  auto tcp = RunPortline({"sip", "options", uri, "--transport", "tcp", "--json"}, env_);
  ASSERT_EQ(tcp.exit_code, 0) << tcp.err;
  EXPECT_NE(tcp.out.find(R"("code":200)"), std::string::npos) << tcp.out;
  EXPECT_NE(tcp.out.find(R"("transport":"tcp")"), std::string::npos) << tcp.out;

  // Nobody there: exit 1 within the timeout, with the reason.
  auto dead = RunPortline({"sip", "options", "sip:127.0.0.1:" + std::to_string(testing::FreePort()),
                           "--timeout", "300"},
                          env_);
  EXPECT_EQ(dead.exit_code, 1);
  EXPECT_NE(dead.err.find("no response from 127.0.0.1:"), std::string::npos) << dead.err;
  EXPECT_EQ(RunPortline({"sip", "options", uri, "--transport", "carrier-pigeon"}, env_).exit_code,
            2);

  const std::string msg = dir_.path() + "/msg.sip";
  std::ofstream(msg)
      << "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
         "From: <sip:b@example.com>;tag=1\r\nTo: sip:a@example.com\r\n"
         "Call-ID: 1@h\r\nCSeq: 1 INVITE\r\nMax-Forwards: 300\r\n\r\n";
  auto lint = RunPortline({"sip", "lint", msg}, env_);
  EXPECT_EQ(lint.exit_code, 1);
  EXPECT_NE(lint.out.find("CSeq method 'INVITE' does not match the request method 'OPTIONS'"),
            std::string::npos)
      << lint.out;
  EXPECT_NE(lint.out.find("Max-Forwards must be an integer from 0 to 255"), std::string::npos);
  std::ofstream(msg)
      << "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
         "From: <sip:b@example.com>;tag=1\r\nTo: sip:a@example.com\r\n"
         "Call-ID: 1@h\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n\r\n";
  auto ok = RunPortline({"sip", "lint", msg}, env_);
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("ok: OPTIONS request, 6 headers"), std::string::npos) << ok.out;
}

}  // namespace
}  // namespace portline
