// Hand-worked cases of the points semantics (api.md, "Points semantics (normative)"). Every expected
// figure below was worked out by hand from the rules, not read back from the code.

#include "points/points.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "points/conservation.hpp"
#include "points/points_json.hpp"
#include "points/tests/helpers.hpp"

namespace emtiaz::points {
namespace {

using testing::brief;
using testing::earn_spec;
using testing::M;
using testing::redeem_spec;
using testing::T;
using MT = MovementType;

// Applies operations and keeps every movement, so each test can also check conservation.
struct Member {
  MemberState state;
  std::vector<Movement> ledger;

  template <typename O>
  O keep(O outcome) {
    ledger.insert(ledger.end(), outcome.movements.begin(), outcome.movements.end());
    return outcome;
  }
  Outcome<Lot> earn(std::int64_t now, const LotSpec& spec) { return keep(points::earn(state, T(now), spec)); }
  Outcome<Points> adjust(std::int64_t now, const std::string& id, Points p, std::int64_t expires_at = 1'000'000) {
    return keep(points::adjust(state, T(now), AdjustmentSpec{id, p, T(expires_at)}));
  }
  Outcome<Points> refund(std::int64_t now, const std::string& earn_id, std::int64_t amount) {
    return keep(refund_purchase(state, T(now), earn_id, amount));
  }
  Outcome<Redemption> authorize(std::int64_t now, const RedemptionSpec& spec) {
    return keep(points::authorize(state, T(now), spec));
  }
  Outcome<Redemption> capture(std::int64_t now, const std::string& id, std::optional<Points> p = std::nullopt) {
    return keep(points::capture(state, T(now), id, p));
  }
  Outcome<Redemption> void_(std::int64_t now, const std::string& id) {
    return keep(void_redemption(state, T(now), id));
  }
  Outcome<Redemption> refund_r(std::int64_t now, const std::string& id, std::optional<Points> p = std::nullopt) {
    return keep(refund_redemption(state, T(now), id, p));
  }
  std::vector<Movement> advance(std::int64_t now) {
    auto movements = points::advance(state, T(now));
    ledger.insert(ledger.end(), movements.begin(), movements.end());
    return movements;
  }
  Balance balance(std::int64_t t) const { return balance_at(state, T(t)); }
  void expect_conserved() const {
    EXPECT_EQ(conservation_violations(figures_of(ledger), state), std::vector<std::string>{});
  }
};

TEST(Spending, EarliestExpiryFirstWithTiesByCreationOrder) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("B", "p2", 10, 0, 50)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("C", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("D", "p2", 10, 0, 50)).ok());

  auto r = m.authorize(1, redeem_spec("r1", "p3", 25, 60));
  ASSERT_TRUE(r.ok());
  // B and D expire first (B created before D), then A (created before C).
  EXPECT_EQ(brief(r.movements), (std::vector<M>{{MT::hold, 10, "B", 1}, {MT::hold, 10, "D", 1}, {MT::hold, 5, "A", 1}}));
  EXPECT_EQ(r.value.status, RedemptionStatus::authorized);
  EXPECT_EQ(held_points(r.value), 25);
  const auto b = m.balance(1);
  EXPECT_EQ(b.available, 15);
  EXPECT_EQ(b.held, 25);
  EXPECT_EQ(b.expiring, (std::vector<ExpiringPoints>{{5, T(100)}, {10, T(100)}}));
  EXPECT_EQ(r.movements[0].partner_id, "p3");
  EXPECT_EQ(r.movements[0].issuer, "p2");
  m.expect_conserved();
}

TEST(Spending, InsufficientPointsHoldsNothing) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 100)).ok());
  const auto before = nlohmann::json(m.state).dump();
  auto r = m.authorize(1, redeem_spec("r1", "p1", 11, 60));
  ASSERT_EQ(r.error, Error::insufficient_points);
  EXPECT_TRUE(r.movements.empty());
  auto after = nlohmann::json(m.state);
  after["as_of"] = nlohmann::json::parse(before)["as_of"];  // only the clock moved
  EXPECT_EQ(after.dump(), before);
  EXPECT_EQ(m.balance(1).available, 10);
  EXPECT_EQ(m.balance(1).held, 0);
  EXPECT_TRUE(m.authorize(1, redeem_spec("r2", "p1", 10, 60)).ok());
}

