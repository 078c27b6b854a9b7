#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace portline {

/// Categories of expected failure. api/errors.cpp maps each one to exactly one HTTP status.
enum class Errc : std::uint8_t {
  kInvalidArgument,       // malformed or invalid input (400)
  kUnauthenticated,       // missing or unknown credentials (401)
  kPermissionDenied,      // authenticated but not allowed, e.g. missing entitlement (403)
  kNotFound,              // no such resource, or another organization's (404)
  kMethodNotAllowed,      // route exists, method does not (405)
  kConflict,              // state conflict: duplicate, idempotency key reuse (409)
  kPayloadTooLarge,       // body over the limit (413)
  kUnsupportedMediaType,  // wrong Content-Type (415)
  kUnprocessable,         // well-formed but violates a business rule (422)
  kRateLimited,           // too many requests (429)
  kUnavailable,           // dependency unavailable, retryable (503)
  kDeadlineExceeded,      // dependency timed out, retryable (504)
  kInternal,              // bug or unexpected failure (500)
};

/// One problem with one field of a request; `field` is a dotted path ("address.zip").
struct FieldError {
  std::string code;
  std::string message;
  std::string field;
};

/// An expected failure. `message` (and `fields`) are safe to show to API clients; `detail` is
/// for logs only (SQL text, peer addresses...).
struct Error {
  Errc code = Errc::kInternal;
  std::string message;
  std::string detail;
  std::string api_code;            // e.g. "SIP_NOT_ENABLED"; empty = the default for `code`
  std::vector<FieldError> fields;  // all field problems of a request, reported together

  [[nodiscard]] bool Retryable() const noexcept {
    return code == Errc::kUnavailable || code == Errc::kDeadlineExceeded;
  }
};

template <typename T>
using Result = tl::expected<T, Error>;

/// What errno value `err` means, safe on any thread (std::strerror is not).
[[nodiscard]] std::string ErrnoText(int err);

[[nodiscard]] inline tl::unexpected<Error> Fail(Errc code, std::string message,
                                                std::string detail = {}) {
  return tl::unexpected<Error>(Error{code, std::move(message), std::move(detail), {}, {}});
}

/// Failure with a specific API error code (and optionally the field it concerns).
[[nodiscard]] inline tl::unexpected<Error> FailCode(Errc code, std::string api_code,
                                                    std::string message, std::string field = {}) {
  Error e{code, message, {}, api_code, {}};
  if (!field.empty()) {
    e.fields.push_back(FieldError{std::move(api_code), std::move(message), std::move(field)});
  }
  return tl::unexpected<Error>(std::move(e));
}

/// Default API error code for a category ("INVALID_REQUEST", "NOT_FOUND"...).
[[nodiscard]] std::string_view DefaultApiCode(Errc code) noexcept;

}  // namespace portline

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration and `tmp` a name.
#define PORTLINE_CONCAT_INNER(a, b) a##b
#define PORTLINE_CONCAT(a, b) PORTLINE_CONCAT_INNER(a, b)
#define PORTLINE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp) {                                          \
    return tl::unexpected(std::move(tmp).error());     \
  }                                                    \
  lhs = std::move(*tmp)
/// PORTLINE_ASSIGN_OR_RETURN(auto x, Compute()): the one control-flow macro.
#define PORTLINE_ASSIGN_OR_RETURN(lhs, expr) \
  PORTLINE_ASSIGN_OR_RETURN_IMPL(PORTLINE_CONCAT(portline_result_, __LINE__), lhs, expr)
/// PORTLINE_RETURN_IF_ERROR(DoIt()): for Result<void>.
#define PORTLINE_RETURN_IF_ERROR(expr)                            \
  do {                                                            \
    auto portline_status_ = (expr);                               \
    if (!portline_status_) {                                      \
      return tl::unexpected(std::move(portline_status_).error()); \
    }                                                             \
  } while (false)
// NOLINTEND(bugprone-macro-parentheses)
