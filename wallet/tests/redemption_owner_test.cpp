// The redemption owner entry the wallet writes to Redis when it commits an authorization (wallet_service.hpp),
// which the gateway reads to route a capture, void or refund without MySQL: its value read back, values that are
// not two ids refused (the gateway then asks MySQL), and how long it lives, from this test's own arithmetic.
#include <gtest/gtest.h>

#include <chrono>

#include "wallet/wallet_service.hpp"

namespace emtiaz::wallet {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-12-01T00:00:00Z.
const Instant kNow{std::chrono::milliseconds{1'796'083'200'000}};

TEST(RedemptionOwner, TheValueReadsBackAsItsMemberAndPartner) {
  const auto v = redemption_owner_value("mem_3kTq8ZzAbCdEfGhIjKlMnOpQ", "ptn_9xYw");
  EXPECT_EQ(v, "mem_3kTq8ZzAbCdEfGhIjKlMnOpQ ptn_9xYw");
  auto owner = parse_redemption_owner(v);
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->member_id, "mem_3kTq8ZzAbCdEfGhIjKlMnOpQ");
  EXPECT_EQ(owner->partner_id, "ptn_9xYw");
}

TEST(RedemptionOwner, AValueThatIsNotTwoIdsIsRefused) {
  for (const char* bad : {"", " ", "mem_a", "mem_a ", " ptn_b", "mem_a  ptn_b", "mem_a ptn_b x", "mem_a ptn_b "})
    EXPECT_FALSE(parse_redemption_owner(bad)) << '"' << bad << '"';
}

TEST(RedemptionOwner, TheKeyNamesTenantAndRedemption) {
  EXPECT_EQ(redis_redemption_owner_key("ten_a", "red_b"), "emtiaz:{r:ten_a:red_b}:owner");
  EXPECT_NE(redis_redemption_owner_key("ten_a", "red_b"), redis_redemption_owner_key("ten_c", "red_b"));
}

TEST(RedemptionOwner, ItLivesUntilTheHoldEndsAndAnHourMore) {
  // The contract's default hold of 15 minutes: 900 s + 3,600 s.
  EXPECT_EQ(redemption_owner_ttl_seconds(kNow + minutes(15), kNow), 4500);
  EXPECT_EQ(redemption_owner_ttl_seconds(kNow + seconds(1), kNow), 3601);
  // A hold that has already ended (an authorization captured at once, a clock step): the hour alone.
  EXPECT_EQ(redemption_owner_ttl_seconds(kNow, kNow), 3600);
  EXPECT_EQ(redemption_owner_ttl_seconds(kNow - minutes(5), kNow), 3600);
  // A long hold is cut at a day: 86,400 s + 3,600 s.
  EXPECT_EQ(redemption_owner_ttl_seconds(kNow + hours(24 * 30), kNow), 90'000);
}

}  // namespace
}  // namespace emtiaz::wallet
