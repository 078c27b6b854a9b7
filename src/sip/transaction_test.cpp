#include "sip/transaction.hpp"

#include <gtest/gtest.h>

#include <set>

#include "sip/digest.hpp"

namespace portline::sip {
namespace {

using namespace std::chrono_literals;
const TxClock::time_point kT0{std::chrono::seconds(1000)};

// Runs a client transaction over a lossy datagram "network": the first `drop` transmissions of
// the request are lost; the first one that arrives is answered at once with `status`.
struct LossyRun {
  std::vector<Ms> send_times;  // offsets from kT0 of every transmission
  bool delivered = false;
  bool timeout = false;
  TxClock::time_point end;
};

LossyRun RunLossy(bool invite, int drop, int status, TimerConfig timers = {}) {
  ClientTransaction tx(invite, /*reliable=*/false, timers);
  LossyRun run;
  TxClock::time_point now = kT0;
  auto handle = [&](const TxOutput& out) {
    if (out.send) {
      run.send_times.push_back(std::chrono::duration_cast<Ms>(now - kT0));
      if (static_cast<int>(run.send_times.size()) > drop) {
        const TxOutput r = tx.OnResponse(status, now);
        run.delivered = run.delivered || r.deliver;
      }
    }
    run.timeout = run.timeout || out.timeout;
  };
  handle(tx.Start(now));
  while (tx.State() != TxState::kTerminated && tx.State() != TxState::kCompleted) {
    auto next = tx.NextDeadline();
    if (!next) {
      break;
    }
    now = *next;
    handle(tx.OnTimer(now));
  }
  run.end = now;
  return run;
}

TEST(SipTransaction, NonInviteRetransmitsOnTimerEAndCapsAtT2) {
  const LossyRun all_lost = RunLossy(false, 1000, 200);
  // E: 0.5, 1, 2, 4, 4, 4... until F = 64·T1 = 32 s: 11 transmissions.
  const std::vector<Ms> expected{0ms,     500ms,   1500ms,  3500ms,  7500ms, 11500ms,
                                 15500ms, 19500ms, 23500ms, 27500ms, 31500ms};
  EXPECT_EQ(all_lost.send_times, expected);
  EXPECT_TRUE(all_lost.timeout);
  EXPECT_EQ(all_lost.end - kT0, 32000ms);

  for (int drop = 0; drop < 5; ++drop) {
    SCOPED_TRACE(drop);
    const LossyRun r = RunLossy(false, drop, 200);
    EXPECT_EQ(static_cast<int>(r.send_times.size()), drop + 1);
    EXPECT_TRUE(r.delivered);
    EXPECT_FALSE(r.timeout);
  }
}

TEST(SipTransaction, InviteTimerADoublesWithoutCapUntilTimerB) {
  const LossyRun r = RunLossy(true, 1000, 180);
  const std::vector<Ms> expected{0ms, 500ms, 1500ms, 3500ms, 7500ms, 15500ms, 31500ms};
  EXPECT_EQ(r.send_times, expected);
  EXPECT_TRUE(r.timeout);
  const LossyRun ok = RunLossy(true, 2, 486);
  EXPECT_EQ(ok.send_times.size(), 3u);
  EXPECT_TRUE(ok.delivered);
}

TEST(SipTransaction, ConfigurableT1ShortensEverything) {
  TimerConfig fast{.t1 = 50ms, .t2 = 400ms, .t4 = 500ms};
  const LossyRun r = RunLossy(false, 1000, 200, fast);
  EXPECT_EQ(r.end - kT0, 3200ms);
  EXPECT_EQ(r.send_times.size(), 11u);
}

TEST(SipTransaction, InviteClientAcksNon2xxAndLingersInCompleted) {
  ClientTransaction tx(true, false, {});
  (void)tx.Start(kT0);
  auto p = tx.OnResponse(180, kT0 + 10ms);
  EXPECT_TRUE(p.deliver);
  EXPECT_EQ(tx.State(), TxState::kProceeding);
  // No more retransmissions after a provisional response.
  EXPECT_FALSE(tx.OnTimer(kT0 + 600ms).send);
  auto f = tx.OnResponse(486, kT0 + 1s);
  EXPECT_TRUE(f.deliver);
  EXPECT_TRUE(f.send_ack);
  EXPECT_EQ(tx.State(), TxState::kCompleted);
  auto again = tx.OnResponse(486, kT0 + 2s);  // retransmitted final: re-ACK, not delivered
  EXPECT_TRUE(again.send_ack);
  EXPECT_FALSE(again.deliver);
  EXPECT_EQ(*tx.NextDeadline(), kT0 + 1s + 32s);  // Timer D
  EXPECT_TRUE(tx.OnTimer(kT0 + 33s).terminated);

  ClientTransaction ok(true, true, {});
  (void)ok.Start(kT0);
  auto r = ok.OnResponse(200, kT0 + 5ms);
  EXPECT_TRUE(r.deliver);
  EXPECT_FALSE(r.send_ack);  // the 2xx ACK belongs to the TU
  EXPECT_TRUE(r.terminated);
}

TEST(SipTransaction, ReliableTransportsDoNotRetransmit) {
  ClientTransaction tx(false, true, {});
  (void)tx.Start(kT0);
  EXPECT_EQ(*tx.NextDeadline(), kT0 + 32s);  // only F
  auto r = tx.OnResponse(200, kT0 + 1ms);
  EXPECT_TRUE(r.deliver);
  EXPECT_TRUE(r.terminated);  // K = 0
}

TEST(SipTransaction, NonInviteClientAbsorbsRetransmittedFinals) {
  ClientTransaction tx(false, false, {});
  (void)tx.Start(kT0);
  EXPECT_TRUE(tx.OnResponse(200, kT0 + 1ms).deliver);
  EXPECT_FALSE(tx.OnResponse(200, kT0 + 2ms).deliver);
  EXPECT_EQ(*tx.NextDeadline(), kT0 + 1ms + 5s);  // Timer K = T4
  EXPECT_TRUE(tx.OnTimer(kT0 + 6s).terminated);
  EXPECT_TRUE(ClientTransaction(false, false, {}).OnTransportError().terminated);
}

TEST(SipTransaction, InviteServerSendsTryingRetransmitsFinalAndWaitsForAck) {
  ServerTransaction tx(true, false, {}, kT0);
  EXPECT_FALSE(tx.OnRetransmission().send);  // nothing to resend yet
  auto trying = tx.OnTimer(kT0 + 200ms);
  EXPECT_TRUE(trying.send_trying);
  EXPECT_TRUE(tx.Respond(404, kT0 + 300ms).send);
  EXPECT_EQ(tx.State(), TxState::kCompleted);
  EXPECT_TRUE(tx.OnRetransmission().send);
  // Timer G: 0.5, 1, 2, 4, 4...
  EXPECT_TRUE(tx.OnTimer(kT0 + 800ms).send);
  EXPECT_EQ(*tx.NextDeadline(), kT0 + 1800ms);
  EXPECT_TRUE(tx.OnAck(kT0 + 1s).send == false);
  EXPECT_EQ(tx.State(), TxState::kConfirmed);
  EXPECT_EQ(*tx.NextDeadline(), kT0 + 6s);  // Timer I = T4
  EXPECT_TRUE(tx.OnTimer(kT0 + 6s).terminated);

  ServerTransaction lost(true, false, {}, kT0);
  (void)lost.Respond(500, kT0);
  TxOutput out;
  for (TxClock::time_point now = kT0; !out.terminated;) {
    now = *lost.NextDeadline();
    out = lost.OnTimer(now);
  }
  EXPECT_TRUE(out.timeout);  // Timer H: 64·T1 without an ACK
}

TEST(SipTransaction, NonInviteServerAbsorbsAndReplays) {
  ServerTransaction tx(false, false, {}, kT0);
  EXPECT_FALSE(tx.OnRetransmission().send);  // Trying: absorbed
  EXPECT_TRUE(tx.Respond(200, kT0 + 1ms).send);
  EXPECT_TRUE(tx.OnRetransmission().send);  // Completed: replay the 200
  EXPECT_FALSE(tx.Respond(500, kT0 + 2ms).send);
  EXPECT_EQ(*tx.NextDeadline(), kT0 + 1ms + 32s);  // Timer J
  ServerTransaction tcp(false, true, {}, kT0);
  EXPECT_TRUE(tcp.Respond(200, kT0).terminated);
}

const char* kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n"
    "Max-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\nContent-Length: 0\r\n\r\n";

TEST(SipTransaction, KeysMatchAsTheRfcSays) {
  auto invite = ParseMessage(kInvite);
  ASSERT_TRUE(invite);
  std::string ack = kInvite;
  ack.replace(0, 6, "ACK");
  ack.replace(ack.find("314159 INVITE"), 13, "314159 ACK");
  auto ack_msg = ParseMessage(ack);
  ASSERT_TRUE(ack_msg);
  EXPECT_EQ(ServerKey(*invite).value(), ServerKey(*ack_msg).value());
  std::string other = kInvite;
  other.replace(other.find("nashds8"), 7, "nashds9");
  auto other_msg = ParseMessage(other);
  EXPECT_NE(ServerKey(*invite).value(), ServerKey(*other_msg).value());

  const std::string response =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n"
      "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
      "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
      "Call-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\n"
      "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
      "Contact: <sip:bob@192.0.2.4>\r\nContent-Length: 0\r\n\r\n";
  auto resp = ParseMessage(response);
  ASSERT_TRUE(resp);
  EXPECT_EQ(ClientKey(*resp).value(), "z9hG4bKnashds8|INVITE");

  auto dialog = DialogFromResponse(*invite, *resp);
  ASSERT_TRUE(dialog) << dialog.error().message;
  EXPECT_EQ(dialog->remote_tag, "a6c85cf");
  EXPECT_EQ(dialog->remote_target, "sip:bob@192.0.2.4");
  ASSERT_EQ(dialog->route_set.size(), 2u);
  EXPECT_EQ(dialog->route_set[0], "<sip:p2.example.com;lr>");
  const std::string bye =
      dialog->Request("BYE", "SIP/2.0/UDP pc33.atlanta.example.com;branch=" + NewBranch()).Finish();
  auto bye_msg = ParseMessage(bye);
  ASSERT_TRUE(bye_msg) << bye_msg.error().message;
  EXPECT_EQ(bye_msg->RequestUri(), "sip:bob@192.0.2.4");
  EXPECT_EQ(bye_msg->CSeq()->number, 314160u);
  EXPECT_EQ(bye_msg->To()->Tag(), "a6c85cf");
  EXPECT_EQ(bye_msg->Values(HeaderId::kRoute).size(), 2u);
  EXPECT_TRUE(Validate(*bye_msg, Depth::kFull).empty());
}

TEST(SipTransaction, BranchesAreUniqueAndCarryTheCookie) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string b = NewBranch();
    EXPECT_EQ(b.substr(0, 7), "z9hG4bK");
    EXPECT_TRUE(seen.insert(b).second);
  }
}

