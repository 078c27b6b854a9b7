#include "sip/endpoint.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <queue>
#include <unordered_map>

#include "core/log.hpp"
#include "sip/digest.hpp"
#include "sip/sdp.hpp"
#include "sip/syntax.hpp"
#include "sip/uas.hpp"

namespace portline::sip {
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

namespace {

constexpr std::size_t kUdpMtuRule = 1300;  // RFC 3261 §18.1.1 with an unknown path MTU

using V6Only = asio::ip::v6_only;

std::string HostForUri(const asio::ip::address& a) {
  return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
}

std::string HostPort(const asio::ip::address& a, std::uint16_t port) {
  return HostForUri(a) + ":" + std::to_string(port);
}

const char* ViaTransport(Transport t) {
  switch (t) {
    case Transport::kUdp:
      return "UDP";
    case Transport::kTcp:
      return "TCP";
    case Transport::kTls:
      return "TLS";
  }
  return "UDP";
}

// Where a message goes: a UDP destination (sent from one of our sockets) or a connection.
struct Route {
  Transport transport = Transport::kUdp;
  udp::socket* udp_socket = nullptr;
  udp::endpoint udp_to;
  std::weak_ptr<StreamConnection> conn;
};

// A client request waiting in a coroutine.
struct Waiter {
  explicit Waiter(asio::any_io_executor ex) : timer(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  bool finished = false;
  std::string final_response;
  bool timeout = false;
  bool transport_error = false;
  std::string error;
  TxClock::time_point first_sent{};
  TxClock::time_point answered{};
  int transmissions = 0;
};

struct ClientTx {
  ClientTransaction machine;
  std::string request;
  Route route;
  std::shared_ptr<Waiter> waiter;
};

struct ServerTx {
  ServerTransaction machine;
  std::string response;
  std::string trying;
  Route route;
};

struct HeapEntry {
  TxClock::time_point at;
  std::string key;
  bool client;
  bool operator>(const HeapEntry& o) const { return at > o.at; }
};

}  // namespace

struct Endpoint::Impl : std::enable_shared_from_this<Endpoint::Impl> {
  Impl(asio::io_context& io_, EndpointOptions o) : io(io_), opts(std::move(o)), timer(io_) {}

  asio::io_context& io;
  EndpointOptions opts;
  asio::steady_timer timer;  // transaction timers
  std::optional<TxClock::time_point> armed;
  std::shared_ptr<StreamTransport> streams;  // TCP and TLS
  std::unique_ptr<DnsClient> dns;
  std::unique_ptr<DigestVerifier> verifier;

  std::vector<std::unique_ptr<udp::socket>> udp_sockets;  // listeners first, then ephemeral
  std::vector<udp::endpoint> udp_locals;                  // their bound addresses
  std::vector<Endpoint::Bound> bound;
  std::unordered_map<std::string, ClientTx> clients;
  std::unordered_map<std::string, ServerTx> servers;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap;
  bool draining = false;
  bool stopped = false;
  Endpoint::Stats stats;

  // ---- set-up --------------------------------------------------------------------------------

