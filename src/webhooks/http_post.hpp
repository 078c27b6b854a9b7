#pragma once

// A small blocking HTTP/1.1 client for webhook delivery: POST over http or https (TLS ≥ 1.2,
// verified against the system store plus an optional extra CA file), bounded by one deadline,
// guarded against SSRF on the resolved address, with keep-alive connections pooled per
// (scheme, host, port, guard) so a busy endpoint does not pay a handshake per delivery.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/net_guard.hpp"

using SSL_CTX = struct ssl_ctx_st;  // NOLINT(readability-identifier-naming): OpenSSL's name

namespace portline::webhooks {

struct HttpResult {
  int status = 0;
  std::string body_excerpt;  // first 500 bytes
  std::chrono::milliseconds duration{0};
  bool reused = false;  // sent on a pooled connection
};

struct HttpClientOptions {
  std::string ca_file;  // PEM bundle trusted besides the system store (private CAs, tests)
  std::chrono::seconds idle_timeout{30};
  std::size_t max_idle_per_origin = 64;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Thread-safe. A pooled connection that turns out to be closed by the peer before any byte
  /// of the answer arrives is replaced by a fresh one once.
  [[nodiscard]] Result<HttpResult> Post(
      const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
      const std::string& body, const net::OutboundGuard* guard, std::chrono::milliseconds timeout);

  /// Idle pooled connections (for tests and metrics).
  [[nodiscard]] std::size_t IdleConnections();

  struct Conn;

 private:
  std::unique_ptr<Conn> TakeIdle(const std::string& origin);
  void GiveBack(const std::string& origin, std::unique_ptr<Conn> conn);

  HttpClientOptions opts_;
  SSL_CTX* ctx_ = nullptr;
  std::mutex mu_;
  std::multimap<std::string, std::unique_ptr<Conn>> idle_;
};

}  // namespace portline::webhooks
