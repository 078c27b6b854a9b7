#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace portline::testing {

HttpConnection::HttpConnection(std::uint16_t port, std::chrono::milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) {
    return;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

bool HttpConnection::SendRaw(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<HttpResponse> HttpConnection::Read() {
  char chunk[65536];
  for (;;) {
    const auto header_end = buffer_.find("\r\n\r\n");
    if (header_end != std::string::npos) {
      HttpResponse r;
      const std::string head = buffer_.substr(0, header_end);
      std::size_t line_end = head.find("\r\n");
      const std::string status_line = head.substr(0, line_end);
      if (status_line.size() < 12) {
        return std::nullopt;
      }
      r.status = std::stoi(status_line.substr(9, 3));
      std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        auto next = head.find("\r\n", pos);
        if (next == std::string::npos) {
          next = head.size();
        }
        const std::string line = head.substr(pos, next - pos);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          std::transform(name.begin(), name.end(), name.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          r.headers[name] = value;
        }
        pos = next + 2;
      }
      const std::size_t length =
          r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
      if (r.status == 100) {
        buffer_.erase(0, header_end + 4);
        continue;
      }
      if (buffer_.size() >= header_end + 4 + length) {
        r.body = buffer_.substr(header_end + 4, length);
        buffer_.erase(0, header_end + 4 + length);
        return r;
      }
    }
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      return std::nullopt;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

bool HttpConnection::WaitClosed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(1, left.count()))) <= 0) {
      continue;
    }
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      return true;
    }
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  return false;
}

std::optional<HttpResponse> HttpConnection::Request(
    const std::string& method, const std::string& target, const std::string& body,
    const std::map<std::string, std::string>& headers) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_ct = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    has_ct = has_ct || k == "Content-Type";
  }
  if (!body.empty() && !has_ct) {
    req += "Content-Type: application/json\r\n";
  }
  if (!body.empty() || method == "POST") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  if (!SendRaw(req)) {
    return std::nullopt;
  }
  return Read();
}

std::optional<HttpResponse> HttpRequest(std::uint16_t port, const std::string& method,
                                        const std::string& target, const std::string& body,
                                        const std::map<std::string, std::string>& headers) {
  HttpConnection c(port);
  if (!c.connected()) {
    return std::nullopt;
  }
  return c.Request(method, target, body, headers);
}

}  // namespace portline::testing
