#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/api.hpp"
#include "core/error.hpp"

namespace portline::api::http {

struct ServerOptions {
  std::size_t max_body_bytes = 1024 * 1024;                     // larger bodies: 413
  std::size_t max_upload_bytes = 10 * 1024 * 1024 + 64 * 1024;  // POST /v1/sip/port/document
  std::size_t max_header_bytes = 16 * 1024;                     // larger header block: 431
  std::chrono::milliseconds header_timeout{10000};              // whole header, from its first byte
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds shutdown_timeout{30000};  // graceful drain before closing hard
  std::size_t max_connections = 10000;
  bool access_log = true;
};

/// HTTP/1.1 server on Beast + Asio coroutines. All of its state lives on the io_context's
/// thread (run the io_context on one thread); handlers that may block run on `workers`.
class Server {
 public:
  Server(boost::asio::io_context& io, Api& api, boost::asio::thread_pool& workers,
         ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and listens; returns the bound port (useful with port 0).
  [[nodiscard]] Result<std::uint16_t> Listen(const std::string& host, std::uint16_t port);
  /// Starts accepting (call after Listen, before running the io_context).
  void Start();
  /// Graceful shutdown: stop accepting, close idle connections, let in-flight requests finish
  /// (answered with Connection: close), then call `on_drained` once no connection remains or the
  /// shutdown timeout passes. Thread-safe (posts to the io_context).
  void Shutdown(std::function<void()> on_drained);

  struct Impl;  // implementation detail (server.cpp)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace portline::api::http
