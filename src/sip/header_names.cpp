// Header names: the table of known headers, compact forms, and the lookup by name.
#include <algorithm>
#include <array>

#include "sip/message.hpp"
#include "sip/message_internal.hpp"
#include "sip/syntax.hpp"

namespace portline::sip {

using syntax::IEquals;

namespace {

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

}  // namespace portline::sip
