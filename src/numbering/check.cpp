#include "numbering/check.hpp"

#include <cstdint>
#include <map>

#include "core/log.hpp"
#include "numbering/calendar.hpp"
#include "numbering/nanp.hpp"

namespace portline::numbering {
namespace {

constexpr std::pair<std::string_view, std::string_view> kStates[] = {
    {"Alabama", "AL"},
    {"Alaska", "AK"},
    {"Arizona", "AZ"},
    {"Arkansas", "AR"},
    {"California", "CA"},
    {"Colorado", "CO"},
    {"Connecticut", "CT"},
    {"Delaware", "DE"},
    {"District of Columbia", "DC"},
    {"Washington D.C.", "DC"},
    {"Washington DC", "DC"},
    {"Florida", "FL"},
    {"Georgia", "GA"},
    {"Hawaii", "HI"},
    {"Idaho", "ID"},
    {"Illinois", "IL"},
    {"Indiana", "IN"},
    {"Iowa", "IA"},
    {"Kansas", "KS"},
    {"Kentucky", "KY"},
    {"Louisiana", "LA"},
    {"Maine", "ME"},
    {"Maryland", "MD"},
    {"Massachusetts", "MA"},
    {"Michigan", "MI"},
    {"Minnesota", "MN"},
    {"Mississippi", "MS"},
    {"Missouri", "MO"},
    {"Montana", "MT"},
    {"Nebraska", "NE"},
    {"Nevada", "NV"},
    {"New Hampshire", "NH"},
    {"New Jersey", "NJ"},
    {"New Mexico", "NM"},
    {"New York", "NY"},
    {"North Carolina", "NC"},
    {"North Dakota", "ND"},
    {"Ohio", "OH"},
    {"Oklahoma", "OK"},
    {"Oregon", "OR"},
    {"Pennsylvania", "PA"},
    {"Rhode Island", "RI"},
    {"South Carolina", "SC"},
    {"South Dakota", "SD"},
    {"Tennessee", "TN"},
    {"Texas", "TX"},
    {"Utah", "UT"},
    {"Vermont", "VT"},
    {"Virginia", "VA"},
    {"Washington", "WA"},
    {"West Virginia", "WV"},
    {"Wisconsin", "WI"},
    {"Wyoming", "WY"},
    // Canadian provinces and territories from here on (kFirstProvince).
    {"Alberta", "AB"},
    {"British Columbia", "BC"},
    {"Manitoba", "MB"},
    {"New Brunswick", "NB"},
    {"Newfoundland and Labrador", "NL"},
    {"Newfoundland", "NL"},
    {"Nova Scotia", "NS"},
    {"Northwest Territories", "NT"},
    {"Nunavut", "NU"},
    {"Ontario", "ON"},
    {"Prince Edward Island", "PE"},
    {"Quebec", "QC"},
    {"Québec", "QC"},
    {"Saskatchewan", "SK"},
    {"Yukon", "YT"},
    {"Nova Scotia/Prince Edward Island", "NS"},
};
// Index of the first Canadian entry of kStates.
constexpr std::size_t kFirstProvince = [] {
  std::size_t i = 0;
  while (kStates[i].second != "AB") {
    ++i;
  }
  return i;
}();

void SetReason(CheckResult& r, std::string_view code, std::string message,
               std::initializer_list<std::string> next_steps) {
  r.reason_code = code;
  r.reason_message = std::move(message);
  r.next_steps.assign(next_steps.begin(), next_steps.end());
}

void AppendString(std::string& out, std::string_view s) { log::AppendJsonString(out, s); }

void AppendField(std::string& out, std::string_view key, std::string_view value,
                 bool comma = true) {
  if (comma) {
    out.push_back(',');
  }
  out.push_back('"');
  out.append(key);
  out += "\":";
  AppendString(out, value);
}

void AppendBool(std::string& out, std::string_view key, bool value) {
  out += ",\"";
  out.append(key);
  out += value ? "\":true" : "\":false";
}

}  // namespace

std::string_view CountryOfStateCode(std::string_view code) {
  for (std::size_t i = 0; i < std::size(kStates); ++i) {
    if (kStates[i].second == code) {
      return i < kFirstProvince ? "US" : "CA";
    }
  }
  return {};
}

std::function<HeldBy(std::string_view)> HeldByLookup(const std::map<std::string, HeldBy>& held) {
  return [&held](std::string_view n) {
    const auto it = held.find(std::string(n));
    return it == held.end() ? HeldBy::kNobody : it->second;
  };
}

void MarkHeldElsewhere(CheckResult& r) {
  r.portable = false;
  r.earliest_port_date.clear();
  SetReason(
      r, "already_on_platform",
      r.phone_number + " is already in service on Portline and cannot be ported in",
      {"Check the number", "If it is yours, ask support to review who holds it on the platform"});
}

std::string_view StateName(std::string_view code) {
  for (const auto& [n, c] : kStates) {
    if (c == code) {
      return n;
    }
  }
  return {};
}

std::string_view WithoutStateSuffix(std::string_view place) {
  if (place.size() > 4 && place[place.size() - 4] == ',' && place[place.size() - 3] == ' ') {
    return place.substr(0, place.size() - 4);
  }
  return place;
}

std::string_view StateCode(std::string_view name) {
  for (const auto& [n, code] : kStates) {
    if (n == name) {
      return code;
    }
  }
  // City-level names end in ", ST".
  if (name.size() > 4 && name[name.size() - 4] == ',' && name[name.size() - 3] == ' ') {
    return name.substr(name.size() - 2);
  }
  return {};
}

std::vector<CheckResult> PortabilityChecker::Check(
    const std::vector<std::string>& inputs, const std::function<HeldBy(std::string_view)>& held,
    const std::function<bool(std::string_view)>& in_port_request,
    std::optional<std::chrono::system_clock::time_point> now) const {
  const auto index = lnp_.Current();
  const Date today{std::chrono::floor<std::chrono::days>(now.value_or(clock_.Now()))};
  std::map<std::pair<Country, int>, std::string> earliest;  // (country, FOC days) -> date
  std::vector<CheckResult> results(inputs.size());
  // Parse everything first, then look up every geographic US/CA number in one batch, so the
  // index's memory accesses overlap (LnpIndex::LookupBatch).
  std::vector<Result<NanpNumber>> numbers;
  numbers.reserve(inputs.size());
  std::vector<std::uint64_t> nationals;
  std::vector<std::size_t> lookup_of(inputs.size(), SIZE_MAX);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    numbers.push_back(ParseNanp(inputs[i]));
    const auto& n = numbers.back();
    if (n && n->type == NumberType::kGeographic && n->IsUsOrCanada()) {
      lookup_of[i] = nationals.size();
      nationals.push_back(n->national());
    }
  }
  std::vector<std::uint16_t> carrier_ids(nationals.size());
  index->LookupBatch(nationals.data(), nationals.size(), carrier_ids.data());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    CheckResult& r = results[i];
    const auto& parsed = numbers[i];
    if (!parsed) {
      r.phone_number = inputs[i];
      const bool country = parsed.error().api_code == "UNSUPPORTED_COUNTRY";
      SetReason(r, country ? "unsupported_country" : "invalid_number", parsed.error().message,
                {country ? "Portline ports US and Canadian numbers only"
                         : "Check the number and send it in E.164 form, e.g. +14155550100"});
      continue;
    }
    const NanpNumber& n = *parsed;
    r.phone_number = n.E164();
    r.number_type = TypeName(n.type);
    if (!n.region.empty()) {
      r.has_location = true;
      r.country = n.region;
      // The tables name some area codes by a city ("Chicago, IL") rather than a state: the
      // location says state (a code), state name and city each in its own field.
      r.state_code = StateCode(n.state);
      r.state = StateName(r.state_code);
      r.city = WithoutStateSuffix(n.city.empty() && r.state != n.state ? n.state : n.city);
    }
    if (n.type == NumberType::kInvalid || n.type == NumberType::kN11) {
      r.number_type = "invalid";
      SetReason(r, "invalid_number",
                n.type == NumberType::kN11
                    ? "N11 codes (211-911) are service codes, not assignable numbers"
                    : "area code " + std::to_string(n.npa) + " / exchange " +
                          std::to_string(n.nxx) + " is not in service",
                {"Check the number for typos"});
      continue;
    }
    if (!n.IsUsOrCanada()) {
      SetReason(r, "unsupported_country",
                "+1 " + std::to_string(n.npa) + " belongs to " + std::string(n.region) +
                    "; Portline ports US and Canadian numbers only",
                {"Port it to a provider that serves " + std::string(n.region)});
      continue;
    }
    if (n.type == NumberType::kTollFree) {
      SetReason(r, "toll_free_manual",
                "toll-free numbers move by a RespOrg change, handled manually",
                {"Open a toll-free port request with support",
                 "Have the current RespOrg's account details ready"});
      continue;
    }
    if (n.type != NumberType::kGeographic) {
      SetReason(r, "unsupported_number_type",
                std::string(TypeName(n.type)) + " numbers cannot be ported in",
                {"Only geographic numbers can be ported"});
      continue;
    }
    const Carrier* carrier = carriers_.Get(carrier_ids[lookup_of[i]]);
    if (carrier == nullptr) {
      SetReason(r, "unassigned", "no carrier holds " + r.phone_number + "; it is not in service",
                {"Check the number", "An unassigned number cannot be ported"});
      continue;
    }
    r.carrier = carrier;
    r.number_type = carrier->kind == CarrierKind::kWireless
                        ? "mobile"
                        : (carrier->kind == CarrierKind::kVoip ? "voip" : "landline");
    r.pin_required = carrier->rules.pin_required;
    r.account_number_required = carrier->rules.account_number_required;
    r.fast_port_eligible = carrier->rules.fast_port_eligible;
    if (!carrier->rules.supported) {
      SetReason(r, "carrier_not_supported",
                carrier->name + " does not port numbers out to Portline",
                {"Ask the carrier for a port-out through another provider"});
    } else if (const HeldBy by = held ? held(r.phone_number) : HeldBy::kNobody;
               by == HeldBy::kCaller) {
      SetReason(r, "already_on_platform", r.phone_number + " is already on your account",
                {"Configure it with POST /v1/sip/attach"});
    } else if (by == HeldBy::kAnotherOrganization) {
      MarkHeldElsewhere(r);
    } else if (in_port_request && in_port_request(r.phone_number)) {
      SetReason(r, "in_active_port_request", r.phone_number + " is in an active port request",
                {"Wait for that request to finish or cancel it"});
    } else if (!options_.coverage.empty() && !options_.coverage.count(std::string(r.state_code))) {
      SetReason(r, "no_coverage",
                "Portline does not serve " +
                    (n.state.empty() ? std::string("this area") : std::string(n.state)) + " yet",
                {"Contact support to ask for coverage"});
    } else {
      const Country country = n.region == "CA" ? Country::kCa : Country::kUs;
      auto& date = earliest[{country, carrier->rules.foc_business_days}];
      if (date.empty()) {
        date = FormatDate(EarliestPortDate(today, options_.min_port_days,
                                           carrier->rules.foc_business_days, country));
      }
      r.portable = true;
      r.earliest_port_date = date;
    }
  }
  return results;
}

