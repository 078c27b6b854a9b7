// Port requests through the API: create, read, change, cancel, notes, configuration, on-demand
// activation and the signature step. The workflow steps live in workflow.cpp.
#include "porting/service.hpp"

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

namespace portline::porting {

namespace {
// Another organization's request is not found either (tenants are isolated).
tl::unexpected<Error> RequestNotFound(std::string_view id) {
  return FailCode(Errc::kNotFound, "PORT_REQUEST_NOT_FOUND",
                  "port request " + std::string(id) + " not found");
}

// kNotFound unless the organization has this request.
Result<void> RequireRequest(store::Connection& c, std::string_view org, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, c.Query("SELECT 1 FROM port_requests WHERE id = $1 AND org_id = $2", {id, org}));
  if (rows.empty()) {
    return RequestNotFound(id);
  }
  return {};
}
}  // namespace

std::string Placeholders(std::size_t first, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += (i == 0 ? "$" : ", $") + std::to_string(first + i);
  }
  return out;
}

Result<store::Rows> QueryNumbersIn(store::Connection& c, std::string_view head,
                                   const store::Params& fixed,
                                   const std::vector<std::string>& numbers, std::string_view tail) {
  store::Rows out;
  for (std::size_t i = 0; i < numbers.size(); i += 500) {
    const std::size_t end = std::min(numbers.size(), i + 500);
    store::Params params = fixed;
    for (std::size_t k = i; k < end; ++k) {
      params.emplace_back(numbers[k]);
    }
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query(std::string(head) + " IN (" + Placeholders(fixed.size() + 1, end - i) +
                               ")" + std::string(tail),
                           params));
    out.insert(out.end(), std::make_move_iterator(rows.begin()),
               std::make_move_iterator(rows.end()));
  }
  return out;
}

numbering::Date LocalDate(std::string_view zone, std::chrono::system_clock::time_point t) {
  const auto* z = numbering::FindTimeZone(zone);
  return numbering::UtcToLocal(z != nullptr ? *z : *numbering::FindTimeZone("UTC"), t).date;
}

std::int64_t InstantOf(std::string_view date, std::string_view hhmm, std::string_view zone) {
  const auto d = numbering::ParseDate(date);
  const auto m = numbering::ParseClockTime(hhmm);
  const auto* z = numbering::FindTimeZone(zone);
  if (!d || !m || z == nullptr) {
    return 0;
  }
  return ToUnixMillis(numbering::LocalToUtc(*z, *d, *m));
}

std::string_view RollupStatus(std::string_view current, const NumberCounts& n) {
  if (current == kDraft || current == kWaitingForSignature || current == kExpired ||
      current == kCanceled || current == kCompleted || current == kFailed) {
    return current;
  }
  const std::int64_t live = n.pending + n.submitted + n.foc + n.ready;
  if (current == kCancelPending) {
    if (live + n.rejected_fixable > 0) {
      return current;
    }
    return n.ported > 0 ? kCompleted : kCanceled;
  }
  if (n.rejected_fixable > 0) {
    return kActionRequired;
  }
  if (live == 0) {
    if (n.ported > 0) {
      return kCompleted;
    }
    return n.rejected_final > 0 ? kFailed : kCanceled;
  }
  if (n.foc + n.ready + n.ported > 0) {
    return kInProgress;
  }
  return kSubmitted;
}

PortingService::PortingService(store::Database& db, const Clock& clock, const SecretBox& box,
                               const numbering::PortabilityChecker& checker,
                               const numbering::CarrierRegistry& carriers,
                               carriers::Gateway& gateway, Hooks hooks, PortingOptions options)
    : db_(db),
      clock_(clock),
      box_(box),
      checker_(checker),
      carriers_(carriers),
      gateway_(gateway),
      options_(std::move(options)),
      post_port_(std::move(hooks.post_port)),
      validate_post_port_(std::move(hooks.validate_post_port)),
      validate_documents_(std::move(hooks.validate_documents)),
      event_sink_(std::move(hooks.event_sink)) {
  PORTLINE_CHECK(post_port_ && validate_post_port_ && validate_documents_ && event_sink_,
                 "PortingService needs every hook");
}

void PortingService::SetPublicUrl(std::string url) {
  std::lock_guard<std::mutex> lock(url_mutex_);
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  options_.public_url = std::move(url);
}

std::string PortingService::SignatureUrl(std::string_view token) const {
  std::lock_guard<std::mutex> lock(url_mutex_);
  return options_.public_url + "/sign/" + std::string(token);
}

Result<PortingService::OrgTime> PortingService::LoadOrgTime(store::Connection& c,
                                                            std::string_view org) {
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows,
      c.Query("SELECT sandbox, clock_offset_ms FROM organizations WHERE id = $1", {org}));
  if (rows.empty()) {
    return Fail(Errc::kNotFound, "organization not found");
  }
  OrgTime t;
  t.sandbox = rows[0].Int(0) != 0;
  t.offset_ms = rows[0].Int(1);
  t.now = clock_.Now() + std::chrono::milliseconds(t.offset_ms);
  return t;
}

Result<void> PortingService::LockRequest(store::Connection& c, std::string_view id) {
  // A no-op update takes the row lock on PostgreSQL, so concurrent changes to one request apply
  // one after the other. SQLite write transactions are serialized already.
  if (c.backend() == store::Backend::kSqlite) {
    return {};
  }
  PORTLINE_RETURN_IF_ERROR(
      c.Execute("UPDATE port_requests SET updated_at = updated_at WHERE id = $1", {id}));
  return {};
}

Result<void> PortingService::Event(store::Connection& c, std::string_view request_id,
                                   std::string_view org, std::string_view type,
                                   std::string_view actor, Object data, std::int64_t at) {
  // The next sequence in the same statement: every writer of a request's events holds the
  // request's row lock (LockRequest) or its creating transaction, and UNIQUE (request_id,
  // sequence) turns any mistake into an error rather than a gap or a duplicate.
  const std::string data_text = Dump(json::value(data));
  const std::string event_id = NewId("evt", FromUnixMillis(at));
  PORTLINE_ASSIGN_OR_RETURN(
      auto inserted,
      c.Query("INSERT INTO port_events (id, request_id, org_id, sequence, type, actor, data, "
              "occurred_at) SELECT $1, $2, $3, COALESCE(MAX(sequence), 0) + 1, $4, $5, $6, $7 "
              "FROM port_events WHERE request_id = $2 RETURNING sequence",
              {event_id, request_id, org, type, actor, data_text, at}));
  if (event_sink_) {
    PORTLINE_RETURN_IF_ERROR(event_sink_(c, {EventRecord{.org_id = std::string(org),
                                                         .id = event_id,
                                                         .type = std::string(type),
                                                         .request_id = std::string(request_id),
                                                         .actor = std::string(actor),
                                                         .sequence = inserted.at(0).Int(0),
                                                         .data = data,
                                                         .at = at}}));
  }
  return Notify(c, request_id, org, type, data, at);
}

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

Result<void> PortingService::AddJob(store::Connection& c, std::string_view org,
                                    std::string_view request_id, std::string_view order_id,
                                    std::string_view kind, std::int64_t due_at,
                                    const Object& payload) {
  return c
      .Execute(
          "INSERT INTO port_jobs (id, org_id, request_id, order_id, kind, due_at, payload, "
          "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          {NewId("job", clock_.Now()), org, request_id,
           order_id.empty() ? store::Param(nullptr) : store::Param(order_id), kind, due_at,
           Dump(payload), ToUnixMillis(clock_.Now())})
      .map([](std::int64_t) {});
}

Result<std::string> PortingService::Rollup(store::Connection& c, std::string_view request_id,
                                           std::string_view actor, std::int64_t now) {
  std::string status;
  auto roll = [&](Batch& b) -> Result<void> {
    PORTLINE_ASSIGN_OR_RETURN(status, Rollup(b, request_id, actor, now));
    return {};
  };
  PORTLINE_RETURN_IF_ERROR(WithRequestBatch(c, request_id, roll));
  return status;
}

Result<Object> PortingService::LoadConfiguration(store::Connection& c, std::string_view org) {
  Object config{{"default_contact", Object{{"name", ""}, {"email", ""}, {"phone", ""}}},
                {"notification_emails", json::array{}},
                {"default_port_time", "09:00"},
                {"default_timezone", "America/New_York"},
                {"loa_expiry_days", 14}};
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, c.Query("SELECT settings FROM port_configuration WHERE org_id = $1", {org}));
  if (!rows.empty()) {
    for (auto& [k, v] : ParseObject(rows[0].Text(0))) {
      config[k] = v;
    }
  }
  return config;
}

Result<Json> PortingService::GetConfiguration(std::string_view org) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto config, LoadConfiguration(*lease, org));
  return Json(std::move(config));
}

