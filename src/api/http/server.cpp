// The HTTP shell: the only translation unit that includes Beast. It turns bytes into
// api::Request, runs Api::Handle (inline or on the worker pool) and writes api::Response back,
// enforcing size limits, timeouts and graceful shutdown.
#include "api/http/server.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>

#include "api/json.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"

namespace portline::api::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Tcp = asio::ip::tcp;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

bool IsValidRequestId(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

void LogSpawnFailure(std::exception_ptr e) {
  if (!e) {
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::Error("http coroutine failed", {{"error", ex.what()}});
  } catch (...) {
    log::Error("http coroutine failed");
  }
}
}  // namespace

struct Server::Impl {
  Impl(asio::io_context& io_ctx, Api& a, asio::thread_pool& w, ServerOptions o)
      : io(io_ctx), api(a), workers(w), opts(o), acceptor(io_ctx), drain_timer(io_ctx) {}

  struct Conn {
    beast::tcp_stream* stream;
    bool idle;
  };

  asio::io_context& io;
  Api& api;
  asio::thread_pool& workers;
  ServerOptions opts;
  Tcp::acceptor acceptor;
  asio::steady_timer drain_timer;
  std::list<Conn> conns;
  bool stopping = false;
  std::function<void()> on_drained;

  void MaybeDrained() {
    if (stopping && conns.empty() && on_drained) {
      drain_timer.cancel();
      auto done = std::move(on_drained);
      on_drained = nullptr;
      done();
    }
  }
};

