// libFuzzer target for uploads: the multipart/form-data parser and the content checks (type
// detection, truncation, PDF active content) on every part.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "documents/content.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first line is the Content-Type header value; the rest is the body.
  const std::size_t eol = input.find('\n');
  const std::string_view type = eol == std::string_view::npos ? input : input.substr(0, eol);
  const std::string_view body = eol == std::string_view::npos ? "" : input.substr(eol + 1);
  auto parts = portline::documents::ParseMultipart(body, type);
  if (parts) {
    for (const auto& p : *parts) {
      if (p.data.data() < body.data() ||
          p.data.data() + p.data.size() > body.data() + body.size()) {
        std::abort();  // a part must point inside the body
      }
      if (auto t = portline::documents::DetectType(p.data)) {
        (void)portline::documents::CheckFile(*t, p.data);
        (void)portline::documents::DeclaredTypeAgrees(*t, p.content_type, p.filename);
      }
    }
  }
  if (auto t = portline::documents::DetectType(input)) {
    (void)portline::documents::CheckFile(*t, input);
  }
  return 0;
}
