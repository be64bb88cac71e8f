#include "gateway/pagination.hpp"

#include <charconv>

namespace emtiaz::gateway {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Strict decimal: digits only, no sign, no leading zeros (so each position has exactly one cursor).
std::optional<std::int64_t> parse_decimal(std::string_view s, std::int64_t min, std::int64_t max) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  if (s[0] < '0' || s[0] > '9') return std::nullopt;  // no sign: from_chars would accept a leading '-'
  std::int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v < min || v > max) return std::nullopt;
  return v;
}

}  // namespace

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value_of(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero, so that every byte string has exactly one encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string encode_cursor(std::string_view kind, std::int64_t position) {
  return base64url_encode(std::string(kind) + ":" + std::to_string(position));
}

std::optional<std::int64_t> decode_cursor(std::string_view kind, std::string_view cursor) {
  if (cursor.empty() || cursor.size() > 64) return std::nullopt;
  auto raw = base64url_decode(cursor);
  if (!raw || raw->size() <= kind.size() + 1 || raw->compare(0, kind.size(), kind) != 0 || (*raw)[kind.size()] != ':')
    return std::nullopt;
  return parse_decimal(std::string_view(*raw).substr(kind.size() + 1), 0, INT64_MAX);
}

std::variant<ListParams, Problem> parse_list_params(const HttpRequest& req, std::string_view kind) {
  ListParams out;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    auto v = parse_decimal(it->second, 1, kMaxListLimit);
    if (!v) return invalid_field("limit", "must be an integer between 1 and 100");
    out.limit = static_cast<int>(*v);
  }
  // An empty cursor ("?cursor=") is the first page, which is what a client loop starting from "" means.
  if (auto it = req.query.find("cursor"); it != req.query.end() && !it->second.empty()) {
    auto v = decode_cursor(kind, it->second);
    if (!v) return invalid_field("cursor", "is not a cursor of this list");
    out.position = v;
  }
  return out;
}

}  // namespace emtiaz::gateway