  Result<void> Start() {
    std::weak_ptr<Impl> weak = weak_from_this();
    auto on_message = [weak](std::string_view bytes, const std::shared_ptr<StreamConnection>& c) {
      if (auto self = weak.lock()) {
        Route route;
        route.transport = c->transport;
        route.conn = c;
        self->OnMessage(bytes, route, Framing::kStream);
      }
    };
    auto on_lost = [weak](const std::shared_ptr<StreamConnection>& c) {
      if (auto self = weak.lock()) {
        self->ConnectionLost(c);
      }
    };
    streams = std::make_shared<StreamTransport>(io, opts.streams, on_message, on_lost);
    PORTLINE_RETURN_IF_ERROR(streams->Start(opts.tls));
    if (opts.auth.password_for) {
      verifier = std::make_unique<DigestVerifier>(
          opts.auth.realm, opts.auth.secret.empty() ? NewBranch() + NewTag() : opts.auth.secret,
          std::chrono::seconds(300));
    }
    auto d = MakeAresClient(io.get_executor(), opts.dns_servers, opts.dns_timeout);
    if (!d) {
      return tl::unexpected(d.error());
    }
    dns = std::move(*d);
    for (const ListenerConfig& l : opts.listeners) {
      error_code ec;
      const auto addr = asio::ip::make_address(l.host, ec);
      if (ec) {
        return Fail(Errc::kInvalidArgument, "SIP listener: '" + l.host + "' is not an IP address");
      }
      if (l.transport != Transport::kUdp) {
        auto port = streams->Listen(l.transport, tcp::endpoint(addr, l.port));
        if (!port) {
          return tl::unexpected(port.error());
        }
        bound.push_back({l.transport, addr.to_string(), *port});
        continue;
      }
      auto s = std::make_unique<udp::socket>(io);
      s->open(addr.is_v6() ? udp::v6() : udp::v4(), ec);
      if (!ec && addr.is_v6()) {
        s->set_option(V6Only(true), ec);
      }
      if (!ec) {
        s->bind(udp::endpoint(addr, l.port), ec);
      }
      if (ec) {
        return Fail(Errc::kUnavailable,
                    "SIP listener udp " + HostPort(addr, l.port) + ": " + ec.message());
      }
      s->set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
      bound.push_back({l.transport, addr.to_string(), s->local_endpoint().port()});
      AddUdp(std::move(s));
    }
    return {};
  }

  void Stop() {
    stopped = true;
    error_code ec;
    for (auto& s : udp_sockets) {
      s->close(ec);
    }
    if (streams) {
      streams->Stop();
    }
    timer.cancel();
    for (auto& [k, tx] : clients) {
      if (tx.waiter) {
        tx.waiter->finished = true;
        tx.waiter->transport_error = true;
        tx.waiter->error = "the SIP endpoint stopped";
        tx.waiter->timer.cancel();
      }
    }
    clients.clear();
    servers.clear();
    dns.reset();
  }

  // ---- UDP -----------------------------------------------------------------------------------

  void StartUdp(udp::socket& s) {
    error_code ec;
    s.non_blocking(true, ec);
    asio::co_spawn(io, UdpLoop(s, shared_from_this()), asio::detached);
  }

  static asio::awaitable<void> UdpLoop(udp::socket& s, std::shared_ptr<Impl> self) {
    std::string buf(65536, '\0');
    udp::endpoint from;
    while (!self->stopped && s.is_open()) {
      error_code ec;
      const std::size_t n = co_await s.async_receive_from(
          asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !s.is_open()) {
          co_return;
        }
        continue;  // ICMP errors surface here on Linux; keep receiving
      }
      Route route;
      route.transport = Transport::kUdp;
      route.udp_socket = &s;
      route.udp_to = from;
      self->OnMessage(std::string_view(buf.data(), n), route, Framing::kDatagram);
      // Drain what is already queued without another trip through the reactor.
      for (int batch = 0; batch < 64 && !self->stopped && s.is_open(); ++batch) {
        const std::size_t more = s.receive_from(asio::buffer(buf), from, 0, ec);
        if (ec) {
          break;  // would_block: back to waiting
        }
        route.udp_to = from;
        self->OnMessage(std::string_view(buf.data(), more), route, Framing::kDatagram);
      }
    }
  }

  // The UDP socket to send from for this address family (a listener, or an ephemeral one).
  udp::socket* UdpFor(const asio::ip::address& to, std::uint16_t& local_port) {
    for (std::size_t i = 0; i < udp_sockets.size(); ++i) {
      const udp::endpoint& local = udp_locals[i];
      if (udp_sockets[i]->is_open() && local.address().is_v6() == to.is_v6() &&
          (local.address().is_loopback() == to.is_loopback() || local.address().is_unspecified())) {
        local_port = local.port();
        return udp_sockets[i].get();
      }
    }
    auto s = std::make_unique<udp::socket>(io);
    error_code ec;
    s->open(to.is_v6() ? udp::v6() : udp::v4(), ec);
    if (!ec) {
      s->bind(udp::endpoint(to.is_v6() ? asio::ip::address(asio::ip::address_v6::any())
                                       : asio::ip::address(asio::ip::address_v4::any()),
                            0),
              ec);
    }
    if (ec) {
      return nullptr;
    }
    AddUdp(std::move(s));
    local_port = udp_locals.back().port();
    return udp_sockets.back().get();
  }

