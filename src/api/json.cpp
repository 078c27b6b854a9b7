#include "api/json.hpp"

#include <boost/json/serialize.hpp>
#include <charconv>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"

namespace portline::api {

Response DataResponse(int status, boost::json::value data) {
  Response r;
  r.status = status;
  // Serialized around `data` rather than by building an envelope object: moving `data` into an
  // object with another memory resource would deep-copy it (large check results use an arena).
  r.body = "{\"data\":";
  r.body += boost::json::serialize(data);
  r.body += ",\"errors\":null}";
  return r;
}

Response ErrorResponse(const Error& error, std::string_view request_id) {
  Response r;
  r.status = HttpStatus(error.code);
  boost::json::array errors;
  const std::string_view default_code =
      error.api_code.empty() ? DefaultApiCode(error.code) : std::string_view(error.api_code);
  if (error.fields.empty()) {
    boost::json::object e;
    e["error"] = default_code;
    e["message"] = error.message;
    errors.push_back(std::move(e));
  } else {
    for (const auto& f : error.fields) {
      boost::json::object e;
      e["error"] = f.code.empty() ? default_code : std::string_view(f.code);
      e["message"] = f.message;
      e["field"] = f.field;
      errors.push_back(std::move(e));
    }
  }
  boost::json::object env;
  env["data"] = nullptr;
  env["errors"] = std::move(errors);
  env["request_id"] = request_id;
  r.body = boost::json::serialize(env);
  return r;
}

Result<boost::json::object> ParseJsonObjectBody(const Request& req) {
  if (req.body.empty()) {
    return boost::json::object{};
  }
  PORTLINE_ASSIGN_OR_RETURN(auto value, ParseJson(req.body));
  if (!value.is_object()) {
    return FailCode(Errc::kInvalidArgument, "INVALID_JSON",
                    "the request body must be a JSON object");
  }
  return std::move(value.as_object());
}

Result<PageParams> ParsePageParams(const Request& req, std::string_view id_prefix, int def,
                                   int max) {
  const std::string prefix(id_prefix);
  return ParsePageParams(
      req, [&prefix](std::string_view c) { return IsWellFormedId(c, prefix); }, def, max);
}

Result<PageParams> ParsePageParams(const Request& req,
                                   const std::function<bool(std::string_view)>& cursor_ok, int def,
                                   int max) {
  PageParams p;
  p.limit = def;
  FieldErrors errors;
  if (auto limit = req.Query("limit")) {
    int v = 0;
    auto [ptr, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), v);
    if (ec != std::errc{} || ptr != limit->data() + limit->size() || v < 1 || v > max) {
      errors.Add("limit", "INVALID_LIMIT",
                 "limit must be an integer from 1 to " + std::to_string(max));
    } else {
      p.limit = v;
    }
  }
  if (auto cursor = req.Query("cursor"); cursor && !cursor->empty()) {
    if (!cursor_ok(*cursor)) {
      errors.Add("cursor", "INVALID_CURSOR",
                 "cursor must be a next_cursor value returned by this endpoint");
    } else {
      p.cursor = *cursor;
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  return p;
}

Result<Response> Ok(Result<boost::json::value> data, int status) {
  if (!data) {
    return tl::unexpected(std::move(data).error());
  }
  return DataResponse(status, std::move(*data));
}

}  // namespace portline::api
