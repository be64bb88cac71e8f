#pragma once
// What the gateway's handlers share: configuration and the pools. Each handler file registers its routes
// with `register_*_routes(Router&, App&)` and keeps its own repositories.
#include "common/config.hpp"
#include "common/kafka.hpp"
#include "common/mysql.hpp"
#include "common/redis.hpp"
#include "gateway/lookup_cache.hpp"
#include "tenants/tenant_repository.hpp"

namespace emtiaz::gateway {

class CommandClient;

// The gateway's look-up caches (gateway/lookup_cache.hpp says what each may keep and for how long).
struct Lookups {
  // tenant id + '\n' + the member reference as sent -> member id. 100,000 entries (~15 MiB at most): the
  // members active right now; a full shard is emptied, so the gateway's memory stays bounded.
  LookupCache<std::string> members{std::chrono::milliseconds(0), 100'000};
  // tenant id -> the tenant, for reads only (GET balance, redemption, transactions: the time zone their
  // times are shown in). At most one second old, like a revoked key (api.md); a PATCH /v1/tenant on this
  // gateway clears its entry at once. Commands never use it: they read the tenant afresh.
  LookupCache<tenants::Tenant> tenants_for_reads{std::chrono::milliseconds(1000), 100'000};
};

struct App {
  GatewayConfig config;
  MysqlPool& mysql;
  RedisPool& redis;
  KafkaProducer& producer;
  CommandClient& commands;
  Lookups& lookups;
};

}  // namespace emtiaz::gateway
