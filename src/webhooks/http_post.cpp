#include "webhooks/http_post.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/url/parse.hpp>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>

#include "net/resolve.hpp"
#include "webhooks/response.hpp"

namespace portline::webhooks {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxHead = 16 * 1024;
constexpr std::size_t kMaxBody = 64 * 1024;  // longer answers are cut and the connection dropped

int RemainingMs(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool WaitFd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, RemainingMs(deadline)) == 1;
}

bool IsIpLiteral(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

struct HttpClient::Conn {
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (ssl != nullptr) {
      SSL_free(ssl);
    }
    if (fd >= 0) {
      ::close(fd);
    }
  }
  int fd = -1;
  SSL* ssl = nullptr;
  Clock::time_point idle_since;

  bool Write(const char* data, std::size_t n, Clock::time_point deadline) {
    std::size_t done = 0;
    while (done < n) {
      long w = 0;
      if (ssl != nullptr) {
        w = SSL_write(ssl, data + done, static_cast<int>(n - done));
        if (w <= 0) {
          const int e = SSL_get_error(ssl, static_cast<int>(w));
          if ((e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) &&
              WaitFd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
            continue;
          }
          return false;
        }
      } else {
        w = ::send(fd, data + done, n - done, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN && WaitFd(fd, POLLOUT, deadline)) {
            continue;
          }
          return false;
        }
      }
      done += static_cast<std::size_t>(w);
    }
    return true;
  }
  // > 0 bytes read, 0 orderly close, -1 error or deadline.
  long Read(char* buf, std::size_t n, Clock::time_point deadline) {
    while (true) {
      if (ssl != nullptr) {
        const int r = SSL_read(ssl, buf, static_cast<int>(n));
        if (r > 0) {
          return r;
        }
        const int e = SSL_get_error(ssl, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
            WaitFd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
          continue;
        }
        return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      }
      const long r = ::recv(fd, buf, n, 0);
      if (r < 0 && errno == EAGAIN) {
        if (!WaitFd(fd, POLLIN, deadline)) {
          return -1;
        }
        continue;
      }
      return r;
    }
  }
};

HttpClient::HttpClient(HttpClientOptions options) : opts_(std::move(options)) {
  // OpenSSL writes to the socket with write(): a receiver that closes mid-request would raise
  // SIGPIPE and end the process. `portline` ignores it in main; so does any process with a client.
  std::signal(SIGPIPE, SIG_IGN);
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_default_verify_paths(ctx_);
  if (!opts_.ca_file.empty() &&
      SSL_CTX_load_verify_locations(ctx_, opts_.ca_file.c_str(), nullptr) != 1) {
    ERR_clear_error();  // reported per delivery: the handshake fails to verify
  }
}

HttpClient::~HttpClient() {
  idle_.clear();
  SSL_CTX_free(ctx_);
}

std::size_t HttpClient::IdleConnections() {
  std::lock_guard lock(mu_);
  return idle_.size();
}

std::unique_ptr<HttpClient::Conn> HttpClient::TakeIdle(const std::string& origin) {
  std::unique_ptr<Conn> found;
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    for (auto it = idle_.lower_bound(origin); it != idle_.end() && it->first == origin;) {
      if (now - it->second->idle_since > opts_.idle_timeout) {
        it = idle_.erase(it);
        continue;
      }
      found = std::move(it->second);
      idle_.erase(it);
      break;
    }
  }
  // A peer that closed (or wrote unasked) while idle shows as readable: not reusable.
  if (found != nullptr) {
    pollfd p{found->fd, POLLIN, 0};
    if (::poll(&p, 1, 0) != 0) {
      found.reset();
    }
  }
  return found;
}

void HttpClient::GiveBack(const std::string& origin, std::unique_ptr<Conn> conn) {
  conn->idle_since = Clock::now();
  std::lock_guard lock(mu_);
  if (idle_.count(origin) < opts_.max_idle_per_origin) {
    idle_.emplace(origin, std::move(conn));
  }
}

