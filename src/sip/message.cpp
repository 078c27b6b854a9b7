// A SIP message: the lazy parser (start line, header lines, framing by Content-Length),
// header access, and framing of a stream.
#include "sip/message.hpp"

#include <algorithm>

#include "sip/message_internal.hpp"
#include "sip/syntax.hpp"

namespace portline::sip {

using detail::Bad;
using detail::IsVersion;
using detail::Trim;
using syntax::IEquals;

const Header* Message::Find(HeaderId id) const {
  for (const Header& h : headers_) {
    if (h.id == id) {
      return &h;
    }
  }
  return nullptr;
}

const Header* Message::Find(std::string_view name) const {
  const HeaderId id = LookupHeader(name);
  if (id != HeaderId::kOther) {
    return Find(id);
  }
  for (const Header& h : headers_) {
    if (h.id == HeaderId::kOther && IEquals(h.name, name)) {
      return &h;
    }
  }
  return nullptr;
}

std::string_view Message::Get(HeaderId id) const {
  const Header* h = Find(id);
  return h == nullptr ? std::string_view{} : h->value;
}

std::vector<std::string_view> Message::Values(HeaderId id) const {
  std::vector<std::string_view> out;
  for (const Header& h : headers_) {
    if (h.id == id) {
      for (std::string_view v : SplitList(h.value)) {
        out.push_back(v);
      }
    }
  }
  return out;
}

Result<Via> Message::TopVia() const {
  const Header* h = Find(HeaderId::kVia);
  if (h == nullptr) {
    return Bad("missing Via");
  }
  // The first element ends at the first top-level comma; Via has no quoted strings before it
  // in practice, but SplitList is exact.
  const std::size_t comma = h->value.find(',');
  if (comma == std::string_view::npos) {
    return ParseVia(h->value);
  }
  return ParseVia(SplitList(h->value).front());
}

Result<sip::CSeq> Message::CSeq() const {
  const Header* h = Find(HeaderId::kCSeq);
  if (h == nullptr) {
    return Bad("missing CSeq");
  }
  return ParseCSeq(h->value);
}

Result<NameAddr> Message::From() const {
  const Header* h = Find(HeaderId::kFrom);
  if (h == nullptr) {
    return Bad("missing From");
  }
  return ParseNameAddr(h->value);
}

Result<NameAddr> Message::To() const {
  const Header* h = Find(HeaderId::kTo);
  if (h == nullptr) {
    return Bad("missing To");
  }
  return ParseNameAddr(h->value);
}

Result<Message> ParseMessage(std::string_view data, Framing framing) {
  Message m;
  std::size_t pos = 0;
  while (pos + 1 < data.size() && data[pos] == '\r' && data[pos + 1] == '\n') {
    pos += 2;  // RFC 3261 §7.5: ignore CRLF before the start line
  }
  const std::size_t begin = pos;
  auto line_end = [&data](std::size_t from, std::size_t& next) -> std::size_t {
    const std::size_t lf = data.find('\n', from);
    if (lf == std::string_view::npos) {
      next = std::string_view::npos;
      return std::string_view::npos;
    }
    next = lf + 1;
    return (lf > from && data[lf - 1] == '\r') ? lf - 1 : lf;
  };
  std::size_t next = 0;
  const std::size_t sl_end = line_end(pos, next);
  if (sl_end == std::string_view::npos) {
    return Bad("line 1: no complete start line");
  }
  const std::string_view start = data.substr(pos, sl_end - pos);
  if (start.empty()) {
    return Bad("line 1: empty start line");
  }
  if (start.size() > 4 && IEquals(start.substr(0, 4), "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    const std::size_t sp1 = start.find(' ');
    if (sp1 == std::string_view::npos) {
      return Bad("line 1: status line needs a status code");
    }
    m.version_ = start.substr(0, sp1);
    const std::size_t sp2 = start.find(' ', sp1 + 1);
    const std::string_view code = start.substr(
        sp1 + 1, sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp1 - 1);
    std::uint64_t v = 0;
    if (code.size() != 3 || !syntax::ParseUnsigned(code, 699, v) || v < 100) {
      return Bad("line 1: status code '" + std::string(code.substr(0, 16)) +
                 "' is not three digits from 100 to 699");
    }
    m.status_ = static_cast<int>(v);
    m.reason_ = sp2 == std::string_view::npos ? std::string_view{} : start.substr(sp2 + 1);
    if (!IsVersion(m.version_)) {
      return Bad("line 1: malformed SIP version '" + std::string(m.version_) + "'");
    }
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version (single spaces, nothing after)
    m.is_request_ = true;
    const std::size_t sp1 = start.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : start.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) {
      return Bad("line 1: request line must be 'METHOD Request-URI SIP/2.0'");
    }
    m.method_ = start.substr(0, sp1);
    m.request_uri_ = start.substr(sp1 + 1, sp2 - sp1 - 1);
    m.version_ = start.substr(sp2 + 1);
    if (!syntax::IsTokenString(m.method_)) {
      return Bad("line 1: method '" + std::string(m.method_.substr(0, 32)) + "' is not a token");
    }
    if (m.request_uri_.empty()) {
      return Bad("line 1: more than one space between the method and the Request-URI");
    }
    if (m.version_.find(' ') != std::string_view::npos ||
        m.version_.find('\t') != std::string_view::npos) {
      return Bad(m.version_.back() == ' ' || m.version_.back() == '\t'
                     ? "line 1: white space after the SIP version"
                     : "line 1: white space inside the Request-URI or extra spaces in the "
                       "request line");
    }
    if (!IsVersion(m.version_)) {
      return Bad("line 1: malformed SIP version '" + std::string(m.version_.substr(0, 32)) + "'");
    }
  }

  // Header lines until the empty line.
  std::uint32_t line = 1;
  pos = next;
  bool ended = false;
  while (pos < data.size()) {
    ++line;
    const std::size_t end = line_end(pos, next);
    if (end == std::string_view::npos) {
      return Bad("line " + std::to_string(line) + ": header section is not terminated");
    }
    if (end == pos) {
      ended = true;
      pos = next;
      break;
    }
    if (syntax::IsWsp(data[pos])) {
      if (m.headers_.empty()) {
        return Bad("line " + std::to_string(line) + ": continuation line before any header");
      }
      Header& h = m.headers_.back();
      const auto value_start = static_cast<std::size_t>(h.value.data() - data.data());
      std::string_view extended = data.substr(value_start, end - value_start);
      if (h.value.empty()) {
        extended = Trim(data.substr(pos, end - pos));
      }
      h.value = Trim(extended);
      pos = next;
      continue;
    }
    const std::string_view text = data.substr(pos, end - pos);
    std::size_t name_end = 0;
    while (name_end < text.size() && syntax::IsToken(text[name_end])) {
      ++name_end;
    }
    std::size_t colon = name_end;
    while (colon < text.size() && syntax::IsWsp(text[colon])) {
      ++colon;
    }
    if (name_end == 0 || colon >= text.size() || text[colon] != ':') {
      return Bad("line " + std::to_string(line) + ": expected 'Name: value', got '" +
                 std::string(text.substr(0, 40)) + "'");
    }
    Header h;
    h.name = text.substr(0, name_end);
    h.id = LookupHeader(h.name);
    std::size_t vs = colon + 1;
    while (vs < text.size() && syntax::IsWsp(text[vs])) {
      ++vs;
    }
    h.value = text.substr(vs);
    while (!h.value.empty() && syntax::IsWsp(h.value.back())) {
      h.value.remove_suffix(1);
    }
    if (h.value.empty()) {
      h.value = data.substr(pos + vs, 0);
    }
    h.line = line;
    m.headers_.push_back(h);
    pos = next;
  }
  if (!ended) {
    return Bad("line " + std::to_string(line) +
               ": header section is not terminated by an empty line");
  }

  const std::size_t available = data.size() - pos;
  const Header* cl = m.Find(HeaderId::kContentLength);
  std::size_t length = available;
  if (cl != nullptr) {
    std::uint64_t v = 0;
    if (!syntax::ParseUnsigned(cl->value, 0xffffffffULL, v)) {
      return Bad("line " + std::to_string(cl->line) + ": Content-Length '" +
                 std::string(cl->value.substr(0, 24)) + "' is not a non-negative integer");
    }
    if (v > available) {
      return Bad("line " + std::to_string(cl->line) + ": Content-Length " + std::to_string(v) +
                 " exceeds the " + std::to_string(available) + " bytes of body received");
    }
    length = static_cast<std::size_t>(v);
  } else if (framing == Framing::kStream) {
    return Bad("missing Content-Length (required on stream transports)");
  }
  m.body_ = data.substr(pos, length);
  m.raw_ = data.substr(begin, pos + length - begin);
  return m;
}

Result<std::size_t> FrameLength(std::string_view data, std::size_t max_header_bytes,
                                std::size_t max_body_bytes) {
  std::size_t pos = 0;
  while (pos + 1 < data.size() && data[pos] == '\r' && data[pos + 1] == '\n') {
    pos += 2;
  }
  if (pos == data.size()) {
    return pos;  // keep-alives only
  }
  const std::size_t end = data.find("\r\n\r\n", pos);
  if (end == std::string_view::npos) {
    if (data.size() - pos > max_header_bytes) {
      return Bad("header section larger than " + std::to_string(max_header_bytes) + " bytes");
    }
    return std::size_t{0};
  }
  if (end - pos > max_header_bytes) {
    return Bad("header section larger than " + std::to_string(max_header_bytes) + " bytes");
  }
  // Find Content-Length (or "l") at a line start.
  const std::string_view head = data.substr(pos, end - pos + 2);
  std::size_t line = head.find("\r\n");
  std::optional<std::uint64_t> length;
  while (line != std::string_view::npos && line + 2 < head.size()) {
    const std::size_t s = line + 2;
    std::size_t e = head.find("\r\n", s);
    const std::string_view text = head.substr(s, e - s);
    const std::size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = text.substr(0, colon);
      while (!name.empty() && syntax::IsWsp(name.back())) {
        name.remove_suffix(1);
      }
      if (LookupHeader(name) == HeaderId::kContentLength) {
        const std::string_view value = Trim(text.substr(colon + 1));
        std::uint64_t v = 0;
        if (!syntax::ParseUnsigned(value, 0xffffffffULL, v)) {
          return Bad("Content-Length is not a non-negative integer");
        }
        length = v;
        break;
      }
    }
    line = e;
  }
  if (!length) {
    return Bad("missing Content-Length (required on stream transports)");
  }
  if (*length > max_body_bytes) {
    return Bad("Content-Length " + std::to_string(*length) + " is over the limit of " +
               std::to_string(max_body_bytes));
  }
  const std::size_t total = end + 4 + static_cast<std::size_t>(*length);
  return data.size() >= total ? total : std::size_t{0};
}

}  // namespace portline::sip
