// Composition root: wires storage, accounts, the API and the HTTP server, and owns their
// lifetimes and threads (one network thread, a pool of handler threads).
#include "app/app.hpp"

#include <sys/resource.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/array.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "accounts/accounts.hpp"
#include "api/api.hpp"
#include "api/http/server.hpp"
#include "app/services.hpp"
#include "carriers/simulator.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/net_guard.hpp"
#include "core/secret_box.hpp"
#include "documents/service.hpp"
#include "mail/mail.hpp"
#include "numbering/check.hpp"
#include "numbering/lnp.hpp"
#include "porting/service.hpp"
#include "trunks/network.hpp"
#include "trunks/service.hpp"
#include "webhooks/service.hpp"

namespace portline::app {
namespace asio = boost::asio;

namespace {
// Runs `fn`; an exception it throws is logged and counted (metric background_exception{where})
// instead of ending the process or silently killing a loop.
template <typename F>
void CountingExceptions(api::Metrics& metrics, std::string_view where, F&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    metrics.Increment("background_exception", where);
    log::Error("background work threw", {{"where", where}, {"error", e.what()}});
  } catch (...) {
    metrics.Increment("background_exception", where);
    log::Error("background work threw", {{"where", where}});
  }
}

// A thread that runs `fn` every `interval` until destroyed (which wakes and joins it).
class BackgroundLoop {
 public:
  BackgroundLoop(std::string name, std::chrono::milliseconds interval, api::Metrics& metrics,
                 std::function<void()> fn)
      : name_(std::move(name)),
        interval_(interval),
        metrics_(metrics),
        fn_(std::move(fn)),
        thread_([this] { Run(); }) {}
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;
  ~BackgroundLoop() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      lock.unlock();
      CountingExceptions(metrics_, name_, fn_);
      lock.lock();
      wake_.wait_for(lock, interval_, [this] { return stop_; });
    }
  }
  std::string name_;
  std::chrono::milliseconds interval_;
  api::Metrics& metrics_;
  std::function<void()> fn_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once everything it uses is built
};

// Purges expired idempotency records once an hour, on the worker pool.
void SchedulePurge(asio::steady_timer& timer, asio::thread_pool& workers, api::Api& api) {
  timer.expires_after(std::chrono::hours(1));
  timer.async_wait([&timer, &workers, &api](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    asio::post(workers, [&api] {
      if (auto n = api.idempotency().Purge(); !n) {
        log::Warn("idempotency purge failed", {{"detail", n.error().detail}});
      }
    });
    SchedulePurge(timer, workers, api);
  });
}

// Copies the SIP engine's connection counts into the metrics once a second (they live on the
// network thread; the metrics are read from the workers).
void SchedulePublishSip(asio::steady_timer& timer, sip::Endpoint& sip, api::Metrics& metrics) {
  const sip::Endpoint::Stats st = sip.GetStats();
  const auto n = [](auto v) { return static_cast<std::int64_t>(v); };
  metrics.Publish("sip_connections_open", "SIP TCP/TLS connections open (incoming).",
                  n(st.streams.incoming));
  metrics.Publish("sip_outgoing_connections_open", "SIP TCP/TLS connections we opened.",
                  n(st.streams.outgoing));
  metrics.Publish("sip_connections_rejected_total",
                  "Incoming SIP connections closed at once: over a connection cap.",
                  n(st.streams.rejected));
  metrics.Publish("sip_accept_errors_total", "SIP accepts that failed (descriptors exhausted).",
                  n(st.streams.accept_errors));
  metrics.Publish("sip_slow_peers_dropped_total",
                  "SIP connections closed because the peer stopped reading.",
                  n(st.streams.write_timeouts + st.streams.queue_overflows));
  metrics.Publish("sip_messages_received_total", "SIP messages received.", n(st.received));
  metrics.Publish("sip_messages_malformed_total", "SIP messages that did not parse or validate.",
                  n(st.malformed + st.streams.unframeable));
  timer.expires_after(std::chrono::seconds(1));
  timer.async_wait([&timer, &sip, &metrics](boost::system::error_code ec) {
    if (!ec) {
      SchedulePublishSip(timer, sip, metrics);
    }
  });
}
}  // namespace

