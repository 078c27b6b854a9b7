#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace portline::accounts {

/// Entitlements an organization can hold. `SIP` gates every /v1/sip* route (Bland semantics).
inline constexpr std::array<std::string_view, 1> kKnownEntitlements = {"SIP"};

struct Organization {
  std::string id;
  std::string name;
  std::int64_t created_at = 0;            // Unix ms
  std::vector<std::string> entitlements;  // sorted
  bool sandbox = false;                   // runs on the simulated carrier network and its own clock

  [[nodiscard]] bool Has(std::string_view entitlement) const;
};

/// API key metadata. The secret itself is never stored: only its SHA-256.
struct ApiKey {
  std::string id;
  std::string org_id;
  std::string name;
  std::string prefix;  // first characters of the secret, to recognise a key in lists
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_used_at;
  std::optional<std::int64_t> revoked_at;
};

/// The result of creating a key: the only time the secret is available.
struct CreatedKey {
  ApiKey key;
  std::string secret;
};

/// Who is calling: resolved from an API key.
struct Principal {
  std::string org_id;
  std::string key_id;
  std::vector<std::string> entitlements;
  [[nodiscard]] bool Has(std::string_view entitlement) const;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
};

/// Organizations and API keys. Thread-safe (each call takes its own pooled connection); calls
/// block on the database, so run them off the network thread.
class Accounts {
 public:
  Accounts(store::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  /// kInvalidArgument for a bad name or unknown entitlement, kConflict if the name is taken.
  [[nodiscard]] Result<Organization> CreateOrg(std::string_view name,
                                               const std::vector<std::string>& entitlements,
                                               bool sandbox = false);
  /// The organization with this id; kNotFound otherwise.
  [[nodiscard]] Result<Organization> GetOrg(std::string_view id);
  /// Finds by id ("org_…") or by exact name; kNotFound otherwise.
  [[nodiscard]] Result<Organization> FindOrg(std::string_view id_or_name);
  [[nodiscard]] Result<std::vector<Organization>> ListOrgs();
  /// Grants (or revokes) an entitlement; kInvalidArgument for unknown entitlements.
  [[nodiscard]] Result<Organization> SetEntitlement(std::string_view org_id,
                                                    std::string_view entitlement, bool granted);
  /// Creates the organization `name` (a sandbox) with every known entitlement unless it exists.
  [[nodiscard]] Result<Organization> EnsureDefaultOrg(std::string_view name);

  [[nodiscard]] Result<CreatedKey> CreateKey(std::string_view org_id, std::string_view name);
  /// Keys of one organization, oldest first; `after` is the last id of the previous page.
  [[nodiscard]] Result<Page<ApiKey>> ListKeys(std::string_view org_id,
                                              const std::optional<std::string>& after, int limit);
  [[nodiscard]] Result<ApiKey> GetKey(std::string_view org_id, std::string_view key_id);
  /// Revokes a key (idempotent); kNotFound if it is not this organization's.
  [[nodiscard]] Result<ApiKey> RevokeKey(std::string_view org_id, std::string_view key_id);
  /// Revokes every active key of the organization with this name; returns how many.
  [[nodiscard]] Result<std::int64_t> RevokeKeysNamed(std::string_view org_id,
                                                     std::string_view name);

  /// Resolves a presented secret to its organization; kUnauthenticated if unknown or revoked.
  /// Records last-used time (at most once a minute per key, to keep reads cheap).
  [[nodiscard]] Result<Principal> Authenticate(std::string_view secret);

  /// Validation shared with the API layer: an empty string when valid, else the reason.
  [[nodiscard]] static std::string CheckOrgName(std::string_view name);
  [[nodiscard]] static std::string CheckKeyName(std::string_view name);
  [[nodiscard]] static bool IsKnownEntitlement(std::string_view e);

 private:
  Result<Organization> LoadOrg(store::Connection& c, std::string_view id);

  store::Database& db_;
  const Clock& clock_;
};

/// Secret format: "pl_" + 48 lowercase hex characters (192 random bits).
inline constexpr std::string_view kKeyPrefix = "pl_";
inline constexpr std::size_t kKeySecretLength = 3 + 48;

}  // namespace portline::accounts
