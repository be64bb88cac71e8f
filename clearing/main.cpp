// emtiaz-clearing: reads its config, serves its admin port (health, ready, metrics) and consumes the
// wallet's ledger events into MySQL (clearing_consumer). Settlements are closed by the gateway
// (POST /v1/settlements) from the tables this service fills.
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "clearing/clearing_consumer.hpp"
#include "common/config.hpp"
#include "common/kafka.hpp"
#include "common/mysql.hpp"
#include "common/redis.hpp"
#include "common/service.hpp"

int main() {
  using namespace emtiaz;
  block_shutdown_signals();
  ClearingConfig config;
  try {
    config = load_clearing_config(ConfigSource::from_process_environment());
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "emtiaz-clearing: %s\n", e.what());
    return 2;
  }
  setup_logging("clearing", config.log_level);
  MysqlPool mysql(config.mysql, 4);
  RedisPool redis(config.redis, 2);
  KafkaProducer producer(config.kafka, "emtiaz-clearing");
  if (!apply_migrations_at_start(mysql)) return 1;
  ReadinessMonitor readiness({{"mysql", [&] { return mysql.ping(); }},
                              {"redis", [&] { return redis.ping(); }},
                              {"kafka", [&] { return producer.ready(); }}});
  HttpServerOptions http;
  http.port = static_cast<unsigned short>(config.admin_port);
  http.worker_threads = 2;
  HttpServer admin(http, [&](HttpRequest& req) {
    if (auto r = admin_route(req, readiness)) return *r;
    return HttpResponse::from_problem(problem(Code::not_found, "no such resource"), req.request_id);
  });
  auto port = admin.start();
  write_port_file(config.port_file, port);
  spdlog::info("clearing admin listening on 127.0.0.1:{}", port);
  std::atomic<bool> stop{false};
  clearing::ClearingConsumer consumer(config.kafka, mysql);
  std::thread worker([&] { consumer.run(stop); });
  wait_for_shutdown_signal();
  stop = true;
  worker.join();
  admin.stop();
  return 0;
}
