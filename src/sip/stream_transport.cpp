#include "sip/stream_transport.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "core/log.hpp"
#include "sip/message.hpp"

namespace portline::sip {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

std::optional<TlsVerify> TlsVerifyFrom(std::string_view name) noexcept {
  if (name == "full") {
    return TlsVerify::kFull;
  }
  if (name == "chain_only") {
    return TlsVerify::kChainOnly;
  }
  if (name == "none") {
    return TlsVerify::kNone;
  }
  return std::nullopt;
}

namespace {

std::string HostPort(const tcp::endpoint& e) {
  const std::string host =
      e.address().is_v6() ? "[" + e.address().to_string() + "]" : e.address().to_string();
  return host + ":" + std::to_string(e.port());
}

std::string ConnKey(Transport t, const tcp::endpoint& remote, std::string_view sni) {
  return std::string(TransportName(t)) + "|" + remote.address().to_string() + "|" +
         std::to_string(remote.port()) + "|" + std::string(sni);
}

// Accept failures that mean "out of descriptors or memory": waiting helps, spinning does not.
bool IsResourceExhaustion(const error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

}  // namespace

StreamConnection::StreamConnection(Transport t, tcp::socket socket, asio::ssl::context* ctx)
    : transport(t), timer(socket.get_executor()), write_timer(socket.get_executor()) {
  if (t == Transport::kTls) {
    tls = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket), *ctx);
  } else {
    plain = std::make_unique<tcp::socket>(std::move(socket));
  }
}

tcp::socket& StreamConnection::Socket() { return tls ? tls->next_layer() : *plain; }

void StreamConnection::Close() {
  if (closed) {
    return;
  }
  closed = true;
  error_code ec;
  Socket().shutdown(tcp::socket::shutdown_both, ec);
  Socket().close(ec);
  timer.cancel();
  write_timer.cancel();
}

