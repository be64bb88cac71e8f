// emtiaz-audit TENANT...: checks conservation and Redis/MySQL agreement for each tenant (all when none is
// given). Reads the same EMTIAZ_* configuration as the wallet. Exit status 0: nothing differs; 1: it
// printed what differs; 2: it could not run.
#include <cppconn/resultset.h>

#include <cstdio>

#include "common/config.hpp"
#include "wallet/audit.hpp"

int main(int argc, char** argv) {
  using namespace emtiaz;
  CommonConfig config;
  try {
    config = load_common_config(ConfigSource::from_process_environment());
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "emtiaz-audit: %s\n", e.what());
    return 2;
  }
  try {
    MysqlPool mysql(config.mysql, 1);
    RedisPool redis(config.redis, 1);
    std::vector<std::string> tenants(argv + 1, argv + argc);
    if (tenants.empty()) {
      mysql.run([&](sql::Connection& c) {
        std::unique_ptr<sql::Statement> st(c.createStatement());
        std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT id FROM tenants ORDER BY created_at"));
        while (rs->next()) tenants.push_back(rs->getString(1));
      });
    }
    int differing = 0;
    for (const auto& t : tenants) {
      auto r = wallet::audit_tenant(mysql, &redis, t);
      std::printf("tenant %s: %lld members, %lld ledger entries: %s\n", t.c_str(), static_cast<long long>(r.members),
                  static_cast<long long>(r.ledger_entries), r.differences.empty() ? "ok" : "DIFFERS");
      for (const auto& d : r.differences) std::printf("  %s\n", d.c_str());
      if (!r.differences.empty()) ++differing;
    }
    return differing ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "emtiaz-audit: %s\n", e.what());
    return 2;
  }
}
