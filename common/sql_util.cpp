#include "common/sql_util.hpp"

#include <cppconn/prepared_statement.h>
#include <fmt/format.h>

#include <memory>

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

std::int64_t BulkInsert::execute(sql::Connection& c, size_t rows_per_statement) {
  std::int64_t total = 0;
  std::string cols;
  std::string tuple = "(";
  for (size_t i = 0; i < columns_.size(); ++i) {
    cols += (i ? "," : "") + columns_[i];
    tuple += i ? ",?" : "?";
  }
  tuple += ")";
  for (size_t start = 0; start < rows_.size(); start += rows_per_statement) {
    size_t end = std::min(rows_.size(), start + rows_per_statement);
    std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ", table_, cols);
    for (size_t r = start; r < end; ++r) sql += (r > start ? "," : "") + tuple;
    if (!suffix_.empty()) sql += " " + suffix_;
    std::unique_ptr<sql::PreparedStatement> st(c.prepareStatement(sql));
    unsigned idx = 1;
    for (size_t r = start; r < end; ++r) {
      for (const auto& v : rows_[r]) {
        if (std::holds_alternative<std::nullptr_t>(v)) {
          st->setNull(idx, 0);
        } else if (auto* i = std::get_if<std::int64_t>(&v)) {
          st->setInt64(idx, *i);
        } else {
          st->setString(idx, std::get<std::string>(v));
        }
        ++idx;
      }
    }
    total += st->executeUpdate();
  }
  return total;
}

}  // namespace emtiaz