  void AddUdp(std::unique_ptr<udp::socket> s) {
    error_code ec;
    udp_locals.push_back(s->local_endpoint(ec));
    udp_sockets.push_back(std::move(s));
    StartUdp(*udp_sockets.back());
  }

  // The local address the kernel would use to reach `to` (for Via and Contact), cached.
  static asio::ip::address ProbeLocalAddress(const asio::ip::address& to);
  std::map<asio::ip::address, asio::ip::address> local_for;
  asio::ip::address LocalAddressFor(const asio::ip::address& to) {
    if (auto it = local_for.find(to); it != local_for.end()) {
      return it->second;
    }
    if (local_for.size() > 10000) {
      local_for.clear();
    }
    return local_for[to] = ProbeLocalAddress(to);
  }

  // ---- TCP / TLS -----------------------------------------------------------------------------

  void ConnectionLost(const std::shared_ptr<StreamConnection>& conn) {
    // Client transactions riding on it fail now rather than at Timer F.
    std::vector<std::string> failed;
    for (auto& [key, tx] : clients) {
      if (tx.route.transport != Transport::kUdp && tx.route.conn.lock() == nullptr) {
        failed.push_back(key);
      } else if (auto c = tx.route.conn.lock(); c == conn) {
        failed.push_back(key);
      }
    }
    for (const std::string& key : failed) {
      auto it2 = clients.find(key);
      if (it2 != clients.end()) {
        ApplyClient(key, it2->second.machine.OnTransportError(), "connection closed");
      }
    }
  }

  // ---- sending -------------------------------------------------------------------------------

  bool SendOn(Route& route, const std::string& bytes) {
    ++stats.sent;
    if (route.transport == Transport::kUdp) {
      if (route.udp_socket == nullptr) {
        return false;
      }
      error_code ec;
      route.udp_socket->send_to(asio::buffer(bytes), route.udp_to, 0, ec);
      return !ec;
    }
    return streams->Send(route.conn.lock(), bytes);
  }

  // ---- timers --------------------------------------------------------------------------------

  void Schedule(const std::string& key, bool client, std::optional<TxClock::time_point> at) {
    if (!at) {
      return;
    }
    heap.push(HeapEntry{*at, key, client});
    if (!armed || *at < *armed) {
      armed = *at;
      timer.expires_at(*at);
      std::weak_ptr<Impl> weak = weak_from_this();
      timer.async_wait([weak](error_code ec) {
        if (auto self = weak.lock(); self && !ec) {
          self->OnTimers();
        }
      });
    }
  }

  void OnTimers() {
    armed.reset();
    const auto now = TxClock::now();
    while (!heap.empty() && heap.top().at <= now) {
      HeapEntry e = heap.top();
      heap.pop();
      if (e.client) {
        auto it = clients.find(e.key);
        if (it == clients.end()) {
          continue;
        }
        auto next = it->second.machine.NextDeadline();
        if (!next || *next > now) {
          continue;  // stale entry; the live deadline has its own entry
        }
        ApplyClient(e.key, it->second.machine.OnTimer(now), "timeout");
      } else {
        auto it = servers.find(e.key);
        if (it == servers.end()) {
          continue;
        }
        auto next = it->second.machine.NextDeadline();
        if (!next || *next > now) {
          continue;
        }
        ApplyServer(e.key, it->second.machine.OnTimer(now));
      }
    }
    if (!heap.empty()) {
      const auto at = heap.top().at;
      armed = at;
      timer.expires_at(at);
      std::weak_ptr<Impl> weak = weak_from_this();
      timer.async_wait([weak](error_code ec) {
        if (auto self = weak.lock(); self && !ec) {
          self->OnTimers();
        }
      });
    }
  }

