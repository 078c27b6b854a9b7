// The LOA: generated from the request, signed through the signature page, downloadable with its
// certificate of completion; re-sending the link. Text is checked with Debian's pdftotext.
#include "documents/loa.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "core/crypto.hpp"
#include "support/backend_fixture.hpp"

namespace portline {
namespace {

// pdftotext (poppler-utils) on the bytes; "" when it fails.
std::string PdfText(const std::string& pdf, const std::string& dir) {
  const std::string in = dir + "/loa.pdf";
  const std::string out = dir + "/loa.txt";
  std::ofstream(in, std::ios::binary) << pdf;
  const std::string cmd = "pdftotext -layout '" + in + "' '" + out + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    return {};
  }
  std::ifstream f(out);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

const char* kBody = R"({"phone_numbers": ["+14155550100", "+14155550101"],
  "losing_carrier_information": {"customer_type": "business", "business_name": "Acme Corp",
  "first_name": "Jane", "last_name": "Doe", "account_number": "ACC-12345",
  "authorized_representative_email": "jane@acme.example", "address": {"street": "123 Main St",
  "city": "San Francisco", "state": "CA", "zip": "94105"}}})";

class LoaTest : public testing::ApiTest {
 protected:
  std::pair<std::string, std::string> Create() {  // id, token
    auto r = Call(*api_, "POST", "/v1/sip/port/initiate", key_, kBody);
    EXPECT_EQ(r.status, 201) << r.body;
    const auto data = Json(r.body).at("data");
    const std::string url(data.at("signature_url").as_string());
    return {std::string(data.at("port_request_id").as_string()), url.substr(url.rfind('/') + 1)};
  }
  api::Response Sign(const std::string& token, const std::string& name,
                     const std::string& drawn = {}) {
    api::Request req;
    req.method = "POST";
    req.target = "/sign/" + token;
    req.request_id = "req_sign";
    req.remote_addr = "203.0.113.9";
    EXPECT_TRUE(api::ParseTarget(req.target, req));
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                   {"User-Agent", "Mozilla/5.0 (iPhone; test)"}};
    req.body = "name=" + name + "&title=CFO&consent=yes" + (drawn.empty() ? "" : "&drawn=" + drawn);
    return api_->Handle(req);
  }
};