Result<Json> PortingService::PutConfiguration(std::string_view org, const Object& body) {
  FieldErrors errors;
  errors.RejectUnknown(body, {"default_contact", "notification_emails", "default_port_time",
                              "default_timezone", "loa_expiry_days"});
  Object out;
  if (const auto* contact = errors.OptObject(body, "default_contact")) {
    errors.RejectUnknown(*contact, {"name", "email", "phone"}, "default_contact");
    out["default_contact"] =
        Object{{"name", errors.OptString(*contact, "name", 200, "default_contact").value_or("")},
               {"email", errors.OptString(*contact, "email", 254, "default_contact").value_or("")},
               {"phone", errors.OptString(*contact, "phone", 20, "default_contact").value_or("")}};
  }
  if (const auto* ne = body.if_contains("notification_emails")) {
    if (!ne->is_array() || ne->get_array().size() > 10 ||
        std::any_of(ne->get_array().begin(), ne->get_array().end(), [](const json::value& v) {
          return !v.is_string() || v.get_string().find('@') == json::string::npos ||
                 v.get_string().size() > 254;
        })) {
      errors.Add("notification_emails", "INVALID_VALUE",
                 "notification_emails must be an array of at most 10 e-mail addresses");
    } else {
      out["notification_emails"] = *ne;
    }
  }
  if (auto t = errors.OptString(body, "default_port_time", 5)) {
    if (!numbering::ParseClockTime(*t)) {
      errors.Add("default_port_time", "INVALID_TIME", "default_port_time must be HH:MM");
    } else {
      out["default_port_time"] = *t;
    }
  }
  if (auto z = errors.OptString(body, "default_timezone", 40)) {
    if (numbering::FindTimeZone(*z) == nullptr) {
      errors.Add("default_timezone", "INVALID_TIMEZONE",
                 "default_timezone must be a US/CA IANA zone such as America/Chicago");
    } else {
      out["default_timezone"] = *z;
    }
  }
  if (auto d = errors.OptInt(body, "loa_expiry_days", 1, 90)) {
    out["loa_expiry_days"] = *d;
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto put = [&](store::Connection& c) -> Result<Json> {
    PORTLINE_ASSIGN_OR_RETURN(auto current, LoadConfiguration(c, org));
    for (auto& [k, v] : out) {
      current[k] = v;
    }
    PORTLINE_RETURN_IF_ERROR(c.Execute(
        "INSERT INTO port_configuration (org_id, settings, updated_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, "
        "updated_at = excluded.updated_at",
        {org, Dump(current), ToUnixMillis(clock_.Now())}));
    return Json(std::move(current));
  };
  return store::WithTransaction(*lease, put);
}

Result<std::map<std::string, numbering::HeldBy>> PortingService::NumbersHeld(
    std::string_view org, const std::vector<std::string>& numbers) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  return Held(*lease, org, numbers);
}

Result<std::map<std::string, numbering::HeldBy>> PortingService::Held(
    store::Connection& c, std::string_view org, const std::vector<std::string>& numbers) {
  PORTLINE_ASSIGN_OR_RETURN(const std::string realm, holdings::RealmOf(c, org));
  PORTLINE_ASSIGN_OR_RETURN(auto holders, holdings::Holders(c, realm, numbers));
  std::map<std::string, numbering::HeldBy> out;
  for (auto& [number, h] : holders) {
    if (h.org_id != org) {
      out[number] = numbering::HeldBy::kAnotherOrganization;
    } else if (h.status == holdings::Status::kActive && h.source == holdings::Source::kPortIn) {
      out[number] = numbering::HeldBy::kCaller;  // ported in already
    }
    // The caller's own attached numbers may be ported in; its own requests are reported apart.
  }
  return out;
}

Result<std::set<std::string>> PortingService::NumbersInActiveRequests(
    std::string_view org, const std::vector<std::string>& numbers) {
  std::set<std::string> out;
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto any,
      lease->Query("SELECT 1 FROM port_requests WHERE org_id = $1 AND status IN ('draft', "
                   "'waiting_for_signature', 'submitted', 'in_progress', 'action_required', "
                   "'cancel_pending') LIMIT 1",
                   {org}));
  if (any.empty()) {
    return out;
  }
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, QueryNumbersIn(*lease,
                                "SELECT phone_number FROM port_numbers WHERE org_id = $1 "
                                "AND active = 1 AND phone_number",
                                {org}, numbers));
  for (const auto& r : rows) {
    out.insert(r.Text(0));
  }
  return out;
}

namespace {

json::value CarrierJson(const numbering::Carrier* c) {
  if (c == nullptr) {
    return nullptr;
  }
  return Object{{"name", c->name},
                {"spid", c->spid},
                {"ocn", c->ocn},
                {"kind", numbering::KindName(c->kind)}};
}

// Inserts the numbers of a submission (batched: a 20,000-number request is 40 statements).
Result<void> InsertNumbers(store::Connection& c, const SecretBox& box, std::string_view request_id,
                           std::string_view org,
                           const std::vector<PortingService::Submission::Number>& numbers,
                           const std::map<std::string, std::string>& order_of_spid,
                           std::int64_t now) {
  constexpr std::size_t kBatch = 200;
  for (std::size_t i = 0; i < numbers.size(); i += kBatch) {
    const std::size_t end = std::min(numbers.size(), i + kBatch);
    std::string sql =
        "INSERT INTO port_numbers (request_id, phone_number, org_id, order_id, position, status, "
        "active, carrier, reason, pin, account_number, updated_at) VALUES ";
    store::Params params;
    std::vector<std::string> texts;  // Param borrows text: keep it alive
    texts.reserve((end - i) * 5);
    for (std::size_t k = i; k < end; ++k) {
      const auto& n = numbers[k];
      if (k > i) {
        sql += ", ";
      }
      sql += "(" + Placeholders(params.size() + 1, 12) + ")";
      texts.push_back(Dump(CarrierJson(n.check.carrier)));
      const std::string& carrier = texts.back();
      std::string reason;
      if (!n.included) {
        json::array steps;
        for (const auto& s : n.check.next_steps) {
          steps.emplace_back(s);
        }
        reason = Dump(Object{{"code", n.check.reason_code},
                             {"message", n.check.reason_message},
                             {"next_steps", std::move(steps)}});
      }
      texts.push_back(std::move(reason));
      const std::string& reason_ref = texts.back();
      texts.push_back(n.pin.empty() ? std::string() : box.Seal(n.pin));
      const std::string& pin = texts.back();
      texts.push_back(n.account_number.empty() ? std::string() : box.Seal(n.account_number));
      const std::string& account = texts.back();
      const std::string* order = nullptr;
      if (n.included) {
        order = &order_of_spid.at(n.check.carrier->spid);
      }
      params.emplace_back(request_id);
      params.emplace_back(n.e164);
      params.emplace_back(org);
      params.emplace_back(order != nullptr ? store::Param(*order) : store::Param(nullptr));
      params.emplace_back(static_cast<std::int64_t>(k));
      params.emplace_back(n.included ? kNumPending : kNumExcluded);
      params.emplace_back(n.included ? 1 : 0);
      params.emplace_back(carrier);
      params.emplace_back(reason_ref.empty() ? store::Param(nullptr) : store::Param(reason_ref));
      params.emplace_back(pin.empty() ? store::Param(nullptr) : store::Param(pin));
      params.emplace_back(account.empty() ? store::Param(nullptr) : store::Param(account));
      params.emplace_back(now);
    }
    PORTLINE_RETURN_IF_ERROR(c.Execute(sql, params));
  }
  return {};
}

// Holds the included numbers for the request; a number another organization won in the meantime
// (a concurrent request, an attach) is excluded with the check's neutral reason.
Result<void> HoldNumbers(store::Connection& c, std::string_view org, std::string_view request_id,
                         PortingService::Submission& sub, std::int64_t now) {
  std::vector<std::string> wanted;
  for (const auto& n : sub.numbers) {
    if (n.included) {
      wanted.push_back(n.e164);
    }
  }
  if (wanted.empty()) {
    return {};
  }
  PORTLINE_ASSIGN_OR_RETURN(const std::string realm, holdings::RealmOf(c, org));
  PORTLINE_ASSIGN_OR_RETURN(
      const auto taken, holdings::Take(c,
                                       holdings::Claim{realm, org, holdings::Status::kPorting,
                                                       holdings::Source::kPortIn, request_id, now},
                                       wanted));
  for (auto& n : sub.numbers) {
    if (n.included && taken.count(n.e164) > 0) {
      n.included = false;
      numbering::MarkHeldElsewhere(n.check);
    }
  }
  return {};
}

}  // namespace

Result<void> PortingService::RequireGateway(const OrgTime& t, const Submission& sub) const {
  if (t.sandbox || sub.draft || options_.live_gateway) {
    return {};
  }
  return FailCode(Errc::kUnprocessable, "PORTING_GATEWAY_NOT_CONFIGURED",
                  "this Portline deployment has no carrier gateway for live organizations, so "
                  "a live port request cannot be submitted; use a sandbox organization, or ask "
                  "the operator to configure porting.gateway");
}

std::pair<std::string, std::optional<std::int64_t>> PortingService::IssueSignature(
    Submission& sub, const Object& config, std::int64_t now) {
  if (sub.draft) {
    return {};
  }
  auto [token, expires] = NewSignatureLink(sub.details, config, now);
  return {std::move(token), expires};
}

std::pair<std::string, std::int64_t> PortingService::NewSignatureLink(Object& details,
                                                                      const Object& config,
                                                                      std::int64_t now) {
  std::string token = RandomHex(24);
  details["signature_token"] = box_.Seal(token);
  details["signature_issued_at"] = now;
  return {std::move(token),
          now + config.at("loa_expiry_days").to_number<std::int64_t>() * 86400000};
}

Result<std::size_t> PortingService::WriteOrdersAndNumbers(store::Connection& c, std::string_view id,
                                                          std::string_view org,
                                                          const Submission& sub, std::int64_t now) {
  // One child order per losing carrier.
  std::map<std::string, std::string> order_of_spid;
  for (const auto& n : sub.numbers) {
    if (n.included && order_of_spid.count(n.check.carrier->spid) == 0) {
      const std::string order = NewId("pord", clock_.Now());
      order_of_spid[n.check.carrier->spid] = order;
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("INSERT INTO port_orders (id, request_id, org_id, spid, carrier_name, status, "
                    "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
                    {order, id, org, n.check.carrier->spid, n.check.carrier->name, now}));
    }
  }
  if (order_of_spid.empty()) {
    Error e{Errc::kUnprocessable,
            "none of the numbers can be ported; see each number's reason",
            "",
            "NO_PORTABLE_NUMBERS",
            {}};
    std::size_t i = 0;
    for (const auto& n : sub.numbers) {
      // One code for the envelope (upper case, as every error code); each number's reason
      // in its message.
      e.fields.push_back(
          FieldError{"NO_PORTABLE_NUMBERS",
                     n.check.reason_message + " (" + std::string(n.check.reason_code) + ")",
                     "phone_numbers[" + std::to_string(i++) + "]"});
    }
    return tl::unexpected(std::move(e));
  }
  PORTLINE_RETURN_IF_ERROR(InsertNumbers(c, box_, id, org, sub.numbers, order_of_spid, now));
  return order_of_spid.size();
}

