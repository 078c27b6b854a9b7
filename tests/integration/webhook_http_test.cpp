// The webhook HTTP client against scripted loopback servers (plain and TLS): keep-alive reuse,
// Connection: close, chunked answers, a pooled connection the peer closed, oversized and broken
// answers, certificate verification with an extra CA file, and the guard on pooled connections.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/net_guard.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "webhooks/http_post.hpp"

namespace portline::webhooks {
namespace {

// Answers each request on a connection with `respond(n)` (n counts requests across
// connections); closes the connection after a request when `close_after(n)` says so.
class ScriptedServer {
 public:
  ScriptedServer(std::function<std::string(int)> respond, std::function<bool(int)> close_after,
                 const char* address = "127.0.0.1", SSL_CTX* tls = nullptr)
      : respond_(std::move(respond)), close_after_(std::move(close_after)), tls_(tls) {
    fd_ = testing::ListenTcp(address, port_);
    thread_ = std::thread([this] { Loop(); });
  }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;
  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    {
      std::lock_guard lock(mu_);
      for (int c : open_) {
        ::shutdown(c, SHUT_RDWR);
      }
    }
    for (auto& t : handlers_) {
      t.join();
    }
    for (int c : open_) {
      ::close(c);
    }
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  int requests() const { return requests_; }

 private:
  void Loop() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        continue;
      }
      ++connections_;
      std::lock_guard lock(mu_);
      open_.push_back(c);
      handlers_.emplace_back([this, c] { Serve(c); });
    }
  }
  // One connection, on its own thread (a pooled idle connection must not block the next one).
  void Serve(int c) {
    {
      SSL* ssl = nullptr;
      if (tls_ != nullptr) {
        ssl = SSL_new(tls_);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) != 1) {
          SSL_free(ssl);
          return;  // the destructor closes c
        }
      }
      auto read = [&](char* buf, int n) {
        return ssl != nullptr ? SSL_read(ssl, buf, n)
                              : static_cast<int>(::recv(c, buf, static_cast<std::size_t>(n), 0));
      };
      auto write = [&](const std::string& s) {
        if (ssl != nullptr) {
          SSL_write(ssl, s.data(), static_cast<int>(s.size()));
        } else {
          ::send(c, s.data(), s.size(), MSG_NOSIGNAL);
        }
      };
      std::string in;
      char buf[4096];
      bool open = true;
      while (open && !stop_) {
        std::size_t head = in.find("\r\n\r\n");
        while (head == std::string::npos) {
          const int n = read(buf, sizeof(buf));
          if (n <= 0) {
            open = false;
            break;
          }
          in.append(buf, static_cast<std::size_t>(n));
          head = in.find("\r\n\r\n");
        }
        if (!open) {
          break;
        }
        const std::size_t cl = in.find("Content-Length: ");
        const std::size_t need = head + 4 + std::stoul(in.substr(cl + 16));
        while (in.size() < need) {
          const int n = read(buf, sizeof(buf));
          if (n <= 0) {
            open = false;
            break;
          }
          in.append(buf, static_cast<std::size_t>(n));
        }
        in.erase(0, need);
        const int n = requests_++;
        write(respond_(n));
        open = open && !close_after_(n);
      }
      if (ssl != nullptr) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
      }
      ::shutdown(c, SHUT_RDWR);  // closed (and its number freed) by the destructor
    }
  }
  std::function<std::string(int)> respond_;
  std::function<bool(int)> close_after_;
  SSL_CTX* tls_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> handlers_;
};

const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
constexpr auto kTimeout = std::chrono::seconds(5);

std::string Url(std::uint16_t port, const char* scheme = "http", const char* host = "127.0.0.1") {
  return std::string(scheme) + "://" + host + ":" + std::to_string(port) + "/hook";
}

Result<HttpResult> PostTo(HttpClient& client, const std::string& url,
                          const net::OutboundGuard* guard = nullptr) {
  return client.Post(url, {{"Content-Type", "application/json"}}, R"({"n":1})", guard, kTimeout);
}

TEST(WebhookHttp, KeepAliveReusesOneConnection) {
  ScriptedServer server([](int) { return kOk; }, [](int) { return false; });
  HttpClient client;
  for (int i = 0; i < 5; ++i) {
    auto r = PostTo(client, Url(server.port()));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body_excerpt, "ok");
    EXPECT_EQ(r->reused, i > 0);
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client.IdleConnections(), 1u);
}

TEST(WebhookHttp, ConnectionCloseIsNotReused) {
  ScriptedServer server(
      [](int) { return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"; },
      [](int) { return true; });
  HttpClient client;
  for (int i = 0; i < 3; ++i) {
    auto r = PostTo(client, Url(server.port()));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->reused);
  }
  EXPECT_EQ(server.connections(), 3);
  EXPECT_EQ(client.IdleConnections(), 0u);
}

TEST(WebhookHttp, ChunkedAndInterimAnswers) {
  ScriptedServer server(
      [](int) {
        return std::string(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n"
            "\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n");
      },
      [](int) { return false; });
  HttpClient client;
  for (int i = 0; i < 2; ++i) {
    auto r = PostTo(client, Url(server.port()));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 202);
    EXPECT_EQ(r->body_excerpt, "hello, world");
  }
  EXPECT_EQ(server.connections(), 1);  // the whole chunked body was consumed: reusable
}

