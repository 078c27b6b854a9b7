// Webhook delivery benchmarks (`make bench`): throughput to a keep-alive loopback receiver
// (1 KiB bodies) against a floor of the same HTTP POSTs without the outbox, event → first attempt
// latency at 1,000 events/s, and what one endpoint that never answers costs the others. SQLite in a
// temporary directory, then PostgreSQL when PORTLINE_BENCH_PG_DSN is set.
//
//   webhook_bench [seconds]
//
// Experiment switches: PORTLINE_BENCH_SKIP_SQLITE, WEBHOOK_BENCH_THROUGHPUT_ONLY and
// WEBHOOK_BENCH_EVENTS (the throughput backlog, default 20,000).

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "accounts/accounts.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/secret_box.hpp"
#include "cpu_times.hpp"
#include "store/database.hpp"
#include "webhooks/http_post.hpp"
#include "webhooks/service.hpp"

namespace {

using Steady = std::chrono::steady_clock;
using namespace portline;

// An epoll HTTP responder: answers every request with 200 (or never, when `silent`), recording
// the arrival time of each webhook-id.
class Receiver {
 public:
  explicit Receiver(bool silent) : silent_(silent) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 1024);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/h"; }
  std::uint64_t count() const { return count_; }
  std::map<std::string, Steady::time_point> Arrivals() {
    std::lock_guard lock(mu_);
    return arrivals_;
  }

 private:
  void Loop() {
    const int ep = ::epoll_create1(0);
    epoll_event ev{EPOLLIN, {.fd = fd_}};
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd_, &ev);
    std::map<int, std::string> bufs;
    epoll_event events[64];
    while (!stop_) {
      const int n = ::epoll_wait(ep, events, 64, 50);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == fd_) {
          int c;
          while ((c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
            epoll_event cev{EPOLLIN, {.fd = c}};
            ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          }
          continue;
        }
        char buf[16384];
        const ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
        if (r <= 0) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          ::close(fd);
          bufs.erase(fd);
          continue;
        }
        std::string& in = bufs[fd];
        in.append(buf, static_cast<std::size_t>(r));
        while (true) {  // keep-alive: answer each complete request, keep the connection
          const std::size_t head = in.find("\r\n\r\n");
          if (head == std::string::npos) {
            break;
          }
          const std::size_t cl = in.find("Content-Length: ");
          const std::size_t need = head + 4 + std::stoul(in.substr(cl + 16));
          if (in.size() < need || silent_) {
            break;
          }
          const std::size_t id = in.find("webhook-id: ");
          if (id != std::string::npos && id < head) {
            std::lock_guard lock(mu_);
            arrivals_.emplace(in.substr(id + 12, in.find("\r\n", id) - id - 12), Steady::now());
          }
          static const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
          ::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL);
          ++count_;
          in.erase(0, need);
        }
      }
    }
    ::close(ep);
  }
  bool silent_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> count_{0};
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, Steady::time_point> arrivals_;
};

struct Env {
  std::string dir;
  std::unique_ptr<store::Database> db;
  SystemClock clock;
  SecretBox box{std::string(32, 'k')};
  std::unique_ptr<webhooks::WebhookService> hooks;
  std::string org;

  // SQLite in a fresh directory, or PostgreSQL at `dsn` with its public schema emptied first.
  explicit Env(const std::string& dsn) {
    dir = std::filesystem::temp_directory_path() / ("portline-whbench-" + RandomHex(6));
    std::filesystem::create_directories(dir);
    store::StoreOptions o;
    o.data_dir = dir;
    o.database_url = dsn;
    o.pool_size = 20;
    db = std::move(*store::OpenDatabase(o));
    if (!dsn.empty()) {
      auto c = db->Acquire();
      (void)(*c)->Execute("DROP SCHEMA public CASCADE", {});
      (void)(*c)->Execute("CREATE SCHEMA public", {});
    }
    (void)store::Migrate(*db);
    accounts::Accounts accounts(*db, clock);
    org = accounts.CreateOrg("bench", {"SIP"}, false)->id;
    hooks = std::make_unique<webhooks::WebhookService>(
        *db, box, clock, *net::OutboundGuard::FromList({"127.0.0.0/8"}));
  }
  ~Env() { std::filesystem::remove_all(dir); }

