#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace emtiaz {

// Every instant in Emtiaz: UTC, microsecond resolution (MySQL DATETIME(6) holds exactly this).
using Instant = std::chrono::sys_time<std::chrono::microseconds>;

Instant now_utc();

// ---------------------------------------------------------------------------------------------------------
// RFC 3339
// ---------------------------------------------------------------------------------------------------------

enum class TimePrecision {
  seconds,  // "2026-11-24T09:15:00+03:30": sub-second part dropped (rounded towards the past).
  micros,   // as `seconds`, plus ".ffffff" (trailing zeros trimmed) when the sub-second part is non-zero.
};

// Formats `at` as RFC 3339 in zone `tz_name` (an IANA id such as "Asia/Tehran"), with that zone's UTC offset
// at that instant as ICU knows it ("+03:30"; UTC is written "+00:00", never "Z"). The API's times use the
// default, seconds precision. Instants outside years 0000..9999 are clamped to them. An unknown zone id is treated as UTC: validate ids with is_valid_time_zone()
// where they enter the system. Zones whose historical offset has seconds (local mean time before ~1950)
// are written with the offset truncated to minutes and the local time adjusted so that the string still
// denotes exactly `at` (to the second).
std::string format_rfc3339(Instant at, const std::string& tz_name,
                           TimePrecision precision = TimePrecision::seconds);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". The offset is required; 't', 'z' and a space
// instead of 'T' are accepted (RFC 3339 §5.6). Fractions beyond microseconds are truncated. Leap seconds
// (":60"), impossible dates and anything else malformed give std::nullopt.
std::optional<Instant> parse_rfc3339(std::string_view text);

// True when ICU knows `tz_name` as a system time zone id (IANA names and their aliases). Custom ids such
// as "GMT+03:30", the empty string and unknown names are rejected.
bool is_valid_time_zone(const std::string& tz_name);

// ---------------------------------------------------------------------------------------------------------
// ISO 8601 durations
// ---------------------------------------------------------------------------------------------------------

// A duration as written: no normalisation ("P12M" stays 12 months, "PT90M" stays 90 minutes). Weeks are
// folded into days on parsing ("P2W" == 14 days). All fields are >= 0.
struct IsoDuration {
  int years = 0;
  int months = 0;
  int days = 0;
  int hours = 0;
  int minutes = 0;
  int seconds = 0;

  bool is_zero() const { return years == 0 && months == 0 && days == 0 && hours == 0 && minutes == 0 && seconds == 0; }
  friend bool operator==(const IsoDuration&, const IsoDuration&) = default;
};

// Accepts "PnYnMnWnDTnHnMnS" with any non-empty subset of the components, in that order, each a
// non-negative integer that fits in an int (after weeks are turned into days). Rejects a sign,
// fractions, lower case, "P", "PT", "P1DT", repeated or out-of-order components, and overflow.
std::optional<IsoDuration> parse_iso_duration(std::string_view text);

// Canonical form: "P[nY][nM][nD][T[nH][nM][nS]]" omitting zero components; the zero duration is "P0D".
std::string format_iso_duration(const IsoDuration& duration);

// ---------------------------------------------------------------------------------------------------------
// Tenant calendars
// ---------------------------------------------------------------------------------------------------------

enum class Calendar { jalali, gregorian };

// "jalali" | "gregorian" (exactly, lower case).
std::optional<Calendar> parse_calendar(std::string_view text);
std::string_view format_calendar(Calendar calendar);

// Adds `duration` to `at`. Years, months and days are counted in `calendar` and the zone `tz_name`: the
// local wall time is kept (across DST changes too), years and months are added together as a number of
// months, with the day of the month clamped to the target month's last day (Shahrivar 31 + P1M = Mehr 30),
// then days are added. Hours, minutes and seconds are then added as exact elapsed time. Jalali arithmetic
// is ICU's Persian calendar. Saturates at Instant::max() for results beyond what can be represented.
Instant add_duration(Instant at, const IsoDuration& duration, const std::string& tz_name, Calendar calendar);

// A month of a tenant's calendar, e.g. {1404, 9} = Azar 1404 (jalali) or {2025, 12} (gregorian).
struct Period {
  int year = 0;
  int month = 0;  // 1..12
  friend bool operator==(const Period&, const Period&) = default;
  friend auto operator<=>(const Period&, const Period&) = default;
};

// "YYYY-MM" exactly (four-digit year, two-digit month 01..12). The year must be in a sane range for the
// calendar: 1300..1700 for jalali, 1900..2300 for gregorian.
std::optional<Period> parse_period(std::string_view text, Calendar calendar);
std::string format_period(const Period& period);

// [the month's first day 00:00, the next month's first day 00:00) in `tz_name`. When midnight does not
// exist on a day (a DST jump at 00:00), the day starts at the first instant after the jump.
std::pair<Instant, Instant> period_bounds(const Period& period, const std::string& tz_name, Calendar calendar);

// The period (month of `calendar` in `tz_name`) that contains `at`.
Period period_containing(Instant at, const std::string& tz_name, Calendar calendar);

}  // namespace emtiaz
