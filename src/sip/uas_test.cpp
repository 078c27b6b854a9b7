// The UAS decision, table-driven: what each kind of request is answered.
#include "sip/uas.hpp"

#include <gtest/gtest.h>

namespace portline::sip {
namespace {

std::string Request(std::string_view method, std::string_view extra = "") {
  const std::string m(method);
  return m +
         " sip:portline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKabc\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:portline@127.0.0.1>\r\n"
         "Call-ID: c@test\r\nCSeq: 1 " +
         m + "\r\n" + std::string(extra) + "Content-Length: 0\r\n\r\n";
}

std::string HeaderOf(const UasAnswer& a, std::string_view name) {
  for (const auto& [n, v] : a.headers) {
    if (n == name) {
      return v;
    }
  }
  return "<absent>";
}

TEST(UasTest, EachRequestGetsItsAnswer) {
  struct Case {
    std::string method, extra;
    bool draining;
    int code;
    std::string header, value;
  };
  const std::vector<Case> cases = {
      {"OPTIONS", "", false, 200, "Allow", "OPTIONS"},
      {"OPTIONS", "", false, 200, "Accept", "application/sdp"},
      {"OPTIONS", "", true, 503, "Retry-After", "30"},
      {"OPTIONS", "Require: 100rel\r\n", false, 420, "Unsupported", "100rel"},
      {"INVITE", "", false, 405, "Allow", "OPTIONS"},
      {"REGISTER", "", false, 405, "Allow", "OPTIONS"},
      {"CANCEL", "", false, 481, "Allow", "<absent>"},
      {"FROBNICATE", "", false, 501, "Allow", "OPTIONS"},
  };
  for (const Case& c : cases) {
    const std::string text = Request(c.method, c.extra);
    auto m = ParseMessage(text);
    ASSERT_TRUE(m) << text;
    const UasAnswer a = DecideAnswer(*m, UasContext{.draining = c.draining});
    EXPECT_EQ(a.code, c.code) << c.method << " " << c.extra;
    EXPECT_EQ(HeaderOf(a, c.header), c.value) << c.method << " " << c.header;
  }
}

TEST(UasTest, DigestCredentialsAreCheckedBeforeAnythingElse) {
  const DigestVerifier verifier("portline", "secret", std::chrono::seconds(300));
  const std::function<std::optional<std::string>(std::string_view)> passwords =
      [](std::string_view user) -> std::optional<std::string> {
    return user == "alice" ? std::optional<std::string>("wonderland") : std::nullopt;
  };
  const auto now = std::chrono::system_clock::now();
  const UasContext ctx{.verifier = &verifier, .password_for = &passwords, .now = now};

  const std::string bare = Request("OPTIONS", "Require: 100rel\r\n");
  const UasAnswer challenged = DecideAnswer(*ParseMessage(bare), ctx);
  EXPECT_EQ(challenged.code, 401) << "credentials come before Require";
  const std::string challenge = HeaderOf(challenged, "WWW-Authenticate");
  ASSERT_TRUE(challenge.starts_with("Digest ")) << challenge;

  auto parsed = ParseChallenge(challenge);
  ASSERT_TRUE(parsed);
  const std::string uri = "sip:portline@127.0.0.1";
  const std::string good =
      DigestAuthorization(*parsed, {"alice", "wonderland", "OPTIONS", uri, "cnonce1", 1});
  const std::string with_good = Request("OPTIONS", "Authorization: " + good + "\r\n");
  EXPECT_EQ(DecideAnswer(*ParseMessage(with_good), ctx).code, 200);

  const std::string wrong =
      DigestAuthorization(*parsed, {"alice", "looking-glass", "OPTIONS", uri, "cnonce1", 1});
  const std::string with_wrong = Request("OPTIONS", "Authorization: " + wrong + "\r\n");
  EXPECT_EQ(DecideAnswer(*ParseMessage(with_wrong), ctx).code, 401);
  const std::string stranger =
      DigestAuthorization(*parsed, {"mallory", "x", "OPTIONS", uri, "cnonce1", 1});
  EXPECT_EQ(
      DecideAnswer(*ParseMessage(Request("OPTIONS", "Authorization: " + stranger + "\r\n")), ctx)
          .code,
      401);

  // A nonce past its lifetime asks again with stale=true: the client retries without a prompt.
  const UasContext later{
      .verifier = &verifier, .password_for = &passwords, .now = now + std::chrono::seconds(600)};
  const UasAnswer stale = DecideAnswer(*ParseMessage(with_good), later);
  EXPECT_EQ(stale.code, 401);
  EXPECT_NE(HeaderOf(stale, "WWW-Authenticate").find("stale=true"), std::string::npos);

  // CANCEL is never challenged (RFC 3261 §22.1).
  EXPECT_EQ(DecideAnswer(*ParseMessage(Request("CANCEL")), ctx).code, 481);
}

TEST(UasTest, WarningTextIsSafeInAQuotedString) {
  EXPECT_EQ(WarningText("Via: bad \"quote\" and \\ and\r\nCRLF"),
            "Via: bad 'quote' and ' and''CRLF");
  EXPECT_EQ(WarningText(std::string(500, 'x')).size(), 200u);
}

}  // namespace
}  // namespace portline::sip