  std::string Endpoint(const std::string& url, int concurrency) {
    boost::json::object body{{"url", url}, {"max_concurrency", concurrency}};
    return std::string(hooks->CreateEndpoint(org, body)->as_object().at("id").as_string());
  }
  // `n` events in transactions of `batch`; returns their ids with commit times.
  std::vector<std::pair<std::string, Steady::time_point>> Events(int n, int batch) {
    std::vector<std::pair<std::string, Steady::time_point>> out;
    auto lease = db->Acquire();
    for (int i = 0; i < n; i += batch) {
      std::vector<std::string> ids;
      (void)store::WithTransaction(**lease, [&](store::Connection& c) -> Result<void> {
        for (int k = i; k < std::min(n, i + batch); ++k) {
          const std::string id = NewId("evt", clock.Now());
          ids.push_back(id);
          PORTLINE_RETURN_IF_ERROR(webhooks::WebhookService::Record(
              c, org, id, "port.note_created", "port_bench", k + 1,
              boost::json::object{{"n", k}, {"note", std::string(850, 'x')}},
              ToUnixMillis(clock.Now()), ToUnixMillis(clock.Now())));
        }
        return {};
      });
      const auto t = Steady::now();
      for (auto& id : ids) {
        out.emplace_back(std::move(id), t);
      }
    }
    return out;
  }
};

