#include "sip/message.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "sip/sdp.hpp"
#include "sip/syntax.hpp"

namespace portline::sip {
namespace {

using syntax::Cursor;
using syntax::IEquals;

struct NameEntry {
  std::string_view name;
  HeaderId id;
};

// Full names, then compact forms (RFC 3261 §7.3.3 and the extensions that define one).
constexpr std::array kNames{
    NameEntry{"Accept", HeaderId::kAccept},
    NameEntry{"Accept-Contact", HeaderId::kAcceptContact},
    NameEntry{"Accept-Encoding", HeaderId::kAcceptEncoding},
    NameEntry{"Accept-Language", HeaderId::kAcceptLanguage},
    NameEntry{"Allow", HeaderId::kAllow},
    NameEntry{"Allow-Events", HeaderId::kAllowEvents},
    NameEntry{"Authorization", HeaderId::kAuthorization},
    NameEntry{"Call-ID", HeaderId::kCallId},
    NameEntry{"Contact", HeaderId::kContact},
    NameEntry{"Content-Disposition", HeaderId::kContentDisposition},
    NameEntry{"Content-Encoding", HeaderId::kContentEncoding},
    NameEntry{"Content-Length", HeaderId::kContentLength},
    NameEntry{"Content-Type", HeaderId::kContentType},
    NameEntry{"CSeq", HeaderId::kCSeq},
    NameEntry{"Date", HeaderId::kDate},
    NameEntry{"Event", HeaderId::kEvent},
    NameEntry{"Expires", HeaderId::kExpires},
    NameEntry{"From", HeaderId::kFrom},
    NameEntry{"Identity", HeaderId::kIdentity},
    NameEntry{"Max-Forwards", HeaderId::kMaxForwards},
    NameEntry{"Min-Expires", HeaderId::kMinExpires},
    NameEntry{"Proxy-Authenticate", HeaderId::kProxyAuthenticate},
    NameEntry{"Proxy-Authorization", HeaderId::kProxyAuthorization},
    NameEntry{"Proxy-Require", HeaderId::kProxyRequire},
    NameEntry{"Record-Route", HeaderId::kRecordRoute},
    NameEntry{"Refer-To", HeaderId::kReferTo},
    NameEntry{"Referred-By", HeaderId::kReferredBy},
    NameEntry{"Reject-Contact", HeaderId::kRejectContact},
    NameEntry{"Request-Disposition", HeaderId::kRequestDisposition},
    NameEntry{"Require", HeaderId::kRequire},
    NameEntry{"Retry-After", HeaderId::kRetryAfter},
    NameEntry{"Route", HeaderId::kRoute},
    NameEntry{"Server", HeaderId::kServer},
    NameEntry{"Session-Expires", HeaderId::kSessionExpires},
    NameEntry{"Subject", HeaderId::kSubject},
    NameEntry{"Supported", HeaderId::kSupported},
    NameEntry{"Timestamp", HeaderId::kTimestamp},
    NameEntry{"To", HeaderId::kTo},
    NameEntry{"Unsupported", HeaderId::kUnsupported},
    NameEntry{"User-Agent", HeaderId::kUserAgent},
    NameEntry{"Via", HeaderId::kVia},
    NameEntry{"Warning", HeaderId::kWarning},
    NameEntry{"WWW-Authenticate", HeaderId::kWwwAuthenticate},
};

constexpr HeaderId Compact(char c) {
  switch (syntax::Lower(c)) {
    case 'a':
      return HeaderId::kAcceptContact;
    case 'b':
      return HeaderId::kReferredBy;
    case 'c':
      return HeaderId::kContentType;
    case 'd':
      return HeaderId::kRequestDisposition;
    case 'e':
      return HeaderId::kContentEncoding;
    case 'f':
      return HeaderId::kFrom;
    case 'i':
      return HeaderId::kCallId;
    case 'j':
      return HeaderId::kRejectContact;
    case 'k':
      return HeaderId::kSupported;
    case 'l':
      return HeaderId::kContentLength;
    case 'm':
      return HeaderId::kContact;
    case 'o':
      return HeaderId::kEvent;
    case 'r':
      return HeaderId::kReferTo;
    case 's':
      return HeaderId::kSubject;
    case 't':
      return HeaderId::kTo;
    case 'u':
      return HeaderId::kAllowEvents;
    case 'v':
      return HeaderId::kVia;
    case 'x':
      return HeaderId::kSessionExpires;
    case 'y':
      return HeaderId::kIdentity;
    default:
      return HeaderId::kOther;
  }
}

// Names bucketed by lower-case first letter, built once at compile time.
struct Buckets {
  std::array<std::array<std::uint8_t, 12>, 26> index{};
  std::array<std::uint8_t, 26> count{};
};
constexpr Buckets MakeBuckets() {
  Buckets b{};
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    const auto letter = static_cast<std::size_t>(syntax::Lower(kNames[i].name[0]) - 'a');
    b.index[letter][b.count[letter]++] = static_cast<std::uint8_t>(i);
  }
  return b;
}
constexpr Buckets kBuckets = MakeBuckets();

// ---- parameters ------------------------------------------------------------------------------

constexpr bool IsGenValueChar(char c) {
  return syntax::IsToken(c) || c == '[' || c == ']' || c == ':';
}

// Scans *(SEMI generic-param) from the cursor. On a problem returns false and sets `problem`.
bool ScanParams(Cursor& c, std::string& problem) {
  while (true) {
    const std::size_t save = c.Pos();
    if (!c.Separator(';')) {
      c.Seek(save);
      return true;
    }
    const std::string_view name = c.Token();
    if (name.empty()) {
      problem = "empty parameter (stray ';')";
      return false;
    }
    const std::size_t before_eq = c.Pos();
    if (c.Separator('=')) {
      if (c.Peek() == '"') {
        bool ok = false;
        (void)c.Quoted(ok);
        if (!ok) {
          problem = "unterminated quoted value of parameter '" + std::string(name) + "'";
          return false;
        }
      } else {
        const std::size_t start = c.Pos();
        while (!c.Done() && IsGenValueChar(c.Peek())) {
          c.Advance();
        }
        if (c.Pos() == start) {
          problem = "parameter '" + std::string(name) + "' has '=' but no value";
          return false;
        }
      }
    } else {
      c.Seek(before_eq);
    }
  }
}

std::string_view Trim(std::string_view s) {
  Cursor c(s);
  c.SkipLws();
  s = c.Rest();
  while (!s.empty() && (syntax::IsWsp(s.back()) || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

tl::unexpected<Error> Bad(std::string message) {
  return Fail(Errc::kInvalidArgument, std::move(message));
}

bool IsVersion(std::string_view v) {
  if (v.size() < 7 || !IEquals(v.substr(0, 4), "SIP/")) {
    return false;
  }
  const std::string_view rest = v.substr(4);
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size()) {
    return false;
  }
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (i != dot && !syntax::IsDigit(rest[i])) {
      return false;
    }
  }
  return true;
}

// Reads a host[:port] (sent-by) at the cursor.
bool ScanHostPort(Cursor& c, std::string_view& host, bool& ipv6, std::optional<std::uint16_t>& port,
                  std::string& problem) {
  const std::size_t start = c.Pos();
  if (c.Peek() == '[') {
    while (!c.Done() && c.Peek() != ']') {
      c.Advance();
    }
    if (!c.Consume(']')) {
      problem = "unterminated IPv6 reference";
      return false;
    }
  } else {
    while (!c.Done() && (syntax::Is(c.Peek(), syntax::kHostChar) || c.Peek() == '_')) {
      c.Advance();
    }
  }
  const std::string_view text = c.Text().substr(start, c.Pos() - start);
  if (text.empty() || !ParseHost(text, host, ipv6)) {
    problem = text.empty() ? "missing host" : "invalid host '" + std::string(text) + "'";
    return false;
  }
  if (c.Separator(':')) {
    const std::string_view digits = c.Span(syntax::kDigit);
    std::uint64_t v = 0;
    if (!syntax::ParseUnsigned(digits, 65535, v)) {
      problem = "port must be a number from 0 to 65535";
      return false;
    }
    port = static_cast<std::uint16_t>(v);
  }
  return true;
}

bool IsWordString(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!syntax::Is(c, syntax::kWord)) {
      return false;
    }
  }
  return true;
}

}  // namespace

