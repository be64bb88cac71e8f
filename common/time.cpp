#include "common/time.hpp"

#include <unicode/calendar.h>
#include <unicode/gregocal.h>
#include <unicode/locid.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>

namespace emtiaz {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// ICU works in milliseconds (UDate, a double); we keep the sub-millisecond rest ourselves.
struct SplitInstant {
  double ms;
  std::int64_t rest_us;  // 0..999
};

SplitInstant split(Instant at) {
  const std::int64_t us = at.time_since_epoch().count();
  std::int64_t ms = us / 1000;
  std::int64_t rest = us % 1000;
  if (rest < 0) {
    rest += 1000;
    ms -= 1;
  }
  return {static_cast<double>(ms), rest};
}

// |ms| below this converts to Instant (int64 microseconds) without overflow.
constexpr double kMaxRepresentableMs = 9.2e15;

std::optional<Instant> join(double ms, std::int64_t rest_us) {
  if (!std::isfinite(ms) || std::fabs(ms) >= kMaxRepresentableMs) return std::nullopt;
  return Instant{microseconds{static_cast<std::int64_t>(ms) * 1000 + rest_us}};
}

// ICU calendars are not cheap to make (zone lookup, locale data) and not thread-safe to share, so each thread
// keeps one per (zone, calendar). The cache is bounded: tenants use a handful of zones.
icu::Calendar& icu_calendar(const std::string& tz_name, Calendar calendar) {
  thread_local std::map<std::pair<std::string, Calendar>, std::unique_ptr<icu::Calendar>> cache;
  auto key = std::make_pair(tz_name, calendar);
  if (auto it = cache.find(key); it != cache.end()) return *it->second;
  if (cache.size() >= 256) cache.clear();

  UErrorCode status = U_ZERO_ERROR;
  icu::TimeZone* zone = icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(tz_name));
  const icu::Locale locale(calendar == Calendar::jalali ? "fa_IR@calendar=persian" : "en_US@calendar=gregorian");
  std::unique_ptr<icu::Calendar> cal(icu::Calendar::createInstance(zone, locale, status));  // adopts zone
  if (U_FAILURE(status) || !cal) {
    throw std::runtime_error(fmt::format("ICU: cannot create a {} calendar for zone {}: {}",
                                         format_calendar(calendar), tz_name, u_errorName(status)));
  }
  cal->setLenient(true);
  if (calendar == Calendar::gregorian) {
    // Proleptic Gregorian, like std::chrono and RFC 3339 (no Julian dates before 1582).
    if (auto* greg = dynamic_cast<icu::GregorianCalendar*>(cal.get())) {
      UErrorCode st = U_ZERO_ERROR;
      greg->setGregorianChange(-8.64e15, st);
    }
  }
  auto& ref = *cal;
  cache.emplace(std::move(key), std::move(cal));
  return ref;
}

