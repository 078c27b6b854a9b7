#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "carriers/gateway.hpp"
#include "core/clock.hpp"
#include "numbering/carriers.hpp"
#include "store/database.hpp"

namespace portline::carriers {

/// A subscriber account held by a simulated carrier. The account number and PIN are kept only as
/// SHA-256 (and the last four characters of the account number, for CSRs).
struct SimAccount {
  std::string id;
  std::string customer_type = "business";
  std::string business_name, first_name, last_name;
  std::string account_number_sha256, account_number_last4;
  std::string pin_sha256;  // empty: no PIN on the account
  std::string street, city, state, zip;
  std::string billing_number;
  std::vector<std::string> phone_numbers;
  bool port_freeze = false;
  bool pending_order = false;  // another carrier's port is already pending on this account

  [[nodiscard]] boost::json::object ToJson() const;
};

/// Validates a `POST /v1/sandbox/accounts` body (all problems at once) into an account.
[[nodiscard]] Result<SimAccount> ParseSimAccount(const boost::json::object& body);

/// The pure decision of a simulated carrier: checks every line of `order` against the accounts
/// holding its numbers (name, address, account number, PIN, partial billing-number port, freeze,
/// conflicting order) and answers with reject codes or a FOC date. Numbers no account holds are
/// accepted as submitted.
[[nodiscard]] Decision Evaluate(const CarrierOrder& order, const numbering::Carrier& carrier,
                                const std::map<std::string, SimAccount>& accounts_by_number,
                                TimePoint now);

/// The embedded carrier network: the carriers of the registry, answering from accounts stored in
/// the database (seeded ones, shared by all organizations, and each sandbox organization's own).
class SimulatedNetwork final : public Gateway {
 public:
  SimulatedNetwork(store::Database& db, const numbering::CarrierRegistry& carriers,
                   const Clock& clock)
      : db_(db), carriers_(carriers), clock_(clock) {}

  /// Inserts the deterministic seeded accounts (idempotent).
  [[nodiscard]] Result<void> Seed();
  [[nodiscard]] static const std::vector<std::pair<SimAccount, std::string>>& SeededAccounts();

  [[nodiscard]] Result<boost::json::value> CreateAccount(std::string_view org,
                                                         const boost::json::object& body);
  [[nodiscard]] Result<boost::json::value> ListAccounts(std::string_view org);
  /// Changes an organization's own account: `port_freeze`, `pending_order`, `pin`,
  /// `account_number` (what a subscriber changes at the carrier to let a port through).
  [[nodiscard]] Result<boost::json::value> UpdateAccount(std::string_view org, std::string_view id,
                                                         const boost::json::object& body);

  Result<Decision> Submit(const CarrierOrder& order, TimePoint now) override;
  Result<void> Activate(std::string_view pon, const std::vector<std::string>& numbers,
                        TimePoint now) override;
  Result<TimePoint> Cancel(std::string_view pon, TimePoint now) override;
  Result<std::optional<ServiceRecord>> FetchCsr(std::string_view org_id,
                                                std::string_view number) override;

 private:
  Result<std::optional<SimAccount>> AccountOf(store::Connection& c, std::string_view org,
                                              std::string_view number);

  store::Database& db_;
  const numbering::CarrierRegistry& carriers_;
  const Clock& clock_;
};

}  // namespace portline::carriers
