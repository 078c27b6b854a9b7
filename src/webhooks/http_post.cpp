#include "webhooks/http_post.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstring>

namespace portline::webhooks {
namespace {

using Clock = std::chrono::steady_clock;

class Socket {
 public:
  ~Socket() {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
    }
    if (ctx_ != nullptr) {
      SSL_CTX_free(ctx_);
    }
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

int RemainingMs(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool WaitFd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, RemainingMs(deadline)) == 1;
}

}  // namespace

Result<HttpResult> Post(const std::string& url,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body, const net::OutboundGuard* guard,
                        std::chrono::milliseconds timeout) {
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return Fail(Errc::kInvalidArgument, "not a URL: " + url);
  }
  const std::string scheme(parsed->scheme());
  const bool tls = scheme == "https";
  if (!tls && scheme != "http") {
    return Fail(Errc::kInvalidArgument, "webhook URLs must be http:// or https://");
  }
  const std::string host(parsed->host_address());
  const std::string port = parsed->has_port() ? std::string(parsed->port()) : (tls ? "443" : "80");
  std::string target(parsed->encoded_target());
  if (target.empty()) {
    target = "/";
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    return Fail(Errc::kUnavailable, "cannot resolve " + host);
  }
  // The guard judges the address we connect to (after DNS), so re-resolution cannot bypass it.
  Socket s;
  std::string refused;
  std::string last_error = "no address";
  for (addrinfo* a = res; a != nullptr && s.fd_ < 0; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* src =
        a->ai_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr);
    inet_ntop(a->ai_family, src, text, sizeof(text));
    if (guard != nullptr) {
      if (auto ok = guard->Check(text); !ok) {
        refused = ok.error().message;
        continue;
      }
    }
    const int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (!WaitFd(fd, POLLOUT, deadline) || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
        err != 0) {
      last_error = err != 0 ? std::strerror(err) : "connect timed out";
      ::close(fd);
      continue;
    }
    s.fd_ = fd;
  }
  freeaddrinfo(res);
  if (s.fd_ < 0) {
    if (!refused.empty()) {
      return FailCode(Errc::kPermissionDenied, "OUTBOUND_ADDRESS_REFUSED", refused);
    }
    return Fail(Errc::kUnavailable, "connect to " + host + ":" + port + ": " + last_error);
  }
  auto io_write = [&](const char* data, std::size_t n) -> bool {
    std::size_t done = 0;
    while (done < n) {
      long w = 0;
      if (s.ssl_ != nullptr) {
        w = SSL_write(s.ssl_, data + done, static_cast<int>(n - done));
        if (w <= 0) {
          const int e = SSL_get_error(s.ssl_, static_cast<int>(w));
          if ((e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) &&
              WaitFd(s.fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
            continue;
          }
          return false;
        }
      } else {
        w = ::send(s.fd_, data + done, n - done, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN && WaitFd(s.fd_, POLLOUT, deadline)) {
            continue;
          }
          return false;
        }
      }
      done += static_cast<std::size_t>(w);
    }
    return true;
  };
  auto io_read = [&](char* buf, std::size_t n) -> long {
    while (true) {
      if (s.ssl_ != nullptr) {
        const int r = SSL_read(s.ssl_, buf, static_cast<int>(n));
        if (r > 0) {
          return r;
        }
        const int e = SSL_get_error(s.ssl_, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
            WaitFd(s.fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
          continue;
        }
        return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      }
      const long r = ::recv(s.fd_, buf, n, 0);
      if (r < 0 && errno == EAGAIN) {
        if (!WaitFd(s.fd_, POLLIN, deadline)) {
          return -1;
        }
        continue;
      }
      return r;
    }
  };
  if (tls) {
    s.ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(s.ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(s.ctx_, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_default_verify_paths(s.ctx_);
    s.ssl_ = SSL_new(s.ctx_);
    SSL_set_fd(s.ssl_, s.fd_);
    SSL_ctrl(s.ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
    X509_VERIFY_PARAM_set1_host(SSL_get0_param(s.ssl_), host.c_str(), 0);
    while (true) {
      const int r = SSL_connect(s.ssl_);
      if (r == 1) {
        break;
      }
      const int e = SSL_get_error(s.ssl_, r);
      if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
          WaitFd(s.fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        continue;
      }
      const long v = SSL_get_verify_result(s.ssl_);
      return Fail(Errc::kUnavailable,
                  std::string("TLS handshake with ") + host + " failed: " +
                      (v != X509_V_OK ? X509_verify_cert_error_string(v) : "handshake error"));
    }
  }
  std::string request =
      "POST " + target + " HTTP/1.1\r\nHost: " + host + (parsed->has_port() ? ":" + port : "") +
      "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) {
    request += k + ": " + v + "\r\n";
  }
  request += "\r\n";
  if (!io_write(request.data(), request.size()) || !io_write(body.data(), body.size())) {
    return Fail(Errc::kUnavailable, "connection lost while sending to " + host);
  }
  std::string in;
  char buf[4096];
  while (in.find("\r\n\r\n") == std::string::npos || in.size() < 16 * 1024) {
    const long n = io_read(buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    in.append(buf, static_cast<std::size_t>(n));
    if (in.size() > 64 * 1024) {
      break;
    }
  }
  if (in.rfind("HTTP/1.", 0) != 0 || in.size() < 12) {
    return Fail(Errc::kDeadlineExceeded,
                RemainingMs(deadline) == 0
                    ? "no response within " + std::to_string(timeout.count()) + " ms"
                    : "not an HTTP response");
  }
  HttpResult out;
  out.status = std::atoi(in.substr(9, 3).c_str());
  const std::size_t head_end = in.find("\r\n\r\n");
  out.body_excerpt = head_end == std::string::npos ? std::string() : in.substr(head_end + 4, 500);
  out.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  return out;
}

}  // namespace portline::webhooks
