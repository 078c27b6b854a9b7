#include "webhooks/response.hpp"

#include <algorithm>
#include <charconv>

namespace portline::webhooks {
namespace {

// Trimmed and lower-cased (header names and the few values we look at are ASCII).
std::string Folded(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  std::string out(v);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') {
      ch = static_cast<char>(ch - 'A' + 'a');
    }
  }
  return out;
}

}  // namespace

Result<ResponseHead> ParseResponseHead(std::string_view head) {
  ResponseHead out;
  if (head.size() < 12 || head.substr(0, 7) != "HTTP/1." || (head[7] != '0' && head[7] != '1') ||
      head[8] != ' ') {
    return Fail(Errc::kInvalidArgument, "not an HTTP/1.x status line");
  }
  const std::string_view code = head.substr(9, 3);
  if (std::from_chars(code.data(), code.data() + 3, out.status).ptr != code.data() + 3 ||
      out.status < 100 || out.status > 999) {
    return Fail(Errc::kInvalidArgument, "bad status code");
  }
  bool keep_alive = head[7] == '1';
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = std::min(head.find("\r\n", start), head.size());
    const std::string_view line = head.substr(start, end - start);
    pos = end < head.size() ? end : std::string_view::npos;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Fail(Errc::kInvalidArgument, "bad header line");
    }
    const std::string name = Folded(line.substr(0, colon));
    const std::string value = Folded(line.substr(colon + 1));
    if (name == "content-length") {
      std::int64_t n = -1;
      if (std::from_chars(value.data(), value.data() + value.size(), n).ptr !=
              value.data() + value.size() ||
          n < 0 || (out.content_length >= 0 && out.content_length != n)) {
        return Fail(Errc::kInvalidArgument, "bad Content-Length");
      }
      out.content_length = n;
    } else if (name == "transfer-encoding") {
      out.chunked = value.find("chunked") != std::string::npos;
    } else if (name == "connection") {
      if (value.find("close") != std::string::npos) {
        keep_alive = false;
      } else if (value.find("keep-alive") != std::string::npos) {
        keep_alive = true;
      }
    }
  }
  out.close = !keep_alive;
  return out;
}

ChunkedBody DecodeChunked(std::string_view in, std::size_t max_body) {
  ChunkedBody out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      // A size line longer than any sane one will not become valid with more bytes.
      out.state = in.size() - pos > 1024 ? ChunkedState::kInvalid : ChunkedState::kNeedMore;
      return out;
    }
    std::size_t size = 0;
    const char* first = in.data() + pos;
    const auto [p, ec] = std::from_chars(first, in.data() + eol, size, 16);
    if (ec != std::errc() || p == first || (p != in.data() + eol && *p != ';') ||
        size > max_body - std::min(max_body, out.body.size())) {
      out.state = ChunkedState::kInvalid;
      return out;
    }
    if (size == 0) {
      // The last chunk: the (possibly empty) trailer section ends with a blank line.
      out.state = in.find("\r\n\r\n", eol) != std::string_view::npos ? ChunkedState::kComplete
                                                                     : ChunkedState::kNeedMore;
      return out;
    }
    if (in.size() - (eol + 2) < size + 2) {
      out.state = ChunkedState::kNeedMore;
      return out;
    }
    if (in.substr(eol + 2 + size, 2) != "\r\n") {
      out.state = ChunkedState::kInvalid;
      return out;
    }
    out.body.append(in.substr(eol + 2, size));
    pos = eol + 2 + size + 2;
  }
}

}  // namespace portline::webhooks
