// Interop with real SIP peers from Debian on loopback: SIPp (sip-tester) as UAS and UAC over UDP
// and TCP, and Kamailio 5.6 answering OPTIONS over UDP, TCP and TLS and relaying a UDP OPTIONS
// to Portline over TLS. Debian's SIPp is built without OpenSSL ("To use a TLS transport you
// must compile SIPp with OpenSSL"), so Kamailio is the TLS peer in both directions.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <thread>

#include "sip/endpoint.hpp"
#include "support/child_process.hpp"
#include "support/run_task.hpp"
#include "support/temp_dir.hpp"

namespace portline::sip {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::FindProgram;
using testing::FreePort;
using testing::RunTask;

// Runs the io_context (our endpoint) until the child exits; returns its exit code.
std::optional<int> PumpUntilExit(asio::io_context& io, ChildProcess& child,
                                 std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_for(20ms);
    if (auto code = child.Wait(0ms)) {
      return code;
    }
  }
  return std::nullopt;
}

class SipInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sipp_ = FindProgram("sipp");
    kamailio_ = FindProgram("kamailio");
    ASSERT_FALSE(sipp_.empty()) << "sipp (Debian sip-tester) is not installed";
    ASSERT_FALSE(kamailio_.empty()) << "kamailio is not installed";
    ASSERT_TRUE(testing::MakeTestCertificates(dir_.path()));
  }

  std::string Data(const std::string& f) const {
    return std::string(PORTLINE_TEST_DATA_DIR) + "/sipp/" + f;
  }
  std::string Path(const std::string& f) const { return dir_.path() + "/" + f; }

  EndpointOptions Options() const {
    EndpointOptions o;
    o.user_agent = "Portline-interop";
    o.tls.cert_file = Path("server.crt");
    o.tls.key_file = Path("server.key");
    o.tls.ca_file = Path("ca.crt");
    return o;
  }

  // Kamailio with UDP+TCP on `port` and TLS on `tls_port`; OPTIONS to user "portline" are relayed
  // to Portline's TLS listener, other OPTIONS are answered by Kamailio itself.
  std::unique_ptr<ChildProcess> StartKamailio(std::uint16_t port, std::uint16_t tls_port,
                                              std::uint16_t portline_tls_port,
                                              std::uint16_t mtls_port) {
    std::ofstream(Path("tls.cfg")) << "[server:default]\nmethod = TLSv1.2+\n"
                                      "verify_certificate = no\nrequire_certificate = no\n"
                                   << "private_key = " << Path("server.key") << "\n"
                                   << "certificate = " << Path("server.crt") << "\n\n"
                                   << "[server:127.0.0.1:" << mtls_port
                                   << "]\nmethod = TLSv1.2+\n"
                                      "verify_certificate = yes\nrequire_certificate = yes\n"
                                   << "ca_list = " << Path("ca.crt") << "\n"
                                   << "private_key = " << Path("server.key") << "\n"
                                   << "certificate = " << Path("server.crt") << "\n\n"
                                   << "[client:default]\nmethod = TLSv1.2+\n"
                                      "verify_certificate = yes\nrequire_certificate = yes\n"
                                   << "ca_list = " << Path("ca.crt") << "\n";
    const std::string p = std::to_string(port);
    std::ofstream(Path("kamailio.cfg"))
        << "#!KAMAILIO\n"
           "debug=2\nlog_stderror=yes\nchildren=1\ntcp_children=1\nauto_aliases=no\n"
           "enable_tls=yes\n"
        << "listen=udp:127.0.0.1:" << p << "\nlisten=tcp:127.0.0.1:" << p
        << "\nlisten=tls:127.0.0.1:" << tls_port << "\nlisten=tls:127.0.0.1:" << mtls_port << "\n"
        << "mpath=\"" << testing::KamailioModuleDir()
        << "\"\n"
           "loadmodule \"tls.so\"\nloadmodule \"sl.so\"\nloadmodule \"tm.so\"\n"
           "loadmodule \"pv.so\"\nloadmodule \"siputils.so\"\nloadmodule \"textops.so\"\n"
        << "modparam(\"tls\", \"config\", \"" << Path("tls.cfg") << "\")\n"
        << "request_route {\n"
           "  if (is_method(\"OPTIONS\") && $rU == \"portline\") {\n"
           "    $du = \"sip:127.0.0.1:"
        << portline_tls_port
        << ";transport=tls\";\n"
           "    t_relay();\n    exit;\n  }\n"
           "  if (is_method(\"OPTIONS\")) { options_reply(); exit; }\n"
           "  sl_send_reply(\"405\", \"Method Not Allowed\");\n}\n";
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{kamailio_, "-f", Path("kamailio.cfg"), "-DD", "-E", "-m", "64",
                                 "-M", "8", "-Y", dir_.path(), "-w", dir_.path()},
        dir_.path(), "kamailio");
  }

  testing::TempDir dir_;
  std::string sipp_;
  std::string kamailio_;
  asio::io_context io_;
};

