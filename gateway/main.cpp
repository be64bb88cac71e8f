// emtiaz-gateway: reads its config, wires MySQL, Redis and Kafka, registers the routes and serves HTTP
// until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <cstdio>
#include <thread>

#include "common/config.hpp"
#include "common/control_plane_version.hpp"
#include "common/kafka.hpp"
#include "common/mysql.hpp"
#include "common/redis.hpp"
#include "common/service.hpp"
#include "gateway/auth.hpp"
#include "gateway/command_client.hpp"
#include "gateway/control_handlers.hpp"
#include "gateway/control_plane_watch.hpp"
#include "gateway/points_handlers.hpp"
#include "gateway/rate_limiter.hpp"
#include "gateway/router.hpp"
#include "gateway/settlement_handlers.hpp"

int main() {
  using namespace emtiaz;
  // glibc gives up to 8 allocator arenas per core to a process with many threads (this one has ~140): each
  // keeps its own free lists and fragments on its own, so the resident size creeps for many minutes before it
  // settles. Two arenas serve two cores' worth of running threads (bench/soak.sh; docs/performance-log.md, fifth
  // session).
  mallopt(M_ARENA_MAX, 2);
  block_shutdown_signals();
  GatewayConfig config;
  try {
    config = load_gateway_config(ConfigSource::from_process_environment());
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "emtiaz-gateway: %s\n", e.what());
    return 2;
  }
  setup_logging("gateway", config.log_level);
  if (config.admin_token_generated)
    spdlog::warn("local mode: generated a platform admin token (set EMTIAZ_ADMIN_TOKEN to choose one)");
  const int workers = 128;
  MysqlPool mysql(config.mysql, static_cast<size_t>(std::max(config.mysql.pool_size, 32)));
  RedisPool redis(config.redis, 32);
  // The commands are fired and forgotten (a lost one is a timeout, and the client's retry asks again): only
  // failed deliveries are reported, so the producer's poller is not woken once per command
  // (docs/performance-log.md, fifteenth session).
  KafkaProducer producer(config.kafka, "emtiaz-gateway", 0, KafkaProducer::Reports::failures_only);
  if (!apply_migrations_at_start(mysql)) return 1;
  // Points-moving requests no longer hold a worker while they wait for the wallet, so the bound those waits
  // used to have (every worker busy, then the queue full: 503 not_ready at once) is kept as a bound on the
  // commands in flight.
  gateway::CommandClient commands(config.kafka, producer, static_cast<size_t>(workers + config.queue_limit));
  gateway::Lookups lookups;
  // Declared after the caches it empties, so that its thread stops before they go.
  gateway::ControlPlaneWatch control_plane(
      [&mysql] { return mysql.run([](sql::Connection& c) { return read_control_plane_version(c); }); });
  lookups.watched_by(control_plane);
  gateway::App app{config, mysql, redis, producer, commands, lookups};
  gateway::Router router(gateway::make_authenticator(app, control_plane), gateway::make_rate_limiter(redis));
  gateway::register_control_routes(router, app);
  gateway::register_points_routes(router, app);
  gateway::register_settlement_routes(router, app);
  ReadinessMonitor readiness({{"mysql", [&] { return mysql.ping(); }},
                              {"redis", [&] { return redis.ping(); }},
                              {"kafka", [&] { return producer.ready(); }},
                              {"replies", [&] { return commands.replies_ready(); }}});

  HttpServerOptions http;
  http.port = static_cast<unsigned short>(config.http_port);
  http.body_limit_bytes = static_cast<size_t>(config.body_limit_bytes);
  http.header_limit_bytes = static_cast<size_t>(config.header_limit_bytes);
  http.max_connections = static_cast<size_t>(config.max_connections);
  http.read_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  http.io_threads = std::max(1, config.threads);
  http.worker_threads = workers;
  http.max_queued = static_cast<size_t>(config.queue_limit);
  http.max_queue_wait = std::chrono::milliseconds(config.queue_wait_ms);
  HttpServer server(http, [&](HttpRequest& req) {
    if (auto r = admin_route(req, readiness)) return *r;
    try {
      return router.handle(req);
    } catch (const MysqlUnavailable& e) {
      spdlog::warn("request_id={} mysql unavailable: {}", req.request_id, e.what());
      auto r = HttpResponse::from_problem(problem(Code::not_ready, "the database is unavailable; retry later"), req.request_id);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
  }, [&](HttpRequest& req) { return router.try_inline(req); });
  control_plane.start();
  auto port = server.start();
  write_port_file(config.port_file, port);
  spdlog::info("gateway listening on http://127.0.0.1:{} (instance {})", port, commands.instance_id());
  wait_for_shutdown_signal();
  server.stop();
  return 0;
}
