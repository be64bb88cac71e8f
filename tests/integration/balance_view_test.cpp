// The balance views in Redis (wallet/views.hpp: a member's balance and until when it holds, which a balance
// read answers from with one GET on a gateway's I/O thread) against the suite's network. The wallet writes a
// view whenever it changes a member's state; a read that finds no view that holds takes the state from Redis
// or MySQL, and one that had to go to MySQL leaves the view of what it found (gateway/points_handlers.cpp,
// leave_view), never replacing a view that is there. Points expected are this test's own arithmetic: the
// partner issues 100 points per 10,000 rial.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

#include "common/redis.hpp"
#include "tests/support/api_client.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

class BalanceView : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& env = suite_env();
    api_ = std::make_unique<ApiClient>(env.url(), env.admin_token());
    redis_ = std::make_unique<RedisPool>(env.redis(), 1);
  }

  // The keys of a member's cached state and balance view, as the wallet names them.
  static std::string state_key(const std::string& tenant_id, const std::string& member_id) {
    return "emtiaz:{t:" + tenant_id + ":" + member_id + "}:state";
  }
  static std::string view_key(const std::string& tenant_id, const std::string& member_id) {
    return "emtiaz:{t:" + tenant_id + ":" + member_id + "}:balance";
  }
  std::optional<std::string> get(const std::string& key) {
    auto r = redis_->command({"GET", key});
    if (r.type != RedisReply::Type::string) return std::nullopt;
    return r.str;
  }

  // A tenant, a partner, and a member enrolled by phone (no points yet).
  struct Enrolled {
    TestTenant tenant;
    TestPartner partner;
    std::string member;
  };
  Enrolled enrol() {
    Enrolled e;
    e.tenant = api_->create_tenant({{"auto_enroll", false}});
    EXPECT_FALSE(e.tenant.id.empty());
    e.partner = api_->create_partner(e.tenant, 100);
    const auto enrolled = api_->post("/v1/members", e.partner.api_key, {{"phone", random_mobile()}});
    EXPECT_EQ(enrolled.status, 201) << enrolled.describe();
    e.member = enrolled.json().value("id", "");
    EXPECT_FALSE(e.member.empty()) << enrolled.body;
    return e;
  }

  std::unique_ptr<ApiClient> api_;
  std::unique_ptr<RedisPool> redis_;
};

// A member who never earned has no state anywhere: the first read goes to MySQL and leaves an empty view (version
// 0, holding for ever), so that the next reads are one GET; the first earn's view (the wallet's) replaces it, and
// a read right after the earn's answer sees the earn.
TEST_F(BalanceView, AReadOfAMemberWithNoPointsLeavesAViewTheFirstEarnReplaces) {
  auto e = enrol();
  ASSERT_FALSE(e.member.empty());
  const auto key = view_key(e.tenant.id, e.member);
  ASSERT_FALSE(get(key)) << "a view before any read or earn";

  auto first = api_->balance(e.partner.api_key, e.member);
  EXPECT_EQ(first.value("available", -1), 0) << first.dump();
  auto left = get(key);
  ASSERT_TRUE(left) << "the read that went to MySQL left no view";
  auto view = nlohmann::json::parse(*left);
  EXPECT_EQ(view.value("version", -1), 0) << *left;
  EXPECT_EQ(view.value("available", -1), 0) << *left;
  EXPECT_TRUE(view.contains("valid_until") && view["valid_until"].is_null()) << "an empty state never changes by itself: " << *left;
  auto ttl = redis_->command({"TTL", key});
  EXPECT_GT(ttl.integer, 0) << "the view must expire like the wallet's";
  // Read again (from the view now): the same answer, and the view as it was.
  EXPECT_EQ(api_->balance(e.partner.api_key, e.member).value("available", -1), 0);
  EXPECT_EQ(get(key), left);

  const auto earned = api_->earn(e.partner.api_key, e.member, 100'000);  // 1,000 points
  ASSERT_EQ(earned.status, 201) << earned.describe();
  EXPECT_EQ(api_->balance(e.partner.api_key, e.member).value("available", -1), 1000);
  auto replaced = get(key);
  ASSERT_TRUE(replaced);
  EXPECT_GE(nlohmann::json::parse(*replaced).value("version", -1), 1) << *replaced;
}

// A view that is there is never replaced by a read's: one that no longer holds (its member's next timed change has
// passed) sends the read to the state, and with the cached state gone, to MySQL; the answer is MySQL's, and the
// key stays as it was until the wallet writes it again.
TEST_F(BalanceView, AReadNeverReplacesAViewThatIsThere) {
  auto e = enrol();
  ASSERT_FALSE(e.member.empty());
  const auto earned = api_->earn(e.partner.api_key, e.member, 100'000);  // 1,000 points
  ASSERT_EQ(earned.status, 201) << earned.describe();
  const auto key = view_key(e.tenant.id, e.member);
  auto written = get(key);
  ASSERT_TRUE(written) << "the wallet wrote no view";

  // The wallet's view, made to end at its own instant (so it holds at no time) and to say a balance nobody has.
  auto stale = nlohmann::json::parse(*written);
  stale["valid_until"] = stale["at"];
  stale["available"] = 999'999;
  const auto stale_text = stale.dump();
  redis_->command({"SET", key, stale_text});
  redis_->command({"DEL", state_key(e.tenant.id, e.member)});

  auto read = api_->balance(e.partner.api_key, e.member);
  EXPECT_EQ(read.value("available", -1), 1000) << "answered from a view that does not hold: " << read.dump();
  EXPECT_EQ(get(key), stale_text) << "a read replaced a view that was there";

  // The wallet's next write replaces it; a read after the answer sees both earns.
  const auto again = api_->earn(e.partner.api_key, e.member, 50'000);  // 500 points
  ASSERT_EQ(again.status, 201) << again.describe();
  EXPECT_EQ(api_->balance(e.partner.api_key, e.member).value("available", -1), 1500);
  EXPECT_NE(get(key), stale_text);
}

// A read of nobody leaves nothing: an unknown member id is a 404 before any state is looked for.
TEST_F(BalanceView, AReadOfNobodyLeavesNoView) {
  auto e = enrol();
  ASSERT_FALSE(e.member.empty());
  const std::string nobody = "mem_nobody" + random_mobile();
  const auto read = api_->balance_response(e.partner.api_key, nobody);
  EXPECT_EQ(read.status, 404) << read.describe();
  EXPECT_FALSE(get(view_key(e.tenant.id, nobody))) << "a view was left for nobody";
}

}  // namespace
}  // namespace emtiaz::tests
