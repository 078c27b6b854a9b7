#pragma once

// SIP messages (RFC 3261 §7, §20, §25): a zero-copy, lazy parser and a writer. Pure code.
//
// ParseMessage() checks the start line and the header framing and indexes every header line;
// it never interprets a header it is not asked about. The typed accessors (TopVia, CSeq, ...)
// parse one header on demand. Validate() interprets every header it knows and the message-level
// rules, and reports each problem with the response code an element should answer.
//
// Every view points into the caller's buffer, which must outlive the Message.

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "sip/uri.hpp"

namespace portline::sip {

enum class HeaderId : std::uint8_t {
  kOther,
  kAccept,
  kAcceptContact,
  kAcceptEncoding,
  kAcceptLanguage,
  kAllow,
  kAllowEvents,
  kAuthorization,
  kCallId,
  kContact,
  kContentDisposition,
  kContentEncoding,
  kContentLength,
  kContentType,
  kCSeq,
  kDate,
  kEvent,
  kExpires,
  kFrom,
  kIdentity,
  kMaxForwards,
  kMinExpires,
  kProxyAuthenticate,
  kProxyAuthorization,
  kProxyRequire,
  kRecordRoute,
  kReferTo,
  kReferredBy,
  kRejectContact,
  kRequestDisposition,
  kRequire,
  kRetryAfter,
  kRoute,
  kServer,
  kSessionExpires,
  kSubject,
  kSupported,
  kTimestamp,
  kTo,
  kUnsupported,
  kUserAgent,
  kVia,
  kWarning,
  kWwwAuthenticate,
};

/// Header id of a (full or compact, any case) header name; kOther when unknown.
[[nodiscard]] HeaderId LookupHeader(std::string_view name) noexcept;
/// Canonical spelling ("Call-ID", "WWW-Authenticate"); "" for kOther.
[[nodiscard]] std::string_view HeaderName(HeaderId id) noexcept;

struct Header {
  HeaderId id = HeaderId::kOther;
  std::string_view name;   // as written
  std::string_view value;  // trimmed, folds kept
  std::uint32_t line = 0;  // 1-based line of the header
};

/// `;name=value` parameters of Via, name-addr headers and others, as written. Lookup is
/// case-insensitive; a quoted value is returned without its quotes (escapes kept).
struct Params {
  std::string_view text;
  [[nodiscard]] std::optional<std::string_view> Get(std::string_view name) const;
  [[nodiscard]] bool Has(std::string_view name) const { return Get(name).has_value(); }
};

struct Via {
  std::string_view protocol;   // "SIP"
  std::string_view version;    // "2.0"
  std::string_view transport;  // "UDP", "TCP", "TLS", "SCTP", "WS"... as written
  std::string_view host;       // IPv6 without brackets
  bool host_ipv6 = false;
  std::optional<std::uint16_t> port;
  Params params;
  [[nodiscard]] std::string_view Branch() const { return params.Get("branch").value_or(""); }
};

struct NameAddr {
  std::string_view display_name;  // without quotes; escapes kept
  bool quoted = false;
  bool angle = false;  // the URI was in <>
  Uri uri;
  Params params;
  [[nodiscard]] std::string_view Tag() const { return params.Get("tag").value_or(""); }
};

struct CSeq {
  std::uint32_t number = 0;
  std::string_view method;
};

/// `Digest realm="x", nonce="y"` (WWW-Authenticate, Authorization, and the Proxy- forms).
struct AuthHeader {
  std::string_view scheme;
  std::string_view params;  // comma-separated auth-params as written
  /// A parameter's value, unquoted (escapes kept). Case-insensitive name.
  [[nodiscard]] std::optional<std::string_view> Get(std::string_view name) const;
};

enum class Framing : std::uint8_t {
  kDatagram,  // Content-Length optional; trailing octets after the body are ignored
  kStream,    // Content-Length required
};

class Message {
 public:
  [[nodiscard]] bool IsRequest() const { return is_request_; }
  [[nodiscard]] std::string_view Method() const { return method_; }
  [[nodiscard]] std::string_view RequestUri() const { return request_uri_; }
  [[nodiscard]] std::string_view Version() const { return version_; }
  [[nodiscard]] int Status() const { return status_; }
  [[nodiscard]] std::string_view Reason() const { return reason_; }
  [[nodiscard]] std::span<const Header> Headers() const {
    return {headers_.data(), headers_.size()};
  }
  [[nodiscard]] std::string_view Body() const { return body_; }
  /// The message's own bytes (start line to end of body).
  [[nodiscard]] std::string_view Raw() const { return raw_; }