TEST(Spending, PendingPointsCannotBeRedeemedUntilAvailable) {
  Member m;
  auto e = m.earn(0, earn_spec("A", "p1", 10, 100, 1000));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e.value.pending);
  auto b = m.balance(50);
  EXPECT_EQ(b.available, 0);
  EXPECT_EQ(b.pending, 10);
  EXPECT_TRUE(b.expiring.empty());
  EXPECT_EQ(m.authorize(50, redeem_spec("r1", "p1", 1, 60)).error, Error::insufficient_points);
  EXPECT_EQ(m.balance(99).pending, 10);
  EXPECT_EQ(m.balance(100).available, 10);  // half-open: available at exactly available_at
  EXPECT_EQ(m.balance(100).pending, 0);

  auto r = m.authorize(150, redeem_spec("r2", "p1", 10, 200));
  ASSERT_TRUE(r.ok());
  // The pending->available event carries the instant it was due, not the instant it was applied.
  EXPECT_EQ(brief(r.movements), (std::vector<M>{{MT::pending_available, 10, "A", 100}, {MT::hold, 10, "A", 150}}));
  m.expect_conserved();
}

TEST(Capture, PartialCaptureReleasesTheRest) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("B", "p2", 10, 0, 200)).ok());
  ASSERT_TRUE(m.authorize(1, redeem_spec("r1", "p3", 15, 60)).ok());  // A10, B5
  EXPECT_EQ(m.capture(2, "r1", 0).error, Error::invalid_amount);
  EXPECT_EQ(m.capture(2, "r1", 16).error, Error::invalid_amount);
  auto c = m.capture(2, "r1", 12);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(brief(c.movements), (std::vector<M>{{MT::capture, 10, "A", 2}, {MT::capture, 2, "B", 2}, {MT::release, 3, "B", 2}}));
  EXPECT_EQ(c.value.status, RedemptionStatus::captured);
  EXPECT_EQ(c.value.points, 15);
  EXPECT_EQ(c.value.points_captured, 12);
  EXPECT_EQ(held_points(c.value), 0);
  auto b = m.balance(2);
  EXPECT_EQ(b.available, 8);
  EXPECT_EQ(b.held, 0);
  EXPECT_EQ(m.capture(3, "r1").error, Error::redemption_not_authorized);
  EXPECT_EQ(m.void_(3, "r1").error, Error::redemption_not_authorized);
  EXPECT_EQ(m.capture(3, "nope").error, Error::not_found);
  m.expect_conserved();
}

TEST(Capture, HoldWhoseLotExpiredMeanwhile) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("B", "p2", 10, 0, 200)).ok());
  ASSERT_TRUE(m.authorize(10, redeem_spec("r1", "p3", 15, 500)).ok());  // A10, B5
  // A expires at 100 with nothing unheld: no movement; its 10 held points survive.
  EXPECT_TRUE(m.advance(120).empty());
  EXPECT_EQ(m.balance(120).held, 15);
  EXPECT_EQ(m.balance(120).available, 5);
  auto c = m.capture(150, "r1", 4);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(brief(c.movements), (std::vector<M>{{MT::capture, 4, "A", 150},
                                                {MT::release, 6, "A", 150},
                                                {MT::lot_expiry, 6, "A", 150},
                                                {MT::release, 5, "B", 150}}));
  auto b = m.balance(150);
  EXPECT_EQ(b.available, 10);
  EXPECT_EQ(b.held, 0);
  m.expect_conserved();
}

TEST(Holds, HoldTimesOutByItselfInAdvance) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 1000)).ok());
  ASSERT_TRUE(m.authorize(10, redeem_spec("r1", "p2", 7, 40)).ok());
  EXPECT_EQ(m.balance(39).held, 7);
  EXPECT_EQ(m.balance(40).held, 0);  // half-open: timed out at exactly expires_at
  EXPECT_EQ(m.balance(40).available, 10);
  EXPECT_EQ(next_due(m.state), T(40));
  auto moved = m.advance(100);
  EXPECT_EQ(brief(moved), (std::vector<M>{{MT::hold_expiry, 7, "A", 40}}));
  EXPECT_EQ(moved[0].redemption_id, "r1");
  EXPECT_EQ(find_redemption(m.state, "r1")->status, RedemptionStatus::expired);
  EXPECT_EQ(m.capture(101, "r1").error, Error::redemption_not_authorized);
  EXPECT_EQ(next_due(m.state), T(1000));
  m.expect_conserved();
}

