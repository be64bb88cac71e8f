#pragma once
// A test with a tenant and a partner of its own, made through the API before each test.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "tests/support/api_client.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {

class TenantPartnerTest : public ::testing::Test {
 protected:
  // The partner's earn rule: points per 10,000 IRR.
  explicit TenantPartnerTest(std::int64_t points_per_10k_irr = 100) : points_per_10k_irr_(points_per_10k_irr) {}

  // A fixture that does more calls this first, then returns if HasFatalFailure().
  void SetUp() override {
    const auto& env = suite_env();
    api_ = std::make_unique<ApiClient>(env.url(), env.admin_token());
    tenant_ = api().create_tenant();
    ASSERT_FALSE(tenant_.id.empty());
    partner_ = api().create_partner(tenant_, points_per_10k_irr_);
    ASSERT_FALSE(partner_.api_key.empty());
  }

  ApiClient& api() { return *api_; }

  TestTenant tenant_;
  TestPartner partner_;

 private:
  std::int64_t points_per_10k_irr_;
  std::unique_ptr<ApiClient> api_;
};

}  // namespace emtiaz::tests
