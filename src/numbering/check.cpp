#include "numbering/check.hpp"

#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <map>

#include "numbering/calendar.hpp"
#include "numbering/nanp.hpp"

namespace portline::numbering {
namespace json = boost::json;
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

// Results of a batch are built in one arena (json::monotonic_resource) and freed at once: a
// 10,000-number check is otherwise dominated by malloc and free of its ~200,000 JSON nodes.
json::object Reason(const json::storage_ptr& sp, std::string_view code, std::string message,
                    std::initializer_list<std::string_view> next_steps) {
  json::array steps(sp);
  for (auto s : next_steps) {
    steps.emplace_back(s);
  }
  return json::object(
      {{"code", code}, {"message", std::move(message)}, {"next_steps", std::move(steps)}}, sp);
}

json::object Result(const json::storage_ptr& sp, std::string phone_number) {
  return json::object({{"phone_number", std::move(phone_number)},
                       {"portable", false},
                       {"number_type", "invalid"},
                       {"pin_required", false},
                       {"account_number_required", false},
                       {"fast_port_eligible", false},
                       {"carrier", nullptr},
                       {"location", nullptr},
                       {"earliest_port_date", nullptr},
                       {"reason", nullptr}},
                      sp);
}

}  // namespace

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

json::value PortabilityChecker::Check(
    const std::vector<std::string>& inputs,
    const std::function<bool(std::string_view)>& on_platform,
    const std::function<bool(std::string_view)>& in_port_request) const {
  const auto index = lnp_.Current();
  const Date today{std::chrono::floor<std::chrono::days>(clock_.Now())};
  std::map<std::pair<Country, int>, std::string> earliest;  // (country, FOC days) -> date
  const json::storage_ptr sp = json::make_shared_resource<json::monotonic_resource>();
  json::array results(sp);
  results.reserve(inputs.size());
  std::size_t portable_count = 0;
  for (const auto& input : inputs) {
    auto parsed = ParseNanp(input);
    if (!parsed) {
      auto r = Result(sp, input);
      const bool country = parsed.error().api_code == "UNSUPPORTED_COUNTRY";
      r["reason"] =
          Reason(sp, country ? "unsupported_country" : "invalid_number", parsed.error().message,
                 {country ? "Portline ports US and Canadian numbers only"
                          : "Check the number and send it in E.164 form, e.g. "
                            "+14155550100"});
      results.push_back(std::move(r));
      continue;
    }
    const NanpNumber& n = *parsed;
    const std::string e164 = n.E164();
    auto r = Result(sp, e164);
    r["number_type"] = TypeName(n.type);
    if (!n.region.empty()) {
      const std::string_view code = StateCode(n.state);
      r["location"] =
          json::object{{"country", n.region},
                       {"state", n.state},
                       {"state_code", code},
                       {"city", n.city.empty() ? json::value(nullptr) : json::value(n.city)}};
    }
    if (n.type == NumberType::kInvalid || n.type == NumberType::kN11) {
      r["number_type"] = "invalid";
      r["reason"] = Reason(sp, "invalid_number",
                           n.type == NumberType::kN11
                               ? "N11 codes (211-911) are service codes, not assignable numbers"
                               : "area code " + std::to_string(n.npa) + " / exchange " +
                                     std::to_string(n.nxx) + " is not in service",
                           {"Check the number for typos"});
      results.push_back(std::move(r));
      continue;
    }
    if (!n.IsUsOrCanada()) {
      r["reason"] = Reason(sp, "unsupported_country",
                           "+1 " + std::to_string(n.npa) + " belongs to " + std::string(n.region) +
                               "; Portline ports US and Canadian numbers only",
                           {"Port it to a provider that serves " + std::string(n.region)});
      results.push_back(std::move(r));
      continue;
    }
    if (n.type == NumberType::kTollFree) {
      r["reason"] = Reason(sp, "toll_free_manual",
                           "toll-free numbers move by a RespOrg change, handled manually",
                           {"Open a toll-free port request with support",
                            "Have the current RespOrg's account details ready"});
      results.push_back(std::move(r));
      continue;
    }
    if (n.type != NumberType::kGeographic) {
      r["reason"] = Reason(sp, "unsupported_number_type",
                           std::string(TypeName(n.type)) + " numbers cannot be ported in",
                           {"Only geographic numbers can be ported"});
      results.push_back(std::move(r));
      continue;
    }
    const auto carrier_id = index->Lookup(n.national());
    const Carrier* carrier = carrier_id ? carriers_.Get(*carrier_id) : nullptr;
    if (carrier == nullptr) {
      r["reason"] = Reason(sp, "unassigned", "no carrier holds " + e164 + "; it is not in service",
                           {"Check the number", "An unassigned number cannot be ported"});
      results.push_back(std::move(r));
      continue;
    }
    r["carrier"] = json::object({{"name", carrier->name},
                                 {"spid", carrier->spid},
                                 {"ocn", carrier->ocn},
                                 {"kind", KindName(carrier->kind)}},
                                sp);
    r["number_type"] = carrier->kind == CarrierKind::kWireless
                           ? "mobile"
                           : (carrier->kind == CarrierKind::kVoip ? "voip" : "landline");
    r["pin_required"] = carrier->rules.pin_required;
    r["account_number_required"] = carrier->rules.account_number_required;
    r["fast_port_eligible"] = carrier->rules.fast_port_eligible;
    const std::string_view state_code = StateCode(n.state);
    if (!carrier->rules.supported) {
      r["reason"] = Reason(sp, "carrier_not_supported",
                           carrier->name + " does not port numbers out to Portline",
                           {"Ask the carrier for a port-out through another provider"});
    } else if (on_platform && on_platform(e164)) {
      r["reason"] = Reason(sp, "already_on_platform", e164 + " is already on your account",
                           {"Configure it with POST /v1/sip/attach"});
    } else if (in_port_request && in_port_request(e164)) {
      r["reason"] = Reason(sp, "in_active_port_request", e164 + " is in an active port request",
                           {"Wait for that request to finish or cancel it"});
    } else if (!options_.coverage.empty() && !options_.coverage.count(std::string(state_code))) {
      r["reason"] =
          Reason(sp, "no_coverage",
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
      r["portable"] = true;
      r["earliest_port_date"] = date;
      ++portable_count;
    }
    results.push_back(std::move(r));
  }
  const std::size_t total = results.size();
  return json::object({{"results", std::move(results)},
                       {"summary", json::object({{"total", total},
                                                 {"portable", portable_count},
                                                 {"not_portable", total - portable_count}},
                                                sp)}},
                      sp);
}

}  // namespace portline::numbering
