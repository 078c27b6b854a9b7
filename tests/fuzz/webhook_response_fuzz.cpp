// libFuzzer target for what a webhook receiver answers: the response head, then the rest as a
// chunked body. The decoder must never return more than its limit, and what it calls complete
// must decode the same with any bytes appended.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "webhooks/response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::size_t end = bytes.find("\r\n\r\n");
  (void)portline::webhooks::ParseResponseHead(bytes.substr(0, end));
  const std::string_view rest = end == std::string_view::npos ? bytes : bytes.substr(end + 4);
  constexpr std::size_t kLimit = 4096;
  const auto out = portline::webhooks::DecodeChunked(rest, kLimit);
  if (out.body.size() > kLimit) {
    std::abort();
  }
  if (out.state == portline::webhooks::ChunkedState::kComplete) {
    const auto again = portline::webhooks::DecodeChunked(std::string(rest) + "junk", kLimit);
    if (again.state != out.state || again.body != out.body) {
      std::abort();
    }
  }
  return 0;
}
