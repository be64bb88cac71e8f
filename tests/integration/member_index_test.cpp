// The member index in Redis (gateway/members_repository.hpp: a reference's normalised form → the member's id,
// read by the gateway's I/O threads without blocking them) against the suite's network: enrolment writes the
// phone's entry; an earn finds its member whether the entry is there or not (a missing one is resolved in MySQL
// and written); the written forms of one phone share one entry; entries never cross tenants; and a command
// whose reference resolves to nobody has no effect. The redemption owner entry beside it
// (wallet/wallet_service.hpp: a redemption's id → its member and partner, written by the wallet with the
// authorization, read by the gateway to route a capture, void or refund and to read the redemption): written,
// and the actions and reads find their redemption with it, without it and past a value that is not one; another
// partner's or tenant's is 404 either way. Points expected are this test's own arithmetic: the partner issues 100 points per 10,000 rial.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/redis.hpp"
#include "common/tests/metric_value.hpp"
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

  // The owner entry of a redemption, as the wallet names it.
  static std::string owner_key(const std::string& tenant_id, const std::string& redemption_id) {
    return "emtiaz:{r:" + tenant_id + ":" + redemption_id + "}:owner";
  }

  // How many redemption owners the gateway has looked up in `source` (redis, mysql): its /metrics.
  double owner_lookups(const std::string& source) {
    const auto r = api_->http().get("/metrics");
    EXPECT_EQ(r.status, 200) << r.describe();
    return metric_in(r.body, "emtiaz_gateway_redemption_owner_lookups_total{source=\"" + source + "\"}");
  }
  // Runs `action` and says by how much it moved the gateway's owner look-ups in Redis and in MySQL.
  template <typename F>
  std::pair<double, double> lookups_by(F&& action) {
    const double redis = owner_lookups("redis"), mysql = owner_lookups("mysql");
    action();
    return {owner_lookups("redis") - redis, owner_lookups("mysql") - mysql};
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

// An authorization leaves its owner's entry, living until the hold ends and an hour more (the tenant's default
// hold of 15 minutes: 4,500 s at most). A capture, void or refund acts on the member's redemption, and a GET reads
// it, with the entry, with the entry gone (MySQL answers instead) and with an entry that is not an owner (ignored,
// MySQL answers).
TEST_F(MemberIndex, RedemptionActionsFindTheirMemberWithOrWithoutTheOwnerEntry) {
  auto tenant = api_->create_tenant();
  ASSERT_FALSE(tenant.id.empty());
  auto partner = api_->create_partner(tenant, 100);
  const auto earned = api_->earn(partner.api_key, "phone:" + random_mobile(), 100'000);  // 1,000 points
  ASSERT_EQ(earned.status, 201) << earned.describe();
  const auto member = credited(earned);
  ASSERT_FALSE(member.empty()) << earned.body;

  auto authorize = [&](std::int64_t points) {
    const auto r = api_->redeem_points(partner.api_key, member, points);
    EXPECT_EQ(r.status, 201) << r.describe();
    return r.json().value("id", "");
  };
  const auto first = authorize(100);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(entry(owner_key(tenant.id, first)), member + " " + partner.id);
  const auto ttl = redis_->command({"TTL", owner_key(tenant.id, first)});
  ASSERT_EQ(ttl.type, RedisReply::Type::integer);
  EXPECT_GT(ttl.integer, 3600);
  EXPECT_LE(ttl.integer, 4500);

  // With the entry, Redis alone names the owner: capture 60 of the 100 held (the other 40 go back), and read it.
  HttpResponse r;
  auto moved = lookups_by([&] { r = api_->redemption_action(partner.api_key, first, "capture", 60); });
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json().value("points_captured", -1), 60) << r.body;
  EXPECT_EQ(moved, std::make_pair(1.0, 0.0)) << "owner look-ups (redis, mysql)";
  moved = lookups_by([&] { r = api_->get("/v1/redemptions/" + first, partner.api_key); });
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json().value("status", ""), "captured") << r.body;
  EXPECT_EQ(moved, std::make_pair(1.0, 0.0)) << "owner look-ups (redis, mysql)";
  // Without it, MySQL does: refund 20 of the 60 captured, and read it.
  redis_->command({"DEL", owner_key(tenant.id, first)});
  moved = lookups_by([&] { r = api_->redemption_action(partner.api_key, first, "refund", 20); });
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(moved, std::make_pair(0.0, 1.0)) << "owner look-ups (redis, mysql)";
  moved = lookups_by([&] { r = api_->get("/v1/redemptions/" + first, partner.api_key); });
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json().value("points_refunded", -1), 20) << r.body;
  EXPECT_EQ(moved, std::make_pair(0.0, 1.0)) << "owner look-ups (redis, mysql)";

  // An entry that is not an owner's value: ignored, and the void of a second hold still finds its member.
  const auto second = authorize(300);
  ASSERT_FALSE(second.empty());
  redis_->command({"SET", owner_key(tenant.id, second), "not-an-owner"});
  moved = lookups_by([&] { r = api_->redemption_action(partner.api_key, second, "void"); });
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json().value("status", ""), "voided") << r.body;
  EXPECT_EQ(moved, std::make_pair(0.0, 1.0)) << "owner look-ups (redis, mysql)";

  // 1,000 − 60 captured + 20 refunded; nothing held.
  const auto b = api_->balance(partner.api_key, member);
  EXPECT_EQ(b.value("available", -1), 960) << b.dump();
  EXPECT_EQ(b.value("held", -1), 0) << b.dump();
}