Result<Json> PortingService::Create(const Actor& actor, const Object& body) {
  PORTLINE_ASSIGN_OR_RETURN(auto post_port_errors, CheckPostPort(actor.org_id, body));
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, actor.org_id));
  PORTLINE_ASSIGN_OR_RETURN(auto config, LoadConfiguration(*lease, actor.org_id));
  const std::int64_t now = t.now_ms();
  const std::string id = NewId("port", clock_.Now());
  std::string token;
  auto create = [&](store::Connection& c) -> Result<Json> {
    PORTLINE_ASSIGN_OR_RETURN(auto sub,
                              ParseSubmission(c, t, actor.org_id, body, id, post_port_errors));
    PORTLINE_RETURN_IF_ERROR(RequireGateway(t, sub));
    PORTLINE_RETURN_IF_ERROR(HoldNumbers(c, actor.org_id, id, sub, now));
    const std::string status(sub.draft ? kDraft : kWaitingForSignature);
    const auto [token_new, expires] = IssueSignature(sub, config, now);
    token = token_new;
    PORTLINE_RETURN_IF_ERROR(c.Execute(
        "INSERT INTO port_requests (id, org_id, status, customer_reference, details, target_date, "
        "signature_token_hash, signature_expires_at, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        {id, actor.org_id, status, sub.customer_reference, Dump(sub.details), sub.target_date,
         token.empty() ? store::Param(nullptr) : store::Param(Sha256Hex(token)), expires, now}));
    PORTLINE_ASSIGN_OR_RETURN(const std::size_t orders,
                              WriteOrdersAndNumbers(c, id, actor.org_id, sub, now));
    std::int64_t included = 0;
    for (const auto& n : sub.numbers) {
      included += n.included ? 1 : 0;
    }
    PORTLINE_RETURN_IF_ERROR(
        Event(c, id, actor.org_id, "port.created", actor.who,
              Object{{"status", status},
                     {"numbers", included},
                     {"excluded", static_cast<std::int64_t>(sub.numbers.size()) - included},
                     {"orders", static_cast<std::int64_t>(orders)}},
              now));
    if (!sub.draft) {
      PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.signature_requested", "system",
                                     Object{{"email", sub.representative_email}}, now));
      PORTLINE_RETURN_IF_ERROR(AddJob(c, actor.org_id, id, "", "expire", *expires, Object{}));
    }
    return View(c, actor.org_id, id);
  };
  PORTLINE_ASSIGN_OR_RETURN(auto view, store::WithTransaction(*lease, create));
  // Bland's create answer: the ids, the status, the signature URL and the included numbers.
  Object& o = view.as_object();
  Object out{{"port_request_id", id}, {"status", o.at("status")}};
  out["signature_url"] = o.at("signature_url");
  json::array included;
  json::array excluded;
  for (const auto& n : o.at("phone_numbers").as_array()) {
    const auto& no = n.as_object();
    if (no.at("status").as_string() == kNumExcluded) {
      excluded.push_back(Object{{"phone_number", no.at("number")}, {"reason", no.at("reason")}});
    } else {
      included.push_back(no.at("number"));
    }
  }
  out["phone_numbers"] = std::move(included);
  out["excluded"] = std::move(excluded);
  for (const char* k : {"target_port_date", "orders", "customer_reference", "created_at"}) {
    out[k] = o.at(k);
  }
  out["port_request"] = std::move(view);
  return Json(std::move(out));
}

Result<Json> PortingService::View(store::Connection& c, std::string_view org, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows,
      c.Query("SELECT id, status, customer_reference, details, target_date, foc_date, "
              "signature_expires_at, signed_at, suggested_action, created_at, updated_at, "
              "signature FROM port_requests WHERE id = $1 AND org_id = $2",
              {id, org}));
  if (rows.empty()) {
    return RequestNotFound(id);
  }
  const auto& r = rows[0];
  Object details = ParseObject(r.Text(3));
  Object lci = details["losing_carrier_information"].is_object()
                   ? details["losing_carrier_information"].as_object()
                   : Object{};
  lci["account_number"] =
      StrOf(details, "account_number").empty() ? json::value(nullptr) : json::value("[redacted]");
  const std::string status = r.Text(1);
  Object out{
      {"id", r.Text(0)},
      {"port_request_id", r.Text(0)},
      {"status", status},
      {"suggested_action", r.OptText(8) ? json::value(*r.OptText(8)) : json::value(nullptr)},
      {"customer_reference", r.OptText(2) ? json::value(*r.OptText(2)) : json::value(nullptr)},
      {"target_port_date", r.Text(4)},
      {"target_port_time", StrOf(details, "target_port_time")},
      {"timezone", StrOf(details, "timezone")},
      {"foc_date", r.OptText(5) ? json::value(*r.OptText(5)) : json::value(nullptr)},
      {"on_demand_activation", BoolOf(details, "on_demand_activation")},
      {"new_billing_number", StrOf(details, "new_billing_number").empty()
                                 ? json::value(nullptr)
                                 : json::value(StrOf(details, "new_billing_number"))},
      {"pin_set", !StrOf(details, "pin").empty()},
      {"losing_carrier_information", lci},
      {"authorized_rep_email", lci["authorized_representative_email"]},
      {"notification_emails", lci["notification_emails"]},
      {"documents", details["documents"]},
      {"post_port", BoolOf(details, "has_post_port") ? details["post_port"] : json::value(nullptr)},
      {"signature_expires_at", TimestampJson(r.OptInt(6))},
      {"signed_at", TimestampJson(r.OptInt(7))},
      {"created_at", TimestampJson(r.Int(9))},
      {"updated_at", TimestampJson(r.Int(10))}};
  out["signature_url"] = nullptr;
  if (status == kWaitingForSignature && !StrOf(details, "signature_token").empty()) {
    if (auto token = box_.Open(StrOf(details, "signature_token"))) {
      out["signature_url"] = SignatureUrl(*token);
    }
  }
  if (r.OptText(11)) {
    Object sig = ParseObject(*r.OptText(11));
    out["signature"] = Object{{"name", sig["name"]}, {"signed_at", TimestampJson(r.OptInt(7))}};
  }
  PORTLINE_ASSIGN_OR_RETURN(
      auto orders, c.Query("SELECT o.id, o.spid, o.carrier_name, o.status, o.version, o.foc_date, "
                           "o.foc_at, o.submitted_at, o.completed_at, "
                           "(SELECT COUNT(*) FROM port_numbers n WHERE n.order_id = o.id AND "
                           "n.status <> 'canceled') "
                           "FROM port_orders o WHERE o.request_id = $1 ORDER BY o.spid",
                           {id}));
  json::array orders_out;
  for (const auto& o : orders) {
    const auto* carrier = carriers_.BySpid(o.Text(1));
    orders_out.push_back(
        Object{{"id", o.Text(0)},
               {"carrier", carrier != nullptr
                               ? CarrierJson(carrier)
                               : json::value(Object{{"name", o.Text(2)}, {"spid", o.Text(1)}})},
               {"status", o.Text(3)},
               {"version", o.Int(4)},
               {"foc_date", o.OptText(5) ? json::value(*o.OptText(5)) : json::value(nullptr)},
               {"activation_at", TimestampJson(o.OptInt(6))},
               {"submitted_at", TimestampJson(o.OptInt(7))},
               {"completed_at", TimestampJson(o.OptInt(8))},
               {"phone_numbers_count", o.Int(9)}});
  }
  out["orders"] = std::move(orders_out);
  PORTLINE_ASSIGN_OR_RETURN(
      auto numbers,
      c.Query("SELECT phone_number, status, order_id, carrier, reason, foc_date, "
              "ported_at, pin, account_number FROM port_numbers WHERE request_id = $1 "
              "ORDER BY position",
              {id}));
  json::array nums;
  nums.reserve(numbers.size());
  for (const auto& n : numbers) {
    Object no{{"number", n.Text(0)},
              {"phone_number", n.Text(0)},
              {"status", n.Text(1)},
              {"order_id", n.OptText(2) ? json::value(*n.OptText(2)) : json::value(nullptr)},
              {"carrier", n.OptText(3) ? json::parse(*n.OptText(3)) : json::value(nullptr)},
              {"foc_date", n.OptText(5) ? json::value(*n.OptText(5)) : json::value(nullptr)},
              {"ported_at", TimestampJson(n.OptInt(6))},
              {"pin_set", !n.IsNull(7)},
              {"account_number_set", !n.IsNull(8)}};
    no["reason"] = n.OptText(4) ? json::parse(*n.OptText(4)) : json::value(nullptr);
    nums.push_back(std::move(no));
  }
  out["phone_numbers"] = std::move(nums);
  return Json(std::move(out));
}

Result<Json> PortingService::Get(std::string_view org, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  return View(*lease, org, id);
}

