#pragma once

#include <cstddef>
#include <string_view>

namespace portline {

/// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF), or 0 if the bytes there are not one.
[[nodiscard]] std::size_t Utf8SequenceLength(std::string_view s, std::size_t i);

[[nodiscard]] bool IsValidUtf8(std::string_view s);

}  // namespace portline
