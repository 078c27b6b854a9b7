#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.hpp"
#include "core/error.hpp"
#include "core/utf8.hpp"

namespace portline::api {

/// Maximum nesting of request JSON; deeper documents are rejected, not parsed.
inline constexpr std::size_t kMaxJsonDepth = 64;

/// The one table of Errc -> HTTP status (api/errors.cpp).
[[nodiscard]] int HttpStatus(Errc code);

/// `{"data": data, "errors": null}` with the given status.
[[nodiscard]] Response DataResponse(int status, boost::json::value data);

/// `{"data": null, "errors": [...], "request_id": …}`: one entry per field error, or one entry
/// for the error itself. Never includes Error::detail.
[[nodiscard]] Response ErrorResponse(const Error& error, std::string_view request_id);

/// Parses a JSON text strictly (RFC 8259, UTF-8 only, depth ≤ kMaxJsonDepth). The error names
/// the byte offset and the problem.
[[nodiscard]] Result<boost::json::value> ParseJson(std::string_view text);

/// Parses the request body as a JSON object. An empty body counts as `{}`.
[[nodiscard]] Result<boost::json::object> ParseJsonObjectBody(const Request& req);

/// Collects every problem of a request so they can all be reported at once.
class FieldErrors {
 public:
  void Add(std::string field, std::string code, std::string message);
  [[nodiscard]] bool empty() const { return fields_.empty(); }
  /// kInvalidArgument with all collected field errors (first message as the summary).
  [[nodiscard]] Error ToError() const;

  /// Reports keys of `obj` not in `allowed` as UNKNOWN_FIELD (typos should not pass silently).
  void RejectUnknown(const boost::json::object& obj,
                     std::initializer_list<std::string_view> allowed, std::string_view prefix = {});
  /// Optional string field with a length limit; wrong type is reported.
  std::optional<std::string> OptString(const boost::json::object& obj, std::string_view key,
                                       std::size_t max_len);
  std::optional<std::string> String(const boost::json::object& obj, std::string_view key,
                                    std::size_t max_len);

 private:
  std::vector<FieldError> fields_;
};

/// Parses `limit` (1..max, default `def`) and `cursor` query parameters.
struct PageParams {
  int limit = 20;
  std::optional<std::string> cursor;
};
[[nodiscard]] Result<PageParams> ParsePageParams(const Request& req, std::string_view id_prefix,
                                                 int def = 20, int max = 100);

/// JSON for a Unix-ms timestamp (RFC 3339 string) or null.
[[nodiscard]] boost::json::value TimestampJson(std::optional<std::int64_t> unix_ms);

}  // namespace portline::api
