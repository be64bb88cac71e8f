#pragma once
// Strict reading of JSON request bodies, shared by the gateway's handlers and the domain libraries that
// validate their own fields (tenants, partners). A body that is not JSON is 400 malformed_json; a missing
// field, a field of the wrong type or an unknown member form is 422 invalid_field naming the field; amounts
// that are floats, negative, zero where something must move, or above 10^15 are 422 invalid_amount.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "common/errors.hpp"

namespace emtiaz {

inline constexpr std::int64_t kMaxJsonAmount = 1'000'000'000'000'000;  // 10^15 (api.md, Conventions)
inline constexpr int kMaxJsonDepth = 32;

// Parses an object body (an empty body counts as {} when `allow_empty`). Nesting deeper than
// kMaxJsonDepth is malformed_json; valid JSON that is not an object is invalid_field ("body").
std::variant<nlohmann::json, Problem> parse_json_object(const std::string& body, bool allow_empty = false);

// Reads the members of one JSON object. Each getter returns the value, nullopt when the member is absent
// (or null) and not required, or fills `err`; once `err` is set every later getter returns nullopt and
// leaves it alone, so a run of getters reports the first problem.
struct JsonReader {
  const nlohmann::json& obj;
  std::optional<Problem> err;

  // The member, or nullptr when it is absent or null.
  const nlohmann::json* find(const char* field) const;
  // A string of at most `max_len` bytes; empty is refused only when required.
  std::optional<std::string> string(const char* field, bool required, size_t max_len = 255);
  // A string of 1..max_len bytes: empty is refused even when the member is optional (names).
  std::optional<std::string> text(const char* field, bool required, size_t max_len);
  // Integers only (no floats, no strings); `min`..kMaxJsonAmount; invalid_amount outside.
  std::optional<std::int64_t> amount(const char* field, bool required, std::int64_t min = 1);
  // Any integer in [min, max]; invalid_field outside.
  std::optional<std::int64_t> integer(const char* field, bool required, std::int64_t min, std::int64_t max);
  std::optional<bool> boolean(const char* field, bool required);
  bool ok() const { return !err.has_value(); }

 private:
  // The member when it may be read: nullptr (and `err` when required) when absent, nullptr after an error.
  const nlohmann::json* present(const char* field, bool required);
};

}  // namespace emtiaz
