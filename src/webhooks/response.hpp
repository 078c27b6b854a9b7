#pragma once

// The pure half of the webhook HTTP client: reading what a receiver answers. No I/O, fuzzed
// (tests/fuzz/webhook_response_fuzz.cpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace portline::webhooks {

/// What the client needs of a response head: the status and how the body is delimited.
struct ResponseHead {
  int status = 0;
  std::int64_t content_length = -1;  // -1 = not given
  bool chunked = false;
  bool close = false;  // Connection: close, or HTTP/1.0 without keep-alive
};
/// Parses a status line and headers (up to, not including, the blank line).
[[nodiscard]] Result<ResponseHead> ParseResponseHead(std::string_view head);

/// Where a chunked body (RFC 9112 §7.1) stands after decoding the bytes received so far.
enum class ChunkedState {
  kComplete,  // the last chunk and the trailer section's blank line arrived
  kNeedMore,  // well-formed so far; more bytes may finish it
  kInvalid,   // a bad chunk-size line, a chunk without its CRLF, or over the size limit
};
struct ChunkedBody {
  ChunkedState state = ChunkedState::kNeedMore;
  std::string body;  // the chunks' data so far (trailers ignored)
};
/// Decodes `in` (what followed the response head) as a chunked body of at most `max_body`
/// bytes. Chunk extensions are ignored.
[[nodiscard]] ChunkedBody DecodeChunked(std::string_view in, std::size_t max_body);

}  // namespace portline::webhooks
