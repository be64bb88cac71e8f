// The member state's text as the wallet writes it (state_text, lot_text, redemption_text) is the tree's dump byte
// for byte, and reading it without a tree (state_from_text, cached_state_from_text) gives what the tree reads, or
// nothing — never something else — for any text, the wallet's own damaged ones included.
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>

#include "points/points_json.hpp"
#include "wallet/views.hpp"

namespace emtiaz::wallet {
namespace {

struct Gen {
  std::mt19937_64 rng;
  std::int64_t pick(std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); }
  bool coin() { return pick(0, 1) == 1; }
  std::int64_t amount() {
    switch (pick(0, 3)) {
      case 0: return 0;
      case 1: return pick(-5, 5);
      case 2: return pick(std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
      default: return pick(0, 1'000'000'000'000'000);
    }
  }
  std::uint64_t seq() {
    return coin() ? static_cast<std::uint64_t>(pick(0, 100))
                  : std::uniform_int_distribution<std::uint64_t>()(rng);  // above INT64_MAX too
  }
  points::Instant at() { return points::from_micros(amount()); }
  std::string id() {
    static const std::vector<std::string> odd = {"", "mem_\"q\"", "back\\slash", "tab\there", "علی",
                                                 std::string("bad\xff", 4), std::string("n\0l", 3), "~ !#$%&'()*+"};
    if (pick(0, 9) == 0) return odd[static_cast<size_t>(pick(0, static_cast<std::int64_t>(odd.size()) - 1))];
    std::string s = "lot_";
    for (int i = 0; i < 24; ++i) s += static_cast<char>('A' + pick(0, 25));
    return s;
  }
  points::Lot lot() {
    points::Lot l;
    l.id = id();
    l.issuer = id();
    l.issue_price_irr = amount();
    l.fee_bps = amount();
    l.earn_id = id();
    l.amount_irr = amount();
    l.points = amount();
    l.remaining = amount();
    l.created_at = at();
    l.available_at = at();
    l.expires_at = at();
    l.seq = seq();
    l.pending = coin();
    l.expired = coin();
    l.refunded_irr = amount();
    l.clawed_back = amount();
    return l;
  }
  points::Redemption redemption() {
    using S = points::RedemptionStatus;
    points::Redemption r;
    r.id = id();
    r.partner_id = id();
    r.redeem_value_irr = amount();
    const S all[] = {S::authorized, S::captured, S::voided, S::expired, S::refunded, S::partially_refunded};
    r.status = all[pick(0, 5)];
    r.points = amount();
    r.points_captured = amount();
    r.points_refunded = amount();
    r.created_at = at();
    r.expires_at = at();
    r.seq = seq();
    for (auto n = pick(0, 3); n > 0; --n) r.allocations.push_back({id(), amount(), amount(), amount()});
    return r;
  }
  WalletState state() {
    WalletState s;
    for (auto n = pick(0, 4); n > 0; --n) s.points.lots.push_back(lot());
    for (auto n = pick(0, 3); n > 0; --n) s.points.redemptions.push_back(redemption());
    for (auto n = pick(0, 3); n > 0; --n) s.redemption_receipts[id()] = id();
    s.points.debt = amount();
    s.points.next_seq = seq();
    s.points.as_of = at();
    return s;
  }
};

// Two states are the same when their trees' dumps are.
std::string canonical(const WalletState& s) { return dump_json(state_to_json(s)); }

TEST(StateText, IsTheTreesDumpByteForByte) {
  Gen g{std::mt19937_64(20261206)};
  for (int i = 0; i < 3000; ++i) {
    const auto s = g.state();
    ASSERT_EQ(state_text(s), canonical(s)) << "case " << i;
    for (const auto& l : s.points.lots) ASSERT_EQ(lot_text(l), dump_json(nlohmann::json(l)));
    for (const auto& r : s.points.redemptions) ASSERT_EQ(redemption_text(r), dump_json(nlohmann::json(r)));
  }
}

TEST(StateText, ReadsTheWalletsTextsAsTheTreeDoesAndNothingElseDifferently) {
  Gen g{std::mt19937_64(6)};
  // The tree's reading, or nullopt where it refuses the text.
  auto slow = [](const std::string& text) -> std::optional<std::string> {
    try {
      return canonical(state_from_json(nlohmann::json::parse(text)));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  auto agrees = [&](const std::string& text) {
    auto fast = state_from_text(text);
    if (!fast) return true;  // left to the tree
    auto tree = slow(text);
    return tree.has_value() && *tree == canonical(*fast);
  };
  const std::string mutations = "0123456789-,[]{}\" ntrufalse:";
  int read_fast = 0;
  for (int i = 0; i < 3000; ++i) {
    const auto s = g.state();
    const auto text = state_text(s);
    const auto fast = state_from_text(text);
    if (fast) {
      ++read_fast;
      ASSERT_EQ(canonical(*fast), text);
      ASSERT_EQ(slow(text), text);
    }
    ASSERT_EQ(canonical(read_state_text(text)), text);
    // Damaged or reshaped copies: never a different answer from the tree's.
    const auto size = static_cast<std::int64_t>(text.size());
    const std::string cut = text.substr(0, static_cast<size_t>(g.pick(0, size - 1)));
    ASSERT_TRUE(agrees(cut)) << cut;
    std::string changed = text;
    changed[static_cast<size_t>(g.pick(0, size - 1))] =
        mutations[static_cast<size_t>(g.pick(0, static_cast<std::int64_t>(mutations.size()) - 1))];
    ASSERT_TRUE(agrees(changed)) << changed;
    std::string spaced = text;
    spaced.insert(static_cast<size_t>(g.pick(1, size - 1)), " ");
    ASSERT_TRUE(agrees(spaced)) << spaced;
    // The Redis copy: the same state with its version.
    const auto version = g.pick(0, 1'000'000);
    const auto cached = R"({"state":)" + text + R"(,"version":)" + std::to_string(version) + "}";
    const auto c = cached_state_from_text(cached);
    ASSERT_EQ(c.has_value(), fast.has_value());
    if (c) {
      ASSERT_EQ(canonical(*c), text);
      ASSERT_EQ(c->version, version);
    }
    ASSERT_FALSE(cached_state_from_text(cached.substr(0, cached.size() - 1)));
    ASSERT_FALSE(cached_state_from_text(text));
  }
  // Most of the wallet's texts (all without an odd id) are read without the tree.
  EXPECT_GT(read_fast, 1000);
}

TEST(StateText, LeavesToTheTreeWhatItDoesNotWrite) {
  const std::string lot =
      R"({"amount_irr":1000,"available_at":5,"clawed_back":0,"created_at":5,"earn_id":"ern_1","expired":false,)"
      R"("expires_at":9,"fee_bps":150,"id":"lot_1","issue_price_irr":1000,"issuer":"prt_1","pending":false,)"
      R"("points":10,"refunded_irr":0,"remaining":10,"seq":1})";
  const std::string good = R"({"points":{"as_of":5,"debt":0,"lots":[)" + lot +
                           R"(],"next_seq":2,"redemptions":[]},"receipts":{}})";
  auto s = state_from_text(good);
  ASSERT_TRUE(s.has_value());
  ASSERT_EQ(s->points.lots.size(), 1u);
  EXPECT_EQ(s->points.lots[0].id, "lot_1");
  EXPECT_EQ(s->points.lots[0].remaining, 10);
  EXPECT_EQ(s->points.lots[0].expires_at, points::from_micros(9));
  EXPECT_EQ(s->points.next_seq, 2u);
  for (const std::string& text : {
           std::string(R"({"points":{"as_of":5,"debt":0,"lots":[],"next_seq":-1,"redemptions":[]},"receipts":{}})"),
           std::string(R"({"points":{"as_of":05,"debt":0,"lots":[],"next_seq":1,"redemptions":[]},"receipts":{}})"),
           std::string(R"({"points":{"as_of":5,"debt":0.5,"lots":[],"next_seq":1,"redemptions":[]},"receipts":{}})"),
           std::string(R"({"points":{"as_of":5,"debt":9223372036854775808,"lots":[],"next_seq":1,"redemptions":[]},"receipts":{}})"),
           std::string(R"({"points":{"debt":0,"as_of":5,"lots":[],"next_seq":1,"redemptions":[]},"receipts":{}})"),
           std::string(R"({"points":{"as_of":5,"debt":0,"lots":[],"next_seq":1,"redemptions":[]}})"),
           std::string(R"({"points":{"as_of":5,"debt":0,"lots":[],"next_seq":1,"redemptions":[]},"receipts":{"r\u0041":"x"}})"),
           std::string(R"({"points":{"as_of":5,"debt":0,"lots":[],"next_seq":1,"redemptions":[]},"receipts":{}} )"),
       }) {
    EXPECT_FALSE(state_from_text(text).has_value()) << text;
  }
  // Refused here, read by the tree: the same state, written another way.
  EXPECT_EQ(read_state_text(R"({"points":{"debt":0,"as_of":5,"lots":[],"next_seq":1,"redemptions":[]}})").points.as_of,
            points::from_micros(5));
  EXPECT_EQ(read_state_text(R"({"points":{"as_of":5,"debt":0,"lots":[],"next_seq":1,"redemptions":[]},"receipts":{"r\u0041":"x"}})")
                .redemption_receipts.at("rA"),
            "x");
  // An unknown status is refused by both.
  std::string bad = R"({"points":{"as_of":5,"debt":0,"lots":[],"next_seq":1,"redemptions":[{"allocations":[],"created_at":1,)"
                    R"("expires_at":2,"id":"red_1","partner_id":"prt_1","points":3,"points_captured":0,"points_refunded":0,)"
                    R"("redeem_value_irr":4,"seq":1,"status":"held"}]},"receipts":{}})";
  EXPECT_FALSE(state_from_text(bad).has_value());
  EXPECT_THROW(read_state_text(bad), std::exception);
  bad.replace(bad.find("held"), 4, "voided");
  ASSERT_TRUE(state_from_text(bad).has_value());
  EXPECT_EQ(state_from_text(bad)->points.redemptions.at(0).status, points::RedemptionStatus::voided);
}

}  // namespace
}  // namespace emtiaz::wallet
