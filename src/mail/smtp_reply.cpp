#include "mail/smtp_reply.hpp"

namespace portline::mail {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<std::optional<SmtpReply>> SmtpReplyReader::Add(std::string_view line) {
  const auto malformed = [&] {
    return Fail(Errc::kUnavailable,
                "SMTP: malformed reply '" + std::string(line.substr(0, 80)) + "'");
  };
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !IsDigit(line[1]) || !IsDigit(line[2]) ||
      (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    return malformed();
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code_ != 0 && code != code_) {
    return malformed();
  }
  code_ = code;
  text_.append(line);
  text_.push_back('\n');
  if (line.size() > 3 && line[3] == '-') {
    return std::optional<SmtpReply>();
  }
  SmtpReply reply{code_, std::move(text_)};
  code_ = 0;
  text_.clear();
  return std::optional<SmtpReply>(std::move(reply));
}

}  // namespace portline::mail
