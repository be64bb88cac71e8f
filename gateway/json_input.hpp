#pragma once
// The gateway's names for the shared strict JSON reader (common/json_reader.hpp): handlers parse bodies
// with parse_object and read members with a Reader.
#include <cstdint>

#include "common/json_reader.hpp"

namespace emtiaz::gateway {

inline constexpr std::int64_t kMaxAmount = kMaxJsonAmount;  // 10^15
using emtiaz::kMaxJsonDepth;
using Reader = JsonReader;

inline std::variant<nlohmann::json, Problem> parse_object(const std::string& body, bool allow_empty = false) {
  return parse_json_object(body, allow_empty);
}

}  // namespace emtiaz::gateway
