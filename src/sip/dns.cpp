#include "sip/dns.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <random>

#include "sip/syntax.hpp"

namespace portline::sip {
namespace asio = boost::asio;

std::string_view TransportName(Transport t) noexcept {
  switch (t) {
    case Transport::kUdp:
      return "udp";
    case Transport::kTcp:
      return "tcp";
    case Transport::kTls:
      return "tls";
  }
  return "udp";
}

std::optional<Transport> TransportFrom(std::string_view name) noexcept {
  if (syntax::IEquals(name, "udp")) {
    return Transport::kUdp;
  }
  if (syntax::IEquals(name, "tcp")) {
    return Transport::kTcp;
  }
  if (syntax::IEquals(name, "tls")) {
    return Transport::kTls;
  }
  return std::nullopt;
}

std::vector<SrvRecord> OrderSrv(std::vector<SrvRecord> records,
                                const std::function<std::uint32_t(std::uint32_t)>& random) {
  // RFC 2782: "." alone means the service is not available.
  if (records.size() == 1 && (records[0].target == "." || records[0].target.empty())) {
    return {};
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  std::vector<SrvRecord> out;
  out.reserve(records.size());
  std::size_t i = 0;
  while (i < records.size()) {
    std::size_t j = i;
    while (j < records.size() && records[j].priority == records[i].priority) {
      ++j;
    }
    // Zero-weight records first in the list, as the RFC's selection algorithm requires.
    std::vector<SrvRecord> group(records.begin() + static_cast<std::ptrdiff_t>(i),
                                 records.begin() + static_cast<std::ptrdiff_t>(j));
    std::stable_partition(group.begin(), group.end(),
                          [](const SrvRecord& r) { return r.weight == 0; });
    while (!group.empty()) {
      std::uint32_t total = 0;
      for (const SrvRecord& r : group) {
        total += r.weight;
      }
      const std::uint32_t pick = random(total);
      std::uint32_t running = 0;
      std::size_t chosen = group.size() - 1;
      for (std::size_t k = 0; k < group.size(); ++k) {
        running += group[k].weight;
        if (running >= pick) {
          chosen = k;
          break;
        }
      }
      out.push_back(group[chosen]);
      group.erase(group.begin() + static_cast<std::ptrdiff_t>(chosen));
    }
    i = j;
  }
  return out;
}

std::vector<NaptrRecord> OrderNaptr(std::vector<NaptrRecord> records, bool sips_only) {
  std::vector<NaptrRecord> out;
  for (NaptrRecord& r : records) {
    const bool known = syntax::IEquals(r.service, "SIP+D2U") ||
                       syntax::IEquals(r.service, "SIP+D2T") ||
                       syntax::IEquals(r.service, "SIPS+D2T");
    if (!known || !syntax::IEquals(r.flags, "s")) {
      continue;
    }
    if (sips_only && !syntax::IEquals(r.service, "SIPS+D2T")) {
      continue;
    }
    out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(), [](const NaptrRecord& a, const NaptrRecord& b) {
    return a.order != b.order ? a.order < b.order : a.preference < b.preference;
  });
  return out;
}

namespace {

std::uint32_t RandomUpTo(std::uint32_t bound) {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_int_distribution<std::uint32_t>(0, bound)(rng);
}

Transport NaptrTransport(std::string_view service) {
  if (syntax::IEquals(service, "SIPS+D2T")) {
    return Transport::kTls;
  }
  return syntax::IEquals(service, "SIP+D2T") ? Transport::kTcp : Transport::kUdp;
}

std::string SrvName(Transport t, std::string_view host) {
  switch (t) {
    case Transport::kUdp:
      return "_sip._udp." + std::string(host);
    case Transport::kTcp:
      return "_sip._tcp." + std::string(host);
    case Transport::kTls:
      return "_sips._tcp." + std::string(host);
  }
  return {};
}

std::uint16_t DefaultPort(Transport t) { return t == Transport::kTls ? 5061 : 5060; }

asio::awaitable<Result<void>> AddAddresses(DnsClient& dns, std::string host, std::uint16_t port,
                                           Transport t, std::vector<Target>& out,
                                           LocateTrace* trace) {
  auto addrs = co_await dns.Address(host);
  if (trace != nullptr) {
    trace->steps.push_back(
        "A/AAAA " + host + ": " +
        (addrs ? std::to_string(addrs->size()) + " address(es)" : addrs.error().message));
  }
  if (!addrs) {
    co_return tl::unexpected(addrs.error());
  }
  for (const std::string& a : *addrs) {
    out.push_back(Target{t, a, port, host});
  }
  co_return Result<void>{};
}

// Targets from the SRV records of `name`; false when there are none.
asio::awaitable<bool> FromSrv(DnsClient& dns, std::string name, Transport t,
                              std::vector<Target>& out, LocateTrace* trace) {
  auto srv = co_await dns.Srv(name);
  if (trace != nullptr) {
    trace->steps.push_back(
        "SRV " + name + ": " +
        (srv ? std::to_string(srv->size()) + " record(s)" : srv.error().message));
  }
  if (!srv || srv->empty()) {
    co_return false;
  }
  const std::size_t before = out.size();
  for (const SrvRecord& r : OrderSrv(std::move(*srv), RandomUpTo)) {
    (void)co_await AddAddresses(dns, r.target, r.port, t, out, trace);
  }
  co_return out.size() > before;
}

}  // namespace

asio::awaitable<Result<std::vector<Target>>> Locate(DnsClient& dns, const Uri& uri,
                                                    std::optional<Transport> forced,
                                                    LocateTrace* trace) {
  std::vector<Target> out;
  const bool sips = uri.scheme == Scheme::kSips;
  std::optional<Transport> transport = forced;
  if (!transport) {
    const std::string param = uri.Transport();
    if (!param.empty()) {
      transport = TransportFrom(param);
      if (!transport) {
        co_return Fail(Errc::kInvalidArgument, "unsupported transport '" + param + "'");
      }
    }
  }
  if (sips && transport && *transport == Transport::kUdp) {
    co_return Fail(Errc::kInvalidArgument, "a sips: URI cannot use UDP");
  }
  if (sips) {
    transport = Transport::kTls;
  }
  const std::string host(uri.host);
  // §4.1/§4.2: a numeric address, or an explicit port, skips NAPTR and SRV.
  if (uri.HostIsIp()) {
    const Transport t = transport.value_or(Transport::kUdp);
    out.push_back(Target{t, host, uri.port.value_or(DefaultPort(t)), host});
    if (trace != nullptr) {
      trace->steps.push_back("numeric host: no DNS");
    }
    co_return out;
  }
  if (uri.port) {
    const Transport t = transport.value_or(Transport::kUdp);
    auto added = co_await AddAddresses(dns, host, *uri.port, t, out, trace);
    if (!added) {
      co_return tl::unexpected(added.error());
    }
    co_return out;
  }
  if (transport) {
    if (!co_await FromSrv(dns, SrvName(*transport, host), *transport, out, trace)) {
      auto added =
          co_await AddAddresses(dns, host, DefaultPort(*transport), *transport, out, trace);
      if (!added) {
        co_return tl::unexpected(added.error());
      }
    }
    co_return out;
  }
  auto naptr = co_await dns.Naptr(host);
  if (trace != nullptr) {
    trace->steps.push_back(
        "NAPTR " + host + ": " +
        (naptr ? std::to_string(naptr->size()) + " record(s)" : naptr.error().message));
  }
  if (naptr && !naptr->empty()) {
    for (const NaptrRecord& r : OrderNaptr(std::move(*naptr), sips)) {
      (void)co_await FromSrv(dns, r.replacement, NaptrTransport(r.service), out, trace);
    }
    if (!out.empty()) {
      co_return out;
    }
  }
  for (Transport t : {Transport::kUdp, Transport::kTcp, Transport::kTls}) {
    (void)co_await FromSrv(dns, SrvName(t, host), t, out, trace);
  }
  if (out.empty()) {
    auto added = co_await AddAddresses(dns, host, 5060, Transport::kUdp, out, trace);
    if (!added) {
      co_return tl::unexpected(added.error());
    }
  }
  co_return out;
}

// ---- c-ares ----------------------------------------------------------------------------------

namespace {

struct AresLibrary {
  AresLibrary() { ares_library_init(ARES_LIB_INIT_ALL); }
};

// One outstanding query: c-ares's callback fills it and wakes the waiting coroutine.
struct Pending {
  explicit Pending(asio::any_io_executor ex) : timer(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<unsigned char> answer;
  std::vector<std::string> addresses;
};

class AresClient final : public DnsClient {
 public:
  AresClient(asio::any_io_executor ex, std::chrono::milliseconds timeout)
      : ex_(ex), timer_(ex), timeout_(timeout) {}

  Result<void> Init(const std::vector<std::string>& servers) {
    static AresLibrary library;
    ares_options opts{};
    opts.sock_state_cb = &AresClient::SockState;
    opts.sock_state_cb_data = this;
    opts.timeout = static_cast<int>(std::max<std::int64_t>(timeout_.count() / 2, 100));
    opts.tries = 2;
    const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    if (ares_init_options(&channel_, &opts, mask) != ARES_SUCCESS) {
      return Fail(Errc::kInternal, "cannot initialise the DNS resolver");
    }
    if (!servers.empty()) {
      std::string csv;
      for (const std::string& s : servers) {
        csv += (csv.empty() ? "" : ",") + s;
      }
      if (ares_set_servers_ports_csv(channel_, csv.c_str()) != ARES_SUCCESS) {
        return Fail(Errc::kInvalidArgument, "invalid DNS server list '" + csv + "'");
      }
    }
    return {};
  }

  ~AresClient() override {
    if (channel_ != nullptr) {
      ares_destroy(channel_);  // fails every pending query (their callbacks free themselves)
    }
    for (auto& [fd, w] : watchers_) {
      w->descriptor.release();  // c-ares owns the socket
    }
  }

  asio::awaitable<Result<std::vector<NaptrRecord>>> Naptr(std::string name) override {
    auto p = co_await Query(name, ns_t_naptr);
    if (!p) {
      co_return tl::unexpected(p.error());
    }
    std::vector<NaptrRecord> out;
    ares_naptr_reply* reply = nullptr;
    if ((*p)->status == ARES_SUCCESS &&
        ares_parse_naptr_reply((*p)->answer.data(), static_cast<int>((*p)->answer.size()),
                               &reply) == ARES_SUCCESS) {
      for (ares_naptr_reply* r = reply; r != nullptr; r = r->next) {
        out.push_back(NaptrRecord{r->order, r->preference, reinterpret_cast<const char*>(r->flags),
                                  reinterpret_cast<const char*>(r->service), r->replacement});
      }
      ares_free_data(reply);
    } else if ((*p)->status != ARES_ENODATA && (*p)->status != ARES_ENOTFOUND &&
               (*p)->status != ARES_SUCCESS) {
      co_return Failure(name, (*p)->status);
    }
    co_return out;
  }

  asio::awaitable<Result<std::vector<SrvRecord>>> Srv(std::string name) override {
    auto p = co_await Query(name, ns_t_srv);
    if (!p) {
      co_return tl::unexpected(p.error());
    }
    std::vector<SrvRecord> out;
    ares_srv_reply* reply = nullptr;
    if ((*p)->status == ARES_SUCCESS &&
        ares_parse_srv_reply((*p)->answer.data(), static_cast<int>((*p)->answer.size()), &reply) ==
            ARES_SUCCESS) {
      for (ares_srv_reply* r = reply; r != nullptr; r = r->next) {
        out.push_back(SrvRecord{r->priority, r->weight, r->port, r->host});
      }
      ares_free_data(reply);
    } else if ((*p)->status != ARES_ENODATA && (*p)->status != ARES_ENOTFOUND &&
               (*p)->status != ARES_SUCCESS) {
      co_return Failure(name, (*p)->status);
    }
    co_return out;
  }

  asio::awaitable<Result<std::vector<std::string>>> Address(std::string name) override {
    auto pending = std::make_shared<Pending>(ex_);
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = ARES_AI_NOSORT;
    auto* keep = new std::shared_ptr<Pending>(pending);
    ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &AresClient::OnAddrInfo, keep);
    Arm();
    co_await Wait(*pending);
    if (!pending->done) {
      co_return Fail(Errc::kDeadlineExceeded, "DNS lookup of " + name + " timed out");
    }
    if (pending->status != ARES_SUCCESS) {
      co_return Failure(name, pending->status);
    }
    co_return pending->addresses;
  }

 private:
  struct Watcher {
    explicit Watcher(asio::any_io_executor ex, int fd) : descriptor(ex, fd) {}
    asio::posix::stream_descriptor descriptor;
    bool read = false;
    bool write = false;
    bool reading = false;
    bool writing = false;
  };

  static tl::unexpected<Error> Failure(const std::string& name, int status) {
    if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
      return Fail(Errc::kNotFound, "DNS: no records for " + name);
    }
    if (status == ARES_ETIMEOUT) {
      return Fail(Errc::kDeadlineExceeded, "DNS lookup of " + name + " timed out");
    }
    return Fail(Errc::kUnavailable,
                "DNS lookup of " + name + " failed: " + std::string(ares_strerror(status)));
  }

  asio::awaitable<void> Wait(Pending& p) {
    if (!p.done) {
      p.timer.expires_after(timeout_);
      boost::system::error_code ec;
      co_await p.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  asio::awaitable<Result<std::shared_ptr<Pending>>> Query(const std::string& name, int type) {
    auto pending = std::make_shared<Pending>(ex_);
    auto* keep = new std::shared_ptr<Pending>(pending);
    ares_query(channel_, name.c_str(), ns_c_in, type, &AresClient::OnAnswer, keep);
    Arm();
    co_await Wait(*pending);
    if (!pending->done) {
      co_return Fail(Errc::kDeadlineExceeded, "DNS lookup of " + name + " timed out");
    }
    co_return pending;
  }

  static void OnAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<std::shared_ptr<Pending>> keep(static_cast<std::shared_ptr<Pending>*>(arg));
    Pending& p = **keep;
    p.done = true;
    p.status = status;
    if (abuf != nullptr && alen > 0) {
      p.answer.assign(abuf, abuf + alen);
    }
    p.timer.cancel();
  }

  static void OnAddrInfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
    std::unique_ptr<std::shared_ptr<Pending>> keep(static_cast<std::shared_ptr<Pending>*>(arg));
    Pending& p = **keep;
    p.done = true;
    p.status = status;
    if (result != nullptr) {
      for (ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        const void* src = n->ai_family == AF_INET6
                              ? static_cast<const void*>(
                                    &reinterpret_cast<const sockaddr_in6*>(n->ai_addr)->sin6_addr)
                              : static_cast<const void*>(
                                    &reinterpret_cast<const sockaddr_in*>(n->ai_addr)->sin_addr);
        if (inet_ntop(n->ai_family, src, text, sizeof(text)) != nullptr) {
          p.addresses.emplace_back(text);
        }
      }
      ares_freeaddrinfo(result);
    }
    p.timer.cancel();
  }

  static void SockState(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<AresClient*>(data);
    auto it = self->watchers_.find(fd);
    if (readable == 0 && writable == 0) {
      if (it != self->watchers_.end()) {
        it->second->descriptor.cancel();
        it->second->descriptor.release();
        self->watchers_.erase(it);
      }
      return;
    }
    if (it == self->watchers_.end()) {
      it = self->watchers_.emplace(fd, std::make_shared<Watcher>(self->ex_, fd)).first;
    }
    it->second->read = readable != 0;
    it->second->write = writable != 0;
    self->Watch(fd, it->second);
  }

  void Watch(int fd, const std::shared_ptr<Watcher>& w) {
    if (w->read && !w->reading) {
      w->reading = true;
      w->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                               [this, fd, w](boost::system::error_code ec) {
                                 w->reading = false;
                                 if (ec || watchers_.find(fd) == watchers_.end()) {
                                   return;
                                 }
                                 ares_process_fd(channel_, fd, ARES_SOCKET_BAD);
                                 Rearm(fd);
                               });
    }
    if (w->write && !w->writing) {
      w->writing = true;
      w->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                               [this, fd, w](boost::system::error_code ec) {
                                 w->writing = false;
                                 if (ec || watchers_.find(fd) == watchers_.end()) {
                                   return;
                                 }
                                 ares_process_fd(channel_, ARES_SOCKET_BAD, fd);
                                 Rearm(fd);
                               });
    }
  }

  void Rearm(int fd) {
    auto it = watchers_.find(fd);
    if (it != watchers_.end()) {
      Watch(fd, it->second);
    }
    Arm();
  }

  // Drives c-ares's own retransmission and timeout clock.
  void Arm() {
    timeval tv{};
    timeval* next = ares_timeout(channel_, nullptr, &tv);
    if (next == nullptr) {
      return;
    }
    timer_.expires_after(std::chrono::seconds(next->tv_sec) +
                         std::chrono::microseconds(next->tv_usec));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      Arm();
    });
  }

  asio::any_io_executor ex_;
  asio::steady_timer timer_;
  std::chrono::milliseconds timeout_;
  ares_channel channel_ = nullptr;
  std::map<int, std::shared_ptr<Watcher>> watchers_;
};

}  // namespace

Result<std::unique_ptr<DnsClient>> MakeAresClient(asio::any_io_executor executor,
                                                  const std::vector<std::string>& servers,
                                                  std::chrono::milliseconds timeout) {
  auto client = std::make_unique<AresClient>(executor, timeout);
  PORTLINE_RETURN_IF_ERROR(client->Init(servers));
  return std::unique_ptr<DnsClient>(std::move(client));
}

}  // namespace portline::sip
