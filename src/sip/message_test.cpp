#include "sip/message.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sip/sdp.hpp"

namespace portline::sip {
namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Corpus(std::string_view dir, std::string_view name) {
  return ReadFile(std::filesystem::path(PORTLINE_SIP_DATA_DIR) / dir /
                  (std::string(name) + ".dat"));
}

std::string Problems(const std::vector<Problem>& ps) {
  std::string out;
  for (const Problem& p : ps) {
    out += p.where + ": " + p.what + " (" + std::to_string(p.status) + "); ";
  }
  return out;
}

// What RFC 4475 §3 says of each message, and what we check:
//   expect_ok: ParseMessage succeeds and Validate(kFull) finds nothing;
//   otherwise `reason` must appear in the parse error or in a Validate problem, and `status`
//   (when not 0) is the response code the first matching problem carries.
struct Case {
  const char* file;
  bool expect_ok;
  const char* reason;
  int status;
};

constexpr Case kRfc4475[] = {
    // 3.1.1 valid messages
    {"wsinv", true, "", 0},
    {"intmeth", true, "", 0},
    {"esc01", true, "", 0},
    {"escnull", true, "", 0},
    {"esc02", true, "", 0},
    {"lwsdisp", true, "", 0},
    {"longreq", true, "", 0},
    {"dblreq", true, "", 0},
    {"semiuri", true, "", 0},
    {"transports", true, "", 0},
    {"mpart01", true, "", 0},
    {"unreason", true, "", 0},
    {"noreason", true, "", 0},
    // 3.1.2 invalid messages
    {"badinv01", false, "stray", 400},
    {"clerr", false, "exceeds the", 0},
    {"ncl", false, "not a non-negative integer", 0},
    {"scalar02", false, "does not fit in 32 bits", 400},
    {"scalarlg", false, "does not fit in 32 bits", 400},
    {"quotbal", false, "unterminated quoted string", 400},
    {"ltgtruri", false, "invalid scheme", 400},
    {"lwsruri", false, "white space inside the Request-URI", 0},
    {"lwsstart", false, "more than one space", 0},
    {"trws", false, "white space after the SIP version", 0},
    {"escruri", false, "must not contain headers", 400},
    {"baddate", false, "GMT", 400},
    {"regbadct", false, "must be enclosed in <>", 400},
    {"badaspec", false, "white space inside <>", 400},
    {"baddn", false, "unquoted display name", 400},
    {"badvers", false, "unsupported SIP version", 505},
    {"mismatch01", false, "does not match the request method", 400},
    {"mismatch02", false, "does not match the request method", 400},
    {"bigcode", false, "three digits", 0},
    // 3.2 transaction layer: syntactically valid
    {"badbranch", true, "", 0},
    // 3.3 application layer
    {"insuf", false, "missing required header", 400},
    {"unkscm", false, "unsupported URI scheme", 416},
    {"novelsc", false, "unsupported URI scheme", 416},
    {"unksm2", true, "", 0},
    {"bext01", true, "", 0},  // 420 is the UA's decision (it knows its extensions)
    {"invut", true, "", 0},   // 415 likewise
    {"regaut01", true, "", 0},
    {"multi01", false, "appears more than once", 400},
    {"mcl01", false, "more than one Content-Length", 400},
    {"bcast", true, "", 0},
    {"zeromf", true, "", 0},
    {"cparam01", true, "", 0},
    {"cparam02", true, "", 0},
    {"regescrt", true, "", 0},
    {"sdp01", true, "", 0},
    // 3.4 backward compatibility
    {"inv2543", true, "", 0},
};

TEST(SipTorture, Rfc4475EveryMessageGetsItsVerdict) {
  int checked = 0;
  for (const Case& c : kRfc4475) {
    SCOPED_TRACE(c.file);
    const std::string data = Corpus("rfc4475", c.file);
    ASSERT_FALSE(data.empty());
    auto m = ParseMessage(data);
    if (c.expect_ok) {
      ASSERT_TRUE(m) << m.error().message;
      const auto problems = Validate(*m, Depth::kFull);
      EXPECT_TRUE(problems.empty()) << Problems(problems);
    } else if (!m) {
      EXPECT_NE(m.error().message.find(c.reason), std::string::npos) << m.error().message;
      EXPECT_EQ(c.status, 0) << "expected a parse success and a Validate problem";
    } else {
      const auto problems = Validate(*m, Depth::kFull);
      bool found = false;
      for (const Problem& p : problems) {
        if (p.what.find(c.reason) != std::string::npos) {
          found = true;
          if (c.status != 0) {
            EXPECT_EQ(p.status, c.status) << p.what;
          }
          break;
        }
      }
      EXPECT_TRUE(found) << "problems: " << Problems(problems);
    }
    ++checked;
  }
  EXPECT_EQ(checked, 49);
}

TEST(SipTorture, Rfc4475ValuesAreRight) {
  const std::string wsinv = Corpus("rfc4475", "wsinv");
  auto m = ParseMessage(wsinv);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->Method(), "INVITE");
  auto to = m->To();
  ASSERT_TRUE(to);
  EXPECT_EQ(to->uri.user, "vivekg");
  EXPECT_EQ(to->Tag(), "1918181833n");
  auto from = m->From();
  ASSERT_TRUE(from);
  EXPECT_EQ(from->display_name, "J Rosenberg \\\\\\\"");
  EXPECT_EQ(from->Tag(), "98asjd8");
  auto cseq = m->CSeq();
  ASSERT_TRUE(cseq);
  EXPECT_EQ(cseq->number, 9u);
  EXPECT_EQ(cseq->method, "INVITE");
  auto via = m->TopVia();
  ASSERT_TRUE(via);
  EXPECT_EQ(via->transport, "UDP");
  EXPECT_EQ(via->host, "192.0.2.2");
  EXPECT_EQ(via->Branch(), "390skdjuw");
  const auto vias = m->Values(HeaderId::kVia);
  ASSERT_EQ(vias.size(), 3u);
  auto third = ParseVia(vias[2]);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->host, "192.168.255.111");
  EXPECT_EQ(third->Branch(), "z9hG4bK30239");
  auto contact = ParseNameAddr(m->Get(HeaderId::kContact));
  ASSERT_TRUE(contact);
  EXPECT_EQ(contact->params.Get("q").value_or(""), "0.33");
  EXPECT_EQ(contact->params.Get("newparam").value_or(""), "newvalue");
  EXPECT_EQ(m->Body().size(), 150u);
  EXPECT_EQ(m->Get(HeaderId::kSubject), "");  // "s :" is an empty Subject
  EXPECT_NE(m->Find("s"), nullptr);

  // esc02: "C%6Fntact" is not Contact.
  const std::string esc02 = Corpus("rfc4475", "esc02");
  auto e = ParseMessage(esc02);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->Values(HeaderId::kContact).size(), 2u);
  EXPECT_NE(e->Find("C%6Fntact"), nullptr);

  // dblreq: the second message in the datagram is ignored.
  const std::string dbl = Corpus("rfc4475", "dblreq");
  auto d = ParseMessage(dbl);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->Method(), "REGISTER");
  EXPECT_TRUE(d->Body().empty());
  EXPECT_LT(d->Raw().size(), dbl.size());

  // esc01: escapes are kept in views and decoded on request.
  const std::string esc01 = Corpus("rfc4475", "esc01");
  auto e1 = ParseMessage(esc01);
  ASSERT_TRUE(e1);
  auto ruri = ParseUri(e1->RequestUri());
  ASSERT_TRUE(ruri);
  EXPECT_EQ(Unescape(ruri->user), "sips:user@example.com");

  // intmeth: the password part is split at the first ':' of the userinfo.
  const std::string intmeth = Corpus("rfc4475", "intmeth");
  auto im = ParseMessage(intmeth);
  ASSERT_TRUE(im);
  auto iu = ParseUri(im->RequestUri());
  ASSERT_TRUE(iu);
  EXPECT_EQ(iu->user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_TRUE(iu->has_password);

  // noreason: an empty reason phrase.
  const std::string noreason = Corpus("rfc4475", "noreason");
  auto nr = ParseMessage(noreason);
  ASSERT_TRUE(nr);
  EXPECT_EQ(nr->Status(), 100);
  EXPECT_EQ(nr->Reason(), "");
}

