#pragma once

#include <boost/json/value.hpp>
#include <functional>
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

/// Two-letter code of a US state (or DC) or Canadian province/territory from its name, or "".
[[nodiscard]] std::string_view StateCode(std::string_view name);

/// Answers "can these numbers be ported to us, and if not, why and what next?". Pure given its
/// inputs: the LNP index, the carrier registry, the clock and what the caller knows about the
/// organization's own numbers. Thread-safe.
class PortabilityChecker {
 public:
  PortabilityChecker(const LnpService& lnp, const CarrierRegistry& carriers, const Clock& clock,
                     CheckOptions options)
      : lnp_(lnp), carriers_(carriers), clock_(clock), options_(std::move(options)) {}

  /// `on_platform(e164)`: the number already belongs to the caller's organization.
  /// `in_port_request(e164)`: the number is in one of the caller's active port requests.
  /// Returns {"results": [...], "summary": {...}}; one bad entry never fails the batch.
  [[nodiscard]] boost::json::value Check(
      const std::vector<std::string>& inputs,
      const std::function<bool(std::string_view)>& on_platform,
      const std::function<bool(std::string_view)>& in_port_request) const;

  [[nodiscard]] const CheckOptions& options() const { return options_; }

 private:
  const LnpService& lnp_;
  const CarrierRegistry& carriers_;
  const Clock& clock_;
  CheckOptions options_;
};

}  // namespace portline::numbering
