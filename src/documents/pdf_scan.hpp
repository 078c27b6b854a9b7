#pragma once

// Looks for active content in a PDF: names a viewer acts on (/JavaScript, /Launch, /OpenAction…)
// in the file's own bytes and inside its compressed object streams (PDF 1.5 /ObjStm, where
// dictionaries of a modern PDF usually live). Pure; bounded work.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace portline::documents {

/// The first active-content name found ("JavaScript"), or nullopt. kUnprocessable when an
/// object stream cannot be checked (an encoding we do not decode, or it inflates past the cap).
[[nodiscard]] Result<std::optional<std::string>> FindPdfActiveContent(std::string_view pdf);

}  // namespace portline::documents
