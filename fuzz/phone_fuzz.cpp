// common/phone: normalize_iranian_mobile on any bytes. Properties: an answer is E.164 "+989" followed by
// nine digits, is itself accepted and unchanged (idempotence), and its national form "09..." gives it back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/phone.hpp"
#include "fuzz/fuzz_check.hpp"

namespace {

bool is_e164_iranian_mobile(const std::string& s) {
  if (s.size() != 13 || s.compare(0, 4, "+989") != 0) return false;
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto e164 = emtiaz::normalize_iranian_mobile(input);
  if (!e164) return 0;
  FUZZ_CHECK(is_e164_iranian_mobile(*e164));
  FUZZ_CHECK(emtiaz::normalize_iranian_mobile(*e164) == e164);
  FUZZ_CHECK(emtiaz::normalize_iranian_mobile("0" + e164->substr(3)) == e164);
  return 0;
}
