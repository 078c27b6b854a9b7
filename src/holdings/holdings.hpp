#pragma once
// Number ownership. A number belongs to at most one organization of a realm, and the storage
// says so (number_holdings' primary key is (realm, phone_number)), so two organizations racing
// for one number cannot both win: the second claim finds the first one's row. Live
// organizations share one realm; each sandbox organization is a realm of its own.
//
// A hold is taken when a port request includes a number (status porting, with its request) or
// when a number is attached to SIP (active, source attach); a ported number's hold becomes
// active. Holds go when their port ends without porting the number, or when an attached number
// loses its last SIP configuration. A hold never moves to another organization.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "store/database.hpp"

namespace portline::holdings {

enum class Status { kPorting, kActive };
enum class Source { kPortIn, kAttach };

struct Holder {
  std::string org_id;
  Status status = Status::kActive;
  Source source = Source::kPortIn;
};

/// SQL for the realm of the organization row `o` (an expression over o.sandbox and o.id).
inline constexpr std::string_view kRealmOfOrgSql = "CASE WHEN o.sandbox = 1 THEN o.id ELSE '' END";

/// The realm of an organization: "" for live ones, its own id for a sandbox.
[[nodiscard]] Result<std::string> RealmOf(store::Connection& c, std::string_view org);

/// Who holds each of `numbers` (E.164) in `realm`; numbers nobody holds are absent.
[[nodiscard]] Result<std::map<std::string, Holder>> Holders(
    store::Connection& c, std::string_view realm, const std::vector<std::string>& numbers);

struct Claim {
  std::string_view realm;
  std::string_view org_id;
  Status status = Status::kActive;
  Source source = Source::kPortIn;
  std::string_view request_id;  // for Status::kPorting
  std::int64_t now = 0;
};

/// Takes a hold on each of `numbers` nobody holds. Numbers `claim.org_id` holds already keep
/// their hold; returns the numbers another organization holds (left to it). Run it inside the
/// transaction that writes what the hold is for: on PostgreSQL a concurrent claim of the same
/// number waits for this transaction and then finds its row.
[[nodiscard]] Result<std::set<std::string>> Take(store::Connection& c, const Claim& claim,
                                                 const std::vector<std::string>& numbers);

/// Ported numbers: the holds of `rows` (flat: phone_number, org_id, at) become active port-ins.
/// A number another organization holds stays with it (the invariant makes that impossible, and
/// completion must never move a number).
[[nodiscard]] Result<void> MarkPorted(store::Connection& c, const store::Params& rows);

/// Ends the porting holds of `request_ids` whose numbers are no longer active in their request
/// (canceled, excluded, rejected for good, expired). Active holds are not touched.
[[nodiscard]] Result<void> ReleaseEndedPorts(store::Connection& c,
                                             const std::vector<std::string_view>& request_ids);

/// Ends the attach hold of `number` once the organization has no SIP configuration for it.
[[nodiscard]] Result<void> ReleaseIfUnattached(store::Connection& c, std::string_view org,
                                               std::string_view number);

[[nodiscard]] std::string_view StatusName(Status s);
[[nodiscard]] std::string_view SourceName(Source s);

}  // namespace portline::holdings