TEST_P(LoaTest, GeneratedSignedAndCertified) {
  const auto [id, token] = Create();
  auto loa = Call(*api_, "GET", "/v1/sip/port/" + id + "/loa", key_);
  ASSERT_EQ(loa.status, 200) << loa.body.substr(0, 200);
  EXPECT_EQ(loa.content_type, "application/pdf");
  EXPECT_EQ(loa.body.substr(0, 5), "%PDF-");
  const std::string text = PdfText(loa.body, dir_.path());
  ASSERT_FALSE(text.empty()) << "pdftotext failed (poppler-utils installed?)";
  for (const char* want :
       {"Letter of Authorization", "Acme Corp", "123 Main St, San Francisco, CA 94105", "Jane Doe",
        "jane@acme.example", "+14155550100", "+14155550101", "Requested port date", "Signature:"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
  // The carrier of the numbers appears by name (the LNP data's current carrier).
  EXPECT_NE(text.find("current carrier: "), std::string::npos);
  // Rendering is deterministic, and the signing page serves the same LOA.
  EXPECT_EQ(Call(*api_, "GET", "/v1/sip/port/" + id + "/loa", key_).body, loa.body);
  auto by_token = Call(*api_, "GET", "/sign/" + token + "/loa", "");
  ASSERT_EQ(by_token.status, 200);
  EXPECT_EQ(by_token.body, loa.body);
  auto page = Call(*api_, "GET", "/sign/" + token, "");
  EXPECT_NE(page.body.find("/sign/" + token + "/loa"), std::string::npos);

  auto signed_page = Sign(token, "Jane+Doe");
  ASSERT_EQ(signed_page.status, 200) << signed_page.body;
  auto signed_loa = Call(*api_, "GET", "/v1/sip/port/" + id + "/loa", key_);
  ASSERT_EQ(signed_loa.status, 200);
  const std::string signed_text = PdfText(signed_loa.body, dir_.path());
  for (const std::string& want :
       {std::string("Certificate of Completion"),
        std::string("Signed electronically by Jane Doe, CFO"), std::string("203.0.113.9"),
        std::string("Mozilla/5.0 (iPhone; test)"), std::string("jane@acme.example"),
        Sha256Hex(loa.body), std::string("I, the authorized")}) {
    EXPECT_NE(signed_text.find(want), std::string::npos) << want << "\n" << signed_text;
  }
  // The audit trail is in the event too.
  auto events = Call(*api_, "GET", "/v1/sip/port/" + id + "/events", key_);
  EXPECT_NE(events.body.find(Sha256Hex(loa.body)), std::string::npos);
  // Another organization cannot read it.
  EXPECT_EQ(Call(*api_, "GET", "/v1/sip/port/" + id + "/loa", NewOrgKey("other")).status, 404);
  // Signed: no new link.
  auto late = Call(*api_, "POST", "/v1/sip/port/" + id + "/signature/resend", key_);
  EXPECT_EQ(late.status, 409) << late.body;
}

// What is signed is what was shown: a number canceled before signing leaves the page, the LOA
// and its order's count; only the representative on file may sign; the signed LOA is kept as
// signed, whatever changes later; it carries the billing number, the masked account number and
// when the link was issued.
TEST_P(LoaTest, WhatIsSignedIsWhatWasShown) {
  const auto [id, token] = Create();
  ASSERT_EQ(Call(*api_, "DELETE", "/v1/sip/port/" + id + "/numbers/%2B14155550101", key_).status,
            200);
  auto page = Call(*api_, "GET", "/sign/" + token, "");
  EXPECT_NE(page.body.find("+14155550100"), std::string::npos);
  EXPECT_EQ(page.body.find("+14155550101"), std::string::npos) << "a canceled number is not shown";
  const std::string unsigned_text =
      PdfText(Call(*api_, "GET", "/sign/" + token + "/loa", "").body, dir_.path());
  EXPECT_EQ(unsigned_text.find("+14155550101"), std::string::npos) << unsigned_text;
  EXPECT_NE(unsigned_text.find("ending in 2345"), std::string::npos) << unsigned_text;
  EXPECT_EQ(unsigned_text.find("ACC-12345"), std::string::npos) << unsigned_text;
  EXPECT_NE(unsigned_text.find("Billing telephone number"), std::string::npos) << unsigned_text;
  auto view = Json(Call(*api_, "GET", "/v1/sip/port/" + id, key_).body).at("data");
  EXPECT_EQ(view.at("orders").at(0).at("phone_numbers_count").as_int64(), 1);

  // Someone else's name is refused, on the page, and nothing is signed.
  auto other = Sign(token, "John+Smith");
  EXPECT_EQ(other.status, 400);
  EXPECT_NE(other.body.find("authorized representative on file, Jane Doe"), std::string::npos)
      << other.body;
  // The representative's name, however it is typed.
  auto ok = Sign(token, "++jane+++DOE+");
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto signed_loa = Call(*api_, "GET", "/v1/sip/port/" + id + "/loa", key_);
  ASSERT_EQ(signed_loa.status, 200);
  const std::string text = PdfText(signed_loa.body, dir_.path());
  EXPECT_NE(text.find("Signing link issued at"), std::string::npos) << text;
  EXPECT_NE(text.find("Signing link issued at: 2024-10-04T00:00:00.000Z"), std::string::npos)
      << text;

  // Later changes to the request do not change the signed LOA: its bytes are kept.
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  ASSERT_TRUE(
      (*lease)->Execute("UPDATE port_requests SET details = REPLACE(details, 'Acme Corp', 'Other "
                        "Corp') WHERE id = $1",
                        {id}));
  EXPECT_EQ(Call(*api_, "GET", "/v1/sip/port/" + id + "/loa", key_).body, signed_loa.body);
  // And the link now shows only its status: no form, no LOA.
  auto after = Call(*api_, "GET", "/sign/" + token, "");
  EXPECT_NE(after.body.find("Signed by"), std::string::npos) << after.body;
  EXPECT_EQ(after.body.find("<form"), std::string::npos);
  EXPECT_EQ(Call(*api_, "GET", "/sign/" + token + "/loa", "").status, 410);
}

// Laying out a text costs time linear in its length: every measure sees a bounded window, so
// the bytes measured grow with the number of lines, not with their square.
TEST(LoaLayout, WrapIsLinearInTheTextsLength) {
  auto cost = [](const std::string& text) {
    std::size_t measured = 0;
    auto fit = [&measured](std::string_view chunk, bool word_wrap) -> std::size_t {
      measured += chunk.size();
      const std::size_t line = std::min<std::size_t>(80, chunk.size());  // 80 bytes a line
      if (!word_wrap || line == chunk.size()) {
        return line;
      }
      const auto sp = chunk.substr(0, line + 1).rfind(' ');
      return sp == std::string_view::npos ? 0 : sp + 1;
    };
    const auto lines = documents::WrapLines(text, 512, fit);
    std::size_t laid = 0;
    for (const auto& [at, length] : lines) {
      EXPECT_LE(length, 80U);
      laid += length;
    }
    EXPECT_GE(laid + lines.size(), text.size() - text.size() / 6);  // words kept, spaces dropped
    return measured;
  };
  for (const char* unit : {"x", "word "}) {
    std::string small, big;
    while (small.size() < 4000) {
      small += unit;
    }
    while (big.size() < 40000) {
      big += unit;
    }
    // Ten times the text, about ten times the work (a quadratic layout would be a hundred).
    EXPECT_LE(cost(big), 12 * cost(small)) << unit;
    EXPECT_LE(cost(big), 2 * 512 * (40000 / 70 + 1)) << unit;
  }
  const auto lines =
      documents::WrapLines("two words", 512, [](std::string_view c, bool) { return c.size(); });
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0], (std::pair<std::size_t, std::size_t>{0, 9}));
}