  // ---- transaction outputs -------------------------------------------------------------------

  void ApplyClient(const std::string& key, const TxOutput& out, std::string_view why,
                   const Message* response = nullptr) {
    auto it = clients.find(key);
    if (it == clients.end()) {
      return;
    }
    ClientTx& tx = it->second;
    if (out.send && tx.waiter) {
      ++tx.waiter->transmissions;
    }
    if (out.send && !SendOn(tx.route, tx.request)) {
      const TxOutput err = tx.machine.OnTransportError();
      ApplyClient(key, err, "send failed");
      return;
    }
    if (out.send_ack && response != nullptr) {
      (void)SendOn(tx.route, AckFor(tx.request, *response));
    }
    const std::shared_ptr<Waiter> waiter = tx.waiter;
    if (waiter && !waiter->finished) {
      if (out.deliver && response != nullptr && response->Status() >= 200) {
        waiter->finished = true;
        waiter->answered = TxClock::now();
        waiter->final_response = std::string(response->Raw());
        waiter->timer.cancel();
      } else if (out.timeout || out.transport_error) {
        waiter->finished = true;
        waiter->timeout = out.timeout;
        waiter->transport_error = out.transport_error;
        waiter->error = std::string(why);
        waiter->timer.cancel();
      }
    }
    if (out.terminated) {
      clients.erase(it);
      return;
    }
    Schedule(key, true, tx.machine.NextDeadline());
  }

  void ApplyServer(const std::string& key, const TxOutput& out) {
    auto it = servers.find(key);
    if (it == servers.end()) {
      return;
    }
    ServerTx& tx = it->second;
    if (out.send_trying && !tx.trying.empty()) {
      (void)SendOn(tx.route, tx.trying);
    }
    if (out.send && !tx.response.empty()) {
      (void)SendOn(tx.route, tx.response);
    }
    if (out.terminated) {
      servers.erase(it);
      return;
    }
    Schedule(key, false, tx.machine.NextDeadline());
  }

  // §17.1.1.3: the ACK for a non-2xx final response.
  static std::string AckFor(const std::string& request_text, const Message& response) {
    auto request = ParseMessage(request_text);
    if (!request) {
      return {};
    }
    Writer w;
    w.RequestLine("ACK", request->RequestUri());
    w.Add("Via", SplitList(request->Get(HeaderId::kVia)).front());
    for (std::string_view route : request->Values(HeaderId::kRoute)) {
      w.Add("Route", route);
    }
    w.Add("Max-Forwards", "70");
    w.Add("From", request->Get(HeaderId::kFrom));
    w.Add("To", response.Get(HeaderId::kTo));
    w.Add("Call-ID", request->CallId());
    auto cseq = request->CSeq();
    w.Add("CSeq", std::to_string(cseq ? cseq->number : 1) + " ACK");
    return w.Finish();
  }

  // ---- receiving -----------------------------------------------------------------------------

  // A request on a stream that cannot be answered the usual way (it does not parse, or has no
  // Via to answer along): a bare 400 on the same connection, so the peer learns why rather than
  // waiting out its timer (RFC 3261 §8.2.1, §16.3). Over UDP such a message is dropped.
  void BadRequestOnStream(Route& route, std::string text) {
    const std::string resp = "SIP/2.0 400 Bad Request\r\nWarning: 399 portline \"" +
                             WarningText(std::move(text)) + "\"\r\nContent-Length: 0\r\n\r\n";
    (void)SendOn(route, resp);
  }

