// The precomputed balance view: for every instant it claims to hold, it equals the balance computed from the
// state at that instant, and it stops holding exactly where the balance changes by itself.
#include <gtest/gtest.h>

#include <random>

#include "points/points.hpp"
#include "points/tests/helpers.hpp"

namespace emtiaz::points {
namespace {

using testing::earn_spec;
using testing::redeem_spec;
using testing::T;

// Sweeps every second from `from` to `to`: wherever a view taken at some instant says it holds, it must equal
// balance_at there; and the view's valid_until must be an instant where balance_at really differs.
void sweep(const MemberState& state, std::int64_t from, std::int64_t to) {
  for (std::int64_t at = from; at < to; at += 7) {
    const auto view = balance_view(state, T(at));
    ASSERT_EQ(view.at, T(at));
    for (std::int64_t t = at; t < to; ++t) {
      if (!view.holds_at(T(t))) {
        ASSERT_TRUE(view.valid_until.has_value());
        ASSERT_EQ(T(t), *view.valid_until) << "the view stopped holding before its valid_until";
        EXPECT_NE(balance_at(state, T(t)), view.balance) << "valid_until " << t << " is not a change";
        break;
      }
      ASSERT_EQ(balance_at(state, T(t)), view.balance) << "view taken at " << at << ", read at " << t;
    }
  }
}

TEST(BalanceView, HoldsUntilThePendingLotTheHoldAndTheExpiryChangeTheBalance) {
  MemberState s;
  ASSERT_FALSE(earn(s, T(100), earn_spec("l1", "p1", 50, 100, 400)).error);   // available at once, expires at 400
  ASSERT_FALSE(earn(s, T(110), earn_spec("l2", "p2", 30, 200, 600)).error);   // pending until 200
  ASSERT_FALSE(authorize(s, T(120), redeem_spec("r1", "p3", 20, 300)).error);  // held until 300
  auto v = balance_view(s, T(150));
  ASSERT_TRUE(v.valid_until.has_value());
  EXPECT_EQ(*v.valid_until, T(200));  // l2 becomes available first
  EXPECT_EQ(v.balance.pending, 30);
  EXPECT_EQ(v.balance.held, 20);
  sweep(s, 100, 700);
}

TEST(BalanceView, WithNothingDueItHoldsForever) {
  MemberState s;
  auto v = balance_view(s, T(10));
  EXPECT_FALSE(v.valid_until.has_value());
  EXPECT_TRUE(v.holds_at(T(1'000'000'000)));
  EXPECT_FALSE(v.holds_at(T(9)));  // not before the instant it was taken at
}

TEST(BalanceView, RandomStatesAgreeWithBalanceAtEverywhereTheViewHolds) {
  for (unsigned seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    MemberState s;
    std::int64_t now = 0;
    for (int i = 0; i < 12; ++i) {
      now += pick(0, 40);
      const auto id = "s" + std::to_string(seed) + "_" + std::to_string(i);
      switch (pick(0, 3)) {
        case 0:
        case 1:
          (void)earn(s, T(now), earn_spec(id, "p" + std::to_string(pick(1, 3)), pick(1, 60), now + pick(0, 60),
                                          now + pick(61, 300)));
          break;
        case 2:
          (void)authorize(s, T(now), redeem_spec(id, "p9", pick(1, 40), now + pick(1, 120)));
          break;
        default:
          if (!s.redemptions.empty()) (void)capture(s, T(now), s.redemptions.back().id, std::nullopt);
          break;
      }
    }
    sweep(s, now, now + 400);
  }
}

}  // namespace
}  // namespace emtiaz::points
