// Validate: every header a message carries, interpreted, and the message-level rules, with the
// response code an element would send for each problem.
#include <algorithm>
#include <array>

#include "sip/message.hpp"
#include "sip/message_internal.hpp"
#include "sip/sdp.hpp"
#include "sip/syntax.hpp"

namespace portline::sip {

using detail::Bad;
using detail::IsWordString;
using detail::Trim;
using syntax::Cursor;
using syntax::IEquals;

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

}  // namespace portline::sip
