// The balance view as stored in Redis: what the wallet writes is what the gateway reads back, and a text
// that is not such a view is refused rather than misread.
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>

#include "common/time.hpp"
#include "wallet/views.hpp"

namespace emtiaz::wallet {
namespace {

points::Instant us(std::int64_t v) { return points::Instant{std::chrono::microseconds{v}}; }

// What the text writers' tests draw from: numbers, time zones, and texts with every odd case a JSON string has
// (quotes, backslashes, control bytes, Persian, invalid UTF-8, a NUL).
struct Draw {
  std::mt19937_64 rng;
  std::vector<std::string> texts;
  std::int64_t operator()(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  }
  const std::string& text() {
    return texts[static_cast<size_t>((*this)(0, static_cast<std::int64_t>(texts.size()) - 1))];
  }
  static const std::string& zone(int i) {
    static const std::vector<std::string> zones = {"Asia/Tehran", "UTC", "America/New_York", "Asia/Kolkata"};
    return zones[static_cast<size_t>(i / 7) % zones.size()];
  }
};
const std::int64_t kBig = 1'000'000'000'000'000;

// The tests' own model of the answers and the view: the trees nlohmann builds from the contract's fields, whose dump
// the wallet's text writers must equal byte for byte (and which balance_view_from_json must read back).
std::int64_t micros(points::Instant t) { return t.time_since_epoch().count(); }

nlohmann::json balance_view_to_json(const points::BalanceView& view, std::int64_t version) {
  nlohmann::json expiring = nlohmann::json::array();
  for (const auto& e : view.balance.expiring) expiring.push_back({e.points, micros(e.expires_at)});
  return {{"version", version},
          {"at", micros(view.at)},
          {"valid_until", view.valid_until ? nlohmann::json(micros(*view.valid_until)) : nlohmann::json()},
          {"available", view.balance.available},
          {"pending", view.balance.pending},
          {"held", view.balance.held},
          {"expiring", expiring}};
}

nlohmann::json earn_json(const EarnAnswer& a, const points::Balance& balance, const std::string& tz) {
  nlohmann::json body = {{"id", a.id},
                         {"type", "earn"},
                         {"member_id", a.member_id},
                         {"partner_id", a.partner_id},
                         {"receipt_id", a.receipt_id},
                         {"amount_irr", a.amount_irr},
                         {"points", a.points},
                         {"status", a.pending ? "pending" : "active"},
                         {"available_at", format_rfc3339(a.available_at, tz, TimePrecision::micros)},
                         {"expires_at", format_rfc3339(a.expires_at, tz, TimePrecision::micros)},
                         {"created_at", format_rfc3339(a.created_at, tz, TimePrecision::micros)}};
  if (a.occurred_at) body["occurred_at"] = *a.occurred_at;
  if (a.category) body["category"] = *a.category;
  body["balance"] = balance_json(a.member_id, balance, tz);
  return body;
}

nlohmann::json purchase_refund_json(const PurchaseRefundAnswer& a, const std::string& member_id,
                                    const points::Balance& balance, const std::string& tz) {
  return {{"id", a.id},
          {"type", "purchase_refund"},
          {"earn_id", a.earn_id},
          {"amount_irr", a.amount_irr},
          {"points_clawed_back", a.points_clawed_back},
          {"created_at", format_rfc3339(a.created_at, tz, TimePrecision::micros)},
          {"balance", balance_json(member_id, balance, tz)}};
}

TEST(BalanceViewJson, RoundTripsEveryField) {
  points::BalanceView v;
  v.at = us(1'700'000'000'123'456);
  v.valid_until = us(1'700'000'500'000'001);
  v.balance.available = -12;
  v.balance.pending = 30;
  v.balance.held = 7;
  v.balance.expiring = {{5, us(1'700'000'600'000'000)}, {9, us(1'700'000'700'000'000)}};
  auto j = balance_view_to_json(v, 42);
  EXPECT_EQ(j.at("version"), 42);
  auto back = balance_view_from_json(nlohmann::json::parse(dump_json(j)));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->balance, v.balance);
  EXPECT_EQ(back->at, v.at);
  EXPECT_EQ(back->valid_until, v.valid_until);

  v.valid_until.reset();  // nothing due: holds for ever
  back = balance_view_from_json(balance_view_to_json(v, 1));
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->valid_until.has_value());
  EXPECT_TRUE(back->holds_at(us(4'000'000'000'000'000)));
}

TEST(BalanceViewJson, RefusesWhatIsNotAView) {
  for (const char* text : {R"({})", R"([])", R"({"at":1,"available":1,"pending":0,"held":0,"expiring":[]})",
                           R"({"at":1,"valid_until":null,"available":1.5,"pending":0,"held":0,"expiring":[]})",
                           R"({"at":1,"valid_until":"x","available":1,"pending":0,"held":0,"expiring":[]})",
                           R"({"at":1,"valid_until":null,"available":1,"pending":0,"held":0,"expiring":[[1]]})",
                           R"({"version":3,"state":{"points":{}}})"}) {
    EXPECT_FALSE(balance_view_from_json(nlohmann::json::parse(text)).has_value()) << text;
  }
}

// What a balance read answers is written without a JSON tree (balance_text); it must be the tree's dump, byte for
// byte, for any balance, time zone and member id — the id's odd cases (quotes, control bytes, Persian, invalid
// UTF-8) included.
TEST(BalanceText, IsTheTreesDumpByteForByte) {
  Draw pick{std::mt19937_64(20261205), {}};
  const std::vector<std::string> ids = {"mem_7K2pQ9xZ", "", "mem_\"quoted\"", "mem_\\back", "tab\there", "علی",
                                        std::string("bad\xff\xfe", 5), std::string("nul\0x", 5), "mem_-_."};
  const std::int64_t big = kBig;
  for (int i = 0; i < 3000; ++i) {
    points::Balance b;
    b.available = pick(-big, big);
    if (i % 3 == 0) b.available = pick(-5, 5);
    b.pending = pick(0, i % 2 ? 100 : big);
    b.held = pick(0, i % 4 ? 10 : big);
    const auto n = pick(0, static_cast<std::int64_t>(points::kExpiringMax));
    for (std::int64_t k = 0; k < n; ++k)
      b.expiring.push_back({pick(0, big), us(pick(0, 4'102'444'800'000'000) / (k % 2 ? 1 : 1'000'000) *
                                             (k % 2 ? 1 : 1'000'000))});  // whole seconds and not
    const auto& id = ids[static_cast<size_t>(i) % ids.size()];
    const auto& tz = Draw::zone(i);
    ASSERT_EQ(balance_text(id, b, tz), dump_json(balance_json(id, b, tz))) << "case " << i;
  }
}

// What an earn answers is written without a JSON tree (earn_text); it must be the tree's dump, byte for byte: every
// field, with and without the request's optional ones (as strings or anything else a request may have carried),
// their odd cases (quotes, control bytes, Persian, invalid UTF-8) and the extremes of the numbers.
TEST(EarnText, IsTheTreesDumpByteForByte) {
  Draw pick{std::mt19937_64(20261207),
            {"ern_7K2pQ9xZ", "", "r\"quoted\"", "r\\back", "tab\there", "خرید روزانه", std::string("bad\xff\xfe", 5),
             std::string("nul\0x", 5), "2026-12-07T10:00:00+03:30"}};
  const std::vector<nlohmann::json> others = {nlohmann::json(42), nlohmann::json(nullptr), nlohmann::json(-1.5),
                                              nlohmann::json::parse(R"({"b":[1,"x"],"a":true})")};
  auto text = [&] { return pick.text(); };
  const std::int64_t big = kBig;
  for (int i = 0; i < 3000; ++i) {
    EarnAnswer a{text(), text(), text(), text(), pick(0, big), pick(0, big), i % 2 == 0,
                 us(pick(0, 4'102'444'800'000'000)), us(pick(0, 4'102'444'800'000'000)),
                 us(pick(0, 4'102'444'800'000'000) / (i % 3 ? 1 : 1'000'000) * (i % 3 ? 1 : 1'000'000))};
    nlohmann::json occurred = i % 5 == 4 ? others[static_cast<size_t>(i) % others.size()] : nlohmann::json(text());
    nlohmann::json category = i % 7 == 6 ? others[static_cast<size_t>(i) % others.size()] : nlohmann::json(text());
    if (i % 4 != 0) a.occurred_at = &occurred;
    if (i % 3 != 0) a.category = &category;
    points::Balance b;
    b.available = pick(-big, big);
    b.pending = pick(0, big);
    b.held = pick(0, i % 4 ? 10 : big);
    for (std::int64_t k = pick(0, static_cast<std::int64_t>(points::kExpiringMax)); k > 0; --k)
      b.expiring.push_back({pick(0, big), us(pick(0, 4'102'444'800'000'000))});
    const auto& tz = Draw::zone(i);
    ASSERT_EQ(earn_text(a, b, tz), dump_json(earn_json(a, b, tz))) << "case " << i;
  }
}

// What an authorization, a capture, a void or a refund of a redemption answers (redemption_answer_text), and what a
// purchase refund answers (purchase_refund_text), are the trees' dumps byte for byte: every status, receipts missing
// or odd, and the extremes of the numbers.
TEST(RedemptionText, IsTheTreesDumpByteForByte) {
  Draw pick{std::mt19937_64(202612071), {"red_7K2pQ9xZ", "", "r\"quoted\"", "r\\back", "tab\there", "رسید ۱۲",
                                          std::string("bad\xff\xfe", 5), std::string("nul\0x", 5)}};
  auto text = [&] { return pick.text(); };
  const std::vector<points::RedemptionStatus> statuses = {
      points::RedemptionStatus::authorized, points::RedemptionStatus::captured, points::RedemptionStatus::voided,
      points::RedemptionStatus::expired,    points::RedemptionStatus::refunded,
      points::RedemptionStatus::partially_refunded};
  const std::int64_t big = kBig;
  for (int i = 0; i < 3000; ++i) {
    WalletState state;
    const auto t0 = us(pick(0, 4'102'444'800'000'000));
    for (std::int64_t k = pick(0, 12); k > 0; --k) {
      points::Lot l;
      l.id = text();
      l.points = l.remaining = pick(1, big / 100);
      l.created_at = l.available_at = t0 - std::chrono::hours(pick(0, 1000));
      l.expires_at = t0 + std::chrono::hours(pick(-100, 100'000));
      l.seq = static_cast<std::uint64_t>(k);
      state.points.lots.push_back(l);
    }
    points::Redemption r;
    r.id = text();
    r.partner_id = text();
    r.status = statuses[static_cast<size_t>(i) % statuses.size()];
    r.points = pick(0, big);
    r.points_captured = r.status == points::RedemptionStatus::captured ? pick(0, r.points) : 0;
    r.points_refunded = pick(0, r.points_captured);
    r.redeem_value_irr = pick(0, 9'000);
    r.created_at = t0;
    r.expires_at = t0 + std::chrono::seconds(pick(0, 100'000));
    if (i % 3 != 0) state.redemption_receipts[r.id] = text();
    const auto& tz = Draw::zone(i);
    const auto now = t0 + std::chrono::seconds(pick(0, 200'000));
    const auto member = text();
    ASSERT_EQ(redemption_answer_text(member, state, r, now, tz), dump_json(redemption_json(member, state, r, now, tz)))
        << "case " << i;
    PurchaseRefundAnswer a{text(), text(), pick(0, big), pick(0, big), now};
    const auto balance = points::balance_at(state.points, now);
    ASSERT_EQ(purchase_refund_text(a, member, balance, tz), dump_json(purchase_refund_json(a, member, balance, tz)))
        << "case " << i;
  }
}

// The view read from its text without a tree (balance_view_from_text) is the tree's reading of the wallet's own
// text, and for any other text either the same or nothing (then the gateway reads it with the tree): the
// wallet's texts, then each of them cut short, with a byte changed, with a space, and a few by hand.
TEST(BalanceViewText, ReadsTheWalletsTextsAsTheTreeDoesAndNothingElseDifferently) {
  std::mt19937_64 rng(7);
  auto pick = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
  auto same = [](const std::optional<points::BalanceView>& a, const std::optional<points::BalanceView>& b) {
    return a.has_value() == b.has_value() &&
           (!a || (a->balance == b->balance && a->at == b->at && a->valid_until == b->valid_until));
  };
  auto slow = [](const std::string& text) {
    return balance_view_from_json(nlohmann::json::parse(text, nullptr, false));
  };
  const std::string mutations = "0123456789-,[]{}\" nul:";
  for (int i = 0; i < 2000; ++i) {
    points::BalanceView v;
    v.at = us(pick(0, 4'102'444'800'000'000));
    if (i % 2) v.valid_until = us(pick(0, 4'102'444'800'000'000));
    v.balance.available = i % 5 ? pick(-1'000'000'000'000'000, 1'000'000'000'000'000) : 0;
    v.balance.pending = pick(0, 1'000'000);
    v.balance.held = i % 3 ? 0 : pick(0, 1'000'000'000'000'000);
    for (std::int64_t k = pick(0, 10); k > 0; --k) v.balance.expiring.push_back({pick(0, 1'000'000), us(pick(0, 1'000'000'000'000))});
    const auto version = pick(0, 1'000'000);
    const auto text = dump_json(balance_view_to_json(v, version));
    // What the wallet and the gateway write (balance_view_text) is the tree's text, byte for byte.
    ASSERT_EQ(balance_view_text(v, version), text);
    const auto fast = balance_view_from_text(text);
    ASSERT_TRUE(fast.has_value()) << text;
    ASSERT_TRUE(same(fast, slow(text))) << text;
    // Damaged or reshaped copies: never a different answer from the tree's.
    std::string cut = text.substr(0, static_cast<size_t>(pick(0, static_cast<std::int64_t>(text.size()) - 1)));
    ASSERT_TRUE(!balance_view_from_text(cut) || same(balance_view_from_text(cut), slow(cut))) << cut;
    std::string changed = text;
    changed[static_cast<size_t>(pick(0, static_cast<std::int64_t>(text.size()) - 1))] =
        mutations[static_cast<size_t>(pick(0, static_cast<std::int64_t>(mutations.size()) - 1))];
    ASSERT_TRUE(!balance_view_from_text(changed) || same(balance_view_from_text(changed), slow(changed))) << changed;
    std::string spaced = text;
    spaced.insert(static_cast<size_t>(pick(1, static_cast<std::int64_t>(text.size()) - 1)), " ");
    ASSERT_TRUE(!balance_view_from_text(spaced) || same(balance_view_from_text(spaced), slow(spaced))) << spaced;
  }
  // The extremes of every number, written as the tree writes them.
  points::BalanceView edge;
  edge.at = us(std::numeric_limits<std::int64_t>::min());
  edge.valid_until = us(std::numeric_limits<std::int64_t>::max());
  edge.balance.available = std::numeric_limits<std::int64_t>::min();
  edge.balance.pending = std::numeric_limits<std::int64_t>::max();
  edge.balance.held = -1;
  edge.balance.expiring = {{std::numeric_limits<std::int64_t>::min(), us(0)}, {0, us(-1)}};
  for (std::int64_t version : {std::int64_t{0}, std::numeric_limits<std::int64_t>::max()})
    EXPECT_EQ(balance_view_text(edge, version), dump_json(balance_view_to_json(edge, version)));
  for (const char* text :
       {R"({"at":01,"available":1,"expiring":[],"held":0,"pending":0,"valid_until":null,"version":1})",
        R"({"at":-0,"available":1,"expiring":[],"held":0,"pending":0,"valid_until":null,"version":1})",
        R"({"at":1,"available":9223372036854775808,"expiring":[],"held":0,"pending":0,"valid_until":null,"version":1})",
        R"({"at":1,"available":1,"expiring":[[1,2],],"held":0,"pending":0,"valid_until":null,"version":1})",
        R"({"at":1,"available":1,"expiring":[],"held":0,"pending":0,"valid_until":null,"version":1}x)",
        R"({"at":1,"available":1,"expiring":[],"held":0,"pending":0,"valid_until":null})",
        R"({"available":1,"at":1,"expiring":[],"held":0,"pending":0,"valid_until":null,"version":1})"}) {
    EXPECT_FALSE(balance_view_from_text(text).has_value()) << text;
  }
  // What the tree reads but the text reader leaves to it: the same view, keys in another order.
  EXPECT_TRUE(slow(R"({"available":1,"at":1,"expiring":[],"held":0,"pending":0,"valid_until":null,"version":1})"));
  const auto v = balance_view_from_text(R"({"at":5,"available":-3,"expiring":[[2,9],[4,11]],"held":1,"pending":7,"valid_until":12,"version":3})");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->at, us(5));
  EXPECT_EQ(v->balance.available, -3);
  EXPECT_EQ(v->balance.pending, 7);
  EXPECT_EQ(v->balance.held, 1);
  ASSERT_EQ(v->balance.expiring.size(), 2u);
  EXPECT_EQ(v->balance.expiring[1].points, 4);
  EXPECT_EQ(v->balance.expiring[1].expires_at, us(11));
  EXPECT_EQ(v->valid_until, us(12));
}

}  // namespace
}  // namespace emtiaz::wallet
