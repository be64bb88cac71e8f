// The wallet's mapping of commands onto the points domain: points arithmetic at the edges, the exact
// response shapes, and the business outcomes that are answered (and stored) rather than thrown.
#include <gtest/gtest.h>

#include "wallet/applier.hpp"
#include "wallet/tests/helpers.hpp"

namespace emtiaz::wallet {
namespace {

using namespace std::chrono_literals;

using testing::at;
using testing::command;

nlohmann::json body(const Effect& e) { return nlohmann::json::parse(e.body); }

TEST(Applier, EarnIssuesFloorOfAmountTimesRate) {
  WalletState s;
  auto e = apply_command(s, command(CommandType::earn, {{"amount_irr", 259'999}, {"receipt_id", "r1"}}), at(0), false);
  ASSERT_EQ(e.status, 201);
  // 259,999 × 4 / 10,000 = 103.9996 → 103
  EXPECT_EQ(body(e)["points"], 103);
  EXPECT_EQ(body(e)["status"], "active");
  EXPECT_EQ(body(e)["balance"]["available"], 103);
  ASSERT_TRUE(e.earn);
  EXPECT_EQ(e.earn->points, 103);
  ASSERT_EQ(e.history.size(), 1u);
  EXPECT_EQ(e.history[0].type, "earn");
  EXPECT_EQ(e.history[0].points, 103);
}

TEST(Applier, EarnThatWouldOverflowIsInvalidAmountNotACrash) {
  WalletState s;
  auto e = apply_command(s, command(CommandType::earn, {{"amount_irr", 1'000'000'000'000'000}, {"receipt_id", "r"}}, 1'000'000),
                         at(0), false);
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(body(e)["code"], "invalid_amount");
  EXPECT_TRUE(e.movements.empty());
}

// What an earn issues is billed to its partner at points × issue_price_irr: above 10^15 IRR, or past int64, it
// is refused before any lot is made. The helper's partner sells points at 200 IRR; at 10,000 points per
// 10,000 IRR a purchase of N rial issues N points, worth 200 × N.
TEST(Applier, EarnWorthMoreThanTheLimitIsInvalidAmount) {
  struct Case {
    std::int64_t amount, issue_price;
    int status;
  };
  for (const auto& c : {Case{5'000'000'000'001, 200, 422},                  // 1,000,000,000,000,200 IRR
                        Case{1'000'000'000'000, 1'000'000'000'000'000, 422},  // 10^27: past int64
                        Case{5'000'000'000'000, 200, 201}}) {                // exactly 10^15 IRR
    WalletState s;
    auto earn = command(CommandType::earn, {{"amount_irr", c.amount}, {"receipt_id", "r"}}, 10'000);
    earn.partner->issue_price_irr = c.issue_price;
    auto e = apply_command(s, earn, at(0), false);
    EXPECT_EQ(e.status, c.status) << c.amount << " " << e.body;
    if (c.status == 201) {
      EXPECT_EQ(body(e)["points"], c.amount);
      continue;
    }
    EXPECT_EQ(body(e)["code"], "invalid_amount");
    EXPECT_TRUE(e.movements.empty());
    EXPECT_TRUE(s.points.lots.empty());
  }
}

TEST(Applier, DuplicateReceiptIsABusinessOutcome) {
  WalletState s;
  auto e = apply_command(s, command(CommandType::earn, {{"amount_irr", 10'000}, {"receipt_id", "r1"}}), at(0), true);
  EXPECT_EQ(e.status, 409);
  EXPECT_EQ(body(e)["code"], "duplicate_receipt");
  EXPECT_FALSE(e.earn);
}

TEST(Applier, RedemptionByAmountRoundsPointsUp) {
  WalletState s;
  ASSERT_EQ(apply_command(s, command(CommandType::earn, {{"amount_irr", 1'000'000}, {"receipt_id", "r1"}}), at(0), false).status, 201);
  // 1,000 IRR at 150 IRR a point: 6.67 → 7 points, worth 1,050 IRR.
  auto e = apply_command(s, command(CommandType::authorize, {{"amount_irr", 1'000}, {"receipt_id", "till-9"}}), at(1), false);
  ASSERT_EQ(e.status, 201) << e.body;
  EXPECT_EQ(body(e)["points"], 7);
  EXPECT_EQ(body(e)["value_irr"], 1'050);
  EXPECT_EQ(body(e)["status"], "authorized");
  EXPECT_EQ(body(e)["receipt_id"], "till-9");
  EXPECT_EQ(body(e)["balance"]["held"], 7);
  EXPECT_EQ(body(e)["balance"]["available"], 400 - 7);
}

// value_irr = points × redeem_value_irr is money: a redemption worth more than 10^15 IRR is refused as any amount
// above it is (and the product never overflows), before anything is held; exactly 10^15 is not refused for it.
TEST(Applier, RedemptionWorthMoreThanTheLimitIsInvalidAmount) {
  WalletState s;
  const auto earn = command(CommandType::earn, {{"amount_irr", 100'000}, {"receipt_id", "r1"}});
  ASSERT_EQ(apply_command(s, earn, at(0), false).status, 201);
  struct Case {
    std::int64_t points, redeem_value;
    const char* code;
  };
  for (const auto& c : {Case{6'666'666'666'667, 150, "invalid_amount"},            // 1,000,000,000,000,050 IRR
                        Case{1'000'000'000'000'000, 1'000'000'000'000'000, "invalid_amount"},  // past int64
                        Case{1'000'000'000'000, 1'000, "insufficient_points"}}) {  // exactly 10^15 IRR
    const auto redeem = command(CommandType::authorize, {{"points", c.points}, {"receipt_id", "x"}}, 4, c.redeem_value);
    auto e = apply_command(s, redeem, at(1), false);
    EXPECT_EQ(e.status, 422) << c.points;
    EXPECT_EQ(body(e)["code"], c.code) << c.points;
    EXPECT_FALSE(e.redemption);
  }
  EXPECT_TRUE(s.points.redemptions.empty());
  EXPECT_EQ(points::balance_at(s.points, at(2)).available, 40);
}

TEST(Applier, InsufficientPointsHoldsNothing) {
  WalletState s;
  ASSERT_EQ(apply_command(s, command(CommandType::earn, {{"amount_irr", 100'000}, {"receipt_id", "r1"}}), at(0), false).status, 201);
  auto e = apply_command(s, command(CommandType::authorize, {{"points", 41}, {"receipt_id", "x"}}), at(1), false);
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(body(e)["code"], "insufficient_points");
  EXPECT_FALSE(e.redemption);
}

TEST(Applier, CaptureOfAVoidedRedemptionIsNotAuthorized) {
  WalletState s;
  ASSERT_EQ(apply_command(s, command(CommandType::earn, {{"amount_irr", 100'000}, {"receipt_id", "r1"}}), at(0), false).status, 201);
  auto a = apply_command(s, command(CommandType::authorize, {{"points", 10}, {"receipt_id", "x"}}), at(1), false);
  std::string id = body(a)["id"];
  auto v = apply_command(s, command(CommandType::void_redemption, {{"redemption_id", id}}), at(2), false);
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(body(v)["status"], "voided");
  auto c = apply_command(s, command(CommandType::capture, {{"redemption_id", id}}), at(3), false);
  EXPECT_EQ(c.status, 409);
  EXPECT_EQ(body(c)["code"], "redemption_not_authorized");
}

TEST(Applier, AnotherPartnerCannotActOnARedemption) {
  WalletState s;
  ASSERT_EQ(apply_command(s, command(CommandType::earn, {{"amount_irr", 100'000}, {"receipt_id", "r1"}}), at(0), false).status, 201);
  auto a = apply_command(s, command(CommandType::authorize, {{"points", 10}, {"receipt_id", "x"}}), at(1), false);
  ASSERT_EQ(a.status, 201);
  std::string id = body(a)["id"];
  for (auto type : {CommandType::capture, CommandType::void_redemption, CommandType::redemption_refund}) {
    auto other = command(type, {{"redemption_id", id}});
    other.partner->id = "par_2";
    auto e = apply_command(s, other, at(2), false);
    EXPECT_EQ(e.status, 404);
    EXPECT_EQ(body(e)["code"], "not_found");
    EXPECT_TRUE(e.movements.empty());
  }
  // Still held, and its own partner captures it: 40 − 10 held, then 10 captured.
  const auto* r = points::find_redemption(s.points, id);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->status, points::RedemptionStatus::authorized);
  auto c = apply_command(s, command(CommandType::capture, {{"redemption_id", id}}), at(3), false);
  EXPECT_EQ(c.status, 200);
  EXPECT_EQ(body(c)["points_captured"], 10);
  EXPECT_EQ(body(c)["balance"]["available"], 30);
}

TEST(Applier, AnotherPartnerCannotRefundAPurchase) {
  WalletState s;
  auto earned = apply_command(s, command(CommandType::earn, {{"amount_irr", 100'000}, {"receipt_id", "r1"}}), at(0), false);
  ASSERT_EQ(earned.status, 201);
  std::string earn_id = body(earned)["id"];
  auto other = command(CommandType::purchase_refund, {{"earn_id", earn_id}, {"amount_irr", 50'000}});
  other.partner->id = "par_2";
  auto e = apply_command(s, other, at(1), false);
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(body(e)["code"], "not_found");
  EXPECT_TRUE(e.movements.empty());
  // Its own partner refunds half the purchase: half of the 40 points are clawed back.
  auto own = apply_command(s, command(CommandType::purchase_refund, {{"earn_id", earn_id}, {"amount_irr", 50'000}}),
                           at(2), false);
  EXPECT_EQ(own.status, 201) << own.body;
  EXPECT_EQ(body(own)["balance"]["available"], 20) << own.body;
}

TEST(Applier, TimeAloneExpiresALotAtItsDeadline) {
  WalletState s;
  ASSERT_EQ(apply_command(s, command(CommandType::earn, {{"amount_irr", 100'000}, {"receipt_id", "r1"}}), at(0), false).status, 201);
  auto e = apply_time(s, at(61));
  ASSERT_EQ(e.history.size(), 1u);
  EXPECT_EQ(e.history[0].type, "lot_expiry");
  EXPECT_EQ(e.history[0].points, -40);
  // The lot was created at a whole second, so it expires exactly 60 s later.
  EXPECT_EQ(e.history[0].at, at(60));
}

}  // namespace
}  // namespace emtiaz::wallet
