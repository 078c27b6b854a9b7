#pragma once

// SIP over TCP and TLS (RFC 3261 §18): listeners, outgoing connections, stream framing, the
// write queue. Every resource is bounded: connections in total (incoming and outgoing apart)
// and per source address, a backoff when accept fails (descriptors exhausted), a deadline on
// every handshake and write, a cap on bytes queued per connection, and idle connections closed.
// What a message means is the caller's business: complete messages go to `on_message`.
//
// Threading contract: lives on one io_context run by one thread (the endpoint's).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "sip/dns.hpp"
#include "sip/transaction.hpp"

namespace portline::sip {

enum class TlsVerify : std::uint8_t {
  kFull,       // chain and host name (or IP) must match
  kChainOnly,  // chain must verify; the name is not checked (peers addressed by IP)
  kNone,       // no verification (tests, diagnostics)
};
[[nodiscard]] std::optional<TlsVerify> TlsVerifyFrom(std::string_view name) noexcept;

struct TlsOptions {
  std::string cert_file;  // PEM chain served by TLS listeners (and offered as client cert)
  std::string key_file;
  std::string ca_file;  // trust anchors for peers; empty = the system store
  TlsVerify verify = TlsVerify::kFull;
  bool client_certificate = false;  // present cert_file when we are the TLS client
};

struct StreamLimits {
  std::size_t max_incoming = 1024;       // accepted connections open at once
  std::size_t max_incoming_per_ip = 32;  // of those, from one source address
  std::size_t max_outgoing = 1024;       // connections we opened
  std::size_t max_message_bytes = 65535;
  std::size_t max_queued_bytes = 1 << 20;           // unsent bytes per connection; more closes it
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect and TLS handshake
  std::chrono::milliseconds write_timeout{10000};   // one write; a peer that stops reading
  std::chrono::milliseconds idle_timeout{120000};
};

/// One TCP or TLS connection. The transport owns it; others hold weak references.
struct StreamConnection {
  StreamConnection(Transport t, boost::asio::ip::tcp::socket socket,
                   boost::asio::ssl::context* ctx);
  boost::asio::ip::tcp::socket& Socket();
  void Close();

  Transport transport;
  bool incoming = false;
  std::unique_ptr<boost::asio::ip::tcp::socket> plain;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls;
  boost::asio::steady_timer timer;        // connect/handshake deadline
  boost::asio::steady_timer write_timer;  // deadline of the write in progress
  std::string key;
  boost::asio::ip::tcp::endpoint remote;
  boost::asio::ip::tcp::endpoint local;
  std::deque<std::string> out;
  std::size_t queued_bytes = 0;
  bool writing = false;
  std::uint64_t writes = 0;  // numbers each write, so a late deadline knows it is stale
  bool write_timed_out = false;
  bool closed = false;
  bool ready = false;  // connected (and handshaken)
  TxClock::time_point last_used = TxClock::now();
};

class StreamTransport : public std::enable_shared_from_this<StreamTransport> {
 public:
  using MessageHandler =
      std::function<void(std::string_view bytes, const std::shared_ptr<StreamConnection>&)>;
  using LostHandler = std::function<void(const std::shared_ptr<StreamConnection>&)>;

  StreamTransport(boost::asio::io_context& io, StreamLimits limits, MessageHandler on_message,
                  LostHandler on_lost);

  /// Sets up the TLS contexts and starts closing idle connections.
  [[nodiscard]] Result<void> Start(const TlsOptions& tls);
  [[nodiscard]] bool ServerTlsReady() const { return server_tls_ready_; }
  /// Binds and starts accepting; returns the bound port.
  [[nodiscard]] Result<std::uint16_t> Listen(Transport t, const boost::asio::ip::tcp::endpoint& at);
  /// Opens (or reuses) a connection to `to`; `host` is the TLS name to send and verify.
  boost::asio::awaitable<Result<std::shared_ptr<StreamConnection>>> Connect(
      Transport t, boost::asio::ip::tcp::endpoint to, std::string host);
  /// Queues bytes; false (and the connection closed) when it is gone or its queue is full.
  bool Send(const std::shared_ptr<StreamConnection>& conn, std::string bytes);
  void Stop();

  struct Stats {
    std::size_t incoming = 0;
    std::size_t outgoing = 0;
    std::uint64_t rejected = 0;       // accepted and closed at once: over a connection cap
    std::uint64_t accept_errors = 0;  // accept failed (e.g. EMFILE) and we backed off
    std::uint64_t write_timeouts = 0;
    std::uint64_t queue_overflows = 0;
    std::uint64_t unframeable = 0;  // streams closed because a message could not be framed
  };
  [[nodiscard]] Stats GetStats() const;
  [[nodiscard]] std::size_t Open() const { return connections_.size(); }

 private:
  class Slot;
  boost::asio::awaitable<void> Accept(boost::asio::ip::tcp::acceptor& acceptor, Transport t);
  static boost::asio::awaitable<void> ServeIncoming(std::shared_ptr<StreamConnection> conn,
                                                    std::shared_ptr<StreamTransport> self);
  static boost::asio::awaitable<void> ReadLoop(std::shared_ptr<StreamConnection> conn,
                                               std::shared_ptr<StreamTransport> self);
  static boost::asio::awaitable<void> WriteLoop(std::shared_ptr<StreamConnection> conn,
                                                std::shared_ptr<StreamTransport> self);
  void Forget(const std::shared_ptr<StreamConnection>& conn);
  void ScheduleSweep();

  boost::asio::io_context& io_;
  StreamLimits limits_;
  MessageHandler on_message_;
  LostHandler on_lost_;
  boost::asio::ssl::context client_ctx_;
  boost::asio::ssl::context server_ctx_;
  TlsVerify verify_ = TlsVerify::kFull;
  bool server_tls_ready_ = false;
  bool stopped_ = false;
  boost::asio::steady_timer sweep_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::unordered_map<std::string, std::shared_ptr<StreamConnection>> connections_;
  std::unordered_map<std::string, std::size_t> per_ip_;  // incoming, by source address
  Stats stats_;
};

}  // namespace portline::sip