TEST(SipDigest, Rfc2617AndRfc7616Vectors) {
  // RFC 2617 §3.5.
  DigestChallenge c2617;
  c2617.realm = "testrealm@host.com";
  c2617.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
  c2617.qop_auth = true;
  const std::string h2617 = DigestAuthorization(
      c2617, {"Mufasa", "Circle Of Life", "GET", "/dir/index.html", "0a4f113b", 1});
  EXPECT_NE(h2617.find("response=\"6629fae49393a05397450978507c4ef1\""), std::string::npos)
      << h2617;
  // RFC 7616 §3.9.1, SHA-256 and MD5.
  auto c7616 = ParseChallenge(
      R"(Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")");
  ASSERT_TRUE(c7616) << c7616.error().message;
  DigestAnswer a{"Mufasa",
                 "Circle of Life",
                 "GET",
                 "/dir/index.html",
                 "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                 1};
  const std::string sha = DigestAuthorization(*c7616, a);
  EXPECT_NE(sha.find("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
            std::string::npos)
      << sha;
  DigestChallenge md5 = *c7616;
  md5.algorithm = DigestAlgorithm::kMd5;
  EXPECT_NE(DigestAuthorization(md5, a).find("8ca523f5e9506fed4657c9700eebdbec"),
            std::string::npos);

  EXPECT_FALSE(ParseChallenge("Basic realm=\"x\""));
  EXPECT_FALSE(ParseChallenge("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512-256"));
  EXPECT_FALSE(ParseChallenge("Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\""));
  EXPECT_FALSE(ParseChallenge("Digest realm=\"x\""));
}

TEST(SipDigest, VerifierRoundTripStaleAndForgery) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  DigestVerifier v("portline", "server-secret", std::chrono::seconds(300));
  for (auto alg : {DigestAlgorithm::kMd5, DigestAlgorithm::kSha256}) {
    auto challenge = ParseChallenge(v.Challenge(alg, now));
    ASSERT_TRUE(challenge);
    const std::string authz = DigestAuthorization(
        *challenge, {"trunk1", "pa55word!", "OPTIONS", "sip:portline@127.0.0.1", NewTag(), 1});
    EXPECT_EQ(DigestVerifier::Username(authz), "trunk1");
    EXPECT_EQ(v.Verify(authz, "OPTIONS", "pa55word!", now), DigestVerifier::Verdict::kOk);
    EXPECT_EQ(v.Verify(authz, "OPTIONS", "wrong", now), DigestVerifier::Verdict::kBadCredentials);
    EXPECT_EQ(v.Verify(authz, "INVITE", "pa55word!", now),
              DigestVerifier::Verdict::kBadCredentials);
    EXPECT_EQ(v.Verify(authz, "OPTIONS", "pa55word!", now + std::chrono::seconds(301)),
              DigestVerifier::Verdict::kStaleNonce);
    DigestVerifier other("portline", "another-secret", std::chrono::seconds(300));
    EXPECT_EQ(other.Verify(authz, "OPTIONS", "pa55word!", now),
              DigestVerifier::Verdict::kBadCredentials);
  }
  EXPECT_EQ(v.Verify("Basic abc", "OPTIONS", "x", now), DigestVerifier::Verdict::kMalformed);
  EXPECT_EQ(v.Verify("Digest username=\"a\"", "OPTIONS", "x", now),
            DigestVerifier::Verdict::kMalformed);
}

}  // namespace
}  // namespace portline::sip
