#include "numbering/timezone.hpp"

#include <algorithm>
#include <charconv>

#include "core/clock.hpp"

namespace portline::numbering {
namespace {
using std::chrono::days;
using std::chrono::minutes;
using std::chrono::sys_days;

// Local start (as UTC-shifted sys minutes) of DST in year y: second Sunday of March 02:00;
// end: first Sunday of November 02:00.
sys_days NthSunday(std::chrono::year y, std::chrono::month m, unsigned n) {
  return sys_days(std::chrono::year_month_weekday(y, m, std::chrono::Sunday[n]));
}
}  // namespace

const std::vector<TimeZone>& TimeZones() {
  static const std::vector<TimeZone> kZones = {
      {"UTC", 0, false},
      {"America/New_York", -300, true},
      {"America/Detroit", -300, true},
      {"America/Toronto", -300, true},
      {"America/Chicago", -360, true},
      {"America/Winnipeg", -360, true},
      {"America/Regina", -360, false},
      {"America/Denver", -420, true},
      {"America/Edmonton", -420, true},
      {"America/Phoenix", -420, false},
      {"America/Los_Angeles", -480, true},
      {"America/Vancouver", -480, true},
      {"America/Anchorage", -540, true},
      {"Pacific/Honolulu", -600, false},
      {"America/Halifax", -240, true},
      {"America/St_Johns", -210, true},
      {"America/Puerto_Rico", -240, false},
  };
  return kZones;
}

const TimeZone* FindTimeZone(std::string_view name) {
  // The old US/* names carriers such as Sinch still send, as their IANA links have them.
  static constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
      {"US/Eastern", "America/New_York"}, {"US/Central", "America/Chicago"},
      {"US/Mountain", "America/Denver"},  {"US/Pacific", "America/Los_Angeles"},
      {"US/Arizona", "America/Phoenix"},  {"US/Alaska", "America/Anchorage"},
      {"US/Hawaii", "Pacific/Honolulu"}};
  for (const auto& [alias, zone] : kAliases) {
    if (name == alias) {
      name = zone;
      break;
    }
  }
  const auto& zones = TimeZones();
  const auto it = std::find_if(zones.begin(), zones.end(),
                               [name](const TimeZone& z) { return z.name == name; });
  return it == zones.end() ? nullptr : &*it;
}

int OffsetMinutes(const TimeZone& zone, std::chrono::system_clock::time_point utc) {
  if (!zone.observes_dst) {
    return zone.standard_offset_minutes;
  }
  const auto utc_min = std::chrono::floor<minutes>(utc);
  const std::chrono::year y = std::chrono::year_month_day(std::chrono::floor<days>(utc)).year();
  // DST begins at 02:00 local standard time and ends at 02:00 local daylight time.
  const auto start =
      NthSunday(y, std::chrono::March, 2) + minutes(120 - zone.standard_offset_minutes);
  const auto end =
      NthSunday(y, std::chrono::November, 1) + minutes(120 - zone.standard_offset_minutes - 60);
  const bool dst = utc_min >= start && utc_min < end;
  return zone.standard_offset_minutes + (dst ? 60 : 0);
}

std::chrono::system_clock::time_point LocalToUtc(const TimeZone& zone, Date date,
                                                 int minute_of_day) {
  const auto local = sys_days(date) + minutes(minute_of_day);
  // Try the standard offset, then confirm with the offset in force at that instant.
  const auto guess = local - minutes(zone.standard_offset_minutes);
  const int off = OffsetMinutes(zone, guess - minutes(60));
  const auto candidate = local - minutes(off);
  if (OffsetMinutes(zone, candidate) == off) {
    return candidate;
  }
  return guess;
}

LocalTime UtcToLocal(const TimeZone& zone, std::chrono::system_clock::time_point utc) {
  const auto local = std::chrono::floor<minutes>(utc) + minutes(OffsetMinutes(zone, utc));
  const auto day = std::chrono::floor<days>(local);
  LocalTime t;
  t.date = Date(day);
  t.minute_of_day = static_cast<int>((local - day).count());
  t.weekday = std::chrono::weekday(day);
  return t;
}

std::optional<int> ParseClockTime(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') {
    return std::nullopt;
  }
  int h = 0;
  int m = 0;
  if (std::from_chars(s.data(), s.data() + 2, h).ptr != s.data() + 2 ||
      std::from_chars(s.data() + 3, s.data() + 5, m).ptr != s.data() + 5 || h > 23 || m > 59 ||
      h < 0 || m < 0) {
    return std::nullopt;
  }
  return h * 60 + m;
}

std::optional<Date> ParseDate(std::string_view s) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') {
    return std::nullopt;
  }
  if (s.size() > 10 && s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
    return std::nullopt;
  }
  int y = 0;
  unsigned mo = 0;
  unsigned d = 0;
  if (std::from_chars(s.data(), s.data() + 4, y).ptr != s.data() + 4 ||
      std::from_chars(s.data() + 5, s.data() + 7, mo).ptr != s.data() + 7 ||
      std::from_chars(s.data() + 8, s.data() + 10, d).ptr != s.data() + 10) {
    return std::nullopt;
  }
  const Date date{std::chrono::year(y), std::chrono::month(mo), std::chrono::day(d)};
  if (!date.ok() || y < 1970 || y > 9999) {
    return std::nullopt;
  }
  return date;
}

Date LocalDate(std::string_view zone, std::chrono::system_clock::time_point t) {
  const auto* z = FindTimeZone(zone);
  return UtcToLocal(z != nullptr ? *z : *FindTimeZone("UTC"), t).date;
}

std::int64_t InstantOf(std::string_view date, std::string_view hhmm, std::string_view zone) {
  const auto d = ParseDate(date);
  const auto m = ParseClockTime(hhmm);
  const auto* z = FindTimeZone(zone);
  if (!d || !m || z == nullptr) {
    return 0;
  }
  return ToUnixMillis(LocalToUtc(*z, *d, *m));
}

}  // namespace portline::numbering
