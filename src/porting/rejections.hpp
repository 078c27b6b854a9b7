#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace portline::porting {

/// What a raw carrier rejection code means for the user: Portline's normalized code (the
/// taxonomy of shared/reference/porting.md §7), the request fields to change, a hint a person
/// understands, and whether a supplement can fix it at all.
struct RejectionInfo {
  std::string_view raw_code;
  std::string_view code;
  std::vector<std::string_view> fields_to_fix;
  std::string_view hint;
  bool fixable = true;
};

/// The entry for a raw code (JCode); unknown codes map to "other" with a generic hint.
[[nodiscard]] const RejectionInfo& ClassifyRejection(std::string_view raw_code);

/// Every known raw code, for documentation and tests.
[[nodiscard]] const std::vector<RejectionInfo>& RejectionTable();

}  // namespace portline::porting
