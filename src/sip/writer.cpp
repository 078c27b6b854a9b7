// Writing messages: the Writer, responses to a request, reason phrases.
#include <algorithm>

#include "sip/message.hpp"
#include "sip/message_internal.hpp"
#include "sip/syntax.hpp"

namespace portline::sip {

using detail::Bad;

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
