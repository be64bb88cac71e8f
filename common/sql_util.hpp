#pragma once
// Small helpers for writing SQL with Connector/C++: instants as DATETIME(6) in UTC, and multi-row inserts
// sent as one text statement (one round trip for many rows).
#include <cppconn/connection.h>
#include <cppconn/resultset.h>

#include <memory>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/time.hpp"

namespace emtiaz {

std::string sql_time(Instant t);                    // "2026-11-24 05:25:57.123456" (UTC)
Instant parse_sql_time(const std::string& s);       // the inverse

// Bytes for a binary column (BLOB), written as a hexadecimal literal X'…'. A deflated member state
// (wallet/stored_state.hpp) has a byte to escape every ~40, and MariaDB reads a quoted literal with a backslash in
// it again character by character, through the connection's character set: measured on the benchmark's MariaDB,
// batches of 20 such ~1 KB values took the server 575–655 µs each as escaped literals, 390–430 µs as hexadecimal
// ones, and 495–510 µs as _binary'…' (docs/performance-log.md, thirty-ninth session). For text the two were alike.
struct SqlBytes {
  std::string bytes;
};

using SqlValue = std::variant<std::nullptr_t, std::int64_t, std::string, SqlBytes>;

// Appends `v` to `out` as an SQL literal: NULL, a number, a string single-quoted and escaped (append_escaped:
// as the client library escapes for utf8mb4, a double quote aside), or bytes as X'…'. For statements sent as text
// in one round trip, on a connection of a MysqlPool (its sessions never have NO_BACKSLASH_ESCAPES, under which a
// backslash is not an escape).
void sql_literal(sql::Connection& c, const SqlValue& v, std::string& out);
// Appends `X'…'`: the bytes in hexadecimal digits (upper case), two per byte.
void append_hex_literal(std::string& out, std::string_view bytes);
// Appends `s` escaped for a single-quoted string literal: byte for byte what mysql_real_escape_string writes
// for utf8mb4 on a session without NO_BACKSLASH_ESCAPES, except that a double quote is left as it is (it ends
// no single-quoted literal, and a literal without backslashes costs the server less to read).
void append_escaped(std::string& out, std::string_view s);
// `modes` (an sql_mode value, comma-separated) without `mode`; nullopt when it is not there.
std::optional<std::string> without_sql_mode(std::string_view modes, std::string_view mode);
// "'a','b',..." for an IN (...) list.
std::string sql_literal_list(sql::Connection& c, const std::vector<std::string>& values);

// The longest text query sent at once (execute_multi) and past which a BulkInsert statement ends: well under
// MariaDB's default max_allowed_packet (16 MiB), which refuses a longer one whole.
inline constexpr size_t kMaxQueryBytes = 4u << 20;

// Sends `statements` as one text query (the connection must accept multi-statements, see
// MysqlPool::enable_multi_statements): one round trip, or as few as keep each query under kMaxQueryBytes. Each
// element must be exactly one statement (no ';').
// Returns the result sets of those that return rows, in order, once every statement's result is read (so
// a trailing COMMIT has succeeded when it returns); throws sql::SQLException at the first failing statement
// (the server runs none after it).
std::vector<std::unique_ptr<sql::ResultSet>> execute_multi(sql::Connection& c, const std::vector<std::string>& statements);

class BulkInsert {
 public:
  // `suffix` is appended to the statement, e.g. "ON DUPLICATE KEY UPDATE ...".
  BulkInsert(std::string table, std::vector<std::string> columns, std::string suffix = "");
  void add(std::vector<SqlValue> row);
  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }
  // Executes in chunks; returns the total update count.
  std::int64_t execute(sql::Connection& c, size_t rows_per_statement = 500);
  // The statements execute() would send (none when empty), for sending with others in one round trip: at most
  // rows_per_statement rows each, and no more once the text passes kMaxQueryBytes.
  std::vector<std::string> statements(sql::Connection& c, size_t rows_per_statement = 500) const;

 private:
  std::string table_;
  std::vector<std::string> columns_;
  std::string suffix_;
  std::vector<std::vector<SqlValue>> rows_;
};

}  // namespace emtiaz