Result<Json> PortingService::List(std::string_view org, const ListFilter& f) {
  std::string sql =
      "SELECT r.id, r.status, r.details, r.created_at, r.updated_at, r.customer_reference, "
      "r.target_date, r.foc_date FROM port_requests r WHERE r.org_id = $1";
  store::Params params{org};
  auto add = [&](std::string clause, store::Param p) {
    params.push_back(p);
    std::string::size_type pos;
    while ((pos = clause.find('?')) != std::string::npos) {
      clause.replace(pos, 1, "$" + std::to_string(params.size()));
    }
    sql += clause;
  };
  if (!f.statuses.empty()) {
    sql += " AND r.status IN (";
    for (std::size_t i = 0; i < f.statuses.size(); ++i) {
      params.emplace_back(f.statuses[i]);
      sql += (i == 0 ? "$" : ", $") + std::to_string(params.size());
    }
    sql += ")";
  }
  if (f.phone_number) {
    // Drive from the number's index, not from a scan of the organization's requests.
    add(" AND r.id IN (SELECT n.request_id FROM port_numbers n WHERE n.phone_number = ?)",
        *f.phone_number);
  }
  if (f.customer_reference) {
    add(" AND r.customer_reference = ?", *f.customer_reference);
  }
  if (f.created_after) {
    add(" AND r.created_at >= ?", *f.created_after);
  }
  if (f.created_before) {
    add(" AND r.created_at < ?", *f.created_before);
  }
  if (f.foc_from) {
    // COALESCE keeps SQLite on the newest-first index walk (a FOC-index plan sorts every match).
    add(" AND COALESCE(r.foc_date, '') >= ?", *f.foc_from);
  }
  if (f.foc_to) {
    add(" AND COALESCE(r.foc_date, '') <= ?", *f.foc_to);
  }
  if (f.after) {
    add(" AND r.id < ?", *f.after);  // newest first
  }
  params.emplace_back(static_cast<std::int64_t>(f.limit + 1));
  sql += " ORDER BY r.id DESC LIMIT $" + std::to_string(params.size());
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto rows, lease->Query(sql, params));
  std::optional<std::string> next;
  if (rows.size() > static_cast<std::size_t>(f.limit)) {
    rows.resize(static_cast<std::size_t>(f.limit));
    next = rows.back().Text(0);
  }
  // The page's numbers in one query: up to 100 per request (GET /v1/sip/port/:id has them all).
  std::map<std::string, json::array> numbers_of;
  std::map<std::string, bool> truncated;
  if (!rows.empty()) {
    store::Params ids;
    for (const auto& r : rows) {
      ids.emplace_back(r.Text(0));
    }
    PORTLINE_ASSIGN_OR_RETURN(
        auto nums,
        lease->Query("SELECT request_id, phone_number, status FROM (SELECT request_id, "
                     "phone_number, status, position, ROW_NUMBER() OVER (PARTITION BY request_id "
                     "ORDER BY position) AS k FROM port_numbers WHERE request_id IN (" +
                         Placeholders(1, ids.size()) +
                         ")) ranked WHERE k <= 101 ORDER BY request_id, position",
                     ids));
    for (const auto& n : nums) {
      auto& list = numbers_of[n.Text(0)];
      if (list.size() == 100) {
        truncated[n.Text(0)] = true;
        continue;
      }
      list.push_back(Object{{"number", n.Text(1)}, {"status", n.Text(2)}});
    }
  }
  json::array out;
  for (const auto& r : rows) {
    Object details = ParseObject(r.Text(2));
    Object lci = details["losing_carrier_information"].is_object()
                     ? details["losing_carrier_information"].as_object()
                     : Object{};
    out.push_back(Object{
        {"id", r.Text(0)},
        {"status", r.Text(1)},
        {"phone_numbers", std::move(numbers_of[r.Text(0)])},
        {"phone_numbers_truncated", truncated[r.Text(0)]},
        {"authorized_rep_email", lci["authorized_representative_email"]},
        {"notification_emails", lci["notification_emails"]},
        {"customer_reference", r.OptText(5) ? json::value(*r.OptText(5)) : json::value(nullptr)},
        {"target_port_date", r.Text(6)},
        {"foc_date", r.OptText(7) ? json::value(*r.OptText(7)) : json::value(nullptr)},
        {"created_at", TimestampJson(r.Int(3))},
        {"updated_at", TimestampJson(r.Int(4))}});
  }
  return Json(Object{{"port_requests", std::move(out)},
                     {"next_cursor", next ? json::value(*next) : json::value(nullptr)}});
}

Result<Json> PortingService::Replace(const Actor& actor, std::string_view id, const Object& body) {
  PORTLINE_ASSIGN_OR_RETURN(auto post_port_errors, CheckPostPort(actor.org_id, body));
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, actor.org_id));
  PORTLINE_ASSIGN_OR_RETURN(auto config, LoadConfiguration(*lease, actor.org_id));
  const std::int64_t now = t.now_ms();
  auto replace = [&](store::Connection& c) -> Result<Json> {
    PORTLINE_RETURN_IF_ERROR(LockRequest(c, id));
    PORTLINE_ASSIGN_OR_RETURN(auto rows,
                              c.Query("SELECT status, details FROM port_requests WHERE id = $1 AND "
                                      "org_id = $2",
                                      {id, actor.org_id}));
    if (rows.empty()) {
      return RequestNotFound(id);
    }
    const std::string status = rows[0].Text(0);
    if (status != kDraft && status != kWaitingForSignature && status != kActionRequired) {
      return FailCode(Errc::kConflict, "NOT_EDITABLE",
                      "a port request can be replaced only while draft, waiting_for_signature or "
                      "action_required (this one is " +
                          status + ")");
    }
    const Object old_details = ParseObject(rows[0].Text(1));
    PORTLINE_ASSIGN_OR_RETURN(auto sub,
                              ParseSubmission(c, t, actor.org_id, body, id, post_port_errors));
    PORTLINE_RETURN_IF_ERROR(RequireGateway(t, sub));
    if (status == kActionRequired && sub.draft) {
      return FailCode(Errc::kUnprocessable, "INVALID_VALUE",
                      "a submitted request cannot go back to draft", "draft");
    }
    // Keep stored secrets the supplement does not repeat.
    if (sub.account_number.empty()) {
      sub.details["account_number"] = old_details.contains("account_number")
                                          ? old_details.at("account_number")
                                          : json::value("");
    }
    if (sub.pin.empty()) {
      sub.details["pin"] = old_details.contains("pin") ? old_details.at("pin") : json::value("");
    }
    if (status == kActionRequired) {
      // A supplement: the same numbers (or fewer); the rejected orders go back to the carrier.
      PORTLINE_ASSIGN_OR_RETURN(const std::string signed_loa, LoaFingerprint(c, id));
      PORTLINE_ASSIGN_OR_RETURN(
          auto current, c.Query("SELECT phone_number, status, active FROM port_numbers WHERE "
                                "request_id = $1",
                                {id}));
      std::map<std::string, std::pair<std::string, bool>> existing;
      for (const auto& r : current) {
        existing[r.Text(0)] = {r.Text(1), r.Int(2) != 0};
      }
      // A request-wide PIN or account number in the supplement replaces the per-number ones
      // it does not repeat.
      if (!sub.pin.empty()) {
        PORTLINE_RETURN_IF_ERROR(
            c.Execute("UPDATE port_numbers SET pin = NULL WHERE request_id = $1", {id}));
      }
      if (!sub.account_number.empty()) {
        PORTLINE_RETURN_IF_ERROR(
            c.Execute("UPDATE port_numbers SET account_number = NULL WHERE request_id = $1", {id}));
      }
      std::set<std::string> kept;
      for (const auto& n : sub.numbers) {
        auto it = existing.find(n.e164);
        if (it == existing.end() || !it->second.second) {
          return FailCode(Errc::kUnprocessable, "NUMBERS_CHANGED",
                          n.e164 +
                              " is not an active number of this request: a supplement can "
                              "fix details or remove numbers, not add them (create a new "
                              "request for new numbers)",
                          "phone_numbers");
        }
        kept.insert(n.e164);
        if (!n.pin.empty() || !n.account_number.empty()) {
          PORTLINE_RETURN_IF_ERROR(
              c.Execute("UPDATE port_numbers SET pin = COALESCE($1, pin), account_number = "
                        "COALESCE($2, account_number) WHERE request_id = $3 AND phone_number = $4",
                        {n.pin.empty() ? store::Param(nullptr) : store::Param(box_.Seal(n.pin)),
                         n.account_number.empty() ? store::Param(nullptr)
                                                  : store::Param(box_.Seal(n.account_number)),
                         id, n.e164}));
        }
      }
      for (const auto& [number, st] : existing) {
        if (st.second && kept.count(number) == 0 && st.first != kNumPorted) {
          PORTLINE_RETURN_IF_ERROR(c.Execute(
              "UPDATE port_numbers SET status = 'canceled', active = 0, updated_at = $1 WHERE "
              "request_id = $2 AND phone_number = $3",
              {now, id, number}));
          PORTLINE_RETURN_IF_ERROR(holdings::ReleaseEndedPorts(c, {id}));
          PORTLINE_RETURN_IF_ERROR(
              Event(c, id, actor.org_id, "port.number_canceled", actor.who,
                    Object{{"phone_number", number}, {"reason", "removed by supplement"}}, now));
        }
      }
      sub.details["signature_token"] = old_details.contains("signature_token")
                                           ? old_details.at("signature_token")
                                           : json::value("");
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "UPDATE port_requests SET details = $1, customer_reference = $2, target_date = $3, "
          "suggested_action = NULL, updated_at = $4 WHERE id = $5",
          {Dump(sub.details), sub.customer_reference, sub.target_date, now, id}));
      PORTLINE_ASSIGN_OR_RETURN(
          auto rejected, c.Query("SELECT id FROM port_orders WHERE request_id = $1 AND status = "
                                 "'rejected'",
                                 {id}));
      for (const auto& o : rejected) {
        PORTLINE_RETURN_IF_ERROR(
            c.Execute("UPDATE port_orders SET status = 'pending', version = version + 1, "
                      "updated_at = $1 WHERE id = $2",
                      {now, o.Text(0)}));
        PORTLINE_RETURN_IF_ERROR(c.Execute(
            "UPDATE port_numbers SET status = 'pending', reason = NULL, updated_at = $1 WHERE "
            "order_id = $2 AND active = 1 AND status IN ('rejected', 'submitted')",
            {now, o.Text(0)}));
        PORTLINE_RETURN_IF_ERROR(AddJob(c, actor.org_id, id, o.Text(0), "submit", now, Object{}));
      }
      PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.supplemented", actor.who,
                                     Object{{"orders", static_cast<std::int64_t>(rejected.size())}},
                                     now));
      PORTLINE_RETURN_IF_ERROR(Rollup(c, id, actor.who, now));
      // What was signed must be what is sent: a change to anything the LOA prints needs a new
      // signature before the orders go back to the carrier.
      PORTLINE_ASSIGN_OR_RETURN(const std::string supplemented_loa, LoaFingerprint(c, id));
      if (supplemented_loa != signed_loa) {
        PORTLINE_RETURN_IF_ERROR(VoidSignature(c, actor, id, config, now));
      }
      return View(c, actor.org_id, id);
    }
    // Before signature: a full replace, numbers and orders rebuilt.
    PORTLINE_RETURN_IF_ERROR(c.Execute("DELETE FROM port_numbers WHERE request_id = $1", {id}));
    PORTLINE_RETURN_IF_ERROR(c.Execute("DELETE FROM port_orders WHERE request_id = $1", {id}));
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("DELETE FROM port_jobs WHERE request_id = $1 AND kind = 'expire'", {id}));
    PORTLINE_RETURN_IF_ERROR(HoldNumbers(c, actor.org_id, id, sub, now));
    PORTLINE_RETURN_IF_ERROR(WriteOrdersAndNumbers(c, id, actor.org_id, sub, now));
    PORTLINE_RETURN_IF_ERROR(holdings::ReleaseEndedPorts(c, {id}));  // numbers it dropped
    const std::string next(sub.draft ? kDraft : kWaitingForSignature);
    // The LOA changed: a new signature link (the old one stops working).
    const auto [token, expires] = IssueSignature(sub, config, now);
    PORTLINE_RETURN_IF_ERROR(c.Execute(
        "UPDATE port_requests SET status = $1, details = $2, customer_reference = $3, "
        "target_date = $4, signature_token_hash = $5, signature_expires_at = $6, updated_at = $7 "
        "WHERE id = $8",
        {next, Dump(sub.details), sub.customer_reference, sub.target_date,
         token.empty() ? store::Param(nullptr) : store::Param(Sha256Hex(token)), expires, now,
         id}));
    PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.updated", actor.who,
                                   Object{{"from", status}, {"to", next}}, now));
    if (!sub.draft) {
      PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.signature_requested", "system",
                                     Object{{"email", sub.representative_email}}, now));
      PORTLINE_RETURN_IF_ERROR(AddJob(c, actor.org_id, id, "", "expire", *expires, Object{}));
    }
    return View(c, actor.org_id, id);
  };
  return store::WithTransaction(*lease, replace);
}