struct Rfc5118Case {
  const char* file;
  bool valid;
};

TEST(SipTorture, Rfc5118Ipv6Messages) {
  constexpr Rfc5118Case kCases[] = {
      {"ipv6-good", true},
      {"ipv6-bad", false},
      {"port-ambiguous", true},
      {"port-unambiguous", true},
      {"via-received-param-with-delim", true},
      {"via-received-param-no-delim", true},
      {"ipv6-in-sdp", true},
      {"mult-ip-in-header", true},
      {"mult-ip-in-sdp", true},
      {"ipv4-mapped-ipv6", true},
      {"ipv6-bug-abnf-3-colons", true},
      {"ipv6-correct-abnf-2-colons", true},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.file);
    const std::string data = Corpus("rfc5118", c.file);
    ASSERT_FALSE(data.empty());
    auto m = ParseMessage(data);
    ASSERT_TRUE(m) << m.error().message;
    const auto problems = Validate(*m, Depth::kFull);
    EXPECT_EQ(problems.empty(), c.valid) << Problems(problems);
  }
  const std::string good_text = Corpus("rfc5118", "ipv6-good");
  auto good = ParseMessage(good_text);
  ASSERT_TRUE(good);
  auto uri = ParseUri(good->RequestUri());
  ASSERT_TRUE(uri);
  EXPECT_TRUE(uri->host_ipv6);
  EXPECT_EQ(uri->host, "2001:db8::10");
  EXPECT_FALSE(uri->port);

  auto amb = ParseUri("sip:[2001:db8::10:5070]");
  ASSERT_TRUE(amb);
  EXPECT_EQ(amb->host, "2001:db8::10:5070");
  EXPECT_FALSE(amb->port);
  auto unamb = ParseUri("sip:[2001:db8::10]:5070");
  ASSERT_TRUE(unamb);
  EXPECT_EQ(unamb->port, 5070);

  const std::string mult_text = Corpus("rfc5118", "mult-ip-in-header");
  auto mult = ParseMessage(mult_text);
  ASSERT_TRUE(mult);
  auto vias = ParseVias(mult->Get(HeaderId::kVia));
  ASSERT_TRUE(vias);
  auto top = mult->TopVia();
  ASSERT_TRUE(top);
  EXPECT_TRUE(top->host_ipv6);
  EXPECT_EQ(top->port, 6050);

  const std::string sdp_text = Corpus("rfc5118", "mult-ip-in-sdp");
  auto sdp_msg = ParseMessage(sdp_text);
  ASSERT_TRUE(sdp_msg);
  auto sdp = ParseSdp(sdp_msg->Body());
  ASSERT_TRUE(sdp) << sdp.error().message;
  ASSERT_EQ(sdp->media.size(), 2u);
  EXPECT_EQ(sdp->media[0].connection->addr_type, "IP4");
  EXPECT_EQ(sdp->media[1].connection->address, "2001:db8::1");
}

