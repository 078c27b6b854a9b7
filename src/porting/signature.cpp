// The signature step: issuing and voiding links, the signing page, the LOA and its signing.
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
