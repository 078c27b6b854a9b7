// /v1/sip/port/check: bulk portability checks (Bland's GET shape, plus a POST for big batches).
#include <boost/json/array.hpp>
#include <set>

#include "api/api.hpp"
#include "api/json.hpp"
#include "numbering/nanp.hpp"

namespace portline::api {
namespace {

// The organization's own numbers among `inputs` (normalized E.164), in chunks of 500.
Result<std::set<std::string>> OwnedNumbers(store::Database& db, std::string_view org,
                                           const std::vector<std::string>& inputs) {
  std::vector<std::string> candidates;
  for (const auto& in : inputs) {
    if (auto n = numbering::ParseNanp(in)) {
      candidates.push_back(n->E164());
    }
  }
  std::set<std::string> owned;
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto any, lease->Query("SELECT 1 FROM phone_numbers WHERE org_id = $1 LIMIT 1", {org}));
  if (any.empty()) {
    return owned;  // most checks come from organizations that own none of the numbers yet
  }
  for (std::size_t i = 0; i < candidates.size(); i += 500) {
    const std::size_t end = std::min(candidates.size(), i + 500);
    std::string sql =
        "SELECT phone_number FROM phone_numbers WHERE org_id = $1 AND phone_number IN (";
    store::Params params{org};
    for (std::size_t k = i; k < end; ++k) {
      sql += (k == i ? "$" : ", $") + std::to_string(params.size() + 1);
      params.emplace_back(candidates[k]);
    }
    sql += ")";
    PORTLINE_ASSIGN_OR_RETURN(auto rows, lease->Query(sql, params));
    for (const auto& r : rows) {
      owned.insert(r.Text(0));
    }
  }
  return owned;
}

Result<Response> RunCheck(const numbering::PortabilityChecker& checker, store::Database& db,
                          const Request& req, const std::vector<std::string>& numbers) {
  const std::size_t max = checker.options().max_numbers;
  if (numbers.empty()) {
    return FailCode(Errc::kInvalidArgument, "REQUIRED",
                    "phone_numbers is required: give at least one number", "phone_numbers");
  }
  if (numbers.size() > max) {
    return FailCode(Errc::kInvalidArgument, "TOO_MANY",
                    "at most " + std::to_string(max) + " numbers per check (got " +
                        std::to_string(numbers.size()) + "); split the list",
                    "phone_numbers");
  }
  PORTLINE_ASSIGN_OR_RETURN(auto owned, OwnedNumbers(db, req.OrgId(), numbers));
  auto on_platform = [&owned](std::string_view e164) { return owned.count(std::string(e164)) > 0; };
  // Port requests arrive with the porting lifecycle; until then no number is in one.
  auto in_port_request = [](std::string_view) { return false; };
  Response r;
  r.body =
      "{\"data\":" +
      numbering::PortabilityChecker::ToJson(checker.Check(numbers, on_platform, in_port_request)) +
      ",\"errors\":null}";
  return r;
}

}  // namespace

void RegisterPortingRoutes(Router& router, const numbering::PortabilityChecker& checker,
                           store::Database& db) {
  router.Add("GET", "/v1/sip/port/check", [&checker, &db](Request& req) -> Result<Response> {
    auto numbers = req.QueryAll("phone_numbers[]");
    for (auto& n : req.QueryAll("phone_numbers")) {
      numbers.push_back(std::move(n));
    }
    return RunCheck(checker, db, req, numbers);
  });

  router.Add("POST", "/v1/sip/port/check", [&checker, &db](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    FieldErrors errors;
    errors.RejectUnknown(body, {"phone_numbers"});
    std::vector<std::string> numbers;
    const auto* list = body.if_contains("phone_numbers");
    if (list == nullptr || !list->is_array()) {
      errors.Add("phone_numbers", "REQUIRED", "phone_numbers must be an array of strings");
    } else {
      numbers.reserve(list->get_array().size());
      std::size_t i = 0;
      for (const auto& v : list->get_array()) {
        if (!v.is_string()) {
          errors.Add("phone_numbers[" + std::to_string(i) + "]", "INVALID_TYPE",
                     "phone_numbers[" + std::to_string(i) + "] must be a string");
        } else {
          numbers.emplace_back(v.get_string());
        }
        ++i;
      }
    }
    if (!errors.empty()) {
      return tl::unexpected(errors.ToError());
    }
    return RunCheck(checker, db, req, numbers);
  });
}

}  // namespace portline::api