TEST_F(SipInteropTest, SippAsUasAnswersOurOptions) {
  Endpoint client(io_, Options());
  ASSERT_TRUE(client.Start());
  for (const std::string mode : {"u1", "t1"}) {
    SCOPED_TRACE(mode);
    const std::uint16_t port = FreePort();
    ChildProcess sipp(
        {sipp_, "-sf", Data("uas_options.xml"), "-i", "127.0.0.1", "-p", std::to_string(port), "-t",
         mode, "-m", "1", "-nostdin", "-mi", "127.0.0.1", "-mp", "20000"},
        dir_.path(), "sipp-uas-" + mode);
    ASSERT_TRUE(testing::WaitForListener(mode == "u1", port)) << sipp.Output();
    OptionsRequest req;
    req.uri = "sip:127.0.0.1:" + std::to_string(port);
    req.transport = mode == "u1" ? Transport::kUdp : Transport::kTcp;
    req.timeout = 3s;
    auto r = RunTask(io_, client.Options(req));
    ASSERT_TRUE(r) << r.error().message << "\n" << sipp.Output();
    EXPECT_EQ(r->code, 200);
    EXPECT_EQ(r->server, "SIPp-interop");
    EXPECT_EQ(r->allow, "INVITE, ACK, BYE, CANCEL, OPTIONS, REFER");
    EXPECT_EQ(r->supported, "replaces, timer");
    EXPECT_EQ(r->codecs, (std::vector<std::string>{"PCMU", "PCMA", "telephone-event"}));
    EXPECT_EQ(PumpUntilExit(io_, sipp, 10s), 0) << sipp.Output();
  }
}

TEST_F(SipInteropTest, SippAsUacPingsUs) {
  EndpointOptions o = Options();
  o.listeners = {{Transport::kUdp, "127.0.0.1", 0}, {Transport::kTcp, "127.0.0.1", 0}};
  Endpoint server(io_, o);
  ASSERT_TRUE(server.Start());
  for (const auto& b : server.Listeners()) {
    const std::string mode = b.transport == Transport::kUdp ? "u1" : "t1";
    SCOPED_TRACE(mode);
    ChildProcess sipp({sipp_, "-sf", Data("uac_options.xml"), "127.0.0.1:" + std::to_string(b.port),
                       "-i", "127.0.0.1", "-p", std::to_string(FreePort()), "-t", mode, "-s",
                       "portline", "-m", "50", "-r", "100", "-nostdin", "-timeout", "20s"},
                      dir_.path(), "sipp-uac-" + mode);
    EXPECT_EQ(PumpUntilExit(io_, sipp, 30s), 0) << sipp.Output();
  }
  EXPECT_GE(server.GetStats().received, 100u);
  EXPECT_EQ(server.GetStats().malformed, 0u);
}

TEST_F(SipInteropTest, KamailioAnswersOptionsOverUdpTcpTlsAndRelaysToUsOverTls) {
  EndpointOptions o = Options();
  o.listeners = {{Transport::kTls, "127.0.0.1", 0}};
  Endpoint portline(io_, o);
  ASSERT_TRUE(portline.Start());
  const std::uint16_t our_tls = portline.Listeners().front().port;
  const std::uint16_t port = FreePort();
  const std::uint16_t tls_port = FreePort();
  const std::uint16_t mtls_port = FreePort();
  auto kamailio = StartKamailio(port, tls_port, our_tls, mtls_port);

  // Wait until Kamailio answers.
  Result<OptionsResult> ready = Fail(Errc::kUnavailable, "not tried");
  for (int i = 0; i < 50 && !ready; ++i) {
    ready = RunTask(
        io_, portline.Options({.uri = "sip:127.0.0.1:" + std::to_string(port), .timeout = 200ms}));
  }
  ASSERT_TRUE(ready) << ready.error().message << "\n" << kamailio->Output();

  const std::vector<std::pair<std::string, Transport>> cases = {
      {"sip:127.0.0.1:" + std::to_string(port), Transport::kUdp},
      {"sip:127.0.0.1:" + std::to_string(port) + ";transport=tcp", Transport::kTcp},
      {"sips:127.0.0.1:" + std::to_string(tls_port), Transport::kTls},  // full verification
  };
  for (const auto& [uri, transport] : cases) {
    SCOPED_TRACE(uri);
    auto r = RunTask(io_, portline.Options({.uri = uri, .timeout = 3s}));
    ASSERT_TRUE(r) << r.error().message << "\n" << kamailio->Output();
    EXPECT_EQ(r->code, 200);
    EXPECT_EQ(r->transport, transport);
    EXPECT_NE(r->server.find("kamailio"), std::string::npos) << r->server;
    EXPECT_FALSE(r->accept.empty()) << r->response;  // siputils options_reply() sends Accept
  }

  // Mutual TLS: Kamailio requires a client certificate on mtls_port.
  const std::string mtls_uri = "sips:127.0.0.1:" + std::to_string(mtls_port);
  auto anonymous = RunTask(io_, portline.Options({.uri = mtls_uri, .timeout = 3s}));
  EXPECT_FALSE(anonymous) << "Kamailio accepted a TLS client without a certificate";
  EndpointOptions with_cert = Options();
  with_cert.tls.client_certificate = true;
  Endpoint mtls_client(io_, with_cert);
  ASSERT_TRUE(mtls_client.Start());
  auto mutual = RunTask(io_, mtls_client.Options({.uri = mtls_uri, .timeout = 3s}));
  ASSERT_TRUE(mutual) << mutual.error().message << "\n" << kamailio->Output();
  EXPECT_EQ(mutual->code, 200);

  // SIPp → Kamailio (UDP) → Portline (TLS, Kamailio verifies our certificate) and back.
  ChildProcess sipp({sipp_, "-sf", Data("uac_options.xml"), "127.0.0.1:" + std::to_string(port),
                     "-i", "127.0.0.1", "-p", std::to_string(FreePort()), "-t", "u1", "-s",
                     "portline", "-m", "10", "-r", "20", "-nostdin", "-timeout", "20s"},
                    dir_.path(), "sipp-via-kamailio");
  EXPECT_EQ(PumpUntilExit(io_, sipp, 30s), 0) << sipp.Output() << "\n" << kamailio->Output();
  EXPECT_GE(portline.GetStats().received, 10u);
}

}  // namespace
}  // namespace portline::sip
