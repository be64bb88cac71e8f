// emtiaz-wallet: reads its config, wires MySQL, Redis and Kafka to the wallet service, serves its admin
// port (health, ready, metrics) and runs until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "common/config.hpp"
#include "common/kafka.hpp"
#include "common/mysql.hpp"
#include "common/redis.hpp"
#include "common/service.hpp"
#include "wallet/command_pruner.hpp"
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
  // Each applier holds a connection through its batch; the timers, the outbox, the two pruners and the admin port
  // take more.
  MysqlPool mysql(config.mysql, static_cast<size_t>(4 + 2 * config.appliers));
  mysql.enable_multi_statements();  // a batch is two round trips (wallet_service.cpp, commit_units)
  RedisPool redis(config.redis, static_cast<size_t>(2 + 2 * config.appliers));
  // A batch's replies and ledger events leave as one message set per partition (common/kafka.hpp).
  KafkaProducer producer(config.kafka, "emtiaz-wallet", 0.2);
  if (!apply_migrations_at_start(mysql)) return 1;
  // wallet.appliers members of the consumer group, as that many wallet processes would be: each owns its
  // partitions (and their timers, outbox and watermarks) and applies their commands on its own thread.
  std::vector<std::unique_ptr<wallet::WalletService>> services;
  for (int i = 0; i < config.appliers; ++i)
    services.push_back(std::make_unique<wallet::WalletService>(config, mysql, redis, producer));
  // Ready means commands can be applied: the broker answers and every applier owns partitions in the group
  // (joining takes a few seconds after a restart).
  auto assigned = [&] {
    for (auto& s : services)
      if (!s->has_assignment()) return false;
    return true;
  };
  ReadinessMonitor readiness({{"mysql", [&] { return mysql.ping(); }},
                              {"redis", [&] { return redis.ping(); }},
                              {"kafka", [&] { return producer.ready() && assigned(); }}});
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
  std::vector<std::thread> workers;
  for (auto& s : services) workers.emplace_back([&stop, svc = s.get()] { svc->run(stop); });
  // Command records and outbox events past their retention are deleted on threads of their own, by the wallet
  // owning partition 0.
  auto prunes = [&] {
    for (auto& s : services)
      if (s->owns_partition_zero()) return true;
    return false;
  };
  wallet::CommandPruner pruner(mysql, config.command_retention_hours);
  workers.emplace_back([&] { pruner.run(stop, prunes); });
  wallet::OutboxPruner outbox_pruner(mysql, config.outbox_retention_hours);
  workers.emplace_back([&] { outbox_pruner.run(stop, prunes); });
  wait_for_shutdown_signal();
  stop = true;
  for (auto& w : workers) w.join();
  admin.stop();
  return 0;
}