namespace {
constexpr std::int64_t kFreezeMs = 48LL * 3600 * 1000;  // no cancel within 48 h of the FOC
}

Result<Json> PortingService::Cancel(const Actor& actor, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, actor.org_id));
  const std::int64_t now = t.now_ms();
  auto cancel = [&](store::Connection& c) -> Result<Json> {
    PORTLINE_RETURN_IF_ERROR(LockRequest(c, id));
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT status FROM port_requests WHERE id = $1 AND org_id = $2",
                           {id, actor.org_id}));
    if (rows.empty()) {
      return RequestNotFound(id);
    }
    const std::string status = rows[0].Text(0);
    if (status == kCancelPending || status == kCanceled) {
      return Json(Object{{"canceled", true}, {"id", id}, {"status", status}});
    }
    if (status == kCompleted || status == kExpired || status == kFailed) {
      return FailCode(
          Errc::kConflict, "NOT_CANCELABLE",
          "port request " + std::string(id) + " is " + status + " and can no longer be canceled");
    }
    PORTLINE_ASSIGN_OR_RETURN(auto orders,
                              c.Query("SELECT id, status, foc_at, foc_date FROM port_orders WHERE "
                                      "request_id = $1",
                                      {id}));
    for (const auto& o : orders) {
      const auto foc_at = o.OptInt(2);
      if (foc_at && o.Text(1) != "ported" && o.Text(1) != "canceled" && *foc_at - now < kFreezeMs) {
        return FailCode(Errc::kUnprocessable, "CANCEL_TOO_LATE",
                        "the FOC of order " + o.Text(0) + " is " + o.Text(3) + " (" +
                            FormatRfc3339(FromUnixMillis(*foc_at)) +
                            "): a port cannot be canceled within 48 hours of its FOC; contact "
                            "support, or let it complete and port the number back");
      }
    }
    bool at_carrier = false;
    for (const auto& o : orders) {
      const std::string& st = o.Text(1);
      if (st == "pending") {
        PORTLINE_RETURN_IF_ERROR(
            c.Execute("UPDATE port_orders SET status = 'canceled', updated_at = $1 WHERE id = $2",
                      {now, o.Text(0)}));
        PORTLINE_RETURN_IF_ERROR(c.Execute(
            "UPDATE port_numbers SET status = 'canceled', active = 0, updated_at = $1 WHERE "
            "order_id = $2 AND status <> 'ported'",
            {now, o.Text(0)}));
        PORTLINE_RETURN_IF_ERROR(holdings::ReleaseEndedPorts(c, {id}));
      } else if (st != "ported" && st != "canceled") {
        at_carrier = true;
        PORTLINE_RETURN_IF_ERROR(c.Execute(
            "UPDATE port_orders SET status = 'cancel_pending', updated_at = $1 WHERE id = $2",
            {now, o.Text(0)}));
        PORTLINE_RETURN_IF_ERROR(AddJob(c, actor.org_id, id, o.Text(0), "cancel", now, Object{}));
      }
    }
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("DELETE FROM port_jobs WHERE request_id = $1 AND kind IN ('expire', 'submit', "
                  "'carrier_response', 'activate', 'activation_ready')",
                  {id}));
    PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.cancel_requested", actor.who,
                                   Object{{"from", status}}, now));
    std::string next;
    if (at_carrier) {
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("UPDATE port_requests SET status = 'cancel_pending', updated_at = $1 WHERE "
                    "id = $2",
                    {now, id}));
      next = kCancelPending;
    } else {
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "UPDATE port_numbers SET status = 'canceled', active = 0, updated_at = $1 WHERE "
          "request_id = $2 AND status NOT IN ('ported', 'excluded', 'canceled')",
          {now, id}));
      PORTLINE_RETURN_IF_ERROR(holdings::ReleaseEndedPorts(c, {id}));
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("UPDATE port_requests SET status = 'canceled', suggested_action = NULL, "
                    "updated_at = $1 WHERE id = $2",
                    {now, id}));
      PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.canceled", actor.who,
                                     Object{{"from", status}, {"to", kCanceled}}, now));
      next = kCanceled;
    }
    return Json(Object{{"canceled", true}, {"id", id}, {"status", next}});
  };
  return store::WithTransaction(*lease, cancel);
}

Result<Json> PortingService::GetNumber(std::string_view org, std::string_view id,
                                       std::string_view number) {
  PORTLINE_ASSIGN_OR_RETURN(auto view, Get(org, id));
  for (const auto& n : view.as_object().at("phone_numbers").as_array()) {
    if (n.as_object().at("number").as_string() == number) {
      Object out = n.as_object();
      out["port_request_id"] = id;
      return Json(std::move(out));
    }
  }
  return FailCode(Errc::kNotFound, "NUMBER_NOT_FOUND",
                  std::string(number) + " is not in port request " + std::string(id));
}

Result<Json> PortingService::CancelNumber(const Actor& actor, std::string_view id,
                                          std::string_view number) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, actor.org_id));
  const std::int64_t now = t.now_ms();
  auto cancel = [&](store::Connection& c) -> Result<Json> {
    PORTLINE_RETURN_IF_ERROR(LockRequest(c, id));
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows,
        c.Query("SELECT n.status, n.order_id, o.foc_at, o.foc_date, r.status FROM port_numbers n "
                "JOIN port_requests r ON r.id = n.request_id LEFT JOIN port_orders o ON "
                "o.id = n.order_id WHERE n.request_id = $1 AND r.org_id = $2 AND "
                "n.phone_number = $3",
                {id, actor.org_id, number}));
    if (rows.empty()) {
      return FailCode(Errc::kNotFound, "NUMBER_NOT_FOUND",
                      std::string(number) + " is not in port request " + std::string(id));
    }
    const std::string st = rows[0].Text(0);
    if (st == kNumPorted || st == kNumCanceled || st == kNumExcluded) {
      return FailCode(Errc::kConflict, "NOT_CANCELABLE",
                      std::string(number) + " is " + st + " and can no longer be canceled");
    }
    if (rows[0].Text(4) == kCancelPending) {
      return FailCode(Errc::kConflict, "NOT_CANCELABLE",
                      "the whole request is already being canceled");
    }
    if (const auto foc_at = rows[0].OptInt(2); foc_at && *foc_at - now < kFreezeMs) {
      return FailCode(Errc::kUnprocessable, "CANCEL_TOO_LATE",
                      std::string(number) + " ports on " + rows[0].Text(3) +
                          ": a number cannot be removed within 48 hours of its FOC");
    }
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("UPDATE port_numbers SET status = 'canceled', active = 0, updated_at = $1 WHERE "
                  "request_id = $2 AND phone_number = $3",
                  {now, id, number}));
    PORTLINE_RETURN_IF_ERROR(holdings::ReleaseEndedPorts(c, {id}));
    PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.number_canceled", actor.who,
                                   Object{{"phone_number", number}}, now));
    // An order left without numbers is canceled with it.
    if (!rows[0].IsNull(1)) {
      PORTLINE_ASSIGN_OR_RETURN(auto left,
                                c.Query("SELECT COUNT(*) FROM port_numbers WHERE order_id = $1 AND "
                                        "status NOT IN ('canceled', 'excluded')",
                                        {rows[0].Text(1)}));
      if (left[0].Int(0) == 0) {
        PORTLINE_RETURN_IF_ERROR(
            c.Execute("UPDATE port_orders SET status = 'canceled', updated_at = $1 WHERE id = $2",
                      {now, rows[0].Text(1)}));
        PORTLINE_RETURN_IF_ERROR(
            c.Execute("DELETE FROM port_jobs WHERE order_id = $1", {rows[0].Text(1)}));
      }
    }
    const std::string request_status = rows[0].Text(4);
    if (request_status == kDraft || request_status == kWaitingForSignature) {
      PORTLINE_ASSIGN_OR_RETURN(
          auto left, c.Query("SELECT COUNT(*) FROM port_numbers WHERE request_id = $1 AND "
                             "active = 1",
                             {id}));
      if (left[0].Int(0) == 0) {
        PORTLINE_RETURN_IF_ERROR(
            c.Execute("UPDATE port_requests SET status = 'canceled', updated_at = $1 WHERE id = $2",
                      {now, id}));
        PORTLINE_RETURN_IF_ERROR(c.Execute("DELETE FROM port_jobs WHERE request_id = $1", {id}));
        PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.canceled", actor.who,
                                       Object{{"from", request_status}, {"to", kCanceled}}, now));
      }
    } else {
      PORTLINE_RETURN_IF_ERROR(Rollup(c, id, actor.who, now));
    }
    PORTLINE_ASSIGN_OR_RETURN(auto status,
                              c.Query("SELECT status FROM port_requests WHERE id = $1", {id}));
    return Json(Object{{"canceled", true},
                       {"phone_number", number},
                       {"port_request_id", id},
                       {"request_status", status[0].Text(0)}});
  };
  return store::WithTransaction(*lease, cancel);
}

