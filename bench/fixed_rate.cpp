// Constant-rate HTTP/1.1 load generator with latency percentiles, free of coordinated omission:
// request i is due at start + i/rate and its latency is measured from that due time, so a
// stalled server is charged for the requests it delayed (what wrk2 -R does; wrk2 is not in
// Debian). Keep-alive connections, one request in flight per connection.
// Usage: fixed_rate PORT RATE SECONDS CONNECTIONS PATH [HEADER...]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

namespace {
using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  bool busy = false;
  Clock::time_point due;
  std::string in;
};

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

// Returns true when `in` holds one complete response, which is then removed.
bool TakeResponse(std::string& in, int& status) {
  const auto end = in.find("\r\n\r\n");
  if (end == std::string::npos) {
    return false;
  }
  std::size_t length = 0;
  const auto cl = in.find("Content-Length: ");
  if (cl != std::string::npos && cl < end) {
    length = std::strtoul(in.c_str() + cl + 16, nullptr, 10);
  }
  if (in.size() < end + 4 + length) {
    return false;
  }
  status = std::atoi(in.c_str() + 9);
  in.erase(0, end + 4 + length);
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: fixed_rate PORT RATE SECONDS CONNECTIONS PATH [HEADER...]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const double rate = std::atof(argv[2]);
  const double seconds = std::atof(argv[3]);
  const int nconn = std::atoi(argv[4]);
  std::string request = std::string("GET ") + argv[5] + " HTTP/1.1\r\nHost: bench\r\n";
  for (int i = 6; i < argc; ++i) {
    request += std::string(argv[i]) + "\r\n";
  }
  request += "\r\n";

  const int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<std::size_t>(nconn));
  for (std::size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(port);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  const auto total = static_cast<std::uint64_t>(rate * seconds);
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  std::vector<double> latencies_us;
  latencies_us.reserve(total);
  std::deque<Clock::time_point> backlog;  // due but not yet sent (no free connection)
  std::uint64_t scheduled = 0;
  std::uint64_t errors = 0;
  const auto start = Clock::now() + std::chrono::milliseconds(50);
  epoll_event events[256];
  char buf[65536];
  while (latencies_us.size() + errors < total) {
    const auto now = Clock::now();
    while (scheduled < total &&
           start + std::chrono::duration_cast<Clock::duration>(interval * scheduled) <= now) {
      backlog.push_back(start + std::chrono::duration_cast<Clock::duration>(interval * scheduled));
      ++scheduled;
    }
    for (auto& c : conns) {
      if (backlog.empty()) {
        break;
      }
      if (!c.busy) {
        c.busy = true;
        c.due = backlog.front();
        backlog.pop_front();
        if (write(c.fd, request.data(), request.size()) < 0) {
          std::perror("write");
          return 1;
        }
      }
    }
    const int n = epoll_wait(ep, events, 256, 0);
    for (int i = 0; i < n; ++i) {
      Conn& c = conns[events[i].data.u64];
      const ssize_t r = read(c.fd, buf, sizeof buf);
      if (r <= 0) {
        std::fprintf(stderr, "connection closed by server\n");
        return 1;
      }
      c.in.append(buf, static_cast<std::size_t>(r));
      int status = 0;
      while (TakeResponse(c.in, status)) {
        const auto done = Clock::now();
        if (status == 200) {
          latencies_us.push_back(std::chrono::duration<double, std::micro>(done - c.due).count());
        } else {
          ++errors;
        }
        c.busy = false;
      }
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    if (latencies_us.empty()) {
      return 0.0;
    }
    const auto idx =
        static_cast<std::size_t>(p / 100.0 * static_cast<double>(latencies_us.size() - 1));
    return latencies_us[idx] / 1000.0;
  };
  std::printf(
      "rate_target=%.0f achieved=%.0f requests=%zu errors=%llu p50_ms=%.3f p90_ms=%.3f "
      "p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
      rate, static_cast<double>(latencies_us.size()) / elapsed, latencies_us.size(),
      static_cast<unsigned long long>(errors), pct(50), pct(90), pct(99), pct(99.9),
      latencies_us.empty() ? 0.0 : latencies_us.back() / 1000.0);
  return errors == 0 ? 0 : 1;
}
