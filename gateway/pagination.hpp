#pragma once
// Lists: `limit` (default 20, 1..100) and an opaque `cursor` (api.md, Conventions). A cursor is the
// base64url (no padding) of "<kind>:<position>", e.g. "p:1234" for the partner with seq 1234: opaque to
// clients, but tagged so that a cursor of one list cannot be replayed against another.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/errors.hpp"
#include "common/http_server.hpp"

namespace emtiaz::gateway {

inline constexpr int kDefaultListLimit = 20;
inline constexpr int kMaxListLimit = 100;

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// `kind` is a short tag such as "p" (partners); `position` a non-negative integer.
std::string encode_cursor(std::string_view kind, std::int64_t position);
// nullopt for anything that is not a cursor of `kind` produced by encode_cursor.
std::optional<std::int64_t> decode_cursor(std::string_view kind, std::string_view cursor);

struct ListParams {
  int limit = kDefaultListLimit;
  std::optional<std::int64_t> position;  // decoded cursor; nullopt = first page
};

// Reads `limit` and `cursor` from the query: a limit that is not an integer in 1..100, or a cursor that
// does not decode, is 422 invalid_field naming the parameter.
std::variant<ListParams, Problem> parse_list_params(const HttpRequest& req, std::string_view kind);

}  // namespace emtiaz::gateway
