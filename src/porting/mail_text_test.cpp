#include "porting/mail_text.hpp"

#include <gtest/gtest.h>

namespace portline::porting {
namespace {

MailFacts Facts(std::string type) {
  return MailFacts{.type = std::move(type),
                   .request_id = "pr_1",
                   .customer = "Acme Corp",
                   .first_name = "Jane",
                   .target_date = "2026-12-10",
                   .numbers = 2};
}

TEST(MailText, DatesAndNumbersAreSpelledOut) {
  EXPECT_EQ(SpelledDate("2026-12-15"), "Tuesday, 15 December 2026");
  EXPECT_EQ(SpelledDate("2024-02-29"), "Thursday, 29 February 2024");
  EXPECT_EQ(SpelledDate("2026-02-30"), "2026-02-30");  // not a date: as given
  EXPECT_EQ(SpelledDate("soon"), "soon");
  EXPECT_EQ(ReadableNumber("+14155550100"), "+1 415-555-0100");
  EXPECT_EQ(ReadableNumber("+442079460000"), "+442079460000");
}

TEST(MailText, EveryMailedStatusSaysWhatHappenedWithoutApiPaths) {
  for (const char* type :
       {"port.signed", "port.submitted", "port.foc_confirmed", "port.foc_changed",
        "port.action_required", "port.completed", "port.canceled", "port.expired", "port.failed"}) {
    ASSERT_TRUE(IsMailedStatus(type)) << type;
    auto t = StatusMail(Facts(type));
    ASSERT_TRUE(t) << type;
    EXPECT_TRUE(t->subject.starts_with("Number port for Acme Corp: ")) << t->subject;
    EXPECT_TRUE(t->body.starts_with("Hello,\n\n")) << t->body;
    EXPECT_EQ(t->body.find("/v1/"), std::string::npos) << t->body;
    EXPECT_EQ(t->body.find("port."), std::string::npos) << "no event type names: " << t->body;
    EXPECT_NE(t->body.find("Reference: pr_1 (requested for Thursday, 10 December 2026)."),
              std::string::npos)
        << t->body;
  }
  EXPECT_FALSE(IsMailedStatus("port.created"));
  EXPECT_FALSE(StatusMail(Facts("port.number_ported")));
}

TEST(MailText, CompletedListsTheNumbersAndRejectionsSayWhatToFix) {
  MailFacts done = Facts("port.completed");
  done.ported = {"+14155550100", "+14155550101"};
  done.foc_date = "2026-12-15";
  const auto completed = StatusMail(done);
  EXPECT_NE(completed->body.find("these numbers of Acme Corp now work on Portline"),
            std::string::npos)
      << completed->body;
  EXPECT_NE(completed->body.find("\n  +1 415-555-0100\n  +1 415-555-0101\n"), std::string::npos);
  EXPECT_NE(completed->body.find("\nThe numbers moved on Tuesday, 15 December 2026.\n"),
            std::string::npos)
      << completed->body;

  MailFacts rejected = Facts("port.action_required");
  rejected.action = "Correct the account number.";
  rejected.reason = "account number mismatch";
  const auto action = StatusMail(rejected);
  EXPECT_NE(action->body.find("What to do: Correct the account number.\n"), std::string::npos);
  EXPECT_NE(action->body.find("Reason: account number mismatch\n"), std::string::npos);

  const auto sign = SignatureMail(Facts("port.signature_requested"), "https://x.test/sign/abc");
  EXPECT_EQ(sign.subject, "Please sign the Letter of Authorization for Acme Corp");
  EXPECT_NE(sign.body.find("Hello Jane,"), std::string::npos);
  EXPECT_NE(sign.body.find("asked to move 2 numbers"), std::string::npos);
  EXPECT_NE(sign.body.find("\n  https://x.test/sign/abc\n"), std::string::npos);
}

}  // namespace
}  // namespace portline::porting
