// The wallet's command records (each applied command's exact response, what a retry is answered with) are pruned
// once older than wallet.command_retention_hours (a week on the suite's network: the default), oldest first, by
// the wallet that owns partition 0, every few seconds. Records of a tenant of this test's own are written
// straight into MySQL with ages this test chooses, on each side of the week; the wallet must delete exactly the
// older ones.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <gtest/gtest.h>
#include <mysql_connection.h>

#include <chrono>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/mysql.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

std::string random_suffix() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

// The command ids this tenant has records of.
std::set<std::string> records_of(MysqlPool& pool, const std::string& tenant_id) {
  return pool.run([&](sql::Connection& c) {
    std::unique_ptr<sql::PreparedStatement> st(
        c.prepareStatement("SELECT command_id FROM wallet_commands WHERE tenant_id = ?"));
    st->setString(1, tenant_id);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    std::set<std::string> out;
    while (rs->next()) out.insert(rs->getString(1));
    return out;
  });
}

TEST(CommandRetention, RecordsOlderThanTheRetentionArePrunedAndNoOthers) {
  MysqlPool pool(suite_env().mysql(), 1);
  const auto tenant = "ten_retention" + random_suffix();
  // Ages in hours on each side of the week (168 h).
  const std::vector<std::pair<std::string, int>> ages = {
      {"cmd_a_year", 24 * 365}, {"cmd_8_days", 24 * 8}, {"cmd_169_hours", 169},
      {"cmd_167_hours", 167},   {"cmd_a_day", 24},      {"cmd_now", 0}};
  pool.run([&](sql::Connection& c) {
    for (const auto& [id, hours] : ages) {
      std::unique_ptr<sql::PreparedStatement> st(c.prepareStatement(
          "INSERT INTO wallet_commands (tenant_id, command_id, body_hash, status, response, created_at) "
          "VALUES (?, ?, 'h', 201, '{}', UTC_TIMESTAMP(6) - INTERVAL ? HOUR)"));
      st->setString(1, tenant);
      st->setString(2, id);
      st->setInt(3, hours);
      st->executeUpdate();
    }
    return 0;
  });
  ASSERT_EQ(records_of(pool, tenant).size(), ages.size());

  const std::set<std::string> kept = {"cmd_167_hours", "cmd_a_day", "cmd_now"};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(45);
  auto now_held = records_of(pool, tenant);
  while (now_held != kept && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    now_held = records_of(pool, tenant);
  }
  EXPECT_EQ(now_held, kept) << "the records older than a week were not pruned within 45 s, or younger ones were";
  // Stay a little longer: a later pass must not take the younger ones either.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(records_of(pool, tenant), kept);

  pool.run([&](sql::Connection& c) {
    std::unique_ptr<sql::PreparedStatement> st(c.prepareStatement("DELETE FROM wallet_commands WHERE tenant_id = ?"));
    st->setString(1, tenant);
    return st->executeUpdate();
  });
}

}  // namespace
}  // namespace emtiaz::tests
