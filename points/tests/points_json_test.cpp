// JSON form of the member state: exact round trip, and strict reading of stored documents.

#include "points/points_json.hpp"

#include <gtest/gtest.h>

#include "points/tests/helpers.hpp"

namespace emtiaz::points {
namespace {

using testing::earn_spec;
using testing::redeem_spec;
using testing::T;

MemberState busy_state() {
  MemberState s;
  const Instant odd = T(1'700'000'000) + std::chrono::microseconds{123'457};  // not a whole second
  EXPECT_TRUE(earn(s, odd, earn_spec("A", "prt_1", 10, 1'700'000'000, 1'800'000'000)).ok());
  EXPECT_TRUE(earn(s, odd, earn_spec("B", "prt_2", 20, 1'700'000'500, 1'800'000'000, 40'000)).ok());
  EXPECT_TRUE(adjust(s, odd, AdjustmentSpec{"adj_1", 7, T(1'750'000'000)}).ok());
  EXPECT_TRUE(authorize(s, odd, redeem_spec("red_1", "prt_3", 12, 1'700'000'900)).ok());
  EXPECT_TRUE(authorize(s, odd, redeem_spec("red_2", "prt_3", 3, 1'700'000'900)).ok());
  EXPECT_TRUE(capture(s, odd + std::chrono::seconds{1}, "red_2", 2).ok());
  EXPECT_TRUE(refund_redemption(s, odd + std::chrono::seconds{2}, "red_2", 1).ok());
  EXPECT_TRUE(refund_purchase(s, odd + std::chrono::seconds{3}, "earn_A", 10'000).ok());  // debt
  EXPECT_GT(s.debt, 0);
  return s;
}

TEST(Json, MemberStateRoundTripIsExact) {
  const MemberState original = busy_state();
  const nlohmann::json j = original;
  const auto text = j.dump();
  const auto back = nlohmann::json::parse(text).get<MemberState>();
  EXPECT_EQ(nlohmann::json(back).dump(), text);
  EXPECT_EQ(back.as_of, original.as_of);
  EXPECT_EQ(back.lots.at(0).created_at, original.lots.at(0).created_at);
  EXPECT_EQ(j["as_of"].get<std::int64_t>(), 1'700'000'003'123'457);
  EXPECT_EQ(j["redemptions"][1]["status"], "partially_refunded");

  // The copy behaves exactly like the original from here on.
  MemberState a = original;
  MemberState b = back;
  const auto later = T(1'900'000'000);
  EXPECT_EQ(advance(a, later), advance(b, later));
  EXPECT_EQ(nlohmann::json(a).dump(), nlohmann::json(b).dump());
}

TEST(Json, EmptyStateRoundTrips) {
  const MemberState empty;
  const auto back = nlohmann::json(empty).get<MemberState>();
  EXPECT_EQ(nlohmann::json(back), nlohmann::json(empty));
  EXPECT_EQ(back.next_seq, 1u);
}

TEST(Json, MovementAndBalanceRoundTrip) {
  MemberState s = busy_state();
  const auto moved = advance(s, T(1'900'000'000));
  ASSERT_FALSE(moved.empty());
  const auto back = nlohmann::json(moved).get<std::vector<Movement>>();
  EXPECT_EQ(back, moved);
  EXPECT_EQ(nlohmann::json(moved.front())["type"], "pending_available");
  const Balance balance = balance_at(busy_state(), T(1'700'000'010));
  const auto balance_back = nlohmann::json(balance).get<Balance>();
  EXPECT_EQ(balance_back.available, balance.available);
  EXPECT_EQ(balance_back.pending, balance.pending);
  EXPECT_EQ(balance_back.held, balance.held);
  EXPECT_EQ(balance_back.expiring, balance.expiring);
}

TEST(Json, MalformedDocumentsAreRejected) {
  nlohmann::json j = busy_state();
  auto unknown_status = j;
  unknown_status["redemptions"][0]["status"] = "teleported";
  EXPECT_ANY_THROW((void)unknown_status.get<MemberState>());
  auto missing = j;
  missing["lots"][0].erase("expires_at");
  EXPECT_ANY_THROW((void)missing.get<MemberState>());
  auto wrong_type = j;
  wrong_type["debt"] = "3";
  EXPECT_ANY_THROW((void)wrong_type.get<MemberState>());
}

}  // namespace
}  // namespace emtiaz::points
