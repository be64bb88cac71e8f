// The OpenAPI file and the gateway's route table describe the same API: every route the gateway serves is
// in api/openapi.yaml, and every operation in the file is served. No server is started: the pools and the
// Kafka handles connect lazily, so the routes can be registered against an unreachable configuration.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "gateway/command_client.hpp"
#include "gateway/control_handlers.hpp"
#include "gateway/points_handlers.hpp"
#include "gateway/router.hpp"
#include "gateway/settlement_handlers.hpp"

#ifndef EMTIAZ_SOURCE_DIR
#error "EMTIAZ_SOURCE_DIR must be defined"
#endif

namespace emtiaz::gateway {
namespace {

std::set<std::string> served_routes() {
  GatewayConfig config;
  config.mysql.user = "nobody";
  config.mysql.database = "nowhere";
  config.mysql.port = 1;
  config.redis.port = 1;
  config.kafka.bootstrap = "127.0.0.1:1";
  MysqlPool mysql(config.mysql, 1);
  RedisPool redis(config.redis, 1);
  KafkaProducer producer(config.kafka, "openapi-test");
  CommandClient commands(config.kafka, producer, 1);
  Lookups lookups;
  App app{config, mysql, redis, producer, commands, lookups};
  Router router([](const std::string&) { return std::optional<Principal>{}; });
  register_control_routes(router, app);
  register_points_routes(router, app);
  register_settlement_routes(router, app);
  auto list = router.route_list();
  std::set<std::string> out(list.begin(), list.end());
  // Served by the shared admin routes before the router (common/service.cpp).
  out.insert({"GET /v1/health", "GET /v1/ready", "GET /metrics"});
  return out;
}

std::set<std::string> documented_routes() {
  auto doc = YAML::LoadFile(std::string(EMTIAZ_SOURCE_DIR) + "/api/openapi.yaml");
  std::set<std::string> out;
  for (const auto& path : doc["paths"]) {
    for (const auto& op : path.second) {
      auto method = op.first.as<std::string>();
      if (method == "parameters" || method == "summary" || method == "description") continue;
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      out.insert(method + " " + path.first.as<std::string>());
    }
  }
  return out;
}

TEST(OpenApiRoutes, FileIsOpenApi31) {
  auto doc = YAML::LoadFile(std::string(EMTIAZ_SOURCE_DIR) + "/api/openapi.yaml");
  EXPECT_EQ(doc["openapi"].as<std::string>().rfind("3.1", 0), 0u);
}

TEST(OpenApiRoutes, EveryServedRouteIsDocumentedAndEveryDocumentedRouteIsServed) {
  auto served = served_routes();
  auto documented = documented_routes();
  for (const auto& r : served) EXPECT_TRUE(documented.count(r)) << "served but not in api/openapi.yaml: " << r;
  for (const auto& r : documented) EXPECT_TRUE(served.count(r)) << "in api/openapi.yaml but not served: " << r;
  EXPECT_GE(served.size(), 27u);
  EXPECT_GE(documented.size(), 27u);
}

}  // namespace
}  // namespace emtiaz::gateway
