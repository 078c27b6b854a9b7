// The SIP endpoint against itself on loopback, with a real DNS server (dnsmasq) for RFC 3263 and
// real certificates (made by the openssl tool) for TLS verification.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "core/net_guard.hpp"
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

Result<OptionsResult> Probe(asio::io_context& io, Endpoint& ep, OptionsRequest req) {
  return RunTask(io, ep.Options(std::move(req)));
}

// A plain UDP socket on 127.0.0.1 for crafted messages.
class UdpPeer {
 public:
  UdpPeer() : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    timeval tv{0, 10000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~UdpPeer() { ::close(fd_); }
  UdpPeer(const UdpPeer&) = delete;
  UdpPeer& operator=(const UdpPeer&) = delete;

  // Sends and returns the first reply ("" when none comes within `tries` × ~20 ms).
  std::string Exchange(std::uint16_t port, const std::string& bytes, asio::io_context& io,
                       int tries = 100) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    std::string out(65536, '\0');
    ssize_t n = -1;
    for (int i = 0; i < tries && n < 0; ++i) {
      io.restart();
      io.run_for(10ms);  // let the endpoint answer
      n = ::recv(fd_, out.data(), out.size(), 0);
    }
    return n > 0 ? out.substr(0, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  int fd_;
};

std::string RawUdp(std::uint16_t port, const std::string& bytes, asio::io_context& io,
                   int tries = 100) {
  UdpPeer peer;
  return peer.Exchange(port, bytes, io, tries);
}

std::string Request(std::string_view method, std::uint16_t port, std::string_view extra = "",
                    std::string_view cseq_method = "") {
  const std::string m(method);
  return m + " sip:portline@127.0.0.1:" + std::to_string(port) +
         " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=" + NewBranch() +
         ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:test@127.0.0.1>;tag=" + NewTag() +
         "\r\nTo: <sip:portline@127.0.0.1>\r\nCall-ID: " + NewTag() + "@test\r\nCSeq: 1 " +
         (cseq_method.empty() ? m : std::string(cseq_method)) + "\r\n" + std::string(extra) +
         "Content-Length: 0\r\n\r\n";
}

class SipEndpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    ASSERT_TRUE(testing::MakeTestCertificates(dir_->path()));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string Path(const std::string& f) { return dir_->path() + "/" + f; }

  EndpointOptions ServerOptions() {
    EndpointOptions o;
    o.user_agent = "Portline-test";
    o.listeners = {{Transport::kUdp, "127.0.0.1", 0},
                   {Transport::kTcp, "127.0.0.1", 0},
                   {Transport::kTls, "127.0.0.1", 0},
                   {Transport::kUdp, "::1", 0},
                   {Transport::kTcp, "::1", 0}};
    o.tls.cert_file = Path("server.crt");
    o.tls.key_file = Path("server.key");
    return o;
  }

  EndpointOptions ClientOptions(std::uint16_t dns_port = 0) {
    EndpointOptions o;
    o.user_agent = "Portline-client";
    o.tls.ca_file = Path("ca.crt");
    if (dns_port != 0) {
      o.dns_servers = {"127.0.0.1:" + std::to_string(dns_port)};
    }
    o.dns_timeout = 1000ms;
    return o;
  }

  static std::uint16_t PortOf(const Endpoint& ep, Transport t, bool v6 = false) {
    for (const auto& b : ep.Listeners()) {
      if (b.transport == t && (b.address.find(':') != std::string::npos) == v6) {
        return b.port;
      }
    }
    return 0;
  }

  static testing::TempDir* dir_;
  asio::io_context io_;
};
testing::TempDir* SipEndpointTest::dir_ = nullptr;

TEST_F(SipEndpointTest, OptionsOverUdpTcpTlsAndIpv6) {
  Endpoint server(io_, ServerOptions());
  ASSERT_TRUE(server.Start());
  Endpoint client(io_, ClientOptions());
  ASSERT_TRUE(client.Start());

  struct Case {
    std::string uri;
    Transport expect;
  };
  const std::vector<Case> cases = {
      {"sip:127.0.0.1:" + std::to_string(PortOf(server, Transport::kUdp)), Transport::kUdp},
      {"sip:127.0.0.1:" + std::to_string(PortOf(server, Transport::kTcp)) + ";transport=tcp",
       Transport::kTcp},
      {"sips:127.0.0.1:" + std::to_string(PortOf(server, Transport::kTls)), Transport::kTls},
      {"sip:[::1]:" + std::to_string(PortOf(server, Transport::kUdp, true)), Transport::kUdp},
      {"sip:[::1]:" + std::to_string(PortOf(server, Transport::kTcp, true)) + ";transport=tcp",
       Transport::kTcp},
      {"127.0.0.1:" + std::to_string(PortOf(server, Transport::kUdp)), Transport::kUdp},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.uri);
    auto r = Probe(io_, client, {.uri = c.uri, .timeout = 3s});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->code, 200);
    EXPECT_EQ(r->reason, "OK");
    EXPECT_EQ(r->transport, c.expect);
    EXPECT_EQ(r->server, "Portline-test");
    EXPECT_EQ(r->allow, "OPTIONS");
    EXPECT_EQ(r->accept, "application/sdp");
    EXPECT_GT(r->rtt_ms, 0.0);
    EXPECT_LT(r->rtt_ms, 3000.0);
    EXPECT_GE(r->transmissions, 1);  // a loaded CI box may make UDP retransmit once
  }
  // The TCP and TLS connections are reused for a second probe.
  const auto before = client.GetStats().connections;
  auto again = Probe(io_, client,
                     {.uri = "sip:127.0.0.1:" + std::to_string(PortOf(server, Transport::kTcp)) +
                             ";transport=tcp"});
  ASSERT_TRUE(again);
  EXPECT_EQ(client.GetStats().connections, before);
}

