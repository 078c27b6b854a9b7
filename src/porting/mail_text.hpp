#pragma once

// The words of porting e-mails, written for the person who reads them: what happened, what to
// do, the dates spelled out, the numbers that moved. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portline::porting {

struct MailFacts {
  std::string type;         // the event: "port.completed"…
  std::string request_id;   // pr_…, given as a reference
  std::string customer;     // business name, or the person's name
  std::string first_name;   // of the authorized representative
  std::string target_date;  // YYYY-MM-DD as requested
  std::optional<std::string> foc_date;
  std::optional<std::string> action;  // what to fix, after a rejection
  std::optional<std::string> reason;
  std::vector<std::string> ported;  // E.164, for port.completed
  std::size_t numbers = 0;          // how many numbers the request moves
};

struct MailText {
  std::string subject, body;
};

/// Whether an event type is mailed to the request's notification addresses.
[[nodiscard]] bool IsMailedStatus(std::string_view type);
/// The status e-mail of an event (nullopt for a type that is not mailed).
[[nodiscard]] std::optional<MailText> StatusMail(const MailFacts& f);
/// The signature request to the authorized representative, around `link`.
[[nodiscard]] MailText SignatureMail(const MailFacts& f, std::string_view link);

/// "2026-12-15" → "Tuesday, 15 December 2026" (the text as given when it is not a date).
[[nodiscard]] std::string SpelledDate(std::string_view iso_date);
/// "+14155550100" → "+1 415-555-0100" (other numbers as given).
[[nodiscard]] std::string ReadableNumber(std::string_view e164);

}  // namespace portline::porting
