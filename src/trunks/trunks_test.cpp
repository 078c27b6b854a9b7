#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/crypto.hpp"
#include "core/secret_box.hpp"
#include "support/temp_dir.hpp"
#include "trunks/destination.hpp"
#include "trunks/network.hpp"
#include "trunks/service.hpp"

namespace portline::trunks {
namespace {

struct Case {
  const char* input;
  const char* normalized;
  const char* host;
  int port;               // 0 = absent
  const char* transport;  // "" = absent
  bool is_private;
  bool srv_lookup;
};

TEST(DestinationTest, AcceptedForms) {
  const Case cases[] = {
      {"sip:your.provider.com:5061;transport=tls", "sip:your.provider.com:5061;transport=tls",
       "your.provider.com", 5061, "tls", false, false},
      {"your.provider.com", "sip:your.provider.com", "your.provider.com", 0, "", false, true},
      {"PBX.Example.COM.", "sip:pbx.example.com", "pbx.example.com", 0, "", false, true},
      {"tls://sbc.example.com", "sip:sbc.example.com;transport=tls", "sbc.example.com", 0, "tls",
       false, true},
      {"tcp://sbc.example.com:5070/", "sip:sbc.example.com:5070;transport=tcp", "sbc.example.com",
       5070, "tcp", false, false},
      {"sbc.example.com:5080", "sip:sbc.example.com:5080", "sbc.example.com", 5080, "", false,
       false},
      {"203.0.113.10", "sip:203.0.113.10", "203.0.113.10", 0, "", false, false},
      {"10.1.2.3:5060", "sip:10.1.2.3:5060", "10.1.2.3", 5060, "", true, false},
      {"[2001:db8::1]:5061", "sip:[2001:db8::1]:5061", "2001:db8::1", 5061, "", false, false},
      {"sip:[fd00::5]", "sip:[fd00::5]", "fd00::5", 0, "", true, false},
      {"sip:alice@pbx.example.com;transport=TCP;lr", "sip:alice@pbx.example.com;transport=tcp;lr",
       "pbx.example.com", 0, "tcp", false, true},
      {"sips:secure.example.com", "sips:secure.example.com", "secure.example.com", 0, "", false,
       true},
      {"SIP:+14155550100@gw.example.com", "sip:+14155550100@gw.example.com", "gw.example.com", 0,
       "", false, true},
      {"  localhost:5060 ", "sip:localhost:5060", "localhost", 5060, "", true, false},
      {"192.168.1.10", "sip:192.168.1.10", "192.168.1.10", 0, "", true, false},
      {"100.64.0.1", "sip:100.64.0.1", "100.64.0.1", 0, "", true, false},
      {"[::ffff:10.0.0.1]", "sip:[::ffff:10.0.0.1]", "::ffff:10.0.0.1", 0, "", true, false},
  };
  for (const auto& c : cases) {
    auto d = ParseDestination(c.input);
    ASSERT_TRUE(d) << c.input << ": " << d.error().message;
    EXPECT_EQ(d->Normalized(), c.normalized) << c.input;
    EXPECT_EQ(d->host, c.host) << c.input;
    EXPECT_EQ(d->port.value_or(0), c.port) << c.input;
    EXPECT_EQ(d->transport.value_or(""), c.transport) << c.input;
    EXPECT_EQ(d->is_private_ip, c.is_private) << c.input;
    EXPECT_EQ(d->srv_lookup, c.srv_lookup) << c.input;
  }
}

TEST(DestinationTest, Rfc3263Defaults) {
  auto sips = ParseDestination("sips:secure.example.com");
  ASSERT_TRUE(sips);
  EXPECT_EQ(sips->effective_transport, "tls");
  EXPECT_EQ(sips->default_port, 5061);
  auto numeric = ParseDestination("203.0.113.10");  // §4.1: numeric IP, no transport: UDP
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric->effective_transport, "udp");
  EXPECT_FALSE(numeric->srv_lookup);
  EXPECT_EQ(numeric->default_port, 5060);
  auto name = ParseDestination("pbx.example.com");  // NAPTR/SRV decide
  ASSERT_TRUE(name);
  EXPECT_FALSE(name->effective_transport);
  EXPECT_TRUE(name->srv_lookup);
  auto tls = ParseDestination("pbx.example.com;transport=tls");
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->default_port, 5061);
  EXPECT_TRUE(tls->srv_lookup);  // _sips._tcp / _sip._tls SRV for the given transport
}

TEST(DestinationTest, RejectedWithReasons) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"http://example.com", "unsupported scheme"},
      {"sip:host:0", "port must be"},
      {"sip:host:65536", "port must be"},
      {"host:abc", "port must be"},
      {"host:", "port is empty"},
      {"2001:db8::1", "brackets"},
      {"[2001:db8::1", "closing"},
      {"[not-v6]", "not a valid IPv6"},
      {"999.1.1.1", "not a valid IPv4"},
      {"-bad-.example.com", "not a valid hostname"},
      {"exa mple.com", "spaces"},
      {"sip:user:secret@host", "password"},
      {"sip:host;transport=carrier-pigeon", "unsupported transport"},
      {"sips:host;transport=udp", "requires TLS"},
      {"sip:host?subject=x", "headers"},
      {"sip:host/path", "path"},
      {"sip:@host", "user part"},
      {"sip:host;lr;lr", "twice"},
      {"host.\xC3\xA9xample.com", "non-ASCII"},
  };
  for (const auto& [input, reason] : cases) {
    auto d = ParseDestination(input);
    ASSERT_FALSE(d) << input;
    EXPECT_NE(d.error().message.find(reason), std::string::npos)
        << input << " -> " << d.error().message;
    EXPECT_EQ(d.error().fields.at(0).field, "input");
  }
  EXPECT_FALSE(ParseDestination(std::string(600, 'a')));
  // Found by destination_fuzz: 512 accepted characters grew past the limit once "sip:" was
  // added, so the stored form did not parse again.
  const std::string head = "pbx.example.com;p=";
  const std::string at_limit = head + std::string(512 - head.size(), 'a');
  auto over = ParseDestination(at_limit);  // "sip:" makes it 516
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("once normalized"), std::string::npos);
  auto fits = ParseDestination(head + std::string(508 - head.size(), 'a'));
  ASSERT_TRUE(fits);
  auto again = ParseDestination(fits->Normalized());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->Normalized(), fits->Normalized());
}