TEST_F(SipEndpointTest, DrainingAnswers503AndProbesTimeOutQuickly) {
  Endpoint server(io_, ServerOptions());
  ASSERT_TRUE(server.Start());
  Endpoint client(io_, ClientOptions());
  ASSERT_TRUE(client.Start());
  server.SetDraining(true);
  const std::string uri = "sip:127.0.0.1:" + std::to_string(PortOf(server, Transport::kUdp));
  auto r = Probe(io_, client, {.uri = uri});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->code, 503);
  server.SetDraining(false);
  EXPECT_EQ(Probe(io_, client, {.uri = uri})->code, 200);

  // Nobody listens: the probe gives up at its own timeout, long before Timer F (32 s).
  const std::size_t lingering = client.GetStats().client_transactions;  // Timer K of the above
  const auto start = std::chrono::steady_clock::now();
  auto dead =
      Probe(io_, client, {.uri = "sip:127.0.0.1:" + std::to_string(FreePort()), .timeout = 400ms});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(dead);
  EXPECT_EQ(dead.error().code, Errc::kDeadlineExceeded);
  EXPECT_LT(took, 2s);
  EXPECT_LE(client.GetStats().client_transactions, lingering);  // the dead probe is gone

  // TCP to a closed port: a transport error, at once.
  auto refused =
      Probe(io_, client, {.uri = "sip:127.0.0.1:" + std::to_string(FreePort()) + ";transport=tcp"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kUnavailable);
  EXPECT_NE(refused.error().message.find("refused"), std::string::npos) << refused.error().message;
}

TEST_F(SipEndpointTest, LargeRequestsMoveToTcpUnlessTheTransportIsExplicit) {
  const std::uint16_t port = FreePort();
  EndpointOptions so = ServerOptions();
  so.listeners = {{Transport::kUdp, "127.0.0.1", port}, {Transport::kTcp, "127.0.0.1", port}};
  Endpoint server(io_, so);
  ASSERT_TRUE(server.Start());
  Endpoint client(io_, ClientOptions());
  ASSERT_TRUE(client.Start());
  const std::string uri = "sip:127.0.0.1:" + std::to_string(port);
  OptionsRequest big{.uri = uri, .headers = {{"X-Pad", std::string(1200, 'p')}}};
  auto moved = Probe(io_, client, big);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->code, 200);
  EXPECT_EQ(moved->transport, Transport::kTcp);
  bool noted = false;
  for (const std::string& t : moved->trace) {
    noted = noted || t.find("18.1.1") != std::string::npos;
  }
  EXPECT_TRUE(noted);
  big.uri = uri + ";transport=udp";
  auto kept = Probe(io_, client, big);
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_EQ(kept->transport, Transport::kUdp);
  OptionsRequest small{.uri = uri, .headers = {{"X-Probe", "1"}}};
  EXPECT_EQ(Probe(io_, client, small)->transport, Transport::kUdp);

  OptionsRequest injected{.uri = uri, .headers = {{"X-A", "b\r\nVia: SIP/2.0/UDP evil"}}};
  auto refused = Probe(io_, client, injected);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);
}

