#pragma once
// Tables generated at build time by scripts/gen_nanp.py from python3-phonenumbers.

#include <cstddef>
#include <cstdint>

namespace portline::numbering::tables {

extern const char* const kRegions[];  // NANP region codes; index 0 is "US"
extern const std::size_t kRegionCount;
extern const char* const kNames[];             // place names (cities and states/provinces)
extern const std::uint8_t kNpaRegion[1000];    // region index, 255 = not in service
extern const std::int32_t kNpaName[1000];      // state/province name index, -1 = none
extern const std::uint64_t kValidPrefix[];     // bit (npa*1000+nxx) = assignable NPA-NXX
extern const std::uint32_t kTypedPrefix[];     // sorted prefixes that are not geographic
extern const std::uint8_t kTypedPrefixType[];  // 1 toll-free, 2 premium, 3 personal
extern const std::size_t kTypedPrefixCount;
extern const std::uint32_t kCityPrefix[];  // sorted prefixes with a known city
extern const std::uint32_t kCityName[];
extern const std::size_t kCityCount;
extern const char* const kPhonenumbersVersion;

}  // namespace portline::numbering::tables
