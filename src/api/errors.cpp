// The single table mapping error categories to HTTP statuses (see docs/api.md).
#include "api/json.hpp"

namespace portline::api {

int HttpStatus(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return 400;
    case Errc::kUnauthenticated:
      return 401;
    case Errc::kPermissionDenied:
      return 403;
    case Errc::kNotFound:
      return 404;
    case Errc::kMethodNotAllowed:
      return 405;
    case Errc::kConflict:
      return 409;
    case Errc::kPayloadTooLarge:
      return 413;
    case Errc::kUnsupportedMediaType:
      return 415;
    case Errc::kUnprocessable:
      return 422;
    case Errc::kRateLimited:
      return 429;
    case Errc::kUnavailable:
      return 503;
    case Errc::kDeadlineExceeded:
      return 504;
    case Errc::kInternal:
      return 500;
  }
  return 500;
}

}  // namespace portline::api