TEST(SipUri, ParsesTheForms) {
  auto u = ParseUri("sips:alice:secret@Example.COM:5061;transport=TLS;lr?subject=hi&x=y");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->scheme, Scheme::kSips);
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->password, "secret");
  EXPECT_EQ(u->host, "Example.COM");
  EXPECT_EQ(u->port, 5061);
  EXPECT_EQ(u->Transport(), "tls");
  EXPECT_TRUE(u->Param("lr"));
  EXPECT_EQ(u->headers, "subject=hi&x=y");

  auto tel = ParseUri("tel:+1-415-555-0100;ext=12");
  ASSERT_TRUE(tel);
  EXPECT_EQ(tel->scheme, Scheme::kTel);
  EXPECT_EQ(tel->user, "+1-415-555-0100");
  EXPECT_EQ(tel->Param("ext").value_or(""), "12");
  EXPECT_FALSE(ParseUri("tel:5550100"));  // local number without phone-context
  EXPECT_TRUE(ParseUri("tel:5550100;phone-context=+1415"));

  const char* bad[] = {"sip:",          "sip:@host",        "sip:host:99999",     "sip:ho st",
                       "sip:user@[::1", "sip:user@host;=x", "sip:%zz@host",       "sip:host?",
                       "1sip:host",     "sip:-bad-.com",    "sip:user@[1.2.3.4]", "sip:host:"};
  for (const char* b : bad) {
    EXPECT_FALSE(ParseUri(b)) << b;
  }
  auto err = ParseUri("sip:host:70000");
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().message.find("0 to 65535"), std::string::npos);
}

