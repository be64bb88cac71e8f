#include "gateway/json_input.hpp"

#include <fmt/format.h>

namespace emtiaz::gateway {
namespace {

int depth_of(const nlohmann::json& j, int limit) {
  if (limit <= 0) return 1;
  int d = 0;
  if (j.is_object() || j.is_array())
    for (const auto& v : j) d = std::max(d, depth_of(v, limit - 1));
  return d + 1;
}

}  // namespace

std::variant<nlohmann::json, Problem> parse_object(const std::string& body, bool allow_empty) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    if (allow_empty) return nlohmann::json::object();
    return problem(Code::malformed_json, "the request body must be a JSON object");
  }
  // Depth is bounded while parsing so that a deeply nested body cannot exhaust the stack.
  int depth = 0;
  bool too_deep = false;
  auto cb = [&](int d, nlohmann::json::parse_event_t ev, nlohmann::json&) {
    if (ev == nlohmann::json::parse_event_t::object_start || ev == nlohmann::json::parse_event_t::array_start) {
      depth = d + 1;
      if (depth > kMaxJsonDepth) too_deep = true;
    }
    return !too_deep;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body, cb, true, false);
  } catch (const nlohmann::json::parse_error& e) {
    if (too_deep) return problem(Code::malformed_json, fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
    return problem(Code::malformed_json, fmt::format("the request body is not valid JSON (byte {})", e.byte));
  }
  if (too_deep || depth_of(j, kMaxJsonDepth + 1) > kMaxJsonDepth)
    return problem(Code::malformed_json, fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
  // Valid JSON of the wrong type is a wrong type, not malformed JSON.
  if (!j.is_object()) return invalid_field("body", "must be a JSON object");
  return j;
}

std::optional<std::string> Reader::string(const char* field, bool required, size_t max_len) {
  if (err) return std::nullopt;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    if (required) err = invalid_field(field, "is required");
    return std::nullopt;
  }
  if (!it->is_string()) {
    err = invalid_field(field, "must be a string");
    return std::nullopt;
  }
  auto s = it->get<std::string>();
  if (required && s.empty()) {
    err = invalid_field(field, "must not be empty");
    return std::nullopt;
  }
  if (s.size() > max_len) {
    err = invalid_field(field, fmt::format("must be at most {} bytes", max_len));
    return std::nullopt;
  }
  return s;
}

std::optional<std::int64_t> Reader::amount(const char* field, bool required, std::int64_t min) {
  if (err) return std::nullopt;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    if (required) err = invalid_field(field, "is required");
    return std::nullopt;
  }
  if (it->is_number_float() || (it->is_number() && !it->is_number_integer())) {
    err = Problem{Code::invalid_amount, fmt::format("{}: must be an integer", field)};
    err->extra["field"] = field;
    return std::nullopt;
  }
  if (!it->is_number()) {
    err = invalid_field(field, "must be an integer");
    return std::nullopt;
  }
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxAmount)) {
    err = Problem{Code::invalid_amount, fmt::format("{}: must be at most 10^15", field)};
    err->extra["field"] = field;
    return std::nullopt;
  }
  auto v = it->get<std::int64_t>();
  if (v < min || v > kMaxAmount) {
    err = Problem{Code::invalid_amount, fmt::format("{}: must be between {} and 10^15", field, min)};
    err->extra["field"] = field;
    return std::nullopt;
  }
  return v;
}

std::optional<std::int64_t> Reader::integer(const char* field, bool required, std::int64_t min, std::int64_t max) {
  if (err) return std::nullopt;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    if (required) err = invalid_field(field, "is required");
    return std::nullopt;
  }
  if (!it->is_number_integer()) {
    err = invalid_field(field, "must be an integer");
    return std::nullopt;
  }
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    err = invalid_field(field, fmt::format("must be between {} and {}", min, max));
    return std::nullopt;
  }
  auto v = it->get<std::int64_t>();
  if (v < min || v > max) {
    err = invalid_field(field, fmt::format("must be between {} and {}", min, max));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Reader::boolean(const char* field, bool required) {
  if (err) return std::nullopt;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    if (required) err = invalid_field(field, "is required");
    return std::nullopt;
  }
  if (!it->is_boolean()) {
    err = invalid_field(field, "must be true or false");
    return std::nullopt;
  }
  return it->get<bool>();
}

}  // namespace emtiaz::gateway
