#pragma once
// What the gateway's handlers share: configuration and the pools. Each handler file registers its routes
// with `register_*_routes(Router&, App&)` and keeps its own repositories.
#include "common/config.hpp"
#include "common/kafka.hpp"
#include "common/mysql.hpp"
#include "common/redis.hpp"

namespace emtiaz::gateway {

class CommandClient;

struct App {
  GatewayConfig config;
  MysqlPool& mysql;
  RedisPool& redis;
  KafkaProducer& producer;
  CommandClient& commands;
};

}  // namespace emtiaz::gateway
