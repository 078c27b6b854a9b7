#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace portline::numbering {

using Date = std::chrono::year_month_day;

/// Which holiday calendar applies: US federal, or Canadian federal statutory.
enum class Country : std::uint8_t { kUs, kCa };

struct Holiday {
  Date date;  // the day it is observed (weekend holidays move to a weekday)
  std::string name;
};

/// Observed holidays of a year. US: New Year's Day, Martin Luther King Jr. Day, Washington's
/// Birthday, Memorial Day, Juneteenth, Independence Day, Labor Day, Columbus Day, Veterans Day,
/// Thanksgiving, Christmas (Saturday → Friday before, Sunday → Monday after). Canada: New Year's
/// Day, Good Friday, Victoria Day, Canada Day, Labour Day, National Day for Truth and
/// Reconciliation (from 2021), Thanksgiving, Remembrance Day, Christmas, Boxing Day (weekend →
/// next free weekday).
[[nodiscard]] std::vector<Holiday> Holidays(int year, Country country);

[[nodiscard]] bool IsBusinessDay(Date d, Country country);
/// The first business day on or after `d`.
[[nodiscard]] Date NextBusinessDay(Date d, Country country);
/// `d` plus `n` business days (n ≥ 0).
[[nodiscard]] Date AddBusinessDays(Date d, int n, Country country);
/// The earliest date a port can complete: at least `min_days` calendar days and
/// `foc_business_days` business days after `today`, on a business day.
[[nodiscard]] Date EarliestPortDate(Date today, int min_days, int foc_business_days,
                                    Country country);

[[nodiscard]] std::string FormatDate(Date d);  // "2026-11-30"

}  // namespace portline::numbering
