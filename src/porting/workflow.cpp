// The durable workflow: due steps are claimed with a lease, then applied in one transaction with
// their events and follow-up steps, which also deletes them. Carrier calls happen before the
// transaction and are idempotent per (order, version), so a crash between the call and the
// commit only repeats the call. Steps work on a Batch (batch.cpp): the requests they touch are
// read once, changed in memory and written back in a few set-based statements.
#include <algorithm>
#include <iterator>
#include <map>
#include <thread>

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "numbering/calendar.hpp"
#include "porting/internal.hpp"
#include "porting/rejections.hpp"

namespace portline::porting {
namespace {

using Number = PortingService::Batch::Number;

// A batch is split into shards of at least this many steps (threads cost more than small work).
constexpr std::size_t kStepsPerShard = 64;

void SetNumber(Number* n, std::string_view status, std::int64_t now) {
  n->status = std::string(status);
  n->updated_at = now;
  n->dirty = true;
}

}  // namespace

Result<carriers::CarrierOrder> PortingService::BuildCarrierOrder(const Batch& snapshot,
                                                                 std::string_view org,
                                                                 std::string_view request_id,
                                                                 std::string_view order_id) {
  const Batch::Request* req = snapshot.FindRequest(request_id);
  const Batch::Order* ord = req != nullptr ? req->FindOrder(order_id) : nullptr;
  if (ord == nullptr) {
    return Fail(Errc::kNotFound, "order not found", std::string(order_id));
  }
  const Object& details = req->details;
  const auto* lci_v = details.if_contains("losing_carrier_information");
  const Object lci = lci_v != nullptr && lci_v->is_object() ? lci_v->as_object() : Object{};
  const auto* addr_v = lci.if_contains("address");
  const Object addr = addr_v != nullptr && addr_v->is_object() ? addr_v->as_object() : Object{};
  auto open = [this](const std::string& sealed) -> Result<std::string> {
    if (sealed.empty()) {
      return std::string();
    }
    return box_.Open(sealed);
  };
  carriers::CarrierOrder o;
  o.pon = std::string(order_id);
  o.version = static_cast<int>(ord->version);
  o.org_id = std::string(org);
  o.spid = ord->spid;
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
  o.due_date = numbering::ParseDate(req->target_date).value_or(numbering::Date{});
  for (const auto& n : req->numbers) {
    if (n.order_id != order_id || !n.active ||
        (n.status != kNumPending && n.status != kNumSubmitted)) {
      continue;
    }
    carriers::OrderLine line{n.phone_number, {}, {}};
    PORTLINE_ASSIGN_OR_RETURN(line.pin, open(n.pin));
    PORTLINE_ASSIGN_OR_RETURN(line.account_number, open(n.account_number));
    o.lines.push_back(std::move(line));
  }
  return o;
}

void PortingService::AddJob(Batch& b, std::string_view org, std::string_view request_id,
                            std::string_view order_id, std::string_view kind, std::int64_t due_at,
                            const Object& payload) {
  const auto now = clock_.Now();
  b.jobs.push_back(Batch::PendingJob{.id = NewId("job", now),
                                     .org_id = std::string(org),
                                     .request_id = std::string(request_id),
                                     .order_id = std::string(order_id),
                                     .kind = std::string(kind),
                                     .payload = Dump(payload),
                                     .due_at = due_at,
                                     .created_at = ToUnixMillis(now)});
}

Result<void> PortingService::Event(Batch& b, std::string_view request_id, std::string_view type,
                                   std::string_view actor, Object data, std::int64_t at) {
  Batch::Request* r = b.FindRequest(request_id);
  if (r == nullptr) {
    return Fail(Errc::kInternal, "event for a request outside the batch");
  }
  MailFacts facts{.type = std::string(type),
                  .request_id = r->id,
                  .target_date = r->target_date,
                  .foc_date = r->foc_date,
                  .action = r->suggested_action};
  for (const Batch::Number& n : r->numbers) {
    if (n.status != kNumExcluded && n.status != kNumCanceled) {
      ++facts.numbers;
    }
    if (n.status == kNumPorted) {
      facts.ported.push_back(n.phone_number);
    }
  }
  PORTLINE_ASSIGN_OR_RETURN(auto mail, ComposeMail(r->org_id, r->details, std::move(facts), data));
  if (mail) {
    mail->dated_at = at;
    b.mails.push_back(std::move(*mail));
  }
  // The request is locked for the batch, so its sequence continues in memory; UNIQUE
  // (request_id, sequence) still turns any mistake into an error rather than a duplicate.
  b.events.push_back(EventRecord{.org_id = r->org_id,
                                 .id = NewId("evt", FromUnixMillis(at)),
                                 .type = std::string(type),
                                 .request_id = r->id,
                                 .actor = std::string(actor),
                                 .sequence = ++r->last_sequence,
                                 .data = std::move(data),
                                 .at = at});
  return {};
}

Result<std::string> PortingService::Rollup(Batch& b, std::string_view request_id,
                                           std::string_view actor, std::int64_t now) {
  Batch::Request* r = b.FindRequest(request_id);
  if (r == nullptr) {
    return Fail(Errc::kNotFound, "port request not found");
  }
  NumberCounts n;
  for (const auto& num : r->numbers) {
    const std::string& s = num.status;
    if (s == kNumPending) {
      ++n.pending;
    } else if (s == kNumSubmitted) {
      ++n.submitted;
    } else if (s == kNumFoc) {
      ++n.foc;
    } else if (s == kNumReady) {
      ++n.ready;
    } else if (s == kNumPorted) {
      ++n.ported;
    } else if (s == kNumRejected) {
      ++(num.active ? n.rejected_fixable : n.rejected_final);
    } else if (s == kNumCanceled) {
      ++n.canceled;
    } else {
      ++n.excluded;
    }
  }
  const std::string current = r->status;
  const std::string next(RollupStatus(current, n));
  if (next == current) {
    return next;
  }
  r->status = next;
  r->updated_at = now;
  r->dirty = true;
  if (next != kActionRequired) {
    r->suggested_action.reset();
  }
  if (next == kCanceled || next == kCompleted || next == kFailed) {
    for (auto& num : r->numbers) {
      if (num.active) {
        num.active = false;
        num.dirty = true;
      }
    }
    // Its pending steps are void, except attaching the ported numbers.
    r->ended = true;
    std::erase_if(b.jobs, [&](const Batch::PendingJob& j) {
      return j.request_id == r->id && j.kind != "post_port";
    });
  }
  const std::string type = next == kCompleted        ? "port.completed"
                           : next == kCanceled       ? "port.canceled"
                           : next == kFailed         ? "port.failed"
                           : next == kInProgress     ? "port.in_progress"
                           : next == kSubmitted      ? "port.resubmitted"
                           : next == kActionRequired ? "port.action_required"
                                                     : "port.status_changed";
  PORTLINE_RETURN_IF_ERROR(
      Event(b, request_id, type, actor, Object{{"from", current}, {"to", next}}, now));
  return next;
}

Result<void> PortingService::ApplyDecision(Batch& b, const Job& job, std::int64_t now) {
  Batch::Request* req = b.FindRequest(job.request_id);
  Batch::Order* ord = req != nullptr ? req->FindOrder(job.order_id) : nullptr;
  if (ord == nullptr || ord->status != "submitted" ||
      ord->version != job.payload.at("version").to_number<std::int64_t>()) {
    return {};  // canceled or superseded by a supplement: the answer is stale
  }
  const Object& details = req->details;
  const auto* carrier = carriers_.BySpid(ord->spid);
  const std::string carrier_name = carrier != nullptr ? carrier->name : ord->spid;
  const std::string by = "carrier:" + ord->spid;

  if (job.payload.at("accepted").as_bool()) {
    const std::string foc = StrOf(job.payload, "foc_date");
    const std::int64_t foc_at =
        InstantOf(foc, StrOf(details, "target_port_time"), StrOf(details, "timezone"));
    const bool changed = ord->foc_date.has_value() && *ord->foc_date != foc;
    ord->status = "foc_confirmed";
    ord->foc_date = foc;
    ord->foc_at = foc_at;
    ord->updated_at = now;
    ord->dirty = true;
    for (Number* n : req->NumbersOf(ord->id, {kNumSubmitted}, true)) {
      SetNumber(n, kNumFoc, now);
      n->foc_date = foc;
    }
    // The request shows the earliest FOC of its orders.
    std::optional<std::string> earliest;
    for (const auto& o : req->orders) {
      if (o.foc_date && (!earliest || *o.foc_date < *earliest)) {
        earliest = o.foc_date;
      }
    }
    req->foc_date = earliest;
    req->updated_at = now;
    req->dirty = true;
    PORTLINE_RETURN_IF_ERROR(Event(b, job.request_id,
                                   changed ? "port.foc_changed" : "port.foc_confirmed", by,
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
      AddJob(b, job.org_id, job.request_id, job.order_id, "activation_ready",
             InstantOf(foc, hhmm, "America/New_York"), Object{});
    } else {
      AddJob(b, job.org_id, job.request_id, job.order_id, "activate", foc_at, Object{});
    }
    return Rollup(b, job.request_id, by, now).map([](auto&&) {});
  }

  // Rejected: attach every rejection to the numbers it concerns.
  const std::vector<Number*> nums = req->NumbersOf(ord->id, {kNumSubmitted}, true);
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
    for (const Number* n : nums) {
      if (number.empty() || number == n->phone_number) {
        per_number[n->phone_number].push_back(entry);
        auto [it, fresh] = fixable.emplace(n->phone_number, info.fixable);
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
    for (Number* n : nums) {
      if (n->phone_number == number) {
        SetNumber(n, kNumRejected, now);
        n->active = fix;
        n->reason = Dump(Object{{"code", rejections.front().as_object().at("code")},
                                {"message", rejections.front().as_object().at("message")},
                                {"rejections", rejections}});
      }
    }
    PORTLINE_RETURN_IF_ERROR(Event(
        b, job.request_id, "port.number_rejected", by,
        Object{{"phone_number", number}, {"order_id", job.order_id}, {"rejections", rejections}},
        now));
  }
  if (!any_fixable) {
    // Only final rejections: the carrier gets the order again without those numbers.
    const auto left = req->NumbersOf(ord->id, {kNumSubmitted}, true);
    ord->updated_at = now;
    ord->dirty = true;
    if (!left.empty()) {
      ord->status = "pending";
      ++ord->version;
      for (Number* n : left) {
        SetNumber(n, kNumPending, now);
      }
      AddJob(b, job.org_id, job.request_id, job.order_id, "submit", now, Object{});
    } else {
      ord->status = "failed";
    }
    return Rollup(b, job.request_id, by, now).map([](auto&&) {});
  }
  ord->status = "rejected";
  ord->updated_at = now;
  ord->dirty = true;
  std::string fields_text;
  for (const auto& f : fields) {
    fields_text += (fields_text.empty() ? "" : ", ") + std::string(f);
  }
  req->suggested_action = carrier_name + " rejected the order. " + first_hint +
                          (fields_text.empty() ? "" : " Fields to fix: " + fields_text + ".") +
                          " Then resubmit with PUT /v1/sip/port/" + job.request_id +
                          " (the full request).";
  req->updated_at = now;
  req->dirty = true;
  return Rollup(b, job.request_id, by, now).map([](auto&&) {});
}

Result<void> PortingService::ActivateOrder(Batch& b, std::string_view request_id,
                                           std::string_view order_id, std::string_view actor,
                                           std::int64_t now) {
  Batch::Request* req = b.FindRequest(request_id);
  Batch::Order* ord = req != nullptr ? req->FindOrder(order_id) : nullptr;
  if (ord == nullptr || (ord->status != "foc_confirmed" && ord->status != "activation_ready")) {
    return {};  // canceled or already activated
  }
  const auto nums = req->NumbersOf(order_id, {kNumFoc, kNumReady}, false);
  // The numbers become the organization's inbound numbers.
  for (Number* n : nums) {
    b.inbound.push_back(Batch::Inbound{n->phone_number, req->org_id, now});
    SetNumber(n, kNumPorted, now);
    n->active = false;
    n->ported_at = now;
  }
  ord->status = "ported";
  ord->completed_at = now;
  ord->updated_at = now;
  ord->dirty = true;
  for (const Number* n : nums) {
    PORTLINE_RETURN_IF_ERROR(
        Event(b, request_id, "port.number_ported", actor,
              Object{{"phone_number", n->phone_number}, {"order_id", std::string(order_id)}}, now));
  }
  // Ported numbers become inbound numbers of the SIP API: with the request's post_port
  // configuration, or a plain inbound one (Bland registers ported numbers as inbound).
  if (!nums.empty()) {
    AddJob(b, req->org_id, request_id, order_id, "post_port", now, Object{});
  }
  return Rollup(b, request_id, actor, now).map([](auto&&) {});
}

Result<PortingService::StepApply> PortingService::PrepareStep(
    const Job& job, std::map<std::string, OrgTime>& org_times, const Batch& snapshot) {
  // Calls out (carrier gateway, post-port hook) happen here, with no connection held across a
  // call out: those may take their own, and a pool must never wait on itself. Reads come from
  // the batch's snapshot, taken before. The returned closure changes the batch that the
  // applying transaction loaded (and locked), so it checks the state again.
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
  const Batch::Request* seen = snapshot.FindRequest(job.request_id);
  auto nothing = [](Batch&) -> Result<void> { return {}; };
  if (seen == nullptr) {
    return StepApply(nothing);  // the request is gone (its organization was deleted)
  }

  if (job.kind == "submit") {
    PORTLINE_ASSIGN_OR_RETURN(
        auto order, BuildCarrierOrder(snapshot, job.org_id, job.request_id, job.order_id));
    if (order.lines.empty()) {
      return StepApply(nothing);
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
                      lines](Batch& b) -> Result<void> {
      Batch::Request* req = b.FindRequest(job.request_id);
      Batch::Order* ord = req != nullptr ? req->FindOrder(job.order_id) : nullptr;
      if (ord == nullptr || ord->status != "pending" || ord->version != version) {
        return {};
      }
      ord->status = "submitted";
      ord->submitted_at = now;
      ord->updated_at = now;
      ord->dirty = true;
      for (Number* n : req->NumbersOf(job.order_id, {kNumPending}, true)) {
        SetNumber(n, kNumSubmitted, now);
      }
      PORTLINE_RETURN_IF_ERROR(Event(b, job.request_id, "port.order_submitted", "system",
                                     Object{{"order_id", job.order_id},
                                            {"carrier", spid},
                                            {"version", version},
                                            {"numbers", lines}},
                                     now));
      AddJob(b, job.org_id, job.request_id, job.order_id, "carrier_response", respond_at, payload);
      return Rollup(b, job.request_id, "system", now).map([](auto&&) {});
    });
  }
  if (job.kind == "carrier_response") {
    return StepApply([this, job, now](Batch& b) { return ApplyDecision(b, job, now); });
  }
  if (job.kind == "activate") {
    std::vector<std::string> numbers;
    for (const auto& n : seen->numbers) {
      if (n.order_id == job.order_id && (n.status == kNumFoc || n.status == kNumReady)) {
        numbers.push_back(n.phone_number);
      }
    }
    if (!numbers.empty()) {
      PORTLINE_RETURN_IF_ERROR(gateway_.Activate(job.order_id, numbers, t.now));
    }
    return StepApply([this, job, now](Batch& b) {
      return ActivateOrder(b, job.request_id, job.order_id, "system", now);
    });
  }
  if (job.kind == "activation_ready") {
    return StepApply([this, job, now](Batch& b) -> Result<void> {
      Batch::Request* req = b.FindRequest(job.request_id);
      Batch::Order* ord = req != nullptr ? req->FindOrder(job.order_id) : nullptr;
      if (ord == nullptr || ord->status != "foc_confirmed") {
        return {};
      }
      ord->status = "activation_ready";
      ord->updated_at = now;
      ord->dirty = true;
      for (Number* n : req->NumbersOf(job.order_id, {kNumFoc}, false)) {
        SetNumber(n, kNumReady, now);
      }
      return Event(b, job.request_id, "port.activation_ready", "system",
                   Object{{"order_id", job.order_id}, {"group_id", job.order_id}}, now);
    });
  }
  if (job.kind == "expire") {
    return StepApply([this, job, now](Batch& b) -> Result<void> {
      Batch::Request* req = b.FindRequest(job.request_id);
      if (req == nullptr || req->status != kWaitingForSignature) {
        return {};
      }
      req->status = "expired";
      req->updated_at = now;
      req->dirty = true;
      for (auto& n : req->numbers) {
        if (n.status == kNumPending) {
          SetNumber(&n, kNumCanceled, now);
          n.active = false;
        }
      }
      for (auto& o : req->orders) {
        o.status = "canceled";
        o.updated_at = now;
        o.dirty = true;
      }
      return Event(b, job.request_id, "port.expired", "system",
                   Object{{"reason", "the LOA was not signed in time"}}, now);
    });
  }
  if (job.kind == "cancel") {
    PORTLINE_ASSIGN_OR_RETURN(auto confirmed_at, gateway_.Cancel(job.order_id, t.now));
    const std::int64_t at = ToUnixMillis(confirmed_at);
    return StepApply([this, job, at](Batch& b) -> Result<void> {
      AddJob(b, job.org_id, job.request_id, job.order_id, "cancel_confirmed", at, Object{});
      return {};
    });
  }
  if (job.kind == "cancel_confirmed") {
    return StepApply([this, job, now](Batch& b) -> Result<void> {
      Batch::Request* req = b.FindRequest(job.request_id);
      if (req == nullptr) {
        return {};
      }
      if (Batch::Order* ord = req->FindOrder(job.order_id);
          ord != nullptr && ord->status == "cancel_pending") {
        ord->status = "canceled";
        ord->updated_at = now;
        ord->dirty = true;
      }
      for (auto& n : req->numbers) {
        if (n.order_id == job.order_id && n.status != kNumPorted && n.status != kNumExcluded &&
            n.status != kNumCanceled) {
          SetNumber(&n, kNumCanceled, now);
          n.active = false;
        }
      }
      PORTLINE_RETURN_IF_ERROR(Event(b, job.request_id, "port.order_canceled", "carrier",
                                     Object{{"order_id", job.order_id}}, now));
      return Rollup(b, job.request_id, "system", now).map([](auto&&) {});
    });
  }
  if (job.kind == "post_port") {
    Result<void> applied;
    if (post_port_) {
      Object post;
      if (BoolOf(seen->details, "has_post_port") && seen->details.contains("post_port") &&
          seen->details.at("post_port").is_object()) {
        post = seen->details.at("post_port").as_object();
      } else {
        post = Object{{"service", "sip"}, {"directions", json::array{Object{{"type", "inbound"}}}}};
      }
      std::vector<std::string> numbers;
      for (const auto& n : seen->numbers) {
        if (n.order_id == job.order_id && n.status == kNumPorted) {
          numbers.push_back(n.phone_number);
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
    return StepApply([this, job, now, data, ok](Batch& b) {
      return Event(b, job.request_id, ok ? "port.post_port_applied" : "port.post_port_failed",
                   "system", data, now);
    });
  }
  return Fail(Errc::kInternal, "unknown workflow step " + job.kind);
}

Result<void> PortingService::ApplySteps(
    store::Connection& c, const std::vector<std::pair<const Job*, StepApply>>& steps) {
  // Delete the claimed steps first: those another node took over (our lease expired) are not
  // returned, and must not be applied.
  store::Params claimed{options_.node_id};
  std::vector<std::string_view> job_ids;
  std::vector<std::string> request_ids;
  for (const auto& [job, fn] : steps) {
    job_ids.emplace_back(job->id);
    request_ids.push_back(job->request_id);
  }
  const std::string match = store::MatchAny(c.backend(), "id", claimed, job_ids);
  PORTLINE_ASSIGN_OR_RETURN(
      auto deleted,
      c.Query("DELETE FROM port_jobs WHERE lease_owner = $1 AND " + match + " RETURNING id",
              claimed));
  std::set<std::string> mine;
  for (const auto& r : deleted) {
    mine.insert(r.Text(0));
  }
  PORTLINE_ASSIGN_OR_RETURN(auto batch, Batch::Load(c, request_ids, true));
  for (const auto& [job, fn] : steps) {
    if (mine.count(job->id) == 0) {
      continue;
    }
    // A step after its request ended in this batch is void, as if the ending had deleted it.
    if (const Batch::Request* r = batch.FindRequest(job->request_id);
        r != nullptr && r->ended && job->kind != "post_port") {
      continue;
    }
    PORTLINE_RETURN_IF_ERROR(fn(batch));
  }
  return FlushBatch(c, batch);
}

void PortingService::RunSteps(const std::vector<const Job*>& jobs, const Batch& snapshot,
                              std::vector<std::pair<const Job*, Error>>& failed) {
  // Phase 1: calls out, step by step.
  std::vector<std::pair<const Job*, StepApply>> ready;
  std::map<std::string, OrgTime> org_times;  // one clock read per organization per batch
  for (const Job* job : jobs) {
    auto prepared = PrepareStep(*job, org_times, snapshot);
    if (prepared) {
      ready.emplace_back(job, std::move(*prepared));
    } else {
      failed.emplace_back(job, std::move(prepared).error());
    }
  }
  if (ready.empty()) {
    return;
  }
  // Phase 2: one transaction applies them all (one commit for the batch). Should any step fail,
  // the batch is rolled back and each step is applied in a transaction of its own, so the failing
  // one is retried later alone.
  auto lease = db_.Acquire();
  if (!lease) {
    for (const auto& step : ready) {
      failed.emplace_back(step.first, lease.error());
    }
    return;
  }
  auto apply_all = [&](store::Connection& c) { return ApplySteps(c, ready); };
  if (store::WithTransaction(**lease, apply_all)) {
    return;
  }
  for (const auto& step : ready) {
    const std::vector<std::pair<const Job*, StepApply>> one{step};
    auto single = [&](store::Connection& c) { return ApplySteps(c, one); };
    if (auto done = store::WithTransaction(**lease, single); !done) {
      failed.emplace_back(step.first, std::move(done).error());
    }
  }
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
  Batch snapshot;
  {
    PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
    PORTLINE_ASSIGN_OR_RETURN(auto rows, lease->Query(sql, params));
    if (rows.empty()) {
      return 0;
    }
    // Claim them all in one statement; only those this node got are run.
    const std::int64_t at = ToUnixMillis(clock_.Now());
    store::Params claim{options_.node_id, at + options_.lease.count(), at};
    std::vector<std::string_view> due_ids;
    for (const auto& r : rows) {
      due_ids.emplace_back(r.Text(0));
    }
    const std::string match = store::MatchAny(lease->backend(), "id", claim, due_ids);
    PORTLINE_ASSIGN_OR_RETURN(
        auto claimed,
        lease->Query("UPDATE port_jobs SET lease_owner = $1, lease_until = $2, attempts = "
                     "attempts + 1 WHERE (lease_until IS NULL OR lease_until < $3) AND " +
                         match + " RETURNING id",
                     claim));
    std::set<std::string> mine;
    for (const auto& c : claimed) {
      mine.insert(c.Text(0));
    }
    std::vector<std::string> request_ids;
    for (const auto& r : rows) {
      if (mine.count(r.Text(0)) > 0) {
        jobs.push_back(Job{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Int(5),
                           ParseObject(r.Text(6)), r.Int(7)});
        request_ids.push_back(r.Text(2));
      }
    }
    // What the steps read before calling out, for all of them at once.
    PORTLINE_ASSIGN_OR_RETURN(snapshot, Batch::Load(*lease, request_ids, false));
  }
  // The steps run in shards of whole requests, side by side, each shard on its own thread and
  // connection: a request's steps stay in one shard in due order, and no two shards touch the
  // same request. One shard alone would leave a core idle while it waits on the database.
  // SQLite runs one writer at a time, in this process: shards would only queue for it. Under
  // an ambient transaction (an idempotent API call) every step joins it, on this thread.
  const int threads = db_.backend() == store::Backend::kPostgres && !db_.HasAmbient()
                          ? std::max(1, options_.workflow_threads)
                          : 1;
  const std::size_t shards =
      std::clamp<std::size_t>(jobs.size() / kStepsPerShard, 1, static_cast<std::size_t>(threads));
  std::vector<std::vector<const Job*>> parts(shards);
  for (const auto& job : jobs) {
    parts[std::hash<std::string>{}(job.request_id) % shards].push_back(&job);
  }
  std::vector<std::vector<std::pair<const Job*, Error>>> failures(shards);
  auto run_part = [&](std::size_t k) {
    try {
      RunSteps(parts[k], snapshot, failures[k]);
    } catch (const std::exception& e) {  // a bug must not end the process from a thread
      failures[k].clear();
      for (const Job* job : parts[k]) {
        failures[k].emplace_back(job, Error{Errc::kInternal, "workflow step threw", e.what()});
      }
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t k = 1; k < shards; ++k) {
    helpers.emplace_back(run_part, k);
  }
  run_part(0);
  for (auto& t : helpers) {
    t.join();
  }
  std::vector<std::pair<const Job*, Error>> failed;
  for (auto& f : failures) {
    std::move(f.begin(), f.end(), std::back_inserter(failed));
  }
  // Failed steps are retried later with exponential backoff (1 s … 1 h), up to
  // kMaxStepAttempts; then the step is dead: out of the queue, kept with its error, and the
  // request says so (port.step_failed).
  for (const auto& failure : failed) {
    // Named, not bound: a lambda below uses them (clang before 16 cannot capture a binding).
    const auto& job = failure.first;
    const auto& error = failure.second;
    if (job->attempts + 1 >= kMaxStepAttempts) {  // this run was that attempt
      log::Error("workflow step failed for good", {{"job", job->id},
                                                   {"kind", job->kind},
                                                   {"request", job->request_id},
                                                   {"attempts", job->attempts},
                                                   {"error", error.message}});
      PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
      auto bury = [&](store::Connection& c) -> Result<void> {
        PORTLINE_RETURN_IF_ERROR(LockRequest(c, job->request_id));
        PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(c, job->org_id));
        PORTLINE_ASSIGN_OR_RETURN(
            auto moved,
            c.Execute("INSERT INTO port_dead_steps (id, org_id, request_id, order_id, kind, "
                      "due_at, payload, attempts, last_error, created_at, dead_at) SELECT id, "
                      "org_id, request_id, order_id, kind, due_at, payload, attempts, $1, "
                      "created_at, $2 FROM port_jobs WHERE id = $3 AND lease_owner = $4",
                      {error.message, t.now_ms(), job->id, options_.node_id}));
        if (moved == 0) {
          return {};  // another node holds it now
        }
        PORTLINE_RETURN_IF_ERROR(
            c.Execute("DELETE FROM port_jobs WHERE id = $1", {job->id}).map([](auto) {}));
        return Event(c, job->request_id, job->org_id, "port.step_failed", "system",
                     Object{{"step", job->kind},
                            {"order_id", job->order_id.empty() ? json::value(nullptr)
                                                               : json::value(job->order_id)},
                            {"attempts", job->attempts},
                            {"error", error.message}},
                     t.now_ms());
      };
      PORTLINE_RETURN_IF_ERROR(store::WithTransaction(*lease, bury));
      continue;
    }
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

Result<std::chrono::system_clock::time_point> PortingService::OrgNow(std::string_view org) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, org));
  return t.now;
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