TEST(E164Test, Normalizes) {
  EXPECT_EQ(NormalizeE164("+14150000000"), "+14150000000");
  EXPECT_EQ(NormalizeE164("14150000000"), "+14150000000");
  EXPECT_EQ(NormalizeE164("+442079460000"), "+442079460000");
  for (const char* bad : {"", "+", "+0415000000", "4150000", "+1415000000a", "+1 415 000 0000",
                          "+1234567890123456", "++14150000000"}) {
    EXPECT_FALSE(NormalizeE164(bad)) << bad;
  }
}

// Without a network file the deployment describes itself; what it has not configured is
// reported as such, never filled in with another company's hosts.
TEST(NetworkTest, ADeploymentDescribesItselfAndSaysWhatIsUnset) {
  const Network empty = Network::Default();
  ASSERT_EQ(empty.regions.size(), 1U);
  const Region& e = empty.regions[0];
  EXPECT_EQ(empty.default_region, "default");
  EXPECT_TRUE(e.sip_server.empty());
  EXPECT_TRUE(e.ip_addresses.empty());
  EXPECT_EQ(e.unconfigured, (std::vector<std::string>{"sip.public_host", "sip.public_ips",
                                                      "sip.listen", "sip.rtp_ports"}));
  Deployment d;
  d.public_host = "sip.portline.example.com";
  d.public_ips = {"203.0.113.10"};
  d.listeners = {{"udp", 5060}, {"tcp", 5060}, {"tls", 5061}};
  d.rtp_ports = "10000-20000";
  const Network self = Network::ForDeployment(d);
  const Region& r = self.regions[0];
  EXPECT_EQ(r.sip_server, "sip.portline.example.com");
  EXPECT_EQ(r.sip_port, 5061);
  EXPECT_EQ(r.sip_transport, "tls");  // TLS preferred when the deployment listens on it
  EXPECT_EQ(r.sip_ports, "5060 UDP, 5060 TCP, 5061 TLS");
  EXPECT_EQ(r.rtp_ports, "10000-20000 UDP");
  EXPECT_EQ(r.ip_addresses, (std::vector<std::string>{"203.0.113.10"}));
  EXPECT_TRUE(r.unconfigured.empty());
  auto loaded = Network::Load("", d);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->regions[0].sip_server, "sip.portline.example.com");
}

TEST(NetworkTest, InvalidFilesListEveryProblem) {
  auto bad = Network::Parse(R"({"default_region": "x", "regions": [
      {"id": "a", "name": "A", "sip_server": "a.example", "ip_addresses": ["1.2.3.999"],
       "ports": {"sip": "5061 TLS"}}]})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().fields.size(), 2U);  // bad IP, missing ports.rtp
  EXPECT_FALSE(Network::Parse("[]"));
  EXPECT_FALSE(Network::Load("/nonexistent/network.json", Deployment{}));
}

TEST(SecretBoxTest, SealOpenTamperDerive) {
  InitCrypto();
  SecretBox box(std::string(32, 'k'));
  const auto sealed = box.Seal("call-pass");
  EXPECT_EQ(sealed.find("call-pass"), std::string::npos);
  EXPECT_NE(box.Seal("call-pass"), sealed);  // random nonce
  auto opened = box.Open(sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, "call-pass");
  std::string tampered = sealed;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box.Open(tampered));
  EXPECT_FALSE(SecretBox(std::string(32, 'x')).Open(sealed));
  EXPECT_EQ(box.Derive("p", "m"), box.Derive("p", "m"));
  EXPECT_NE(box.Derive("p", "m"), box.Derive("p", "n"));
  EXPECT_NE(box.Derive("p", "m"), SecretBox(std::string(32, 'x')).Derive("p", "m"));
  EXPECT_EQ(box.Derive("p", "m").size(), 24U);
}

TEST(SecretBoxTest, KeyFileIsCreatedPrivateAndReused) {
  testing::TempDir dir;
  auto first = SecretBox::Load("", dir.path());
  ASSERT_TRUE(first);
  struct stat st {};
  ASSERT_EQ(stat((dir.path() + "/secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  auto second = SecretBox::Load("", dir.path());
  ASSERT_TRUE(second);
  EXPECT_EQ(*second->Open(first->Seal("x")), "x");
  EXPECT_FALSE(SecretBox::Load("abc", dir.path()));
  EXPECT_TRUE(SecretBox::Load(std::string(64, 'a'), dir.path()));
}

}  // namespace
}  // namespace portline::trunks