// Queued events for the throughput measure (WEBHOOK_BENCH_EVENTS, default 20,000).
int Backlog() {
  const char* v = std::getenv("WEBHOOK_BENCH_EVENTS");
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : 20000;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

void RunBackend(const char* name, const std::string& dsn, int secs) {
  std::printf(
      "### Webhook delivery (%s, keep-alive loopback receiver, 1 KiB bodies, %d delivery "
      "workers)\n\n",
      name, webhooks::Dispatcher::kDefaultWorkers);

  // 1. Throughput: a backlog of events, drained by the dispatcher.
  double floor_rate = 0;
  {
    Receiver rx(false);
    const int n = 20000;
    const std::string body(1024, 'x');
    webhooks::HttpClient client;
    std::atomic<int> next{0};
    const auto start = Steady::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&] {
        while (next++ < n) {
          (void)client.Post(rx.Url(), {{"Content-Type", "application/json"}}, body, nullptr,
                            std::chrono::seconds(15));
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    floor_rate = n / std::chrono::duration<double>(Steady::now() - start).count();
  }
  double rate = 0;
  const int n = Backlog();
  bench::CpuTimes cpu;
  {
    Env env(dsn);
    Receiver rx(false);
    env.Endpoint(rx.Url(), 16);
    (void)env.Events(n, 200);
    webhooks::Dispatcher d(*env.hooks, webhooks::Dispatcher::kDefaultWorkers,
                           std::chrono::milliseconds(250));
    const bench::CpuTimes c0 = bench::ReadCpu();
    const auto start = Steady::now();
    d.Start();
    while (rx.count() < static_cast<std::uint64_t>(n) &&
           Steady::now() - start < std::chrono::seconds(120)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    rate = static_cast<double>(rx.count()) /
           std::chrono::duration<double>(Steady::now() - start).count();
    const bench::CpuTimes c1 = bench::ReadCpu();
    cpu = {c1.self_ms - c0.self_ms, c1.machine_ms - c0.machine_ms, c1.postgres_ms - c0.postgres_ms};
    d.Stop();
  }
  std::printf("| | deliveries/s | × floor |\n|---|---|---|\n");
  std::printf("| floor: the same HTTP POSTs, 16 threads, no outbox | %.0f | 1.00 |\n", floor_rate);
  std::printf("| outbox → dispatcher → receiver (%d queued events) | %.0f | %.2f |\n\n", n, rate,
              rate / floor_rate);
  std::printf(
      "(CPU per delivery: %.0f µs in this process, receiver included; %.0f µs in local postgres "
      "processes; %.0f µs on the machine)\n\n",
      cpu.self_ms * 1000.0 / n, cpu.postgres_ms * 1000.0 / n, cpu.machine_ms * 1000.0 / n);
  if (std::getenv("WEBHOOK_BENCH_THROUGHPUT_ONLY") != nullptr) {
    return;
  }

  // 2. Latency at 1,000 events/s: commit → arrival.
  {
    Env env(dsn);
    Receiver rx(false);
    env.Endpoint(rx.Url(), 16);
    webhooks::Dispatcher d(*env.hooks, webhooks::Dispatcher::kDefaultWorkers,
                           std::chrono::milliseconds(250));
    d.Start();
    std::vector<std::pair<std::string, Steady::time_point>> sent;
    const auto start = Steady::now();
    int k = 0;
    while (Steady::now() - start < std::chrono::seconds(secs)) {
      const auto due = start + std::chrono::microseconds(1000 * k++);
      std::this_thread::sleep_until(due);
      auto one = env.Events(1, 1);
      d.Notify();
      sent.push_back(one[0]);
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    d.Stop();
    const auto arrivals = rx.Arrivals();
    std::vector<double> ms;
    for (const auto& [id, t] : sent) {
      if (auto it = arrivals.find(id); it != arrivals.end()) {
        ms.push_back(std::chrono::duration<double, std::milli>(it->second - t).count());
      }
    }
    std::printf(
        "Event → first attempt at %d events/s for %d s: %zu of %zu delivered, p50 %.2f ms, "
        "p99 %.2f ms, max %.1f ms (goals: p50 ≤ 10 ms, p99 ≤ 100 ms)\n\n",
        1000, secs, ms.size(), sent.size(), Percentile(ms, 0.5), Percentile(ms, 0.99),
        Percentile(ms, 1.0));
  }

  // 3. One endpoint that never answers (15 s timeout) next to a healthy one, against the same
  // database with that endpoint disabled. Runs of a few seconds vary by ±10 % on this box, so
  // alone and beside alternate five times each and the medians are compared.
  std::vector<double> alone;
  std::vector<double> beside;
  for (int run = 0; run < 10; ++run) {
    const int with_slow = run % 2;
    Env env(dsn);
    Receiver good(false);
    Receiver slow(true);
    env.Endpoint(good.Url(), 14);
    // Both setups hold the same rows (each event has a delivery for the healthy endpoint and
    // one for the silent one); in the one measured alone, the silent endpoint is disabled before
    // the dispatcher starts, so the difference is only an endpoint that takes posts and never
    // answers.
    const std::string slow_id = env.Endpoint(slow.Url(), 2);
    const int n = 20000;
    (void)env.Events(n, 200);
    if (with_slow == 0) {
      (void)env.hooks->UpdateEndpoint(env.org, slow_id, boost::json::object{{"enabled", false}});
    }
    webhooks::Dispatcher d(*env.hooks, webhooks::Dispatcher::kDefaultWorkers,
                           std::chrono::milliseconds(250));
    const auto start = Steady::now();
    d.Start();
    auto last_print = Steady::now();
    while (good.count() < static_cast<std::uint64_t>(n) &&
           Steady::now() - start < std::chrono::seconds(120)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (std::getenv("WEBHOOK_BENCH_TRACE") != nullptr &&
          Steady::now() - last_print > std::chrono::seconds(1)) {
        last_print = Steady::now();
        auto c = env.db->Acquire();
        auto rows = (*c)->Query(
            "SELECT endpoint_id, status, COUNT(*) FROM webhook_deliveries GROUP BY endpoint_id, "
            "status",
            {});
        std::fprintf(stderr, "t=%.1f good=%llu:",
                     std::chrono::duration<double>(Steady::now() - start).count(),
                     static_cast<unsigned long long>(good.count()));
        for (const auto& r : *rows) {
          std::fprintf(stderr, " %s/%s=%s", r.Text(0).substr(r.Text(0).size() - 4).c_str(),
                       r.Text(1).c_str(), r.Text(2).c_str());
        }
        std::fprintf(stderr, "\n");
      }
    }
    const double r = static_cast<double>(good.count()) /
                     std::chrono::duration<double>(Steady::now() - start).count();
    (with_slow == 1 ? beside : alone).push_back(r);
    d.Stop();  // waits for the slow endpoint's in-flight posts to time out
  }
  const double alone_median = Percentile(alone, 0.5);
  const double beside_median = Percentile(beside, 0.5);
  auto list = [](const std::vector<double>& v) {
    std::string out;
    for (const double x : v) {
      out += (out.empty() ? "" : ", ") + std::to_string(static_cast<long>(x));
    }
    return out;
  };
  std::printf(
      "Healthy endpoint alone: %.0f deliveries/s (median of %s); next to one that never answers "
      "(max_concurrency 2, 15 s timeout): %.0f/s (median of %s), a cost of %.1f %% (goal ≤ 10 "
      "%%)\n\n",
      alone_median, list(alone).c_str(), beside_median, list(beside).c_str(),
      100.0 * (alone_median - beside_median) / alone_median);
}

}  // namespace

int main(int argc, char** argv) {
  log::Init(log::Level::kError);
  InitCrypto();
  const int secs = argc > 1 ? std::atoi(argv[1]) : 5;
  if (std::getenv("PORTLINE_BENCH_SKIP_SQLITE") == nullptr) {
    RunBackend("SQLite, synchronous=FULL", "", secs);
  }
  if (const char* pg = std::getenv("PORTLINE_BENCH_PG_DSN"); pg != nullptr && *pg != '\0') {
    RunBackend("PostgreSQL 15", pg, secs);
  }
  return 0;
}