std::string_view PortabilityChecker::DataSource() const {
  return lnp_.Current()->imported() ? "imported" : "generated";
}

std::string PortabilityChecker::ToJson(const std::vector<CheckResult>& results,
                                       std::string_view data_source) {
  std::string out;
  out.reserve(results.size() * 420 + 128);
  out += "{\"results\":[";
  std::size_t portable = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const CheckResult& r = results[i];
    portable += r.portable ? 1 : 0;
    out += i == 0 ? "{" : ",{";
    AppendField(out, "phone_number", r.phone_number, false);
    AppendBool(out, "portable", r.portable);
    AppendField(out, "number_type", r.number_type);
    AppendBool(out, "pin_required", r.pin_required);
    AppendBool(out, "account_number_required", r.account_number_required);
    AppendBool(out, "fast_port_eligible", r.fast_port_eligible);
    if (r.carrier != nullptr) {
      out += ",\"carrier\":{";
      AppendField(out, "name", r.carrier->name, false);
      AppendField(out, "spid", r.carrier->spid);
      AppendField(out, "ocn", r.carrier->ocn);
      AppendField(out, "kind", KindName(r.carrier->kind));
      out += "}";
    } else {
      out += ",\"carrier\":null";
    }
    if (r.has_location) {
      out += ",\"location\":{";
      AppendField(out, "country", r.country, false);
      AppendField(out, "state", r.state_code);
      AppendField(out, "state_code", r.state_code);
      AppendField(out, "state_name", r.state);
      if (r.city.empty()) {
        out += ",\"city\":null";
      } else {
        AppendField(out, "city", r.city);
      }
      out += "}";
    } else {
      out += ",\"location\":null";
    }
    if (r.earliest_port_date.empty()) {
      out += ",\"earliest_port_date\":null";
    } else {
      AppendField(out, "earliest_port_date", r.earliest_port_date);
    }
    if (r.reason_code.empty()) {
      out += ",\"reason\":null}";
      continue;
    }
    out += ",\"reason\":{";
    AppendField(out, "code", r.reason_code, false);
    AppendField(out, "message", r.reason_message);
    out += ",\"next_steps\":[";
    for (std::size_t k = 0; k < r.next_steps.size(); ++k) {
      if (k > 0) {
        out.push_back(',');
      }
      AppendString(out, r.next_steps[k]);
    }
    out += "]}}";
  }
  out += "],\"summary\":{\"total\":" + std::to_string(results.size()) +
         ",\"portable\":" + std::to_string(portable) +
         ",\"not_portable\":" + std::to_string(results.size() - portable) + "}";
  if (!data_source.empty()) {
    out += ",\"data_source\":\"" + std::string(data_source) + "\"";
  }
  out += "}";
  return out;
}

}  // namespace portline::numbering
