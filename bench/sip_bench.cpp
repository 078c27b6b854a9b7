// SIP benchmarks (`make bench`): parser throughput against a one-pass scan floor, OPTIONS
// transactions per second through the whole stack against a UDP echo floor, and memory per
// pending client transaction. Prints a Markdown section.
//
//   sip_bench [seconds]     (default 5 s per throughput run)

#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "sip/endpoint.hpp"
#include "sip/message.hpp"

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

void Pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

const std::string kOptions =
    "OPTIONS sip:pbx.example.com:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds2bb3;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:portline@192.0.2.10>;tag=1928301774ab\r\n"
    "To: <sip:pbx.example.com:5060>\r\n"
    "Call-ID: a84b4c76e66710a84b4c76e66710@portline\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Contact: <sip:portline@192.0.2.10:5060>\r\n"
    "Accept: application/sdp\r\n"
    "User-Agent: Portline/0.1.0\r\n"
    "Content-Length: 0\r\n\r\n";

const std::string kOk =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP "
    "192.0.2.10:5060;branch=z9hG4bK776asdhds2bb3;rport=5060;received=192.0.2.10\r\n"
    "From: <sip:portline@192.0.2.10>;tag=1928301774ab\r\n"
    "To: <sip:pbx.example.com:5060>;tag=as5f3e2a1b\r\n"
    "Call-ID: a84b4c76e66710a84b4c76e66710@portline\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Server: Asterisk PBX 18.20.0\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE\r\n"
    "Supported: replaces, timer\r\n"
    "Accept: application/sdp\r\n"
    "Content-Length: 0\r\n\r\n";

template <typename F>
double NsPerOp(F&& f, int n) {
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    f(i);
  }
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / n;
}

void ParseBench() {
  constexpr int kN = 2'000'000;
  volatile std::size_t sink = 0;
  const std::string both[] = {kOptions, kOk};
  // Floor: one pass over the bytes finding every line end (the least any parser must do).
  const double floor = NsPerOp(
      [&](int i) {
        const std::string& s = both[i & 1];
        std::size_t lines = 0;
        for (const char* p = s.data();
             (p = static_cast<const char*>(std::memchr(p, '\n', s.data() + s.size() - p))) !=
             nullptr;
             ++p) {
          ++lines;
        }
        sink = sink + lines;
      },
      kN);
  const double index = NsPerOp(
      [&](int i) {
        auto m = portline::sip::ParseMessage(both[i & 1]);
        sink = sink + m->Headers().size();
      },
      kN);
  const double tx = NsPerOp(
      [&](int i) {
        auto m = portline::sip::ParseMessage(both[i & 1]);
        auto via = m->TopVia();
        auto cseq = m->CSeq();
        sink = sink + via->Branch().size() + cseq->number;
      },
      kN);
  const double core = NsPerOp(
      [&](int i) {
        auto m = portline::sip::ParseMessage(both[i & 1]);
        sink = sink + portline::sip::Validate(*m, portline::sip::Depth::kCore).size();
      },
      kN);
  std::printf(
      "### SIP parser (one core; a %zu-byte OPTIONS and a %zu-byte 200 OK, alternating)\n\n",
      kOptions.size(), kOk.size());
  std::printf("| Work per message | ns/msg | msgs/s | × floor time |\n|---|---|---|---|\n");
  auto row = [floor](const char* what, double ns) {
    std::printf("| %s | %.0f | %.2fM | %.1f |\n", what, ns, 1e3 / ns, ns / floor);
  };
  row("floor: memchr every line end", floor);
  row("ParseMessage (frame + index every header)", index);
  row("+ top Via and CSeq (what the transaction layer reads)", tx);
  row("+ Validate(kCore): Via, From, To, CSeq, Call-ID, Max-Forwards, Contact, Request-URI", core);
  std::printf("\n");
}

// UDP echo floor: the same window of datagrams of the same size, no SIP.
double UdpFloor(std::chrono::seconds secs, int window) {
  const int server = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(server, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(server, reinterpret_cast<sockaddr*>(&a), &len);
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    Pin(0);
    timeval tv{0, 100000};
    ::setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[2048];
    while (!stop) {
      sockaddr_in from{};
      socklen_t fl = sizeof(from);
      const ssize_t n =
          ::recvfrom(server, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n > 0) {
        ::sendto(server, kOk.data(), kOk.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
      }
    }
  });
  Pin(1);
  const int client = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{0, 100000};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  for (int i = 0; i < window; ++i) {
    ::sendto(client, kOptions.data(), kOptions.size(), 0, reinterpret_cast<sockaddr*>(&a),
             sizeof(a));
  }
  std::uint64_t done = 0;
  const auto end = Clock::now() + secs;
  const auto start = Clock::now();
  char buf[2048];
  while (Clock::now() < end) {
    if (::recv(client, buf, sizeof(buf), 0) > 0) {
      ++done;
      ::sendto(client, kOptions.data(), kOptions.size(), 0, reinterpret_cast<sockaddr*>(&a),
               sizeof(a));
    } else {
      // A lost datagram: put one back in flight.
      ::sendto(client, kOptions.data(), kOptions.size(), 0, reinterpret_cast<sockaddr*>(&a),
               sizeof(a));
    }
  }
  const double rate =
      static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  echo.join();
  ::close(client);
  ::close(server);
  return rate;
}

