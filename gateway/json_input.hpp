#pragma once
// Strict reading of request bodies: a body that is not JSON is 400 malformed_json; a missing field, a field
// of the wrong type or an unknown member form is 422 invalid_field naming the field; amounts that are
// floats, negative, zero where something must move, or above 10^15 are 422 invalid_amount.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "common/errors.hpp"

namespace emtiaz::gateway {

inline constexpr std::int64_t kMaxAmount = 1'000'000'000'000'000;  // 10^15
inline constexpr int kMaxJsonDepth = 32;

// Parses an object body (an empty body counts as {} when `allow_empty`).
std::variant<nlohmann::json, Problem> parse_object(const std::string& body, bool allow_empty = false);

// Each getter returns the value, nullopt when absent and not required, or fills `err`.
struct Reader {
  const nlohmann::json& obj;
  std::optional<Problem> err;

  std::optional<std::string> string(const char* field, bool required, size_t max_len = 255);
  // Integers only (no floats, no strings); `min`..kMaxAmount; invalid_amount outside.
  std::optional<std::int64_t> amount(const char* field, bool required, std::int64_t min = 1);
  // Any integer in [min, max]; invalid_field outside.
  std::optional<std::int64_t> integer(const char* field, bool required, std::int64_t min, std::int64_t max);
  std::optional<bool> boolean(const char* field, bool required);
  bool ok() const { return !err.has_value(); }
};

}  // namespace emtiaz::gateway