TEST(Holds, CaptureAtExactlyTheDeadlineIsRefused) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 1000)).ok());
  ASSERT_TRUE(m.authorize(10, redeem_spec("r1", "p2", 7, 40)).ok());
  auto c = m.capture(40, "r1");
  EXPECT_EQ(c.error, Error::redemption_not_authorized);
  // The failed operation still reports the advance it applied.
  EXPECT_EQ(brief(c.movements), (std::vector<M>{{MT::hold_expiry, 7, "A", 40}}));
  m.expect_conserved();
}

TEST(Holds, HeldPointsDoNotExpireWhileHeld) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("B", "p1", 4, 0, 1000)).ok());
  ASSERT_TRUE(m.authorize(50, redeem_spec("r1", "p2", 8, 500)).ok());  // A8; A keeps 2 unheld
  auto moved = m.advance(200);
  EXPECT_EQ(brief(moved), (std::vector<M>{{MT::lot_expiry, 2, "A", 100}}));
  auto b = m.balance(200);
  EXPECT_EQ(b.held, 8);
  EXPECT_EQ(b.available, 4);
  // Timing out after the lot's expiry: released, then expired at once, both at the hold's deadline.
  moved = m.advance(600);
  EXPECT_EQ(brief(moved), (std::vector<M>{{MT::hold_expiry, 8, "A", 500}, {MT::lot_expiry, 8, "A", 500}}));
  EXPECT_EQ(m.balance(600).available, 4);
  m.expect_conserved();
}

TEST(Holds, HoldTimeoutAtTheInstantItsLotExpires) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.authorize(50, redeem_spec("r1", "p2", 8, 100)).ok());
  // Rule: holds time out before lots expire at the same instant, so one expiry takes all 10.
  auto moved = m.advance(100);
  EXPECT_EQ(brief(moved), (std::vector<M>{{MT::hold_expiry, 8, "A", 100}, {MT::lot_expiry, 10, "A", 100}}));
  m.expect_conserved();
}

TEST(Time, LotAvailableAndExpiringAtTheSameInstantIsNeverAvailable) {
  Member m;
  ASSERT_TRUE(m.adjust(0, "debt", -5).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 100, 100)).ok());
  EXPECT_EQ(m.balance(99).pending, 10);
  auto b = m.balance(100);
  EXPECT_EQ(b.pending, 0);
  EXPECT_EQ(b.available, -5);  // its points never became available, so they repaid nothing
  EXPECT_EQ(brief(m.advance(100)), (std::vector<M>{{MT::lot_expiry, 10, "A", 100}}));
  m.expect_conserved();
}

TEST(Time, SimultaneousEventsFollowTheDocumentedOrder) {
  Member m;
  // Debt of 6; at t=100 lot P becomes available, hold r1 (on lot A) times out and lot X expires.
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 5, 0, 1000)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("X", "p1", 3, 0, 100)).ok());
  ASSERT_TRUE(m.authorize(0, redeem_spec("r1", "p2", 5, 100)).ok());  // X3, A2
  ASSERT_TRUE(m.adjust(1, "neg", -9).ok());                           // A3 taken, debt 6
  ASSERT_TRUE(m.earn(1, earn_spec("P", "p3", 4, 100, 1000)).ok());
  EXPECT_EQ(m.state.debt, 6);
  auto moved = m.advance(100);
  EXPECT_EQ(brief(moved), (std::vector<M>{{MT::pending_available, 4, "P", 100},
                                          {MT::debt_repayment, 4, "P", 100},
                                          {MT::hold_expiry, 3, "X", 100},
                                          {MT::hold_expiry, 2, "A", 100},
                                          {MT::debt_repayment, 2, "A", 100},
                                          {MT::lot_expiry, 3, "X", 100}}));
  EXPECT_EQ(m.state.debt, 0);
  EXPECT_EQ(m.balance(100).available, 0);
  m.expect_conserved();
}

