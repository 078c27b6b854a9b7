#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "numbering/carriers.hpp"
#include "numbering/lnp.hpp"

namespace portline::numbering {

struct CheckOptions {
  int min_port_days = 7;            // earliest port date: at least this many days out
  std::size_t max_numbers = 20000;  // per request
  std::set<std::string> coverage;   // state/province codes served; empty = all of US/CA
};

/// One number's answer. String views point into static tables or the carrier registry.
struct CheckResult {
  std::string phone_number;  // normalized E.164, or the input when it does not parse
  bool portable = false;
  std::string_view number_type = "invalid";
  bool pin_required = false;
  bool account_number_required = false;
  bool fast_port_eligible = false;
  const Carrier* carrier = nullptr;
  bool has_location = false;
  std::string_view country, state, state_code, city;  // state: its name; state_code: "CA"
  std::string earliest_port_date;                     // "YYYY-MM-DD"; empty when not portable
  std::string_view reason_code;                       // empty when portable
  std::string reason_message;
  std::vector<std::string> next_steps;
};

/// Two-letter code of a US state (or DC) or Canadian province/territory from its name, or "".
[[nodiscard]] std::string_view StateCode(std::string_view name);
/// The name of a US state (or DC) or Canadian province/territory from its code, or "".
[[nodiscard]] std::string_view StateName(std::string_view code);
/// "San Francisco" for "San Francisco, CA"; anything else unchanged.
[[nodiscard]] std::string_view WithoutStateSuffix(std::string_view place);
/// "US" or "CA" for a state/province code ("CA" → "US", "ON" → "CA"), or "" if unknown.
[[nodiscard]] std::string_view CountryOfStateCode(std::string_view code);

/// Who has a number on the platform, as the portability check needs to know it. Another
/// organization is never named: the answer to it is the same whoever it is.
enum class HeldBy { kNobody, kCaller, kAnotherOrganization };

/// The lookup Check takes, over a map of the numbers someone holds (absent: nobody).
[[nodiscard]] std::function<HeldBy(std::string_view)> HeldByLookup(
    const std::map<std::string, HeldBy>& held);

/// Makes `r` not portable because another organization holds the number, in words that name
/// nobody (the check's answer, and a port request's when another organization won the race).
void MarkHeldElsewhere(CheckResult& r);

/// Answers "can these numbers be ported to us, and if not, why and what next?". Pure given its
/// inputs: the LNP index, the carrier registry, the clock and what the caller knows about the
/// organization's own numbers. Thread-safe.
class PortabilityChecker {
 public:
  PortabilityChecker(const LnpService& lnp, const CarrierRegistry& carriers, const Clock& clock,
                     CheckOptions options)
      : lnp_(lnp), carriers_(carriers), clock_(clock), options_(std::move(options)) {}

  /// `held(e164)`: who already has the number on the platform (kNobody when nobody does, or the
  /// caller only has it attached to SIP or in a port request of its own).
  /// `in_port_request(e164)`: the number is in one of the caller's active port requests.
  /// `now`: the caller's clock (a sandbox organization's runs ahead); the checker's otherwise.
  /// One result per input, in order; one bad entry never fails the batch.
  [[nodiscard]] std::vector<CheckResult> Check(
      const std::vector<std::string>& inputs, const std::function<HeldBy(std::string_view)>& held,
      const std::function<bool(std::string_view)>& in_port_request,
      std::optional<std::chrono::system_clock::time_point> now = std::nullopt) const;

  /// {"results": [...], "summary": {"total", "portable", "not_portable"}} as JSON text, written
  /// directly (a 10,000-number answer is ~4 MB; building a DOM for it costs more than the check).
  /// `data_source` (when given) says where the carrier data came from.
  [[nodiscard]] static std::string ToJson(const std::vector<CheckResult>& results,
                                          std::string_view data_source = {});
  /// "imported" when the LNP data came from a file, "generated" for the embedded default.
  [[nodiscard]] std::string_view DataSource() const;

  [[nodiscard]] const CheckOptions& options() const { return options_; }

 private:
  const LnpService& lnp_;
  const CarrierRegistry& carriers_;
  const Clock& clock_;
  CheckOptions options_;
};

}  // namespace portline::numbering
