// Creating and replacing (supplementing) port requests: numbers, child orders, holds.
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

namespace {

// Inserts the numbers of a submission (ExecuteRows chunks them: a 20,000-number request is 61
// statements).
Result<void> InsertNumbers(store::Connection& c, const SecretBox& box, std::string_view request_id,
                           std::string_view org,
                           const std::vector<PortingService::Submission::Number>& numbers,
                           const std::map<std::string, std::string>& order_of_spid,
                           std::int64_t now) {
  store::Params values;
  values.reserve(numbers.size() * 12);
  for (std::size_t k = 0; k < numbers.size(); ++k) {
    const auto& n = numbers[k];
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
    values.emplace_back(request_id);
    values.emplace_back(n.e164);
    values.emplace_back(org);
    values.emplace_back(n.included ? store::Param(order_of_spid.at(n.check.carrier->spid))
                                   : store::Param(nullptr));
    values.emplace_back(static_cast<std::int64_t>(k));
    values.emplace_back(n.included ? kNumPending : kNumExcluded);
    values.emplace_back(n.included ? 1 : 0);
    values.emplace_back(Dump(CarrierJson(n.check.carrier)));
    values.emplace_back(reason.empty() ? store::Param(nullptr) : store::Param(std::move(reason)));
    values.emplace_back(n.pin.empty() ? store::Param(nullptr) : store::Param(box.Seal(n.pin)));
    values.emplace_back(n.account_number.empty() ? store::Param(nullptr)
                                                 : store::Param(box.Seal(n.account_number)));
    values.emplace_back(now);
  }
  static const std::vector<std::string_view> kColumns(12, "");
  PORTLINE_RETURN_IF_ERROR(store::ExecuteRows(
      c,
      "INSERT INTO port_numbers (request_id, phone_number, org_id, order_id, position, status, "
      "active, carrier, reason, pin, account_number, updated_at) VALUES ",
      "", kColumns, values));
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

}  // namespace portline::porting
