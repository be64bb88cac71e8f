// Strings in text statements (common/sql_util.hpp) against the suite's MariaDB: append_escaped writes byte for
// byte what the client library's escaping writes, but for the double quote, which it leaves as it is; and
// every string — each ASCII byte, Persian, emoji, JSON with
// its own escapes, random mixes — comes back from the server as it was sent, through BulkInsert and in a WHERE.
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <gtest/gtest.h>
#include <mysql_connection.h>

#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/mysql.hpp"
#include "common/sql_util.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

// Every ASCII byte alone and between letters, the characters that need escaping in pairs, text the product
// stores, and random mixes of all of them with multi-byte characters.
std::vector<std::string> corpus() {
  std::vector<std::string> out;
  for (int b = 0; b < 128; ++b) {
    out.emplace_back(1, static_cast<char>(b));
    out.push_back("a" + std::string(1, static_cast<char>(b)) + "z");
  }
  const std::vector<std::string> pieces = {"'", "\"", "\\", std::string(1, '\0'), "\n", "\r", "\032", "\t",
                                           "%", "_", "امتیاز", "۱۲۳", "😀", "é", "x", " ", ";", "--"};
  for (const auto& a : pieces)
    for (const auto& b : pieces) out.push_back(a + b);
  out.push_back(R"({"note":"a \"quoted\" word, a back\\slash and \u0000","name":"علی"})");
  out.push_back(std::string(5000, '\''));
  std::mt19937 rng(20261205);
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1), len(1, 400);
  for (int i = 0; i < 200; ++i) {
    std::string s;
    for (size_t n = len(rng); n > 0; --n) s += pieces[pick(rng)];
    out.push_back(std::move(s));
  }
  std::set<std::string> unique(out.begin(), out.end());
  return {unique.begin(), unique.end()};
}

// The client library's escaping with its `\"` written back as `"`: a backslash it writes is always followed by
// the letter it escapes, so the pairs are read from the left.
std::string without_escaped_double_quotes(const std::string& escaped) {
  std::string out;
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '\\' && i + 1 < escaped.size()) {
      if (escaped[i + 1] != '"') out += '\\';
      out += escaped[++i];
    } else {
      out += escaped[i];
    }
  }
  return out;
}

// Reads the table's rows (`id`, `v`) and expects each to hold values[id], and one row for every value.
void expect_rows_hold(sql::Statement& st, const std::string& table, const std::vector<std::string>& values) {
  std::unique_ptr<sql::ResultSet> rs(st.executeQuery("SELECT id, v FROM " + table + " ORDER BY id"));
  size_t n = 0;
  while (rs->next()) {
    const auto id = static_cast<size_t>(rs->getInt64(1));
    ASSERT_LT(id, values.size());
    EXPECT_EQ(std::string(rs->getString(2)), values[id]) << "row " << id;
    ++n;
  }
  EXPECT_EQ(n, values.size());
}

TEST(SqlText, EscapingIsTheClientLibrarysButForTheDoubleQuote) {
  MysqlPool pool(suite_env().mysql(), 1);
  pool.run([&](sql::Connection& c) {
    auto& mc = dynamic_cast<sql::mysql::MySQL_Connection&>(c);
    size_t quoted = 0;
    for (const auto& s : corpus()) {
      std::string ours;
      append_escaped(ours, s);
      const std::string library(mc.escapeString(s));
      EXPECT_EQ(ours, without_escaped_double_quotes(library)) << "for a string of " << s.size() << " bytes: " << s;
      if (s.find('"') != std::string::npos) {
        ++quoted;
        EXPECT_NE(ours, library);  // the library does escape it: the two really differ there
      }
      // Every offset of the eight-byte scan: the same string behind 1 to 7 more bytes.
      for (size_t shift = 1; shift < 8 && s.size() < 64; ++shift) {
        std::string shifted;
        append_escaped(shifted, std::string(shift, 'x') + s);
        EXPECT_EQ(shifted, std::string(shift, 'x') + ours) << "shifted by " << shift << ": " << s;
      }
    }
    EXPECT_GT(quoted, 50u);
  });
}

TEST(SqlText, EveryStringComesBackAsItWasSent) {
  MysqlPool pool(suite_env().mysql(), 1);
  const auto strings = corpus();
  pool.run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    st->execute("CREATE TEMPORARY TABLE sql_text (id BIGINT PRIMARY KEY, v LONGTEXT CHARACTER SET utf8mb4 "
                "COLLATE utf8mb4_bin NOT NULL)");
    BulkInsert insert("sql_text", {"id", "v"});
    for (size_t i = 0; i < strings.size(); ++i) insert.add({static_cast<std::int64_t>(i), strings[i]});
    EXPECT_EQ(insert.execute(c, 100), static_cast<std::int64_t>(strings.size()));
    expect_rows_hold(*st, "sql_text", strings);
    // As a value to match: each string finds its own row and no other (compared as bytes: the column's
    // collation ignores trailing spaces).
    for (size_t i = 0; i < strings.size(); i += 7) {
      std::string sql = "SELECT id FROM sql_text WHERE CAST(v AS BINARY) = CAST(";
      sql_literal(c, strings[i], sql);
      sql += " AS BINARY)";
      std::unique_ptr<sql::ResultSet> found(st->executeQuery(sql));
      ASSERT_TRUE(found->next()) << "row " << i;
      EXPECT_EQ(static_cast<size_t>(found->getInt64(1)), i);
      EXPECT_FALSE(found->next());
    }
  });
}

