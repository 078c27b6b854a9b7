#include "net/resolve.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portline::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(ResolveTest, LiteralsNeedNoLookup) {
  auto v4 = Resolve("192.0.2.7", 8443, Clock::now());  // even with no time left
  ASSERT_TRUE(v4) << v4.error().message;
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ(v4->front().text, "192.0.2.7");
  EXPECT_EQ(v4->front().family, AF_INET);
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(&v4->front().addr)->sin_port), 8443);
  auto v6 = Resolve("[2001:db8::1]", 443, Clock::now());
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->front().text, "2001:db8::1");
  EXPECT_EQ(v6->front().family, AF_INET6);
}

TEST(ResolveTest, NamesComeFromTheHostsFile) {
  auto local = Resolve("localhost", 25, Clock::now() + 2s);
  ASSERT_TRUE(local) << local.error().message;
  bool loopback = false;
  for (const ResolvedAddress& a : *local) {
    loopback = loopback || a.text == "127.0.0.1" || a.text == "::1";
  }
  EXPECT_TRUE(loopback);
}

TEST(ResolveTest, ASilentResolverEndsAtTheDeadline) {
  const int silent = ::socket(AF_INET, SOCK_DGRAM, 0);  // receives queries, never answers
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string server = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  const auto started = Clock::now();
  auto r = Resolve("hooks.example.test", 443, started + 300ms, {server});
  const auto took = Clock::now() - started;
  ::close(silent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kDeadlineExceeded) << r.error().message;
  EXPECT_EQ(r.error().message, "looking up hooks.example.test timed out");
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1000ms);  // c-ares would otherwise retry for 3 × 1 s
}

TEST(ResolveTest, BadNamesAreRefused) {
  EXPECT_EQ(Resolve("", 80, Clock::now() + 1s).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Resolve(std::string(300, 'a'), 80, Clock::now() + 1s).error().code,
            Errc::kInvalidArgument);
  EXPECT_FALSE(Resolve("bad.example.test", 80, Clock::now() + 1s, {"not a server"}));
}

}  // namespace
}  // namespace portline::net
