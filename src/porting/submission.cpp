// Validation of a port request body (POST /v1/sip/port/initiate and PUT /v1/sip/port/:id): every
// problem is collected and reported at once; non-portable numbers are excluded, not errors.
#include <algorithm>
#include <cctype>
#include <map>

#include "core/time.hpp"
#include "numbering/calendar.hpp"
#include "numbering/nanp.hpp"
#include "porting/internal.hpp"

namespace portline::porting {
namespace {

bool IsEmail(std::string_view s) {
  const auto at = s.find('@');
  if (s.size() > 254 || at == std::string_view::npos || at == 0 || at + 1 >= s.size() ||
      s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const auto domain = s.substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.') {
    return false;
  }
  return std::none_of(s.begin(), s.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '<' || c == '>' || c == ',';
  });
}

bool IsUsZip(std::string_view z) {
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
  };
  return (z.size() == 5 && digits(z)) ||
         (z.size() == 10 && z[5] == '-' && digits(z.substr(0, 5)) && digits(z.substr(6)));
}

bool IsCaPostal(std::string_view z) {
  std::string s;
  for (char c : z) {
    if (c != ' ') {
      s.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
  }
  if (s.size() != 6) {
    return false;
  }
  for (std::size_t i = 0; i < 6; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((i % 2 == 0) ? std::isalpha(c) == 0 : std::isdigit(c) == 0) {
      return false;
    }
  }
  return true;
}

bool IsStrictE164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] == '0') {
    return false;
  }
  return std::all_of(s.begin() + 1, s.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

Result<PortingService::Submission> PortingService::ParseSubmission(
    store::Connection& c, const OrgTime& t, std::string_view org, const Object& body,
    std::string_view self_id, const std::vector<FieldError>& post_port_errors) {
  PORTLINE_ASSIGN_OR_RETURN(auto config, LoadConfiguration(c, org));
  FieldErrors errors;
  errors.RejectUnknown(
      body, {"phone_numbers", "losing_carrier_information", "target_port_date", "target_port_time",
             "timezone", "documents", "pin", "draft", "customer_reference", "on_demand_activation",
             "new_billing_number", "post_port"});
  Submission s;
  s.draft = errors.OptBool(body, "draft").value_or(false);
  s.on_demand = errors.OptBool(body, "on_demand_activation").value_or(false);
  s.pin = errors.OptString(body, "pin", 20).value_or("");
  s.customer_reference = errors.OptString(body, "customer_reference", 100);

  // Numbers: strings or {phone_number, pin, account_number}.
  const auto* list = body.if_contains("phone_numbers");
  std::map<std::string, std::size_t> seen;
  if (list == nullptr || !list->is_array() || list->get_array().empty()) {
    errors.Add("phone_numbers", "REQUIRED",
               "phone_numbers must be a non-empty array of E.164 numbers");
  } else if (list->get_array().size() > options_.max_numbers) {
    errors.Add("phone_numbers", "TOO_MANY",
               "at most " + std::to_string(options_.max_numbers) +
                   " numbers per port request (got " + std::to_string(list->get_array().size()) +
                   "); split the list");
  } else {
    s.numbers.reserve(list->get_array().size());
    std::size_t i = 0;
    for (const auto& v : list->get_array()) {
      const std::string field = "phone_numbers[" + std::to_string(i++) + "]";
      Submission::Number n;
      std::string raw;
      if (v.is_string()) {
        raw = std::string(v.get_string());
      } else if (v.is_object()) {
        const auto& o = v.get_object();
        errors.RejectUnknown(o, {"phone_number", "pin", "account_number"}, field);
        raw = errors.String(o, "phone_number", 20, field).value_or("");
        n.pin = errors.OptString(o, "pin", 20, field).value_or("");
        n.account_number = errors.OptString(o, "account_number", 50, field).value_or("");
      } else {
        errors.Add(field, "INVALID_TYPE",
                   field + " must be an E.164 string or an object with phone_number");
        continue;
      }
      if (raw.empty()) {
        continue;
      }
      if (!IsStrictE164(raw)) {
        errors.Add(field, "INVALID_NUMBER",
                   field + " must be in E.164 format, e.g. +14155550100 (got '" +
                       raw.substr(0, 20) + "')");
        continue;
      }
      if (raw.size() != 12 || raw[1] != '1') {
        errors.Add(field, "UNSUPPORTED_COUNTRY",
                   field + " (" + raw +
                       ") is not a US or Canadian number: only US and CA "
                       "numbers can be ported");
        continue;
      }
      auto parsed = numbering::ParseNanp(raw);
      if (!parsed) {
        errors.Add(field,
                   parsed.error().api_code.empty() ? "INVALID_NUMBER" : parsed.error().api_code,
                   field + ": " + parsed.error().message);
        continue;
      }
      if (!parsed->region.empty() && !parsed->IsUsOrCanada()) {
        errors.Add(field, "UNSUPPORTED_COUNTRY",
                   field + " (" + raw + ") belongs to " + std::string(parsed->region) +
                       ": only US and CA numbers can be ported");
        continue;
      }
      n.e164 = parsed->E164();
      if (auto [it, fresh] = seen.emplace(n.e164, i - 1); !fresh) {
        errors.Add(
            field, "DUPLICATE",
            field + " repeats " + n.e164 + " (phone_numbers[" + std::to_string(it->second) + "])");
        continue;
      }
      s.numbers.push_back(std::move(n));
    }
  }

  // Losing carrier information.
  std::string customer_type;
  std::string country = "US";
  Object lci_out;
  const auto* lci = errors.OptObject(body, "losing_carrier_information");
  if (lci == nullptr && !body.contains("losing_carrier_information") && !s.draft) {
    errors.Add("losing_carrier_information", "REQUIRED", "losing_carrier_information is required");
  }
  if (lci != nullptr) {
    constexpr std::string_view kLci = "losing_carrier_information";
    errors.RejectUnknown(
        *lci,
        {"customer_type", "business_name", "first_name", "last_name", "account_number",
         "authorized_representative_email", "notification_emails", "address", "authorizing_date"},
        kLci);
    auto need = [&](std::string_view key, std::size_t max) {
      return s.draft ? errors.OptString(*lci, key, max, kLci) : errors.String(*lci, key, max, kLci);
    };
    customer_type = need("customer_type", 20).value_or("");
    if (!customer_type.empty() && customer_type != "business" && customer_type != "personal") {
      errors.Add("losing_carrier_information.customer_type", "INVALID_VALUE",
                 "losing_carrier_information.customer_type must be business or personal");
    }
    const auto business = errors.OptString(*lci, "business_name", 200, kLci);
    if (customer_type == "business" && !s.draft && (!business || business->empty())) {
      errors.Add("losing_carrier_information.business_name", "REQUIRED",
                 "losing_carrier_information.business_name is required when customer_type is "
                 "business");
    }
    if (customer_type == "personal" && business && !business->empty()) {
      errors.Add("losing_carrier_information.business_name", "NOT_ALLOWED",
                 "losing_carrier_information.business_name is only for customer_type business");
    }
    const auto first = need("first_name", 100);
    const auto last = need("last_name", 100);
    s.account_number = errors.OptString(*lci, "account_number", 50, kLci).value_or("");
    const auto email = need("authorized_representative_email", 254);
    if (email && !IsEmail(*email)) {
      errors.Add("losing_carrier_information.authorized_representative_email", "INVALID_EMAIL",
                 "losing_carrier_information.authorized_representative_email is not an e-mail "
                 "address");
    }
    s.representative_email = email.value_or("");
    json::array notify;
    if (const auto* ne = lci->if_contains("notification_emails"); ne != nullptr && !ne->is_null()) {
      if (!ne->is_array() || ne->get_array().size() > 10) {
        errors.Add("losing_carrier_information.notification_emails", "INVALID_TYPE",
                   "losing_carrier_information.notification_emails must be an array of at most "
                   "10 e-mail addresses");
      } else {
        std::size_t k = 0;
        for (const auto& e : ne->get_array()) {
          const std::string f =
              "losing_carrier_information.notification_emails[" + std::to_string(k++) + "]";
          if (!e.is_string() || !IsEmail(e.get_string())) {
            errors.Add(f, "INVALID_EMAIL", f + " is not an e-mail address");
          } else {
            notify.emplace_back(e.get_string());
          }
        }
      }
    } else if (const auto* d = config.if_contains("notification_emails"); d && d->is_array()) {
      notify = d->get_array();
    }
    Object address_out;
    const auto* addr = errors.OptObject(*lci, "address", kLci);
    if (addr == nullptr && !lci->contains("address") && !s.draft) {
      errors.Add("losing_carrier_information.address", "REQUIRED",
                 "losing_carrier_information.address (the service address) is required");
    }
    if (addr != nullptr) {
      constexpr std::string_view kAddr = "losing_carrier_information.address";
      errors.RejectUnknown(*addr, {"street", "street2", "city", "state", "zip", "country"}, kAddr);
      auto need_a = [&](std::string_view key, std::size_t max) {
        return s.draft ? errors.OptString(*addr, key, max, kAddr)
                       : errors.String(*addr, key, max, kAddr);
      };
      const auto street = need_a("street", 200);
      const auto street2 = errors.OptString(*addr, "street2", 200, kAddr);
      const auto city = need_a("city", 100);
      const auto state = need_a("state", 2);
      const auto zip = need_a("zip", 10);
      country = errors.OptString(*addr, "country", 2, kAddr).value_or("US");
      if (country != "US" && country != "CA") {
        errors.Add("losing_carrier_information.address.country", "UNSUPPORTED_COUNTRY",
                   "losing_carrier_information.address.country must be US or CA");
      }
      if (state && numbering::CountryOfStateCode(*state) != country) {
        errors.Add("losing_carrier_information.address.state", "INVALID_STATE",
                   "losing_carrier_information.address.state '" + *state + "' is not a " +
                       (country == "CA" ? "Canadian province" : "US state") +
                       " code (two letters, e.g. " + (country == "CA" ? "ON" : "CA") + ")");
      }
      if (zip && (country == "CA" ? !IsCaPostal(*zip) : !IsUsZip(*zip))) {
        errors.Add("losing_carrier_information.address.zip", "INVALID_ZIP",
                   country == "CA"
                       ? "losing_carrier_information.address.zip must be a postal code like "
                         "K1A 0B1"
                       : "losing_carrier_information.address.zip must be a ZIP code like 94105 "
                         "or 94105-1234");
      }
      address_out = Object{{"street", street.value_or("")}, {"street2", street2.value_or("")},
                           {"city", city.value_or("")},     {"state", state.value_or("")},
                           {"zip", zip.value_or("")},       {"country", country}};
    }
    std::string authorizing;
    if (auto ad = errors.OptString(*lci, "authorizing_date", 10, kLci)) {
      const auto d = numbering::ParseDate(*ad);
      const auto today = LocalDate("America/New_York", t.now);
      if (!d || ad->size() != 10) {
        errors.Add("losing_carrier_information.authorizing_date", "INVALID_DATE",
                   "losing_carrier_information.authorizing_date must be a date YYYY-MM-DD");
      } else if (std::chrono::sys_days(*d) > std::chrono::sys_days(today)) {
        errors.Add("losing_carrier_information.authorizing_date", "DATE_IN_FUTURE",
                   "losing_carrier_information.authorizing_date cannot be in the future (today "
                   "is " +
                       numbering::FormatDate(today) + ")");
      } else {
        authorizing = *ad;
      }
    }
    lci_out = Object{{"customer_type", customer_type},
                     {"business_name", business.value_or("")},
                     {"first_name", first.value_or("")},
                     {"last_name", last.value_or("")},
                     {"authorized_representative_email", s.representative_email},
                     {"notification_emails", std::move(notify)},
                     {"address", std::move(address_out)},
                     {"authorizing_date", authorizing}};
  }

  // Port date and time.
  s.port_time =
      errors.OptString(body, "target_port_time", 5).value_or(StrOf(config, "default_port_time"));
  if (!numbering::ParseClockTime(s.port_time)) {
    errors.Add("target_port_time", "INVALID_TIME", "target_port_time must be HH:MM (24-hour)");
  }
  s.timezone = errors.OptString(body, "timezone", 40).value_or(StrOf(config, "default_timezone"));
  if (numbering::FindTimeZone(s.timezone) == nullptr) {
    std::string names;
    for (const auto& z : numbering::TimeZones()) {
      names += (names.empty() ? "" : ", ") + std::string(z.name);
    }
    errors.Add("timezone", "INVALID_TIMEZONE", "timezone must be one of: " + names);
    s.timezone = "America/New_York";
  }
  const auto cal = country == "CA" ? numbering::Country::kCa : numbering::Country::kUs;
  const auto today = LocalDate(s.timezone, t.now);
  const auto min_date = std::chrono::sys_days(today) + std::chrono::days(options_.min_port_days);
  const auto max_date = std::chrono::sys_days(today) + std::chrono::days(options_.max_port_days);
  if (auto td = errors.OptString(body, "target_port_date", 40)) {
    const auto d = numbering::ParseDate(*td);
    if (!d) {
      errors.Add("target_port_date", "INVALID_DATE",
                 "target_port_date must be an ISO 8601 date (2026-03-20 or "
                 "2026-03-20T00:00:00Z)");
    } else if (std::chrono::sys_days(*d) < min_date) {
      errors.Add(
          "target_port_date", "DATE_TOO_SOON",
          "target_port_date must be at least " + std::to_string(options_.min_port_days) +
              " days from today (" + numbering::FormatDate(today) + "): " +
              numbering::FormatDate(numbering::NextBusinessDay(numbering::Date(min_date), cal)) +
              " or later");
    } else if (std::chrono::sys_days(*d) > max_date) {
      errors.Add("target_port_date", "DATE_TOO_FAR",
                 "target_port_date must be at most " + std::to_string(options_.max_port_days) +
                     " days from today (" + numbering::FormatDate(numbering::Date(max_date)) +
                     " at the latest)");
    } else if (!numbering::IsBusinessDay(*d, cal)) {
      errors.Add("target_port_date", "NOT_BUSINESS_DAY",
                 "target_port_date " + numbering::FormatDate(*d) +
                     " is a weekend or holiday; the next business day is " +
                     numbering::FormatDate(numbering::NextBusinessDay(*d, cal)));
    } else {
      s.target_date = numbering::FormatDate(*d);
    }
  }

  // Other fields.
  std::string new_btn;
  if (auto b = errors.OptString(body, "new_billing_number", 20)) {
    auto parsed = numbering::ParseNanp(*b);
    if (!IsStrictE164(*b) || !parsed) {
      errors.Add("new_billing_number", "INVALID_NUMBER",
                 "new_billing_number must be an E.164 number, e.g. +14155550100");
    } else {
      new_btn = parsed->E164();
      if (seen.count(new_btn) > 0) {
        errors.Add("new_billing_number", "INVALID_VALUE",
                   "new_billing_number must be a number that stays with the losing carrier, not "
                   "one being ported");
      }
    }
  }
  json::array documents;
  if (const auto* docs = body.if_contains("documents"); docs != nullptr && !docs->is_null()) {
    if (!docs->is_array() || docs->get_array().size() > 20) {
      errors.Add("documents", "INVALID_TYPE",
                 "documents must be an array of at most 20 document ids");
    } else {
      std::size_t k = 0;
      for (const auto& d : docs->get_array()) {
        const std::string f = "documents[" + std::to_string(k++) + "]";
        if (!d.is_string() || d.get_string().empty() || d.get_string().size() > 64) {
          errors.Add(f, "INVALID_TYPE", f + " must be a document id (document_sid)");
        } else {
          documents.emplace_back(d.get_string());
        }
      }
    }
  }
  Object post_port;
  if (const auto* pp = errors.OptObject(body, "post_port")) {
    errors.RejectUnknown(*pp, {"directions", "service"}, "post_port");
    const auto* dirs = pp->if_contains("directions");
    if (dirs == nullptr || !dirs->is_array() || dirs->get_array().empty()) {
      errors.Add("post_port.directions", "REQUIRED",
                 "post_port.directions must list the SIP directions to attach once ported (the "
                 "POST /v1/sip/attach shape)");
    }
    post_port = *pp;
  }
  // Checks that need other services (post_port against the SIP rules, document ids).
  for (const auto& f : post_port_errors) {
    errors.Add(f.field, f.code, f.message);
  }

  // Portability: every number is checked; the non-portable ones are excluded with their reason.
  std::vector<std::string> e164s;
  e164s.reserve(s.numbers.size());
  for (const auto& n : s.numbers) {
    e164s.push_back(n.e164);
  }
  PORTLINE_ASSIGN_OR_RETURN(auto held, Held(c, org, e164s));
  const auto held_by = numbering::HeldByLookup(held);
  auto checks = checker_.Check(e164s, held_by, nullptr, t.now);
  std::string latest_earliest;
  for (std::size_t i = 0; i < s.numbers.size(); ++i) {
    auto& n = s.numbers[i];
    n.check = std::move(checks[i]);
    n.included = n.check.portable;
    if (!n.included || n.check.carrier == nullptr) {
      n.included = false;
      continue;
    }
    const auto ncountry =
        n.check.country == "CA" ? numbering::Country::kCa : numbering::Country::kUs;
    n.earliest = numbering::FormatDate(numbering::EarliestPortDate(
        today, options_.min_port_days, n.check.carrier->rules.foc_business_days, ncountry));
    latest_earliest = std::max(latest_earliest, n.earliest);
    if (s.draft) {
      continue;
    }
    const std::string field = "phone_numbers[" + std::to_string(seen[n.e164]) + "]";
    if (n.check.pin_required && n.pin.empty() && s.pin.empty()) {
      errors.Add(field + ".pin", "PIN_REQUIRED",
                 n.e164 + " is a " + std::string(numbering::KindName(n.check.carrier->kind)) +
                     " number at " + n.check.carrier->name +
                     ": its port-out PIN is required (give pin, or " + field + ".pin)");
    }
    if (n.check.account_number_required && n.account_number.empty() && s.account_number.empty()) {
      errors.Add(
          lci != nullptr ? "losing_carrier_information.account_number" : field + ".account_number",
          "ACCOUNT_NUMBER_REQUIRED",
          n.check.carrier->name + " requires the account number for " + n.e164 +
              " (give losing_carrier_information.account_number or " + field + ".account_number)");
    }
  }
  if (s.target_date.empty() && !body.contains("target_port_date")) {
    s.target_date =
        latest_earliest.empty()
            ? numbering::FormatDate(numbering::NextBusinessDay(numbering::Date(min_date), cal))
            : latest_earliest;
  }
  if (!errors.empty()) {
    // One error per field is enough for account numbers required by many numbers.
    Error e = errors.ToError();
    std::vector<FieldError> unique;
    for (auto& f : e.fields) {
      if (std::none_of(unique.begin(), unique.end(),
                       [&f](const FieldError& u) { return u.field == f.field; })) {
        unique.push_back(std::move(f));
      }
    }
    e.fields = std::move(unique);
    return tl::unexpected(std::move(e));
  }

  // Numbers in another active request of this organization: a conflict naming it.
  PORTLINE_ASSIGN_OR_RETURN(
      auto clash, QueryIn(c,
                          "SELECT n.phone_number, r.id, r.status FROM port_numbers n JOIN "
                          "port_requests r ON r.id = n.request_id WHERE n.org_id = $1 AND "
                          "n.active = 1 AND n.request_id <> $2 AND n.phone_number",
                          {org, self_id}, e164s, " ORDER BY n.phone_number LIMIT 20"));
  if (clash.size() > 20) {
    clash.resize(20);  // enough to name; the rest add nothing
  }
  if (!clash.empty()) {
    Error e{Errc::kConflict, "", "", "NUMBER_IN_ACTIVE_PORT_REQUEST", {}};
    for (const auto& r : clash) {
      const std::string& num = r.Text(0);
      const std::string msg =
          r.Text(2) == kCancelPending
              ? num + " is in port request " + r.Text(1) +
                    ", which is being canceled; resubmit it once that request is canceled"
              : num + " is already in active port request " + r.Text(1) + " (" + r.Text(2) +
                    "); cancel that request or remove the number";
      e.fields.push_back(FieldError{"NUMBER_IN_ACTIVE_PORT_REQUEST", msg,
                                    "phone_numbers[" + std::to_string(seen[num]) + "]"});
    }
    e.message = e.fields.front().message;
    return tl::unexpected(std::move(e));
  }

  s.details =
      Object{{"losing_carrier_information", std::move(lci_out)},
             {"documents", std::move(documents)},
             {"new_billing_number", new_btn},
             {"post_port", std::move(post_port)},
             {"has_post_port", body.contains("post_port")},
             {"target_port_time", s.port_time},
             {"timezone", s.timezone},
             {"on_demand_activation", s.on_demand},
             {"account_number", s.account_number.empty() ? "" : box_.Seal(s.account_number)},
             {"pin", s.pin.empty() ? "" : box_.Seal(s.pin)}};
  return s;
}

Result<std::vector<FieldError>> PortingService::CheckPostPort(std::string_view org,
                                                              const Object& body) {
  std::vector<FieldError> out;
  if (const auto* docs = body.if_contains("documents");
      validate_documents_ && docs != nullptr && docs->is_array()) {
    std::vector<std::string> ids;
    for (const auto& d : docs->get_array()) {
      if (d.is_string() && !d.get_string().empty()) {
        ids.emplace_back(d.get_string());
      }
    }
    if (auto found = validate_documents_(org, ids); !found) {
      if (found.error().fields.empty()) {
        return tl::unexpected(std::move(found).error());
      }
      for (const auto& f : found.error().fields) {
        out.push_back(f);
      }
    }
  }
  const auto* pp = body.if_contains("post_port");
  if (!validate_post_port_ || pp == nullptr || !pp->is_object()) {
    return out;
  }
  auto checked = validate_post_port_(org, pp->get_object());
  if (checked) {
    return out;
  }
  if (checked.error().Retryable() || checked.error().code == Errc::kInternal) {
    return tl::unexpected(std::move(checked).error());
  }
  if (checked.error().fields.empty()) {
    out.push_back(
        FieldError{"INVALID_VALUE", "post_port: " + checked.error().message, "post_port"});
  }
  for (const auto& f : checked.error().fields) {
    out.push_back(FieldError{f.code, "post_port." + f.message, "post_port." + f.field});
  }
  return out;
}

}  // namespace portline::porting
