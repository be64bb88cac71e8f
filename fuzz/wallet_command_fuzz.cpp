// wallet/command: Command::from_json and Reply::from_json on any JSON document (the bytes of a Kafka
// message, parsed the way the wallet and the command client parse them). Properties: a malformed message
// is nullopt, never an exception or a crash; an accepted one re-serialises to a message that is read back
// to the same serialisation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.hpp"
#include "wallet/command.hpp"

using emtiaz::wallet::Command;
using emtiaz::wallet::Reply;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;

  if (auto c = Command::from_json(j)) {
    const auto out = c->to_json();
    auto again = Command::from_json(out);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->to_json() == out);
    FUZZ_CHECK(emtiaz::wallet::parse_command_type(emtiaz::wallet::to_string(c->type)) == c->type);
  }
  if (auto r = Reply::from_json(j)) {
    const auto out = r->to_json();
    auto again = Reply::from_json(out);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->command_id == r->command_id && again->status == r->status && again->body == r->body &&
               again->replayed == r->replayed);
  }
  return 0;
}
