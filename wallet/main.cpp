// emtiaz-wallet: reads its config, wires MySQL, Redis and Kafka to the wallet service, serves its admin
// port (health, ready, metrics) and runs until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <thread>

#include "common/config.hpp"
#include "common/kafka.hpp"
#include "common/mysql.hpp"
#include "common/redis.hpp"
#include "common/service.hpp"
#include "wallet/wallet_service.hpp"

int main() {
  using namespace emtiaz;
  block_shutdown_signals();
  WalletConfig config;
  try {
    config = load_wallet_config(ConfigSource::from_process_environment());
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "emtiaz-wallet: %s\n", e.what());
    return 2;
  }
  setup_logging("wallet", config.log_level);
  MysqlPool mysql(config.mysql, 4);
  mysql.enable_multi_statements();  // a batch is two round trips (wallet_service.cpp, commit_units)
  RedisPool redis(config.redis, 4);
  // A batch's replies and ledger events leave as one message set per partition (common/kafka.hpp).
  KafkaProducer producer(config.kafka, "emtiaz-wallet", 0.2);
  if (!apply_migrations_at_start(mysql)) return 1;
  wallet::WalletService service(config, mysql, redis, producer);
  // Ready means commands can be applied: the broker answers and this wallet owns partitions in its group
  // (joining takes a few seconds after a restart).
  ReadinessMonitor readiness({{"mysql", [&] { return mysql.ping(); }},
                              {"redis", [&] { return redis.ping(); }},
                              {"kafka", [&] { return producer.ready() && service.has_assignment(); }}});
  HttpServerOptions http;
  http.port = static_cast<unsigned short>(config.admin_port);
  http.worker_threads = 2;
  HttpServer admin(http, [&](HttpRequest& req) {
    if (auto r = admin_route(req, readiness)) return *r;
    return HttpResponse::from_problem(problem(Code::not_found, "no such resource"), req.request_id);
  });
  auto port = admin.start();
  write_port_file(config.port_file, port);
  spdlog::info("wallet admin listening on 127.0.0.1:{}", port);

  std::atomic<bool> stop{false};
  std::thread worker([&] { service.run(stop); });
  wait_for_shutdown_signal();
  stop = true;
  worker.join();
  admin.stop();
  return 0;
}