// Bytes (SqlBytes, written as X'…') come back from a binary column as they were sent: every byte value, alone and
// in deflated-looking runs, and none at all.
TEST(SqlText, BytesComeBackAsTheyWereSent) {
  MysqlPool pool(suite_env().mysql(), 1);
  std::vector<std::string> values = {std::string()};
  for (int b = 0; b < 256; ++b) values.emplace_back(1, static_cast<char>(b));
  std::mt19937 rng(20261207);
  for (int i = 0; i < 50; ++i) {
    std::string v(1 + rng() % 3000, '\0');
    for (auto& ch : v) ch = static_cast<char>(rng() & 0xff);
    values.push_back(std::move(v));
  }
  pool.run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    st->execute("CREATE TEMPORARY TABLE sql_bytes (id BIGINT PRIMARY KEY, v MEDIUMBLOB NOT NULL)");
    BulkInsert insert("sql_bytes", {"id", "v"});
    for (size_t i = 0; i < values.size(); ++i) insert.add({static_cast<std::int64_t>(i), SqlBytes{values[i]}});
    EXPECT_EQ(insert.execute(c, 64), static_cast<std::int64_t>(values.size()));
    expect_rows_hold(*st, "sql_bytes", values);
  });
}

// Rows whose text adds up to more than the server takes in one packet (max_allowed_packet) go in several
// statements and queries, in one transaction, and all of them arrive: a batch of large member states is never
// refused whole and retried for ever.
TEST(SqlText, RowsLargerTogetherThanAPacketAllArrive) {
  MysqlPool pool(suite_env().mysql(), 1);
  pool.enable_multi_statements();  // as the wallet's (wallet/main.cpp)
  pool.run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    std::unique_ptr<sql::ResultSet> packet(st->executeQuery("SELECT @@max_allowed_packet"));
    ASSERT_TRUE(packet->next());
    const auto max_packet = static_cast<size_t>(packet->getInt64(1));
    st->execute("CREATE TEMPORARY TABLE sql_big (id BIGINT PRIMARY KEY, v LONGTEXT CHARACTER SET utf8mb4 "
                "COLLATE utf8mb4_bin NOT NULL)");
    BulkInsert insert("sql_big", {"id", "v"});
    std::vector<std::string> values;
    size_t total = 0;
    for (std::int64_t i = 0; total <= max_packet + (1u << 20); ++i) {
      // ~1 MiB each, with a quote and a backslash to escape, different per row.
      std::string v =
          "row " + std::to_string(i) + " it's a \\ " + std::string((1u << 20) + static_cast<size_t>(i), 'x');
      total += v.size();
      insert.add({i, v});
      values.push_back(std::move(v));
    }
    const auto statements = insert.statements(c);
    EXPECT_GT(statements.size(), 1u);
    for (const auto& s : statements) EXPECT_LT(s.size(), kMaxQueryBytes + (2u << 20));
    std::vector<std::string> all = {"START TRANSACTION"};
    all.insert(all.end(), statements.begin(), statements.end());
    all.push_back("SELECT COUNT(*), SUM(LENGTH(v)) FROM sql_big");
    all.push_back("COMMIT");
    auto results = execute_multi(c, all);
    ASSERT_EQ(results.size(), 1u);
    ASSERT_TRUE(results[0]->next());
    EXPECT_EQ(static_cast<size_t>(results[0]->getInt64(1)), values.size());
    EXPECT_EQ(static_cast<size_t>(results[0]->getInt64(2)), total);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT id, v FROM sql_big ORDER BY id"));
    size_t n = 0;
    while (rs->next()) {
      ASSERT_LT(n, values.size());
      EXPECT_EQ(static_cast<size_t>(rs->getInt64(1)), n);
      EXPECT_TRUE(std::string(rs->getString(2)) == values[n]) << "row " << n;
      ++n;
    }
    EXPECT_EQ(n, values.size());
  });
}

TEST(SqlText, APoolSessionNeverTreatsBackslashAsAPlainCharacter) {
  MysqlPool pool(suite_env().mysql(), 1);
  pool.run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT @@SESSION.sql_mode"));
    EXPECT_TRUE(rs->next());
    EXPECT_EQ(without_sql_mode(std::string(rs->getString(1)), "NO_BACKSLASH_ESCAPES"), std::nullopt);
  });
}

}  // namespace
}  // namespace emtiaz::tests
