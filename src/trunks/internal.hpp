#pragma once
// Internal to trunks/: what the files of SipService share.

#include <array>
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json_util.hpp"
#include "trunks/service.hpp"

namespace portline::trunks {

/// One row of sip_configs, read in kConfigColumns' order.
struct SipService::ConfigRow {
  std::string id;
  std::string phone_number;
  std::string direction;
  std::string slot;
  std::optional<std::string> trunk_id;
  boost::json::object settings;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

inline constexpr std::string_view kConfigColumns =
    "id, phone_number, direction, slot, trunk_id, settings, created_at, updated_at";
inline constexpr std::array<std::string_view, 4> kReservedVariables = {"call_id", "phone_number",
                                                                       "from_number", "to_number"};
inline constexpr std::array<std::string_view, 5> kCodecs = {"PCMU", "PCMA", "G.729", "Opus",
                                                            "G.722"};
inline constexpr std::array<std::string_view, 3> kTriggers = {"unreachable", "auth_failure",
                                                              "timeout"};

template <std::size_t N>
bool OneOf(std::string_view v, const std::array<std::string_view, N>& options) {
  return std::find(options.begin(), options.end(), v) != options.end();
}

// Storage and views (service.cpp).
/// A stored settings column as an object ({} when it is not one).
boost::json::object ParseObject(const std::string& text);
/// base's keys, replaced by top's; "options" is merged key by key.
boost::json::object Overlay(const boost::json::object& base, const boost::json::object& top);
std::optional<std::string> StringAt(const boost::json::object& o, std::string_view key);
std::string EffectiveAuthMode(const boost::json::object& eff);
boost::json::object FailedEntry(std::string number, std::string reason, std::string message);
boost::json::object InvalidNumberEntry(const std::string& raw);

// Validation (validation.cpp: pure, no storage).
bool IsPrintableToken(std::string_view s);
bool IsHeaderName(std::string_view s);
bool IsVariableName(std::string_view s);
/// Cross-field rules on the settings a direction ends up with (trunk overlaid with its own).
void CheckEffective(const boost::json::object& eff, std::string_view direction,
                    std::string_view prefix, FieldErrors& errors);
tl::unexpected<Error> InvalidNumber(std::string_view field);
/// phone_number XOR phone_numbers: every entry a string; format problems are per number.
std::vector<std::string> NumbersOf(const boost::json::object& body, FieldErrors& errors,
                                   std::size_t max);
void CheckService(const boost::json::object& body, FieldErrors& errors);
Result<std::vector<std::string>> Directions(const boost::json::object& body, FieldErrors& errors,
                                            bool required);

// The shared top level of attach and detach requests.
struct NumbersRequest {
  std::vector<std::string> raw_numbers;
  std::optional<std::string> trunk_id;
  std::vector<std::string> types;
};

Result<NumbersRequest> DecodeNumbersRequest(const boost::json::object& body, FieldErrors& errors,
                                            bool directions_required);

}  // namespace portline::trunks
