// points/points_json: a member's stored points state (MySQL member_states, the Redis cache) read from any
// JSON document. from_json throws on a malformed document (the documented contract: a bad stored state is a
// storage fault the caller catches), and must never crash or invoke undefined behaviour. Properties: an
// accepted state serialises to a document that is read back to the same serialisation, and the wallet's
// wrapper (wallet::state_from_json) accepts or rejects the same way.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "fuzz/fuzz_check.hpp"
#include "points/points_json.hpp"
#include "wallet/views.hpp"

using emtiaz::points::MemberState;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;

  MemberState state;
  try {
    state = j.get<MemberState>();
  } catch (const std::exception&) {
    return 0;  // rejected, as it must be
  }
  const nlohmann::json out = state;
  MemberState again;
  try {
    again = out.get<MemberState>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "re-reading a serialised state threw: %s\n", e.what());
    FUZZ_CHECK(false);
  }
  FUZZ_CHECK(nlohmann::json(again) == out);

  // The wallet's envelope around the same state.
  try {
    auto w = emtiaz::wallet::state_from_json(nlohmann::json{{"points", j}});
    FUZZ_CHECK(nlohmann::json(w.points) == out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wallet::state_from_json rejected a state points::from_json accepts: %s\n", e.what());
    FUZZ_CHECK(false);
  }
  return 0;
}
