#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace portline::log {

enum class Level : std::uint8_t { kDebug, kInfo, kWarn, kError, kOff };

/// A key=value pair of a structured log line. Values are borrowed for the duration of the call.
struct Field {
  using Value = std::variant<std::string_view, std::int64_t, double, bool>;
  std::string_view key;
  Value value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, std::int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, unsigned v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
};

/// Sets up the process logger: one JSON object per line on stderr. Thread-safe after Init.
void Init(Level min_level);
[[nodiscard]] bool ParseLevel(std::string_view name, Level& out);
[[nodiscard]] bool Enabled(Level level);

/// Writes {"ts":…,"level":…,"msg":…, fields…}. Never pass secrets as field values.
void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

/// The JSON line Write would emit (without the newline); exposed for tests.
[[nodiscard]] std::string FormatLine(Level level, std::string_view msg,
                                     std::initializer_list<Field> fields);

/// Appends `s` to `out` as a JSON string literal (with quotes), escaping as RFC 8259 requires and
/// replacing invalid UTF-8 bytes by U+FFFD so a log line is always valid JSON.
void AppendJsonString(std::string& out, std::string_view s);

inline void Debug(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, msg, f);
}
inline void Info(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, msg, f);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, msg, f);
}
inline void Error(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kError, msg, f);
}

}  // namespace portline::log