Result<Json> PortingService::Events(std::string_view org, std::string_view id,
                                    std::int64_t after_sequence, int limit) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_RETURN_IF_ERROR(RequireRequest(*lease, org, id));
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT id, sequence, type, actor, data, occurred_at FROM "
                              "port_events WHERE request_id = $1 AND sequence > $2 ORDER BY "
                              "sequence LIMIT $3",
                              {id, after_sequence, static_cast<std::int64_t>(limit + 1)}));
  std::optional<std::string> next;
  if (rows.size() > static_cast<std::size_t>(limit)) {
    rows.resize(static_cast<std::size_t>(limit));
    next = std::to_string(rows.back().Int(1));
  }
  json::array out;
  for (const auto& r : rows) {
    out.push_back(Object{{"id", r.Text(0)},
                         {"sequence", r.Int(1)},
                         {"type", r.Text(2)},
                         {"actor", r.Text(3)},
                         {"data", json::parse(r.Text(4))},
                         {"occurred_at", TimestampJson(r.Int(5))}});
  }
  return Json(Object{{"events", std::move(out)},
                     {"next_cursor", next ? json::value(*next) : json::value(nullptr)}});
}

Result<Json> PortingService::AddNote(const Actor& actor, std::string_view id, const Object& body) {
  FieldErrors errors;
  errors.RejectUnknown(body, {"body", "author"});
  const auto text = errors.String(body, "body", 5000);
  const auto author = errors.OptString(body, "author", 100);
  if (text && text->empty()) {
    errors.Add("body", "REQUIRED", "body must not be empty");
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, actor.org_id));
  const std::int64_t now = t.now_ms();
  auto add = [&](store::Connection& c) -> Result<Json> {
    PORTLINE_RETURN_IF_ERROR(LockRequest(c, id));
    PORTLINE_RETURN_IF_ERROR(RequireRequest(c, actor.org_id, id));
    PORTLINE_ASSIGN_OR_RETURN(
        auto count, c.Query("SELECT COUNT(*) FROM port_notes WHERE request_id = $1", {id}));
    if (count.at(0).Int(0) >= kMaxNotesPerRequest) {
      return FailCode(
          Errc::kConflict, "LIMIT_REACHED",
          "a port request has at most " + std::to_string(kMaxNotesPerRequest) + " notes");
    }
    const std::string note_id = NewId("note", clock_.Now());
    const std::string who = author.value_or(actor.who);
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("INSERT INTO port_notes (id, request_id, org_id, author, body, created_at) "
                  "VALUES ($1, $2, $3, $4, $5, $6)",
                  {note_id, id, actor.org_id, who, *text, now}));
    PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.note_created", actor.who,
                                   Object{{"note_id", note_id}}, now));
    return Json(Object{{"id", note_id},
                       {"port_request_id", id},
                       {"author", who},
                       {"body", *text},
                       {"created_at", TimestampJson(now)}});
  };
  return store::WithTransaction(*lease, add);
}

Result<Json> PortingService::Notes(std::string_view org, std::string_view id,
                                   const std::optional<std::string>& after, int limit) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_RETURN_IF_ERROR(RequireRequest(*lease, org, id));
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT id, author, body, created_at FROM port_notes WHERE "
                              "request_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                              {id, after.value_or(""), static_cast<std::int64_t>(limit) + 1}));
  std::optional<std::string> next;
  if (rows.size() > static_cast<std::size_t>(limit)) {
    rows.resize(static_cast<std::size_t>(limit));
    next = rows.back().Text(0);
  }
  json::array out;
  for (const auto& r : rows) {
    out.push_back(Object{{"id", r.Text(0)},
                         {"author", r.Text(1)},
                         {"body", r.Text(2)},
                         {"created_at", TimestampJson(r.Int(3))}});
  }
  return Json(Object{{"notes", std::move(out)},
                     {"next_cursor", next ? json::value(*next) : json::value(nullptr)}});
}

namespace {
// Whether `t` is inside the carrier's activation window (business day, minutes of day, Eastern).
bool InWindow(const numbering::Carrier& carrier, std::chrono::system_clock::time_point t,
              numbering::Country country, std::string* now_text) {
  const auto* et = numbering::FindTimeZone("America/New_York");
  const auto local = numbering::UtcToLocal(*et, t);
  if (now_text != nullptr) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    const int h = local.minute_of_day / 60;
    const int m = local.minute_of_day % 60;
    *now_text = std::string(kDays[local.weekday.c_encoding()]) + " " +
                numbering::FormatDate(local.date) + " " + (h < 10 ? "0" : "") + std::to_string(h) +
                ":" + (m < 10 ? "0" : "") + std::to_string(m) + " ET";
  }
  return numbering::IsBusinessDay(local.date, country) &&
         local.minute_of_day >= carrier.rules.activation_start_minute &&
         local.minute_of_day < carrier.rules.activation_end_minute;
}
}  // namespace

Result<Json> PortingService::Activations(std::string_view org, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, org));
  PORTLINE_ASSIGN_OR_RETURN(
      auto req,
      lease->Query("SELECT details FROM port_requests WHERE id = $1 AND org_id = $2", {id, org}));
  if (req.empty()) {
    return RequestNotFound(id);
  }
  const bool on_demand = BoolOf(ParseObject(req[0].Text(0)), "on_demand_activation");
  PORTLINE_ASSIGN_OR_RETURN(
      auto orders, lease->Query("SELECT o.id, o.spid, o.status, o.foc_date, "
                                "(SELECT COUNT(*) FROM port_numbers n WHERE n.order_id = o.id AND "
                                "n.status NOT IN ('canceled', 'excluded')) FROM port_orders o "
                                "WHERE o.request_id = $1 ORDER BY o.spid",
                                {id}));
  json::array groups;
  for (const auto& o : orders) {
    const auto* carrier = carriers_.BySpid(o.Text(1));
    std::string now_text;
    const bool window =
        carrier != nullptr &&
        InWindow(*carrier, t.now,
                 o.Text(1).starts_with("S4") ? numbering::Country::kCa : numbering::Country::kUs,
                 &now_text);
    const bool ready = o.Text(2) == "activation_ready";
    groups.push_back(Object{
        {"group_id", o.Text(0)},
        {"carrier", carrier != nullptr ? CarrierJson(carrier) : json::value(nullptr)},
        {"status", o.Text(2)},
        {"foc_date", o.OptText(3) ? json::value(*o.OptText(3)) : json::value(nullptr)},
        {"phone_numbers_count", o.Int(4)},
        {"activation_window",
         carrier != nullptr ? json::value(carrier->rules.activation_window) : json::value(nullptr)},
        {"in_window", window},
        {"activatable", on_demand && ready && window}});
  }
  return Json(Object{{"on_demand_activation", on_demand},
                     {"now", FormatRfc3339(t.now)},
                     {"groups", std::move(groups)}});
}