sip::EndpointOptions SipOptionsFrom(const config::Config& cfg, bool listeners) {
  sip::EndpointOptions o;
  if (listeners) {
    // The server's outbound connections (probes, test calls) go to customer-supplied hosts.
    auto guard = OutboundGuardFrom(cfg);
    o.outbound_guard = [guard](const boost::asio::ip::address& a) {
      return guard.Check(a.to_string());
    };
  }
  o.user_agent = "Portline/" PORTLINE_APP_VERSION;
  if (listeners) {
    for (const config::SipListener& l :
         config::ParseSipListen(cfg.sip_listen).value_or(std::vector<config::SipListener>{})) {
      o.listeners.push_back(
          {sip::TransportFrom(l.transport).value_or(sip::Transport::kUdp), l.host, l.port});
    }
  }
  o.tls.cert_file = cfg.sip_tls_cert_file;
  o.tls.key_file = cfg.sip_tls_key_file;
  o.tls.ca_file = cfg.sip_tls_ca_file;
  o.tls.verify = sip::TlsVerifyFrom(cfg.sip_tls_verify).value_or(sip::TlsVerify::kFull);
  o.tls.client_certificate = cfg.sip_tls_client_certificate;
  o.timers.t1 = std::chrono::milliseconds(cfg.sip_t1_ms);
  o.timers.t2 = std::chrono::milliseconds(cfg.sip_t2_ms);
  o.timers.t4 = std::chrono::milliseconds(cfg.sip_t4_ms);
  for (std::string_view server : config::SplitList(cfg.sip_dns_servers)) {
    o.dns_servers.emplace_back(server);
  }
  o.streams.max_incoming = static_cast<std::size_t>(cfg.sip_max_connections);
  o.streams.max_incoming_per_ip = static_cast<std::size_t>(cfg.sip_max_connections_per_ip);
  o.streams.max_outgoing = static_cast<std::size_t>(cfg.sip_max_outgoing_connections);
  o.streams.write_timeout = std::chrono::milliseconds(cfg.sip_write_timeout_ms);
  return o;
}

namespace {

// Raises the soft descriptor limit to the hard one and shares it out (config::BudgetDescriptors).
config::DescriptorBudget FitDescriptors(const config::Config& cfg) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &lim);
    (void)getrlimit(RLIMIT_NOFILE, &lim);
  }
  const std::uint64_t open_files = lim.rlim_cur == RLIM_INFINITY ? (1u << 20) : lim.rlim_cur;
  config::DescriptorBudget budget = config::BudgetDescriptors(cfg, open_files);
  if (budget.reduced) {
    log::Warn("connection caps lowered to fit the open-files limit",
              {{"open_files", static_cast<std::int64_t>(budget.open_files)},
               {"reserved", static_cast<std::int64_t>(budget.reserved)},
               {"http_connections", static_cast<std::int64_t>(budget.http_connections)},
               {"sip_connections", static_cast<std::int64_t>(budget.sip_incoming)},
               {"sip_outgoing_connections", static_cast<std::int64_t>(budget.sip_outgoing)}});
  }
  return budget;
}

}  // namespace