// Holds one place under the connection caps for as long as a connection's coroutine runs
// (handshakes in progress hold descriptors too, so they count from accept or connect).
class StreamTransport::Slot {
 public:
  Slot(std::shared_ptr<StreamTransport> t, bool incoming, std::string ip)
      : t_(std::move(t)), incoming_(incoming), ip_(std::move(ip)) {
    if (incoming_) {
      ++t_->stats_.incoming;
      ++t_->per_ip_[ip_];
    } else {
      ++t_->stats_.outgoing;
    }
  }
  ~Slot() {
    if (!incoming_) {
      --t_->stats_.outgoing;
      return;
    }
    --t_->stats_.incoming;
    if (auto it = t_->per_ip_.find(ip_); it != t_->per_ip_.end() && --it->second == 0) {
      t_->per_ip_.erase(it);
    }
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  std::shared_ptr<StreamTransport> t_;
  bool incoming_;
  std::string ip_;
};

StreamTransport::StreamTransport(asio::io_context& io, StreamLimits limits,
                                 MessageHandler on_message, LostHandler on_lost)
    : io_(io),
      limits_(limits),
      on_message_(std::move(on_message)),
      on_lost_(std::move(on_lost)),
      client_ctx_(asio::ssl::context::tls_client),
      server_ctx_(asio::ssl::context::tls_server),
      sweep_(io) {}

Result<void> StreamTransport::Start(const TlsOptions& tls) {
  verify_ = tls.verify;
  SSL_CTX_set_min_proto_version(client_ctx_.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_min_proto_version(server_ctx_.native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (tls.ca_file.empty()) {
    client_ctx_.set_default_verify_paths(ec);
  } else {
    client_ctx_.load_verify_file(tls.ca_file, ec);
    if (ec) {
      return Fail(Errc::kInvalidArgument, "sip.tls.ca_file '" + tls.ca_file + "': " + ec.message());
    }
  }
  client_ctx_.set_verify_mode(tls.verify == TlsVerify::kNone ? asio::ssl::verify_none
                                                             : asio::ssl::verify_peer);
  if (!tls.cert_file.empty()) {
    for (asio::ssl::context* ctx : {&server_ctx_, &client_ctx_}) {
      if (ctx == &client_ctx_ && !tls.client_certificate) {
        continue;
      }
      ctx->use_certificate_chain_file(tls.cert_file, ec);
      if (!ec) {
        ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
      }
      if (ec) {
        return Fail(Errc::kInvalidArgument, "sip.tls certificate/key: " + ec.message());
      }
    }
    server_tls_ready_ = true;
  }
  ScheduleSweep();
  return {};
}

Result<std::uint16_t> StreamTransport::Listen(Transport t, const tcp::endpoint& at) {
  if (t == Transport::kTls && !server_tls_ready_) {
    return Fail(Errc::kInvalidArgument,
                "SIP listener tls needs sip.tls.cert_file and sip.tls.key_file");
  }
  auto a = std::make_unique<tcp::acceptor>(io_);
  error_code ec;
  a->open(at.address().is_v6() ? tcp::v6() : tcp::v4(), ec);
  if (!ec) {
    a->set_option(tcp::acceptor::reuse_address(true), ec);
    if (at.address().is_v6()) {
      a->set_option(asio::ip::v6_only(true), ec);
    }
    a->bind(at, ec);
  }
  if (!ec) {
    a->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Fail(Errc::kUnavailable, "SIP listener " + std::string(TransportName(t)) + " " +
                                        HostPort(at) + ": " + ec.message());
  }
  const std::uint16_t port = a->local_endpoint(ec).port();
  acceptors_.push_back(std::move(a));
  asio::co_spawn(io_, Accept(*acceptors_.back(), t), asio::detached);
  return port;
}

asio::awaitable<void> StreamTransport::Accept(tcp::acceptor& acceptor, Transport t) {
  auto self = shared_from_this();
  auto backoff = std::chrono::milliseconds(10);
  asio::steady_timer pause(io_);
  while (!stopped_ && acceptor.is_open()) {
    error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
        co_return;
      }
      if (IsResourceExhaustion(ec)) {
        // The backlog keeps the connection; retrying at once would spin on the same error.
        ++stats_.accept_errors;
        if (backoff == std::chrono::milliseconds(10)) {
          log::Warn("sip: accept failed, backing off", {{"error", ec.message()}});
        }
        pause.expires_after(backoff);
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      }
      continue;
    }
    backoff = std::chrono::milliseconds(10);
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) {
      continue;  // already gone
    }
    const std::string ip = remote.address().to_string();
    const auto per_ip = per_ip_.find(ip);
    if (stats_.incoming >= limits_.max_incoming ||
        (per_ip != per_ip_.end() && per_ip->second >= limits_.max_incoming_per_ip)) {
      // Over a cap: reset at once (SO_LINGER 0) so the descriptor and its state go now.
      ++stats_.rejected;
      socket.set_option(asio::socket_base::linger(true, 0), ec);
      socket.close(ec);
      continue;
    }
    auto conn = std::make_shared<StreamConnection>(t, std::move(socket), &server_ctx_);
    conn->incoming = true;
    conn->remote = remote;
    conn->local = conn->Socket().local_endpoint(ec);
    asio::co_spawn(io_, ServeIncoming(conn, self), asio::detached);
  }
}

asio::awaitable<void> StreamTransport::ServeIncoming(std::shared_ptr<StreamConnection> conn,
                                                     std::shared_ptr<StreamTransport> self) {
  const Slot slot(self, true, conn->remote.address().to_string());
  conn->timer.expires_after(self->limits_.connect_timeout);
  std::weak_ptr<StreamConnection> weak = conn;
  auto on_deadline = [weak](error_code tec) {
    if (auto c = weak.lock(); c && !tec && !c->ready) {
      c->Close();
    }
  };
  conn->timer.async_wait(on_deadline);
  if (conn->tls) {
    error_code ec;
    co_await conn->tls->async_handshake(asio::ssl::stream_base::server,
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      conn->Close();
      co_return;
    }
  }
  conn->timer.cancel();
  conn->ready = true;
  conn->key = ConnKey(conn->transport, conn->remote, "");
  self->connections_[conn->key] = conn;
  co_await ReadLoop(conn, self);
}

