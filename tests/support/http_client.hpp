#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace portline::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  [[nodiscard]] std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// A deliberately small blocking HTTP/1.1 client over a raw socket, so tests can also send
/// malformed, partial and slow requests. Every read has a timeout.
class HttpConnection {
 public:
  explicit HttpConnection(std::uint16_t port,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }
  /// Sends raw bytes; false if the peer closed.
  bool SendRaw(const std::string& bytes);
  /// Reads one response; nullopt on close or timeout before a complete response.
  std::optional<HttpResponse> Read();
  /// True if the peer closes the connection (EOF) within the timeout.
  bool WaitClosed(std::chrono::milliseconds timeout);

  /// Sends a well-formed request and reads the response.
  std::optional<HttpResponse> Request(const std::string& method, const std::string& target,
                                      const std::string& body = {},
                                      const std::map<std::string, std::string>& headers = {});

 private:
  int fd_ = -1;
  std::string buffer_;
};

/// One request on a fresh connection.
std::optional<HttpResponse> HttpRequest(std::uint16_t port, const std::string& method,
                                        const std::string& target, const std::string& body = {},
                                        const std::map<std::string, std::string>& headers = {});

}  // namespace portline::testing