  void OnMessage(std::string_view bytes, Route route, Framing framing) {
    ++stats.received;
    // Keep-alives (RFC 5626 CRLF) carry no message.
    if (bytes.find_first_not_of("\r\n") == std::string_view::npos) {
      return;
    }
    auto parsed = ParseMessage(bytes, framing);
    if (!parsed) {
      ++stats.malformed;
      log::Debug("sip: dropped an unparseable message", {{"error", parsed.error().message}});
      if (framing == Framing::kStream && !bytes.starts_with("SIP/")) {
        BadRequestOnStream(route, parsed.error().message);
      }
      return;
    }
    const Message& m = *parsed;
    if (!m.IsRequest()) {
      auto key = ClientKey(m);
      if (!key) {
        ++stats.malformed;
        return;
      }
      auto it = clients.find(*key);
      if (it == clients.end()) {
        return;  // stray response
      }
      ApplyClient(*key, it->second.machine.OnResponse(m.Status(), TxClock::now()), "", &m);
      return;
    }
    OnRequest(m, std::move(route));
  }

  void OnRequest(const Message& m, Route route) {
    const auto problems = Validate(m, Depth::kCore);
    if (!problems.empty()) {
      ++stats.malformed;
      if (m.Method() != "ACK" && m.Find(HeaderId::kVia) != nullptr) {
        // Stateless error response: say what was wrong in a Warning (RFC 3261 §20.43, code 399).
        const Problem& p = problems.front();
        std::string resp =
            MakeResponse(m, p.status, "", NewTag())
                .Add("Warning", "399 portline \"" + WarningText(p.where + ": " + p.what) + "\"")
                .AddIf("Server", opts.user_agent)
                .Finish();
        SetResponseRoute(m, route);
        (void)SendOn(route, resp);
      } else if (m.Method() != "ACK" && route.transport != Transport::kUdp) {
        BadRequestOnStream(route, problems.front().where + ": " + problems.front().what);
      }
      return;
    }
    auto key = ServerKey(m);
    if (!key) {
      return;
    }
    const auto now = TxClock::now();
    if (auto it = servers.find(*key); it != servers.end()) {
      const TxOutput out = m.Method() == "ACK" ? it->second.machine.OnAck(now)
                                               : it->second.machine.OnRetransmission();
      ApplyServer(*key, out);
      return;
    }
    if (m.Method() == "ACK") {
      return;  // an ACK for a 2xx belongs to a dialog; we have none to give it to
    }
    SetResponseRoute(m, route);
    const bool invite = m.Method() == "INVITE";
    const bool reliable = route.transport != Transport::kUdp;
    ServerTx tx{ServerTransaction(invite, reliable, opts.timers, now), {}, {}, route};
    const std::string to_tag = NewTag();
    if (invite) {
      tx.trying = MakeResponse(m, 100, "", "").Finish();
    }
    const UasAnswer answer = DecideAnswer(m, UasContext{.draining = draining,
                                                        .verifier = verifier.get(),
                                                        .algorithm = opts.auth.algorithm,
                                                        .password_for = &opts.auth.password_for,
                                                        .now = std::chrono::system_clock::now()});
    const int code = answer.code;
    Writer w = MakeResponse(m, code, "", to_tag);
    for (const auto& [name, value] : answer.headers) {
      w.Add(name, value);
    }
    w.AddIf("Server", opts.user_agent);
    tx.response = w.Finish();
    auto [pos, inserted] = servers.emplace(*key, std::move(tx));
    (void)inserted;
    ApplyServer(*key, pos->second.machine.Respond(code, now));
  }

  // RFC 3261 §18.2.2 with RFC 3581: UDP responses go to the source address; to the source port
  // when the Via asks with rport, else to the Via's port.
  static void SetResponseRoute(const Message& m, Route& route) {
    if (route.transport != Transport::kUdp) {
      return;
    }
    auto via = m.TopVia();
    if (via && !via->params.Has("rport") && via->port) {
      route.udp_to.port(*via->port);
    } else if (via && !via->params.Has("rport") && !via->port) {
      route.udp_to.port(5060);
    }
  }

  // ---- client requests -----------------------------------------------------------------------

  struct Attempt {
    Result<std::string> response = Fail(Errc::kInternal, "not sent");
    double rtt_ms = 0;
    int transmissions = 0;
    Transport transport = Transport::kUdp;  // what was used (the size rule may change it)
    std::string note;
  };

