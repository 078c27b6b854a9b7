// E-mail: messages enqueued with their events, delivered to .eml files by default and through a
// real SMTP server on loopback (Debian's python3-aiosmtpd: STARTTLS, AUTH), with retries.
#include "mail/mail.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "support/backend_fixture.hpp"
#include "support/child_process.hpp"

namespace portline {
namespace {

const char* kBody = R"({"phone_numbers": ["+14155550100"],
  "losing_carrier_information": {"customer_type": "business", "business_name": "Acme Corp",
  "first_name": "Jane", "last_name": "Doe", "account_number": "ACC-12345",
  "authorized_representative_email": "jane@acme.example",
  "notification_emails": ["ops@acme.example"],
  "address": {"street": "123 Main St", "city": "San Francisco", "state": "CA", "zip": "94105"}}})";

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Undoes quoted-printable soft line breaks (the only encoding our ASCII bodies need).
std::string Unfold(std::string s) {
  for (std::size_t p = s.find("=\r\n"); p != std::string::npos; p = s.find("=\r\n", p)) {
    s.erase(p, 3);
  }
  return s;
}

std::vector<std::filesystem::path> Files(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  if (std::filesystem::exists(dir)) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() == ".eml") {
        out.push_back(e.path());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(MailFormat, HeadersCannotBeInjectedAndBodiesAreQuotedPrintable) {
  mail::Message m;
  m.id = "eml_1";
  m.from = "Portline <noreply@portline.test>";
  m.to = {"a@example.com"};
  m.subject = "Hello\r\nBcc: victim@example.com";
  m.body = "Line one\n.starts with a dot\nlong " + std::string(100, 'x') + "\nnon-ASCII: café\n";
  const std::string text = mail::Format(m);
  EXPECT_EQ(text.find("\r\nBcc:"), std::string::npos) << text;
  EXPECT_NE(text.find("Subject: Hello  Bcc: victim@example.com\r\n"), std::string::npos);
  EXPECT_NE(text.find("Message-ID: <eml_1@portline.test>"), std::string::npos);
  EXPECT_NE(text.find("caf=C3=A9"), std::string::npos);
  for (std::size_t p = 0, e = 0; (e = text.find("\r\n", p)) != std::string::npos; p = e + 2) {
    EXPECT_LE(e - p, 998U);  // RFC 5322 line length
  }
  EXPECT_TRUE(mail::ValidAddress("ops@acme.example"));
  EXPECT_FALSE(mail::ValidAddress("not an address"));
  EXPECT_FALSE(mail::ValidAddress("a@b.c>\r\nRCPT TO:<x@y.z"));
  EXPECT_FALSE(mail::ValidAddress("a@localhost"));
}

class MailTest : public testing::ApiTest {};

TEST_P(MailTest, SignatureRequestAndStatusUpdatesGoToTheOutbox) {
  auto created = Call(*api_, "POST", "/v1/sip/port/initiate", key_, kBody);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string url(Json(created.body).at("data").at("signature_url").as_string());
  auto queued = Call(*api_, "GET", "/v1/emails", key_);
  const auto queued_json = Json(queued.body);
  const auto& emails = queued_json.at("data").at("emails").as_array();
  ASSERT_EQ(emails.size(), 1u) << queued.body;
  EXPECT_EQ(emails[0].at("status").as_string(), "pending");
  EXPECT_EQ(emails[0].at("event_type").as_string(), "port.signature_requested");
  // The link's token is a credential: neither the outbox view nor its row holds it in clear.
  const std::string token_in_url = url.substr(url.rfind('/') + 1);
  EXPECT_EQ(queued.body.find(token_in_url), std::string::npos) << queued.body;
  auto rows = (*db_->Acquire())->Query("SELECT body, body_sealed FROM email_outbox", {});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1U);
  EXPECT_EQ((*rows)[0].Text(0).find(token_in_url), std::string::npos);
  EXPECT_EQ((*rows)[0].Text(1).find(token_in_url), std::string::npos);
  EXPECT_FALSE((*rows)[0].IsNull(1));

  ASSERT_EQ(mail_->RunDue().value_or(-1), 1);
  EXPECT_EQ(mail_->RunDue().value_or(-1), 0);  // nothing left: sent once
  auto files = Files(dir_.path() + "/outbox");
  ASSERT_EQ(files.size(), 1u);
  const std::string eml = Unfold(ReadAll(files[0]));
  EXPECT_NE(eml.find("To: jane@acme.example\r\n"), std::string::npos) << eml;
  EXPECT_NE(eml.find("From: Portline <noreply@portline.test>"), std::string::npos);
  EXPECT_NE(eml.find("Subject: Please sign the Letter of Authorization for Acme Corp"),
            std::string::npos);
  EXPECT_NE(eml.find(url), std::string::npos) << eml;
  auto sent = Call(*api_, "GET", "/v1/emails", key_);
  EXPECT_EQ(Json(sent.body).at("data").at("emails").as_array()[0].at("status").as_string(), "sent");

  // Signing causes status updates to notification_emails.
  const std::string token = url.substr(url.rfind('/') + 1);
  api::Request sign;
  sign.method = "POST";
  sign.target = "/sign/" + token;
  sign.request_id = "req_sign";
  ASSERT_TRUE(api::ParseTarget(sign.target, sign));
  sign.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  sign.body = "name=Jane+Doe&consent=yes";
  ASSERT_EQ(api_->Handle(sign).status, 200);
  ASSERT_EQ(mail_->RunDue().value_or(-1), 2);  // port.signed, port.submitted
  files = Files(dir_.path() + "/outbox");
  ASSERT_EQ(files.size(), 3u);
  std::string all;
  for (const auto& f : files) {
    all += Unfold(ReadAll(f));
  }
  EXPECT_NE(all.find("To: ops@acme.example\r\n"), std::string::npos) << all;
  EXPECT_NE(all.find("Subject: Number port for Acme Corp: LOA signed"), std::string::npos) << all;
  EXPECT_NE(all.find("Subject: Number port for Acme Corp: sent to the current carrier"),
            std::string::npos)
      << all;
  EXPECT_EQ(all.find("/v1/"), std::string::npos) << all;
  // Another organization sees none of it.
  EXPECT_EQ(Json(Call(*api_, "GET", "/v1/emails", NewOrgKey("other")).body)
                .at("data")
                .at("emails")
                .as_array()
                .size(),
            0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, MailTest, ::testing::Values("sqlite", "postgres"));

class SmtpTest : public testing::ApiTest {
 protected:
  void SetUp() override {
    testing::ApiTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) {
      return;
    }
    ASSERT_TRUE(testing::MakeTestCertificates(dir_.path()));
    out_ = dir_.path() + "/received";
    std::filesystem::create_directories(out_);
    port_ = testing::FreePort();
  }
  std::unique_ptr<testing::ChildProcess> StartServer() {
    auto p = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{"/usr/bin/python3",
                                 std::string(PORTLINE_TEST_DATA_DIR) + "/smtp/smtp_server.py",
                                 std::to_string(port_), out_, dir_.path() + "/server.crt",
                                 dir_.path() + "/server.key", "portline", "s3cret-pass"},
        dir_.path(), "smtp");
    for (int i = 0; i < 100 && p->Output().find("ready") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_NE(p->Output().find("ready"), std::string::npos) << p->Output();
    return p;
  }
  mail::SmtpOptions Smtp() {
    mail::SmtpOptions o;
    o.host = "127.0.0.1";
    o.port = port_;
    o.username = "portline";
    o.password = "s3cret-pass";
    o.ca_file = dir_.path() + "/ca.crt";
    o.timeout = std::chrono::milliseconds(5000);
    return o;
  }
  std::string out_;
  std::uint16_t port_ = 0;
};