TEST(SipUri, ToStringRoundTrips) {
  for (const char* text :
       {"sip:alice@atlanta.example.com;transport=tcp",
        "sips:bob:pw@[2001:db8::1]:5061;lr?subject=x&y=z", "tel:+1-415-555-0100;ext=12",
        "sip:%61lice@host", "urn:service:sos", "SIP:Host.Example.COM:5060;maddr=239.255.255.1"}) {
    auto uri = ParseUri(text);
    ASSERT_TRUE(uri) << text;
    EXPECT_EQ(uri->ToString(), text);
  }
}

TEST(SipHeaders, CompactAndCaseInsensitiveNames) {
  EXPECT_EQ(LookupHeader("v"), HeaderId::kVia);
  EXPECT_EQ(LookupHeader("I"), HeaderId::kCallId);
  EXPECT_EQ(LookupHeader("CALL-id"), HeaderId::kCallId);
  EXPECT_EQ(LookupHeader("www-authenticate"), HeaderId::kWwwAuthenticate);
  EXPECT_EQ(LookupHeader("X-Custom"), HeaderId::kOther);
  EXPECT_EQ(LookupHeader("q"), HeaderId::kOther);
  EXPECT_EQ(HeaderName(HeaderId::kCSeq), "CSeq");
}

TEST(SipHeaders, AuthParams) {
  auto a = ParseAuth(
      R"(Digest realm="atlanta.com", nonce="84a4cc6f3082121f32b42a2187831a9e", algorithm=MD5, qop="auth,auth-int")");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->scheme, "Digest");
  EXPECT_EQ(a->Get("realm").value_or(""), "atlanta.com");
  EXPECT_EQ(a->Get("ALGORITHM").value_or(""), "MD5");
  EXPECT_EQ(a->Get("qop").value_or(""), "auth,auth-int");
  EXPECT_FALSE(a->Get("opaque"));
  EXPECT_FALSE(ParseAuth(R"(Digest realm="unterminated)"));
  EXPECT_FALSE(ParseAuth("Digest realm"));
}

TEST(SipFraming, StreamFrames) {
  const std::string one =
      "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 4\r\nVia: SIP/2.0/TCP "
      "h;branch=z9hG4bK1\r\n\r\nbody";
  EXPECT_EQ(FrameLength(one.substr(0, 30), 65536, 65536).value(), 0u);
  EXPECT_EQ(FrameLength(one, 65536, 65536).value(), one.size());
  EXPECT_EQ(FrameLength(one + "OPTIONS", 65536, 65536).value(), one.size());
  EXPECT_EQ(FrameLength("\r\n\r\n", 65536, 65536).value(), 4u);
  EXPECT_FALSE(FrameLength("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", 65536, 65536));
  EXPECT_FALSE(FrameLength(std::string(70000, 'a'), 65536, 65536));
  EXPECT_FALSE(FrameLength("INVITE x SIP/2.0\r\nl: 99999999\r\n\r\n", 65536, 65536));
  auto stream = ParseMessage("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", Framing::kStream);
  ASSERT_FALSE(stream);
  EXPECT_NE(stream.error().message.find("Content-Length"), std::string::npos);
}

