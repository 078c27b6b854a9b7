#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace portline {

/// Maximum nesting of request JSON; deeper documents are rejected, not parsed.
inline constexpr std::size_t kMaxJsonDepth = 64;

/// Parses a JSON text strictly (RFC 8259, UTF-8 only, depth ≤ kMaxJsonDepth). The error names
/// the byte offset and the problem.
[[nodiscard]] Result<boost::json::value> ParseJson(std::string_view text);

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
  /// Optional string field with a length limit; wrong type is reported. `prefix` is the path of
  /// `obj` in the request ("directions[0].options").
  std::optional<std::string> OptString(const boost::json::object& obj, std::string_view key,
                                       std::size_t max_len, std::string_view prefix = {});
  std::optional<std::string> String(const boost::json::object& obj, std::string_view key,
                                    std::size_t max_len, std::string_view prefix = {});
  std::optional<bool> OptBool(const boost::json::object& obj, std::string_view key,
                              std::string_view prefix = {});
  std::optional<std::int64_t> OptInt(const boost::json::object& obj, std::string_view key,
                                     std::int64_t min, std::int64_t max,
                                     std::string_view prefix = {});
  /// Optional nested object; wrong type is reported.
  const boost::json::object* OptObject(const boost::json::object& obj, std::string_view key,
                                       std::string_view prefix = {});

 private:
  std::vector<FieldError> fields_;
};

/// "prefix.key" (or "key" without a prefix).
[[nodiscard]] std::string FieldPath(std::string_view prefix, std::string_view key);

/// JSON for a Unix-ms timestamp (RFC 3339 string) or null.
[[nodiscard]] boost::json::value TimestampJson(std::optional<std::int64_t> unix_ms);

}  // namespace portline