TEST_P(LoaTest, FieldsThatReachTheLoaAreBounded) {
  const auto [id, token] = Create();
  api::Request req;
  req.method = "POST";
  req.target = "/sign/" + token;
  req.request_id = "req_sign";
  EXPECT_TRUE(api::ParseTarget(req.target, req));
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = "name=Jane+Doe&consent=yes&title=" + std::string(40000, 'T');
  auto r = api_->Handle(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("at most 100 characters"), std::string::npos);
  (void)id;
}

TEST_P(LoaTest, ResendReplacesTheLinkAndRestartsExpiry) {
  const auto [id, token] = Create();
  clock_.Advance(std::chrono::hours(24 * 3));
  auto resent = Call(*api_, "POST", "/v1/sip/port/" + id + "/signature/resend", key_);
  ASSERT_EQ(resent.status, 200) << resent.body;
  const std::string url(Json(resent.body).at("data").at("signature_url").as_string());
  const std::string fresh = url.substr(url.rfind('/') + 1);
  EXPECT_NE(fresh, token);
  EXPECT_EQ(Call(*api_, "GET", "/sign/" + token, "").status, 404);  // the old link is dead
  EXPECT_EQ(Call(*api_, "GET", "/sign/" + token + "/loa", "").status, 404);
  EXPECT_EQ(Call(*api_, "GET", "/sign/" + fresh, "").status, 200);
  auto events = Call(*api_, "GET", "/v1/sip/port/" + id + "/events", key_);
  EXPECT_NE(events.body.find("\"resent\":true"), std::string::npos) << events.body;
  EXPECT_EQ(Sign(fresh, "Jane+Doe").status, 200);
  EXPECT_EQ(Call(*api_, "POST", "/v1/sip/port/port_nope/signature/resend", key_).status, 404);
}

TEST_P(LoaTest, DrawnSignatureIsCheckedAndEmbedded) {
  const auto [id, token] = Create();
  // A data URL that is not a PNG is refused, and nothing is signed.
  auto bad = Sign(token, "Jane+Doe", "data%3Aimage%2Fpng%3Bbase64%2Cbm90IGEgcG5n");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("not a complete PNG"), std::string::npos) << bad.body;
  // A real 1×1 PNG, form-encoded as a browser sends it.
  const std::string png =
      "data%3Aimage%2Fpng%3Bbase64%"
      "2CiVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAA"
      "AAAYAAjCB0C8AAAAASUVORK5CYII%3D";
  ASSERT_EQ(Sign(token, "Jane+Doe", png).status, 200);
  auto loa = Call(*api_, "GET", "/v1/sip/port/" + id + "/loa", key_);
  ASSERT_EQ(loa.status, 200);
  const std::string in = dir_.path() + "/drawn.pdf";
  std::ofstream(in, std::ios::binary) << loa.body;
  const std::string list = dir_.path() + "/images.txt";
  ASSERT_EQ(std::system(("pdfimages -list '" + in + "' > '" + list + "' 2>/dev/null").c_str()), 0);
  std::ifstream f(list);
  const std::string images((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // Once on the LOA's signature block and once on the certificate.
  std::size_t count = 0;
  for (std::size_t p = images.find("image"); p != std::string::npos;
       p = images.find("image", p + 1)) {
    ++count;
  }
  EXPECT_GE(count, 2u) << images;
  EXPECT_NE(PdfText(loa.body, dir_.path()).find("Drawn signature:"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, LoaTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace portline
