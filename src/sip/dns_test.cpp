#include "sip/dns.hpp"

#include <gtest/gtest.h>

#include <map>

namespace portline::sip {
namespace {

TEST(SipDns, SrvOrderIsPriorityThenWeightedRandom) {
  const std::vector<SrvRecord> records = {{20, 0, 5060, "backup.example.com"},
                                          {10, 60, 5060, "a.example.com"},
                                          {10, 30, 5060, "b.example.com"},
                                          {10, 10, 5060, "c.example.com"},
                                          {10, 0, 5060, "zero.example.com"}};
  // Priority 10 always comes before priority 20.
  std::map<std::string, int> first;
  std::uint32_t seed = 1;
  auto lcg = [&seed](std::uint32_t bound) {
    seed = seed * 1103515245U + 12345U;
    return bound == 0 ? 0 : (seed >> 8) % (bound + 1);
  };
  for (int i = 0; i < 10000; ++i) {
    const auto ordered = OrderSrv(records, lcg);
    ASSERT_EQ(ordered.size(), records.size());
    EXPECT_EQ(ordered.back().target, "backup.example.com");
    ++first[ordered.front().target];
  }
  // RFC 2782: the chance of going first is proportional to the weight (60:30:10, zero rarely).
  EXPECT_NEAR(first["a.example.com"] / 10000.0, 0.6, 0.03);
  EXPECT_NEAR(first["b.example.com"] / 10000.0, 0.3, 0.03);
  EXPECT_NEAR(first["c.example.com"] / 10000.0, 0.1, 0.03);
  EXPECT_LT(first["zero.example.com"], 200);
  // "." alone means the service is not offered.
  EXPECT_TRUE(OrderSrv({{0, 0, 0, "."}}, lcg).empty());
}

TEST(SipDns, NaptrKeepsKnownServicesInOrder) {
  const std::vector<NaptrRecord> records = {{20, 10, "s", "SIP+D2U", "_sip._udp.x"},
                                            {10, 20, "s", "SIP+D2T", "_sip._tcp.x"},
                                            {10, 10, "s", "SIPS+D2T", "_sips._tcp.x"},
                                            {5, 5, "s", "E2U+sip", "ignored"},
                                            {5, 5, "u", "SIP+D2U", "not an SRV"}};
  const auto ordered = OrderNaptr(records, false);
  ASSERT_EQ(ordered.size(), 3u);
  EXPECT_EQ(ordered[0].service, "SIPS+D2T");
  EXPECT_EQ(ordered[1].service, "SIP+D2T");
  EXPECT_EQ(ordered[2].service, "SIP+D2U");
  const auto sips = OrderNaptr(records, true);
  ASSERT_EQ(sips.size(), 1u);
  EXPECT_EQ(sips[0].service, "SIPS+D2T");
}

}  // namespace
}  // namespace portline::sip
