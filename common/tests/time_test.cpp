#include "common/time.hpp"

#include <gtest/gtest.h>

#include <string>

namespace emtiaz {
namespace {

using namespace std::chrono;

const std::string kTehran = "Asia/Tehran";
const std::string kNewYork = "America/New_York";

Instant at(const char* rfc3339) {
  const auto parsed = parse_rfc3339(rfc3339);
  EXPECT_TRUE(parsed.has_value()) << rfc3339;
  return parsed.value_or(Instant{});
}

// ---------------------------------------------------------------------------------------------------------
// RFC 3339

TEST(Rfc3339, FormatsWithTheZoneOffsetAtThatInstant) {
  EXPECT_EQ(format_rfc3339(at("2026-11-24T05:45:00Z"), kTehran), "2026-11-24T09:15:00+03:30");
  EXPECT_EQ(format_rfc3339(at("2026-11-24T05:45:00Z"), "UTC"), "2026-11-24T05:45:00+00:00");
  EXPECT_EQ(format_rfc3339(at("2025-01-15T17:00:00Z"), kNewYork), "2025-01-15T12:00:00-05:00");
  EXPECT_EQ(format_rfc3339(at("2025-07-15T16:00:00Z"), kNewYork), "2025-07-15T12:00:00-04:00");
  // Tehran kept DST until 2022: +04:30 in summer 2021.
  EXPECT_EQ(format_rfc3339(at("2021-07-01T12:00:00Z"), kTehran), "2021-07-01T16:30:00+04:30");
  EXPECT_EQ(format_rfc3339(at("2025-07-01T12:00:00Z"), kTehran), "2025-07-01T15:30:00+03:30");
  // Local midnight across a date line.
  EXPECT_EQ(format_rfc3339(at("2025-11-21T20:30:00Z"), kTehran), "2025-11-22T00:00:00+03:30");
}

TEST(Rfc3339, SecondsPrecisionTruncatesAndMicrosPrecisionKeepsTheFraction) {
  const Instant t = at("2026-11-24T05:45:00.123450Z");
  EXPECT_EQ(format_rfc3339(t, kTehran), "2026-11-24T09:15:00+03:30");
  EXPECT_EQ(format_rfc3339(t, kTehran, TimePrecision::micros), "2026-11-24T09:15:00.12345+03:30");
  EXPECT_EQ(format_rfc3339(at("2026-11-24T05:45:00Z"), kTehran, TimePrecision::micros), "2026-11-24T09:15:00+03:30");
  // Before the epoch, truncation still goes towards the past.
  const Instant before_epoch = Instant{microseconds{-500'000}};
  EXPECT_EQ(format_rfc3339(before_epoch, "UTC"), "1969-12-31T23:59:59+00:00");
  EXPECT_EQ(format_rfc3339(before_epoch, "UTC", TimePrecision::micros), "1969-12-31T23:59:59.5+00:00");
}

TEST(Rfc3339, UnknownZoneFormatsAsUtcAndExtremesDoNotOverflow) {
  EXPECT_EQ(format_rfc3339(at("2025-01-01T00:00:00Z"), "Mars/Olympus"), "2025-01-01T00:00:00+00:00");
  EXPECT_EQ(format_rfc3339(Instant::max(), "UTC"), "9999-12-31T23:59:59+00:00");
  EXPECT_EQ(format_rfc3339(Instant::min(), "UTC"), "0000-01-01T00:00:00+00:00");
}

TEST(Rfc3339, ParsesOffsetsAndFractions) {
  EXPECT_EQ(at("2025-11-22T00:00:00+03:30"), at("2025-11-21T20:30:00Z"));
  EXPECT_EQ(at("2025-11-21T20:30:00z"), at("2025-11-21T20:30:00Z"));
  EXPECT_EQ(at("2025-11-21t20:30:00Z"), at("2025-11-21T20:30:00Z"));
  EXPECT_EQ(at("2025-11-21 20:30:00Z"), at("2025-11-21T20:30:00Z"));
  EXPECT_EQ(at("2025-11-21T15:30:00-05:00"), at("2025-11-21T20:30:00Z"));
  EXPECT_EQ(at("2025-11-21T20:30:00-00:00"), at("2025-11-21T20:30:00Z"));
  EXPECT_EQ(at("1970-01-01T00:00:00Z"), Instant{});
  EXPECT_EQ(at("1970-01-01T00:00:00.5Z"), Instant{microseconds{500'000}});
  EXPECT_EQ(at("1970-01-01T00:00:00.000001Z"), Instant{microseconds{1}});
  EXPECT_EQ(at("1970-01-01T00:00:00.123456789Z"), Instant{microseconds{123'456}});
  EXPECT_EQ(at("2024-02-29T12:00:00Z") - at("2024-02-28T12:00:00Z"), hours{24});
}

TEST(Rfc3339, RoundTrips) {
  const Instant t = at("2025-03-09T06:59:59.000042Z");
  for (const std::string& tz : {kTehran, kNewYork, std::string("UTC"), std::string("Asia/Kolkata")}) {
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t, tz, TimePrecision::micros)), t) << tz;
  }
}

TEST(Rfc3339, RejectsMalformedText) {
  const char* bad[] = {
      "",
      "2025-11-22",
      "2025-11-22T00:00:00",         // no offset
      "2025-11-22T00:00Z",           // no seconds
      "2025-11-22T00:00:00+0330",    // offset without colon
      "2025-11-22T00:00:00+03",      // short offset
      "2025-11-22T00:00:00+24:00",
      "2025-11-22T00:00:00+03:60",
      "2025-11-22T24:00:00Z",
      "2025-11-22T23:60:00Z",
      "2025-11-22T23:59:60Z",        // leap seconds cannot be represented
      "2025-02-29T00:00:00Z",
      "2025-13-01T00:00:00Z",
      "2025-00-01T00:00:00Z",
      "2025-11-00T00:00:00Z",
      "2025-11-31T00:00:00Z",
      "2025/11/22T00:00:00Z",
      "2025-11-22X00:00:00Z",
      "2025-11-22T00:00:00.Z",
      "2025-11-22T00:00:00.1234567890Z",
      "2025-11-22T00:00:00Z ",
      " 2025-11-22T00:00:00Z",
      "2025-11-22T00:00:00ZZ",
      "+2025-11-22T00:00:00Z",
      "２０２５-11-22T00:00:00Z",
      "2025-11-22T00:00:00+03:30:00",
      "now",
  };
  for (const char* text : bad) EXPECT_EQ(parse_rfc3339(text), std::nullopt) << text;
}

TEST(Rfc3339, NowIsRecent) {
  const Instant t = now_utc();
  EXPECT_GT(t, at("2024-01-01T00:00:00Z"));
  EXPECT_LT(t, at("2100-01-01T00:00:00Z"));
}

TEST(TimeZones, ValidatesIanaIds) {
  EXPECT_TRUE(is_valid_time_zone("Asia/Tehran"));
  EXPECT_TRUE(is_valid_time_zone("America/New_York"));
  EXPECT_TRUE(is_valid_time_zone("Europe/Berlin"));
  EXPECT_TRUE(is_valid_time_zone("UTC"));
  EXPECT_TRUE(is_valid_time_zone("Asia/Calcutta"));  // an alias
  EXPECT_FALSE(is_valid_time_zone(""));
  EXPECT_FALSE(is_valid_time_zone("Asia/Tehranx"));
  EXPECT_FALSE(is_valid_time_zone("Mars/Olympus"));
  EXPECT_FALSE(is_valid_time_zone("Etc/Unknown"));
  EXPECT_FALSE(is_valid_time_zone("GMT+03:30"));
  EXPECT_FALSE(is_valid_time_zone("+03:30"));
  EXPECT_FALSE(is_valid_time_zone(std::string(200, 'A')));
  EXPECT_FALSE(is_valid_time_zone("Asia/Tehran\n"));
}

// ---------------------------------------------------------------------------------------------------------
// ISO 8601 durations

IsoDuration dur(int y, int mo, int d, int h, int mi, int s) { return IsoDuration{y, mo, d, h, mi, s}; }

TEST(IsoDuration, ParsesTheFormsTenantsUse) {
  EXPECT_EQ(parse_iso_duration("P12M"), dur(0, 12, 0, 0, 0, 0));
  EXPECT_EQ(parse_iso_duration("P14D"), dur(0, 0, 14, 0, 0, 0));
  EXPECT_EQ(parse_iso_duration("PT15M"), dur(0, 0, 0, 0, 15, 0));
  EXPECT_EQ(parse_iso_duration("PT3S"), dur(0, 0, 0, 0, 0, 3));
  EXPECT_EQ(parse_iso_duration("P1Y2M3DT4H5M6S"), dur(1, 2, 3, 4, 5, 6));
  EXPECT_EQ(parse_iso_duration("P0D"), dur(0, 0, 0, 0, 0, 0));
  EXPECT_EQ(parse_iso_duration("PT0S"), dur(0, 0, 0, 0, 0, 0));
  EXPECT_EQ(parse_iso_duration("P2W"), dur(0, 0, 14, 0, 0, 0));
  EXPECT_EQ(parse_iso_duration("P1W2D"), dur(0, 0, 9, 0, 0, 0));
  EXPECT_EQ(parse_iso_duration("P1Y"), dur(1, 0, 0, 0, 0, 0));
  EXPECT_EQ(parse_iso_duration("PT36H"), dur(0, 0, 0, 36, 0, 0));
  EXPECT_EQ(parse_iso_duration("P1DT12H"), dur(0, 0, 1, 12, 0, 0));
  EXPECT_EQ(parse_iso_duration("P007D"), dur(0, 0, 7, 0, 0, 0));
  EXPECT_EQ(parse_iso_duration("PT2147483647S"), dur(0, 0, 0, 0, 0, 2147483647));
}

TEST(IsoDuration, RejectsEverythingElse) {
  const char* bad[] = {
      "",      "P",      "PT",     "P1DT",    "T1H",     "1D",       "p1d",      "P1d",       "-P1D",
      "P-1D",  "P+1D",   "P1.5D",  "P1,5D",   "PT0.5S",  "P1H",      "PT1D",     "PT1Y",      "P1M1Y",
      "P1D1D", "P1D1W",  "PT1S1M", "P1Y1Y",   "PTT1H",   "P1DT1HT", "P D",      "P1 D",      " P1D",
      "P1D ",  "P1DX",   "PX",     "P1",      "PT1",     "P2147483648D", "P99999999999999999999Y", "P306783379W",
      "P306783378W2D", "P1W2147483647D", "garbage", "P12M\n",
  };
  for (const char* text : bad) EXPECT_EQ(parse_iso_duration(text), std::nullopt) << text;
}

TEST(IsoDuration, FormatsCanonically) {
  EXPECT_EQ(format_iso_duration(dur(0, 12, 0, 0, 0, 0)), "P12M");
  EXPECT_EQ(format_iso_duration(dur(0, 0, 0, 0, 0, 0)), "P0D");
  EXPECT_EQ(format_iso_duration(dur(0, 0, 0, 0, 15, 0)), "PT15M");
  EXPECT_EQ(format_iso_duration(dur(1, 2, 3, 4, 5, 6)), "P1Y2M3DT4H5M6S");
  EXPECT_EQ(format_iso_duration(dur(0, 0, 1, 0, 0, 30)), "P1DT30S");
  EXPECT_EQ(format_iso_duration(*parse_iso_duration("P2W")), "P14D");
  EXPECT_EQ(format_iso_duration(*parse_iso_duration("PT0S")), "P0D");
  for (const char* text : {"P12M", "P14D", "PT15M", "PT3S", "P1Y2M3DT4H5M6S", "P0D", "PT90M"}) {
    EXPECT_EQ(format_iso_duration(*parse_iso_duration(text)), text);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Calendars and arithmetic

TEST(Calendar, ParsesAndFormats) {
  EXPECT_EQ(parse_calendar("jalali"), Calendar::jalali);
  EXPECT_EQ(parse_calendar("gregorian"), Calendar::gregorian);
  EXPECT_EQ(parse_calendar("Jalali"), std::nullopt);
  EXPECT_EQ(parse_calendar("persian"), std::nullopt);
  EXPECT_EQ(parse_calendar(""), std::nullopt);
  EXPECT_EQ(format_calendar(Calendar::jalali), "jalali");
  EXPECT_EQ(format_calendar(Calendar::gregorian), "gregorian");
}

std::string add(const char* from, const char* duration, const std::string& tz, Calendar calendar) {
  return format_rfc3339(add_duration(at(from), *parse_iso_duration(duration), tz, calendar), tz, TimePrecision::micros);
}

TEST(AddDuration, JalaliMonthsClampToTheMonthsLastDay) {
  // Shahrivar 31 1404 = 2025-09-22; Mehr has 30 days, so + 1 month is Mehr 30 1404 = 2025-10-22.
  EXPECT_EQ(add("2025-09-22T10:00:00+03:30", "P1M", kTehran, Calendar::jalali), "2025-10-22T10:00:00+03:30");
  // Farvardin 31 1404 (2025-04-20) + 6 months = Mehr 30 1404.
  EXPECT_EQ(add("2025-04-20T00:00:00+03:30", "P6M", kTehran, Calendar::jalali), "2025-10-22T00:00:00+03:30");
  // Esfand 30 1403 (leap year; 2025-03-20) + 1 year = Esfand 29 1404 (2026-03-20, the eve of Nowruz 1405).
  EXPECT_EQ(add("2025-03-20T08:00:00+03:30", "P1Y", kTehran, Calendar::jalali), "2026-03-20T08:00:00+03:30");
  EXPECT_EQ(add("2025-03-20T08:00:00+03:30", "P12M", kTehran, Calendar::jalali), "2026-03-20T08:00:00+03:30");
  // Esfand 29 1403 (2025-03-19) + 1 year is the same day: both Esfand 29 and 30 land on Esfand 29 1404.
  EXPECT_EQ(add("2025-03-19T08:00:00+03:30", "P1Y", kTehran, Calendar::jalali), "2026-03-20T08:00:00+03:30");
  // Esfand 30 1403 + 1 day is Nowruz 1404.
  EXPECT_EQ(add("2025-03-20T08:00:00+03:30", "P1D", kTehran, Calendar::jalali), "2025-03-21T08:00:00+03:30");
  // Years and months are added together: Esfand 30 1403 + P1Y1M = Farvardin 30 1405, not Farvardin 29.
  EXPECT_EQ(add("2025-03-20T08:00:00+03:30", "P1Y1M", kTehran, Calendar::jalali), "2026-04-19T08:00:00+03:30");
  // Mehr 1 1404 + 1 month = Aban 1 1404 (2025-10-23).
  EXPECT_EQ(add("2025-09-23T00:00:00+03:30", "P1M", kTehran, Calendar::jalali), "2025-10-23T00:00:00+03:30");
}

TEST(AddDuration, GregorianMonthsClampToTheMonthsLastDay) {
  EXPECT_EQ(add("2025-01-31T10:00:00+03:30", "P1M", kTehran, Calendar::gregorian), "2025-02-28T10:00:00+03:30");
  EXPECT_EQ(add("2024-01-31T10:00:00+03:30", "P1M", kTehran, Calendar::gregorian), "2024-02-29T10:00:00+03:30");
  EXPECT_EQ(add("2024-02-29T10:00:00+03:30", "P1Y", kTehran, Calendar::gregorian), "2025-02-28T10:00:00+03:30");
  EXPECT_EQ(add("2025-05-15T10:00:00+03:30", "P12M", kTehran, Calendar::gregorian), "2026-05-15T10:00:00+03:30");
}

TEST(AddDuration, TheCalendarMatters) {
  // 2025-01-31 is Bahman 12 1403; a Jalali month later is Esfand 12 1403 = 2025-03-02.
  EXPECT_EQ(add("2025-01-31T10:00:00+03:30", "P1M", kTehran, Calendar::jalali), "2025-03-02T10:00:00+03:30");
  EXPECT_EQ(add("2025-01-31T10:00:00+03:30", "P1M", kTehran, Calendar::gregorian), "2025-02-28T10:00:00+03:30");
}

TEST(AddDuration, DaysKeepWallTimeAcrossDstButHoursAreExact) {
  // New York springs forward on 2025-03-09 at 02:00.
  EXPECT_EQ(add("2025-03-08T12:00:00-05:00", "P1D", kNewYork, Calendar::gregorian), "2025-03-09T12:00:00-04:00");
  EXPECT_EQ(add("2025-03-08T12:00:00-05:00", "PT24H", kNewYork, Calendar::gregorian), "2025-03-09T13:00:00-04:00");
  // ... and falls back on 2025-11-02.
  EXPECT_EQ(add("2025-11-01T12:00:00-04:00", "P1D", kNewYork, Calendar::gregorian), "2025-11-02T12:00:00-05:00");
  EXPECT_EQ(add("2025-11-01T12:00:00-04:00", "PT24H", kNewYork, Calendar::gregorian), "2025-11-02T11:00:00-05:00");
  EXPECT_EQ(at("2025-03-09T12:00:00-04:00") - at("2025-03-08T12:00:00-05:00"), hours{23});
  // Tehran has had no DST since 2022: a day is 24 hours.
  EXPECT_EQ(add("2025-03-20T12:00:00+03:30", "P1D", kTehran, Calendar::jalali), "2025-03-21T12:00:00+03:30");
}

TEST(AddDuration, ExactPartsAndMicroseconds) {
  EXPECT_EQ(add("2025-11-22T00:00:00.123456+03:30", "PT3S", kTehran, Calendar::jalali), "2025-11-22T00:00:03.123456+03:30");
  EXPECT_EQ(add("2025-11-22T00:00:00.123456+03:30", "P1D", kTehran, Calendar::jalali), "2025-11-23T00:00:00.123456+03:30");
  EXPECT_EQ(add("2025-11-22T23:50:00+03:30", "PT15M", kTehran, Calendar::jalali), "2025-11-23T00:05:00+03:30");
  EXPECT_EQ(add("2025-11-22T00:00:00+03:30", "P1DT1H", kTehran, Calendar::jalali), "2025-11-23T01:00:00+03:30");
  EXPECT_EQ(add("2025-11-22T00:00:00+03:30", "P2W", kTehran, Calendar::jalali), "2025-12-06T00:00:00+03:30");
  const Instant t = at("2025-11-22T00:00:00.999999+03:30");
  EXPECT_EQ(add_duration(t, IsoDuration{}, kTehran, Calendar::jalali), t);
  // Before the epoch the sub-millisecond rest is kept too.
  const Instant early = Instant{microseconds{-1'500'001}};
  EXPECT_EQ(add_duration(early, *parse_iso_duration("P1D"), "UTC", Calendar::gregorian), early + days{1});
}

TEST(AddDuration, SaturatesInsteadOfOverflowing) {
  const Instant t = at("2025-11-22T00:00:00Z");
  EXPECT_EQ(add_duration(t, dur(2147483647, 2147483647, 0, 0, 0, 0), kTehran, Calendar::jalali), Instant::max());
  EXPECT_EQ(add_duration(Instant::max() - seconds{1}, dur(0, 0, 0, 0, 0, 5), "UTC", Calendar::gregorian), Instant::max());
  EXPECT_EQ(add_duration(t, dur(0, 0, 2147483647, 0, 0, 0), "UTC", Calendar::gregorian), Instant::max());
  const Instant far = add_duration(t, dur(0, 0, 0, 2147483647, 2147483647, 2147483647), "UTC", Calendar::gregorian);
  EXPECT_GT(far, t);
}

// ---------------------------------------------------------------------------------------------------------
// Periods

TEST(Period, Parses) {
  EXPECT_EQ(parse_period("1404-09", Calendar::jalali), (Period{1404, 9}));
  EXPECT_EQ(parse_period("1404-12", Calendar::jalali), (Period{1404, 12}));
  EXPECT_EQ(parse_period("2025-12", Calendar::gregorian), (Period{2025, 12}));
  EXPECT_EQ(parse_period("2025-01", Calendar::gregorian), (Period{2025, 1}));
  for (const char* bad : {"1404-00", "1404-13", "1404-9", "14049", "1404-090", "1404/09", "", "abcd-ef", "-404-09",
                          "1404-09 ", "1404-+9", "2025-12"}) {
    EXPECT_EQ(parse_period(bad, Calendar::jalali), std::nullopt) << bad;
  }
  EXPECT_EQ(parse_period("1404-09", Calendar::gregorian), std::nullopt);  // not a sane Gregorian year
  EXPECT_EQ(parse_period("0000-01", Calendar::gregorian), std::nullopt);
  EXPECT_EQ(parse_period("9999-01", Calendar::gregorian), std::nullopt);
  EXPECT_EQ(format_period(Period{1404, 9}), "1404-09");
  EXPECT_EQ(format_period(Period{2025, 12}), "2025-12");
}

std::pair<std::string, std::string> bounds(int year, int month, const std::string& tz, Calendar calendar) {
  const auto [from, to] = period_bounds(Period{year, month}, tz, calendar);
  return {format_rfc3339(from, tz), format_rfc3339(to, tz)};
}

TEST(Period, JalaliAzar1404InTehran) {
  // Farvardin 1 1404 = 2025-03-21; six 31-day and two 30-day months later, Azar 1 = 2025-11-22 and Dey 1 =
  // 2025-12-22.
  EXPECT_EQ(bounds(1404, 9, kTehran, Calendar::jalali),
            std::make_pair(std::string("2025-11-22T00:00:00+03:30"), std::string("2025-12-22T00:00:00+03:30")));
  const auto [from, to] = period_bounds(Period{1404, 9}, kTehran, Calendar::jalali);
  EXPECT_EQ(from, at("2025-11-21T20:30:00Z"));
  EXPECT_EQ(to - from, days{30});
}

TEST(Period, EsfandInLeapAndCommonYears) {
  // 1403 is a leap year: Esfand has 30 days; 1404 is not: 29.
  EXPECT_EQ(bounds(1403, 12, kTehran, Calendar::jalali),
            std::make_pair(std::string("2025-02-19T00:00:00+03:30"), std::string("2025-03-21T00:00:00+03:30")));
  EXPECT_EQ(bounds(1404, 12, kTehran, Calendar::jalali),
            std::make_pair(std::string("2026-02-20T00:00:00+03:30"), std::string("2026-03-21T00:00:00+03:30")));
  {
    const auto [from, to] = period_bounds(Period{1403, 12}, kTehran, Calendar::jalali);
    EXPECT_EQ(to - from, days{30});
  }
  {
    const auto [from, to] = period_bounds(Period{1404, 12}, kTehran, Calendar::jalali);
    EXPECT_EQ(to - from, days{29});
  }
  // Farvardin 1404 has 31 days and starts where Esfand 1403 ends.
  EXPECT_EQ(bounds(1404, 1, kTehran, Calendar::jalali),
            std::make_pair(std::string("2025-03-21T00:00:00+03:30"), std::string("2025-04-21T00:00:00+03:30")));
}

TEST(Period, Gregorian) {
  EXPECT_EQ(bounds(2025, 12, kTehran, Calendar::gregorian),
            std::make_pair(std::string("2025-12-01T00:00:00+03:30"), std::string("2026-01-01T00:00:00+03:30")));
  EXPECT_EQ(bounds(2024, 2, "UTC", Calendar::gregorian),
            std::make_pair(std::string("2024-02-01T00:00:00+00:00"), std::string("2024-03-01T00:00:00+00:00")));
  // A month with a DST change is an hour short.
  EXPECT_EQ(bounds(2025, 3, kNewYork, Calendar::gregorian),
            std::make_pair(std::string("2025-03-01T00:00:00-05:00"), std::string("2025-04-01T00:00:00-04:00")));
  const auto [from, to] = period_bounds(Period{2025, 3}, kNewYork, Calendar::gregorian);
  EXPECT_EQ(to - from, days{31} - hours{1});
}

TEST(Period, TehranBeforeItAbolishedDst) {
  // In 1401 (2022), Tehran's last DST began on Farvardin 2 and ended at the end of Shahrivar 30.
  EXPECT_EQ(bounds(1401, 1, kTehran, Calendar::jalali),
            std::make_pair(std::string("2022-03-21T00:00:00+03:30"), std::string("2022-04-21T00:00:00+04:30")));
  EXPECT_EQ(bounds(1401, 6, kTehran, Calendar::jalali),
            std::make_pair(std::string("2022-08-23T00:00:00+04:30"), std::string("2022-09-23T00:00:00+03:30")));
  const auto farvardin = period_bounds(Period{1401, 1}, kTehran, Calendar::jalali);
  EXPECT_EQ(farvardin.second - farvardin.first, days{31} - hours{1});
  const auto shahrivar = period_bounds(Period{1401, 6}, kTehran, Calendar::jalali);
  EXPECT_EQ(shahrivar.second - shahrivar.first, days{31} + hours{1});
}

TEST(Period, MonthWhoseFirstMidnightIsSkipped) {
  // Paraguay springs forward at 00:00 on the first Sunday of October; 2023-10-01 was one, so its day starts
  // at 01:00 (-03:00), the instant of the jump.
  const auto [from, to] = period_bounds(Period{2023, 10}, "America/Asuncion", Calendar::gregorian);
  EXPECT_EQ(from, at("2023-10-01T04:00:00Z"));
  EXPECT_EQ(format_rfc3339(from, "America/Asuncion"), "2023-10-01T01:00:00-03:00");
  EXPECT_EQ(period_bounds(Period{2023, 9}, "America/Asuncion", Calendar::gregorian).second, from);
}

TEST(Period, ConsecutivePeriodsAreContiguous) {
  for (int month = 1; month <= 12; ++month) {
    const auto [from, to] = period_bounds(Period{1404, month}, kTehran, Calendar::jalali);
    const Period next = month == 12 ? Period{1405, 1} : Period{1404, month + 1};
    EXPECT_EQ(period_bounds(next, kTehran, Calendar::jalali).first, to) << month;
    EXPECT_EQ(period_containing(from, kTehran, Calendar::jalali), (Period{1404, month}));
    EXPECT_EQ(period_containing(to - microseconds{1}, kTehran, Calendar::jalali), (Period{1404, month}));
  }
}

TEST(Period, Containing) {
  EXPECT_EQ(period_containing(at("2025-11-22T00:00:00+03:30"), kTehran, Calendar::jalali), (Period{1404, 9}));
  EXPECT_EQ(period_containing(at("2025-11-21T23:59:59+03:30"), kTehran, Calendar::jalali), (Period{1404, 8}));
  EXPECT_EQ(period_containing(at("2025-12-31T21:00:00Z"), kTehran, Calendar::gregorian), (Period{2026, 1}));
  EXPECT_EQ(period_containing(at("2025-12-31T21:00:00Z"), "UTC", Calendar::gregorian), (Period{2025, 12}));
}

}  // namespace
}  // namespace emtiaz
