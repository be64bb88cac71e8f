// gateway/json_input: parse_object on any body, then every Reader getter on every member of the result.
// Properties: an accepted body is a JSON object nested at most kMaxJsonDepth deep that survives a
// dump/parse round trip; a getter's value, when it returns one, respects the bounds it was given.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "gateway/json_input.hpp"

namespace {

using emtiaz::gateway::kMaxAmount;
using emtiaz::gateway::kMaxJsonDepth;
using emtiaz::gateway::parse_object;
using emtiaz::gateway::Reader;

int depth(const nlohmann::json& j) {
  int d = 0;
  if (j.is_structured())
    for (const auto& v : j) d = std::max(d, depth(v));
  return d + (j.is_structured() ? 1 : 0);
}

void read_field(const nlohmann::json& obj, const char* field, std::uint8_t knob) {
  const bool required = knob & 1;
  {
    Reader in{obj, {}};
    const size_t max_len = (knob >> 1) % 3 == 0 ? 255 : (knob >> 1) % 3 == 1 ? 0 : 16;
    auto s = in.string(field, required, max_len);
    FUZZ_CHECK(!(s && in.err));
    if (s) FUZZ_CHECK(s->size() <= max_len && !(required && s->empty()));
    if (required && !s) FUZZ_CHECK(!in.ok());
  }
  {
    Reader in{obj, {}};
    const std::int64_t min = knob & 2 ? 0 : 1;
    auto v = in.amount(field, required, min);
    FUZZ_CHECK(!(v && in.err));
    if (v) FUZZ_CHECK(*v >= min && *v <= kMaxAmount);
  }
  {
    Reader in{obj, {}};
    const std::int64_t min = knob & 4 ? INT64_MIN : -5;
    const std::int64_t max = knob & 8 ? INT64_MAX : 100;
    auto v = in.integer(field, required, min, max);
    FUZZ_CHECK(!(v && in.err));
    if (v) FUZZ_CHECK(*v >= min && *v <= max);
  }
  {
    Reader in{obj, {}};
    auto b = in.boolean(field, required);
    FUZZ_CHECK(!(b && in.err));
    if (b) FUZZ_CHECK(obj.at(field).is_boolean());
  }
  {
    // A Reader stops at its first error: later getters leave it untouched and return nothing.
    Reader in{obj, {}};
    (void)in.string(field, true, 0);
    (void)in.amount(field, true);
    (void)in.integer(field, false, 0, 1);
    (void)in.boolean(field, true);
    if (!in.ok()) FUZZ_CHECK(!in.amount(field, false).has_value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  for (bool allow_empty : {false, true}) {
    auto parsed = parse_object(body, allow_empty);
    auto* obj = std::get_if<nlohmann::json>(&parsed);
    if (!obj) {
      // Not JSON (or nested too deep): 400 malformed_json; JSON of another type than object: 422
      // invalid_field naming "body".
      const auto& p = std::get<emtiaz::Problem>(parsed);
      FUZZ_CHECK(p.code == emtiaz::Code::malformed_json ||
                 (p.code == emtiaz::Code::invalid_field && p.extra.value("field", "") == "body"));
      if (p.code == emtiaz::Code::invalid_field) {
        auto j = nlohmann::json::parse(body, nullptr, false);
        FUZZ_CHECK(!j.is_discarded() && !j.is_object());
      }
      continue;
    }
    FUZZ_CHECK(obj->is_object());
    FUZZ_CHECK(depth(*obj) <= kMaxJsonDepth);
    // The parser validated the UTF-8 of every string, so a strict dump must not throw and must read back.
    FUZZ_CHECK(nlohmann::json::parse(obj->dump()) == *obj);
    if (allow_empty) continue;  // the getters were already exercised on this object

    std::vector<std::string> fields;
    for (const auto& item : obj->items()) fields.push_back(item.key());
    fields.insert(fields.end(), {"points", "amount_irr", "member", "", "receipt_id", "active"});
    std::uint8_t knob = size ? data[size - 1] : 0;
    for (const auto& f : fields) read_field(*obj, f.c_str(), knob++);
  }
  return 0;
}
