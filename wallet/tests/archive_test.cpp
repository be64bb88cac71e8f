// The wallet's side of the member archive (wallet/archive.hpp): what leaves a state as rows, what a command
// needs back, and that a redemption's receipt travels with it.
#include "wallet/archive.hpp"

#include <gtest/gtest.h>

#include "wallet/applier.hpp"
#include "wallet/tests/helpers.hpp"

namespace emtiaz::wallet {
namespace {

using testing::at;

// The partner issues 100 points per 10,000 IRR.
Command command(CommandType type, nlohmann::json args) { return testing::command(type, std::move(args), 100); }

// A member who earned 100 points (one lot) and redeemed `points` of them with capture, receipt "till-7".
struct Member {
  WalletState state;
  std::string earn_id, redemption_id;
  explicit Member(std::int64_t points) {
    auto e = apply_command(state, command(CommandType::earn, {{"amount_irr", 10'000}, {"receipt_id", "r1"}}), at(0), false);
    earn_id = nlohmann::json::parse(e.body).at("id");
    auto r = apply_command(state, command(CommandType::authorize, {{"points", points}, {"receipt_id", "till-7"},
                                                                   {"capture", true}}), at(1), false);
    EXPECT_EQ(r.status, 201) << r.body;
    redemption_id = nlohmann::json::parse(r.body).at("id");
  }
};

TEST(WalletArchive, ACapturedRedemptionLeavesWithItsReceiptAndComesBackWithIt) {
  Member m(30);
  auto rows = archive_finished(m.state);
  ASSERT_EQ(rows.size(), 1u);  // the lot keeps 70 points: it stays
  EXPECT_EQ(rows[0].id, m.redemption_id);
  EXPECT_EQ(rows[0].kind, kArchiveRedemption);
  EXPECT_EQ(rows[0].receipt_id, "till-7");
  EXPECT_TRUE(m.state.points.redemptions.empty());
  EXPECT_TRUE(m.state.redemption_receipts.empty());

  ArchiveNeeds needs;
  add_needs(m.state, command(CommandType::redemption_refund, {{"redemption_id", m.redemption_id}}), needs);
  add_needs(m.state, command(CommandType::capture, {{"redemption_id", m.redemption_id}}), needs);
  EXPECT_EQ(needs.ids, std::vector<std::string>{m.redemption_id});  // once
  EXPECT_TRUE(needs.earn_ids.empty());  // the earn's lot is in the state

  restore(m.state, rows);
  EXPECT_TRUE(lots_needed(m.state, rows).empty());
  auto refund = apply_command(m.state, command(CommandType::redemption_refund, {{"redemption_id", m.redemption_id}}),
                              at(2), false);
  ASSERT_EQ(refund.status, 200) << refund.body;
  auto body = nlohmann::json::parse(refund.body);
  EXPECT_EQ(body.at("receipt_id"), "till-7");
  EXPECT_EQ(body.at("points_refunded"), 30);
  EXPECT_EQ(body.at("balance").at("available"), 100);
}

TEST(WalletArchive, AnEmptiedLotLeavesAndARefundOfItsRedemptionNeedsItBack) {
  Member m(100);
  auto rows = archive_finished(m.state);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].kind, kArchiveLot);
  EXPECT_EQ(rows[0].earn_id, m.earn_id);
  EXPECT_TRUE(m.state.points.lots.empty());

  ArchiveNeeds needs;
  add_needs(m.state, command(CommandType::purchase_refund, {{"earn_id", m.earn_id}, {"amount_irr", 1}}), needs);
  EXPECT_EQ(needs.earn_ids, std::vector<std::string>{m.earn_id});

  // The redemption alone comes back first; the lot its points came from is what it then needs.
  std::vector<ArchiveRow> redemption{rows[1]};
  restore(m.state, redemption);
  EXPECT_EQ(lots_needed(m.state, redemption).ids, std::vector<std::string>{rows[0].id});
  restore(m.state, {rows[0]});
  EXPECT_TRUE(lots_needed(m.state, redemption).empty());
  // Unchanged, they leave again as the same rows.
  auto again = archive_finished(m.state);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].record, rows[0].record);
  EXPECT_EQ(again[1].record, rows[1].record);
}

TEST(WalletArchive, ARowThatIsNotARecordOfThisFormatIsAStorageFault) {
  WalletState s;
  EXPECT_THROW(restore(s, {{"x", "coupon", "", "", "{}"}}), std::invalid_argument);
  EXPECT_THROW(restore(s, {{"x", kArchiveLot, "", "", R"({"points": 1.5})"}}), std::invalid_argument);
  EXPECT_FALSE(archived_redemption({"x", kArchiveLot, "", "", "{}"}).has_value());
}

}  // namespace
}  // namespace emtiaz::wallet
