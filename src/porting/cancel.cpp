// Canceling a whole request or one number: the freeze before FOC, the carriers told.
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

}  // namespace portline::porting
