#include "accounts/accounts.hpp"

#include <algorithm>

#include "core/crypto.hpp"

namespace portline::accounts {
namespace {

bool HasControlOrInvalid(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

ApiKey KeyFromRow(const store::Row& r) {
  return ApiKey{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), r.OptInt(5), r.OptInt(6)};
}

constexpr std::string_view kKeyColumns =
    "id, org_id, name, prefix, created_at, last_used_at, revoked_at";

std::string KeySelect(std::string_view where) {
  return "SELECT " + std::string(kKeyColumns) + " FROM api_keys WHERE " + std::string(where);
}

}  // namespace

bool Organization::Has(std::string_view entitlement) const {
  return std::find(entitlements.begin(), entitlements.end(), entitlement) != entitlements.end();
}

bool Principal::Has(std::string_view entitlement) const {
  return std::find(entitlements.begin(), entitlements.end(), entitlement) != entitlements.end();
}

std::string Accounts::CheckOrgName(std::string_view name) {
  if (name.empty() || name.size() > 100) {
    return "must be 1 to 100 characters";
  }
  if (HasControlOrInvalid(name) || name.front() == ' ' || name.back() == ' ') {
    return "must not contain control characters or leading/trailing spaces";
  }
  return {};
}

std::string Accounts::CheckKeyName(std::string_view name) {
  if (name.size() > 100) {
    return "must be at most 100 characters";
  }
  if (HasControlOrInvalid(name)) {
    return "must not contain control characters";
  }
  return {};
}

bool Accounts::IsKnownEntitlement(std::string_view e) {
  return std::find(kKnownEntitlements.begin(), kKnownEntitlements.end(), e) !=
         kKnownEntitlements.end();
}

Result<Organization> Accounts::LoadOrg(store::Connection& c, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows,
      c.Query("SELECT id, name, created_at, sandbox FROM organizations WHERE id = $1", {id}));
  if (rows.empty()) {
    return Fail(Errc::kNotFound, "organization not found");
  }
  Organization org{rows[0].Text(0), rows[0].Text(1), rows[0].Int(2), {}, rows[0].Int(3) != 0};
  PORTLINE_ASSIGN_OR_RETURN(auto ents,
                            c.Query("SELECT entitlement FROM org_entitlements WHERE org_id = $1 "
                                    "ORDER BY entitlement",
                                    {id}));
  for (const auto& e : ents) {
    org.entitlements.push_back(e.Text(0));
  }
  return org;
}

Result<Organization> Accounts::CreateOrg(std::string_view name,
                                         const std::vector<std::string>& entitlements,
                                         bool sandbox) {
  if (auto why = CheckOrgName(name); !why.empty()) {
    return FailCode(Errc::kInvalidArgument, "INVALID_FIELD", "name " + why, "name");
  }
  for (const auto& e : entitlements) {
    if (!IsKnownEntitlement(e)) {
      return FailCode(Errc::kInvalidArgument, "UNKNOWN_ENTITLEMENT",
                      "unknown entitlement '" + e + "'", "entitlements");
    }
  }
  const auto now = clock_.Now();
  const std::string id = NewId("org", now);
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto create = [&](store::Connection& c) -> Result<Organization> {
    auto inserted = c.Execute(
        "INSERT INTO organizations (id, name, created_at, sandbox) VALUES ($1, $2, $3, $4)",
        {id, name, ToUnixMillis(now), sandbox ? 1 : 0});
    if (!inserted) {
      if (inserted.error().code == Errc::kConflict) {
        return FailCode(Errc::kConflict, "ORG_EXISTS",
                        "an organization named '" + std::string(name) + "' already exists", "name");
      }
      return tl::unexpected(inserted.error());
    }
    for (const auto& e : entitlements) {
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "INSERT INTO org_entitlements (org_id, entitlement, granted_at) VALUES ($1, $2, $3) "
          "ON CONFLICT DO NOTHING",
          {id, e, ToUnixMillis(now)}));
    }
    return LoadOrg(c, id);
  };
  return store::WithTransaction(*lease, create);
}

Result<Organization> Accounts::GetOrg(std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  return LoadOrg(*lease, id);
}

Result<Organization> Accounts::FindOrg(std::string_view id_or_name) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows,
      lease->Query("SELECT id FROM organizations WHERE id = $1 OR name = $1", {id_or_name}));
  if (rows.empty()) {
    return Fail(Errc::kNotFound, "organization '" + std::string(id_or_name) + "' not found");
  }
  return LoadOrg(*lease, rows[0].Text(0));
}

Result<std::vector<Organization>> Accounts::ListOrgs() {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto rows,
                            lease->Query("SELECT id FROM organizations ORDER BY id", {}));
  std::vector<Organization> out;
  for (const auto& r : rows) {
    PORTLINE_ASSIGN_OR_RETURN(auto org, LoadOrg(*lease, r.Text(0)));
    out.push_back(std::move(org));
  }
  return out;
}