struct OptionsRun {
  double rate = 0;
  std::uint64_t failed = 0;
  double p50_ms = 0, p99_ms = 0;
};

OptionsRun OptionsThroughput(std::chrono::seconds secs, int window) {
  // Responder: a Portline endpoint with a UDP listener, on CPU 0.
  asio::io_context server_io(1);
  portline::sip::EndpointOptions so;
  so.listeners = {{portline::sip::Transport::kUdp, "127.0.0.1", 0}};
  portline::sip::Endpoint server(server_io, so);
  if (!server.Start()) {
    std::fprintf(stderr, "cannot start the responder\n");
    std::exit(1);
  }
  const std::uint16_t port = server.Listeners().front().port;
  auto guard = asio::make_work_guard(server_io);
  std::thread server_thread([&] {
    Pin(0);
    pthread_setname_np(pthread_self(), "responder");
    server_io.run();
  });

  Pin(1);
  asio::io_context io(1);
  portline::sip::Endpoint client(io, {});
  (void)client.Start();
  const std::string uri = "sip:127.0.0.1:" + std::to_string(port);
  std::atomic<bool> stop{false};
  std::uint64_t done = 0;
  std::uint64_t failed = 0;
  std::vector<double> latencies;
  latencies.reserve(1 << 22);
  auto worker = [&]() -> asio::awaitable<void> {
    while (!stop) {
      const auto t0 = Clock::now();
      portline::sip::OptionsRequest req{.uri = uri, .timeout = 2s};  // never a temporary
      auto r = co_await client.Options(req);                         // inside co_await (GCC 12)
      if (r && r->code == 200) {
        ++done;
        latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      } else {
        ++failed;
      }
    }
  };
  const auto start = Clock::now();
  for (int i = 0; i < window; ++i) {
    asio::co_spawn(io, worker(), asio::detached);
  }
  asio::steady_timer end_timer(io, secs);
  end_timer.async_wait([&stop](boost::system::error_code) { stop = true; });
  io.run_for(secs + 3s);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  OptionsRun run;
  run.rate = static_cast<double>(done) / std::min(elapsed, static_cast<double>(secs.count()));
  run.failed = failed;
  std::sort(latencies.begin(), latencies.end());
  if (!latencies.empty()) {
    run.p50_ms = latencies[latencies.size() / 2];
    run.p99_ms = latencies[latencies.size() * 99 / 100];
  }
  client.Stop();
  guard.reset();
  server.Stop();
  server_io.stop();
  server_thread.join();
  return run;
}

// Heap bytes per client transaction waiting for an answer that does not come.
double MemoryPerPending(int n) {
  asio::io_context io(1);
  portline::sip::Endpoint client(io, {});
  (void)client.Start();
  // A UDP socket that never answers.
  const int sink = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(sink, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(sink, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string uri = "sip:127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto probe = [&]() -> asio::awaitable<void> {
    portline::sip::OptionsRequest req{.uri = uri, .timeout = 60s};
    (void)co_await client.Options(req);
  };
  // Warm up allocator pools with a few, then measure the step to n.
  for (int i = 0; i < 100; ++i) {
    asio::co_spawn(io, probe(), asio::detached);
  }
  io.run_for(200ms);
  const auto before = mallinfo2().uordblks;
  const auto pending_before = client.GetStats().client_transactions;
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(io, probe(), asio::detached);
  }
  io.run_for(1s);
  const auto after = mallinfo2().uordblks;
  const auto pending = client.GetStats().client_transactions - pending_before;
  client.Stop();
  ::close(sink);
  return pending == 0 ? 0 : static_cast<double>(after - before) / static_cast<double>(pending);
}

}  // namespace

int main(int argc, char** argv) {
  portline::log::Init(portline::log::Level::kError);
  const std::chrono::seconds secs(argc > 1 ? std::atoi(argv[1]) : 5);
  Pin(0);
  const bool only_options = argc > 2 && std::string(argv[2]) == "options";
  if (!only_options) {
    ParseBench();
  }
  constexpr int kWindow = 64;
  const double floor = UdpFloor(secs, kWindow);
  const OptionsRun run = OptionsThroughput(secs, kWindow);
  std::printf("### OPTIONS transactions through the stack (UDP loopback, %d in flight)\n\n",
              kWindow);
  std::printf(
      "Client endpoint on CPU 1 (URI parse, RFC 3263 for a numeric host, client "
      "transaction, timers), responder endpoint on CPU 0 (parse, Validate, server "
      "transaction, response). Floor: a plain UDP echo of the same datagrams with the "
      "same window.\n\n");
  std::printf("| | transactions/s | p50 | p99 | failed | × floor |\n|---|---|---|---|---|---|\n");
  std::printf("| UDP echo floor | %.0f | | | | 1.00 |\n", floor);
  std::printf("| Portline OPTIONS | %.0f | %.3f ms | %.3f ms | %llu | %.2f |\n\n", run.rate,
              run.p50_ms, run.p99_ms, static_cast<unsigned long long>(run.failed),
              run.rate / floor);
  const double bytes = MemoryPerPending(20000);
  std::printf(
      "Memory per pending client transaction (20,000 OPTIONS awaiting an answer, heap "
      "growth / transactions, including the waiting coroutine): **%.0f bytes**\n\n",
      bytes);
  return 0;
}
