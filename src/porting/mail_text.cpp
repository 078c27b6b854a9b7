#include "porting/mail_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>

namespace portline::porting {
namespace {

struct Wording {
  std::string_view type, subject;
};
constexpr std::array<Wording, 9> kStatuses = {{
    {"port.signed", "LOA signed"},
    {"port.submitted", "sent to the current carrier"},
    {"port.foc_confirmed", "port date confirmed"},
    {"port.foc_changed", "port date changed"},
    {"port.action_required", "action required"},
    {"port.completed", "complete"},
    {"port.canceled", "canceled"},
    {"port.expired", "expired"},
    {"port.failed", "failed"},
}};

std::string Numbers(std::size_t n) { return n == 1 ? "1 number" : std::to_string(n) + " numbers"; }

std::string Headline(const MailFacts& f) {
  const std::string who = "the port request for " + f.customer + " (" + Numbers(f.numbers) + ")";
  if (f.type == "port.signed") {
    return "Thank you: the Letter of Authorization for " + f.customer + " is signed. Next, " + who +
           " goes to the current carrier.";
  }
  if (f.type == "port.submitted") {
    return "We sent " + who +
           " to the current carrier. Carriers usually answer within a few business days; we "
           "will write again when they do.";
  }
  if (f.type == "port.foc_confirmed") {
    return "The current carrier accepted " + who + " and confirmed the day the numbers move.";
  }
  if (f.type == "port.foc_changed") {
    return "The day the numbers of " + who + " move has changed.";
  }
  if (f.type == "port.action_required") {
    return "The current carrier rejected " + who +
           ". It goes ahead as soon as the details below are corrected.";
  }
  if (f.type == "port.completed") {
    return "The port is complete: " +
           std::string(f.ported.size() == 1 ? "this number" : "these numbers") + " of " +
           f.customer + " now work on Portline.";
  }
  if (f.type == "port.canceled") {
    std::string s = who;
    s[0] = 'T';
    return s + " was canceled. The numbers stay with the current carrier.";
  }
  if (f.type == "port.expired") {
    std::string s = who;
    s[0] = 'T';
    return s +
           " expired: the Letter of Authorization was not signed in time. The numbers stay with "
           "the current carrier; a new request can be made at any time.";
  }
  std::string s = who;
  s[0] = 'T';
  return s + " could not be completed. The numbers stay with the current carrier.";
}

}  // namespace

bool IsMailedStatus(std::string_view type) {
  return std::any_of(kStatuses.begin(), kStatuses.end(),
                     [type](const Wording& w) { return w.type == type; });
}

std::string SpelledDate(std::string_view iso) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  if (iso.size() != 10 || iso[4] != '-' || iso[7] != '-' ||
      std::from_chars(iso.data(), iso.data() + 4, y).ptr != iso.data() + 4 ||
      std::from_chars(iso.data() + 5, iso.data() + 7, m).ptr != iso.data() + 7 ||
      std::from_chars(iso.data() + 8, iso.data() + 10, d).ptr != iso.data() + 10) {
    return std::string(iso);
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                        std::chrono::day(d)};
  if (!ymd.ok()) {
    return std::string(iso);
  }
  static constexpr std::array<std::string_view, 7> kDays = {
      "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "January", "February", "March",     "April",   "May",      "June",
      "July",    "August",   "September", "October", "November", "December"};
  const std::chrono::weekday wd{std::chrono::sys_days(ymd)};
  return std::string(kDays[wd.c_encoding()]) + ", " + std::to_string(d) + " " +
         std::string(kMonths[m - 1]) + " " + std::to_string(y);
}

std::string ReadableNumber(std::string_view n) {
  if (n.size() == 12 && n.starts_with("+1") &&
      std::all_of(n.begin() + 1, n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return "+1 " + std::string(n.substr(2, 3)) + "-" + std::string(n.substr(5, 3)) + "-" +
           std::string(n.substr(8));
  }
  return std::string(n);
}

std::optional<MailText> StatusMail(const MailFacts& f) {
  const auto it = std::find_if(kStatuses.begin(), kStatuses.end(),
                               [&f](const Wording& w) { return w.type == f.type; });
  if (it == kStatuses.end()) {
    return std::nullopt;
  }
  MailText t;
  t.subject = "Number port for " + f.customer + ": " + std::string(it->subject);
  t.body = "Hello,\n\n" + Headline(f) + "\n";
  if (f.type == "port.completed") {
    t.body += "\n";
    for (const std::string& n : f.ported) {
      t.body += "  " + ReadableNumber(n) + "\n";
    }
  }
  if (f.foc_date && (f.type == "port.foc_confirmed" || f.type == "port.foc_changed" ||
                     f.type == "port.completed")) {
    t.body += (f.type == "port.completed" ? "\nThe numbers moved on " : "\nThe numbers move on ") +
              SpelledDate(*f.foc_date) +
              (f.type == "port.completed" ? ".\n" : " (the FOC date).\n");
  }
  if (f.type == "port.action_required" && f.action && !f.action->empty()) {
    t.body += "\nWhat to do: " + *f.action + "\n";
  }
  if (f.reason && !f.reason->empty()) {
    t.body += "\nReason: " + *f.reason + "\n";
  }
  t.body +=
      "\nReference: " + f.request_id + " (requested for " + SpelledDate(f.target_date) + ").\n";
  return t;
}

MailText SignatureMail(const MailFacts& f, std::string_view link) {
  MailText t;
  t.subject = "Please sign the Letter of Authorization for " + f.customer;
  t.body = "Hello " + f.first_name + ",\n\n" + f.customer + " asked to move " + Numbers(f.numbers) +
           " to Portline. As the authorized representative, please read and sign the Letter of "
           "Authorization:\n\n  " +
           std::string(link) +
           "\n\nThe link is personal; do not forward it. It expires in a few days, and a new one "
           "can be sent on request.\n\nRequested port date: " +
           SpelledDate(f.target_date) + "\nReference: " + f.request_id + "\n";
  return t;
}

}  // namespace portline::porting