TEST(Clawback, RoundingOverSeveralPartialRefunds) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 100, 0, 1000, 300000)).ok());
  auto r1 = m.refund(1, "earn_A", 100000);
  auto r2 = m.refund(2, "earn_A", 100000);
  auto r3 = m.refund(3, "earn_A", 100000);
  ASSERT_TRUE(r1.ok() && r2.ok() && r3.ok());
  EXPECT_EQ(r1.value, 33);  // ⌊100×100000/300000⌋ = 33
  EXPECT_EQ(r2.value, 33);  // ⌊100×200000/300000⌋ = 66
  EXPECT_EQ(r3.value, 34);  // 100
  EXPECT_EQ(brief(r3.movements), (std::vector<M>{{MT::clawback, 34, "A", 3}}));
  EXPECT_EQ(r3.movements[0].earn_id, "earn_A");
  EXPECT_EQ(r3.movements[0].partner_id, "p1");
  EXPECT_EQ(m.refund(4, "earn_A", 1).error, Error::refund_exceeds_purchase);
  EXPECT_EQ(m.balance(4).available, 0);
  EXPECT_EQ(find_earn_lot(m.state, "earn_A")->clawed_back, 100);
  m.expect_conserved();
}

TEST(Clawback, SmallRefundsCanClawBackNothingYet) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 7, 0, 1000, 10)).ok());
  EXPECT_EQ(m.refund(1, "earn_A", 1).value, 0);  // ⌊0.7⌋
  EXPECT_EQ(m.refund(1, "earn_A", 2).value, 2);  // ⌊2.1⌋
  EXPECT_EQ(m.refund(1, "earn_A", 8).error, Error::refund_exceeds_purchase);
  EXPECT_EQ(m.refund(1, "earn_A", 0).error, Error::invalid_amount);
  EXPECT_EQ(m.refund(1, "earn_B", 1).error, Error::not_found);
  EXPECT_EQ(m.refund(1, "earn_A", 7).value, 5);  // 7 − 2
  m.expect_conserved();
}

TEST(Clawback, OwnLotFirstThenOthersEarliestExpiryThenDebt) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("E", "p1", 20, 0, 50, 20000)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("Y", "p2", 5, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("Z", "p3", 5, 0, 200)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("W", "p2", 5, 0, 200)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("Q", "p3", 5, 30, 200)).ok());      // pending: not taken
  ASSERT_TRUE(m.authorize(1, redeem_spec("r1", "p4", 18, 40)).ok());  // E18
  auto r = m.refund(2, "earn_E", 20000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value, 20);
  EXPECT_EQ(brief(r.movements), (std::vector<M>{{MT::clawback, 2, "E", 2},
                                                {MT::clawback, 5, "Y", 2},
                                                {MT::clawback, 5, "Z", 2},
                                                {MT::clawback, 5, "W", 2},
                                                {MT::debt, 3, "", 2}}));
  EXPECT_EQ(r.movements[4].earn_id, "earn_E");
  EXPECT_EQ(m.state.debt, 3);
  auto b = m.balance(2);
  EXPECT_EQ(b.available, -3);
  EXPECT_EQ(b.pending, 5);
  EXPECT_EQ(b.held, 18);
  EXPECT_EQ(m.authorize(3, redeem_spec("r2", "p4", 1, 40)).error, Error::insufficient_points);
  // Q becoming available at 30 repays the debt first.
  auto moved = m.advance(30);
  EXPECT_EQ(brief(moved), (std::vector<M>{{MT::pending_available, 5, "Q", 30}, {MT::debt_repayment, 3, "Q", 30}}));
  EXPECT_EQ(m.balance(30).available, 2);
  m.expect_conserved();
}

TEST(Clawback, PendingOwnLotIsTakenFirst) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("O", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("E", "p2", 10, 50, 500, 10000)).ok());
  auto r = m.refund(1, "earn_E", 5000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(brief(r.movements), (std::vector<M>{{MT::clawback, 5, "E", 1}}));
  auto b = m.balance(1);
  EXPECT_EQ(b.available, 10);
  EXPECT_EQ(b.pending, 5);
  m.expect_conserved();
}

