#include "common/sql_util.hpp"

#include <cppconn/statement.h>
#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace emtiaz {

std::string sql_time(Instant t) {
  auto days = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd{days};
  auto tod = std::chrono::hh_mm_ss<std::chrono::microseconds>(t - days);
  return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}.{:06d}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), tod.hours().count(),
                     tod.minutes().count(), tod.seconds().count(), tod.subseconds().count());
}

Instant parse_sql_time(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  long micros = 0;
  char frac[16] = {0};
  int n = std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%d.%15[0-9]", &y, &mo, &d, &h, &mi, &sec, frac);
  if (n >= 7) {
    std::string f(frac);
    f.resize(6, '0');
    micros = std::stol(f);
  }
  auto days = std::chrono::sys_days{std::chrono::year{y} / mo / d};
  return std::chrono::time_point_cast<std::chrono::microseconds>(days) + std::chrono::hours(h) +
         std::chrono::minutes(mi) + std::chrono::seconds(sec) + std::chrono::microseconds(micros);
}

BulkInsert::BulkInsert(std::string table, std::vector<std::string> columns, std::string suffix)
    : table_(std::move(table)), columns_(std::move(columns)), suffix_(std::move(suffix)) {}

void BulkInsert::add(std::vector<SqlValue> row) { rows_.push_back(std::move(row)); }

std::vector<std::string> BulkInsert::statements(sql::Connection& c, size_t rows_per_statement) const {
  // Text with values escaped (sql_literal), rather than a server-side prepared statement: one round trip
  // instead of a prepare, an execute and a close.
  std::vector<std::string> out;
  std::string cols;
  for (size_t i = 0; i < columns_.size(); ++i) cols += (i ? "," : "") + columns_[i];
  // A statement also ends once its text passes kMaxQueryBytes (after at least one row), so that large rows
  // never make one bigger than the server takes (execute_multi).
  for (size_t start = 0; start < rows_.size();) {
    const size_t end = std::min(rows_.size(), start + rows_per_statement);
    std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ", table_, cols);
    size_t r = start;
    for (; r < end && (r == start || sql.size() < kMaxQueryBytes); ++r) {
      sql += r > start ? ",(" : "(";
      bool first = true;
      for (const auto& v : rows_[r]) {
        if (!first) sql += ',';
        first = false;
        sql_literal(c, v, sql);
      }
      sql += ')';
    }
    if (!suffix_.empty()) sql += " " + suffix_;
    out.push_back(std::move(sql));
    start = r;
  }
  return out;
}

std::int64_t BulkInsert::execute(sql::Connection& c, size_t rows_per_statement) {
  std::int64_t total = 0;
  std::unique_ptr<sql::Statement> st(c.createStatement());
  for (const auto& sql : statements(c, rows_per_statement)) total += st->executeUpdate(sql);
  return total;
}

std::vector<std::unique_ptr<sql::ResultSet>> execute_multi(sql::Connection& c, const std::vector<std::string>& statements) {
  std::vector<std::unique_ptr<sql::ResultSet>> out;
  if (statements.empty()) return out;
  std::unique_ptr<sql::Statement> st(c.createStatement());
  // One query, or as few as keep each under kMaxQueryBytes: a query longer than the server's
  // max_allowed_packet is refused whole and the connection dropped, and a batch retried as it was would be
  // refused for ever (a member state of a year of lots made 150 KB per row: docs/performance-log.md,
  // thirty-second session). A statement longer than that on its own goes alone.
  for (size_t from = 0; from < statements.size();) {
    std::string sql = statements[from];
    size_t to = from + 1;
    for (; to < statements.size() && sql.size() + 2 + statements[to].size() <= kMaxQueryBytes; ++to) {
      sql += ";\n";
      sql += statements[to];
    }
    // Each statement gives exactly one result, read in order: the first from execute(), each next one from
    // getMoreResults() (which throws the error of a statement that failed; the server runs none after it, and
    // no later query is sent). Every result must be read — the last one is the last statement's outcome (e.g.
    // its COMMIT) — before the connection is used again or given back (Connector/C++'s getUpdateCount() cannot
    // tell "no more results" from "a statement without rows" after getMoreResults(), so it is not used to stop).
    for (size_t i = from; i < to; ++i) {
      bool is_rows = i == from ? st->execute(sql) : st->getMoreResults();
      if (is_rows) out.emplace_back(st->getResultSet());
    }
    from = to;
  }
  return out;
}

