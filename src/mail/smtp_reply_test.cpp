#include "mail/smtp_reply.hpp"

#include <gtest/gtest.h>

namespace portline::mail {
namespace {

TEST(SmtpReply, CollectsAMultilineReply) {
  SmtpReplyReader r;
  EXPECT_FALSE(r.Add("250-mail.example.com")->has_value());
  EXPECT_FALSE(r.Add("250-STARTTLS")->has_value());
  auto done = r.Add("250 SIZE 1000");
  ASSERT_TRUE(done && *done);
  EXPECT_EQ((*done)->code, 250);
  EXPECT_EQ((*done)->text, "250-mail.example.com\n250-STARTTLS\n250 SIZE 1000\n");
  // The reader starts over for the next reply.
  auto next = r.Add("354");
  ASSERT_TRUE(next && *next);
  EXPECT_EQ((*next)->code, 354);
}

TEST(SmtpReply, RefusesWhatIsNotAReplyLine) {
  for (const char* bad : {"", "25", "abc ok", "250x", "650 too high", "150 too low", "2a0 no"}) {
    SmtpReplyReader r;
    EXPECT_FALSE(r.Add(bad)) << bad;
  }
  SmtpReplyReader r;
  ASSERT_TRUE(r.Add("250-first"));
  EXPECT_FALSE(r.Add("550 another code"));  // one reply carries one code
}

}  // namespace
}  // namespace portline::mail
