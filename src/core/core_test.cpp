#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/net_guard.hpp"
#include "core/time.hpp"
#include "core/utf8.hpp"

namespace portline {
namespace {

TEST(TimeTest, FormatsRfc3339UtcWithMillis) {
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1774051200123)), "2026-03-21T00:00:00.123Z");
}

TEST(TimeTest, ParsesOffsetsAndFractions) {
  auto t = ParseRfc3339("2026-03-20T00:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatRfc3339(*t), "2026-03-20T00:00:00.000Z");
  auto o = ParseRfc3339("2026-03-20T02:00:00.5+02:00");
  ASSERT_TRUE(o);
  EXPECT_EQ(FormatRfc3339(*o), "2026-03-20T00:00:00.500Z");
}

TEST(TimeTest, RejectsMalformed) {
  for (const char* bad : {"", "2026-03-20", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-03-20T24:00:00Z", "2026-03-20T00:00:00", "2026-03-20T00:00:00Zx",
                          "2026-03-20T00:00:00.Z", "2026-03-20T00:00:00+0200"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

TEST(IdTest, SortableWellFormedAndUnique) {
  InitCrypto();
  const auto t = FromUnixMillis(1774051200123);
  const auto a = NewId("key", t);
  const auto b = NewId("key", t + std::chrono::milliseconds(1));
  EXPECT_TRUE(IsWellFormedId(a, "key"));
  EXPECT_FALSE(IsWellFormedId(a, "org"));
  EXPECT_LT(a, b);
  EXPECT_NE(NewId("key", t), NewId("key", t));
  EXPECT_FALSE(IsWellFormedId("key_" + std::string(26, 'u'), "key"));  // 'u' not in Crockford
}

TEST(CryptoTest, Sha256KnownVector) {
  InitCrypto();
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(RandomHex(24).size(), 48U);
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "ab"));
}

TEST(Utf8Test, AcceptsValidRejectsInvalid) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("Zo\xC3\xAB \xF0\x9F\x93\x9E"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(LogTest, LinesAreValidJsonEvenForHostileValues) {
  const std::string hostile = "a\"b\\c\n\x01\xFF\xC0";
  const auto line = log::FormatLine(log::Level::kInfo, "msg \"quoted\"",
                                    {{"path", hostile}, {"n", 42}, {"ok", true}, {"ms", 1.5}});
  const auto v = boost::json::parse(line);
  EXPECT_EQ(v.at("level").as_string(), "info");
  EXPECT_EQ(v.at("n").as_int64(), 42);
  EXPECT_TRUE(v.at("ok").as_bool());
  EXPECT_EQ(v.at("path").as_string(), "a\"b\\c\n\x01\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(LogTest, LevelsParse) {
  log::Level l{};
  EXPECT_TRUE(log::ParseLevel("warn", l));
  EXPECT_EQ(l, log::Level::kWarn);
  EXPECT_FALSE(log::ParseLevel("loud", l));
}

}  // namespace
}  // namespace portline

namespace portline {
namespace {
TEST(IdTest, RequestIdsAreDistinctAndShaped) {
  InitCrypto();
  const auto a = NewRequestId();
  const auto b = NewRequestId();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 20U);
  EXPECT_EQ(a.rfind("req_", 0), 0U);
}

TEST(OutboundGuard, RefusesNonPublicAddressesUnlessAllowed) {
  const net::OutboundGuard strict;
  struct Case {
    const char* ip;
    const char* why;  // "" = public, allowed
  };
  const Case cases[] = {
      {"8.8.8.8", ""},
      {"203.0.113.7", ""},
      {"2606:4700::1111", ""},
      {"127.0.0.1", "loopback"},
      {"127.9.9.9", "loopback"},
      {"10.1.2.3", "private"},
      {"172.31.255.255", "private"},
      {"172.32.0.1", ""},
      {"192.168.1.1", "private"},
      {"169.254.169.254", "metadata"},
      {"169.254.1.1", "link-local"},
      {"100.64.0.1", "carrier-grade NAT"},
      {"0.0.0.0", "unspecified"},
      {"224.0.0.1", "multicast"},
      {"::1", "loopback"},
      {"::", "unspecified"},
      {"::ffff:127.0.0.1", "loopback"},  // IPv4-mapped
      {"64:ff9b::a00:1", "private"},     // NAT64 of 10.0.0.1
      {"fd00:ec2::254", "metadata"},
      {"fd12:3456::1", "unique local"},
      {"fe80::1", "link-local"},
      {"[::1]", "loopback"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ip);
    auto r = strict.Check(c.ip);
    if (std::string_view(c.why).empty()) {
      EXPECT_TRUE(r) << r.error().message;
    } else {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
      EXPECT_NE(r.error().message.find(c.why), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find("--outbound-allow"), std::string::npos);
    }
  }
  EXPECT_EQ(strict.Check("not-an-ip").error().code, Errc::kInvalidArgument);

  auto loopback = net::OutboundGuard::FromList({"127.0.0.0/8", "::1/128"});
  ASSERT_TRUE(loopback);
  EXPECT_TRUE(loopback->Check("127.0.0.1"));
  EXPECT_TRUE(loopback->Check("::1"));
  EXPECT_TRUE(loopback->Check("::ffff:127.0.0.2"));
  EXPECT_FALSE(loopback->Check("10.0.0.1"));
  EXPECT_FALSE(loopback->Check("169.254.169.254"));

  EXPECT_FALSE(net::ParseCidr("10.0.0.0/33"));
  EXPECT_FALSE(net::ParseCidr("10.0.0/8"));
  EXPECT_FALSE(net::ParseCidr("::/129"));
  EXPECT_FALSE(net::ParseCidr("10.0.0.0/8x"));
  auto host = net::ParseCidr("192.0.2.1");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix, 128);
}

}  // namespace
}  // namespace portline
