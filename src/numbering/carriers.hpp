#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "numbering/calendar.hpp"

namespace portline::numbering {

enum class CarrierKind : std::uint8_t { kWireless, kWireline, kVoip };
[[nodiscard]] std::string_view KindName(CarrierKind k);

/// How a losing carrier ports numbers out.
struct PortingRules {
  bool supported = true;      // we can port from this carrier at all
  bool pin_required = false;  // every wireless carrier requires a port-out PIN
  bool account_number_required = true;
  bool fast_port_eligible = false;  // simple ports activate same/next day
  int foc_business_days = 4;        // typical firm order commitment interval
  std::string activation_window = "Mon-Fri 08:00-20:00 ET";
  // The same window, structured: weekdays (business days) only, minutes of day in
  // America/New_York. Activations (scheduled or on demand) happen inside it.
  int activation_start_minute = 8 * 60;
  int activation_end_minute = 20 * 60;
};

struct Carrier {
  std::uint16_t id = 0;  // index in the registry; 0 is reserved for "unknown"
  std::string spid;      // NPAC service provider id (4 characters)
  std::string ocn;       // operating company number
  std::string name;
  CarrierKind kind = CarrierKind::kWireline;
  Country country = Country::kUs;  // where it serves numbers (its holidays, its numbers)
  PortingRules rules;
};

/// The carriers Portline knows and how they port. Immutable after construction; thread-safe.
/// The default registry is the simulated carrier network used by the embedded LNP dataset.
class CarrierRegistry {
 public:
  explicit CarrierRegistry(std::vector<Carrier> carriers);
  [[nodiscard]] static const CarrierRegistry& Default();
  /// A registry file (docs/operations.md, "Carrier registry"): a header line
  ///   spid,ocn,name,kind,country,foc_business_days,pin_required,account_number_required,
  ///   fast_port,supported
  /// then one carrier per line (# comments; a name with a comma in double quotes). Every problem
  /// is reported with its line number (up to 20).
  [[nodiscard]] static Result<CarrierRegistry> LoadCsv(std::istream& in);
  [[nodiscard]] static Result<CarrierRegistry> LoadFile(const std::string& path);

  [[nodiscard]] const Carrier* Get(std::uint16_t id) const;
  [[nodiscard]] const Carrier* BySpid(std::string_view spid) const;
  [[nodiscard]] const std::vector<Carrier>& all() const { return carriers_; }

 private:
  std::vector<Carrier> carriers_;  // carriers_[0] is a placeholder for id 0
};

}  // namespace portline::numbering
