// The durable workflow: due steps are claimed with a lease, applied in one transaction with
// their events and follow-up steps, and deleted by that same transaction. Carrier calls happen
// before the transaction and are idempotent per (order, version), so a crash between the call
// and the commit only repeats the call.
#include <algorithm>
#include <map>

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "numbering/calendar.hpp"
#include "porting/internal.hpp"
#include "porting/rejections.hpp"

namespace portline::porting {
namespace {

// Deletes the claimed step inside the applying transaction; false when another node took it
// over (its lease expired), in which case the transaction must not apply anything.
Result<bool> Finish(store::Connection& c, const PortingService::Job& job, std::string_view owner) {
  PORTLINE_ASSIGN_OR_RETURN(
      auto n,
      c.Execute("DELETE FROM port_jobs WHERE id = $1 AND lease_owner = $2", {job.id, owner}));
  return n == 1;
}

}  // namespace

Result<carriers::CarrierOrder> PortingService::BuildCarrierOrder(store::Connection& c,
                                                                 std::string_view org,
                                                                 std::string_view request_id,
                                                                 std::string_view order_id) {
  PORTLINE_ASSIGN_OR_RETURN(
      auto req,
      c.Query("SELECT details, target_date FROM port_requests WHERE id = $1", {request_id}));
  PORTLINE_ASSIGN_OR_RETURN(
      auto ord, c.Query("SELECT spid, version FROM port_orders WHERE id = $1", {order_id}));
  if (req.empty() || ord.empty()) {
    return Fail(Errc::kNotFound, "order not found", std::string(order_id));
  }
  Object details = ParseObject(req[0].Text(0));
  Object lci = details["losing_carrier_information"].is_object()
                   ? details["losing_carrier_information"].as_object()
                   : Object{};
  Object addr = lci["address"].is_object() ? lci["address"].as_object() : Object{};
  auto open = [this](const std::string& sealed) -> Result<std::string> {
    if (sealed.empty()) {
      return std::string();
    }
    return box_.Open(sealed);
  };
  carriers::CarrierOrder o;
  o.pon = std::string(order_id);
  o.version = static_cast<int>(ord[0].Int(1));
  o.org_id = std::string(org);
  o.spid = ord[0].Text(0);
  o.customer_type = StrOf(lci, "customer_type");
  o.business_name = StrOf(lci, "business_name");
  o.first_name = StrOf(lci, "first_name");
  o.last_name = StrOf(lci, "last_name");
  PORTLINE_ASSIGN_OR_RETURN(o.account_number, open(StrOf(details, "account_number")));
  PORTLINE_ASSIGN_OR_RETURN(o.pin, open(StrOf(details, "pin")));
  o.street = StrOf(addr, "street");
  o.street2 = StrOf(addr, "street2");
  o.city = StrOf(addr, "city");
  o.state = StrOf(addr, "state");
  o.zip = StrOf(addr, "zip");
  o.country = StrOf(addr, "country");
  o.new_billing_number = StrOf(details, "new_billing_number");
  o.due_date = numbering::ParseDate(req[0].Text(1)).value_or(numbering::Date{});
  PORTLINE_ASSIGN_OR_RETURN(
      auto nums, c.Query("SELECT phone_number, pin, account_number FROM port_numbers WHERE "
                         "order_id = $1 AND active = 1 AND status IN ('pending', 'submitted') "
                         "ORDER BY position",
                         {order_id}));
  for (const auto& n : nums) {
    carriers::OrderLine line{n.Text(0), {}, {}};
    PORTLINE_ASSIGN_OR_RETURN(line.pin, open(n.Text(1)));
    PORTLINE_ASSIGN_OR_RETURN(line.account_number, open(n.Text(2)));
    o.lines.push_back(std::move(line));
  }
  return o;
}

Result<void> PortingService::ApplyDecision(store::Connection& c, const Job& job, std::int64_t now) {
  PORTLINE_ASSIGN_OR_RETURN(
      auto ord, c.Query("SELECT status, version, spid, foc_date FROM port_orders WHERE id = $1",
                        {job.order_id}));
  if (ord.empty() || ord[0].Text(0) != "submitted" ||
      ord[0].Int(1) != job.payload.at("version").to_number<std::int64_t>()) {
    return {};  // canceled or superseded by a supplement: the answer is stale
  }
  PORTLINE_ASSIGN_OR_RETURN(
      auto req, c.Query("SELECT details FROM port_requests WHERE id = $1", {job.request_id}));
  const Object details = ParseObject(req.at(0).Text(0));
  const auto* carrier = carriers_.BySpid(ord[0].Text(2));
  const std::string carrier_name = carrier != nullptr ? carrier->name : ord[0].Text(2);

  if (job.payload.at("accepted").as_bool()) {
    const std::string foc = StrOf(job.payload, "foc_date");
    const std::int64_t foc_at =
        InstantOf(foc, StrOf(details, "target_port_time"), StrOf(details, "timezone"));
    const bool changed = ord[0].OptText(3).has_value() && *ord[0].OptText(3) != foc;
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("UPDATE port_orders SET status = 'foc_confirmed', foc_date = $1, foc_at = $2, "
                  "updated_at = $3 WHERE id = $4",
                  {foc, foc_at, now, job.order_id}));
    PORTLINE_RETURN_IF_ERROR(c.Execute(
        "UPDATE port_numbers SET status = 'foc_confirmed', foc_date = $1, updated_at = $2 WHERE "
        "order_id = $3 AND active = 1 AND status = 'submitted'",
        {foc, now, job.order_id}));
    PORTLINE_RETURN_IF_ERROR(c.Execute(
        "UPDATE port_requests SET foc_date = (SELECT MIN(foc_date) FROM port_orders WHERE "
        "request_id = $1 AND foc_date IS NOT NULL), updated_at = $2 WHERE id = $1",
        {job.request_id, now}));
    PORTLINE_RETURN_IF_ERROR(Event(c, job.request_id, job.org_id,
                                   changed ? "port.foc_changed" : "port.foc_confirmed",
                                   "carrier:" + ord[0].Text(2),
                                   Object{{"order_id", job.order_id},
                                          {"carrier", carrier_name},
                                          {"foc_date", foc},
                                          {"activation_at", TimestampJson(foc_at)}},
                                   now));
    if (BoolOf(details, "on_demand_activation")) {
      // Ready from the start of the activation window on the FOC date.
      const int start = carrier != nullptr ? carrier->rules.activation_start_minute : 8 * 60;
      const std::string hhmm = (start / 60 < 10 ? "0" : "") + std::to_string(start / 60) + ":" +
                               (start % 60 < 10 ? "0" : "") + std::to_string(start % 60);
      PORTLINE_RETURN_IF_ERROR(AddJob(c, job.org_id, job.request_id, job.order_id,
                                      "activation_ready", InstantOf(foc, hhmm, "America/New_York"),
                                      Object{}));
    } else {
      PORTLINE_RETURN_IF_ERROR(
          AddJob(c, job.org_id, job.request_id, job.order_id, "activate", foc_at, Object{}));
    }
    return Rollup(c, job.request_id, "carrier:" + ord[0].Text(2), now).map([](auto&&) {});
  }