Result<Json> PortingService::Activate(const Actor& actor, std::string_view id, const Object& body) {
  FieldErrors errors;
  errors.RejectUnknown(body, {"group_ids"});
  std::vector<std::string> groups;
  const auto* list = body.if_contains("group_ids");
  if (list == nullptr || !list->is_array() || list->get_array().empty() ||
      list->get_array().size() > 100) {
    errors.Add("group_ids", "REQUIRED", "group_ids must list 1 to 100 activation group ids");
  } else {
    for (const auto& g : list->get_array()) {
      if (!g.is_string()) {
        errors.Add("group_ids", "INVALID_TYPE", "group_ids must be strings");
        break;
      }
      groups.emplace_back(g.get_string());
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, actor.org_id));
  const std::int64_t now = t.now_ms();
  PORTLINE_ASSIGN_OR_RETURN(
      auto req, lease->Query("SELECT details FROM port_requests WHERE id = $1 AND org_id = $2",
                             {id, actor.org_id}));
  if (req.empty()) {
    return RequestNotFound(id);
  }
  if (!BoolOf(ParseObject(req[0].Text(0)), "on_demand_activation")) {
    return FailCode(Errc::kUnprocessable, "NOT_ON_DEMAND",
                    "this request activates at its FOC automatically; on-demand activation "
                    "needs on_demand_activation: true");
  }
  // Check every group first: all or nothing.
  const std::string today = numbering::FormatDate(LocalDate("America/New_York", t.now));
  for (const auto& g : groups) {
    PORTLINE_ASSIGN_OR_RETURN(
        auto o, lease->Query("SELECT spid, status, foc_date FROM port_orders WHERE id = $1 AND "
                             "request_id = $2",
                             {g, id}));
    if (o.empty()) {
      return FailCode(Errc::kNotFound, "GROUP_NOT_FOUND",
                      "activation group " + g + " is not part of port request " + std::string(id),
                      "group_ids");
    }
    const std::string& status = o[0].Text(1);
    const auto* carrier = carriers_.BySpid(o[0].Text(0));
    if (status == "ported") {
      return FailCode(Errc::kConflict, "ALREADY_ACTIVATED",
                      "activation group " + g + " is already ported", "group_ids");
    }
    if (status != "activation_ready" && status != "foc_confirmed") {
      return FailCode(Errc::kUnprocessable, "NOT_ACTIVATABLE",
                      "activation group " + g + " is " + status +
                          ": only groups with a confirmed FOC can be activated",
                      "group_ids");
    }
    if (o[0].Text(2) > today) {
      return FailCode(Errc::kUnprocessable, "BEFORE_FOC",
                      "activation group " + g + " has its FOC on " + o[0].Text(2) +
                          "; it can be activated from that date (today is " + today + ")",
                      "group_ids");
    }
    std::string now_text;
    if (carrier == nullptr || !InWindow(*carrier, t.now,
                                        o[0].Text(0).starts_with("S4") ? numbering::Country::kCa
                                                                       : numbering::Country::kUs,
                                        &now_text)) {
      return FailCode(Errc::kUnprocessable, "OUTSIDE_ACTIVATION_WINDOW",
                      "activation group " + g + " can be activated only inside " +
                          (carrier != nullptr ? carrier->rules.activation_window : "the window") +
                          " on business days (now: " + now_text + ")",
                      "group_ids");
    }
  }
  json::array activated;
  {
    auto released = std::move(lease);  // no connection held across the carrier call
  }
  for (const auto& g : groups) {
    std::vector<std::string> numbers;
    {
      PORTLINE_ASSIGN_OR_RETURN(auto c, db_.Acquire());
      PORTLINE_ASSIGN_OR_RETURN(
          auto nums, c->Query("SELECT phone_number FROM port_numbers WHERE order_id = $1 AND "
                              "status IN ('foc_confirmed', 'activation_ready')",
                              {g}));
      for (const auto& n : nums) {
        numbers.push_back(n.Text(0));
      }
    }
    PORTLINE_RETURN_IF_ERROR(gateway_.Activate(g, numbers, t.now));
    auto activate = [&](Batch& b) { return ActivateOrder(b, id, g, actor.who, now); };
    auto apply = [&](store::Connection& c) { return WithRequestBatch(c, id, activate); };
    PORTLINE_ASSIGN_OR_RETURN(auto c, db_.Acquire());
    PORTLINE_RETURN_IF_ERROR(store::WithTransaction(*c, apply));
    activated.emplace_back(g);
  }
  PORTLINE_ASSIGN_OR_RETURN(auto after, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto view, View(*after, actor.org_id, id));
  return Json(Object{{"activated", std::move(activated)},
                     {"status", view.as_object().at("status")},
                     {"port_request", std::move(view)}});
}

namespace {
// What LoadSignatureView reads, in its order; callers add the condition.
constexpr std::string_view kSignatureViewSelect =
    "SELECT id, org_id, status, details, target_date, signed_at, signature, "
    "signature_expires_at, signed_loa FROM port_requests WHERE ";
}  // namespace

Result<SignatureView> PortingService::SignaturePage(std::string_view token) {
  if (token.size() != 48) {
    return FailCode(Errc::kNotFound, "SIGNATURE_LINK_INVALID", "this signature link is not valid");
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query(std::string(kSignatureViewSelect) + "signature_token_hash = $1",
                              {Sha256Hex(token)}));
  if (rows.empty()) {
    return FailCode(Errc::kNotFound, "SIGNATURE_LINK_INVALID",
                    "this signature link is not valid (it may have been replaced by a newer one)");
  }
  return LoadSignatureView(*lease, rows[0]);
}

Result<SignatureView> PortingService::LoadSignatureView(store::Connection& c, const store::Row& r) {
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(c, r.Text(1)));
  SignatureView v;
  v.request_id = r.Text(0);
  v.org_id = r.Text(1);
  v.status = r.Text(2);
  if (v.status == kWaitingForSignature && r.OptInt(7) && *r.OptInt(7) <= t.now_ms()) {
    v.status = kExpired;  // the expiry step may not have run yet
  }
  Object details = ParseObject(r.Text(3));
  Object lci = details["losing_carrier_information"].is_object()
                   ? details["losing_carrier_information"].as_object()
                   : Object{};
  v.customer_type = StrOf(lci, "customer_type");
  v.representative_name = StrOf(lci, "first_name") + " " + StrOf(lci, "last_name");
  v.customer = v.customer_type == "business" ? StrOf(lci, "business_name") : v.representative_name;
  v.representative_email = StrOf(lci, "authorized_representative_email");
  if (const std::string sealed = StrOf(details, "account_number"); !sealed.empty()) {
    // Masked to its last four characters: enough for the signer to recognize it.
    const auto account = box_.Open(sealed);
    const std::string plain = account ? *account : std::string();
    v.account_number_masked =
        plain.size() > 4 ? "ending in " + plain.substr(plain.size() - 4) : "on file";
  }
  if (details["new_billing_number"].is_string()) {
    v.billing_number = std::string(details["new_billing_number"].as_string());
  }
  v.link_issued_at = details["signature_issued_at"].is_int64()
                         ? std::optional<std::int64_t>(details["signature_issued_at"].as_int64())
                         : std::nullopt;
  v.signed_loa = r.OptText(8).value_or("");
  if (lci["address"].is_object()) {
    const auto& a = lci["address"].as_object();
    v.address = StrOf(a, "street") +
                (StrOf(a, "street2").empty() ? "" : ", " + StrOf(a, "street2")) + ", " +
                StrOf(a, "city") + ", " + StrOf(a, "state") + " " + StrOf(a, "zip");
  }
  v.target_date = r.Text(4);
  v.signed_at = r.OptInt(5);
  if (r.OptText(6)) {
    v.signature_json = *r.OptText(6);
    v.signer_name = StrOf(ParseObject(v.signature_json), "name");
  }
  PORTLINE_ASSIGN_OR_RETURN(auto nums,
                            c.Query("SELECT phone_number, carrier FROM port_numbers WHERE "
                                    "request_id = $1 AND status NOT IN ('excluded', 'canceled') "
                                    "ORDER BY position",
                                    {v.request_id}));
  for (const auto& n : nums) {
    v.numbers.emplace_back(
        n.Text(0), n.OptText(1) ? StrOf(ParseObject(*n.OptText(1)), "name") : std::string());
  }
  if (v.billing_number.empty() && !v.numbers.empty()) {
    v.billing_number = v.numbers.front().first;  // the account's main number
  }
  return v;
}

namespace {

documents::LoaData LoaDataOf(const SignatureView& v) {
  documents::LoaData d;
  d.request_id = v.request_id;
  d.customer_type = v.customer_type;
  d.account_holder = v.customer;
  d.representative_name = v.representative_name;
  d.representative_email = v.representative_email;
  d.service_address = v.address;
  d.billing_number = v.billing_number;
  d.account_number_hint = v.account_number_masked;
  d.target_date = v.target_date;
  d.numbers = v.numbers;
  return d;
}

}  // namespace

Result<std::string> PortingService::RenderLoa(const SignatureView& v) {
  if (!v.signed_loa.empty()) {
    auto bytes = Base64Decode(v.signed_loa);
    if (!bytes) {
      return Fail(Errc::kInternal, "the stored signed LOA is damaged", v.request_id);
    }
    return std::move(*bytes);  // as signed: never rendered again from later data
  }
  const documents::LoaData data = LoaDataOf(v);
  if (v.signature_json.empty()) {
    return documents::RenderLoa(data);
  }
  const Object sig = ParseObject(v.signature_json);
  documents::SignatureAudit a;
  a.name = StrOf(sig, "name");
  a.title = StrOf(sig, "title");
  a.email = StrOf(sig, "email");
  a.ip = StrOf(sig, "ip");
  a.user_agent = StrOf(sig, "user_agent");
  a.signed_at = StrOf(sig, "signed_at");
  a.link_issued_at = StrOf(sig, "link_issued_at");
  a.loa_sha256 = StrOf(sig, "loa_sha256");
  a.consent_text = StrOf(sig, "consent_text");
  if (const std::string drawn = StrOf(sig, "drawn_signature"); !drawn.empty()) {
    if (auto png = documents::DecodeSignaturePng(drawn)) {
      a.drawn_png = std::move(*png);
    }
  }
  return documents::RenderSignedLoa(data, a);
}

Result<std::string> PortingService::LoaFingerprint(store::Connection& c, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(auto rows,
                            c.Query(std::string(kSignatureViewSelect) + "id = $1", {id}));
  if (rows.empty()) {
    return RequestNotFound(id);
  }
  PORTLINE_ASSIGN_OR_RETURN(auto view, LoadSignatureView(c, rows[0]));
  const documents::LoaData d = LoaDataOf(view);
  // The requested date is left out: a supplement moves it when it moves nothing else, and the
  // carrier sets the real date (the FOC) anyway.
  std::string out = d.customer_type + "\n" + d.account_holder + "\n" + d.representative_name +
                    "\n" + d.representative_email + "\n" + d.service_address + "\n" +
                    d.billing_number + "\n" + d.account_number_hint;
  for (const auto& [number, carrier] : d.numbers) {
    out += "\n" + number + " " + carrier;
  }
  return out;
}