TEST_F(SipEndpointTest, DigestChallengeIsAnswered) {
  EndpointOptions so = ServerOptions();
  so.auth.realm = "portline-test";
  so.auth.password_for = [](std::string_view user) -> std::optional<std::string> {
    if (user == "alice") {
      return std::string("s3cret!");
    }
    return std::nullopt;
  };
  Endpoint server(io_, so);
  ASSERT_TRUE(server.Start());
  Endpoint client(io_, ClientOptions());
  ASSERT_TRUE(client.Start());
  const std::string uri = "sip:127.0.0.1:" + std::to_string(PortOf(server, Transport::kUdp));

  auto anonymous = Probe(io_, client, {.uri = uri});
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->code, 401);
  auto ok = Probe(io_, client, {.uri = uri, .username = "alice", .password = "s3cret!"});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->code, 200);
  EXPECT_TRUE(ok->authenticated);
  auto wrong = Probe(io_, client, {.uri = uri, .username = "alice", .password = "nope"});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->code, 401);
  EXPECT_TRUE(wrong->authenticated);
}

TEST_F(SipEndpointTest, AnswersWhatItDoesNotHandleProperly) {
  Endpoint server(io_, ServerOptions());
  ASSERT_TRUE(server.Start());
  const std::uint16_t port = PortOf(server, Transport::kUdp);

  auto status_of = [](const std::string& reply) {
    auto m = ParseMessage(reply);
    return m ? m->Status() : 0;
  };
  EXPECT_EQ(status_of(RawUdp(port, Request("OPTIONS", port), io_)), 200);
  const std::string invite = RawUdp(port, Request("INVITE", port), io_);
  EXPECT_EQ(status_of(invite), 405);
  EXPECT_NE(invite.find("Allow: OPTIONS"), std::string::npos);
  EXPECT_EQ(status_of(RawUdp(port, Request("FROBNICATE", port), io_)), 501);
  const std::string require = RawUdp(port, Request("OPTIONS", port, "Require: 100rel\r\n"), io_);
  EXPECT_EQ(status_of(require), 420);
  EXPECT_NE(require.find("Unsupported: 100rel"), std::string::npos);
  const std::string bad = RawUdp(port, Request("OPTIONS", port, "", "INVITE"), io_);
  EXPECT_EQ(status_of(bad), 400);
  EXPECT_NE(bad.find("Warning: 399 portline"), std::string::npos) << bad;
  EXPECT_EQ(status_of(RawUdp(port, Request("CANCEL", port), io_)), 481);
  std::string v7 = Request("OPTIONS", port);
  v7.replace(v7.find("SIP/2.0\r\n"), 7, "SIP/7.0");
  EXPECT_EQ(status_of(RawUdp(port, v7, io_)), 505);
  // Garbage gets no answer and does not hurt.
  EXPECT_EQ(RawUdp(port, std::string("\x01\x02garbage\r\n\r\n"), io_, 10), "");
  EXPECT_EQ(status_of(RawUdp(port, Request("OPTIONS", port), io_)), 200);
  EXPECT_GE(server.GetStats().malformed, 2u);

  // A retransmitted request is answered from the transaction, not processed again.
  UdpPeer peer;
  const std::string once = Request("OPTIONS", port);
  const std::string first = peer.Exchange(port, once, io_);
  const std::string second = peer.Exchange(port, once, io_);
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, second);  // the same To tag: the same response, replayed
}