  // Rejected: attach every rejection to the numbers it concerns.
  PORTLINE_ASSIGN_OR_RETURN(auto nums,
                            c.Query("SELECT phone_number FROM port_numbers WHERE order_id = $1 AND "
                                    "active = 1 AND status = 'submitted' ORDER BY position",
                                    {job.order_id}));
  std::map<std::string, json::array> per_number;
  std::map<std::string, bool> fixable;
  std::vector<std::string> fields;
  std::string first_hint;
  for (const auto& rj : job.payload.at("rejects").as_array()) {
    const auto& o = rj.as_object();
    const std::string raw = StrOf(o, "code");
    const auto& info = ClassifyRejection(raw);
    json::array fix;
    for (auto f : info.fields_to_fix) {
      fix.emplace_back(f);
      if (std::find(fields.begin(), fields.end(), f) == fields.end()) {
        fields.emplace_back(f);
      }
    }
    if (first_hint.empty() && info.fixable) {
      first_hint = std::string(info.hint);
    }
    const Object entry{{"raw_code", raw},
                       {"code", info.code},
                       {"message", StrOf(o, "message")},
                       {"fields_to_fix", std::move(fix)},
                       {"hint", info.hint},
                       {"fixable", info.fixable}};
    const std::string number = StrOf(o, "phone_number");
    for (const auto& n : nums) {
      if (number.empty() || number == n.Text(0)) {
        per_number[n.Text(0)].push_back(entry);
        auto [it, fresh] = fixable.emplace(n.Text(0), info.fixable);
        if (!fresh) {
          it->second = it->second && info.fixable;
        }
      }
    }
  }
  bool any_fixable = false;
  for (const auto& [number, rejections] : per_number) {
    const bool fix = fixable[number];
    any_fixable = any_fixable || fix;
    PORTLINE_RETURN_IF_ERROR(c.Execute(
        "UPDATE port_numbers SET status = 'rejected', active = $1, reason = $2, updated_at = $3 "
        "WHERE order_id = $4 AND phone_number = $5",
        {fix ? 1 : 0,
         Dump(Object{{"code", rejections.front().as_object().at("code")},
                     {"message", rejections.front().as_object().at("message")},
                     {"rejections", rejections}}),
         now, job.order_id, number}));
    PORTLINE_RETURN_IF_ERROR(Event(
        c, job.request_id, job.org_id, "port.number_rejected", "carrier:" + ord[0].Text(2),
        Object{{"phone_number", number}, {"order_id", job.order_id}, {"rejections", rejections}},
        now));
  }
  if (!any_fixable) {
    // Only final rejections: the carrier gets the order again without those numbers.
    PORTLINE_ASSIGN_OR_RETURN(auto left,
                              c.Query("SELECT COUNT(*) FROM port_numbers WHERE order_id = $1 AND "
                                      "active = 1 AND status = 'submitted'",
                                      {job.order_id}));
    if (left[0].Int(0) > 0) {
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "UPDATE port_orders SET status = 'pending', version = version + 1, updated_at = $1 "
          "WHERE id = $2",
          {now, job.order_id}));
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "UPDATE port_numbers SET status = 'pending' WHERE order_id = $1 AND active = 1 AND "
          "status = 'submitted'",
          {job.order_id}));
      PORTLINE_RETURN_IF_ERROR(
          AddJob(c, job.org_id, job.request_id, job.order_id, "submit", now, Object{}));
    } else {
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("UPDATE port_orders SET status = 'failed', updated_at = $1 WHERE id = $2",
                    {now, job.order_id}));
    }
    return Rollup(c, job.request_id, "carrier:" + ord[0].Text(2), now).map([](auto&&) {});
  }
  PORTLINE_RETURN_IF_ERROR(
      c.Execute("UPDATE port_orders SET status = 'rejected', updated_at = $1 WHERE id = $2",
                {now, job.order_id}));
  std::string fields_text;
  for (const auto& f : fields) {
    fields_text += (fields_text.empty() ? "" : ", ") + std::string(f);
  }
  const std::string action = carrier_name + " rejected the order. " + first_hint +
                             (fields_text.empty() ? "" : " Fields to fix: " + fields_text + ".") +
                             " Then resubmit with PUT /v1/sip/port/" + job.request_id +
                             " (the full request).";
  PORTLINE_RETURN_IF_ERROR(
      c.Execute("UPDATE port_requests SET suggested_action = $1, updated_at = $2 WHERE id = $3",
                {action, now, job.request_id}));
  PORTLINE_ASSIGN_OR_RETURN(auto status,
                            Rollup(c, job.request_id, "carrier:" + ord[0].Text(2), now));
  (void)status;
  return {};
}