TEST(WebhookHttp, APooledConnectionThePeerClosedIsReplacedOnce) {
  // The server answers keep-alive but drops every connection after one request, as a receiver
  // with a short idle timeout does between two deliveries.
  ScriptedServer server([](int) { return kOk; }, [](int) { return true; });
  HttpClient client;
  auto first = PostTo(client, Url(server.port()));
  ASSERT_TRUE(first) << first.error().message;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the close reaches us
  auto second = PostTo(client, Url(server.port()));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->status, 200);
  EXPECT_FALSE(second->reused);
  EXPECT_EQ(server.requests(), 2);  // the dead connection carried nothing
  EXPECT_EQ(server.connections(), 2);
}

TEST(WebhookHttp, OversizedAndBrokenAnswers) {
  const std::string big(100 * 1024, 'b');
  ScriptedServer large(
      [&big](int) {
        return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" +
               big;
      },
      [](int) { return false; });
  HttpClient client;
  auto r = PostTo(client, Url(large.port()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body_excerpt.size(), 500u);
  EXPECT_EQ(client.IdleConnections(), 0u);  // not read to the end: dropped, not pooled

  ScriptedServer garbage([](int) { return std::string("SSH-2.0-OpenSSH\r\n\r\n"); },
                         [](int) { return true; });
  auto g = PostTo(client, Url(garbage.port()));
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("not an HTTP/1.x status line"), std::string::npos);

  ScriptedServer silent_close([](int) { return std::string(); }, [](int) { return true; });
  auto s = PostTo(client, Url(silent_close.port()));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("closed without a response"), std::string::npos);
}

TEST(WebhookHttp, PooledConnectionsNeverBypassTheGuard) {
  ScriptedServer server([](int) { return kOk; }, [](int) { return false; });
  HttpClient client;
  ASSERT_TRUE(PostTo(client, Url(server.port())));  // unguarded (an operator tool)
  EXPECT_EQ(client.IdleConnections(), 1u);
  const auto guard = net::OutboundGuard::FromList({});
  ASSERT_TRUE(guard);
  auto refused = PostTo(client, Url(server.port()), &*guard);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().api_code, "OUTBOUND_ADDRESS_REFUSED");
  EXPECT_EQ(server.requests(), 1);
}

// OpenSSL writes to a socket with write(): after a reset whose error a read has already taken,
// the next write raises SIGPIPE. A process that posts webhooks must survive that.
TEST(WebhookHttp, AClientMakesThePeerClosingMidWriteSurvivable) {
  HttpClient client;
  ASSERT_EQ(std::raise(SIGPIPE), 0);  // with the default disposition this would end the test
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_IGN);
}

TEST(WebhookHttp, HttpsVerifiesAgainstTheExtraCaFile) {
  testing::TempDir dir;
  ASSERT_TRUE(testing::MakeTestCertificates(dir.path()));
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_EQ(
      SSL_CTX_use_certificate_file(ctx, (dir.path() + "/server.crt").c_str(), SSL_FILETYPE_PEM), 1);
  ASSERT_EQ(
      SSL_CTX_use_PrivateKey_file(ctx, (dir.path() + "/server.key").c_str(), SSL_FILETYPE_PEM), 1);
  {
    ScriptedServer server([](int) { return kOk; }, [](int) { return false; }, "127.0.0.1", ctx);
    HttpClient trusting(HttpClientOptions{.ca_file = dir.path() + "/ca.crt"});
    // By IP address (the certificate's IP SAN), then again on the pooled TLS connection.
    for (int i = 0; i < 2; ++i) {
      auto r = PostTo(trusting, Url(server.port(), "https"));
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(r->status, 200);
      EXPECT_EQ(r->reused, i == 1) << "post " << i;
    }
    // By name (its DNS SAN and SNI).
    auto named = PostTo(trusting, Url(server.port(), "https", "localhost"));
    ASSERT_TRUE(named) << named.error().message;
    EXPECT_EQ(named->status, 200);

    HttpClient system_only;
    auto untrusted = PostTo(system_only, Url(server.port(), "https"));
    ASSERT_FALSE(untrusted);
    EXPECT_NE(untrusted.error().message.find("unable to get local issuer certificate"),
              std::string::npos)
        << untrusted.error().message;
  }
  {
    // A trusted certificate that does not name the address connected to.
    ScriptedServer other([](int) { return kOk; }, [](int) { return false; }, "127.0.0.2", ctx);
    HttpClient trusting(HttpClientOptions{.ca_file = dir.path() + "/ca.crt"});
    auto mismatch = PostTo(trusting, Url(other.port(), "https", "127.0.0.2"));
    ASSERT_FALSE(mismatch);
    EXPECT_NE(mismatch.error().message.find("mismatch"), std::string::npos)
        << mismatch.error().message;
  }
  SSL_CTX_free(ctx);
}

}  // namespace
}  // namespace portline::webhooks
