#include "api/json.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <charconv>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"

namespace portline::api {

Response DataResponse(int status, boost::json::value data) {
  Response r;
  r.status = status;
  boost::json::object env;
  env["data"] = std::move(data);
  env["errors"] = nullptr;
  r.body = boost::json::serialize(env);
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

Result<boost::json::value> ParseJson(std::string_view text) {
  boost::json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  boost::json::stream_parser p({}, opts);
  boost::system::error_code ec;
  const std::size_t consumed = p.write_some(text.data(), text.size(), ec);
  if (!ec) {
    if (consumed < text.size()) {
      // write_some stops after a complete value; anything but whitespace after it is an error.
      for (std::size_t i = consumed; i < text.size(); ++i) {
        const char c = text[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
          return FailCode(Errc::kInvalidArgument, "INVALID_JSON",
                          "invalid JSON at byte " + std::to_string(i) +
                              ": unexpected data after the JSON value");
        }
      }
    }
    p.finish(ec);
  }
  if (ec) {
    std::string what = ec.message();
    if (ec == boost::json::error::too_deep) {
      what = "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    }
    return FailCode(Errc::kInvalidArgument, "INVALID_JSON",
                    "invalid JSON at byte " + std::to_string(consumed) + ": " + what);
  }
  return p.release();
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

void FieldErrors::Add(std::string field, std::string code, std::string message) {
  fields_.push_back(FieldError{std::move(code), std::move(message), std::move(field)});
}

Error FieldErrors::ToError() const {
  Error e;
  e.code = Errc::kInvalidArgument;
  e.api_code = "INVALID_FIELD";
  e.message = fields_.empty() ? "invalid request" : fields_.front().message;
  e.fields = fields_;
  return e;
}

void FieldErrors::RejectUnknown(const boost::json::object& obj,
                                std::initializer_list<std::string_view> allowed,
                                std::string_view prefix) {
  for (const auto& kv : obj) {
    const std::string_view key = kv.key();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      const std::string path =
          prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
      Add(path, "UNKNOWN_FIELD", "unknown field '" + path + "'");
    }
  }
}

std::optional<std::string> FieldErrors::OptString(const boost::json::object& obj,
                                                  std::string_view key, std::size_t max_len) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    Add(std::string(key), "INVALID_TYPE", std::string(key) + " must be a string");
    return std::nullopt;
  }
  const auto& s = v->get_string();
  if (s.size() > max_len) {
    Add(std::string(key), "TOO_LONG",
        std::string(key) + " must be at most " + std::to_string(max_len) + " characters");
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<std::string> FieldErrors::String(const boost::json::object& obj, std::string_view key,
                                               std::size_t max_len) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) {
    Add(std::string(key), "REQUIRED", std::string(key) + " is required");
    return std::nullopt;
  }
  return OptString(obj, key, max_len);
}

Result<PageParams> ParsePageParams(const Request& req, std::string_view id_prefix, int def,
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
    if (!IsWellFormedId(*cursor, id_prefix)) {
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

boost::json::value TimestampJson(std::optional<std::int64_t> unix_ms) {
  if (!unix_ms) {
    return nullptr;
  }
  return boost::json::string(FormatRfc3339(FromUnixMillis(*unix_ms)));
}

}  // namespace portline::api
