#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace portline {

/// RFC 3339 UTC with millisecond precision: "2026-11-22T22:46:01.123Z".
[[nodiscard]] std::string FormatRfc3339(std::chrono::system_clock::time_point t);

/// Parses RFC 3339 ("2026-03-20T00:00:00Z", "...T00:00:00.5+02:00"); nullopt if malformed.
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view s);

}  // namespace portline