TEST(Debt, RepaidByTheNextEarnAndByReleasedPoints) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 1000, 10000)).ok());
  ASSERT_TRUE(m.authorize(1, redeem_spec("r1", "p2", 6, 100)).ok());
  auto r = m.refund(2, "earn_A", 10000);  // claws 10: A's 4 unheld, debt 6
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(brief(r.movements), (std::vector<M>{{MT::clawback, 4, "A", 2}, {MT::debt, 6, "", 2}}));
  EXPECT_EQ(m.balance(2).available, -6);
  EXPECT_EQ(m.balance(2).held, 6);

  auto e = m.earn(3, earn_spec("B", "p3", 4, 0, 1000));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(brief(e.movements), (std::vector<M>{{MT::earn, 4, "B", 3}, {MT::debt_repayment, 4, "B", 3}}));
  EXPECT_EQ(e.value.remaining, 0);
  EXPECT_EQ(m.state.debt, 2);

  auto v = m.void_(4, "r1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value.status, RedemptionStatus::voided);
  EXPECT_EQ(brief(v.movements), (std::vector<M>{{MT::release, 6, "A", 4}, {MT::debt_repayment, 2, "A", 4}}));
  EXPECT_EQ(m.state.debt, 0);
  EXPECT_EQ(m.balance(4).available, 4);
  // Repayments count as clawed back for the lot's issuer.
  const auto figures = figures_of(m.ledger);
  EXPECT_EQ(figures.issuers.at("p1").clawed_back, 4 + 2);
  EXPECT_EQ(figures.issuers.at("p3").clawed_back, 4);
  m.expect_conserved();
}

TEST(Debt, NegativeAdjustmentAndOperatorLotRepayment) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 1000)).ok());
  EXPECT_EQ(m.adjust(1, "adj0", 0).error, Error::invalid_amount);
  auto neg = m.adjust(1, "adj1", -15);
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(neg.value, -15);
  EXPECT_EQ(brief(neg.movements), (std::vector<M>{{MT::adjustment_debit, 10, "A", 1}, {MT::debt, 5, "", 1}}));
  auto pos = m.adjust(2, "adj2", 8, 500);
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(brief(pos.movements), (std::vector<M>{{MT::adjustment, 8, "adj2", 2}, {MT::debt_repayment, 5, "adj2", 2}}));
  EXPECT_EQ(pos.movements[0].issuer, kOperatorIssuer);
  auto b = m.balance(2);
  EXPECT_EQ(b.available, 3);
  EXPECT_EQ(b.expiring, (std::vector<ExpiringPoints>{{3, T(500)}}));
  m.expect_conserved();
}

TEST(RedemptionRefund, LatestExpiryFirstIntoTheOriginalLots) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 5, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("B", "p2", 5, 0, 200)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("C", "p3", 5, 0, 300)).ok());
  ASSERT_TRUE(m.authorize(1, redeem_spec("r1", "p9", 12, 50)).ok());  // A5 B5 C2
  ASSERT_TRUE(m.capture(2, "r1").ok());
  EXPECT_EQ(m.refund_r(3, "r1", 13).error, Error::refund_exceeds_redemption);
  EXPECT_EQ(m.refund_r(3, "r1", 0).error, Error::invalid_amount);
  auto r = m.refund_r(3, "r1", 6);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(brief(r.movements), (std::vector<M>{{MT::redemption_refund, 2, "C", 3}, {MT::redemption_refund, 4, "B", 3}}));
  EXPECT_EQ(r.value.status, RedemptionStatus::partially_refunded);
  EXPECT_EQ(r.value.points_refunded, 6);
  EXPECT_EQ(m.balance(3).expiring, (std::vector<ExpiringPoints>{{4, T(200)}, {5, T(300)}}));

  // A expired at 100 while its 5 points were redeemed; refunded into it at 150, they expire at once.
  auto rest = m.refund_r(150, "r1");
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(brief(rest.movements), (std::vector<M>{{MT::redemption_refund, 1, "B", 150},
                                                   {MT::redemption_refund, 5, "A", 150},
                                                   {MT::lot_expiry, 5, "A", 150}}));
  EXPECT_EQ(rest.value.status, RedemptionStatus::refunded);
  EXPECT_EQ(rest.value.points_refunded, 12);
  EXPECT_EQ(m.balance(150).available, 10);
  EXPECT_EQ(m.refund_r(151, "r1").error, Error::refund_exceeds_redemption);
  const auto figures = figures_of(m.ledger);
  EXPECT_EQ(figures.issuers.at("p1").net_redeemed(), 0);
  EXPECT_EQ(figures.issuers.at("p1").expired, 5);
  m.expect_conserved();
}