namespace {

// A short error response for problems found before a request could be built.
asio::awaitable<void> WriteEarlyError(beast::tcp_stream& stream, Server::Impl* s, bhttp::status st,
                                      std::string message, std::string_view reason) {
  const std::string request_id = NewRequestId();
  Errc code = Errc::kInvalidArgument;
  std::string api_code;
  if (st == bhttp::status::payload_too_large) {
    code = Errc::kPayloadTooLarge;
  } else if (st == bhttp::status::request_header_fields_too_large) {
    api_code = "HEADERS_TOO_LARGE";
  } else if (st == bhttp::status::request_timeout) {
    api_code = "REQUEST_TIMEOUT";
  } else {
    api_code = "MALFORMED_HTTP";
  }
  Response body = ErrorResponse(Error{code, std::move(message), {}, api_code, {}}, request_id);
  bhttp::response<bhttp::string_body> res{st, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set("X-Request-Id", request_id);
  res.keep_alive(false);
  res.body() = std::move(body.body);
  res.prepare_payload();
  stream.expires_after(std::chrono::seconds(5));
  co_await bhttp::async_write(stream, res, kAsTuple);
  s->api.metrics().ObserveRequest("-", "", static_cast<int>(st), 0);
  s->api.metrics().Increment("http_rejected", reason);
}

asio::awaitable<void> Session(Server::Impl* s, Tcp::socket socket) {
  beast::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  const std::string remote = ec ? std::string() : peer.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  auto self = s->conns.insert(s->conns.end(), Server::Impl::Conn{&stream, true});
  s->api.metrics().ConnectionOpened();
  struct Cleanup {
    Server::Impl* s;
    std::list<Server::Impl::Conn>::iterator it;
    Cleanup(Server::Impl* srv, std::list<Server::Impl::Conn>::iterator i) : s(srv), it(i) {}
    Cleanup(const Cleanup&) = delete;
    Cleanup& operator=(const Cleanup&) = delete;
    ~Cleanup() {
      s->conns.erase(it);
      s->api.metrics().ConnectionClosed();
      s->MaybeDrained();
    }
  } cleanup(s, self);

  beast::flat_buffer buffer;
  for (;;) {
    self->idle = true;
    if (s->stopping) {
      break;
    }
    if (buffer.size() == 0) {
      stream.expires_after(s->opts.idle_timeout);
      auto [rec, n] = co_await stream.async_read_some(buffer.prepare(8192), kAsTuple);
      if (rec) {
        break;  // closed by the peer, idle timeout, or shutdown
      }
      buffer.commit(n);
    }
    self->idle = false;
    const auto started = std::chrono::steady_clock::now();

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(s->opts.max_header_bytes));
    // The largest limit until the route is known (the parser checks Content-Length against it
    // as the header ends); narrowed below before any body byte is parsed.
    parser.body_limit(std::max(s->opts.max_body_bytes, s->opts.max_upload_bytes));
    // The header first, alone: no body byte is taken before the route's limit is known and the
    // key checked. A request usually arrives whole in the first read; parse what is buffered
    // before falling back to asynchronous reads (saves a scheduler round trip and a timer).
    parser.eager(false);
    beast::error_code hec;
    std::size_t hn = parser.put(buffer.data(), hec);
    buffer.consume(hn);
    if (hec == bhttp::error::need_more) {
      hec = {};
    }
    if (!hec && !parser.is_header_done()) {
      stream.expires_after(s->opts.header_timeout);
      std::tie(hec, hn) = co_await bhttp::async_read_header(stream, buffer, parser, kAsTuple);
    }
    std::size_t route_limit = s->opts.max_body_bytes;
    {
      const auto target = parser.get().target();  // set once the request line is parsed
      const std::string_view path(target.data(), std::min(target.size(), target.find('?')));
      if (path == "/v1/sip/port/document") {
        route_limit = s->opts.max_upload_bytes;
      }
    }
    Request req;
    std::optional<Response> early;  // refused before its body was read
    if (!hec && parser.is_header_done()) {
      const auto& head = parser.get();
      req.method = std::string(head.method_string());
      req.target = std::string(head.target());
      req.remote_addr = remote;
      req.headers.reserve(8);
      for (const auto& field : head) {
        req.headers.push_back(Header{std::string(field.name_string()), std::string(field.value())});
      }
      const auto presented_id = req.HeaderValue("x-request-id");
      req.request_id = presented_id && IsValidRequestId(*presented_id) ? std::string(*presented_id)
                                                                       : NewRequestId();
      const auto length = parser.content_length();
      if (length && *length > route_limit) {
        hec = bhttp::error::body_limit;
      } else {
        parser.body_limit(route_limit);
      }
      // A body still to be read waits until its key is known good (a worker looks it up).
      const bool unread = !parser.is_done() && (!length || buffer.size() < *length);
      if (!hec && unread && ParseTarget(req.target, req)) {
        auto check = [api = &s->api, r = &req]() -> asio::awaitable<std::optional<Response>> {
          co_return api->CheckBeforeBody(*r);
        };
        early = co_await asio::co_spawn(s->workers, std::move(check), asio::use_awaitable);
      }
    }
    if (!hec && !early && !parser.is_done()) {
      parser.eager(true);
      hn = parser.put(buffer.data(), hec);
      buffer.consume(hn);
      if (hec == bhttp::error::need_more) {
        hec = {};
      }
    }
    if (!hec && !early && !parser.is_done()) {
      if (auto expect = parser.get()[bhttp::field::expect]; IEquals(expect, "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        stream.expires_after(s->opts.write_timeout);
        co_await bhttp::async_write(stream, cont, kAsTuple);
      }
      stream.expires_after(s->opts.body_timeout);
      std::tie(hec, hn) = co_await bhttp::async_read(stream, buffer, parser, kAsTuple);
    }
    if (hec) {
      if (hec == bhttp::error::body_limit) {
        co_await WriteEarlyError(
            stream, s, bhttp::status::payload_too_large,
            "request body larger than " + std::to_string(route_limit) + " bytes", "body_limit");
      } else if (hec == bhttp::error::header_limit) {
        co_await WriteEarlyError(stream, s, bhttp::status::request_header_fields_too_large,
                                 "request header block larger than " +
                                     std::to_string(s->opts.max_header_bytes) + " bytes",
                                 "header_limit");
      } else if (hec == beast::error::timeout) {
        co_await WriteEarlyError(stream, s, bhttp::status::request_timeout,
                                 "the request was not received in time", "slow_client");
      } else if (hec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
                 hec != bhttp::error::end_of_stream && hec != bhttp::error::partial_message) {
        co_await WriteEarlyError(stream, s, bhttp::status::bad_request,
                                 "malformed HTTP request: " + hec.message(), "malformed");
      }
      break;
    }

    auto msg = parser.release();
    req.body = std::move(msg.body());

    Response resp;
    if (early) {
      resp = std::move(*early);  // its body was never read: the connection closes after it
      resp.close_connection = true;
      s->api.metrics().Increment("http_rejected", "before_body");
    } else if (auto target = ParseTarget(req.target, req); !target) {
      resp = ErrorResponse(target.error(), req.request_id);
    } else if (s->api.CanRunInline(req)) {
      resp = s->api.Handle(req);
    } else {
      // GCC 12: a capturing lambda must not be created inside the co_await expression.
      auto job = [api = &s->api, r = &req]() -> asio::awaitable<Response> {
        co_return api->Handle(*r);
      };
      resp = co_await asio::co_spawn(s->workers, std::move(job), asio::use_awaitable);
    }

    const bool keep = msg.keep_alive() && !s->stopping && !resp.close_connection;
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(resp.status), msg.version()};
    res.set(bhttp::field::server, "portline");
    res.set(bhttp::field::content_type, resp.content_type);
    res.set("X-Request-Id", req.request_id);
    if (req.path.rfind("/v1/", 0) == 0) {
      res.set(bhttp::field::cache_control, "no-store");
    }
    for (const auto& h : resp.headers) {
      res.set(h.name, h.value);
    }
    res.keep_alive(keep);
    res.body() = std::move(resp.body);
    res.prepare_payload();
    stream.expires_after(s->opts.write_timeout);
    auto [wec, wn] = co_await bhttp::async_write(stream, res, kAsTuple);

    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    s->api.metrics().ObserveRequest(req.method, resp.route, resp.status, seconds);
    if (s->opts.access_log && log::Enabled(log::Level::kInfo)) {
      log::Info("http_request", {{"request_id", req.request_id},
                                 {"method", req.method},
                                 {"path", LoggablePath(req.path)},
                                 {"status", resp.status},
                                 {"duration_ms", seconds * 1000.0},
                                 {"org_id", resp.org_id},
                                 {"remote", remote}});
    }
    if (wec || !keep) {
      break;
    }
  }
  stream.socket().shutdown(Tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> AcceptLoop(Server::Impl* s) {
  for (;;) {
    auto [ec, socket] = co_await s->acceptor.async_accept(kAsTuple);
    if (s->stopping) {
      co_return;
    }
    if (ec) {
      s->api.metrics().Increment("http_accept", ec.message());
      log::Warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer backoff(s->io, std::chrono::milliseconds(50));  // e.g. EMFILE
      co_await backoff.async_wait(kAsTuple);
      continue;
    }
    if (s->conns.size() >= s->opts.max_connections) {
      s->api.metrics().Increment("http_rejected", "max_connections");
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(Tcp::no_delay(true), ec);
    asio::co_spawn(s->io, Session(s, std::move(socket)), LogSpawnFailure);
  }
}

}  // namespace

Server::Server(asio::io_context& io, Api& api, asio::thread_pool& workers, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, api, workers, options)) {}

Server::~Server() = default;

Result<std::uint16_t> Server::Listen(const std::string& host, std::uint16_t port) {
  beast::error_code ec;
  Tcp::resolver resolver(impl_->io);
  auto results = resolver.resolve(host, std::to_string(port),
                                  Tcp::resolver::passive | Tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Fail(Errc::kInvalidArgument, "cannot resolve listen address '" + host + "'",
                ec.message());
  }
  const Tcp::endpoint endpoint = results.begin()->endpoint();
  auto& acc = impl_->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) {
    acc.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acc.bind(endpoint, ec);
  }
  if (!ec) {
    acc.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Fail(Errc::kUnavailable,
                "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  return acc.local_endpoint().port();
}

void Server::Start() { asio::co_spawn(impl_->io, AcceptLoop(impl_.get()), LogSpawnFailure); }

void Server::Shutdown(std::function<void()> on_drained) {
  auto impl = impl_;
  asio::post(impl->io, [impl, done = std::move(on_drained)]() mutable {
    if (impl->stopping) {
      return;
    }
    impl->stopping = true;
    impl->on_drained = std::move(done);
    impl->api.SetDraining(true);
    beast::error_code ec;
    impl->acceptor.close(ec);
    for (auto& c : impl->conns) {
      if (c.idle) {
        c.stream->cancel();
      }
    }
    impl->drain_timer.expires_after(impl->opts.shutdown_timeout);
    impl->drain_timer.async_wait([impl](beast::error_code tec) {
      if (tec) {
        return;  // drained in time
      }
      log::Warn("shutdown timeout: closing remaining connections",
                {{"connections", static_cast<std::int64_t>(impl->conns.size())}});
      for (auto& c : impl->conns) {
        c.stream->close();
      }
    });
    impl->MaybeDrained();
  });
}

}  // namespace portline::api::http
