#pragma once

// The SIP endpoint: transports (UDP here, TCP and TLS in stream_transport), the transaction layer
// driving the pure §17 machines, RFC 3263 server location, and the user-agent basics (send OPTIONS;
// answer OPTIONS, reject what it does not handle).
//
// Threading contract: an Endpoint lives on one io_context run by one thread. Call every member,
// and co_await Options(), on that thread (co_spawn onto the io_context from elsewhere).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "sip/digest.hpp"
#include "sip/dns.hpp"
#include "sip/stream_transport.hpp"
#include "sip/transaction.hpp"

namespace portline::sip {

struct ListenerConfig {
  Transport transport = Transport::kUdp;
  std::string host = "127.0.0.1";  // IPv4 or IPv6 literal
  std::uint16_t port = 0;          // 0 = any free port
};

/// Digest authentication of incoming requests (server side). Off when password_for is empty.
struct AuthOptions {
  std::string realm = "portline";
  std::string secret;  // signs nonces; empty = random per process
  DigestAlgorithm algorithm = DigestAlgorithm::kSha256;
  std::function<std::optional<std::string>(std::string_view username)> password_for;
};

struct EndpointOptions {
  std::vector<ListenerConfig> listeners;
  TimerConfig timers;
  std::string user_agent = "Portline";
  TlsOptions tls;
  std::vector<std::string> dns_servers;  // "127.0.0.1:5353"; empty = system resolver
  std::chrono::milliseconds dns_timeout{3000};
  StreamLimits streams;  // TCP/TLS: connection caps, deadlines, queue and message sizes
  AuthOptions auth;
  /// Called with every address before we connect or send to it (the SSRF guard); empty = allow.
  std::function<Result<void>(const boost::asio::ip::address&)> outbound_guard;
};

struct OptionsRequest {
  std::string uri;                          // "sip:host", "sips:host:5061", or a bare host
  std::optional<Transport> transport;       // forces a transport
  std::chrono::milliseconds timeout{5000};  // the whole probe, independent of Timer F
  std::string username;                     // digest credentials for a 401/407 challenge (optional)
  std::string password;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (e.g. X-…)
};

struct OptionsResult {
  int code = 0;
  std::string reason;
  double rtt_ms = 0;  // first transmission → final response
  Transport transport = Transport::kUdp;
  std::string remote;  // "ip:port" that answered
  std::string server, user_agent, allow, accept, supported;
  std::vector<std::string> codecs;  // from an SDP body, if any
  std::string response;             // the raw final response
  int transmissions = 0;
  bool authenticated = false;      // we answered a challenge
  std::vector<std::string> trace;  // DNS steps and attempts, human-readable
};

class Endpoint {
 public:
  Endpoint(boost::asio::io_context& io, EndpointOptions options);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  /// Binds the listeners and starts receiving.
  [[nodiscard]] Result<void> Start();
  struct Bound {
    Transport transport;
    std::string address;
    std::uint16_t port;
  };
  [[nodiscard]] std::vector<Bound> Listeners() const;

  /// Sends OPTIONS and waits for the final response (following RFC 3263 failover on transport
  /// errors, timeouts and 503). Errors: kInvalidArgument (bad URI), kNotFound (DNS),
  /// kDeadlineExceeded (no answer in time), kUnavailable (transport/TLS failure, with the reason).
  boost::asio::awaitable<Result<OptionsResult>> Options(OptionsRequest request);

  /// While draining, incoming OPTIONS are answered 503 (health checks move traffic away).
  void SetDraining(bool draining);
  /// Closes listeners and connections; pending probes fail.
  void Stop();

  struct Stats {
    std::size_t client_transactions = 0;
    std::size_t server_transactions = 0;
    std::size_t connections = 0;
    std::uint64_t received = 0;
    std::uint64_t malformed = 0;
    std::uint64_t sent = 0;
    StreamTransport::Stats streams;
  };
  [[nodiscard]] Stats GetStats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace portline::sip
