#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/utf8.hpp"

namespace portline::api {

using portline::FieldErrors;
using portline::kMaxJsonDepth;
using portline::ParseJson;
using portline::TimestampJson;

/// The one table of Errc -> HTTP status (api/errors.cpp).
[[nodiscard]] int HttpStatus(Errc code);

/// `{"data": data, "errors": null}` with the given status.
[[nodiscard]] Response DataResponse(int status, boost::json::value data);
/// DataResponse for a service result, or its error.
[[nodiscard]] Result<Response> Ok(Result<boost::json::value> data, int status = 200);

/// `{"data": null, "errors": [...], "request_id": …}`: one entry per field error, or one entry
/// for the error itself. Never includes Error::detail.
[[nodiscard]] Response ErrorResponse(const Error& error, std::string_view request_id);

/// Parses the request body as a JSON object. An empty body counts as `{}`.
[[nodiscard]] Result<boost::json::object> ParseJsonObjectBody(const Request& req);

/// Parses `limit` (1..max, default `def`) and `cursor` query parameters.
struct PageParams {
  int limit = 20;
  std::optional<std::string> cursor;
};
[[nodiscard]] Result<PageParams> ParsePageParams(const Request& req, std::string_view id_prefix,
                                                 int def = 20, int max = 100);
/// Same, with a caller-supplied check of the cursor (e.g. a phone number).
[[nodiscard]] Result<PageParams> ParsePageParams(
    const Request& req, const std::function<bool(std::string_view)>& cursor_ok, int def, int max);

}  // namespace portline::api