Result<void> PortingService::VoidSignature(store::Connection& c, const Actor& actor,
                                           std::string_view id, const Object& config,
                                           std::int64_t now) {
  PORTLINE_ASSIGN_OR_RETURN(auto rows,
                            c.Query("SELECT details FROM port_requests WHERE id = $1", {id}));
  Object details = ParseObject(rows.at(0).Text(0));
  const auto [token, expires] = NewSignatureLink(details, config, now);
  PORTLINE_RETURN_IF_ERROR(c.Execute(
      "UPDATE port_requests SET status = 'waiting_for_signature', signed_at = NULL, signature = "
      "NULL, signed_loa = NULL, suggested_action = NULL, details = $1, signature_token_hash = $2, "
      "signature_expires_at = $3, updated_at = $4 WHERE id = $5",
      {Dump(details), Sha256Hex(token), expires, now, id}));
  // Nothing goes to the carrier until it is signed again (signing submits the pending orders).
  PORTLINE_RETURN_IF_ERROR(
      c.Execute("DELETE FROM port_jobs WHERE request_id = $1 AND kind = 'submit'", {id}));
  PORTLINE_RETURN_IF_ERROR(AddJob(c, actor.org_id, id, "", "expire", expires, Object{}));
  PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.signature_voided", actor.who,
                                 Object{{"reason", "the supplement changed what the LOA shows"}},
                                 now));
  const Object lci = details["losing_carrier_information"].is_object()
                         ? details["losing_carrier_information"].as_object()
                         : Object{};
  return Event(c, id, actor.org_id, "port.signature_requested", "system",
               Object{{"email", StrOf(lci, "authorized_representative_email")}}, now);
}

Result<std::string> PortingService::Loa(std::string_view org, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query(std::string(kSignatureViewSelect) + "id = $1 AND org_id = $2",
                              {std::string(id), std::string(org)}));
  if (rows.empty()) {
    return RequestNotFound(id);
  }
  PORTLINE_ASSIGN_OR_RETURN(auto view, LoadSignatureView(*lease, rows[0]));
  return RenderLoa(view);
}

Result<Json> PortingService::ResendSignature(const Actor& actor, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, actor.org_id));
  PORTLINE_ASSIGN_OR_RETURN(auto config, LoadConfiguration(*lease, actor.org_id));
  const std::int64_t now = t.now_ms();
  const std::string request(id);
  auto resend = [&](store::Connection& c) -> Result<void> {
    PORTLINE_RETURN_IF_ERROR(LockRequest(c, request));
    PORTLINE_ASSIGN_OR_RETURN(auto rows,
                              c.Query("SELECT status, details FROM port_requests WHERE id = $1 AND "
                                      "org_id = $2",
                                      {request, actor.org_id}));
    if (rows.empty()) {
      return RequestNotFound(request);
    }
    if (rows[0].Text(0) != kWaitingForSignature) {
      return FailCode(Errc::kConflict, "NOT_AWAITING_SIGNATURE",
                      "port request " + request + " is " + rows[0].Text(0) +
                          "; only a request waiting for its signature gets a new link");
    }
    Object details = ParseObject(rows[0].Text(1));
    const auto [token, expires] = NewSignatureLink(details, config, now);
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("UPDATE port_requests SET details = $1, signature_token_hash = $2, "
                  "signature_expires_at = $3, updated_at = $4 WHERE id = $5",
                  {Dump(details), Sha256Hex(token), expires, now, request}));
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("DELETE FROM port_jobs WHERE request_id = $1 AND kind = 'expire'", {request}));
    PORTLINE_RETURN_IF_ERROR(AddJob(c, actor.org_id, request, "", "expire", expires, Object{}));
    return Event(c, request, actor.org_id, "port.signature_requested", actor.who,
                 Object{{"resent", true}, {"expires_at", FormatRfc3339(FromUnixMillis(expires))}},
                 now);
  };
  PORTLINE_RETURN_IF_ERROR(store::WithTransaction(*lease, resend));
  return View(*lease, actor.org_id, request);
}

namespace {

// Names compared as a person would: case and runs of spaces do not matter.
std::string NameKey(std::string_view name) {
  std::string out;
  for (char ch : name) {
    if (ch == ' ' || ch == '\t') {
      if (!out.empty() && out.back() != ' ') {
        out.push_back(' ');
      }
    } else {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

bool SameName(std::string_view a, std::string_view b) { return NameKey(a) == NameKey(b); }

}  // namespace

Result<SignatureView> PortingService::Sign(std::string_view token, const SignatureInput& input) {
  FieldErrors errors;
  if (input.name.empty() || input.name.size() > 200) {
    errors.Add("name", "REQUIRED", "type your full name (1 to 200 characters) to sign");
  }
  if (input.title.size() > 100) {
    errors.Add("title", "TOO_LONG", "the title is at most 100 characters");
  }
  // What reaches the LOA and storage is text: no NUL, no broken UTF-8.
  for (const auto& [field, text] :
       {std::pair<std::string, const std::string&>{"name", input.name}, {"title", input.title}}) {
    if (!IsValidUtf8(text) || text.find('\0') != std::string::npos) {
      errors.Add(field, "INVALID_FIELD", field + " must be plain text (UTF-8, no NUL)");
    }
  }
  if (!input.consent) {
    errors.Add("consent", "REQUIRED",
               "tick the box to confirm you are authorized to port these numbers");
  }
  std::string drawn_data_url;
  if (!input.drawn.empty()) {
    if (auto png = documents::DecodeSignaturePng(input.drawn); !png) {
      errors.Add("drawn", png.error().api_code, png.error().message);
    } else {
      drawn_data_url = input.drawn;  // kept as sent: a validated PNG data URL
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto page, SignaturePage(token));
  if (page.status == kWaitingForSignature && !SameName(input.name, page.representative_name)) {
    return FailCode(Errc::kInvalidArgument, "SIGNER_NOT_REPRESENTATIVE",
                    "type the name of the authorized representative on file, " +
                        page.representative_name +
                        "; if someone else must sign, ask for the request to be corrected",
                    "name");
  }
  // The LOA the signer was shown renders to the same bytes from the same request: its hash goes
  // into the audit trail.
  PORTLINE_ASSIGN_OR_RETURN(const std::string loa, documents::RenderLoa(LoaDataOf(page)));
  const std::string loa_sha256 = Sha256Hex(loa);
  if (page.status != kWaitingForSignature) {
    return FailCode(Errc::kConflict, "NOT_AWAITING_SIGNATURE",
                    page.status == kExpired
                        ? "this signature link has expired; ask for a new one"
                        : "this port request is " + page.status + " and needs no signature");
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto org_rows,
      lease->Query("SELECT org_id FROM port_requests WHERE id = $1", {page.request_id}));
  const std::string org = org_rows.at(0).Text(0);
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, org));
  const std::int64_t now = t.now_ms();
  const std::string id = page.request_id;
  auto sign = [&](store::Connection& c) -> Result<void> {
    PORTLINE_RETURN_IF_ERROR(LockRequest(c, id));
    PORTLINE_ASSIGN_OR_RETURN(auto st, c.Query("SELECT status FROM port_requests WHERE id = $1 AND "
                                               "signature_token_hash = $2",
                                               {id, Sha256Hex(token)}));
    if (st.empty() || st[0].Text(0) != kWaitingForSignature) {
      return FailCode(Errc::kConflict, "NOT_AWAITING_SIGNATURE",
                      "this port request no longer waits for a signature");
    }
    const Object signature{
        {"name", input.name},
        {"title", input.title},
        {"email", page.representative_email},
        {"ip", input.ip},
        {"user_agent", input.user_agent.substr(0, 500)},
        {"consent", true},
        {"consent_text", documents::ConsentText(LoaDataOf(page))},
        {"loa_sha256", loa_sha256},
        {"drawn_signature", drawn_data_url},
        {"signed_at", FormatRfc3339(FromUnixMillis(now))},
        {"link_issued_at", page.link_issued_at ? FormatRfc3339(FromUnixMillis(*page.link_issued_at))
                                               : std::string()}};
    // Rendered once, now, and kept: what is served later is what was signed.
    SignatureView signed_view = page;
    signed_view.signature_json = Dump(signature);
    PORTLINE_ASSIGN_OR_RETURN(const std::string signed_loa, RenderLoa(signed_view));
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("UPDATE port_requests SET status = 'submitted', signed_at = $1, signature = $2, "
                  "signed_loa = $3, updated_at = $1 WHERE id = $4",
                  {now, signed_view.signature_json, Base64Encode(signed_loa), id}));
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("DELETE FROM port_jobs WHERE request_id = $1 AND kind = 'expire'", {id}));
    PORTLINE_RETURN_IF_ERROR(
        Event(c, id, org, "port.signed", "signer:" + page.representative_email,
              Object{{"name", input.name}, {"ip", input.ip}, {"loa_sha256", loa_sha256}}, now));
    PORTLINE_ASSIGN_OR_RETURN(
        auto orders,
        c.Query("SELECT id FROM port_orders WHERE request_id = $1 AND status = 'pending'", {id}));
    for (const auto& o : orders) {
      PORTLINE_RETURN_IF_ERROR(AddJob(c, org, id, o.Text(0), "submit", now, Object{}));
    }
    return Event(c, id, org, "port.submitted", "system",
                 Object{{"orders", static_cast<std::int64_t>(orders.size())}}, now);
  };
  PORTLINE_RETURN_IF_ERROR(store::WithTransaction(*lease, sign));
  {
    auto released = std::move(lease);  // SignaturePage takes its own connection
  }
  return SignaturePage(token);
}

}  // namespace portline::porting
