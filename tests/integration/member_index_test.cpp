// The member index in Redis (gateway/members_repository.hpp: a reference's normalised form → the member's id,
// read by the gateway's I/O threads without blocking them) against the suite's network: enrolment writes the
// phone's entry; an earn finds its member whether the entry is there or not (a missing one is resolved in MySQL
// and written); the written forms of one phone share one entry; entries never cross tenants; and a command
// whose reference resolves to nobody has no effect. Points expected are this test's own arithmetic: the
// partner issues 100 points per 10,000 rial.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "common/redis.hpp"
#include "tests/support/api_client.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

class MemberIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& env = suite_env();
    api_ = std::make_unique<ApiClient>(env.url(), env.admin_token());
    redis_ = std::make_unique<RedisPool>(env.redis(), 1);
  }

  // The index entry of a phone (E.164) in a tenant, as the gateway names it.
  static std::string phone_key(const std::string& tenant_id, const std::string& e164) {
    return "emtiaz:member:{t:" + tenant_id + "}:phone:" + e164;
  }
  std::optional<std::string> entry(const std::string& key) {
    auto r = redis_->command({"GET", key});
    if (r.type != RedisReply::Type::string) return std::nullopt;
    return r.str;
  }

  // The member an earn's answer says it credited (its balance object names the member).
  static std::string credited(const HttpResponse& earned) {
    auto j = earned.json();
    return j.contains("balance") && j["balance"].is_object() ? j["balance"].value("member_id", "") : "";
  }

  std::unique_ptr<ApiClient> api_;
  std::unique_ptr<RedisPool> redis_;
};

TEST_F(MemberIndex, EnrolmentWritesThePhonesEntry) {
  auto tenant = api_->create_tenant();
  ASSERT_FALSE(tenant.id.empty());
  auto partner = api_->create_partner(tenant, 100);
  const auto phone = random_mobile();
  const auto enrolled = api_->post("/v1/members", partner.api_key, {{"phone", phone}});
  ASSERT_EQ(enrolled.status, 201) << enrolled.describe();
  const auto member = enrolled.json().value("id", "");
  ASSERT_FALSE(member.empty()) << enrolled.body;
  EXPECT_EQ(entry(phone_key(tenant.id, mobile_e164(phone))), member);
}

