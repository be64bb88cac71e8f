// gateway/pagination: decode_cursor and base64url_decode on any bytes. Properties: decoding is the exact
// inverse of encoding (each byte string and each position has exactly one text form), and a cursor of one
// kind never decodes as another kind's; encoding arbitrary bytes/positions round-trips.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.hpp"
#include "gateway/pagination.hpp"

using namespace emtiaz::gateway;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto raw = base64url_decode(text)) FUZZ_CHECK(base64url_encode(*raw) == text);
  FUZZ_CHECK(base64url_decode(base64url_encode(text)) == std::string(text));

  for (std::string_view kind : {"p", "m", "s", "tx"}) {
    if (auto pos = decode_cursor(kind, text)) {
      FUZZ_CHECK(*pos >= 0);
      FUZZ_CHECK(encode_cursor(kind, *pos) == text);
      for (std::string_view other : {"p", "m", "s", "tx"})
        if (other != kind) FUZZ_CHECK(!decode_cursor(other, text).has_value());
    }
  }

  // Use the first eight bytes as a position to check the encoding side as well.
  if (size >= 8) {
    std::int64_t v;
    std::memcpy(&v, data, sizeof v);
    if (v < 0) v = -(v + 1);  // every non-negative int64, INT64_MAX included
    FUZZ_CHECK(decode_cursor("p", encode_cursor("p", v)) == v);
  }
  return 0;
}
