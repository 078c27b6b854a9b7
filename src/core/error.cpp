#include "core/error.hpp"

#include <cstring>

namespace portline {

std::string_view DefaultApiCode(Errc code) noexcept {
  switch (code) {
    case Errc::kInvalidArgument:
      return "INVALID_REQUEST";
    case Errc::kUnauthenticated:
      return "UNAUTHORIZED";
    case Errc::kPermissionDenied:
      return "FORBIDDEN";
    case Errc::kNotFound:
      return "NOT_FOUND";
    case Errc::kMethodNotAllowed:
      return "METHOD_NOT_ALLOWED";
    case Errc::kConflict:
      return "CONFLICT";
    case Errc::kPayloadTooLarge:
      return "PAYLOAD_TOO_LARGE";
    case Errc::kUnsupportedMediaType:
      return "UNSUPPORTED_MEDIA_TYPE";
    case Errc::kUnprocessable:
      return "UNPROCESSABLE";
    case Errc::kRateLimited:
      return "RATE_LIMITED";
    case Errc::kUnavailable:
      return "UNAVAILABLE";
    case Errc::kDeadlineExceeded:
      return "TIMEOUT";
    case Errc::kInternal:
      return "INTERNAL";
  }
  return "INTERNAL";
}

std::string ErrnoText(int err) {
  char buf[256];
  // The GNU strerror_r returns the text, in `buf` or in a static string.
  return ::strerror_r(err, buf, sizeof(buf));
}

}  // namespace portline