int Serve(const config::Config& cfg) {
  InitCrypto();
  const auto workers_count = static_cast<int>(cfg.workers);
  SystemClock clock;
  auto built = Services::Build(
      cfg, clock,
      ServicesOptions{.pool_size = workers_count + 1, .with_lnp = true, .log_loading = true});
  if (!built) {
    log::Error("cannot start",
               {{"error", built.error().message}, {"detail", built.error().detail}});
    std::fprintf(stderr, "portline: %s\n", built.error().message.c_str());
    return built.error().code == Errc::kInvalidArgument ? 2 : 1;
  }
  Services& services = **built;
  auto& db = services.db;
  const numbering::CarrierRegistry& carriers = *services.carriers;
  numbering::LnpService& lnp = *services.lnp;
  porting::PortingService& porting = *services.porting;

  api::Metrics metrics;
  api::ApiOptions api_opts;
  api_opts.rate_limit_per_second = cfg.rate_limit_per_second;
  api_opts.rate_limit_burst = cfg.rate_limit_burst;
  api_opts.idempotency_ttl = std::chrono::hours(cfg.idempotency_ttl_hours);
  api_opts.idempotency_max_bytes_per_org = cfg.idempotency_max_bytes_per_org;
  const std::unique_ptr<api::Api> api_ptr = services.MakeApi(metrics, api_opts);
  api::Api& api = *api_ptr;
  mail::MailService& mail_service = *services.mail;
  webhooks::WebhookService& hooks = *services.hooks;
  // Webhook deliveries have their own threads: a claimer and the workers, woken by every event.
  webhooks::Dispatcher dispatcher(hooks, webhooks::Dispatcher::kDefaultWorkers,
                                  std::chrono::milliseconds(250));
  services.SetEventNotifier([&dispatcher] { dispatcher.Notify(); });
  dispatcher.Start();

  asio::io_context io(1);
  asio::thread_pool workers(static_cast<std::size_t>(workers_count));
  api::http::ServerOptions http_opts;
  http_opts.max_body_bytes = static_cast<std::size_t>(cfg.max_body_bytes);
  http_opts.max_header_bytes = static_cast<std::size_t>(cfg.max_header_bytes);
  http_opts.header_timeout = std::chrono::milliseconds(cfg.header_timeout_ms);
  http_opts.body_timeout = std::chrono::milliseconds(cfg.body_timeout_ms);
  http_opts.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout_ms);
  http_opts.write_timeout = std::chrono::milliseconds(cfg.write_timeout_ms);
  http_opts.shutdown_timeout = std::chrono::milliseconds(cfg.shutdown_timeout_ms);
  const config::DescriptorBudget budget = FitDescriptors(cfg);
  http_opts.max_connections = budget.http_connections;
  http_opts.access_log = cfg.access_log;
  api::http::Server server(io, api, workers, http_opts);

  // The SIP engine shares the network thread. While the server drains it answers OPTIONS with
  // 503, so health checkers move traffic away before the process goes.
  sip::EndpointOptions sip_opts = SipOptionsFrom(cfg, true);
  sip_opts.streams.max_incoming = budget.sip_incoming;
  sip_opts.streams.max_incoming_per_ip =
      std::min<std::size_t>(sip_opts.streams.max_incoming_per_ip, budget.sip_incoming);
  sip_opts.streams.max_outgoing = budget.sip_outgoing;
  sip::Endpoint sip_endpoint(io, sip_opts);
  if (!cfg.sip_listen.empty()) {
    if (auto started = sip_endpoint.Start(); !started) {
      log::Error("cannot start SIP", {{"error", started.error().message}});
      std::fprintf(stderr, "portline: %s\n", started.error().message.c_str());
      return 1;
    }
    for (const auto& b : sip_endpoint.Listeners()) {
      const std::string where =
          std::string(sip::TransportName(b.transport)) + ":" +
          (b.address.find(':') != std::string::npos ? "[" + b.address + "]" : b.address) + ":" +
          std::to_string(b.port);
      log::Info("sip listening", {{"listener", where}});
      std::printf("portline sip listening on %s\n", where.c_str());
    }
    std::fflush(stdout);
  }

  auto host_port = config::SplitHostPort(cfg.listen);  // validated by config::Validate
  auto port = server.Listen(host_port->first, host_port->second);
  if (!port) {
    log::Error("cannot listen", {{"error", port.error().message}});
    std::fprintf(stderr, "portline: %s\n", port.error().message.c_str());
    return 1;
  }
  server.Start();
  const std::string& host = host_port->first;
  const std::string url = "http://" +
                          (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                          std::to_string(*port);
  porting.SetPublicUrl(cfg.public_url.empty() ? url : cfg.public_url);
  log::Info("listening", {{"url", url}, {"storage", db->description()}});
  std::printf("portline listening on %s\n", url.c_str());
  std::fflush(stdout);

  asio::steady_timer purge_timer(io);
  SchedulePurge(purge_timer, workers, api);
  asio::steady_timer sip_metrics_timer(io);
  SchedulePublishSip(sip_metrics_timer, sip_endpoint, metrics);

  // LNP data is replaced at run time without downtime: on SIGHUP, and when the file changes.
  auto reload_lnp = [&lnp, &carriers, &cfg] {
    auto fresh = numbering::LnpIndex::LoadFileOrDefault(cfg.lnp_file, carriers);
    if (!fresh) {
      log::Error("lnp reload failed; keeping the current data", {{"error", fresh.error().message}});
      return;
    }
    log::Info("lnp data reloaded", {{"ported", static_cast<std::int64_t>(fresh->ported_count())}});
    lnp.Replace(std::make_shared<const numbering::LnpIndex>(std::move(*fresh)));
  };
  asio::signal_set hup(io, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](boost::system::error_code ec, int) {
      if (!ec) {
        asio::post(workers, reload_lnp);
        wait_hup();
      }
    });
  };
  wait_hup();
  asio::steady_timer lnp_watch(io);
  std::filesystem::file_time_type lnp_mtime{};
  std::error_code mtime_ec;
  if (!cfg.lnp_file.empty()) {
    lnp_mtime = std::filesystem::last_write_time(cfg.lnp_file, mtime_ec);
  }
  std::function<void()> watch_lnp = [&] {
    lnp_watch.expires_after(std::chrono::seconds(10));
    lnp_watch.async_wait([&](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      std::error_code fec;
      const auto now_mtime = std::filesystem::last_write_time(cfg.lnp_file, fec);
      if (!fec && now_mtime != lnp_mtime) {
        lnp_mtime = now_mtime;
        asio::post(workers, reload_lnp);
      }
      watch_lnp();
    });
  };
  if (!cfg.lnp_file.empty()) {
    watch_lnp();
  }

  // The porting workflow: every node looks for due steps; leases keep them from doubling up.
  asio::steady_timer workflow_timer(io);
  std::atomic<bool> workflow_busy{false};
  std::function<void()> tick_workflow = [&] {
    workflow_timer.expires_after(std::chrono::milliseconds(cfg.worker_interval_ms));
    workflow_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      if (!workflow_busy.exchange(true)) {
        asio::post(workers, [&] {
          // Batches of up to 500 steps: each is a handful of statements whatever its size
          // (docs/benchmarks.md, port requests), and its requests stay locked for its commit.
          constexpr int kBatch = 500;
          CountingExceptions(metrics, "workflow", [&] {
            for (int round = 0; round < 10; ++round) {
              auto ran = porting.RunDue(std::nullopt, kBatch);
              if (!ran) {
                log::Warn("workflow poll failed", {{"error", ran.error().message}});
                break;
              }
              if (*ran < kBatch) {
                break;
              }
            }
          });
          workflow_busy.store(false);
        });
      }
      tick_workflow();
    });
  };
  tick_workflow();

  // E-mail goes out on a thread of its own: a slow or silent SMTP server delays only e-mail,
  // never the porting workflow or an API worker.
  BackgroundLoop mail_loop(
      "mail", std::chrono::milliseconds(cfg.worker_interval_ms), metrics, [&mail_service] {
        if (auto sent = mail_service.RunDue(50); !sent) {
          log::Warn("mail delivery poll failed", {{"error", sent.error().message}});
        }
      });

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signo) {
    if (ec) {
      return;
    }
    log::Info("shutting down", {{"signal", signo}});
    purge_timer.cancel();
    sip_metrics_timer.cancel();
    workflow_timer.cancel();
    lnp_watch.cancel();
    hup.cancel();
    sip_endpoint.SetDraining(true);
    server.Shutdown([&io, &sip_endpoint] {
      sip_endpoint.Stop();
      io.stop();
    });
  });

  io.run();
  dispatcher.Stop();
  workers.join();
  log::Info("stopped");
  return 0;
}

}  // namespace portline::app