  // Sends one request on `target` and waits for its final response, up to `deadline`.
  // RFC 3261 §18.1.1: a request over 1,300 bytes moves from UDP to TCP unless the transport was
  // chosen explicitly (URI parameter, sips:, or the caller).
  asio::awaitable<Attempt> Transact(Target target, std::string method, std::string uri,
                                    std::string extra_headers, TxClock::time_point deadline,
                                    std::uint32_t cseq, std::string call_id, std::string from_tag,
                                    bool explicit_transport) {
    Attempt attempt;
    error_code ec;
    const auto addr = asio::ip::make_address(target.address, ec);
    if (ec) {
      attempt.response = Fail(Errc::kInvalidArgument, "'" + target.address + "' is not an address");
      co_return attempt;
    }
    if (opts.outbound_guard) {
      if (auto allowed = opts.outbound_guard(addr); !allowed) {
        attempt.response = tl::unexpected(allowed.error());
        co_return attempt;
      }
    }
    const std::string branch = NewBranch();
    auto build = [&](const std::string& local_host, std::uint16_t local_port) {
      Writer w;
      w.RequestLine(method, uri);
      w.Add("Via", std::string("SIP/2.0/") + ViaTransport(target.transport) + " " + local_host +
                       ":" + std::to_string(local_port) + ";branch=" + branch + ";rport");
      w.Add("Max-Forwards", "70");
      w.Add("From", "<sip:portline@" + local_host + ">;tag=" + from_tag);
      w.Add("To", "<" + uri + ">");
      w.Add("Call-ID", call_id);
      w.Add("CSeq", std::to_string(cseq) + " " + method);
      w.Add("Contact", "<sip:portline@" + local_host + ":" + std::to_string(local_port) +
                           (target.transport == Transport::kUdp
                                ? std::string()
                                : ";transport=" + std::string(TransportName(target.transport))) +
                           ">");
      w.Add("Accept", "application/sdp");
      w.AddIf("User-Agent", opts.user_agent);
      std::string text = w.Finish();
      text.insert(text.find("Content-Length:"), extra_headers);
      return text;
    };
    Route route;
    std::string request;
    if (target.transport == Transport::kUdp) {
      std::uint16_t local_port = 0;
      route.transport = Transport::kUdp;
      route.udp_socket = UdpFor(addr, local_port);
      if (route.udp_socket == nullptr) {
        attempt.response = Fail(Errc::kUnavailable, "cannot open a UDP socket");
        co_return attempt;
      }
      route.udp_to = udp::endpoint(addr, target.port);
      request = build(HostForUri(LocalAddressFor(addr)), local_port);
      if (request.size() > kUdpMtuRule && !explicit_transport) {
        target.transport = Transport::kTcp;
        attempt.note = "request of " + std::to_string(request.size()) +
                       " bytes sent over TCP (RFC 3261 §18.1.1)";
      }
    }
    if (target.transport != Transport::kUdp) {
      route.transport = target.transport;
      route.udp_socket = nullptr;
      auto conn = co_await streams->Connect(target.transport, tcp::endpoint(addr, target.port),
                                            target.host);
      if (!conn) {
        attempt.response = tl::unexpected(conn.error());
        co_return attempt;
      }
      route.conn = *conn;
      request = build(HostForUri((*conn)->local.address()), (*conn)->local.port());
    }
    attempt.transport = target.transport;
    const std::string key = branch + "|" + method;
    auto waiter = std::make_shared<Waiter>(io.get_executor());
    ClientTx tx{
        ClientTransaction(method == "INVITE", target.transport != Transport::kUdp, opts.timers),
        std::move(request), route, waiter};
    clients.emplace(key, std::move(tx));
    waiter->first_sent = TxClock::now();
    ApplyClient(key, clients.at(key).machine.Start(waiter->first_sent), "");
    if (!waiter->finished) {
      waiter->timer.expires_at(deadline);
      error_code wait_ec;
      co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
    }
    attempt.transmissions = waiter->transmissions;
    if (auto it = clients.find(key); it != clients.end() && !waiter->finished) {
      clients.erase(it);  // our deadline, not Timer F: stop retransmitting
    }
    if (!waiter->finished) {
      attempt.response = Fail(Errc::kDeadlineExceeded,
                              "no response from " + HostPort(addr, target.port) + " over " +
                                  std::string(TransportName(target.transport)));
      co_return attempt;
    }
    if (waiter->timeout) {
      attempt.response = Fail(Errc::kDeadlineExceeded,
                              "no response from " + HostPort(addr, target.port) + " (Timer F)");
      co_return attempt;
    }
    if (waiter->transport_error) {
      attempt.response =
          Fail(Errc::kUnavailable,
               "transport error talking to " + HostPort(addr, target.port) + ": " + waiter->error);
      co_return attempt;
    }
    attempt.rtt_ms =
        std::chrono::duration<double, std::milli>(waiter->answered - waiter->first_sent).count();
    attempt.response = waiter->final_response;
    co_return attempt;
  }