TEST_F(SipEndpointTest, TlsVerificationModesAndDiagnostics) {
  const std::string dnsmasq = FindProgram("dnsmasq");
  ASSERT_FALSE(dnsmasq.empty()) << "dnsmasq is not installed (scripts/install-deps.sh)";
  Endpoint server(io_, ServerOptions());
  ASSERT_TRUE(server.Start());
  const std::uint16_t tls = PortOf(server, Transport::kTls);
  const std::uint16_t dns_port = FreePort();
  ChildProcess dns(
      {dnsmasq, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
       "--listen-address=127.0.0.1", "--bind-interfaces", "--port=" + std::to_string(dns_port),
       "--user=root", "--host-record=sip.example.test,127.0.0.1",
       "--host-record=wrong.example.test,127.0.0.1"},
      dir_->path(), "dnsmasq-tls");
  ASSERT_TRUE(testing::WaitForListener(true, dns_port)) << dns.Output();

  Endpoint full(io_, ClientOptions(dns_port));
  ASSERT_TRUE(full.Start());
  auto ok = Probe(io_, full, {.uri = "sips:sip.example.test:" + std::to_string(tls)});
  ASSERT_TRUE(ok) << ok.error().message << "\n" << dns.Output();
  EXPECT_EQ(ok->code, 200);
  auto mismatch = Probe(io_, full, {.uri = "sips:wrong.example.test:" + std::to_string(tls)});
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("hostname mismatch"), std::string::npos)
      << mismatch.error().message;

  EndpointOptions no_ca = ClientOptions(dns_port);
  no_ca.tls.ca_file.clear();  // the system store does not know our test CA
  Endpoint untrusted(io_, no_ca);
  ASSERT_TRUE(untrusted.Start());
  auto issuer = Probe(io_, untrusted, {.uri = "sips:sip.example.test:" + std::to_string(tls)});
  ASSERT_FALSE(issuer);
  EXPECT_NE(issuer.error().message.find("unable to get local issuer certificate"),
            std::string::npos)
      << issuer.error().message;

  EndpointOptions chain = ClientOptions(dns_port);
  chain.tls.verify = TlsVerify::kChainOnly;
  Endpoint chain_only(io_, chain);
  ASSERT_TRUE(chain_only.Start());
  auto by_chain = Probe(io_, chain_only, {.uri = "sips:wrong.example.test:" + std::to_string(tls)});
  ASSERT_TRUE(by_chain) << by_chain.error().message;

  EndpointOptions none = no_ca;
  none.tls.verify = TlsVerify::kNone;
  Endpoint unverified(io_, none);
  ASSERT_TRUE(unverified.Start());
  EXPECT_TRUE(Probe(io_, unverified, {.uri = "sips:wrong.example.test:" + std::to_string(tls)}));
}

