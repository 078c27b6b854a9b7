// On-demand activation: when it is allowed (the carrier's window), and doing it.
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

}  // namespace portline::porting