asio::awaitable<Result<std::shared_ptr<StreamConnection>>> StreamTransport::Connect(
    Transport t, tcp::endpoint to, std::string host) {
  const std::string key = ConnKey(t, to, t == Transport::kTls ? host : "");
  if (auto it = connections_.find(key); it != connections_.end() && !it->second->closed) {
    co_return it->second;
  }
  if (stats_.outgoing >= limits_.max_outgoing) {
    co_return Fail(Errc::kUnavailable,
                   "too many SIP connections open (" + std::to_string(stats_.outgoing) + ")");
  }
  auto self = shared_from_this();
  auto slot = std::make_shared<Slot>(self, false, std::string());
  auto conn = std::make_shared<StreamConnection>(t, tcp::socket(io_), &client_ctx_);
  conn->key = key;
  conn->remote = to;
  std::weak_ptr<StreamConnection> weak = conn;
  conn->timer.expires_after(limits_.connect_timeout);
  bool timed_out = false;
  auto on_deadline = [weak, &timed_out](error_code tec) {
    if (auto c = weak.lock(); c && !tec && !c->ready) {
      timed_out = true;
      c->Close();
    }
  };
  conn->timer.async_wait(on_deadline);
  error_code ec;
  co_await conn->Socket().async_connect(to, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    conn->timer.cancel();
    conn->Close();
    co_return Fail(Errc::kUnavailable, timed_out
                                           ? "connect to " + HostPort(to) + " timed out"
                                           : "connect to " + HostPort(to) + ": " + ec.message());
  }
  conn->Socket().set_option(tcp::no_delay(true), ec);
  if (t == Transport::kTls) {
    SSL* ssl = conn->tls->native_handle();
    error_code parse_ec;
    const auto as_ip = asio::ip::make_address(host, parse_ec);
    if (parse_ec) {
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str()));  // SNI, only for names
    }
    if (verify_ == TlsVerify::kFull) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (parse_ec) {
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(param, as_ip.to_string().c_str());
      }
    }
    co_await conn->tls->async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      conn->timer.cancel();
      const long verify = SSL_get_verify_result(ssl);
      const std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                              : timed_out         ? "timed out"
                                                  : ec.message();
      conn->Close();
      co_return Fail(Errc::kUnavailable,
                     "TLS handshake with " + host + " (" + HostPort(to) + ") failed: " + why);
    }
  }
  conn->timer.cancel();
  conn->ready = true;
  conn->local = conn->Socket().local_endpoint(ec);
  connections_[key] = conn;
  auto read = [](std::shared_ptr<StreamConnection> c, std::shared_ptr<StreamTransport> s,
                 std::shared_ptr<Slot> held) -> asio::awaitable<void> {
    co_await ReadLoop(std::move(c), std::move(s));
    (void)held;  // released when the connection's reading ends
  };
  asio::co_spawn(io_, read(conn, self, slot), asio::detached);
  co_return conn;
}

