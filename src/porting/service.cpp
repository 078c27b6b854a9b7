// PortingService: what every part of the port-request API shares (construction, links, the
// organization's clock, locks, events, steps, roll-up, number holdings). The operations live
// beside it: requests.cpp, views.cpp, cancel.cpp, history.cpp, activation.cpp, signature.cpp,
// notifications.cpp, configuration.cpp; the workflow steps in workflow.cpp.
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
  PORTLINE_ASSIGN_OR_RETURN(auto rows,
                            QueryIn(*lease,
                                    "SELECT phone_number FROM port_numbers WHERE org_id = $1 "
                                    "AND active = 1 AND phone_number",
                                    {org}, numbers));
  for (const auto& r : rows) {
    out.insert(r.Text(0));
  }
  return out;
}

// The carrier as the API shows it (null when unknown).
json::value CarrierJson(const numbering::Carrier* c) {
  if (c == nullptr) {
    return nullptr;
  }
  return Object{{"name", c->name},
                {"spid", c->spid},
                {"ocn", c->ocn},
                {"kind", numbering::KindName(c->kind)}};
}

}  // namespace portline::porting