// An entry that is missing (never written, expired, Redis flushed) costs a MySQL look-up and is written again;
// every written form of the phone then finds the member through it.
TEST_F(MemberIndex, EarnsFindTheirMemberWithOrWithoutTheEntry) {
  auto tenant = api_->create_tenant({{"auto_enroll", false}});
  ASSERT_FALSE(tenant.id.empty());
  auto partner = api_->create_partner(tenant, 100);
  const auto phone = random_mobile();
  const auto e164 = mobile_e164(phone);
  const auto enrolled = api_->post("/v1/members", partner.api_key, {{"phone", phone}});
  ASSERT_EQ(enrolled.status, 201) << enrolled.describe();
  const auto member = enrolled.json().value("id", "");
  ASSERT_FALSE(member.empty()) << enrolled.body;

  redis_->command({"DEL", phone_key(tenant.id, e164)});
  ASSERT_FALSE(entry(phone_key(tenant.id, e164)));
  const auto first = api_->earn(partner.api_key, "phone:" + phone, 100'000);  // 1,000 points
  ASSERT_EQ(first.status, 201) << first.describe();
  EXPECT_EQ(credited(first), member) << first.body;
  EXPECT_EQ(entry(phone_key(tenant.id, e164)), member) << "the gateway did not write the entry it resolved";

  // Another written form of the same phone: not in any gateway's in-process cache, found through the entry.
  const auto second = api_->earn(partner.api_key, "phone:" + e164, 200'000);  // 2,000 points
  ASSERT_EQ(second.status, 201) << second.describe();
  EXPECT_EQ(credited(second), member) << second.body;
  // And with the entry gone again, a third form (0098…) goes to MySQL once more.
  redis_->command({"DEL", phone_key(tenant.id, e164)});
  const auto third = api_->earn(partner.api_key, "phone:0098" + e164.substr(3), 300'000);  // 3,000 points
  ASSERT_EQ(third.status, 201) << third.describe();
  EXPECT_EQ(credited(third), member) << third.body;

  EXPECT_EQ(api_->balance(partner.api_key, member).value("available", -1), 6000);
  // Balance reads by phone take the same ways: a form no gateway has cached, with the entry and without it.
  EXPECT_EQ(api_->balance(partner.api_key, "phone:98" + e164.substr(3)).value("available", -1), 6000);
  redis_->command({"DEL", phone_key(tenant.id, e164)});
  const auto read = api_->balance_response(partner.api_key, "phone:0098 " + e164.substr(3));
  ASSERT_EQ(read.status, 200) << read.describe();
  EXPECT_EQ(read.json().value("available", -1), 6000) << read.body;
  EXPECT_EQ(read.json().value("member_id", ""), member) << read.body;
  EXPECT_EQ(entry(phone_key(tenant.id, e164)), member);
}

// The entries are per tenant: the same phone is another tenant's member, or nobody there, whatever the first
// tenant's entry says.
TEST_F(MemberIndex, EntriesNeverCrossTenants) {
  auto a = api_->create_tenant({{"auto_enroll", false}});
  auto b = api_->create_tenant({{"auto_enroll", false}});
  ASSERT_FALSE(a.id.empty());
  ASSERT_FALSE(b.id.empty());
  auto pa = api_->create_partner(a, 100);
  auto pb = api_->create_partner(b, 100);
  const auto phone = random_mobile();
  const auto in_a = api_->post("/v1/members", pa.api_key, {{"phone", phone}});
  ASSERT_EQ(in_a.status, 201) << in_a.describe();
  const auto member_a = in_a.json().value("id", "");

  // Tenant b does not know the phone and does not enrol on an earn: 404, and nothing moved.
  const auto refused = api_->earn(pb.api_key, "phone:" + phone, 100'000);
  EXPECT_EQ(refused.status, 404) << refused.describe();
  EXPECT_EQ(refused.json().value("code", ""), "member_not_found") << refused.body;
  EXPECT_EQ(api_->balance_response(pb.api_key, "phone:" + phone).status, 404);
  EXPECT_FALSE(entry(phone_key(b.id, mobile_e164(phone)))) << "an entry was written for nobody";

  // Enrolled in b, the phone is b's own member, and b's earn credits it, not a's.
  const auto in_b = api_->post("/v1/members", pb.api_key, {{"phone", phone}});
  ASSERT_EQ(in_b.status, 201) << in_b.describe();
  const auto member_b = in_b.json().value("id", "");
  ASSERT_NE(member_a, member_b);
  const auto earned = api_->earn(pb.api_key, "phone:" + phone, 100'000);
  ASSERT_EQ(earned.status, 201) << earned.describe();
  EXPECT_EQ(credited(earned), member_b) << earned.body;
  EXPECT_EQ(api_->balance(pb.api_key, member_b).value("available", -1), 1000);
  EXPECT_EQ(api_->balance(pa.api_key, member_a).value("available", -1), 0);
}

// Auto-enrolment through an earn writes the entry of the member it creates.
TEST_F(MemberIndex, AnEarnThatEnrolsWritesTheEntry) {
  auto tenant = api_->create_tenant({{"auto_enroll", true}});
  ASSERT_FALSE(tenant.id.empty());
  auto partner = api_->create_partner(tenant, 100);
  const auto phone = random_mobile();
  const auto earned = api_->earn(partner.api_key, "phone:" + phone, 100'000);
  ASSERT_EQ(earned.status, 201) << earned.describe();
  const auto member = credited(earned);
  ASSERT_FALSE(member.empty()) << earned.body;
  EXPECT_EQ(entry(phone_key(tenant.id, mobile_e164(phone))), member);
  EXPECT_EQ(api_->balance(partner.api_key, member).value("available", -1), 1000);
}

}  // namespace
}  // namespace emtiaz::tests