TEST_P(SmtpTest, DeliversThroughStartTlsAndAuthWithRetries) {
  auto sender = mail::MakeSmtpSender(Smtp());
  mail::MailService smtp(*db_, *sender, clock_, box_, "Portline <noreply@portline.test>");
  ASSERT_EQ(Call(*api_, "POST", "/v1/sip/port/initiate", key_, kBody).status, 201);

  // No server yet: the message waits, with the reason, for its next attempt.
  ASSERT_EQ(smtp.RunDue().value_or(-1), 1);
  auto waiting = Json(Call(*api_, "GET", "/v1/emails", key_).body).at("data").at("emails").at(0);
  EXPECT_EQ(waiting.at("status").as_string(), "pending");
  EXPECT_EQ(waiting.at("attempts").as_int64(), 1);
  EXPECT_NE(std::string(waiting.at("last_error").as_string()).find("connect"), std::string::npos);
  EXPECT_EQ(smtp.RunDue().value_or(-1), 0);  // not due before its backoff

  auto server = StartServer();
  clock_.Advance(std::chrono::seconds(61));
  ASSERT_EQ(smtp.RunDue().value_or(-1), 1);
  auto done = Json(Call(*api_, "GET", "/v1/emails", key_).body).at("data").at("emails").at(0);
  EXPECT_EQ(done.at("status").as_string(), "sent") << done;
  std::string received;
  for (int i = 0; i < 50 && received.empty(); ++i) {
    for (const auto& e : std::filesystem::directory_iterator(out_)) {
      if (e.path().extension() == ".eml") {
        received = Unfold(ReadAll(e.path()));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(received.find("X-Envelope-To: jane@acme.example"), std::string::npos) << received;
  EXPECT_NE(received.find("X-Authenticated: True"), std::string::npos) << received;
  EXPECT_NE(received.find("Please sign the Letter of Authorization"), std::string::npos);

  // A wrong password is a configuration error: the message fails with the server's answer.
  mail::SmtpOptions bad = Smtp();
  bad.password = "wrong";
  auto bad_sender = mail::MakeSmtpSender(bad);
  mail::MailService wrong(*db_, *bad_sender, clock_, box_, "Portline <noreply@portline.test>");
  const std::string second = NewOrgKey("second", {"SIP"}, /*sandbox=*/true);  // its own numbers
  ASSERT_EQ(Call(*api_, "POST", "/v1/sip/port/initiate", second, kBody).status, 201);
  ASSERT_EQ(wrong.RunDue().value_or(-1), 1);
  auto failed = Json(Call(*api_, "GET", "/v1/emails", second).body).at("data").at("emails").at(0);
  EXPECT_EQ(failed.at("status").as_string(), "failed") << failed;
  EXPECT_NE(std::string(failed.at("last_error").as_string()).find("535"), std::string::npos)
      << failed;
  // An unverifiable certificate is refused before any password is sent.
  mail::SmtpOptions untrusted = Smtp();
  untrusted.ca_file.clear();
  auto untrusted_sender = mail::MakeSmtpSender(untrusted);
  mail::Message m{"eml_x", "Portline <noreply@portline.test>", {"a@example.com"}, "s", "b", {}};
  auto refused = untrusted_sender->Send(m);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("unable to get local issuer certificate"),
            std::string::npos)
      << refused.error().message;
}

INSTANTIATE_TEST_SUITE_P(Backends, SmtpTest, ::testing::Values("sqlite"));

}  // namespace
}  // namespace portline