asio::awaitable<void> StreamTransport::ReadLoop(std::shared_ptr<StreamConnection> conn,
                                                std::shared_ptr<StreamTransport> self) {
  std::string in;
  std::array<char, 16384> chunk{};
  const std::size_t max = self->limits_.max_message_bytes;
  while (!conn->closed && !self->stopped_) {
    error_code ec;
    std::size_t n = 0;
    if (conn->tls) {
      n = co_await conn->tls->async_read_some(asio::buffer(chunk),
                                              asio::redirect_error(asio::use_awaitable, ec));
    } else {
      n = co_await conn->plain->async_read_some(asio::buffer(chunk),
                                                asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      break;
    }
    conn->last_used = TxClock::now();
    in.append(chunk.data(), n);
    while (!in.empty() && !conn->closed) {
      auto len = FrameLength(in, max, max);
      if (!len) {
        ++self->stats_.unframeable;
        log::Warn("sip: closing a stream that cannot be framed", {{"error", len.error().message}});
        conn->Close();
        break;
      }
      if (*len == 0) {
        break;
      }
      const std::string message = in.substr(0, *len);
      in.erase(0, *len);
      self->on_message_(message, conn);
    }
  }
  conn->Close();
  self->Forget(conn);
}

void StreamTransport::Forget(const std::shared_ptr<StreamConnection>& conn) {
  auto it = connections_.find(conn->key);
  if (it != connections_.end() && it->second == conn) {
    connections_.erase(it);
  }
  if (on_lost_) {
    on_lost_(conn);
  }
}

bool StreamTransport::Send(const std::shared_ptr<StreamConnection>& conn, std::string bytes) {
  if (!conn || conn->closed) {
    return false;
  }
  if (conn->queued_bytes + bytes.size() > limits_.max_queued_bytes) {
    // The peer is not reading what we send: drop it rather than buffer without bound.
    ++stats_.queue_overflows;
    log::Warn("sip: closing a connection whose peer stopped reading",
              {{"remote", HostPort(conn->remote)},
               {"queued_bytes", static_cast<std::int64_t>(conn->queued_bytes)}});
    conn->Close();
    return false;
  }
  conn->queued_bytes += bytes.size();
  conn->out.push_back(std::move(bytes));
  conn->last_used = TxClock::now();
  if (!conn->writing) {
    conn->writing = true;
    asio::co_spawn(io_, WriteLoop(conn, shared_from_this()), asio::detached);
  }
  return true;
}

asio::awaitable<void> StreamTransport::WriteLoop(std::shared_ptr<StreamConnection> conn,
                                                 std::shared_ptr<StreamTransport> self) {
  std::weak_ptr<StreamConnection> weak = conn;
  while (!conn->out.empty() && !conn->closed) {
    const std::uint64_t write = ++conn->writes;
    conn->write_timer.expires_after(self->limits_.write_timeout);
    auto on_deadline = [weak, write](error_code tec) {
      if (auto c = weak.lock(); c && !tec && c->writes == write && c->writing) {
        c->write_timed_out = true;
        c->Close();
      }
    };
    conn->write_timer.async_wait(on_deadline);
    error_code ec;
    if (conn->tls) {
      co_await asio::async_write(*conn->tls, asio::buffer(conn->out.front()),
                                 asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(*conn->plain, asio::buffer(conn->out.front()),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    ++conn->writes;  // a deadline that fires late finds another write and does nothing
    conn->write_timer.cancel();
    if (conn->write_timed_out) {
      ++self->stats_.write_timeouts;
      log::Warn("sip: closing a connection whose write timed out",
                {{"remote", HostPort(conn->remote)}});
    }
    if (ec) {
      conn->Close();
      break;
    }
    conn->queued_bytes -= conn->out.front().size();
    conn->out.pop_front();
  }
  conn->writing = false;
}

void StreamTransport::ScheduleSweep() {
  sweep_.expires_after(std::chrono::seconds(5));
  std::weak_ptr<StreamTransport> weak = weak_from_this();
  sweep_.async_wait([weak](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped_) {
      return;
    }
    const auto now = TxClock::now();
    for (auto it = self->connections_.begin(); it != self->connections_.end();) {
      const auto& c = it->second;
      if (c->closed || (c->out.empty() && now - c->last_used > self->limits_.idle_timeout)) {
        c->Close();  // its read loop ends and reports the loss
        it = self->connections_.erase(it);
      } else {
        ++it;
      }
    }
    self->ScheduleSweep();
  });
}

void StreamTransport::Stop() {
  stopped_ = true;
  error_code ec;
  for (auto& a : acceptors_) {
    a->close(ec);
  }
  for (auto& [k, c] : connections_) {
    c->Close();
  }
  connections_.clear();
  sweep_.cancel();
}

StreamTransport::Stats StreamTransport::GetStats() const { return stats_; }

}  // namespace portline::sip
