#include "core/json_util.hpp"

#include <algorithm>
#include <boost/json/stream_parser.hpp>

#include "core/clock.hpp"
#include "core/time.hpp"

namespace portline {

std::string FieldPath(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

namespace {
bool HasNul(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::string:
      return v.get_string().find('\0') != boost::json::string::npos;
    case boost::json::kind::array:
      for (const auto& e : v.get_array()) {
        if (HasNul(e)) {
          return true;
        }
      }
      return false;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (kv.key().find('\0') != std::string_view::npos || HasNul(kv.value())) {
          return true;
        }
      }
      return false;
    default:
      return false;
  }
}
}  // namespace

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
  boost::json::value v = p.release();
  if (HasNul(v)) {
    // PostgreSQL text cannot hold NUL, and SQLite's C strings end at one: refused everywhere
    // rather than stored on one backend and failing (or truncating) on the other.
    return FailCode(Errc::kInvalidArgument, "INVALID_JSON",
                    "strings may not contain the NUL character (\\u0000)");
  }
  return v;
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
                                                  std::string_view key, std::size_t max_len,
                                                  std::string_view prefix) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  const std::string path = FieldPath(prefix, key);
  if (!v->is_string()) {
    Add(path, "INVALID_TYPE", path + " must be a string");
    return std::nullopt;
  }
  const auto& s = v->get_string();
  if (s.size() > max_len) {
    Add(path, "TOO_LONG", path + " must be at most " + std::to_string(max_len) + " characters");
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<std::string> FieldErrors::String(const boost::json::object& obj, std::string_view key,
                                               std::size_t max_len, std::string_view prefix) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) {
    Add(FieldPath(prefix, key), "REQUIRED", FieldPath(prefix, key) + " is required");
    return std::nullopt;
  }
  return OptString(obj, key, max_len, prefix);
}

boost::json::value TimestampJson(std::optional<std::int64_t> unix_ms) {
  if (!unix_ms) {
    return nullptr;
  }
  return boost::json::string(FormatRfc3339(FromUnixMillis(*unix_ms)));
}

std::optional<bool> FieldErrors::OptBool(const boost::json::object& obj, std::string_view key,
                                         std::string_view prefix) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (!v->is_bool()) {
    Add(FieldPath(prefix, key), "INVALID_TYPE", FieldPath(prefix, key) + " must be true or false");
    return std::nullopt;
  }
  return v->get_bool();
}

std::optional<std::int64_t> FieldErrors::OptInt(const boost::json::object& obj,
                                                std::string_view key, std::int64_t min,
                                                std::int64_t max, std::string_view prefix) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  const std::string path = FieldPath(prefix, key);
  std::optional<std::int64_t> n;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  }
  if (!n) {
    Add(path, "INVALID_TYPE", path + " must be an integer");
    return std::nullopt;
  }
  if (*n < min || *n > max) {
    Add(path, "OUT_OF_RANGE",
        path + " must be from " + std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

const boost::json::object* FieldErrors::OptObject(const boost::json::object& obj,
                                                  std::string_view key, std::string_view prefix) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return nullptr;
  }
  if (!v->is_object()) {
    Add(FieldPath(prefix, key), "INVALID_TYPE", FieldPath(prefix, key) + " must be an object");
    return nullptr;
  }
  return &v->get_object();
}

}  // namespace portline
