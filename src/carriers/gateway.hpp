#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "numbering/calendar.hpp"

namespace portline::carriers {

using TimePoint = std::chrono::system_clock::time_point;

/// One number of a carrier order, with the per-number secrets when the user gave them.
struct OrderLine {
  std::string phone_number;
  std::string pin;
  std::string account_number;
};

/// What the winning side sends the losing carrier (an LSR, in industry terms).
struct CarrierOrder {
  std::string pon;  // purchase order number: our child order id. Carriers dedupe on (pon, version)
  int version = 0;  // +1 per supplement
  std::string org_id;
  std::string spid;  // losing carrier
  std::vector<OrderLine> lines;
  std::string customer_type;  // business | personal
  std::string business_name, first_name, last_name;
  std::string account_number, pin;  // request-wide values (lines may override)
  std::string street, street2, city, state, zip, country;
  std::string new_billing_number;
  numbering::Date due_date;
};

/// A rejection as the carrier sends it: its raw code (a JCode) and text. `phone_number` is empty
/// when it concerns the whole order.
struct Reject {
  std::string phone_number;
  std::string code;
  std::string message;
};

/// The carrier's answer to an order: a firm order commitment (FOC) date, or rejections. It
/// arrives at `respond_at`; the workflow applies it then.
struct Decision {
  bool accepted = false;
  numbering::Date foc_date;
  std::vector<Reject> rejects;
  TimePoint respond_at;
};

/// A customer service record: what the losing carrier holds for a number.
struct ServiceRecord {
  std::string account_number_hint;  // last 4 characters only
  std::string customer_type, business_name, first_name, last_name;
  std::string street, city, state, zip;
  std::string billing_number;
  std::vector<std::string> lines;
  bool pin_on_account = false;
  bool port_freeze = false;
};

/// The losing-carrier / NPAC side of porting. Implementations must be idempotent per
/// (pon, version): the workflow may repeat a call after a crash. Thread-safe.
class Gateway {
 public:
  virtual ~Gateway() = default;
  /// Sends (or re-sends, for a supplement) an order; returns the carrier's decision.
  [[nodiscard]] virtual Result<Decision> Submit(const CarrierOrder& order, TimePoint now) = 0;
  /// Activates the ported numbers of an order at or after its FOC.
  [[nodiscard]] virtual Result<void> Activate(std::string_view pon,
                                              const std::vector<std::string>& numbers,
                                              TimePoint now) = 0;
  /// Asks the carrier to cancel an order; returns when the carrier confirms the cancellation.
  [[nodiscard]] virtual Result<TimePoint> Cancel(std::string_view pon, TimePoint now) = 0;
  /// The customer service record of a number, when the carrier has one.
  [[nodiscard]] virtual Result<std::optional<ServiceRecord>> FetchCsr(std::string_view org_id,
                                                                      std::string_view number) = 0;
};

}  // namespace portline::carriers
