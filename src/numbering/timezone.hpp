#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "numbering/calendar.hpp"

namespace portline::numbering {

/// A North American time zone with its standard offset and whether it follows the US/Canadian
/// daylight-saving rule (second Sunday of March 02:00 to first Sunday of November 02:00, local).
/// g++ 12's library has no time-zone database, and porting only needs these zones.
struct TimeZone {
  std::string_view name;  // IANA name, e.g. "America/New_York"
  int standard_offset_minutes = 0;
  bool observes_dst = true;
};

/// The supported zones (UTC plus US/CA zones), by IANA name; nullptr when unknown.
[[nodiscard]] const TimeZone* FindTimeZone(std::string_view name);
[[nodiscard]] const std::vector<TimeZone>& TimeZones();

/// Offset from UTC (minutes) in force at `utc`.
[[nodiscard]] int OffsetMinutes(const TimeZone& zone, std::chrono::system_clock::time_point utc);
/// The UTC instant of local `date` at `minute_of_day` (0..1439) in `zone`. In the skipped hour of
/// spring the standard offset is used; in the repeated hour of autumn, the first one.
[[nodiscard]] std::chrono::system_clock::time_point LocalToUtc(const TimeZone& zone, Date date,
                                                               int minute_of_day);
struct LocalTime {
  Date date;
  int minute_of_day = 0;
  std::chrono::weekday weekday;
};
[[nodiscard]] LocalTime UtcToLocal(const TimeZone& zone, std::chrono::system_clock::time_point utc);

/// "HH:MM" (24 h) → minute of day.
[[nodiscard]] std::optional<int> ParseClockTime(std::string_view hhmm);
/// "YYYY-MM-DD" (also accepts a full RFC 3339 timestamp and keeps its date) → date.
[[nodiscard]] std::optional<Date> ParseDate(std::string_view text);

/// Today's date in the zone (an IANA name; UTC when unknown), at the instant.
[[nodiscard]] Date LocalDate(std::string_view zone, std::chrono::system_clock::time_point t);

/// The UTC instant (Unix ms) of `date` (YYYY-MM-DD) at `hhmm` in `zone`; 0 when any is invalid.
[[nodiscard]] std::int64_t InstantOf(std::string_view date, std::string_view hhmm,
                                     std::string_view zone);

}  // namespace portline::numbering
