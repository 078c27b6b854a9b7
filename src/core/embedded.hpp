#pragma once

#include <string_view>

namespace portline {

/// A file compiled into the binary (cmake/Embed.cmake).
struct EmbeddedFile {
  std::string_view name;
  std::string_view data;
};

}  // namespace portline