HeaderId LookupHeader(std::string_view name) noexcept {
  if (name.empty()) {
    return HeaderId::kOther;
  }
  if (name.size() == 1) {
    return Compact(name[0]);
  }
  const char first = syntax::Lower(name[0]);
  if (first < 'a' || first > 'z') {
    return HeaderId::kOther;
  }
  const auto letter = static_cast<std::size_t>(first - 'a');
  for (std::uint8_t i = 0; i < kBuckets.count[letter]; ++i) {
    const NameEntry& e = kNames[kBuckets.index[letter][i]];
    if (IEquals(e.name, name)) {
      return e.id;
    }
  }
  return HeaderId::kOther;
}

std::string_view HeaderName(HeaderId id) noexcept {
  for (const NameEntry& e : kNames) {
    if (e.id == id) {
      return e.name;
    }
  }
  return {};
}

std::optional<std::string_view> Params::Get(std::string_view name) const {
  Cursor c(text);
  while (c.Separator(';')) {
    const std::string_view n = c.Token();
    if (n.empty()) {
      return std::nullopt;
    }
    std::string_view value;
    bool has_value = false;
    const std::size_t before_eq = c.Pos();
    if (c.Separator('=')) {
      has_value = true;
      if (c.Peek() == '"') {
        bool ok = false;
        value = c.Quoted(ok);
      } else {
        const std::size_t start = c.Pos();
        while (!c.Done() && IsGenValueChar(c.Peek())) {
          c.Advance();
        }
        value = text.substr(start, c.Pos() - start);
      }
    } else {
      c.Seek(before_eq);
    }
    if (IEquals(n, name)) {
      return has_value ? value : std::string_view{};
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> AuthHeader::Get(std::string_view name) const {
  for (std::string_view item : SplitList(params)) {
    Cursor c(item);
    const std::string_view n = c.Token();
    if (!c.Separator('=') || !IEquals(n, name)) {
      continue;
    }
    if (c.Peek() == '"') {
      bool ok = false;
      return c.Quoted(ok);
    }
    return Trim(c.Rest());
  }
  return std::nullopt;
}

std::vector<std::string_view> SplitList(std::string_view value) {
  std::vector<std::string_view> out;
  bool quoted = false;
  bool angle = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      angle = true;
    } else if (c == '>') {
      angle = false;
    } else if (c == ',' && !angle) {
      out.push_back(Trim(value.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(Trim(value.substr(start)));
  return out;
}

Result<Via> ParseVia(std::string_view element) {
  Via via;
  Cursor c(element);
  c.SkipLws();
  via.protocol = c.Token();
  if (via.protocol.empty() || !c.Separator('/')) {
    return Bad("expected 'SIP/2.0/<transport>'");
  }
  via.version = c.Token();
  if (via.version.empty() || !c.Separator('/')) {
    return Bad("expected 'SIP/2.0/<transport>'");
  }
  via.transport = c.Token();
  if (via.transport.empty()) {
    return Bad("missing transport after 'SIP/2.0/'");
  }
  if (!c.SkipLws()) {
    return Bad("expected white space before the sent-by host");
  }
  std::string problem;
  if (!ScanHostPort(c, via.host, via.host_ipv6, via.port, problem)) {
    return Bad(problem);
  }
  const std::size_t params_start = c.Pos();
  if (!ScanParams(c, problem)) {
    return Bad(problem);
  }
  via.params.text = element.substr(params_start, c.Pos() - params_start);
  c.SkipLws();
  if (!c.Done()) {
    return Bad("unexpected '" + std::string(c.Rest().substr(0, 20)) + "' after the parameters");
  }
  if (auto ttl = via.params.Get("ttl")) {
    std::uint64_t v = 0;
    if (!syntax::ParseUnsigned(*ttl, 255, v)) {
      return Bad("ttl must be 0 to 255");
    }
  }
  if (auto received = via.params.Get("received"); received && !IsIpAddress(*received)) {
    return Bad("received must be an IP address");
  }
  return via;
}

Result<std::vector<Via>> ParseVias(std::string_view value) {
  std::vector<Via> out;
  for (std::string_view e : SplitList(value)) {
    if (e.empty()) {
      return Bad("empty Via element (stray ',')");
    }
    PORTLINE_ASSIGN_OR_RETURN(Via v, ParseVia(e));
    out.push_back(v);
  }
  return out;
}

Result<NameAddr> ParseNameAddr(std::string_view element) {
  NameAddr na;
  Cursor c(element);
  c.SkipLws();
  if (c.Peek() == '"') {
    bool ok = false;
    na.display_name = c.Quoted(ok);
    if (!ok) {
      return Bad("unterminated quoted string in the display name");
    }
    na.quoted = true;
    c.SkipLws();
    if (c.Peek() != '<') {
      return Bad("a quoted display name must be followed by <URI>");
    }
  } else if (element.find('<') != std::string_view::npos) {
    // display-name = *(token LWS) before '<'.
    const std::size_t start = c.Pos();
    while (!c.Done() && c.Peek() != '<') {
      if (!c.Token().empty()) {
        continue;
      }
      if (!c.SkipLws()) {
        const char bad = c.Peek();
        return Bad(std::string("character '") + bad +
                   "' in an unquoted display name (quote the display name)");
      }
    }
    na.display_name = Trim(element.substr(start, c.Pos() - start));
  }
  if (c.Consume('<')) {
    na.angle = true;
    const std::size_t close = element.find('>', c.Pos());
    if (close == std::string_view::npos) {
      return Bad("missing '>' after the URI");
    }
    const std::string_view inner = element.substr(c.Pos(), close - c.Pos());
    if (!inner.empty() && (syntax::IsWsp(inner.front()) || syntax::IsWsp(inner.back()))) {
      return Bad("white space inside <> around the URI");
    }
    PORTLINE_ASSIGN_OR_RETURN(na.uri, ParseUri(inner));
    c.Seek(close + 1);
  } else {
    // addr-spec: the URI ends at ';' or white space; it may not hold ',', '?' or ';'.
    const std::size_t start = c.Pos();
    while (!c.Done() && c.Peek() != ';' && !syntax::IsWsp(c.Peek()) && c.Peek() != '\r') {
      c.Advance();
    }
    const std::string_view text = element.substr(start, c.Pos() - start);
    if (text.empty()) {
      return Bad("missing URI");
    }
    if (text.find_first_of("?,") != std::string_view::npos) {
      return Bad("a URI containing '?' or ',' must be enclosed in <> (RFC 3261 §20)");
    }
    PORTLINE_ASSIGN_OR_RETURN(na.uri, ParseUri(text));
  }
  const std::size_t params_start = c.Pos();
  std::string problem;
  if (!ScanParams(c, problem)) {
    return Bad(problem);
  }
  na.params.text = element.substr(params_start, c.Pos() - params_start);
  c.SkipLws();
  if (!c.Done()) {
    return Bad("unexpected '" + std::string(c.Rest().substr(0, 20)) + "' after the address");
  }
  return na;
}

Result<sip::CSeq> ParseCSeq(std::string_view value) {
  Cursor c(value);
  c.SkipLws();
  const std::string_view digits = c.Span(syntax::kDigit);
  std::uint64_t n = 0;
  if (digits.empty()) {
    return Bad("CSeq must start with a sequence number");
  }
  if (!syntax::ParseUnsigned(digits, 0xffffffffULL, n)) {
    return Bad("CSeq number " + std::string(digits) + " does not fit in 32 bits");
  }
  if (!c.SkipLws()) {
    return Bad("expected white space between the CSeq number and the method");
  }
  sip::CSeq out;
  out.number = static_cast<std::uint32_t>(n);
  out.method = c.Token();
  c.SkipLws();
  if (out.method.empty() || !c.Done()) {
    return Bad("CSeq method must be one token");
  }
  return out;
}

Result<AuthHeader> ParseAuth(std::string_view value) {
  AuthHeader out;
  Cursor c(value);
  c.SkipLws();
  out.scheme = c.Token();
  if (out.scheme.empty()) {
    return Bad("missing authentication scheme");
  }
  c.SkipLws();
  out.params = c.Rest();
  if (out.params.empty()) {
    return out;
  }
  for (std::string_view item : SplitList(out.params)) {
    Cursor p(item);
    const std::string_view name = p.Token();
    if (name.empty() || !p.Separator('=')) {
      return Bad("authentication parameters must be name=value pairs");
    }
    if (p.Peek() == '"') {
      bool ok = false;
      (void)p.Quoted(ok);
      if (!ok) {
        return Bad("unterminated quoted value of '" + std::string(name) + "'");
      }
    } else if (p.Token().empty()) {
      return Bad("parameter '" + std::string(name) + "' has no value");
    }
    p.SkipLws();
    if (!p.Done()) {
      return Bad("unexpected text after parameter '" + std::string(name) + "'");
    }
  }
  return out;
}

// ---- Message ---------------------------------------------------------------------------------

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

// ---- Validate --------------------------------------------------------------------------------

namespace {

class Checker {
 public:
  explicit Checker(const Message& m) : m_(m) {}

  void Add(std::string where, std::string what, int status = 400) {
    problems_.push_back(Problem{std::move(where), std::move(what), status});
  }
  void AddHeader(const Header& h, std::string what, int status = 400) {
    Add(std::string(h.name) + " (line " + std::to_string(h.line) + ")", std::move(what), status);
    problems_.back().line = h.line;
  }
  std::vector<Problem> Take() {
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    return std::move(problems_);
  }

  int Count(HeaderId id) const {
    int n = 0;
    for (const Header& h : m_.Headers()) {
      n += h.id == id ? 1 : 0;
    }
    return n;
  }

  void Core() {
    if (!IEquals(m_.Version(), "SIP/2.0")) {
      Add("start line", "unsupported SIP version '" + std::string(m_.Version()) + "'", 505);
    }
    if (m_.IsRequest()) {
      auto uri = ParseUri(m_.RequestUri());
      if (!uri) {
        Add("Request-URI", uri.error().message);
      } else if (uri->scheme == Scheme::kOther) {
        Add("Request-URI", "unsupported URI scheme '" + std::string(uri->scheme_text) + "'", 416);
      } else if (!uri->headers.empty()) {
        Add("Request-URI", "the Request-URI must not contain headers ('?')");
      }
    }
    const HeaderId required[] = {HeaderId::kVia, HeaderId::kFrom, HeaderId::kTo, HeaderId::kCallId,
                                 HeaderId::kCSeq};
    for (HeaderId id : required) {
      if (Count(id) == 0) {
        Add(std::string(HeaderName(id)), "missing required header");
      }
    }
    const HeaderId single[] = {HeaderId::kFrom, HeaderId::kTo, HeaderId::kCallId, HeaderId::kCSeq,
                               HeaderId::kMaxForwards};
    for (HeaderId id : single) {
      if (Count(id) > 1) {
        Add(std::string(HeaderName(id)), "appears more than once");
      }
    }
    std::optional<std::string_view> content_length;
    for (const Header& h : m_.Headers()) {
      switch (h.id) {
        case HeaderId::kVia: {
          auto vias = ParseVias(h.value);
          if (!vias) {
            AddHeader(h, vias.error().message);
          } else {
            for (const Via& v : *vias) {
              if (!IEquals(v.protocol, "SIP") || v.version != "2.0") {
                AddHeader(h,
                          "unsupported protocol '" + std::string(v.protocol) + "/" +
                              std::string(v.version) + "'",
                          505);
              }
            }
          }
          break;
        }
        case HeaderId::kCSeq: {
          auto cseq = ParseCSeq(h.value);
          if (!cseq) {
            AddHeader(h, cseq.error().message);
          } else if (m_.IsRequest() && cseq->method != m_.Method()) {
            AddHeader(h, "CSeq method '" + std::string(cseq->method) +
                             "' does not match the request method '" + std::string(m_.Method()) +
                             "'");
          }
          break;
        }
        case HeaderId::kFrom:
        case HeaderId::kTo: {
          auto na = ParseNameAddr(h.value);
          if (!na) {
            AddHeader(h, na.error().message);
          }
          break;
        }
        case HeaderId::kCallId: {
          const std::size_t at = h.value.find('@');
          const bool ok = at == std::string_view::npos ? IsWordString(h.value)
                                                       : IsWordString(h.value.substr(0, at)) &&
                                                             IsWordString(h.value.substr(at + 1));
          if (!ok) {
            AddHeader(h, "Call-ID must be word[@word]");
          }
          break;
        }
        case HeaderId::kMaxForwards: {
          std::uint64_t v = 0;
          if (!syntax::ParseUnsigned(h.value, 255, v)) {
            AddHeader(h, "Max-Forwards must be an integer from 0 to 255");
          }
          break;
        }
        case HeaderId::kContentLength:
          if (content_length && *content_length != h.value) {
            AddHeader(h, "more than one Content-Length value");
          }
          content_length = h.value;
          break;
        case HeaderId::kContact:
          Contact(h);
          break;
        default:
          break;
      }
    }
  }

  void Contact(const Header& h) {
    if (Trim(h.value) == "*") {
      return;
    }
    for (std::string_view e : SplitList(h.value)) {
      if (e.empty()) {
        AddHeader(h, "empty Contact element (stray ',')");
        continue;
      }
      auto na = ParseNameAddr(e);
      if (!na) {
        AddHeader(h, na.error().message);
        continue;
      }
      if (auto exp = na->params.Get("expires")) {
        std::uint64_t v = 0;
        if (!syntax::ParseUnsigned(*exp, 0xffffffffULL, v)) {
          AddHeader(h, "Contact expires must be delta-seconds below 2^32");
        }
      }
    }
  }

  void Full() {
    for (const Header& h : m_.Headers()) {
      switch (h.id) {
        case HeaderId::kRoute:
        case HeaderId::kRecordRoute:
          for (std::string_view e : SplitList(h.value)) {
            auto na = e.empty() ? Bad("empty element (stray ',')") : ParseNameAddr(e);
            if (!na) {
              AddHeader(h, na.error().message);
            } else if (!na->angle) {
              AddHeader(h, "route entries must be enclosed in <>");
            }
          }
          break;
        case HeaderId::kExpires:
        case HeaderId::kMinExpires: {
          std::uint64_t v = 0;
          if (!syntax::ParseUnsigned(h.value, 0xffffffffULL, v)) {
            AddHeader(h, "must be delta-seconds below 2^32");
          }
          break;
        }
        case HeaderId::kRetryAfter: {
          Cursor c(h.value);
          const std::string_view digits = c.Span(syntax::kDigit);
          std::uint64_t v = 0;
          if (!syntax::ParseUnsigned(digits, 0xffffffffULL, v)) {
            AddHeader(h, "Retry-After must be delta-seconds below 2^32");
          }
          break;
        }
        case HeaderId::kDate:
          if (!ValidDate(h.value)) {
            AddHeader(h,
                      "Date must be an RFC 1123 date in GMT, e.g. 'Sat, 13 Nov 2010 23:29:00 GMT'");
          }
          break;
        case HeaderId::kWarning:
          for (std::string_view e : SplitList(h.value)) {
            Cursor c(e);
            const std::string_view code = c.Span(syntax::kDigit);
            if (code.size() != 3 || c.Peek() != ' ') {
              AddHeader(h, "Warning must start with a three-digit code");
              break;
            }
          }
          break;
        case HeaderId::kAuthorization:
        case HeaderId::kProxyAuthorization:
        case HeaderId::kWwwAuthenticate:
        case HeaderId::kProxyAuthenticate: {
          auto a = ParseAuth(h.value);
          if (!a) {
            AddHeader(h, a.error().message);
          }
          break;
        }
        case HeaderId::kAllow:
        case HeaderId::kSupported:
        case HeaderId::kRequire:
        case HeaderId::kProxyRequire:
        case HeaderId::kUnsupported:
          if (h.value.empty() && h.id != HeaderId::kSupported && h.id != HeaderId::kAllow) {
            AddHeader(h, "must list at least one token");
            break;
          }
          if (!h.value.empty()) {
            for (std::string_view e : SplitList(h.value)) {
              if (!syntax::IsTokenString(e)) {
                AddHeader(h, "'" + std::string(e.substr(0, 32)) + "' is not a token");
                break;
              }
            }
          }
          break;
        case HeaderId::kContentType: {
          Cursor c(h.value);
          const std::string_view type = c.Token();
          if (type.empty() || !c.Separator('/') || c.Token().empty()) {
            AddHeader(h, "Content-Type must be type/subtype");
          }
          break;
        }
        default:
          break;
      }
    }
    const std::string_view ct = m_.Get(HeaderId::kContentType);
    if (!m_.Body().empty() && ct.size() >= 15 && IEquals(ct.substr(0, 15), "application/sdp")) {
      auto sdp = ParseSdp(m_.Body());
      if (!sdp) {
        Add("body", sdp.error().message);
      }
    }
  }

  static bool ValidDate(std::string_view v) {
    // wkday "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"
    static constexpr std::array<std::string_view, 7> kDays{"Mon", "Tue", "Wed", "Thu",
                                                           "Fri", "Sat", "Sun"};
    static constexpr std::array<std::string_view, 12> kMonths{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (v.size() != 29) {
      return false;
    }
    auto digits = [&v](std::size_t at, std::size_t n) {
      for (std::size_t i = at; i < at + n; ++i) {
        if (!syntax::IsDigit(v[i])) {
          return false;
        }
      }
      return true;
    };
    bool day = false;
    for (auto d : kDays) {
      day = day || v.substr(0, 3) == d;
    }
    bool month = false;
    for (auto mo : kMonths) {
      month = month || v.substr(8, 3) == mo;
    }
    return day && month && v.substr(3, 2) == ", " && digits(5, 2) && v[7] == ' ' && v[11] == ' ' &&
           digits(12, 4) && v[16] == ' ' && digits(17, 2) && v[19] == ':' && digits(20, 2) &&
           v[22] == ':' && digits(23, 2) && v.substr(25) == " GMT";
  }

 private:
  const Message& m_;
  std::vector<Problem> problems_;
};

}  // namespace

std::vector<Problem> Validate(const Message& message, Depth depth) {
  Checker c(message);
  c.Core();
  if (depth == Depth::kFull) {
    c.Full();
  }
  return c.Take();
}

// ---- Writer ----------------------------------------------------------------------------------

Writer& Writer::RequestLine(std::string_view method, std::string_view uri) {
  out_.append(method).append(" ").append(uri).append(" SIP/2.0\r\n");
  return *this;
}

Writer& Writer::StatusLine(int code, std::string_view reason) {
  out_.append("SIP/2.0 ").append(std::to_string(code)).append(" ").append(reason).append("\r\n");
  return *this;
}

Writer& Writer::Add(std::string_view name, std::string_view value) {
  out_.append(name).append(": ").append(value).append("\r\n");
  return *this;
}

Writer& Writer::AddIf(std::string_view name, std::string_view value) {
  return value.empty() ? *this : Add(name, value);
}

std::string Writer::Finish(std::string_view body, std::string_view content_type) {
  if (!body.empty() && !content_type.empty()) {
    Add("Content-Type", content_type);
  }
  Add("Content-Length", std::to_string(body.size()));
  out_.append("\r\n").append(body);
  return std::move(out_);
}

Writer MakeResponse(const Message& request, int code, std::string_view reason,
                    std::string_view to_tag) {
  Writer w;
  w.StatusLine(code, reason.empty() ? ReasonPhrase(code) : reason);
  for (const Header& h : request.Headers()) {
    if (h.id == HeaderId::kVia) {
      w.Add("Via", h.value);
    }
  }
  w.Add("From", request.Get(HeaderId::kFrom));
  const std::string_view to = request.Get(HeaderId::kTo);
  auto parsed = ParseNameAddr(to);
  if (!to_tag.empty() && code != 100 && parsed && parsed->Tag().empty()) {
    w.Add("To", std::string(to) + ";tag=" + std::string(to_tag));
  } else {
    w.Add("To", to);
  }
  w.Add("Call-ID", request.CallId());
  w.Add("CSeq", request.Get(HeaderId::kCSeq));
  return w;
}

std::string_view ReasonPhrase(int code) noexcept {
  switch (code) {
    case 100:
      return "Trying";
    case 180:
      return "Ringing";
    case 181:
      return "Call Is Being Forwarded";
    case 182:
      return "Queued";
    case 183:
      return "Session Progress";
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Moved Temporarily";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 413:
      return "Request Entity Too Large";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Unsupported URI Scheme";
    case 420:
      return "Bad Extension";
    case 480:
      return "Temporarily Unavailable";
    case 481:
      return "Call/Transaction Does Not Exist";
    case 482:
      return "Loop Detected";
    case 483:
      return "Too Many Hops";
    case 486:
      return "Busy Here";
    case 487:
      return "Request Terminated";
    case 488:
      return "Not Acceptable Here";
    case 500:
      return "Server Internal Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Server Time-out";
    case 505:
      return "Version Not Supported";
    case 513:
      return "Message Too Large";
    case 600:
      return "Busy Everywhere";
    case 603:
      return "Decline";
    default:
      return "";
  }
}

}  // namespace portline::sip