Result<HttpResult> HttpClient::Post(const std::string& url,
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
  // Connections opened under one guard are never lent to a caller with another.
  char guard_tag[32];
  std::snprintf(guard_tag, sizeof(guard_tag), "%p", static_cast<const void*>(guard));
  const std::string origin = scheme + "://" + host + ":" + port + "#" + guard_tag;

  std::string request = "POST " + target + " HTTP/1.1\r\nHost: " + host +
                        (parsed->has_port() ? ":" + port : "") +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) {
    request += k + ": " + v + "\r\n";
  }
  request += "\r\n";
  request += body;

  auto connect = [&]() -> Result<std::unique_ptr<Conn>> {
    std::uint16_t port_number = 0;
    if (auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
        ec != std::errc() || p != port.data() + port.size() || port_number == 0) {
      return Fail(Errc::kInvalidArgument, "not a port: " + port);
    }
    // The lookup shares the request's deadline: a silent resolver cannot hold a worker.
    PORTLINE_ASSIGN_OR_RETURN(auto addresses, net::Resolve(host, port_number, deadline));
    // The guard judges the address we connect to (after DNS), so re-resolution cannot bypass it.
    auto c = std::make_unique<Conn>();
    std::string refused;
    std::string last_error = "no address";
    for (const net::ResolvedAddress& a : addresses) {
      if (c->fd >= 0) {
        break;
      }
      const std::string& text = a.text;
      if (guard != nullptr) {
        if (auto ok = guard->Check(text); !ok) {
          refused = ok.error().message;
          continue;
        }
      }
      const int fd = ::socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.length) != 0 &&
          errno != EINPROGRESS) {
        last_error = ErrnoText(errno);
        ::close(fd);
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      if (!WaitFd(fd, POLLOUT, deadline) ||
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        last_error = err != 0 ? ErrnoText(err) : "connect timed out";
        ::close(fd);
        continue;
      }
      c->fd = fd;
    }
    if (c->fd < 0) {
      if (!refused.empty()) {
        return FailCode(Errc::kPermissionDenied, "OUTBOUND_ADDRESS_REFUSED", refused);
      }
      return Fail(Errc::kUnavailable, "connect to " + host + ":" + port + ": " + last_error);
    }
    if (tls) {
      c->ssl = SSL_new(ctx_);
      SSL_set_fd(c->ssl, c->fd);
      if (IsIpLiteral(host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host.c_str());
      } else {
        SSL_ctrl(c->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(host.c_str()));
        X509_VERIFY_PARAM_set1_host(SSL_get0_param(c->ssl), host.c_str(), 0);
      }
      while (true) {
        const int r = SSL_connect(c->ssl);
        if (r == 1) {
          break;
        }
        const int e = SSL_get_error(c->ssl, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
            WaitFd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
          continue;
        }
        const long v = SSL_get_verify_result(c->ssl);
        ERR_clear_error();
        return Fail(Errc::kUnavailable,
                    std::string("TLS handshake with ") + host + " failed: " +
                        (v != X509_V_OK ? X509_verify_cert_error_string(v) : "handshake error"));
      }
    }
    return c;
  };

  // One exchange; `nothing_back` tells a stale pooled connection from a real failure.
  auto exchange = [&](Conn& c, bool& nothing_back, bool& reusable) -> Result<HttpResult> {
    nothing_back = true;
    reusable = false;
    if (!c.Write(request.data(), request.size(), deadline)) {
      return Fail(Errc::kUnavailable, "connection lost while sending to " + host);
    }
    std::string in;
    char buf[8192];
    // One more read into `in`; false at the end of the stream, an error or the deadline.
    auto more = [&] {
      const long n = c.Read(buf, sizeof(buf), deadline);
      if (n <= 0) {
        return false;
      }
      in.append(buf, static_cast<std::size_t>(n));
      return true;
    };
    std::size_t head_end = std::string::npos;
    ResponseHead head;
    while (true) {  // the head, skipping 1xx interim answers
      while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
        if (in.size() > kMaxHead) {
          return Fail(Errc::kUnavailable, "response head longer than 16 KiB");
        }
        if (!more()) {
          if (RemainingMs(deadline) == 0) {
            return Fail(Errc::kDeadlineExceeded,
                        "no response within " + std::to_string(timeout.count()) + " ms");
          }
          return Fail(Errc::kUnavailable, in.empty() ? "connection closed without a response"
                                                     : "connection closed mid-response");
        }
        nothing_back = false;
      }
      PORTLINE_ASSIGN_OR_RETURN(head, ParseResponseHead(std::string_view(in).substr(0, head_end)));
      in.erase(0, head_end + 4);
      if (head.status >= 200) {
        break;
      }
    }
    HttpResult out;
    out.status = head.status;
    std::string body_in;
    bool complete = false;
    if (head.chunked) {
      // Decoded again from the start as bytes arrive: a body is at most kMaxBody.
      ChunkedBody chunked = DecodeChunked(in, kMaxBody);
      while (chunked.state == ChunkedState::kNeedMore && in.size() <= kMaxBody + kMaxHead &&
             more()) {
        chunked = DecodeChunked(in, kMaxBody);
      }
      complete = chunked.state == ChunkedState::kComplete;
      body_in = std::move(chunked.body);
    } else if (head.content_length >= 0) {
      const auto need = static_cast<std::size_t>(head.content_length);
      while (in.size() < std::min(need, kMaxBody) && more()) {
      }
      complete = in.size() == need;  // more than announced, or cut short: drop the connection
      body_in = std::move(in);
    } else {
      // Delimited by the close: read what fits, never reuse.
      while (in.size() < kMaxBody && more()) {
      }
      body_in = std::move(in);
    }
    out.body_excerpt = body_in.substr(0, 500);
    reusable = complete && !head.close;
    return out;
  };

  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<Conn> c = TakeIdle(origin);
    const bool pooled = c != nullptr;
    if (!pooled) {
      PORTLINE_ASSIGN_OR_RETURN(c, connect());
    }
    bool nothing_back = true;
    bool reusable = false;
    auto result = exchange(*c, nothing_back, reusable);
    if (!result && pooled && nothing_back && RemainingMs(deadline) > 0) {
      continue;  // the peer had closed the idle connection: once more on a fresh one
    }
    if (result) {
      result->reused = pooled;
      result->duration =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
      if (reusable) {
        GiveBack(origin, std::move(c));
      }
    }
    return result;
  }
  return Fail(Errc::kUnavailable, "connection to " + host + " closed twice");
}

}  // namespace portline::webhooks
