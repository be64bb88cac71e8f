// Settlement arithmetic against hand-worked cases (api.md, "Settlement (normative)").
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "clearing/settlement.hpp"
#include "common/crypto.hpp"

namespace emtiaz::clearing {
namespace {

LedgerEvent earn(const std::string& issuer, std::int64_t points, std::int64_t price, std::int64_t fee_bps) {
  return {"earn", points, issuer, price, fee_bps, issuer, 0, "earn_1"};
}
LedgerEvent taken(const std::string& type, const std::string& issuer, std::int64_t points, std::int64_t price,
                  std::int64_t fee_bps) {
  return {type, points, issuer, price, fee_bps, "", 0, type == "clawback" ? "earn_1" : ""};
}
LedgerEvent capture(const std::string& issuer, const std::string& redeemer, std::int64_t points, std::int64_t value) {
  return {"capture", points, issuer, 100, 0, redeemer, value, ""};
}
LedgerEvent refund(const std::string& issuer, const std::string& redeemer, std::int64_t points, std::int64_t value) {
  return {"redemption_refund", points, issuer, 100, 0, redeemer, value, ""};
}

TEST(Settlement, RoundsHalfAwayFromZero) {
  EXPECT_EQ(div_round_half_away(617250, 10000), 62);   // 61.725
  EXPECT_EQ(div_round_half_away(615000, 10000), 62);   // 61.5
  EXPECT_EQ(div_round_half_away(614999, 10000), 61);
  EXPECT_EQ(div_round_half_away(-615000, 10000), -62);
  EXPECT_EQ(div_round_half_away(-614999, 10000), -61);
  EXPECT_EQ(div_round_half_away(0, 10000), 0);
}

TEST(Settlement, FeeIsRoundedOncePerPartnerFromTheExactSum) {
  // issued_irr 12345 at 50 bps: 61.725 -> 62.
  auto f = compute({{"p1", "A"}}, {earn("p1", 12345, 1, 50)});
  ASSERT_EQ(f.partners.size(), 1u);
  EXPECT_EQ(f.partners[0].issued_irr, 12345);
  EXPECT_EQ(f.partners[0].fee_irr, 62);
  EXPECT_EQ(f.partners[0].net_irr, -12345 - 62);
  // Three lots each worth 0.5 rial of fee: rounded once (1.5 -> 2), not per lot (1+1+1 = 3 or 0).
  auto g = compute({{"p1", "A"}}, {earn("p1", 1, 100, 50), earn("p1", 1, 100, 50), earn("p1", 1, 100, 50)});
  EXPECT_EQ(g.partners[0].issued_irr, 300);
  EXPECT_EQ(g.partners[0].fee_irr, 2);
  // Lots with their own prices and fees: 10 x 200 x 150 + 5 x 300 x 0 = 300000 / 10000 = 30.
  auto h = compute({{"p1", "A"}}, {earn("p1", 10, 200, 150), earn("p1", 5, 300, 0)});
  EXPECT_EQ(h.partners[0].issued_irr, 3500);
  EXPECT_EQ(h.partners[0].fee_irr, 30);
}

TEST(Settlement, ClawbacksCanMakeIssuanceNegative) {
  // Earned in an earlier period, clawed back in this one: the partner is owed the price and fee back.
  auto f = compute({{"p1", "A"}}, {taken("clawback", "p1", 7, 1000, 125), taken("debt_repayment", "p1", 3, 1000, 125)});
  const auto& r = f.partners[0];
  EXPECT_EQ(r.points_clawed_back, 10);
  EXPECT_EQ(r.issued_irr, -10000);
  EXPECT_EQ(r.fee_irr, -125);  // -10000 x 125 / 10000 = -125
  EXPECT_EQ(r.net_irr, 0 - (-10000) - (-125));
  EXPECT_EQ(f.totals.operator_net_irr, -10125);
  // Half way, negative: -5 x 1 x 1 bps... -0.5 -> -1 (away from zero).
  auto g = compute({{"p1", "A"}}, {taken("clawback", "p1", 50, 1, 1000)});
  EXPECT_EQ(g.partners[0].issued_irr, -50);
  EXPECT_EQ(g.partners[0].fee_irr, -5);
  auto h = compute({{"p1", "A"}}, {taken("clawback", "p1", 5, 1, 1000)});
  EXPECT_EQ(h.partners[0].fee_irr, -1);  // -0.5
}

TEST(Settlement, CrossPartnerRedemptionAndMatrixByLotIssuer) {
  // Cafe issues 100 at 200 IRR; taxi issues 40 at 100 IRR with 1% fee. A member redeems 70 at the taxi
  // (value 150): 50 from the cafe's lot, 20 from the taxi's own lot; 5 of the cafe's are refunded later.
  std::vector<LedgerEvent> ev = {earn("cafe", 100, 200, 0), earn("taxi", 40, 100, 100),
                                 capture("cafe", "taxi", 50, 150), capture("taxi", "taxi", 20, 150),
                                 refund("cafe", "taxi", 5, 150), {"hold", 70, "cafe", 200, 0, "taxi", 150, ""},
                                 {"release", 10, "cafe", 200, 0, "taxi", 150, ""}};
  auto f = compute({{"cafe", "کافه"}, {"taxi", "Taxi"}, {"idle", "Idle"}}, ev);
  ASSERT_EQ(f.partners.size(), 3u);
  const auto& cafe = f.partners[0];
  const auto& taxi = f.partners[1];
  const auto& idle = f.partners[2];
  EXPECT_EQ(cafe.points_issued, 100);
  EXPECT_EQ(cafe.issued_irr, 20000);
  EXPECT_EQ(cafe.points_redeemed, 0);
  EXPECT_EQ(cafe.net_irr, -20000);
  EXPECT_EQ(taxi.points_issued, 40);
  EXPECT_EQ(taxi.issued_irr, 4000);
  EXPECT_EQ(taxi.fee_irr, 40);
  EXPECT_EQ(taxi.points_redeemed, 70);
  EXPECT_EQ(taxi.points_redemption_refunded, 5);
  EXPECT_EQ(taxi.redeemed_irr, 65 * 150);
  EXPECT_EQ(taxi.net_irr, 65 * 150 - 4000 - 40);
  EXPECT_EQ(idle, (PartnerRow{"idle", "Idle"}));
  std::vector<MatrixRow> m = {{"cafe", "taxi", 45}, {"taxi", "taxi", 20}};
  EXPECT_EQ(f.matrix, m);
  EXPECT_EQ(f.totals.points_issued, 140);
  EXPECT_EQ(f.totals.points_redeemed, 70);
  EXPECT_EQ(f.totals.points_redemption_refunded, 5);
  EXPECT_EQ(f.totals.issued_irr, 24000);
  EXPECT_EQ(f.totals.fee_irr, 40);
  EXPECT_EQ(f.totals.redeemed_irr, 9750);
  EXPECT_EQ(f.totals.operator_net_irr, 24000 + 40 - 9750);
  EXPECT_EQ(f.totals.operator_net_irr, -(cafe.net_irr + taxi.net_irr + idle.net_irr));
}

TEST(Settlement, OperatorLotsCountInTotalsAndMatrixOnly) {
  std::vector<LedgerEvent> ev = {
      {"adjustment", 30, "operator", 0, 0, "", 0, ""},
      capture("operator", "shop", 10, 500),
      taken("adjustment_debit", "operator", 4, 0, 0),
      taken("adjustment_debit", "shop", 6, 100, 0),   // a negative adjustment taking a partner's points
      {"debt", 5, "", 0, 0, "", 0, ""},                // ...and the part no lot covered
      {"debt", 2, "", 0, 0, "shop", 0, "earn_9"},      // a purchase refund's debt: not an adjustment
      {"lot_expiry", 7, "operator", 0, 0, "", 0, ""},
  };
  auto f = compute({{"shop", "Shop"}}, ev);
  EXPECT_EQ(f.partners[0].points_issued, 0);
  EXPECT_EQ(f.partners[0].points_clawed_back, 6);
  EXPECT_EQ(f.partners[0].issued_irr, -600);
  EXPECT_EQ(f.partners[0].points_redeemed, 10);
  EXPECT_EQ(f.partners[0].redeemed_irr, 5000);
  std::vector<MatrixRow> m = {{"operator", "shop", 10}};
  EXPECT_EQ(f.matrix, m);
  EXPECT_EQ(f.totals.points_issued, 30);
  EXPECT_EQ(f.totals.points_adjusted, 30 - 4 - 6 - 5);
  EXPECT_EQ(f.totals.points_clawed_back, 10);
  EXPECT_EQ(f.totals.points_expired, 7);
  EXPECT_EQ(f.totals.operator_net_irr, -600 - 5000);
}

TEST(Settlement, CsvHasBomCrlfQuotingAndTotalsRow) {
  auto f = compute({{"p1", "کافه \"نون\", تهران"}, {"p2", "Taxi"}}, {earn("p1", 10, 100, 0), capture("p1", "p2", 4, 50)});
  auto csv = render_csv(f);
  std::string expected =
      "\xEF\xBB\xBF"
      "partner_id,name,points_issued,points_clawed_back,points_redeemed,points_redemption_refunded,points_expired,"
      "issued_irr,fee_irr,redeemed_irr,net_irr\r\n"
      "p1,\"کافه \"\"نون\"\", تهران\",10,0,0,0,0,1000,0,0,-1000\r\n"
      "p2,Taxi,0,0,4,0,0,0,0,200,200\r\n"
      "totals,,10,0,4,0,0,1000,0,200,-800\r\n";
  EXPECT_EQ(csv, expected);
  auto j = to_json({"stl_1", "ten_1", "a", "b", "c"}, sha256_hex(csv), f);
  EXPECT_EQ(j["checksum"], sha256_hex(csv));
  EXPECT_EQ(j["partners"][0]["name"], "کافه \"نون\", تهران");
  EXPECT_EQ(j["totals"]["operator_net_irr"], 800);
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a\r\nb"), "\"a\r\nb\"");
}


// A debt repayment counts as clawed back for the issuer of the lot that repays (semantics 3); the debt
// itself counts for nobody, and only a negative adjustment's debt counts in points_adjusted.
TEST(Settlement, DebtRepaymentIsClawedBackFromTheRepayingLot) {
  std::vector<PartnerInfo> partners = {{"ptn_a", "A"}, {"ptn_b", "B"}};
  std::vector<LedgerEvent> events = {
      earn("ptn_a", 100, 200, 100),
      taken("clawback", "ptn_a", 70, 200, 100),
      {"debt", 30, "", 0, 0, "ptn_a", 0, "earn_1"},  // a purchase refund's debt
      {"debt", 5, "", 0, 0, "", 0, ""},              // a negative adjustment's debt
      earn("ptn_b", 50, 300, 0),
      taken("debt_repayment", "ptn_b", 35, 300, 0),
  };
  auto f = compute(partners, events);
  // A: issued 100 - 70 clawed = 30 x 200 = 6 000, fee 60. B: 50 - 35 = 15 x 300 = 4 500.
  EXPECT_EQ(f.partners[0].points_clawed_back, 70);
  EXPECT_EQ(f.partners[0].issued_irr, 6000);
  EXPECT_EQ(f.partners[0].fee_irr, 60);
  EXPECT_EQ(f.partners[1].points_clawed_back, 35);
  EXPECT_EQ(f.partners[1].issued_irr, 4500);
  EXPECT_EQ(f.totals.points_clawed_back, 105);
  EXPECT_EQ(f.totals.points_adjusted, -5);
  EXPECT_EQ(f.totals.operator_net_irr, 6000 + 60 + 4500);
}

// Summing events by what the arithmetic tells apart changes no figure: a random mix of every movement
// type, prices, fees, redeemers and debt of both origins, computed event by event and summed.
TEST(Settlement, SummedEventsGiveTheSameFiguresAsEveryEvent) {
  std::mt19937_64 rng(20251122);
  auto pick = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
  const std::vector<std::string> types = {"earn", "adjustment", "adjustment_debit", "clawback", "debt", "debt_repayment",
                                          "hold", "capture", "release", "hold_expiry", "redemption_refund", "lot_expiry"};
  const std::vector<std::string> ids = {"ptn_a", "ptn_b", "ptn_c", "operator"};
  std::vector<PartnerInfo> partners = {{"ptn_a", "A"}, {"ptn_b", "B"}, {"ptn_c", "C"}};
  std::vector<LedgerEvent> events;
  EventSummer summer;
  for (int i = 0; i < 20000; ++i) {
    LedgerEvent e;
    e.type = types[static_cast<size_t>(pick(0, static_cast<std::int64_t>(types.size()) - 1))];
    e.points = pick(1, 5000);
    e.issuer = ids[static_cast<size_t>(pick(0, 3))];
    e.issue_price_irr = pick(0, 3) * 50 + 7;
    e.fee_bps = pick(0, 2) * 33;
    e.partner_id = pick(0, 3) == 0 ? "" : ids[static_cast<size_t>(pick(0, 2))];
    e.redeem_value_irr = pick(1, 4) * 25;
    e.earn_id = pick(0, 1) ? "ern_" + std::to_string(i) : "";
    if (e.type == "debt") e.issuer.clear();
    events.push_back(e);
    summer.add(e);
  }
  const auto summed = summer.events();
  EXPECT_LT(summed.size(), 2000u);
  const auto a = compute(partners, events);
  const auto b = compute(partners, summed);
  EXPECT_EQ(a.partners, b.partners);
  EXPECT_EQ(a.matrix, b.matrix);
  EXPECT_EQ(a.totals, b.totals);
  EXPECT_NE(a.totals.points_adjusted, 0);
  EXPECT_NE(a.totals.fee_irr, 0);
}

// A sum that would leave int64 is split, not wrapped.
TEST(Settlement, SummingNeverOverflows) {
  EventSummer summer;
  const std::int64_t big = 4'000'000'000'000'000'000;
  for (int i = 0; i < 5; ++i) summer.add("earn", "operator", "", 1, 0, 0, big, true);
  std::int64_t parts = 0, bigs = 0;
  for (const auto& e : summer.events()) {
    ++parts;
    EXPECT_GT(e.points, 0);
    EXPECT_EQ(e.points % big, 0);  // each part is a sum of whole additions
    bigs += e.points / big;
  }
  EXPECT_GE(parts, 3);
  EXPECT_EQ(bigs, 5);
}

// A figure an int64 cannot state is refused (FiguresOutOfRange, naming it), never clamped; one that fits to the
// last unit is stated exactly, however large the sums on the way to it were.
TEST(Settlement, FiguresThatDoNotFitAnInt64AreRefusedNotClamped) {
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const std::vector<PartnerInfo> partners = {{"p1", "A"}, {"p2", "B"}};
  // Exactly int64's largest figure: stated as it is.
  auto f = compute(partners, {capture("p1", "p2", max, 1)});
  EXPECT_EQ(f.partners[1].points_redeemed, max);
  EXPECT_EQ(f.partners[1].redeemed_irr, max);
  EXPECT_EQ(f.partners[1].net_irr, max);
  EXPECT_EQ(f.totals.operator_net_irr, -max);
  // Captured and refunded whole: the sums pass int64 on the way and come back to 0.
  auto g = compute(partners, {capture("p1", "p2", max, 3), refund("p1", "p2", max, 3)});
  EXPECT_EQ(g.partners[1].points_redeemed, max);
  EXPECT_EQ(g.partners[1].points_redemption_refunded, max);
  EXPECT_EQ(g.partners[1].redeemed_irr, 0);
  EXPECT_EQ(g.totals.operator_net_irr, 0);
  EXPECT_TRUE(g.matrix.empty());

  struct Case {
    std::vector<LedgerEvent> events;
    std::string figure;
  };
  const std::vector<Case> cases = {
      {{capture("p1", "p2", max, 1), capture("p1", "p2", 1, 1)}, "points_redeemed"},   // one point too many
      {{earn("p1", 1'000'000'000'000'000, 10'000, 0)}, "issued_irr"},                    // 10^19 IRR
      {{earn("p1", max, max, 10'000)}, "a product"},                                     // past 128 bits
      {{capture("p2", "p1", 5'000'000'000'000'000, 1'000), capture("p1", "p2", 5'000'000'000'000'000, 1'000)},
       "redeemed_irr"},  // each partner's 5·10^18 fits; the total's 10^19 does not
  };
  for (const auto& c : cases) {
    try {
      compute(partners, c.events);
      ADD_FAILURE() << "no FiguresOutOfRange for " << c.figure;
    } catch (const FiguresOutOfRange& e) {
      EXPECT_EQ(e.figure(), c.figure);
    }
  }
}

// The CSV's totals row sums the partners' net_irr: stated exactly even where a running int64 sum would pass its
// range on the way (two issuers' nets of −9.18·10^18 and −1.02·10^17, then a redeemer's +5·10^18).
TEST(Settlement, CsvNetTotalIsExactWhereARunningSumWouldOverflow) {
  const std::vector<PartnerInfo> partners = {{"p1", "A"}, {"p2", "B"}, {"p3", "C"}};
  auto f = compute(partners, {earn("p1", 9'000'000'000'000'000'000, 1, 200),
                              earn("p2", 100'000'000'000'000'000, 1, 200),
                              capture("p1", "p3", 5'000'000'000'000'000'000, 1)});
  EXPECT_EQ(f.partners[0].net_irr, -9'180'000'000'000'000'000);
  EXPECT_EQ(f.partners[1].net_irr, -102'000'000'000'000'000);
  EXPECT_EQ(f.partners[2].net_irr, 5'000'000'000'000'000'000);
  const auto csv = render_csv(f);
  const auto last = csv.substr(csv.rfind("totals,"));
  EXPECT_EQ(last.substr(last.rfind(',') + 1), "-4282000000000000000\r\n");
}

}  // namespace
}  // namespace emtiaz::clearing
