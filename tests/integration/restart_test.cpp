// Data survives a restart of the whole network: a tenant created before `netctl.sh down` + `up` of the same
// folder is still there afterwards, reachable with the same operator token, and the admin token is kept.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

using namespace std::chrono_literals;

TEST(RestartTest, TenantSurvivesDownAndUp) {
  PrivateNetwork net;
  const std::string admin_token = net.admin_token();
  const std::string url = net.url();

  std::string tenant_id;
  std::string operator_token;
  {
    auto gateway = net.gateway();
    const auto created = gateway.post("/v1/tenants", {{"name", "Restart Coalition"}}, {bearer(admin_token)});
    ASSERT_EQ(created.status, 201) << created.describe();
    const auto body = created.json();
    ASSERT_TRUE(body.contains("id") && body["id"].is_string()) << created.body;
    ASSERT_TRUE(body.contains("operator_token") && body["operator_token"].is_string()) << created.body;
    EXPECT_EQ(body.value("name", ""), "Restart Coalition") << created.body;
    tenant_id = body["id"].get<std::string>();
    operator_token = body["operator_token"].get<std::string>();

    const auto before = gateway.get("/v1/tenant", {bearer(operator_token)});
    ASSERT_EQ(before.status, 200) << before.describe();
  }

  net.down();
  EXPECT_NE(net.gateway().get("/v1/health").status, 200) << "the gateway still answers after down";
  net.up();

  EXPECT_EQ(net.admin_token(), admin_token) << "the admin token must be kept across down/up";
  EXPECT_EQ(net.url(), url) << "the ports must be kept across down/up";

  auto gateway = net.gateway();
  HttpResponse tenant;
  ASSERT_TRUE(wait_until([&] { return (tenant = gateway.get("/v1/tenant", {bearer(operator_token)})).status == 200; },
                         30s))
      << tenant.describe();
  const auto body = tenant.json();
  EXPECT_EQ(body.value("id", ""), tenant_id) << tenant.body;
  EXPECT_EQ(body.value("name", ""), "Restart Coalition") << tenant.body;

  // The admin token still works after the restart.
  const auto again = gateway.post("/v1/tenants", {{"name", "After Restart"}}, {bearer(admin_token)});
  EXPECT_EQ(again.status, 201) << again.describe();
}

}  // namespace
}  // namespace emtiaz::tests
