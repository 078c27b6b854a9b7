// An organization's porting configuration: defaults for contacts, notifications, LOA expiry.
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

}  // namespace portline::porting