Result<void> PortingService::ActivateOrder(store::Connection& c, std::string_view org,
                                           std::string_view request_id, std::string_view order_id,
                                           std::string_view actor, std::int64_t now) {
  PORTLINE_ASSIGN_OR_RETURN(auto ord,
                            c.Query("SELECT status FROM port_orders WHERE id = $1", {order_id}));
  if (ord.empty() || (ord[0].Text(0) != "foc_confirmed" && ord[0].Text(0) != "activation_ready")) {
    return {};  // canceled or already activated
  }
  PORTLINE_ASSIGN_OR_RETURN(
      auto nums, c.Query("SELECT phone_number FROM port_numbers WHERE order_id = $1 AND status IN "
                         "('foc_confirmed', 'activation_ready') ORDER BY position",
                         {order_id}));
  // The numbers become the organization's inbound numbers.
  PORTLINE_RETURN_IF_ERROR(c.Execute(
      "INSERT INTO phone_numbers (phone_number, org_id, status, source, created_at) "
      "SELECT phone_number, org_id, 'active', 'port_in', $1 FROM port_numbers WHERE "
      "order_id = $2 AND status IN ('foc_confirmed', 'activation_ready') "
      "ON CONFLICT (phone_number) DO UPDATE SET org_id = excluded.org_id, status = 'active', "
      "source = 'port_in'",
      {now, order_id}));
  PORTLINE_RETURN_IF_ERROR(c.Execute(
      "UPDATE port_numbers SET status = 'ported', active = 0, ported_at = $1, updated_at = $1 "
      "WHERE order_id = $2 AND status IN ('foc_confirmed', 'activation_ready')",
      {now, order_id}));
  PORTLINE_RETURN_IF_ERROR(c.Execute(
      "UPDATE port_orders SET status = 'ported', completed_at = $1, updated_at = $1 WHERE id = $2",
      {now, order_id}));
  for (const auto& n : nums) {
    PORTLINE_RETURN_IF_ERROR(Event(c, request_id, org, "port.number_ported", actor,
                                   Object{{"phone_number", n.Text(0)}, {"order_id", order_id}},
                                   now));
  }
  PORTLINE_ASSIGN_OR_RETURN(
      auto req, c.Query("SELECT details FROM port_requests WHERE id = $1", {request_id}));
  // Ported numbers become inbound numbers of the SIP API: with the request's post_port
  // configuration, or a plain inbound one (Bland registers ported numbers as inbound).
  if (!nums.empty()) {
    PORTLINE_RETURN_IF_ERROR(AddJob(c, org, request_id, order_id, "post_port", now, Object{}));
  }
  return Rollup(c, request_id, actor, now).map([](auto&&) {});
}

