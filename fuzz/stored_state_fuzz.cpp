// wallet/stored_state: member_states.state as stored (a JSON text, or deflated behind 0x01 in a padded slot) read
// from any bytes, as a damaged row would give them. Reading throws on what is not a state and must never crash or
// invoke undefined behaviour (the length in the header is not trusted). Properties: a value that decodes is
// re-encoded, in any slot, to one that decodes to the same text; read_state_text accepts a deflated value exactly
// when it accepts the text inside, and refuses a value deflated twice.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>

#include "fuzz/fuzz_check.hpp"
#include "wallet/stored_state.hpp"
#include "wallet/views.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string stored(reinterpret_cast<const char*>(data), size);
  std::string text;
  try {
    text = emtiaz::wallet::decode_stored_text(stored);
  } catch (const std::exception&) {
    return 0;  // refused, as it must be
  }
  for (std::size_t previous : {std::size_t{0}, stored.size(), stored.size() + 1000}) {
    const auto again = emtiaz::wallet::encode_stored_state(text, previous);
    FUZZ_CHECK(emtiaz::wallet::is_deflated(again));
    FUZZ_CHECK(emtiaz::wallet::decode_stored_text(again) == text);
  }
  auto read = [](const std::string& s) -> std::optional<std::string> {
    try {
      return emtiaz::wallet::state_text(emtiaz::wallet::read_state_text(s));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  if (emtiaz::wallet::is_deflated(stored)) {
    if (emtiaz::wallet::is_deflated(text)) {
      FUZZ_CHECK(!read(stored));  // deflated twice: inflated once, then refused, never recursed into
    } else {
      FUZZ_CHECK(read(stored) == read(text));
    }
  }
  return 0;
}
