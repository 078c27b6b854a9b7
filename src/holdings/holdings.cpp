#include "holdings/holdings.hpp"

#include <algorithm>

namespace portline::holdings {

namespace {

constexpr std::size_t kChunk = 500;

Status ParseStatus(std::string_view s) {
  return s == "porting" ? Status::kPorting : Status::kActive;
}
Source ParseSource(std::string_view s) { return s == "attach" ? Source::kAttach : Source::kPortIn; }

}  // namespace

std::string_view StatusName(Status s) { return s == Status::kPorting ? "porting" : "active"; }
std::string_view SourceName(Source s) { return s == Source::kAttach ? "attach" : "port_in"; }

Result<std::string> RealmOf(store::Connection& c, std::string_view org) {
  PORTLINE_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT " + std::string(kRealmOfOrgSql) +
                                                   " FROM organizations o WHERE o.id = $1",
                                               {org}));
  if (rows.empty()) {
    return Fail(Errc::kNotFound, "organization not found");
  }
  return rows[0].Text(0);
}

Result<std::map<std::string, Holder>> Holders(store::Connection& c, std::string_view realm,
                                              const std::vector<std::string>& numbers) {
  std::map<std::string, Holder> out;
  for (std::size_t i = 0; i < numbers.size(); i += kChunk) {
    const std::size_t end = std::min(numbers.size(), i + kChunk);
    store::Params params{realm};
    std::vector<std::string_view> chunk(numbers.begin() + static_cast<std::ptrdiff_t>(i),
                                        numbers.begin() + static_cast<std::ptrdiff_t>(end));
    const std::string match = store::MatchAny(c.backend(), "phone_number", params, chunk);
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT phone_number, org_id, status, source FROM number_holdings "
                           "WHERE realm = $1 AND " +
                               match,
                           params));
    for (const auto& r : rows) {
      out[r.Text(0)] = Holder{r.Text(1), ParseStatus(r.Text(2)), ParseSource(r.Text(3))};
    }
  }
  return out;
}

Result<std::set<std::string>> Take(store::Connection& c, const Claim& claim,
                                   const std::vector<std::string>& numbers) {
  // The realm and request travel as columns of every row (ExecuteRows numbers the parameters).
  store::Params full;
  full.reserve(numbers.size() * 5);
  for (const auto& n : numbers) {
    full.insert(full.end(),
                {claim.realm, n, claim.org_id,
                 claim.request_id.empty() ? store::Param(nullptr) : store::Param(claim.request_id),
                 claim.now});
  }
  PORTLINE_RETURN_IF_ERROR(
      store::ExecuteRows(
          c,
          "INSERT INTO number_holdings (realm, phone_number, org_id, status, source, "
          "request_id, created_at, updated_at) SELECT column1, column2, column3, '" +
              std::string(StatusName(claim.status)) + "', '" +
              std::string(SourceName(claim.source)) + "', column4, column5, column5 FROM (VALUES ",
          ") AS v WHERE v.column1 IS NOT NULL ON CONFLICT DO NOTHING",
          {"", "", "", "TEXT", "BIGINT"}, full, /*pad_with_nulls=*/true)
          .map([](std::int64_t) {}));
  PORTLINE_ASSIGN_OR_RETURN(auto holders, Holders(c, claim.realm, numbers));
  std::set<std::string> taken;
  for (const auto& [number, h] : holders) {
    if (h.org_id != claim.org_id) {
      taken.insert(number);
    }
  }
  return taken;
}

Result<void> MarkPorted(store::Connection& c, const store::Params& rows) {
  return store::ExecuteRows(
             c,
             "INSERT INTO number_holdings (realm, phone_number, org_id, status, source, "
             "request_id, "
             "created_at, updated_at) SELECT " +
                 std::string(kRealmOfOrgSql) +
                 ", v.column1, v.column2, 'active', 'port_in', NULL, v.column3, v.column3 FROM "
                 "(VALUES ",
             ") AS v JOIN organizations o ON o.id = v.column2 WHERE v.column1 IS NOT NULL "
             "ON CONFLICT (realm, phone_number) DO UPDATE SET status = 'active', source = "
             "'port_in', request_id = NULL, updated_at = excluded.updated_at "
             "WHERE number_holdings.org_id = excluded.org_id",
             {"", "", "BIGINT"}, rows, /*pad_with_nulls=*/true)
      .map([](std::int64_t) {});
}

Result<void> ReleaseEndedPorts(store::Connection& c,
                               const std::vector<std::string_view>& request_ids) {
  if (request_ids.empty()) {
    return {};
  }
  store::Params params;
  const std::string match = store::MatchAny(c.backend(), "h.request_id", params, request_ids);
  const std::string ended =
      "h.status = 'porting' AND " + match +
      " AND NOT EXISTS (SELECT 1 FROM port_numbers n WHERE n.request_id = h.request_id AND "
      "n.phone_number = h.phone_number AND n.active = 1)";
  // A number the organization attached to SIP while it was being ported stays attached.
  PORTLINE_RETURN_IF_ERROR(
      c.Execute("UPDATE number_holdings AS h SET status = 'active', source = 'attach', "
                "request_id = NULL WHERE " +
                    ended +
                    " AND EXISTS (SELECT 1 FROM sip_configs s WHERE s.org_id = h.org_id AND "
                    "s.phone_number = h.phone_number)",
                params));
  return c.Execute("DELETE FROM number_holdings AS h WHERE " + ended, params).map([](std::int64_t) {
  });
}

Result<void> ReleaseIfUnattached(store::Connection& c, std::string_view org,
                                 std::string_view number) {
  return c
      .Execute(
          "DELETE FROM number_holdings WHERE org_id = $1 AND phone_number = $2 AND "
          "source = 'attach' AND NOT EXISTS (SELECT 1 FROM sip_configs WHERE org_id = $1 "
          "AND phone_number = $2)",
          {org, number})
      .map([](std::int64_t) {});
}

}  // namespace portline::holdings
