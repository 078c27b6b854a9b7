// Reading port requests: one request as the API shows it, and the filtered, paged list.
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

}  // namespace portline::porting
