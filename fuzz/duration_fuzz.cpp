// common/time: parse_iso_duration on any bytes. Properties: the fields of an accepted duration are >= 0,
// the text uses the grammar's characters only, and its canonical form parses back to the same value and
// is a fixed point of format(parse(.)).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/time.hpp"
#include "fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = emtiaz::parse_iso_duration(text);
  if (!d) return 0;
  FUZZ_CHECK(d->years >= 0 && d->months >= 0 && d->days >= 0 && d->hours >= 0 && d->minutes >= 0 && d->seconds >= 0);
  FUZZ_CHECK(text.find_first_not_of("P0123456789YMWDTHS") == std::string_view::npos);
  const std::string canonical = emtiaz::format_iso_duration(*d);
  auto again = emtiaz::parse_iso_duration(canonical);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *d);
  FUZZ_CHECK(emtiaz::format_iso_duration(*again) == canonical);
  // Without weeks, and written canonically (no leading zeros, no zero components), the text is its own form.
  if (text == canonical) FUZZ_CHECK(text.find('W') == std::string_view::npos);
  return 0;
}