TEST_F(SipEndpointTest, ServerLocationWithNaptrSrvAndFailover) {
  const std::string dnsmasq = FindProgram("dnsmasq");
  ASSERT_FALSE(dnsmasq.empty()) << "dnsmasq is not installed (scripts/install-deps.sh)";
  Endpoint healthy(io_, ServerOptions());
  ASSERT_TRUE(healthy.Start());
  EndpointOptions drain_opts = ServerOptions();
  drain_opts.listeners = {{Transport::kUdp, "127.0.0.1", 0}};
  Endpoint draining(io_, drain_opts);
  ASSERT_TRUE(draining.Start());
  draining.SetDraining(true);
  const auto udp = std::to_string(PortOf(healthy, Transport::kUdp));
  const auto tcp = std::to_string(PortOf(healthy, Transport::kTcp));
  const auto drain_udp = std::to_string(PortOf(draining, Transport::kUdp));
  const auto closed = std::to_string(FreePort());
  const std::uint16_t dns_port = FreePort();
  ChildProcess dns(
      {dnsmasq, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
       "--listen-address=127.0.0.1", "--bind-interfaces", "--port=" + std::to_string(dns_port),
       "--user=root", "--local=/example.test/", "--host-record=sip.example.test,127.0.0.1",
       // NAPTR → SRV (TCP) → A
       "--naptr-record=naptr.example.test,10,50,s,SIP+D2T,,_sip._tcp.naptr.example.test",
       "--naptr-record=naptr.example.test,20,50,s,SIP+D2U,,_sip._udp.naptr.example.test",
       "--srv-host=_sip._tcp.naptr.example.test,sip.example.test," + tcp + ",10,10",
       "--srv-host=_sip._udp.naptr.example.test,sip.example.test," + udp + ",10,10",
       // No NAPTR: SRV priorities; the first target answers 503
       "--srv-host=_sip._udp.fail.example.test,sip.example.test," + drain_udp + ",10,10",
       "--srv-host=_sip._udp.fail.example.test,sip.example.test," + udp + ",20,10",
       // Transport error on the first target
       "--srv-host=_sip._tcp.refused.example.test,sip.example.test," + closed + ",10,10",
       "--srv-host=_sip._tcp.refused.example.test,sip.example.test," + tcp + ",20,10",
       // Silence (nothing on that UDP port) on the first target
       "--srv-host=_sip._udp.silent.example.test,sip.example.test," + closed + ",10,10",
       "--srv-host=_sip._udp.silent.example.test,sip.example.test," + udp + ",20,10"},
      dir_->path(), "dnsmasq-locate");
  ASSERT_TRUE(testing::WaitForListener(true, dns_port)) << dns.Output();
  Endpoint client(io_, ClientOptions(dns_port));
  ASSERT_TRUE(client.Start());

  auto naptr = Probe(io_, client, {.uri = "sip:naptr.example.test"});
  ASSERT_TRUE(naptr) << naptr.error().message << "\n" << dns.Output();
  EXPECT_EQ(naptr->code, 200);
  EXPECT_EQ(naptr->transport, Transport::kTcp);  // order 10 beats order 20
  EXPECT_EQ(naptr->remote, "127.0.0.1:" + tcp);
  ASSERT_FALSE(naptr->trace.empty());
  EXPECT_NE(naptr->trace[0].find("NAPTR naptr.example.test: 2 record(s)"), std::string::npos)
      << naptr->trace[0];

  auto failover = Probe(io_, client, {.uri = "sip:fail.example.test"});
  ASSERT_TRUE(failover) << failover.error().message;
  EXPECT_EQ(failover->code, 200);
  EXPECT_EQ(failover->remote, "127.0.0.1:" + udp);
  bool saw_503 = false;
  for (const std::string& step : failover->trace) {
    saw_503 = saw_503 || step.find("503") != std::string::npos;
  }
  EXPECT_TRUE(saw_503);

  auto refused =
      Probe(io_, client, {.uri = "sip:refused.example.test", .transport = Transport::kTcp});
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_EQ(refused->remote, "127.0.0.1:" + tcp);

  auto silent = Probe(io_, client, {.uri = "sip:silent.example.test", .timeout = 2s});
  ASSERT_TRUE(silent) << silent.error().message;
  EXPECT_EQ(silent->remote, "127.0.0.1:" + udp);  // the first target got half the budget
  bool timed_out = false;
  for (const std::string& step : silent->trace) {
    timed_out = timed_out || step.find("no response from 127.0.0.1:" + closed) != std::string::npos;
  }
  EXPECT_TRUE(timed_out);

  // The SSRF guard judges the address actually used, after DNS: a name is no disguise.
  EndpointOptions guarded = ClientOptions(dns_port);
  guarded.outbound_guard = [](const asio::ip::address& a) {
    return net::OutboundGuard().Check(a.to_string());
  };
  Endpoint strict(io_, guarded);
  ASSERT_TRUE(strict.Start());
  auto refused_by_guard = Probe(io_, strict, {.uri = "sip:naptr.example.test"});
  ASSERT_FALSE(refused_by_guard);
  EXPECT_EQ(refused_by_guard.error().code, Errc::kPermissionDenied);
  EXPECT_NE(refused_by_guard.error().message.find("127.0.0.1 is a loopback address"),
            std::string::npos)
      << refused_by_guard.error().message;
  auto allow = net::OutboundGuard::FromList({"127.0.0.0/8"});
  ASSERT_TRUE(allow);
  guarded.outbound_guard = [allowed = *allow](const asio::ip::address& a) {
    return allowed.Check(a.to_string());
  };
  Endpoint allowed_client(io_, guarded);
  ASSERT_TRUE(allowed_client.Start());
  EXPECT_TRUE(Probe(io_, allowed_client, {.uri = "sip:naptr.example.test"}));

  // An explicit port skips SRV: A lookup only.
  auto explicit_port = Probe(io_, client, {.uri = "sip:sip.example.test:" + udp});
  ASSERT_TRUE(explicit_port);
  EXPECT_EQ(explicit_port->trace.size(), 2u);  // A/AAAA, then the attempt

  auto missing = Probe(io_, client, {.uri = "sip:nowhere.example.test"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::kNotFound) << missing.error().message;
}

// A TCP connection to 127.0.0.1:port, or -1.
int ConnectLoopbackTcp(std::uint16_t port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(s);
    return -1;
  }
  return s;
}