TEST(RedemptionRefund, NothingCapturedNothingToRefund) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 5, 0, 100)).ok());
  ASSERT_TRUE(m.authorize(1, redeem_spec("r1", "p9", 3, 50)).ok());
  EXPECT_EQ(m.refund_r(2, "r1").error, Error::refund_exceeds_redemption);
  EXPECT_EQ(m.refund_r(2, "r9").error, Error::not_found);
}

TEST(Balance, AfterExpiresAtExcludesTheLotWithoutAdvance) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("B", "p1", 3, 0, 300)).ok());
  const auto json_before = nlohmann::json(m.state).dump();
  auto b = m.balance(99);
  EXPECT_EQ(b.available, 13);
  EXPECT_EQ(b.expiring, (std::vector<ExpiringPoints>{{10, T(100)}, {3, T(300)}}));
  b = m.balance(100);
  EXPECT_EQ(b.available, 3);
  EXPECT_EQ(b.expiring, (std::vector<ExpiringPoints>{{3, T(300)}}));
  EXPECT_EQ(m.balance(400).available, 0);
  EXPECT_EQ(nlohmann::json(m.state).dump(), json_before);  // balance_at works on a copy
  EXPECT_EQ(m.state.as_of, T(0));
}

TEST(Balance, ExpiringListsAtMostTenLots) {
  Member m;
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(m.earn(0, earn_spec("L" + std::to_string(i), "p1", i + 1, 0, 1000 - i)).ok());
  }
  auto b = m.balance(0);
  ASSERT_EQ(b.expiring.size(), kExpiringMax);
  EXPECT_EQ(b.expiring.front(), (ExpiringPoints{12, T(989)}));
  EXPECT_EQ(b.expiring.back(), (ExpiringPoints{3, T(998)}));
}

TEST(NextDue, EarliestFutureEventWithPoints) {
  Member m;
  EXPECT_EQ(next_due(m.state), std::nullopt);
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 50, 300)).ok());
  EXPECT_EQ(next_due(m.state), T(50));
  ASSERT_TRUE(m.authorize(60, redeem_spec("r1", "p2", 10, 80)).ok());
  EXPECT_EQ(next_due(m.state), T(80));  // A holds nothing unheld, so its expiry moves nothing
  ASSERT_TRUE(m.capture(70, "r1").ok());
  EXPECT_EQ(next_due(m.state), std::nullopt);
}

TEST(Earn, ZeroPointEarnKeepsRefundBookkeepingAndValidation) {
  Member m;
  auto e = m.earn(0, earn_spec("A", "p1", 0, 0, 100, 5000));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e.movements.empty());
  EXPECT_EQ(m.refund(1, "earn_A", 5000).value, 0);
  EXPECT_EQ(m.refund(1, "earn_A", 1).error, Error::refund_exceeds_purchase);
  EXPECT_EQ(m.earn(1, earn_spec("A", "p1", 1, 0, 100)).error, Error::duplicate_id);
  EXPECT_EQ(m.earn(1, earn_spec("B", "p1", -1, 0, 100)).error, Error::invalid_amount);
  EXPECT_EQ(m.earn(1, earn_spec("B", "p1", 1, 0, 1)).error, Error::invalid_time);
  EXPECT_EQ(m.authorize(1, redeem_spec("r", "p1", 1, 1)).error, Error::invalid_time);
  m.expect_conserved();
}