Result<PortingService::StepApply> PortingService::PrepareStep(
    const Job& job, std::map<std::string, OrgTime>& org_times) {
  // Reads and calls out (carrier gateway, post-port hook) happen here, with no connection held
  // across a call out: those may take their own, and a pool must never wait on itself. The
  // returned closure writes the step's effects inside the batch transaction.
  OrgTime t;
  if (const auto it = org_times.find(job.org_id); it != org_times.end()) {
    t = it->second;
  } else {
    PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
    PORTLINE_ASSIGN_OR_RETURN(t, LoadOrgTime(*lease, job.org_id));
    org_times.emplace(job.org_id, t);
  }
  // A sandbox step happens at its due time, even when it runs late (a crashed node's lease had
  // to expire first): the simulated flow is then the same as without the crash.
  if (t.sandbox) {
    t.now = FromUnixMillis(job.due_at);
  }
  const std::int64_t now = t.now_ms();

  if (job.kind == "submit") {
    carriers::CarrierOrder order;
    {
      PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
      PORTLINE_ASSIGN_OR_RETURN(
          order, BuildCarrierOrder(*lease, job.org_id, job.request_id, job.order_id));
    }
    if (order.lines.empty()) {
      return StepApply([](store::Connection&) -> Result<void> { return {}; });
    }
    PORTLINE_ASSIGN_OR_RETURN(auto decision, gateway_.Submit(order, t.now));
    json::array rejects;
    for (const auto& r : decision.rejects) {
      rejects.push_back(
          Object{{"phone_number", r.phone_number}, {"code", r.code}, {"message", r.message}});
    }
    const Object payload{
        {"version", order.version},
        {"accepted", decision.accepted},
        {"foc_date", decision.accepted ? numbering::FormatDate(decision.foc_date) : std::string()},
        {"rejects", std::move(rejects)}};
    const std::int64_t respond_at = ToUnixMillis(decision.respond_at);
    const int version = order.version;
    const std::string spid = order.spid;
    const auto lines = static_cast<std::int64_t>(order.lines.size());
    return StepApply([this, job, now, payload, respond_at, version, spid,
                      lines](store::Connection& c) -> Result<void> {
      PORTLINE_ASSIGN_OR_RETURN(
          auto st,
          c.Query("SELECT status, version FROM port_orders WHERE id = $1", {job.order_id}));
      if (st.empty() || st[0].Text(0) != "pending" || st[0].Int(1) != version) {
        return {};
      }
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "UPDATE port_orders SET status = 'submitted', submitted_at = $1, updated_at = $1 WHERE "
          "id = $2",
          {now, job.order_id}));
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "UPDATE port_numbers SET status = 'submitted', updated_at = $1 WHERE order_id = $2 AND "
          "active = 1 AND status = 'pending'",
          {now, job.order_id}));
      PORTLINE_RETURN_IF_ERROR(Event(c, job.request_id, job.org_id, "port.order_submitted",
                                     "system",
                                     Object{{"order_id", job.order_id},
                                            {"carrier", spid},
                                            {"version", version},
                                            {"numbers", lines}},
                                     now));
      PORTLINE_RETURN_IF_ERROR(AddJob(c, job.org_id, job.request_id, job.order_id,
                                      "carrier_response", respond_at, payload));
      return Rollup(c, job.request_id, "system", now).map([](auto&&) {});
    });
  }
  if (job.kind == "carrier_response") {
    return StepApply([this, job, now](store::Connection& c) { return ApplyDecision(c, job, now); });
  }
  if (job.kind == "activate") {
    std::vector<std::string> numbers;
    {
      PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
      PORTLINE_ASSIGN_OR_RETURN(
          auto nums, lease->Query("SELECT phone_number FROM port_numbers WHERE order_id = $1 AND "
                                  "status IN ('foc_confirmed', 'activation_ready')",
                                  {job.order_id}));
      for (const auto& n : nums) {
        numbers.push_back(n.Text(0));
      }
    }
    if (!numbers.empty()) {
      PORTLINE_RETURN_IF_ERROR(gateway_.Activate(job.order_id, numbers, t.now));
    }
    return StepApply([this, job, now](store::Connection& c) {
      return ActivateOrder(c, job.org_id, job.request_id, job.order_id, "system", now);
    });
  }
  if (job.kind == "activation_ready") {
    return StepApply([this, job, now](store::Connection& c) -> Result<void> {
      PORTLINE_ASSIGN_OR_RETURN(
          auto n, c.Execute("UPDATE port_orders SET status = 'activation_ready', updated_at = $1 "
                            "WHERE id = $2 AND status = 'foc_confirmed'",
                            {now, job.order_id}));
      if (n == 0) {
        return {};
      }
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("UPDATE port_numbers SET status = 'activation_ready', updated_at = $1 WHERE "
                    "order_id = $2 AND status = 'foc_confirmed'",
                    {now, job.order_id}));
      return Event(c, job.request_id, job.org_id, "port.activation_ready", "system",
                   Object{{"order_id", job.order_id}, {"group_id", job.order_id}}, now);
    });
  }
  if (job.kind == "expire") {
    return StepApply([this, job, now](store::Connection& c) -> Result<void> {
      PORTLINE_ASSIGN_OR_RETURN(
          auto n, c.Execute("UPDATE port_requests SET status = 'expired', updated_at = $1 WHERE "
                            "id = $2 AND status = 'waiting_for_signature'",
                            {now, job.request_id}));
      if (n == 0) {
        return {};
      }
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "UPDATE port_numbers SET status = 'canceled', active = 0, updated_at = $1 WHERE "
          "request_id = $2 AND status = 'pending'",
          {now, job.request_id}));
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "UPDATE port_orders SET status = 'canceled', updated_at = $1 WHERE request_id = $2",
          {now, job.request_id}));
      return Event(c, job.request_id, job.org_id, "port.expired", "system",
                   Object{{"reason", "the LOA was not signed in time"}}, now);
    });
  }
  if (job.kind == "cancel") {
    PORTLINE_ASSIGN_OR_RETURN(auto confirmed_at, gateway_.Cancel(job.order_id, t.now));
    const std::int64_t at = ToUnixMillis(confirmed_at);
    return StepApply([this, job, at](store::Connection& c) {
      return AddJob(c, job.org_id, job.request_id, job.order_id, "cancel_confirmed", at, Object{});
    });
  }
  if (job.kind == "cancel_confirmed") {
    return StepApply([this, job, now](store::Connection& c) -> Result<void> {
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("UPDATE port_orders SET status = 'canceled', updated_at = $1 WHERE id = $2 AND "
                    "status = 'cancel_pending'",
                    {now, job.order_id}));
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "UPDATE port_numbers SET status = 'canceled', active = 0, updated_at = $1 WHERE "
          "order_id = $2 AND status NOT IN ('ported', 'excluded', 'canceled')",
          {now, job.order_id}));
      PORTLINE_RETURN_IF_ERROR(Event(c, job.request_id, job.org_id, "port.order_canceled",
                                     "carrier", Object{{"order_id", job.order_id}}, now));
      return Rollup(c, job.request_id, "system", now).map([](auto&&) {});
    });
  }
  if (job.kind == "post_port") {
    Result<void> applied;
    if (post_port_) {
      Object post;
      std::vector<std::string> numbers;
      {
        PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
        PORTLINE_ASSIGN_OR_RETURN(
            auto req,
            lease->Query("SELECT details FROM port_requests WHERE id = $1", {job.request_id}));
        PORTLINE_ASSIGN_OR_RETURN(
            auto nums, lease->Query("SELECT phone_number FROM port_numbers WHERE order_id = $1 "
                                    "AND status = 'ported' ORDER BY position",
                                    {job.order_id}));
        Object details = ParseObject(req.at(0).Text(0));
        if (BoolOf(details, "has_post_port") && details["post_port"].is_object()) {
          post = details["post_port"].as_object();
        } else {
          post =
              Object{{"service", "sip"}, {"directions", json::array{Object{{"type", "inbound"}}}}};
        }
        for (const auto& n : nums) {
          numbers.push_back(n.Text(0));
        }
      }
      // Attach in chunks of the SIP API's limit.
      for (std::size_t i = 0; i < numbers.size() && applied; i += 100) {
        std::vector<std::string> chunk(
            numbers.begin() + static_cast<std::ptrdiff_t>(i),
            numbers.begin() + static_cast<std::ptrdiff_t>(std::min(numbers.size(), i + 100)));
        applied = post_port_(job.org_id, chunk, post);
      }
      if (!applied && applied.error().Retryable()) {
        return tl::unexpected(applied.error());
      }
    }
    const Object data =
        applied ? Object{{"order_id", job.order_id}}
                : Object{{"order_id", job.order_id}, {"error", applied.error().message}};
    const bool ok = applied.has_value();
    return StepApply([this, job, now, data, ok](store::Connection& c) {
      return Event(c, job.request_id, job.org_id,
                   ok ? "port.post_port_applied" : "port.post_port_failed", "system", data, now);
    });
  }
  return Fail(Errc::kInternal, "unknown workflow step " + job.kind);
}

