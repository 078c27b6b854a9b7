#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/secret_box.hpp"
#include "store/database.hpp"
#include "trunks/network.hpp"

namespace portline::trunks {

inline constexpr std::size_t kMaxNumbersPerAttach = 100;
inline constexpr std::size_t kMaxConfigsPerNumber = 10;
inline constexpr std::size_t kMaxHeaderMappings = 15;
/// What every credential looks like in a response.
inline constexpr std::string_view kRedacted = "[redacted]";

/// "+14150000000" from "+14150000000" or "14150000000"; nullopt unless E.164 (8–15 digits,
/// first digit 1–9).
[[nodiscard]] std::optional<std::string> NormalizeE164(std::string_view s);

/// The `/v1/sip` configuration surface (Bland's shapes, plus reusable trunks). Each method takes
/// the caller's organization and the decoded request, validates every field (all problems at
/// once, kInvalidArgument), and returns the `data` of the response. Another organization's
/// numbers and trunks are kNotFound. Credentials are sealed at rest and redacted in every result.
/// Thread-safe; blocks on storage.
class SipService {
 public:
  using Json = boost::json::value;
  using Object = boost::json::object;

  SipService(store::Database& db, const Clock& clock, const SecretBox& box, Network network)
      : db_(db), clock_(clock), box_(box), network_(std::move(network)) {}

  [[nodiscard]] Result<Json> Attach(std::string_view org, const Object& body);
  [[nodiscard]] Result<Json> Update(std::string_view org, const Object& body);
  [[nodiscard]] Result<Json> Detach(std::string_view org, const Object& body);
  [[nodiscard]] Result<Json> Get(std::string_view org, const std::optional<std::string>& number);
  /// `after` is a phone number (the previous page's next_cursor).
  [[nodiscard]] Result<Json> ListNumbers(std::string_view org,
                                         const std::optional<std::string>& after, int limit);
  [[nodiscard]] static Result<Json> ParseDestinationRequest(const Object& body);
  [[nodiscard]] Result<Json> FirewallIps(const std::optional<std::string>& region) const;
  [[nodiscard]] Result<Json> OutboundSetup(std::string_view org,
                                           const std::optional<std::string>& number,
                                           const std::optional<std::string>& region);
  [[nodiscard]] Result<Json> PatchConfig(std::string_view org, const Object& body);
  /// Checks `config` (a POST /v1/sip/attach body without phone_numbers) as Attach would, without
  /// writing anything: the port-request API validates `post_port` with it.
  [[nodiscard]] Result<void> ValidateAttach(std::string_view org, const Object& config);
  /// Attaches `config` (a POST /v1/sip/attach body without phone_numbers) to numbers that just
  /// ported in: the porting workflow's post-port step. At most kMaxNumbersPerAttach numbers.
  [[nodiscard]] Result<void> AttachPorted(std::string_view org,
                                          const std::vector<std::string>& numbers,
                                          const Object& config);

  [[nodiscard]] Result<Json> CreateTrunk(std::string_view org, const Object& body);
  [[nodiscard]] Result<Json> ListTrunks(std::string_view org,
                                        const std::optional<std::string>& after, int limit);
  [[nodiscard]] Result<Json> GetTrunk(std::string_view org, std::string_view trunk_id);
  [[nodiscard]] Result<Json> UpdateTrunk(std::string_view org, std::string_view trunk_id,
                                         const Object& body);
  [[nodiscard]] Result<Json> DeleteTrunk(std::string_view org, std::string_view trunk_id);

  [[nodiscard]] const Network& network() const { return network_; }

 private:
  enum class Kind : std::uint8_t { kInbound, kOutbound, kTrunk };
  Result<Json> AttachImpl(std::string_view org, const Object& body, bool dry_run);
  struct ConfigRow;

  Object ValidateSettings(const Object& in, std::string_view prefix, Kind kind,
                          FieldErrors& errors) const;
  Object View(std::string_view org, const ConfigRow& row, const Object* trunk_settings) const;
  std::string PbxPassword(std::string_view org, std::string_view slot,
                          std::string_view username) const;
  Result<std::optional<Object>> LoadTrunk(store::Connection& c, std::string_view org,
                                          std::string_view trunk_id) const;
  Result<Json> TrunkView(store::Connection& c, std::string_view org, const store::Row& r) const;

  store::Database& db_;
  const Clock& clock_;
  const SecretBox& box_;
  Network network_;
};

}  // namespace portline::trunks