// A request over TCP that cannot be answered the usual way (it does not parse, or carries no
// Via) gets a bare 400 on its connection rather than silence.
TEST_F(SipEndpointTest, MalformedRequestsOverTcpGet400) {
  Endpoint server(io_, ServerOptions());
  ASSERT_TRUE(server.Start());
  const std::uint16_t port = PortOf(server, Transport::kTcp);
  for (const std::string& bad :
       {std::string("OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\nContent-Length: 0\r\n\r\n"),
        std::string("OPTIONS <bad> SIP/9.9\r\nContent-Length: 0\r\n\r\n")}) {
    const int s = ConnectLoopbackTcp(port);
    ASSERT_GE(s, 0);
    ::send(s, bad.data(), bad.size(), 0);
    timeval tv{0, 20000};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string got;
    for (int i = 0; i < 100 && got.find("\r\n\r\n") == std::string::npos; ++i) {
      io_.restart();
      io_.run_for(10ms);
      std::string buf(4096, '\0');
      const ssize_t n = ::recv(s, buf.data(), buf.size(), 0);
      if (n > 0) {
        got.append(buf.data(), static_cast<std::size_t>(n));
      }
    }
    ::close(s);
    EXPECT_TRUE(got.starts_with("SIP/2.0 400 Bad Request\r\n")) << bad << " -> " << got;
    EXPECT_NE(got.find("Warning: 399 portline"), std::string::npos) << got;
  }
}

TEST_F(SipEndpointTest, StreamFramingHandlesCoalescedAndSplitMessages) {
  Endpoint server(io_, ServerOptions());
  ASSERT_TRUE(server.Start());
  const std::uint16_t port = PortOf(server, Transport::kTcp);
  const int s = ConnectLoopbackTcp(port);
  ASSERT_GE(s, 0);
  auto tcp_request = [port]() {
    std::string r = Request("OPTIONS", port);
    r.replace(r.find("SIP/2.0/UDP"), 11, "SIP/2.0/TCP");
    return r;
  };
  const std::string two = "\r\n\r\n" + tcp_request() + tcp_request();  // keep-alive + 2
  const std::string third = tcp_request();
  ::send(s, two.data(), two.size(), 0);
  ::send(s, third.data(), 10, 0);
  io_.restart();
  io_.run_for(50ms);
  ::send(s, third.data() + 10, third.size() - 10, 0);
  std::string got;
  timeval tv{0, 20000};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  for (int i = 0; i < 100; ++i) {
    io_.restart();
    io_.run_for(10ms);
    std::string buf(65536, '\0');
    const ssize_t n = ::recv(s, buf.data(), buf.size(), 0);
    if (n > 0) {
      got.append(buf.data(), static_cast<std::size_t>(n));
    }
    std::size_t count = 0;
    for (std::size_t p = got.find("SIP/2.0 200"); p != std::string::npos;
         p = got.find("SIP/2.0 200", p + 1)) {
      ++count;
    }
    if (count == 3) {
      break;
    }
  }
  ::close(s);
  std::size_t count = 0;
  for (std::size_t p = got.find("SIP/2.0 200"); p != std::string::npos;
       p = got.find("SIP/2.0 200", p + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3u) << got;
}

}  // namespace
}  // namespace portline::sip