namespace {

// The escape letter for a byte that needs a backslash before it in a quoted literal, else 0.
char escape_letter(char c) {
  switch (c) {
    case '\0': return '0';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\\': return '\\';
    case '\'': return '\'';
    case '\032': return 'Z';
    default: return 0;
  }
}

// Whether any of the eight bytes of `w` may need escaping: a byte below 0x20 (NUL, LF, CR and Ctrl-Z among
// them), a backslash or a single quote. Exact for "none" (the classic has-zero-byte and has-less-than tests);
// a word it flags is then looked at byte by byte.
bool may_need_escaping(std::uint64_t w) {
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  const std::uint64_t backslash = w ^ (ones * 0x5C), quote = w ^ (ones * 0x27);
  const std::uint64_t below_space = (w - ones * 0x20) & ~w;
  const std::uint64_t zero_backslash = (backslash - ones) & ~backslash;
  const std::uint64_t zero_quote = (quote - ones) & ~quote;
  return ((below_space | zero_backslash | zero_quote) & highs) != 0;
}

}  // namespace

void append_escaped(std::string& out, std::string_view s) {
  // What mysql_real_escape_string writes for utf8mb4 on a session without NO_BACKSLASH_ESCAPES (MysqlPool's
  // connections, common/mysql.cpp), but for the double quote: a backslash before ' and \ and the names of NUL,
  // LF, CR and Ctrl-Z. Byte by byte is exact for UTF-8: no byte of a multi-byte character is below 0x80, so
  // none is one of these. A double quote is an ordinary character inside a single-quoted literal, whatever
  // the sql_mode (ANSI_QUOTES makes it quote identifiers, not end a '...' string), so it is left as it is: the
  // wallet's JSON has two in every key, and a literal without any backslash is one the server takes as it is,
  // where each backslash makes it copy the literal again, character by character (Lex_input_stream::unescape;
  // docs/performance-log.md, thirty-second session). Eight bytes are looked at a time; most words need nothing.
  out.reserve(out.size() + s.size() + 16);
  const char* p = s.data();
  const char* const end = p + s.size();
  const char* run = p;  // start of the bytes not yet copied
  auto one = [&](const char* at) {
    if (char e = escape_letter(*at)) {
      out.append(run, static_cast<size_t>(at - run));
      out += '\\';
      out += e;
      run = at + 1;
    }
  };
  for (; end - p >= 8; p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if (may_need_escaping(w))
      for (int k = 0; k < 8; ++k) one(p + k);
  }
  for (; p < end; ++p) one(p);
  out.append(run, static_cast<size_t>(end - run));
}

std::optional<std::string> without_sql_mode(std::string_view modes, std::string_view mode) {
  std::string kept;
  bool found = false;
  while (!modes.empty()) {
    const auto comma = modes.find(',');
    const auto item = modes.substr(0, comma);
    modes = comma == std::string_view::npos ? std::string_view() : modes.substr(comma + 1);
    if (item == mode) {
      found = true;
    } else if (!item.empty()) {
      if (!kept.empty()) kept += ',';
      kept += item;
    }
  }
  if (!found) return std::nullopt;
  return kept;
}

void sql_literal(sql::Connection&, const SqlValue& v, std::string& out) {
  if (std::holds_alternative<std::nullptr_t>(v)) {
    out += "NULL";
  } else if (auto* i = std::get_if<std::int64_t>(&v)) {
    out += std::to_string(*i);
  } else if (auto* b = std::get_if<SqlBytes>(&v)) {
    append_hex_literal(out, b->bytes);
  } else {
    // Escaped here rather than by Connector/C++'s escapeString, which allocated twice per value and asked the
    // character set about every byte: a tenth of the wallet's CPU at 1,400 earns/s (docs/performance-log.md,
    // fifteenth session).
    out += '\'';
    append_escaped(out, std::get<std::string>(v));
    out += '\'';
  }
}

void append_hex_literal(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  const size_t at = out.size();
  out.resize(at + 3 + 2 * bytes.size());
  char* p = out.data() + at;
  *p++ = 'X';
  *p++ = '\'';
  for (unsigned char b : bytes) {
    *p++ = kDigits[b >> 4];
    *p++ = kDigits[b & 15];
  }
  *p = '\'';
}

std::string sql_literal_list(sql::Connection& c, const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    sql_literal(c, values[i], out);
  }
  return out;
}

}  // namespace emtiaz
