#pragma once
// What the gateway's handlers share: configuration and the pools. Each handler file registers its routes
// with `register_*_routes(Router&, App&)` and keeps its own repositories.
#include "common/config.hpp"
#include "common/kafka.hpp"
#include "common/mysql.hpp"
#include "common/redis.hpp"
#include "gateway/control_plane_watch.hpp"
#include "gateway/lookup_cache.hpp"
#include "partners/partner_repository.hpp"
#include "tenants/tenant_repository.hpp"

namespace emtiaz::gateway {

class CommandClient;

// The gateway's look-up caches (gateway/lookup_cache.hpp says what each may keep and for how long).
struct Lookups {
  // tenant id + '\n' + the member reference as sent -> member id. 100,000 entries (~15 MiB at most): the
  // members active right now; a full shard is emptied, so the gateway's memory stays bounded.
  LookupCache<std::string> members{std::chrono::milliseconds(0), 100'000};
  // tenant id -> the tenant; tenant id + '\n' + partner id -> the partner. At most one second older than the
  // control plane's watch last found them current (watched_by), like a revoked key (api.md); a PATCH on this
  // gateway clears its entry at once. Reads use the tenant for the time zone their times are shown in.
  // Commands carry these copies, but nothing the wallet applies depends on them: the wallet re-reads the
  // tenant and the partner in the transaction that applies the command (and refuses a suspended partner
  // there), so a PATCH holds for the very next command on every gateway.
  LookupCache<tenants::Tenant> tenants{std::chrono::milliseconds(1000), 100'000};
  LookupCache<partners::Partner> partners{std::chrono::milliseconds(1000), 100'000};

  // Has `watch` empty the tenants and partners when the control plane changes and confirm them while it does
  // not, for at most kConfirmedAtMost after their load. Before watch.start(); `watch` outlives the caches' use.
  void watched_by(ControlPlaneWatch& watch) {
    auto watch_one = [&watch](auto& cache) {
      cache.confirm_with([&watch] { return watch.confirmed_at(); }, kConfirmedAtMost);
      watch.on_change([&cache] { cache.clear(); });
    };
    watch_one(tenants);
    watch_one(partners);
  }
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
