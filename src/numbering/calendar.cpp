#include "numbering/calendar.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace portline::numbering {
namespace {
using std::chrono::day;
using std::chrono::days;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::weekday;
using std::chrono::year;

Date Ymd(int y, unsigned m, unsigned d) { return Date{year{y}, month{m}, day{d}}; }

// The n-th (1-based) weekday `wd` of a month; n = -1 for the last one.
Date Nth(int y, unsigned m, weekday wd, int n) {
  if (n > 0) {
    return Date{sys_days{year{y} / month{m} / wd[static_cast<unsigned>(n)]}};
  }
  return Date{sys_days{year{y} / month{m} / wd[std::chrono::last]}};
}

Date Easter(int y) {  // anonymous Gregorian algorithm
  const int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25;
  const int g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451;
  const int month_ = (h + l - 7 * m + 114) / 31, day_ = (h + l - 7 * m + 114) % 31 + 1;
  return Ymd(y, static_cast<unsigned>(month_), static_cast<unsigned>(day_));
}

bool IsWeekend(Date d) {
  const weekday w{sys_days{d}};
  return w == std::chrono::Saturday || w == std::chrono::Sunday;
}

std::vector<Holiday> RawHolidays(int y, Country c) {
  using std::chrono::Monday;
  using std::chrono::Thursday;
  std::vector<Holiday> h;
  if (c == Country::kUs) {
    h = {{Ymd(y, 1, 1), "New Year's Day"},
         {Nth(y, 1, Monday, 3), "Martin Luther King Jr. Day"},
         {Nth(y, 2, Monday, 3), "Washington's Birthday"},
         {Nth(y, 5, Monday, -1), "Memorial Day"},
         {Ymd(y, 7, 4), "Independence Day"},
         {Nth(y, 9, Monday, 1), "Labor Day"},
         {Nth(y, 10, Monday, 2), "Columbus Day"},
         {Ymd(y, 11, 11), "Veterans Day"},
         {Nth(y, 11, Thursday, 4), "Thanksgiving Day"},
         {Ymd(y, 12, 25), "Christmas Day"}};
    if (y >= 2021) {
      h.push_back({Ymd(y, 6, 19), "Juneteenth National Independence Day"});
    }
  } else {
    // Victoria Day: the Monday before May 25.
    const Date may25 = Ymd(y, 5, 25);
    const weekday w{sys_days{may25}};
    const auto back = (w - Monday).count() == 0 ? 7 : (w - Monday).count();
    h = {{Ymd(y, 1, 1), "New Year's Day"},
         {Date{sys_days{Easter(y)} - days{2}}, "Good Friday"},
         {Date{sys_days{may25} - days{back}}, "Victoria Day"},
         {Ymd(y, 7, 1), "Canada Day"},
         {Nth(y, 9, Monday, 1), "Labour Day"},
         {Nth(y, 10, Monday, 2), "Thanksgiving"},
         {Ymd(y, 11, 11), "Remembrance Day"},
         {Ymd(y, 12, 25), "Christmas Day"},
         {Ymd(y, 12, 26), "Boxing Day"}};
    if (y >= 2021) {
      h.push_back({Ymd(y, 9, 30), "National Day for Truth and Reconciliation"});
    }
  }
  return h;
}

}  // namespace

std::vector<Holiday> Holidays(int y, Country c) {
  std::vector<Holiday> raw = RawHolidays(y, c);
  std::sort(raw.begin(), raw.end(),
            [](const Holiday& a, const Holiday& b) { return sys_days{a.date} < sys_days{b.date}; });
  std::vector<Holiday> out;
  for (auto hol : raw) {
    const weekday w{sys_days{hol.date}};
    if (c == Country::kUs) {
      if (w == std::chrono::Saturday) {
        hol.date = Date{sys_days{hol.date} - days{1}};
      } else if (w == std::chrono::Sunday) {
        hol.date = Date{sys_days{hol.date} + days{1}};
      }
    } else {
      // Canada: move to the next weekday that is not already a holiday (Christmas and Boxing
      // Day on a weekend become Monday and Tuesday).
      while (IsWeekend(hol.date) || std::any_of(out.begin(), out.end(), [&](const Holiday& o) {
               return o.date == hol.date;
             })) {
        hol.date = Date{sys_days{hol.date} + days{1}};
      }
    }
    out.push_back(hol);
  }
  return out;
}

bool IsBusinessDay(Date d, Country c) {
  if (IsWeekend(d)) {
    return false;
  }
  const int y = static_cast<int>(d.year());
  // Holiday lists are computed once per (year, country) per thread: business-day arithmetic
  // runs in loops (earliest dates of 20,000 numbers, workflow steps).
  thread_local std::map<std::pair<int, Country>, std::vector<Holiday>> cache;
  for (int yy : {y, y + 1}) {  // Jan 1 on a Saturday is observed on Dec 31 of the year before
    auto it = cache.find({yy, c});
    if (it == cache.end()) {
      it = cache.emplace(std::pair{yy, c}, Holidays(yy, c)).first;
    }
    for (const auto& h : it->second) {
      if (h.date == d) {
        return false;
      }
    }
  }
  return true;
}

Date NextBusinessDay(Date d, Country c) {
  while (!IsBusinessDay(d, c)) {
    d = Date{sys_days{d} + days{1}};
  }
  return d;
}

Date AddBusinessDays(Date d, int n, Country c) {
  while (n > 0) {
    d = Date{sys_days{d} + days{1}};
    if (IsBusinessDay(d, c)) {
      --n;
    }
  }
  return d;
}

Date EarliestPortDate(Date today, int min_days, int foc_business_days, Country c) {
  const Date by_days{sys_days{today} + days{min_days}};
  const Date by_foc = AddBusinessDays(today, foc_business_days, c);
  return NextBusinessDay(sys_days{by_days} > sys_days{by_foc} ? by_days : by_foc, c);
}

std::string FormatDate(Date d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

}  // namespace portline::numbering
