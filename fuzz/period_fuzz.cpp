// common/time: parse_period on any bytes, in both calendars. Properties: an accepted period is exactly
// "YYYY-MM" (format gives the input back), lies in the calendar's year range, and its bounds in the
// tenant's zone are a non-empty interval whose ends belong to it and to the next month.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/time.hpp"
#include "fuzz/fuzz_check.hpp"

using emtiaz::Calendar;
using emtiaz::Period;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (Calendar cal : {Calendar::jalali, Calendar::gregorian}) {
    auto p = emtiaz::parse_period(text, cal);
    if (!p) continue;
    FUZZ_CHECK(text.size() == 7 && emtiaz::format_period(*p) == text);
    FUZZ_CHECK(p->month >= 1 && p->month <= 12);
    if (cal == Calendar::jalali) FUZZ_CHECK(p->year >= 1300 && p->year <= 1700);
    if (cal == Calendar::gregorian) FUZZ_CHECK(p->year >= 1900 && p->year <= 2300);
    for (const char* tz : {"Asia/Tehran", "UTC"}) {
      auto [from, to] = emtiaz::period_bounds(*p, tz, cal);
      FUZZ_CHECK(from < to);
      FUZZ_CHECK(emtiaz::period_containing(from, tz, cal) == *p);
      FUZZ_CHECK(emtiaz::period_containing(to - std::chrono::microseconds(1), tz, cal) == *p);
      FUZZ_CHECK(emtiaz::period_containing(to, tz, cal) != *p);
    }
  }
  return 0;
}
