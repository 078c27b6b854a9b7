#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace portline::numbering {

enum class NumberType : std::uint8_t {
  kGeographic,  // an NPA-NXX of a rate center
  kTollFree,    // 8XX
  kPremium,     // 900
  kPersonal,    // 5XX personal communications
  kN11,         // N11 service codes (211…911) as NPA or NXX
  kInvalid,     // NPA or NXX not in service
};
[[nodiscard]] std::string_view TypeName(NumberType t);

/// A North American number, classified with the tables generated from libphonenumber's data.
struct NanpNumber {
  int npa = 0;
  int nxx = 0;
  int line = 0;
  std::string_view region;  // "US", "CA", "JM"…; empty when the NPA is not in service
  NumberType type = NumberType::kInvalid;
  std::string_view state;  // "California", "British Columbia" (NPA level); may be empty
  std::string_view city;   // "San Francisco, CA" (NPA-NXX level); may be empty

  [[nodiscard]] std::uint32_t prefix() const {
    return static_cast<std::uint32_t>(npa * 1000 + nxx);
  }
  /// The 10 national digits as an integer (NPANXXXXXX).
  [[nodiscard]] std::uint64_t national() const {
    return static_cast<std::uint64_t>(prefix()) * 10000U + static_cast<std::uint64_t>(line);
  }
  [[nodiscard]] std::string E164() const;
  [[nodiscard]] bool IsUsOrCanada() const { return region == "US" || region == "CA"; }
};

/// Parses "+14155550100", "14155550100", "4155550100", "(415) 555-0100", "+1 415.555.0100".
/// Errors (kInvalidArgument, api_code INVALID_NUMBER or UNSUPPORTED_COUNTRY) say what is wrong.
/// A well-formed number with an NPA/NXX not in service parses, with type kInvalid / kN11.
[[nodiscard]] Result<NanpNumber> ParseNanp(std::string_view input);

/// Version of python3-phonenumbers the tables came from.
[[nodiscard]] std::string_view NumberingDataVersion();

}  // namespace portline::numbering
