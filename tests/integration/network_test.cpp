// The suite's shared network is whole: every service answers /v1/health and /v1/ready with 200, and the
// gateway wants a token for anything else.
#include <gtest/gtest.h>

#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

TEST(SuiteNetworkTest, EveryServiceIsReady) {
  const auto& env = suite_env();
  for (const auto& url : {env.url(), env.wallet_admin_url(), env.clearing_admin_url()}) {
    HttpClient client(url);
    const auto health = client.get("/v1/health");
    EXPECT_EQ(health.status, 200) << client.base_url() << ": " << health.describe();
    const auto ready = client.get("/v1/ready");
    EXPECT_EQ(ready.status, 200) << client.base_url() << ": " << ready.describe();
  }
}

TEST(SuiteNetworkTest, GatewayRequiresAToken) {
  auto gateway = suite_env().gateway();
  const auto anonymous = gateway.post("/v1/tenants", {{"name", "No Token"}});
  EXPECT_EQ(anonymous.status, 401) << anonymous.describe();
  const auto wrong = gateway.post("/v1/tenants", {{"name", "Wrong Token"}}, {bearer("not-the-admin-token")});
  EXPECT_EQ(wrong.status, 401) << wrong.describe();
}

}  // namespace
}  // namespace emtiaz::tests
