#include "common/sql_util.hpp"

#include <cppconn/statement.h>
#include <fmt/format.h>

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
  // Text with values escaped as the client library escapes them for utf8mb4 (sql_literal), rather than a
  // server-side prepared statement: one round trip instead of a prepare, an execute and a close.
  std::vector<std::string> out;
  std::string cols;
  for (size_t i = 0; i < columns_.size(); ++i) cols += (i ? "," : "") + columns_[i];
  for (size_t start = 0; start < rows_.size(); start += rows_per_statement) {
    size_t end = std::min(rows_.size(), start + rows_per_statement);
    std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ", table_, cols);
    for (size_t r = start; r < end; ++r) {
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
  std::string sql;
  for (const auto& s : statements) {
    if (!sql.empty()) sql += ";\n";
    sql += s;
  }
  std::unique_ptr<sql::Statement> st(c.createStatement());
  // Each statement gives exactly one result, read in order: the first from execute(), each next one from
  // getMoreResults() (which throws the error of a statement that failed; the server runs none after it).
  // Every result must be read — the last one is the last statement's outcome (e.g. its COMMIT) — before
  // the connection is used again or given back (Connector/C++'s getUpdateCount() cannot tell "no more
  // results" from "a statement without rows" after getMoreResults(), so it is not used to stop).
  for (size_t i = 0; i < statements.size(); ++i) {
    bool is_rows = i == 0 ? st->execute(sql) : st->getMoreResults();
    if (is_rows) out.emplace_back(st->getResultSet());
  }
  return out;
}

void append_escaped(std::string& out, std::string_view s) {
  // What mysql_real_escape_string writes for utf8mb4 on a session without NO_BACKSLASH_ESCAPES (MysqlPool's
  // connections, common/mysql.cpp): a backslash before ' " \ and the names of NUL, LF, CR and Ctrl-Z. Byte by
  // byte is exact for UTF-8: no byte of a multi-byte character is below 0x80, so none is one of these.
  out.reserve(out.size() + s.size() + 16);
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    char e;
    switch (s[i]) {
      case '\0': e = '0'; break;
      case '\n': e = 'n'; break;
      case '\r': e = 'r'; break;
      case '\\': e = '\\'; break;
      case '\'': e = '\''; break;
      case '"': e = '"'; break;
      case '\032': e = 'Z'; break;
      default: continue;
    }
    out.append(s.data() + run, i - run);
    out += '\\';
    out += e;
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
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
  } else {
    // Escaped here rather than by Connector/C++'s escapeString, which allocated twice per value and asked the
    // character set about every byte: a tenth of the wallet's CPU at 1,400 earns/s (docs/performance-log.md,
    // fifteenth session).
    out += '\'';
    append_escaped(out, std::get<std::string>(v));
    out += '\'';
  }
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