TEST(SipWriter, ResponseCopiesTheTransactionHeaders) {
  const std::string req =
      "OPTIONS sip:bob@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
      "v: SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\n"
      "From: <sip:alice@example.com>;tag=abc\r\n"
      "To: <sip:bob@example.com>\r\n"
      "Call-ID: c1@x\r\nCSeq: 7 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  auto m = ParseMessage(req);
  ASSERT_TRUE(m);
  const std::string out = MakeResponse(*m, 200, "", "t1").Add("Allow", "OPTIONS").Finish();
  auto r = ParseMessage(out, Framing::kStream);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->IsRequest());
  EXPECT_EQ(r->Status(), 200);
  EXPECT_EQ(r->Reason(), "OK");
  EXPECT_EQ(r->Values(HeaderId::kVia).size(), 2u);
  EXPECT_EQ(r->To()->Tag(), "t1");
  EXPECT_EQ(r->CSeq()->number, 7u);
  EXPECT_TRUE(Validate(*r, Depth::kFull).empty());
}

TEST(SipSdp, ParsesOfferEssentials) {
  const std::string body =
      "v=0\r\no=- 123 456 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\n"
      "m=audio 49170 RTP/SAVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
      "a=fmtp:101 0-16\r\na=sendonly\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
      "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n";
  auto sdp = ParseSdp(body);
  ASSERT_TRUE(sdp) << sdp.error().message;
  EXPECT_EQ(sdp->origin.session_id, "123");
  ASSERT_EQ(sdp->media.size(), 1u);
  const SdpMedia& m = sdp->media[0];
  EXPECT_EQ(m.port, 49170);
  EXPECT_EQ(m.proto, "RTP/SAVP");
  EXPECT_EQ(m.CodecNames(), (std::vector<std::string>{"PCMU", "PCMA", "telephone-event"}));
  EXPECT_EQ(m.direction, SdpDirection::kSendOnly);
  ASSERT_EQ(m.fmtps.size(), 1u);
  EXPECT_EQ(m.fmtps[0].params, "0-16");
  ASSERT_EQ(m.cryptos.size(), 1u);
  EXPECT_EQ(m.cryptos[0].suite, "AES_CM_128_HMAC_SHA1_80");

  struct Bad {
    const char* body;
    const char* reason;
  };
  const Bad bad[] = {
      {"", "empty"},
      {"v=1\r\n", "v=0"},
      {"v=0\r\no=x\r\n", "6 fields"},
      {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 99999 RTP/AVP 0\r\n", "port"},
      {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n", "no c= line"},
      {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 999.1.1.1\r\n", "c= must be"},
      {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nc=IN IP4 1.1.1.1\r\n"
       "m=audio 5 RTP/AVP 200\r\n",
       "payload type"},
      {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.1.1.1\r\n", "missing required line t="},
      {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nc=IN IP4 1.1.1.1\r\n"
       "m=audio 5 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:short\r\n",
       "40 characters"},
  };
  // Format → parse → format is stable, including a body from the corpus.
  const std::string formatted = FormatSdp(*sdp);
  auto again = ParseSdp(formatted);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(FormatSdp(*again), formatted);
  EXPECT_EQ(again->media[0].cryptos.size(), 1u);
  EXPECT_EQ(formatted.substr(0, 9), "v=0\r\no=- ");
  for (const Bad& b : bad) {
    auto r = ParseSdp(b.body);
    ASSERT_FALSE(r) << b.body;
    EXPECT_NE(r.error().message.find(b.reason), std::string::npos) << r.error().message;
  }
}

TEST(SipParser, HostileInputNeverCrashes) {
  // Every prefix of every corpus message: parse and validate must return, never crash.
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(PORTLINE_SIP_DATA_DIR) / "rfc4475")) {
    if (entry.path().extension() != ".dat") {
      continue;
    }
    const std::string data = ReadFile(entry.path());
    for (std::size_t n = 0; n <= data.size(); n += 7) {
      const std::string prefix = data.substr(0, n);
      auto m = ParseMessage(prefix);
      if (m) {
        (void)Validate(*m, Depth::kFull);
        (void)m->TopVia();
        (void)m->From();
      }
      (void)FrameLength(prefix, 4096, 4096);
    }
  }
}

}  // namespace
}  // namespace portline::sip