// A member's points (pending, available and held) never pass int64: each earn is at most 10^15 points, so it
// takes 9,224 of them to get there; the one that would is refused and changes nothing.
TEST(Earn, AMembersPointsNeverPassInt64) {
  constexpr Points max = std::numeric_limits<Points>::max();
  constexpr Points bound = 1'000'000'000'000'000;
  Member m;
  Points held_by_model = 0;
  for (int i = 0; i < 9'223; ++i) {
    ASSERT_TRUE(m.earn(0, earn_spec("L" + std::to_string(i), "p1", bound, 0, 1'000'000, 1'000)).ok()) << i;
    held_by_model += bound;
  }
  const Points room = max - held_by_model;  // 372,036,854,775,807
  EXPECT_EQ(room, 372'036'854'775'807);
  EXPECT_EQ(m.earn(1, earn_spec("over", "p1", room + 1, 0, 1'000'000, 1'000)).error, Error::invalid_amount);
  EXPECT_EQ(m.adjust(1, "adj", room + 1).error, Error::invalid_amount);
  ASSERT_TRUE(m.earn(1, earn_spec("last", "p1", room - 10, 0, 1'000'000, 1'000)).ok());
  ASSERT_TRUE(m.adjust(1, "adj", 10).ok());
  EXPECT_EQ(m.balance(2).available, max);
  // Held points are still the member's: holding 25 leaves no room either.
  ASSERT_TRUE(m.authorize(2, redeem_spec("r", "p2", 25, 100)).ok());
  const auto lots = m.state.lots.size();
  EXPECT_EQ(m.earn(3, earn_spec("one", "p1", 1, 0, 1'000'000, 1'000)).error, Error::invalid_amount);
  EXPECT_EQ(m.adjust(3, "adj-one", 1).error, Error::invalid_amount);
  EXPECT_EQ(m.state.lots.size(), lots);
  EXPECT_EQ(m.balance(3).available, max - 25);
  EXPECT_EQ(m.balance(3).held, 25);
  // A negative adjustment makes room again.
  ASSERT_TRUE(m.adjust(4, "adj-down", -5).ok());
  EXPECT_TRUE(m.earn(4, earn_spec("five", "p1", 5, 0, 1'000'000, 1'000)).ok());
  EXPECT_EQ(m.earn(4, earn_spec("six", "p1", 1, 0, 1'000'000, 1'000)).error, Error::invalid_amount);
}

std::vector<std::string> lot_ids(const std::vector<Lot>& lots) {
  std::vector<std::string> ids;
  for (const auto& lot : lots) ids.push_back(lot.id);
  return ids;
}

std::vector<std::string> redemption_ids(const std::vector<Redemption>& redemptions) {
  std::vector<std::string> ids;
  for (const auto& redemption : redemptions) ids.push_back(redemption.id);
  return ids;
}

TEST(Archive, MovesOutOnlyWhatHoldsNoPointsAndCannotChangeByItself) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("B", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.earn(0, earn_spec("P", "p2", 10, 50, 100)).ok());     // pending until 50
  ASSERT_TRUE(m.earn(0, earn_spec("E", "p2", 10, 0, 20)).ok());       // expires at 20
  ASSERT_TRUE(m.authorize(1, redeem_spec("r1", "p3", 10, 90)).ok());  // all of E
  ASSERT_TRUE(m.capture(2, "r1").ok());
  ASSERT_TRUE(m.authorize(3, redeem_spec("r2", "p3", 10, 90)).ok());  // all of A
  ASSERT_TRUE(m.authorize(4, redeem_spec("r3", "p3", 5, 90)).ok());   // half of B
  ASSERT_TRUE(m.void_(5, "r3").ok());
  EXPECT_EQ(m.refund(6, "earn_P", 10'000).value, 10);  // P: pending, and empty
  const auto before = m.balance(7);

  auto archived = archive_finished(m.state);
  // E is empty (r1 captured it); A is empty but r2 still holds its points; P is empty but still pending;
  // B has points. r1 and r3 are finished; r2 holds points.
  EXPECT_EQ(lot_ids(archived.lots), (std::vector<std::string>{"E"}));
  EXPECT_EQ(redemption_ids(archived.redemptions), (std::vector<std::string>{"r1", "r3"}));
  EXPECT_EQ(lot_ids(m.state.lots), (std::vector<std::string>{"A", "B", "P"}));
  EXPECT_EQ(redemption_ids(m.state.redemptions), (std::vector<std::string>{"r2"}));
  EXPECT_EQ(m.balance(7), before);
  m.expect_conserved();

  // Once P is available (and still empty) it leaves too; a second archive of the same state moves nothing.
  m.advance(60);
  EXPECT_EQ(lot_ids(archive_finished(m.state).lots), (std::vector<std::string>{"P"}));
  EXPECT_TRUE(archive_finished(m.state).lots.empty());
  m.expect_conserved();
}

TEST(Archive, RestoredRecordsBehaveAsIfTheyHadNeverLeft) {
  // Two members given the same operations; one archives after each and restores what the next needs.
  Member kept, moved;
  std::map<std::string, Lot> lots;
  std::map<std::string, Redemption> redemptions;
  auto archive = [&] {
    auto out = archive_finished(moved.state);
    for (auto& lot : out.lots) lots[lot.id] = lot;
    for (auto& redemption : out.redemptions) redemptions[redemption.id] = redemption;
  };
  auto bring_back = [&](const std::string& redemption_id) {
    Archived back;
    back.redemptions.push_back(redemptions.at(redemption_id));
    for (const auto& id : missing_lots(moved.state, back.redemptions.back())) back.lots.push_back(lots.at(id));
    restore(moved.state, std::move(back));
  };
  for (Member* m : {&kept, &moved}) {
    ASSERT_TRUE(m->earn(0, earn_spec("A", "p1", 10, 0, 100)).ok());
    ASSERT_TRUE(m->earn(0, earn_spec("B", "p2", 10, 0, 300)).ok());
    ASSERT_TRUE(m->authorize(1, redeem_spec("r1", "p3", 15, 50)).ok());  // A 10, B 5
    ASSERT_TRUE(m->capture(2, "r1").ok());
  }
  archive();
  EXPECT_EQ(lot_ids(moved.state.lots), (std::vector<std::string>{"B"}));
  EXPECT_TRUE(moved.state.redemptions.empty());

  // A capture of a captured redemption is refused from its status, as before.
  bring_back("r1");
  EXPECT_EQ(lot_ids(moved.state.lots), (std::vector<std::string>{"A", "B"}));  // creation order
  EXPECT_EQ(kept.capture(3, "r1").error, Error::redemption_not_authorized);
  EXPECT_EQ(moved.capture(3, "r1").error, Error::redemption_not_authorized);
  archive();

  // A refund after A's expiry: restored A is flagged expired, so its points expire at the return; B takes
  // its share back and keeps it.
  for (Member* m : {&kept, &moved}) m->advance(150);
  archive();
  bring_back("r1");
  EXPECT_TRUE(find_lot(moved.state, "A")->expired);
  auto k = kept.refund_r(200, "r1");
  auto v = moved.refund_r(200, "r1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.movements, k.movements);
  EXPECT_EQ(brief(v.movements), (std::vector<M>{{MT::redemption_refund, 5, "B", 200},
                                                {MT::redemption_refund, 10, "A", 200},
                                                {MT::lot_expiry, 10, "A", 200}}));
  archive();
  EXPECT_EQ(lot_ids(moved.state.lots), (std::vector<std::string>{"B"}));
  EXPECT_EQ(moved.balance(200), kept.balance(200));

  // A purchase refund of an archived earn: its lot's bookkeeping comes back with it.
  restore(moved.state, Archived{{lots.at("A")}, {}});
  for (Member* m : {&kept, &moved}) {
    EXPECT_EQ(m->refund(210, "earn_A", 5'000).value, 5);  // taken from B: A is expired
    EXPECT_EQ(m->refund(211, "earn_A", 5'001).error, Error::refund_exceeds_purchase);
  }
  EXPECT_EQ(moved.ledger, kept.ledger);
  EXPECT_EQ(moved.balance(220), kept.balance(220));
  kept.expect_conserved();
  moved.expect_conserved();
}

TEST(Archive, AMissingLotIsReportedBeforeAnythingChanges) {
  Member m;
  ASSERT_TRUE(m.earn(0, earn_spec("A", "p1", 10, 0, 100)).ok());
  ASSERT_TRUE(m.authorize(1, redeem_spec("r1", "p3", 10, 50)).ok());
  ASSERT_TRUE(m.capture(2, "r1").ok());
  auto out = archive_finished(m.state);
  restore(m.state, Archived{{}, out.redemptions});  // without its lot
  EXPECT_EQ(missing_lots(m.state, out.redemptions.front()), (std::vector<std::string>{"A"}));
  const auto before = nlohmann::json(m.state).dump();
  EXPECT_THROW((void)refund_redemption(m.state, T(2), "r1", std::nullopt), std::logic_error);  // as_of: no advance
  EXPECT_EQ(nlohmann::json(m.state).dump(), before);
}

}  // namespace
}  // namespace emtiaz::points
