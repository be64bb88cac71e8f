#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace emtiaz::wallet {

// Reads a text the wallet itself wrote (a state, a balance view, a reply) left to right: each step consumes what it
// expects or fails and leaves the caller to read the text through the JSON tree instead. Only the shapes the
// wallet's writers produce are accepted: no spaces, the writers' key order, integers as JSON writes them.
struct TextReader {
  std::string_view rest;

  bool literal(std::string_view s) {
    if (rest.substr(0, s.size()) != s) return false;
    rest.remove_prefix(s.size());
    return true;
  }

  // An integer as JSON writes it: 0 or digits without a leading zero, after a minus for a signed T (not -0);
  // nullopt beyond T's range.
  template <class T>
  std::optional<T> number() {
    size_t n = std::is_signed_v<T> && !rest.empty() && rest[0] == '-' ? 1 : 0;
    const size_t first = n;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == first || (rest[first] == '0' && n - first > 1) || (first == 1 && rest[1] == '0')) return std::nullopt;
    T v = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + n, v);
    if (ec != std::errc() || end != rest.data() + n) return std::nullopt;  // out of range
    rest.remove_prefix(n);
    return v;
  }
  std::optional<std::int64_t> integer() { return number<std::int64_t>(); }
  std::optional<std::uint64_t> unsigned_integer() { return number<std::uint64_t>(); }

  bool boolean(bool& out) {
    if (literal("true")) return out = true, true;
    if (literal("false")) return out = false, true;
    return false;
  }

  // A string of printable ASCII without quotes or backslashes, i.e. one append_json_string writes without escapes.
  bool plain_string(std::string& out) {
    if (rest.empty() || rest[0] != '"') return false;
    size_t n = 1;
    for (; n < rest.size(); ++n) {
      const auto c = static_cast<unsigned char>(rest[n]);
      if (c == '"') break;
      if (c < 0x20 || c >= 0x7f || c == '\\') return false;
    }
    if (n == rest.size()) return false;
    out.assign(rest.data() + 1, n - 1);
    rest.remove_prefix(n + 1);
    return true;
  }

  // A JSON string of ASCII as append_json_string writes it, unescaped into `out`; false for anything else (other
  // escapes, \u beyond 00xx, bytes above 0x7f or below 0x20, no closing quote).
  bool ascii_string(std::string& out) {
    if (rest.empty() || rest[0] != '"') return false;
    out.clear();
    size_t i = 1, run = 1;
    auto hexval = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (; i < rest.size(); ++i) {
      const auto c = static_cast<unsigned char>(rest[i]);
      if (c == '"') break;
      if (c < 0x20 || c >= 0x80) return false;
      if (c != '\\') continue;
      out.append(rest.data() + run, i - run);
      if (++i == rest.size()) return false;
      switch (rest[i]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (rest.size() - i < 5 || rest[i + 1] != '0' || rest[i + 2] != '0') return false;
          const int hi = hexval(rest[i + 3]), lo = hexval(rest[i + 4]);
          if (hi < 0 || lo < 0 || hi > 7) return false;
          out += static_cast<char>(hi * 16 + lo);
          i += 4;
          break;
        }
        default: return false;
      }
      run = i + 1;
    }
    if (i == rest.size()) return false;
    out.append(rest.data() + run, i - run);
    rest.remove_prefix(i + 1);
    return true;
  }
};

}  // namespace emtiaz::wallet
