// common/time: parse_rfc3339 on any bytes. Properties: an accepted instant within years 0000..9999
// formats (micros precision) to a string that parses back to the same instant, in UTC and in Asia/Tehran;
// seconds precision rounds towards the past; the formatted form is a fixed point.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/time.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace std::chrono;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = emtiaz::parse_rfc3339(text);
  if (!t) return 0;
  // Outside years 0000..9999 (local time) the formatter clamps, as documented, so there is no round trip
  // to check; a day's margin keeps Tehran's local time inside the range too.
  const emtiaz::Instant lo = sys_days{year{0} / January / 2};
  const emtiaz::Instant hi = sys_days{year{9999} / December / 31};
  if (*t < lo || *t >= hi) return 0;
  for (const char* tz : {"UTC", "Asia/Tehran"}) {
    const std::string micros = emtiaz::format_rfc3339(*t, tz, emtiaz::TimePrecision::micros);
    auto back = emtiaz::parse_rfc3339(micros);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == *t);
    FUZZ_CHECK(emtiaz::format_rfc3339(*back, tz, emtiaz::TimePrecision::micros) == micros);
    auto secs = emtiaz::parse_rfc3339(emtiaz::format_rfc3339(*t, tz));
    FUZZ_CHECK(secs.has_value());
    FUZZ_CHECK(*secs == floor<seconds>(*t));
  }
  return 0;
}