  asio::awaitable<Result<OptionsResult>> Options(OptionsRequest req) {
    auto self = shared_from_this();
    std::string text = req.uri;
    if (text.find(':') == std::string::npos || text.find("://") != std::string::npos ||
        (text.find("sip:") != 0 && text.find("sips:") != 0)) {
      // A bare host ("pbx.example.com", "10.0.0.5:5080", "[::1]"): make it a sip: URI.
      if (text.find("://") == std::string::npos) {
        text = "sip:" + text;
      }
    }
    auto uri = ParseUri(text);
    if (!uri) {
      co_return tl::unexpected(uri.error());
    }
    if (uri->scheme != Scheme::kSip && uri->scheme != Scheme::kSips) {
      co_return Fail(Errc::kInvalidArgument, "OPTIONS needs a sip: or sips: URI");
    }
    if (!dns) {
      co_return Fail(Errc::kUnavailable, "the SIP endpoint is not started");
    }
    const auto deadline = TxClock::now() + req.timeout;
    LocateTrace trace;
    auto targets = co_await Locate(*dns, *uri, req.transport, &trace);
    if (!targets) {
      co_return tl::unexpected(targets.error());
    }
    if (targets->empty()) {
      co_return Fail(Errc::kNotFound, "no address found for " + std::string(uri->host));
    }
    OptionsResult result;
    result.trace = trace.steps;
    Error last = Error{Errc::kUnavailable, "no target answered", {}, {}, {}};
    const std::string call_id = NewTag() + "@portline";
    const std::string from_tag = NewTag();
    const std::string method = "OPTIONS";
    const bool explicit_transport =
        req.transport.has_value() || !uri->Transport().empty() || uri->scheme == Scheme::kSips;
    std::string custom;
    for (const auto& [name, value] : req.headers) {
      if (!syntax::IsTokenString(name) || value.find_first_of("\r\n") != std::string::npos) {
        co_return Fail(Errc::kInvalidArgument,
                       "header '" + name + "' must be a token with a single-line value");
      }
      custom += name + ": " + value + "\r\n";
    }
    for (std::size_t i = 0; i < targets->size(); ++i) {
      const Target& target = (*targets)[i];
      const auto now = TxClock::now();
      if (now >= deadline) {
        break;
      }
      // Each remaining target gets an equal share of what is left, so a silent UDP target
      // cannot eat the whole budget before failover (RFC 3263 §4.3).
      const auto share = (deadline - now) / static_cast<long>(targets->size() - i);
      const auto attempt_deadline = now + share;
      std::string extra;
      std::uint32_t cseq = 1;
      bool authenticated = false;
      for (int round = 0; round < 2; ++round) {
        const std::string headers = extra + custom;
        Attempt a = co_await Transact(target, method, text, headers,
                                      round == 0 ? attempt_deadline : deadline, cseq, call_id,
                                      from_tag, explicit_transport);
        if (!a.note.empty()) {
          result.trace.push_back(a.note);
        }
        const std::string where = std::string(TransportName(a.transport)) + " " + target.address +
                                  ":" + std::to_string(target.port);
        if (!a.response) {
          result.trace.push_back(where + ": " + a.response.error().message);
          last = a.response.error();
          break;
        }
        auto resp = ParseMessage(*a.response);
        if (!resp) {
          last = resp.error();
          break;
        }
        const int code = resp->Status();
        result.trace.push_back(where + ": " + std::to_string(code) + " " +
                               std::string(resp->Reason()));
        if ((code == 401 || code == 407) && round == 0 && !req.username.empty()) {
          const std::string_view challenge_text =
              resp->Get(code == 401 ? HeaderId::kWwwAuthenticate : HeaderId::kProxyAuthenticate);
          auto challenge = ParseChallenge(challenge_text);
          if (challenge) {
            const std::string authz = DigestAuthorization(
                *challenge, {req.username, req.password, "OPTIONS", text, NewTag(), 1});
            extra = std::string(code == 401 ? "Authorization: " : "Proxy-Authorization: ") + authz +
                    "\r\n";
            ++cseq;
            authenticated = true;
            continue;
          }
          result.trace.push_back("cannot answer the challenge: " + challenge.error().message);
        }
        const bool next_target = code == 503 && i + 1 < targets->size();
        if (next_target) {
          break;  // RFC 3263 §4.3: a 503 sends us to the next target
        }
        result.code = code;
        result.reason = std::string(resp->Reason());
        result.rtt_ms = a.rtt_ms;
        result.transport = a.transport;
        result.remote = target.address + ":" + std::to_string(target.port);
        result.server = std::string(resp->Get(HeaderId::kServer));
        result.user_agent = std::string(resp->Get(HeaderId::kUserAgent));
        result.allow = std::string(resp->Get(HeaderId::kAllow));
        result.accept = std::string(resp->Get(HeaderId::kAccept));
        result.supported = std::string(resp->Get(HeaderId::kSupported));
        result.transmissions = a.transmissions;
        result.authenticated = authenticated;
        const std::string_view ct = resp->Get(HeaderId::kContentType);
        if (!resp->Body().empty() && ct.find("application/sdp") != std::string_view::npos) {
          if (auto sdp = ParseSdp(resp->Body())) {
            for (const SdpMedia& media : sdp->media) {
              if (media.media == "audio") {
                for (std::string& c : media.CodecNames()) {
                  result.codecs.push_back(std::move(c));
                }
              }
            }
          }
        }
        result.response = *a.response;
        co_return result;
      }
    }
    co_return tl::unexpected(last);
  }
};

// The kernel's choice of source address toward `to` (a connected UDP socket sends nothing).
asio::ip::address Endpoint::Impl::ProbeLocalAddress(const asio::ip::address& to) {
  static thread_local asio::io_context probe_io;
  udp::socket probe(probe_io);
  error_code ec;
  probe.open(to.is_v6() ? udp::v6() : udp::v4(), ec);
  if (!ec) {
    probe.connect(udp::endpoint(to, 9), ec);
  }
  if (ec) {
    return to.is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                      : asio::ip::address(asio::ip::address_v4::loopback());
  }
  return probe.local_endpoint(ec).address();
}

Endpoint::Endpoint(asio::io_context& io, EndpointOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Endpoint::~Endpoint() { impl_->Stop(); }

Result<void> Endpoint::Start() { return impl_->Start(); }

std::vector<Endpoint::Bound> Endpoint::Listeners() const { return impl_->bound; }

asio::awaitable<Result<OptionsResult>> Endpoint::Options(OptionsRequest request) {
  auto impl = impl_;
  co_return co_await impl->Options(std::move(request));
}

void Endpoint::SetDraining(bool draining) { impl_->draining = draining; }

void Endpoint::Stop() { impl_->Stop(); }

Endpoint::Stats Endpoint::GetStats() const {
  Stats s = impl_->stats;
  s.client_transactions = impl_->clients.size();
  s.server_transactions = impl_->servers.size();
  if (impl_->streams) {
    s.connections = impl_->streams->Open();
    s.streams = impl_->streams->GetStats();
  }
  return s;
}

}  // namespace portline::sip