// Another partner of the tenant, or a partner of another tenant, cannot act on a redemption or read it, whether its
// owner entry is there or not: 404, as for a redemption that does not exist, and nothing moves.
TEST_F(MemberIndex, NoOtherPartnerActsOnARedemptionThroughItsOwnerEntry) {
  auto tenant = api_->create_tenant();
  auto elsewhere = api_->create_tenant();
  ASSERT_FALSE(tenant.id.empty());
  ASSERT_FALSE(elsewhere.id.empty());
  auto owner = api_->create_partner(tenant, 100);
  auto other = api_->create_partner(tenant, 100);
  auto foreign = api_->create_partner(elsewhere, 100);
  const auto earned = api_->earn(owner.api_key, "phone:" + random_mobile(), 100'000);  // 1,000 points
  ASSERT_EQ(earned.status, 201) << earned.describe();
  const auto member = credited(earned);
  const auto held = api_->redeem_points(owner.api_key, member, 100);
  ASSERT_EQ(held.status, 201) << held.describe();
  const auto id = held.json().value("id", "");
  ASSERT_EQ(entry(owner_key(tenant.id, id)), member + " " + owner.id);

  for (bool with_entry : {true, false}) {
    if (!with_entry) redis_->command({"DEL", owner_key(tenant.id, id)});
    for (const auto* intruder : {&other, &foreign}) {
      for (const char* action : {"capture", "void", "refund"}) {
        const auto r = api_->redemption_action(intruder->api_key, id, action);
        EXPECT_EQ(r.status, 404) << action << (with_entry ? " with" : " without") << " the entry: " << r.describe();
      }
      const auto r = api_->get("/v1/redemptions/" + id, intruder->api_key);
      EXPECT_EQ(r.status, 404) << "GET" << (with_entry ? " with" : " without") << " the entry: " << r.describe();
    }
  }
  const auto b = api_->balance(owner.api_key, member);
  EXPECT_EQ(b.value("available", -1), 900) << b.dump();
  EXPECT_EQ(b.value("held", -1), 100) << b.dump();
  // The owner still captures it.
  const auto r = api_->redemption_action(owner.api_key, id, "capture");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json().value("points_captured", -1), 100) << r.body;
}

}  // namespace
}  // namespace emtiaz::tests