  /// First header with this id, or nullptr.
  [[nodiscard]] const Header* Find(HeaderId id) const;
  /// First header with this name (case-insensitive, compact forms understood).
  [[nodiscard]] const Header* Find(std::string_view name) const;
  /// Value of the first header with this id, or "".
  [[nodiscard]] std::string_view Get(HeaderId id) const;
  /// Every element of a (possibly multi-line, comma-separated) header, in order.
  [[nodiscard]] std::vector<std::string_view> Values(HeaderId id) const;

  // Typed accessors: parse on demand.
  [[nodiscard]] Result<Via> TopVia() const;
  [[nodiscard]] Result<sip::CSeq> CSeq() const;
  [[nodiscard]] Result<NameAddr> From() const;
  [[nodiscard]] Result<NameAddr> To() const;
  [[nodiscard]] std::string_view CallId() const { return Get(HeaderId::kCallId); }

 private:
  friend Result<Message> ParseMessage(std::string_view, Framing);
  bool is_request_ = false;
  std::string_view method_, request_uri_, version_, reason_, body_, raw_;
  int status_ = 0;
  boost::container::small_vector<Header, 20> headers_;
};

/// Parses one message from `data`. Errors name the line and the problem.
[[nodiscard]] Result<Message> ParseMessage(std::string_view data,
                                           Framing framing = Framing::kDatagram);

/// Stream framing: the length of the first complete message in `data`, 0 when more bytes are
/// needed, or an error when the stream cannot be framed (no Content-Length, header section over
/// `max_header_bytes`, Content-Length over `max_body_bytes`). Leading CRLF keep-alives count
/// toward the length; `keepalive_only` is set when the length covers nothing else.
[[nodiscard]] Result<std::size_t> FrameLength(std::string_view data, std::size_t max_header_bytes,
                                              std::size_t max_body_bytes);

// Header parsers, usable on any header value.
[[nodiscard]] Result<Via> ParseVia(std::string_view element);
[[nodiscard]] Result<std::vector<Via>> ParseVias(std::string_view value);
/// `allow_list`: the value may hold several comma-separated name-addrs (Contact, Route); then
/// only the first is returned. Use SplitList() to get each.
[[nodiscard]] Result<NameAddr> ParseNameAddr(std::string_view element);
[[nodiscard]] Result<sip::CSeq> ParseCSeq(std::string_view value);
[[nodiscard]] Result<AuthHeader> ParseAuth(std::string_view value);
/// Splits a comma-separated header value at top level (outside quotes and <>). Empty elements
/// are returned as empty views so callers can reject them.
[[nodiscard]] std::vector<std::string_view> SplitList(std::string_view value);

/// One problem found by Validate(): where, what, and the response code an element would send
/// (400, 416, 420, 483, 505...).
struct Problem {
  std::string where;  // "Via", "request line", "body"...
  std::string what;
  int status = 400;
  std::uint32_t line = 0;  // header line, 0 for the start line and the body
};

enum class Depth : std::uint8_t {
  kCore,  // what a transaction layer relies on: version, Via, CSeq, Call-ID, From, To,
          // Max-Forwards, Content-Length, Request-URI, mandatory headers
  kFull,  // every header Portline knows, and an SDP body
};
[[nodiscard]] std::vector<Problem> Validate(const Message& message, Depth depth = Depth::kCore);

/// Builds a message. Content-Length is always written by Finish().
class Writer {
 public:
  Writer& RequestLine(std::string_view method, std::string_view uri);
  Writer& StatusLine(int code, std::string_view reason);
  Writer& Add(std::string_view name, std::string_view value);
  /// Adds `name: value` only when value is not empty.
  Writer& AddIf(std::string_view name, std::string_view value);
  [[nodiscard]] std::string Finish(std::string_view body = {}, std::string_view content_type = {});

 private:
  std::string out_;
};

/// A response to `request` per RFC 3261 §8.2.6: Via(s), From, To (with `to_tag` added when the
/// To has none), Call-ID and CSeq copied. Extra headers and a body are added by the caller.
[[nodiscard]] Writer MakeResponse(const Message& request, int code, std::string_view reason,
                                  std::string_view to_tag);

/// The default reason phrase of a status code ("" when unknown).
[[nodiscard]] std::string_view ReasonPhrase(int code) noexcept;

}  // namespace portline::sip
