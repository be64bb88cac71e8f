#pragma once
// Small helpers for writing SQL with Connector/C++: instants as DATETIME(6) in UTC, and multi-row inserts
// bound as prepared statements (one round trip for many rows).
#include <cppconn/connection.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/time.hpp"

namespace emtiaz {

std::string sql_time(Instant t);                    // "2026-11-24 05:25:57.123456" (UTC)
Instant parse_sql_time(const std::string& s);       // the inverse

using SqlValue = std::variant<std::nullptr_t, std::int64_t, std::string>;

class BulkInsert {
 public:
  // `suffix` is appended to the statement, e.g. "ON DUPLICATE KEY UPDATE ...".
  BulkInsert(std::string table, std::vector<std::string> columns, std::string suffix = "");
  void add(std::vector<SqlValue> row);
  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }
  // Executes in chunks; returns the total update count.
  std::int64_t execute(sql::Connection& c, size_t rows_per_statement = 500);

 private:
  std::string table_;
  std::vector<std::string> columns_;
  std::string suffix_;
  std::vector<std::vector<SqlValue>> rows_;
};

}  // namespace emtiaz