Result<int> PortingService::RunDue(const std::optional<std::string>& org, int max) {
  const std::int64_t wall = ToUnixMillis(clock_.Now());
  std::string sql =
      "SELECT j.id, j.org_id, j.request_id, j.order_id, j.kind, j.due_at, j.payload, j.attempts "
      "FROM port_jobs j JOIN organizations o ON o.id = j.org_id WHERE "
      "j.due_at <= $1 + o.clock_offset_ms AND (j.lease_until IS NULL OR j.lease_until < $1)";
  store::Params params{wall, static_cast<std::int64_t>(max)};
  if (org) {
    sql += " AND j.org_id = $3";
    params.emplace_back(*org);
  }
  sql += " ORDER BY j.due_at, j.id LIMIT $2";
  std::vector<Job> jobs;
  {
    PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
    PORTLINE_ASSIGN_OR_RETURN(auto rows, lease->Query(sql, params));
    if (rows.empty()) {
      return 0;
    }
    // Claim them all in one statement; only those this node got are run.
    const std::int64_t at = ToUnixMillis(clock_.Now());
    store::Params claim{options_.node_id, at + options_.lease.count(), at};
    for (const auto& r : rows) {
      claim.emplace_back(r.Text(0));
    }
    PORTLINE_ASSIGN_OR_RETURN(
        auto claimed,
        lease->Query("UPDATE port_jobs SET lease_owner = $1, lease_until = $2, attempts = "
                     "attempts + 1 WHERE (lease_until IS NULL OR lease_until < $3) AND id IN (" +
                         Placeholders(4, rows.size()) + ") RETURNING id",
                     claim));
    std::set<std::string> mine;
    for (const auto& c : claimed) {
      mine.insert(c.Text(0));
    }
    for (const auto& r : rows) {
      if (mine.count(r.Text(0)) > 0) {
        jobs.push_back(Job{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Int(5),
                           ParseObject(r.Text(6)), r.Int(7)});
      }
    }
  }
  // Phase 1: reads and calls out, step by step.
  std::vector<std::pair<const Job*, StepApply>> ready;
  std::vector<std::pair<const Job*, Error>> failed;
  std::map<std::string, OrgTime> org_times;  // one clock read per organization per batch
  for (const auto& job : jobs) {
    auto prepared = PrepareStep(job, org_times);
    if (prepared) {
      ready.emplace_back(&job, std::move(*prepared));
    } else {
      failed.emplace_back(&job, std::move(prepared).error());
    }
  }
  // Phase 2: one transaction applies them all (one commit for the batch). Should any step fail,
  // the batch is rolled back and each step is applied in a transaction of its own, so the failing
  // one is retried later alone.
  if (!ready.empty()) {
    // Request order (stable: a request's own steps keep their due order), so two nodes applying
    // batches lock requests in the same order and cannot deadlock.
    std::stable_sort(ready.begin(), ready.end(), [](const auto& x, const auto& y) {
      return x.first->request_id < y.first->request_id;
    });
    PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
    auto apply_one = [&](store::Connection& c, const Job& job,
                         const StepApply& fn) -> Result<void> {
      PORTLINE_ASSIGN_OR_RETURN(bool still_mine, Finish(c, job, options_.node_id));
      if (!still_mine) {
        return {};  // our lease expired and another node took the step over
      }
      PORTLINE_RETURN_IF_ERROR(LockRequest(c, job.request_id));
      return fn(c);
    };
    auto apply_all = [&](store::Connection& c) -> Result<void> {
      for (auto& [job, fn] : ready) {
        PORTLINE_RETURN_IF_ERROR(apply_one(c, *job, fn));
      }
      return {};
    };
    if (!store::WithTransaction(*lease, apply_all)) {
      for (auto& [job, fn] : ready) {
        auto single = [&](store::Connection& c) { return apply_one(c, *job, fn); };
        if (auto done = store::WithTransaction(*lease, single); !done) {
          failed.emplace_back(job, std::move(done).error());
        }
      }
    }
  }
  // Failed steps are retried later with exponential backoff (1 s … 1 h).
  for (const auto& [job, error] : failed) {
    const std::int64_t backoff =
        std::min<std::int64_t>(3600000, 1000LL << std::min<std::int64_t>(job->attempts, 12));
    log::Warn("workflow step failed; will retry", {{"job", job->id},
                                                   {"kind", job->kind},
                                                   {"request", job->request_id},
                                                   {"error", error.message},
                                                   {"detail", error.detail}});
    PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
    PORTLINE_RETURN_IF_ERROR(lease->Execute(
        "UPDATE port_jobs SET lease_owner = NULL, lease_until = $1, "
        "last_error = $2 WHERE id = $3 AND lease_owner = $4",
        {ToUnixMillis(clock_.Now()) + backoff, error.message, job->id, options_.node_id}));
  }
  if (!jobs.empty()) {
    log::Debug("workflow batch", {{"node", options_.node_id},
                                  {"steps", static_cast<std::int64_t>(jobs.size())},
                                  {"failed", static_cast<std::int64_t>(failed.size())}});
  }
  return static_cast<int>(jobs.size());
}

