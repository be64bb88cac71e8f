#pragma once
// The audit: checks Points semantics 5 (conservation) for a tenant from MySQL's ledger and member states,
// and that Redis's cached states equal MySQL's. It prints what differs; an empty report means all holds.
#include <string>
#include <vector>

#include "common/mysql.hpp"
#include "common/redis.hpp"

namespace emtiaz::wallet {

struct AuditReport {
  std::string tenant_id;
  std::int64_t members = 0;
  std::int64_t ledger_entries = 0;
  std::vector<std::string> differences;  // one line each; empty: conserved and consistent
};

AuditReport audit_tenant(MysqlPool& mysql, RedisPool* redis, const std::string& tenant_id);

}  // namespace emtiaz::wallet
