// libFuzzer target for the request path: Beast's HTTP/1.1 parser with our limits, then the
// code that turns a parsed message into an api::Request (target, query, headers) and decodes
// its JSON body, pagination parameters and idempotency key. The same bytes are also fed to the
// JSON decoder directly. Coroutine-free, so it builds with clang's fuzzer+ASan+UBSan.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/json.hpp"
#include "api/types.hpp"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)portline::api::ParseJson(bytes);

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (used < size && !ec && !parser.is_done()) {
    const std::size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    if (n == 0 && !ec) {
      break;
    }
    used += n;
  }
  if (!ec && !parser.is_done() && parser.got_some()) {
    parser.put_eof(ec);  // Beast asserts that something came before the end
  }
  if (ec || !parser.is_done()) {
    return 0;
  }
  auto& msg = parser.get();
  portline::api::Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  for (const auto& f : msg) {
    req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  }
  req.body = msg.body();
  if (!portline::api::ParseTarget(req.target, req)) {
    return 0;
  }
  (void)portline::api::ParseJsonObjectBody(req);
  (void)portline::api::ParsePageParams(req, "key");
  if (auto key = req.HeaderValue("idempotency-key")) {
    (void)portline::api::IsValidIdempotencyKey(*key);
  }
  return 0;
}