Result<bool> PortingService::IsSandbox(std::string_view org) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, org));
  return t.sandbox;
}

Result<Json> PortingService::SandboxClock(std::string_view org) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, org));
  if (!t.sandbox) {
    return FailCode(Errc::kNotFound, "NOT_SANDBOX",
                    "this organization is live: it has no sandbox clock");
  }
  PORTLINE_ASSIGN_OR_RETURN(
      auto next,
      lease->Query("SELECT COUNT(*), MIN(due_at), SUM(CASE WHEN due_at <= $2 THEN 1 ELSE 0 END) "
                   "FROM port_jobs WHERE org_id = $1",
                   {org, t.now_ms()}));
  return Json(Object{{"now", FormatRfc3339(t.now)},
                     {"offset_seconds", t.offset_ms / 1000},
                     {"pending_steps", next[0].Int(0)},
                     {"due_steps", next[0].Int(2)},
                     {"next_step_at", TimestampJson(next[0].OptInt(1))}});
}

Result<Json> PortingService::AdvanceClock(std::string_view org, const Object& body) {
  FieldErrors errors;
  errors.RejectUnknown(body, {"seconds", "minutes", "hours", "days", "business_days", "to"});
  std::int64_t delta_ms = 0;
  int given = 0;
  constexpr std::int64_t kMaxDays = 400;
  for (const auto& [key, unit] : std::initializer_list<std::pair<std::string_view, std::int64_t>>{
           {"seconds", 1000}, {"minutes", 60000}, {"hours", 3600000}, {"days", 86400000}}) {
    if (auto v = errors.OptInt(body, key, 0, kMaxDays * 86400000 / unit)) {
      delta_ms += *v * unit;
      ++given;
    }
  }
  const auto business = errors.OptInt(body, "business_days", 0, 250);
  const auto to = errors.OptString(body, "to", 40);
  given += (business ? 1 : 0) + (to ? 1 : 0);
  if (given == 0 && errors.empty()) {
    errors.Add("days", "REQUIRED",
               "give how far to advance: seconds, minutes, hours, days, business_days or to");
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  OrgTime t;
  {
    PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
    PORTLINE_ASSIGN_OR_RETURN(t, LoadOrgTime(*lease, org));
  }
  if (!t.sandbox) {
    return FailCode(Errc::kNotFound, "NOT_SANDBOX",
                    "this organization is live: it has no sandbox clock");
  }
  std::int64_t target = t.now_ms() + delta_ms;
  if (business) {
    const auto* et = numbering::FindTimeZone("America/New_York");
    const auto local = numbering::UtcToLocal(*et, t.now + std::chrono::milliseconds(delta_ms));
    const auto day = numbering::AddBusinessDays(local.date, static_cast<int>(*business),
                                                numbering::Country::kUs);
    target = ToUnixMillis(numbering::LocalToUtc(*et, day, local.minute_of_day));
  }
  if (to) {
    const auto at = ParseRfc3339(*to);
    if (!at || ToUnixMillis(*at) < t.now_ms()) {
      return FailCode(Errc::kInvalidArgument, "INVALID_VALUE",
                      "to must be an RFC 3339 time not before the sandbox's now (" +
                          FormatRfc3339(t.now) + "); the sandbox clock only moves forward",
                      "to");
    }
    target = std::max(target, ToUnixMillis(*at));
  }
  if (target - t.now_ms() > kMaxDays * 86400000) {
    return FailCode(Errc::kInvalidArgument, "INVALID_VALUE",
                    "advance the clock by at most " + std::to_string(kMaxDays) + " days at a time",
                    "days");
  }
  // Each statement takes a connection of its own: RunDue below needs them too.
  auto set_now = [&](std::int64_t at) -> Result<void> {
    const std::int64_t offset = at - ToUnixMillis(clock_.Now());
    PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
    return lease
        ->Execute(
            "UPDATE organizations SET clock_offset_ms = $1 WHERE id = $2 AND "
            "clock_offset_ms < $1",
            {offset, org})
        .map([](std::int64_t) {});
  };
  int steps = 0;
  // Step through every due step in time order, so each transition happens at its own time.
  for (int guard = 0; guard < 100000; ++guard) {
    store::Rows next;
    {
      PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
      PORTLINE_ASSIGN_OR_RETURN(
          next, lease->Query("SELECT MIN(due_at) FROM port_jobs WHERE org_id = $1 AND "
                             "due_at <= $2 AND (lease_until IS NULL OR lease_until < $3)",
                             {org, target, ToUnixMillis(clock_.Now())}));
    }
    if (next.empty() || next[0].IsNull(0)) {
      break;
    }
    PORTLINE_RETURN_IF_ERROR(set_now(next[0].Int(0)));
    PORTLINE_ASSIGN_OR_RETURN(int ran, RunDue(std::string(org), 200));
    if (ran == 0) {
      break;
    }
    steps += ran;
  }
  PORTLINE_RETURN_IF_ERROR(set_now(target));
  PORTLINE_ASSIGN_OR_RETURN(auto clock, SandboxClock(org));
  clock.as_object()["steps_run"] = steps;
  return clock;
}

}  // namespace portline::porting
