#pragma once

// SMTP replies (RFC 5321 §4.2), line by line: pure, fuzzed (tests/fuzz/smtp_reply_fuzz.cpp).

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace portline::mail {

struct SmtpReply {
  int code = 0;      // 200–599
  std::string text;  // every line as received (code included), each ended by '\n'
};

/// Collects the lines of one reply: "250-first", "250-second", "250 last". Every line carries
/// the same three-digit code, then '-' (more follow) or ' ' / nothing (the last).
class SmtpReplyReader {
 public:
  /// The reply once `line` (without CRLF) ends it; nullopt while more lines are due; an error
  /// for a line that is not a reply line or changes the code.
  [[nodiscard]] Result<std::optional<SmtpReply>> Add(std::string_view line);

 private:
  int code_ = 0;
  std::string text_;
};

}  // namespace portline::mail
