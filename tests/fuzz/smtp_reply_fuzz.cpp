// libFuzzer target for SMTP replies: the input's lines fed to one reader, as a session reads
// them. A finished reply always has a code of 200-599 and holds the line that ended it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/smtp_reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  portline::mail::SmtpReplyReader reader;
  while (!bytes.empty()) {
    const std::size_t eol = bytes.find("\r\n");
    const std::string_view line = bytes.substr(0, eol);
    bytes = eol == std::string_view::npos ? std::string_view() : bytes.substr(eol + 2);
    auto reply = reader.Add(line);
    if (!reply) {
      reader = {};
      continue;
    }
    if (*reply && ((*reply)->code < 200 || (*reply)->code > 599 ||
                   (*reply)->text.find(line) == std::string::npos)) {
      std::abort();
    }
  }
  return 0;
}