Result<Organization> Accounts::SetEntitlement(std::string_view org_id, std::string_view entitlement,
                                              bool granted) {
  if (!IsKnownEntitlement(entitlement)) {
    return FailCode(Errc::kInvalidArgument, "UNKNOWN_ENTITLEMENT",
                    "unknown entitlement '" + std::string(entitlement) + "'", "entitlement");
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto change = [&](store::Connection& c) -> Result<Organization> {
    PORTLINE_RETURN_IF_ERROR(LoadOrg(c, org_id));
    if (granted) {
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "INSERT INTO org_entitlements (org_id, entitlement, granted_at) VALUES ($1, $2, $3) "
          "ON CONFLICT DO NOTHING",
          {org_id, entitlement, ToUnixMillis(clock_.Now())}));
    } else {
      PORTLINE_RETURN_IF_ERROR(
          c.Execute("DELETE FROM org_entitlements WHERE org_id = $1 AND entitlement = $2",
                    {org_id, entitlement}));
    }
    return LoadOrg(c, org_id);
  };
  return store::WithTransaction(*lease, change);
}

Result<Organization> Accounts::EnsureDefaultOrg(std::string_view name) {
  auto found = FindOrg(name);
  if (found || found.error().code != Errc::kNotFound) {
    return found;
  }
  std::vector<std::string> all(kKnownEntitlements.begin(), kKnownEntitlements.end());
  auto created = CreateOrg(name, all, /*sandbox=*/true);
  if (!created && created.error().code == Errc::kConflict) {
    return FindOrg(name);  // another node created it first
  }
  return created;
}

Result<CreatedKey> Accounts::CreateKey(std::string_view org_id, std::string_view name) {
  if (auto why = CheckKeyName(name); !why.empty()) {
    return FailCode(Errc::kInvalidArgument, "INVALID_FIELD", "name " + why, "name");
  }
  const auto now = clock_.Now();
  CreatedKey out;
  out.secret = std::string(kKeyPrefix) + RandomHex(24);
  out.key = ApiKey{NewId("key", now), std::string(org_id),
                   std::string(name), out.secret.substr(0, kKeyPrefix.size() + 8),
                   ToUnixMillis(now), std::nullopt,
                   std::nullopt};
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto create = [&](store::Connection& c) -> Result<CreatedKey> {
    PORTLINE_RETURN_IF_ERROR(LoadOrg(c, org_id));
    PORTLINE_RETURN_IF_ERROR(c.Execute(
        "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        {out.key.id, org_id, name, out.key.prefix, Sha256Hex(out.secret), out.key.created_at}));
    return out;
  };
  return store::WithTransaction(*lease, create);
}

Result<Page<ApiKey>> Accounts::ListKeys(std::string_view org_id,
                                        const std::optional<std::string>& after, int limit) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query(KeySelect("org_id = $1 AND id > $2 ORDER BY id LIMIT $3"),
                              {org_id, after.value_or(""), static_cast<std::int64_t>(limit) + 1}));
  Page<ApiKey> page;
  for (const auto& r : rows) {
    if (page.items.size() == static_cast<std::size_t>(limit)) {
      page.next_cursor = page.items.back().id;
      break;
    }
    page.items.push_back(KeyFromRow(r));
  }
  return page;
}

Result<ApiKey> Accounts::GetKey(std::string_view org_id, std::string_view key_id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto rows,
                            lease->Query(KeySelect("id = $1 AND org_id = $2"), {key_id, org_id}));
  if (rows.empty()) {
    return Fail(Errc::kNotFound, "API key not found");
  }
  return KeyFromRow(rows[0]);
}

Result<ApiKey> Accounts::RevokeKey(std::string_view org_id, std::string_view key_id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_RETURN_IF_ERROR(lease->Execute(
      "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL",
      {ToUnixMillis(clock_.Now()), key_id, org_id}));
  PORTLINE_ASSIGN_OR_RETURN(auto rows,
                            lease->Query(KeySelect("id = $1 AND org_id = $2"), {key_id, org_id}));
  if (rows.empty()) {
    return Fail(Errc::kNotFound, "API key not found");
  }
  return KeyFromRow(rows[0]);
}

Result<std::int64_t> Accounts::RevokeKeysNamed(std::string_view org_id, std::string_view name) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  return lease->Execute(
      "UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND name = $3 AND revoked_at IS NULL",
      {ToUnixMillis(clock_.Now()), org_id, name});
}

Result<Principal> Accounts::Authenticate(std::string_view secret) {
  const bool well_formed =
      secret.size() == kKeySecretLength && secret.substr(0, kKeyPrefix.size()) == kKeyPrefix &&
      std::all_of(secret.begin() + static_cast<std::ptrdiff_t>(kKeyPrefix.size()), secret.end(),
                  [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!well_formed) {
    return FailCode(Errc::kUnauthenticated, "UNAUTHORIZED", "invalid API key");
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT k.id, k.org_id, k.last_used_at, e.entitlement "
                              "FROM api_keys k LEFT JOIN org_entitlements e ON e.org_id = k.org_id "
                              "WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
                              {Sha256Hex(secret)}));
  if (rows.empty()) {
    return FailCode(Errc::kUnauthenticated, "UNAUTHORIZED", "invalid API key");
  }
  Principal p;
  p.key_id = rows[0].Text(0);
  p.org_id = rows[0].Text(1);
  for (const auto& r : rows) {
    if (!r.IsNull(3)) {
      p.entitlements.push_back(r.Text(3));
    }
  }
  const std::int64_t now = ToUnixMillis(clock_.Now());
  const auto last_used = rows[0].OptInt(2);
  if (!last_used || *last_used < now - 60000) {
    // Best effort: failing to record last use must not fail the request.
    (void)lease->Execute("UPDATE api_keys SET last_used_at = $1 WHERE id = $2", {now, p.key_id});
  }
  return p;
}

}  // namespace portline::accounts