// Offset of the zone from UTC at `at`, in seconds.
std::int64_t utc_offset_seconds(Instant at, const std::string& tz_name) {
  const icu::TimeZone& zone = icu_calendar(tz_name, Calendar::gregorian).getTimeZone();
  std::int32_t raw = 0;
  std::int32_t dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  zone.getOffset(split(at).ms, false, raw, dst, status);
  if (U_FAILURE(status)) return 0;
  return (static_cast<std::int64_t>(raw) + dst) / 1000;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`.
std::optional<int> fixed_digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!is_digit(s[pos + i])) return std::nullopt;
    v = v * 10 + (s[pos + i] - '0');
  }
  return v;
}

}  // namespace

Instant now_utc() {
  return std::chrono::time_point_cast<microseconds>(std::chrono::system_clock::now());
}

std::string format_rfc3339(Instant at, const std::string& tz_name, TimePrecision precision) {
  using namespace std::chrono;
  // Keep the arithmetic below far from overflow (add_duration saturates at Instant::max()).
  constexpr Instant kMin = sys_days{year{0} / 1 / 1};
  constexpr Instant kMax = sys_days{year{9999} / 12 / 31} + hours{23} + minutes{59} + seconds{59};
  at = std::clamp(at, kMin, kMax);
  // Whole minutes only: RFC 3339 offsets have no seconds.
  const std::int64_t offset_min = utc_offset_seconds(at, tz_name) / 60;
  const auto local = at + minutes{offset_min};
  const auto day = floor<days>(local);
  const year_month_day ymd{day};
  const auto tod = local - day;  // microseconds since local midnight, >= 0
  const auto h = duration_cast<hours>(tod);
  const auto m = duration_cast<minutes>(tod - h);
  const auto s = duration_cast<seconds>(tod - h - m);
  const auto us = (tod - h - m - s).count();

  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), h.count(),
                                m.count(), s.count());
  if (precision == TimePrecision::micros && us != 0) {
    std::string frac = fmt::format("{:06}", us);
    while (frac.back() == '0') frac.pop_back();
    out += '.';
    out += frac;
  }
  const char sign = offset_min < 0 ? '-' : '+';
  const std::int64_t abs_min = offset_min < 0 ? -offset_min : offset_min;
  out += fmt::format("{}{:02}:{:02}", sign, abs_min / 60, abs_min % 60);
  return out;
}

std::optional<Instant> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS is 19 characters; the shortest valid text adds "Z".
  if (s.size() < 20 || s.size() > 64) return std::nullopt;
  const auto y = fixed_digits(s, 0, 4);
  const auto mo = fixed_digits(s, 5, 2);
  const auto d = fixed_digits(s, 8, 2);
  const auto hh = fixed_digits(s, 11, 2);
  const auto mi = fixed_digits(s, 14, 2);
  const auto ss = fixed_digits(s, 17, 2);
  if (!y || !mo || !d || !hh || !mi || !ss) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':') return std::nullopt;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  if (*hh > 23 || *mi > 59 || *ss > 59) return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;

  std::size_t pos = 19;
  std::int64_t frac_us = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < s.size() && is_digit(s[pos])) {
      if (digits < 6) frac_us = frac_us * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (std::size_t i = digits; i < 6; ++i) frac_us *= 10;
  }
  if (pos >= s.size()) return std::nullopt;  // the offset is required

  std::int64_t offset_min = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const bool negative = s[pos] == '-';
    const auto oh = fixed_digits(s, pos + 1, 2);
    const auto om = fixed_digits(s, pos + 4, 2);
    if (!oh || !om || pos + 3 >= s.size() || s[pos + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset_min = (*oh * 60 + *om) * (negative ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;

  const auto local = sys_days{ymd} + hours{*hh} + minutes{*mi} + seconds{*ss} + microseconds{frac_us};
  return Instant{local - minutes{offset_min}};
}

bool is_valid_time_zone(const std::string& tz_name) {
  if (tz_name.empty() || tz_name.size() > 64) return false;
  icu::UnicodeString canonical;
  UBool is_system = false;
  UErrorCode status = U_ZERO_ERROR;
  icu::TimeZone::getCanonicalID(icu::UnicodeString::fromUTF8(tz_name), canonical, is_system, status);
  return U_SUCCESS(status) && is_system && canonical != icu::UnicodeString(u"Etc/Unknown");
}

std::optional<IsoDuration> parse_iso_duration(std::string_view s) {
  if (s.size() < 3 || s.size() > 64 || s[0] != 'P') return std::nullopt;
  IsoDuration out;
  std::int64_t weeks = 0;
  std::int64_t days = 0;
  bool any = false;
  bool in_time = false;
  bool any_time = false;
  // Designators in the order they must appear; `next` indexes the first one still allowed.
  constexpr std::string_view kDateOrder = "YMWD";
  constexpr std::string_view kTimeOrder = "HMS";
  std::size_t next = 0;
  std::size_t pos = 1;
  while (pos < s.size()) {
    if (s[pos] == 'T') {
      if (in_time) return std::nullopt;
      in_time = true;
      next = 0;
      ++pos;
      continue;
    }
    std::int64_t value = 0;
    std::size_t digits = 0;
    while (pos < s.size() && is_digit(s[pos])) {
      value = value * 10 + (s[pos] - '0');
      if (value > INT_MAX) return std::nullopt;
      ++digits;
      ++pos;
    }
    if (digits == 0 || pos >= s.size()) return std::nullopt;
    const std::string_view order = in_time ? kTimeOrder : kDateOrder;
    const auto index = order.find(s[pos], next);
    if (index == std::string_view::npos) return std::nullopt;  // unknown, repeated or out of order
    next = index + 1;
    ++pos;
    any = true;
    const int v = static_cast<int>(value);
    if (in_time) {
      any_time = true;
      if (order[index] == 'H') out.hours = v;
      else if (order[index] == 'M') out.minutes = v;
      else out.seconds = v;
    } else {
      if (order[index] == 'Y') out.years = v;
      else if (order[index] == 'M') out.months = v;
      else if (order[index] == 'W') weeks = value;
      else days = value;
    }
  }
  if (!any || (in_time && !any_time)) return std::nullopt;
  const std::int64_t total_days = weeks * 7 + days;
  if (total_days > INT_MAX) return std::nullopt;
  out.days = static_cast<int>(total_days);
  return out;
}

std::string format_iso_duration(const IsoDuration& d) {
  if (d.is_zero()) return "P0D";
  std::string out = "P";
  if (d.years != 0) out += fmt::format("{}Y", d.years);
  if (d.months != 0) out += fmt::format("{}M", d.months);
  if (d.days != 0) out += fmt::format("{}D", d.days);
  if (d.hours != 0 || d.minutes != 0 || d.seconds != 0) {
    out += 'T';
    if (d.hours != 0) out += fmt::format("{}H", d.hours);
    if (d.minutes != 0) out += fmt::format("{}M", d.minutes);
    if (d.seconds != 0) out += fmt::format("{}S", d.seconds);
  }
  return out;
}

std::optional<Calendar> parse_calendar(std::string_view text) {
  if (text == "jalali") return Calendar::jalali;
  if (text == "gregorian") return Calendar::gregorian;
  return std::nullopt;
}

std::string_view format_calendar(Calendar calendar) {
  return calendar == Calendar::jalali ? "jalali" : "gregorian";
}

Instant add_duration(Instant at, const IsoDuration& d, const std::string& tz_name, Calendar calendar) {
  Instant result = at;
  const std::int64_t months = static_cast<std::int64_t>(d.years) * 12 + d.months;
  if (months != 0 || d.days != 0) {
    if (months > INT_MAX) return Instant::max();
    icu::Calendar& cal = icu_calendar(tz_name, calendar);
    const SplitInstant parts = split(at);
    UErrorCode status = U_ZERO_ERROR;
    cal.setTime(parts.ms, status);
    // ICU's add() keeps the wall time and pins the day of the month to the target month's length.
    if (months != 0) cal.add(UCAL_MONTH, static_cast<std::int32_t>(months), status);
    if (d.days != 0) cal.add(UCAL_DATE, d.days, status);
    const UDate ms = cal.getTime(status);
    if (U_FAILURE(status)) return Instant::max();
    const auto joined = join(ms, parts.rest_us);
    if (!joined) return Instant::max();
    result = *joined;
  }
  const std::int64_t exact_s = static_cast<std::int64_t>(d.hours) * 3600 + static_cast<std::int64_t>(d.minutes) * 60 + d.seconds;
  const std::int64_t exact_us = exact_s * 1'000'000;  // < 2^31 * 3661 * 10^6 < 2^63
  if (result.time_since_epoch().count() > INT64_MAX - exact_us) return Instant::max();
  return result + microseconds{exact_us};
}

std::optional<Period> parse_period(std::string_view text, Calendar calendar) {
  if (text.size() != 7 || text[4] != '-') return std::nullopt;
  const auto y = fixed_digits(text, 0, 4);
  const auto m = fixed_digits(text, 5, 2);
  if (!y || !m || *m < 1 || *m > 12) return std::nullopt;
  const int min_year = calendar == Calendar::jalali ? 1300 : 1900;
  const int max_year = calendar == Calendar::jalali ? 1700 : 2300;
  if (*y < min_year || *y > max_year) return std::nullopt;
  return Period{*y, *m};
}

std::string format_period(const Period& period) { return fmt::format("{:04}-{:02}", period.year, period.month); }

namespace {

Instant month_start(int year, int month, const std::string& tz_name, Calendar calendar) {
  icu::Calendar& cal = icu_calendar(tz_name, calendar);
  cal.clear();
  // Midnight that a DST jump skips is read with the offset in force before the jump (ICU's default,
  // UCAL_WALLTIME_LAST), which is the instant of the jump: the first instant of that day.
  cal.set(year, month - 1, 1, 0, 0, 0);
  UErrorCode status = U_ZERO_ERROR;
  const UDate ms = cal.getTime(status);
  if (U_FAILURE(status)) throw std::runtime_error(fmt::format("ICU: cannot compute {:04}-{:02} in {}: {}", year, month, tz_name, u_errorName(status)));
  const auto joined = join(ms, 0);
  if (!joined) throw std::runtime_error(fmt::format("period {:04}-{:02} is out of range", year, month));
  return *joined;
}

}  // namespace

std::pair<Instant, Instant> period_bounds(const Period& period, const std::string& tz_name, Calendar calendar) {
  const Instant from = month_start(period.year, period.month, tz_name, calendar);
  const Instant to = period.month == 12 ? month_start(period.year + 1, 1, tz_name, calendar)
                                        : month_start(period.year, period.month + 1, tz_name, calendar);
  return {from, to};
}

Period period_containing(Instant at, const std::string& tz_name, Calendar calendar) {
  icu::Calendar& cal = icu_calendar(tz_name, calendar);
  UErrorCode status = U_ZERO_ERROR;
  cal.setTime(split(at).ms, status);
  const int year = cal.get(UCAL_EXTENDED_YEAR, status);
  const int month = cal.get(UCAL_MONTH, status) + 1;
  if (U_FAILURE(status)) throw std::runtime_error(fmt::format("ICU: cannot read the month in {}: {}", tz_name, u_errorName(status)));
  return Period{year, month};
}

}  // namespace emtiaz
