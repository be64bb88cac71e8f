#include "common/json_reader.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace emtiaz {
namespace {

int depth_of(const nlohmann::json& j, int limit) {
  if (limit <= 0) return 1;
  int d = 0;
  if (j.is_object() || j.is_array())
    for (const auto& v : j) d = std::max(d, depth_of(v, limit - 1));
  return d + 1;
}

Problem invalid_amount(const char* field, std::string why) {
  Problem p{Code::invalid_amount, fmt::format("{}: {}", field, why)};
  p.extra["field"] = field;
  return p;
}

}  // namespace

std::variant<nlohmann::json, Problem> parse_json_object(const std::string& body, bool allow_empty) {
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
  } catch (const nlohmann::json::out_of_range&) {
    // A number beyond what a double holds (e.g. 1e400): nlohmann reports it as out_of_range, not parse_error.
    return problem(Code::malformed_json, "the request body is not valid JSON (a number is out of range)");
  }
  if (too_deep || depth_of(j, kMaxJsonDepth + 1) > kMaxJsonDepth)
    return problem(Code::malformed_json, fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
  // Valid JSON of the wrong type is a wrong type, not malformed JSON.
  if (!j.is_object()) return invalid_field("body", "must be a JSON object");
  return j;
}

const nlohmann::json* JsonReader::find(const char* field) const {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const nlohmann::json* JsonReader::present(const char* field, bool required) {
  if (err) return nullptr;
  auto* v = find(field);
  if (!v && required) err = invalid_field(field, "is required");
  return v;
}

std::optional<std::string> JsonReader::string(const char* field, bool required, size_t max_len) {
  auto* v = present(field, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    err = invalid_field(field, "must be a string");
    return std::nullopt;
  }
  auto s = v->get<std::string>();
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

std::optional<std::string> JsonReader::text(const char* field, bool required, size_t max_len) {
  auto s = string(field, required, max_len);
  if (s && s->empty()) {
    err = invalid_field(field, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<std::int64_t> JsonReader::amount(const char* field, bool required, std::int64_t min) {
  auto* v = present(field, required);
  if (!v) return std::nullopt;
  if (v->is_number_float() || (v->is_number() && !v->is_number_integer())) {
    err = invalid_amount(field, "must be an integer");
    return std::nullopt;
  }
  if (!v->is_number()) {
    err = invalid_field(field, "must be an integer");
    return std::nullopt;
  }
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxJsonAmount)) {
    err = invalid_amount(field, "must be at most 10^15");
    return std::nullopt;
  }
  auto n = v->get<std::int64_t>();
  if (n < min || n > kMaxJsonAmount) {
    err = invalid_amount(field, fmt::format("must be between {} and 10^15", min));
    return std::nullopt;
  }
  return n;
}

std::optional<std::int64_t> JsonReader::integer(const char* field, bool required, std::int64_t min, std::int64_t max) {
  auto* v = present(field, required);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) {
    err = invalid_field(field, "must be an integer");
    return std::nullopt;
  }
  const bool too_big = v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(max);
  if (too_big || v->get<std::int64_t>() < min || v->get<std::int64_t>() > max) {
    err = invalid_field(field, fmt::format("must be between {} and {}", min, max));
    return std::nullopt;
  }
  return v->get<std::int64_t>();
}

std::optional<bool> JsonReader::boolean(const char* field, bool required) {
  auto* v = present(field, required);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    err = invalid_field(field, "must be true or false");
    return std::nullopt;
  }
  return v->get<bool>();
}

}  // namespace emtiaz
