// E-mails a port request's events cause, composed and queued in the event's transaction.
#include <algorithm>
#include <map>

#include "core/assert.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"
#include "core/utf8.hpp"
#include "documents/content.hpp"
#include "documents/loa.hpp"
#include "holdings/holdings.hpp"
#include "mail/mail.hpp"
#include "numbering/calendar.hpp"
#include "porting/internal.hpp"
#include "porting/rejections.hpp"
#include "porting/service.hpp"

namespace portline::porting {

// E-mails caused by an event, written in the event's transaction: the signature request to the
// authorized representative, status updates to notification_emails.
Result<void> PortingService::Notify(store::Connection& c, std::string_view request_id,
                                    std::string_view org, std::string_view type, const Object& data,
                                    std::int64_t at) {
  if (type != "port.signature_requested" && !IsMailedStatus(type)) {
    return {};
  }
  PORTLINE_ASSIGN_OR_RETURN(auto rows,
                            c.Query("SELECT details, target_date, foc_date, suggested_action FROM "
                                    "port_requests WHERE id = $1",
                                    {request_id}));
  if (rows.empty()) {
    return {};
  }
  PORTLINE_ASSIGN_OR_RETURN(
      auto numbers, c.Query("SELECT phone_number, status FROM port_numbers WHERE request_id = $1 "
                            "AND status NOT IN ('excluded', 'canceled') ORDER BY position",
                            {request_id}));
  MailFacts facts{.type = std::string(type),
                  .request_id = std::string(request_id),
                  .target_date = rows[0].Text(1),
                  .foc_date = rows[0].OptText(2),
                  .action = rows[0].OptText(3),
                  .numbers = numbers.size()};
  for (const auto& n : numbers) {
    if (n.Text(1) == kNumPorted) {
      facts.ported.push_back(n.Text(0));
    }
  }
  PORTLINE_ASSIGN_OR_RETURN(auto mail,
                            ComposeMail(org, ParseObject(rows[0].Text(0)), std::move(facts), data));
  if (!mail) {
    return {};
  }
  mail->dated_at = at;
  return mail::EnqueueAll(c, {*mail}, ToUnixMillis(clock_.Now()));
}

Result<std::optional<mail::Outgoing>> PortingService::ComposeMail(std::string_view org,
                                                                  const Object& details,
                                                                  MailFacts facts,
                                                                  const Object& data) {
  const Object lci = details.contains("losing_carrier_information") &&
                             details.at("losing_carrier_information").is_object()
                         ? details.at("losing_carrier_information").as_object()
                         : Object{};
  facts.customer = StrOf(lci, "customer_type") == "business"
                       ? StrOf(lci, "business_name")
                       : StrOf(lci, "first_name") + " " + StrOf(lci, "last_name");
  facts.first_name = StrOf(lci, "first_name");
  if (data.contains("reason") && data.at("reason").is_string()) {
    facts.reason = std::string(data.at("reason").as_string());
  }
  mail::Outgoing m{
      .org = std::string(org), .request_id = facts.request_id, .event_type = facts.type};
  if (facts.type == "port.signature_requested") {
    auto token = box_.Open(StrOf(details, "signature_token"));
    if (!token) {
      return std::nullopt;
    }
    m.to = {StrOf(lci, "authorized_representative_email")};
    // The link is a credential: the outbox keeps it only sealed, and shows the text without it.
    const MailText shown =
        SignatureMail(facts, options_.public_url + "/sign/[link sent to the representative only]");
    m.subject = shown.subject;
    m.body = shown.body;
    m.sealed_body = box_.Seal(SignatureMail(facts, SignatureUrl(*token)).body);
    return m;
  }
  auto text = StatusMail(facts);
  if (!text) {
    return std::nullopt;
  }
  if (lci.contains("notification_emails") && lci.at("notification_emails").is_array()) {
    for (const auto& e : lci.at("notification_emails").as_array()) {
      if (e.is_string()) {
        m.to.emplace_back(e.as_string());
      }
    }
  }
  if (m.to.empty()) {
    return std::nullopt;
  }
  m.subject = std::move(text->subject);
  m.body = std::move(text->body);
  return m;
}

}  // namespace portline::porting
