// The SIP stream transport's bounds against real sockets on loopback: connection caps per source
// address and in total, and a peer that stops reading (a queue cap and a write deadline).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <vector>

#include "sip/endpoint.hpp"
#include "sip/message.hpp"
#include "support/child_process.hpp"

namespace portline::sip {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// True while the server keeps the connection (nothing to read, not reset, not closed).
bool Open(int s) {
  char c = 0;
  const ssize_t n = ::recv(s, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::string TcpOptions(std::uint16_t port) {
  return "OPTIONS sip:portline@127.0.0.1:" + std::to_string(port) +
         " SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=" + NewBranch() +
         "\r\nMax-Forwards: 70\r\nFrom: <sip:test@127.0.0.1>;tag=" + NewTag() +
         "\r\nTo: <sip:portline@127.0.0.1>\r\nCall-ID: " + NewTag() +
         "@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
}

class SipStreamLimitsTest : public ::testing::Test {
 protected:
  EndpointOptions Options() {
    EndpointOptions o;
    o.listeners = {{Transport::kTcp, "127.0.0.1", 0}};
    return o;
  }
  std::uint16_t Start(Endpoint& server) {
    EXPECT_TRUE(server.Start());
    return server.Listeners().front().port;
  }
  // Runs the endpoint until `done` holds (at most ~10 s).
  bool RunUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 2000; ++i) {
      io_.restart();
      io_.run_for(5ms);
      if (done()) {
        return true;
      }
    }
    return false;
  }
  static int CountOpen(const std::vector<int>& sockets) {
    int n = 0;
    for (int s : sockets) {
      n += Open(s) ? 1 : 0;
    }
    return n;
  }
  static void CloseAll(std::vector<int>& sockets) {
    for (int s : sockets) {
      ::close(s);
    }
    sockets.clear();
  }

  asio::io_context io_;
};

TEST_F(SipStreamLimitsTest, ConnectionsAreCappedPerSourceAddressAndInTotal) {
  EndpointOptions o = Options();
  o.streams.max_incoming = 6;
  o.streams.max_incoming_per_ip = 3;
  Endpoint server(io_, o);
  const std::uint16_t port = Start(server);
  auto rejected = [&] { return server.GetStats().streams.rejected; };

  std::vector<int> first;
  for (int i = 0; i < 5; ++i) {
    first.push_back(testing::ConnectTcpFrom("127.0.0.2", port));
    ASSERT_GE(first.back(), 0);
  }
  ASSERT_TRUE(RunUntil([&] { return rejected() == 2 && CountOpen(first) == 3; }))
      << "rejected " << rejected() << ", open " << CountOpen(first);

  std::vector<int> second;
  for (int i = 0; i < 4; ++i) {
    second.push_back(testing::ConnectTcpFrom("127.0.0.3", port));
  }
  ASSERT_TRUE(RunUntil([&] { return rejected() == 3 && CountOpen(second) == 3; }));

  // Six are open: a third address is refused although it has none yet.
  std::vector<int> third{testing::ConnectTcpFrom("127.0.0.4", port)};
  ASSERT_TRUE(RunUntil([&] { return rejected() == 4 && CountOpen(third) == 0; }));
  CloseAll(third);

  // The connections that were kept work.
  int kept = -1;
  for (int s : second) {
    kept = Open(s) ? s : kept;
  }
  const std::string request = TcpOptions(port);
  ASSERT_EQ(::send(kept, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string got;
  ASSERT_TRUE(RunUntil([&] {
    char buf[4096];
    const ssize_t n = ::recv(kept, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got.find("\r\n\r\n") != std::string::npos;
  }));
  EXPECT_TRUE(got.starts_with("SIP/2.0 200 OK\r\n")) << got;

  // Places free up as connections close.
  CloseAll(first);
  ASSERT_TRUE(RunUntil([&] { return server.GetStats().streams.incoming == 3; }));
  third.push_back(testing::ConnectTcpFrom("127.0.0.4", port));
  ASSERT_TRUE(RunUntil([&] { return server.GetStats().streams.incoming == 4; }));
  EXPECT_TRUE(Open(third.back()));
  EXPECT_EQ(rejected(), 4u);
  CloseAll(second);
  CloseAll(third);
}

// Sends pipelined OPTIONS without ever reading the answers, until the server drops the
// connection or `done` holds. Returns how many requests went out.
int FloodWithoutReading(int s, std::uint16_t port, const std::function<bool()>& done,
                        const std::function<void()>& run) {
  int sent = 0;
  std::string batch;
  for (int round = 0; round < 2000 && !done(); ++round) {
    batch.clear();
    for (int i = 0; i < 50; ++i) {
      batch += TcpOptions(port);
    }
    std::size_t off = 0;
    while (off < batch.size()) {
      const ssize_t n =
          ::send(s, batch.data() + off, batch.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        run();
        if (done()) {
          return sent;
        }
        continue;
      }
      if (n < 0) {
        return sent;  // reset by the server
      }
      off += static_cast<std::size_t>(n);
    }
    sent += 50;
    run();
  }
  return sent;
}

// A peer with a small receive window floods pipelined requests and never reads; returns
// whether the server dropped it by `dropped()` (and closed every connection).
::testing::AssertionResult DroppedWhenItStopsReading(asio::io_context& io, Endpoint& server,
                                                     const std::function<bool()>& dropped) {
  EXPECT_TRUE(server.Start());
  const std::uint16_t port = server.Listeners().front().port;
  const int s = testing::ConnectTcpFrom("127.0.0.1", port, 4096);
  if (s < 0) {
    return ::testing::AssertionFailure() << "cannot connect";
  }
  auto run = [&io] {
    io.restart();
    io.run_for(2ms);
  };
  const int sent = FloodWithoutReading(s, port, dropped, run);
  bool closed = false;
  for (int i = 0; i < 2000 && !closed; ++i) {
    run();
    closed = dropped() && server.GetStats().connections == 0;
  }
  ::close(s);
  return closed ? ::testing::AssertionSuccess()
                : ::testing::AssertionFailure() << "still open after " << sent << " requests";
}

TEST_F(SipStreamLimitsTest, APeerThatStopsReadingIsDroppedAtTheQueueCap) {
  EndpointOptions o = Options();
  o.streams.max_queued_bytes = 64 * 1024;
  o.streams.write_timeout = 60s;  // only the queue cap can act here
  Endpoint server(io_, o);
  EXPECT_TRUE(DroppedWhenItStopsReading(
      io_, server, [&] { return server.GetStats().streams.queue_overflows > 0; }));
  EXPECT_EQ(server.GetStats().streams.write_timeouts, 0u);
}

TEST_F(SipStreamLimitsTest, APeerThatStopsReadingIsDroppedAtTheWriteDeadline) {
  EndpointOptions o = Options();
  o.streams.max_queued_bytes = 256u << 20;  // only the deadline can act here
  o.streams.write_timeout = 200ms;
  Endpoint server(io_, o);
  EXPECT_TRUE(DroppedWhenItStopsReading(
      io_, server, [&] { return server.GetStats().streams.write_timeouts > 0; }));
  EXPECT_EQ(server.GetStats().streams.queue_overflows, 0u);
}

}  // namespace
}  // namespace portline::sip
