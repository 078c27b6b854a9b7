#pragma once
// Types and helpers shared by the porting service's translation units. Not part of its interface.

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json_util.hpp"
#include "numbering/check.hpp"
#include "numbering/timezone.hpp"
#include "porting/service.hpp"

namespace portline::porting {

namespace json = boost::json;

struct PortingService::OrgTime {
  bool sandbox = false;
  std::int64_t offset_ms = 0;
  std::chrono::system_clock::time_point now;
  [[nodiscard]] std::int64_t now_ms() const { return ToUnixMillis(now); }
};

struct PortingService::Submission {
  struct Number {
    std::string e164;
    std::string pin;
    std::string account_number;
    numbering::CheckResult check;
    bool included = false;
    std::string earliest;  // YYYY-MM-DD, on the organization's clock
  };
  std::vector<Number> numbers;
  Object details;  // stored form: no clear secrets
  std::string account_number, pin;
  std::string target_date, port_time, timezone;
  bool draft = false;
  bool on_demand = false;
  std::optional<std::string> customer_reference;
  std::string representative_email;
};

struct PortingService::Job {
  std::string id, org_id, request_id, order_id, kind;
  std::int64_t due_at = 0;
  Object payload;
  std::int64_t attempts = 0;
};

/// The requests a set of workflow steps touches, held in memory for one transaction: loaded
/// in a few statements (and on PostgreSQL locked, in id order), changed by the steps, and
/// written back by PortingService::FlushBatch in a few set-based statements, whatever the number
/// of steps. Steps see each other's changes, as they would row by row.
struct PortingService::Batch {
  struct Number {
    std::string phone_number, order_id;  // order_id "" when excluded
    std::int64_t position = 0;
    std::string status;
    bool active = false;
    std::optional<std::string> reason, foc_date;
    std::optional<std::int64_t> ported_at;
    std::string pin, account_number;  // sealed
    std::int64_t updated_at = 0;
    bool dirty = false;
    std::string loaded_status;  // as read: lets FlushBatch write a whole group in one UPDATE
    bool loaded_active = false;
  };
  struct Order {
    std::string id, spid, status;
    std::int64_t version = 0;
    std::optional<std::string> foc_date;
    std::optional<std::int64_t> foc_at, submitted_at, completed_at;
    std::int64_t updated_at = 0;
    bool dirty = false;
  };
  struct Request {
    std::string id, org_id, status, target_date;
    Object details;
    std::optional<std::string> foc_date, suggested_action;
    std::int64_t last_sequence = 0;
    std::int64_t updated_at = 0;
    bool dirty = false;
    bool ended = false;  // reached a final status in this batch: its jobs are dropped
    std::vector<Order> orders;
    std::vector<Number> numbers;  // by position

    Order* FindOrder(std::string_view order_id);
    [[nodiscard]] const Order* FindOrder(std::string_view order_id) const;
    /// The numbers of one order (in position order) whose status is one of `statuses`.
    std::vector<Number*> NumbersOf(std::string_view order_id,
                                   std::initializer_list<std::string_view> statuses,
                                   bool active_only);
  };
  struct PendingJob {
    std::string id, org_id, request_id, order_id, kind, payload;
    std::int64_t due_at = 0, created_at = 0;
  };

  std::map<std::string, Request, std::less<>> requests;
  std::vector<EventRecord> events;
  std::vector<PendingJob> jobs;
  std::vector<mail::Outgoing> mails;
  struct Inbound {
    std::string phone_number, org_id;
    std::int64_t at = 0;
  };
  std::vector<Inbound> inbound;  // ported numbers that become the organization's numbers

  /// Reads the requests with their orders and numbers (and, when `for_update`, locks them on
  /// PostgreSQL and reads their last event sequence). Unknown ids are left out.
  static Result<Batch> Load(store::Connection& c, const std::vector<std::string>& request_ids,
                            bool for_update);
  Request* FindRequest(std::string_view id);
  [[nodiscard]] const Request* FindRequest(std::string_view id) const;
};

/// Per-number statuses.
inline constexpr std::string_view kNumPending = "pending";
inline constexpr std::string_view kNumExcluded = "excluded";
inline constexpr std::string_view kNumSubmitted = "submitted";
inline constexpr std::string_view kNumRejected = "rejected";
inline constexpr std::string_view kNumFoc = "foc_confirmed";
inline constexpr std::string_view kNumReady = "activation_ready";
inline constexpr std::string_view kNumPorted = "ported";
inline constexpr std::string_view kNumCanceled = "canceled";

inline std::string Dump(const json::value& v) { return json::serialize(v); }
inline Object ParseObject(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return !ec && v.is_object() ? std::move(v.as_object()) : Object{};
}
inline std::string StrOf(const Object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}
inline bool BoolOf(const Object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v != nullptr && v->is_bool() && v->get_bool();
}

using numbering::InstantOf;
using numbering::LocalDate;
using store::Placeholders;
using store::QueryIn;

/// Another organization's request is not found either (tenants are isolated).
[[nodiscard]] tl::unexpected<Error> RequestNotFound(std::string_view id);
/// kNotFound unless the organization has this request.
[[nodiscard]] Result<void> RequireRequest(store::Connection& c, std::string_view org,
                                          std::string_view id);
/// The carrier as the API shows it (null when unknown).
[[nodiscard]] json::value CarrierJson(const numbering::Carrier* c);

}  // namespace portline::porting
