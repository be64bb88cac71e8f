// A member's lots stored apart (wallet/cold_lots.hpp): the state read back from the two columns is the state
// that was stored, whatever the commands did between; small states are stored as before; an accumulating
// member's state stays small and its cold lots are written once per kMoveAtLeast earns, not per command.
#include "wallet/cold_lots.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "wallet/applier.hpp"
#include "wallet/stored_state.hpp"
#include "wallet/tests/helpers.hpp"
#include "wallet/views.hpp"

namespace emtiaz::wallet {
namespace {

using testing::at;
using testing::command;

// The tree's dump, byte for byte (state_text_test), and much faster for a state of hundreds of lots.
std::string canonical(const WalletState& s) { return state_text(s); }

// member_states' two columns as the wallet writes and reads them (WalletService::commit_units_on).
struct Stored {
  std::string state;
  std::optional<std::string> cold;
  std::optional<ColdSummary> summary;  // cold_points and cold_first_expiry
  std::vector<StoredLot> cold_read;    // the cold lots as the last read gave them
  int cold_writes = 0;

  void store(const WalletState& s) {
    auto texts = stored_texts(s, cold_read);
    state = encode_stored_state(texts.state, state.size());  // in its slot, deflated (wallet/stored_state.hpp)
    if (texts.write_cold) {
      cold = std::move(texts.cold_lots);
      summary = texts.cold_summary;
      EXPECT_EQ(cold.has_value(), summary.has_value());
      ++cold_writes;
    }
  }
  WalletState load() {
    auto s = read_stored_state(state, cold, &cold_read);
    return s;
  }
  // As a batch of `earns` earns and nothing else reads it at `now`: the cold lots left unread when they may be,
  // with their stand-in in the state (*unread is then true).
  WalletState load_for_earns(std::size_t earns, Instant now, bool* unread) {
    *unread = false;
    if (cold && summary) {
      auto s = read_state_text(state);
      if (cold_lots_may_stay_unread(s.points, *summary, earns, now) && add_cold_stand_in(s.points, *summary)) {
        cold_read.clear();
        *unread = true;
        return s;
      }
    }
    return load();
  }
};

Command long_lived(CommandType type, nlohmann::json args) {
  auto c = command(type, std::move(args));
  c.tenant.points_ttl = IsoDuration{.seconds = 10'000'000};
  return c;
}

// The i-th earn of 100,000 IRR (40 points), its points valid long after the test.
Command earn_of(int i) {
  return long_lived(CommandType::earn, {{"amount_irr", 100'000}, {"receipt_id", "r" + std::to_string(i)}});
}

TEST(ColdLots, AStoredLotChangesWithEveryFieldOfItsLot) {
  points::Lot l;
  l.id = "lot_1";
  l.issuer = "prt_1";
  l.earn_id = "ern_1";
  l.issue_price_irr = 1000;
  l.fee_bps = 150;
  l.amount_irr = 10'000;
  l.points = 100;
  l.remaining = 60;
  l.created_at = at(0);
  l.available_at = at(1);
  l.expires_at = at(2);
  l.seq = 7;
  l.refunded_irr = 5;
  l.clawed_back = 3;
  const auto base = stored_lot(l);
  EXPECT_EQ(stored_lot(l), base);
  const std::vector<void (*)(points::Lot&)> changes = {
      [](points::Lot& x) { x.id += "x"; },
      [](points::Lot& x) { x.issuer += "x"; },
      [](points::Lot& x) { x.earn_id += "x"; },
      [](points::Lot& x) { ++x.issue_price_irr; },
      [](points::Lot& x) { ++x.fee_bps; },
      [](points::Lot& x) { ++x.amount_irr; },
      [](points::Lot& x) { ++x.points; },
      [](points::Lot& x) { --x.remaining; },
      [](points::Lot& x) { x.created_at += std::chrono::microseconds(1); },
      [](points::Lot& x) { x.available_at += std::chrono::microseconds(1); },
      [](points::Lot& x) { x.expires_at += std::chrono::microseconds(1); },
      [](points::Lot& x) { ++x.seq; },
      [](points::Lot& x) { x.pending = true; },
      [](points::Lot& x) { x.expired = true; },
      [](points::Lot& x) { ++x.refunded_irr; },
      [](points::Lot& x) { ++x.clawed_back; },
      [](points::Lot& x) { std::swap(x.id, x.issuer); },  // the strings' order counts too
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    auto changed = l;
    changes[i](changed);
    EXPECT_NE(stored_lot(changed), base) << "change " << i;
  }
}

TEST(ColdLots, ALotInBothColumnsIsRefusedNotCountedTwice) {
  WalletState s;
  for (int i = 0; i < 60; ++i) ASSERT_EQ(apply_command(s, earn_of(i), at(i), false).status, 201);
  const auto plan = plan_cold_lots(s.points, {});
  ASSERT_TRUE(plan.any());
  const auto cold = cold_lots_text(s.points, plan.cold);
  EXPECT_EQ(canonical(read_stored_state(state_text(s, plan.cold), cold)), canonical(s));
  EXPECT_THROW(read_stored_state(state_text(s), cold), std::runtime_error);  // every lot, and the cold ones again
}

TEST(ColdLots, ASmallStateIsStoredAsBefore) {
  WalletState s;
  for (int i = 0; i < static_cast<int>(kColdFrom) - 1; ++i)
    ASSERT_EQ(apply_command(s, earn_of(i), at(i), false).status, 201);
  const auto plan = plan_cold_lots(s.points, {});
  EXPECT_FALSE(plan.write);
  EXPECT_TRUE(plan.cold.empty());
  EXPECT_EQ(state_text(s, plan.cold), state_text(s));
}

TEST(ColdLots, OnlyQuietLotsBeyondTheEarliestExpiringAreStoredApart) {
  std::mt19937_64 rng(20261207);
  for (int round = 0; round < 200; ++round) {
    WalletState s;
    const auto n = std::uniform_int_distribution<int>(40, 140)(rng);
    for (int i = 0; i < n; ++i) {
      points::Lot l;
      l.id = "lot_" + std::to_string(i);
      l.seq = static_cast<std::uint64_t>(i + 1);
      l.points = 100;
      l.remaining = std::uniform_int_distribution<int>(0, 3)(rng) == 0 ? 0 : 50;
      l.pending = std::uniform_int_distribution<int>(0, 5)(rng) == 0;
      l.expired = std::uniform_int_distribution<int>(0, 9)(rng) == 0;
      l.expires_at = at(std::uniform_int_distribution<int>(0, 30)(rng));  // ties too: broken by seq
      s.points.lots.push_back(l);
    }
    const auto plan = plan_cold_lots(s.points, {});
    std::vector<std::size_t> quiet;
    for (std::size_t i = 0; i < s.points.lots.size(); ++i)
      if (may_be_cold(s.points.lots[i])) quiet.push_back(i);
    std::sort(quiet.begin(), quiet.end(), [&](std::size_t a, std::size_t b) {
      const auto &x = s.points.lots[a], &y = s.points.lots[b];
      return x.expires_at != y.expires_at ? x.expires_at < y.expires_at : x.seq < y.seq;
    });
    std::vector<char> expected(s.points.lots.size(), 0);
    if (s.points.lots.size() >= kColdFrom)
      for (std::size_t k = kHotKeep; k < quiet.size(); ++k) expected[quiet[k]] = 1;
    const bool any = std::count(expected.begin(), expected.end(), 1) > 0;
    EXPECT_EQ(plan.any(), any) << "round " << round;
    EXPECT_EQ(plan.write, any) << "round " << round;
    if (any) {
      EXPECT_EQ(plan.cold, expected) << "round " << round;
    }
    // And the two texts give the state back.
    Stored st;
    st.store(s);
    EXPECT_EQ(canonical(st.load()), canonical(s)) << "round " << round;
  }
}

TEST(ColdLots, AnAccumulatingMemberWritesASmallStateAndItsColdLotsRarely) {
  WalletState s;
  Stored st;
  const int earns = 400;
  std::size_t largest_state = 0;
  for (int i = 0; i < earns; ++i) {
    auto e = apply_command(s, earn_of(i), at(i), false);
    ASSERT_EQ(e.status, 201) << e.body;
    s.version += 1;
    st.store(s);
    if (i >= static_cast<int>(kColdFrom)) largest_state = std::max(largest_state, st.state.size());
    auto back = st.load();
    back.version = s.version;
    ASSERT_EQ(canonical(back), canonical(s)) << "after earn " << i;
    s = std::move(back);  // the next command starts from what was read, as in the wallet
  }
  ASSERT_EQ(s.points.lots.size(), static_cast<std::size_t>(earns));
  // Once split, the state holds at most the kept lots and those not yet worth moving.
  EXPECT_LE(largest_state, (kHotKeep + kMoveAtLeast + 1) * lot_text(s.points.lots.back()).size() + 200);
  EXPECT_LE(st.cold_writes, static_cast<int>((earns - kColdFrom) / kMoveAtLeast) + 2);
  EXPECT_GE(st.cold_writes, static_cast<int>((earns - kColdFrom) / kMoveAtLeast) - 1);
  // Spending takes the earliest lots, all in the state: the cold ones are not rewritten for it.
  const int before = st.cold_writes;
  for (int i = 0; i < 10; ++i) {
    auto e = apply_command(s,
                           long_lived(CommandType::authorize,
                                      {{"points", 30}, {"receipt_id", "x" + std::to_string(i)}, {"capture", true}}),
                           at(earns + i), false);
    ASSERT_EQ(e.status, 201) << e.body;
    st.store(s);
    auto back = st.load();
    ASSERT_EQ(canonical(back), canonical(s)) << "after redemption " << i;
    s = std::move(back);
  }
  EXPECT_EQ(st.cold_writes, before);
}

// What an earn applied to a state holding the stand-in for its unread cold lots answered and left, against the
// same state with every lot read (`whole`, what was stored after it, read back): the answer's balance, the
// balance views a batch takes after its commands (up to the margin), the next due time, and the whole state.
void expect_as_if_read(const Effect& e, const WalletState& with_stand_in, const WalletState& whole, Instant now,
                       const std::string& where) {
  ASSERT_EQ(e.status, 201) << where << ": " << e.body;
  EXPECT_EQ(nlohmann::json::parse(e.body)["balance"], balance_json("mem_1", whole.points, now, "Asia/Tehran")) << where;
  for (auto later : {now, now + kColdUnreadMargin - std::chrono::microseconds(1)}) {
    const auto a = points::balance_view(with_stand_in.points, later), b = points::balance_view(whole.points, later);
    EXPECT_EQ(a.balance, b.balance) << where;
    EXPECT_EQ(a.valid_until, b.valid_until) << where;
  }
  EXPECT_EQ(points::next_due(with_stand_in.points), points::next_due(whole.points)) << where;
}

TEST(ColdLots, TheStandInForColdLotsIsNeverStoredAndSumsThem) {
  WalletState s;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(apply_command(s, earn_of(i), at(i), false).status, 201);
  const auto plan = plan_cold_lots(s.points, {});
  const auto summary = cold_summary(s.points, plan.cold);
  ASSERT_TRUE(summary);
  points::Points sum = 0;
  std::pair first(points::Instant::max(), std::uint64_t{0});
  for (std::size_t i = 0; i < s.points.lots.size(); ++i)
    if (plan.cold[i]) sum += s.points.lots[i].remaining, first = std::min(first, {s.points.lots[i].expires_at,
                                                                                   s.points.lots[i].seq});
  EXPECT_EQ(summary->points, sum);
  EXPECT_EQ(summary->first_expiry, first.first);
  EXPECT_EQ(summary->first_seq, first.second);
  EXPECT_EQ(cold_summary(s.points, std::vector<char>(s.points.lots.size(), 0)), std::nullopt);

  // A state read without its cold lots, the stand-in in the first cold lot's place: written as the state alone,
  // the cold column kept.
  auto hot = read_state_text(state_text(s, plan.cold));
  const auto hot_text = state_text(hot);
  ASSERT_TRUE(add_cold_stand_in(hot.points, *summary));
  const auto stand_in = std::find_if(hot.points.lots.begin(), hot.points.lots.end(), is_cold_stand_in);
  ASSERT_NE(stand_in, hot.points.lots.end());
  EXPECT_EQ(stand_in->seq, summary->first_seq);
  EXPECT_TRUE(std::is_sorted(hot.points.lots.begin(), hot.points.lots.end(),
                             [](const auto& a, const auto& b) { return a.seq < b.seq; }));
  EXPECT_FALSE(add_cold_stand_in(hot.points, *summary)) << "a seq the state has";
  const auto texts = stored_texts(hot, {});
  EXPECT_EQ(texts.state, hot_text);
  EXPECT_FALSE(texts.write_cold);
  EXPECT_TRUE(texts.apart);
  EXPECT_EQ(points::balance_at(hot.points, at(100)), points::balance_at(s.points, at(100)));
}

TEST(ColdLots, ColdLotsStayUnreadOnlyWhenAnEarnCannotTellTheDifference) {
  WalletState s;
  for (int i = 0; i < 60; ++i) ASSERT_EQ(apply_command(s, earn_of(i), at(i), false).status, 201);
  const auto plan = plan_cold_lots(s.points, {});
  const auto summary = *cold_summary(s.points, plan.cold);
  const auto hot = read_state_text(state_text(s, plan.cold)).points;
  ASSERT_EQ(hot.lots.size(), kHotKeep);  // 60 lots: 16 kept, 44 apart
  const auto now = at(60);
  EXPECT_TRUE(cold_lots_may_stay_unread(hot, summary, 1, now));
  // The split must still hold after the batch's earns.
  EXPECT_TRUE(cold_lots_may_stay_unread(hot, summary, kHotKeep + kMoveAtLeast - hot.lots.size() - 1, now));
  EXPECT_FALSE(cold_lots_may_stay_unread(hot, summary, kHotKeep + kMoveAtLeast - hot.lots.size(), now));
  // Debt: an earn repays it from its own lot, but a state with debt is read whole.
  auto owing = hot;
  owing.debt = 5;
  EXPECT_FALSE(cold_lots_may_stay_unread(owing, summary, 1, now));
  // A cold lot expiring within the margin.
  auto soon = summary;
  soon.first_expiry = now + kColdUnreadMargin;
  EXPECT_FALSE(cold_lots_may_stay_unread(hot, soon, 1, now));
  soon.first_expiry = now + kColdUnreadMargin + std::chrono::microseconds(1);
  EXPECT_FALSE(cold_lots_may_stay_unread(hot, soon, 1, now)) << "the state's lots expire later: the stand-in is listed";
  // Fewer than kExpiringMax of the state's lots listed before the cold ones.
  auto few = hot;
  for (std::size_t i = 0; i + points::kExpiringMax <= few.lots.size(); ++i) few.lots[i].remaining = 0;
  EXPECT_FALSE(cold_lots_may_stay_unread(few, summary, 1, now));
  few.lots.front().remaining = 1;
  EXPECT_TRUE(cold_lots_may_stay_unread(few, summary, 1, now));
  // Nothing to stand in for.
  EXPECT_FALSE(cold_lots_may_stay_unread(hot, ColdSummary{0, summary.first_expiry, summary.first_seq}, 1, now));
  // Lots expiring with the first cold one count only when they come before it (by seq): earns of one instant.
  WalletState tied;
  for (int i = 0; i < 60; ++i) ASSERT_EQ(apply_command(tied, earn_of(i), at(i < 30 ? 0 : i), false).status, 201);
  const auto tied_plan = plan_cold_lots(tied.points, {});
  const auto tied_summary = *cold_summary(tied.points, tied_plan.cold);
  ASSERT_EQ(tied_summary.first_expiry, tied.points.lots.front().expires_at) << "the first 30 lots expire together";
  ASSERT_EQ(tied_summary.first_seq, tied.points.lots[kHotKeep].seq);
  auto tied_hot = read_state_text(state_text(tied, tied_plan.cold)).points;
  EXPECT_TRUE(cold_lots_may_stay_unread(tied_hot, tied_summary, 1, now));
  auto later = tied_summary;
  later.first_seq = 1;  // as if the first cold lot came before every one of the state's
  EXPECT_FALSE(cold_lots_may_stay_unread(tied_hot, later, 1, now));
}

// A member who only earns: most of its earns leave the cold lots unread, and each answers as if they were read.
// `together`: earns made at one instant in a row (one batch's), so that their lots expire together: with 20, the
// lots kept in the state and the first cold one all expire at the same instant, and only their seqs order them.
TEST(ColdLots, AnAccumulatingMembersEarnsLeaveItsColdLotsUnreadAndAnswerTheSame) {
  for (const int together : {1, 20}) {
    WalletState s;
    Stored st;
    st.store(s);
    int unread_earns = 0;
    const int earns = 400;
    for (int i = 0; i < earns; ++i) {
      const auto now = at(i / together);
      bool unread = false;
      s = st.load_for_earns(1, now, &unread);
      auto e = apply_command(s, earn_of(i), now, false);
      st.store(s);
      const auto whole = st.load();
      if (unread) {
        ++unread_earns;
        const auto where = "earn " + std::to_string(i) + ", " + std::to_string(together) + " together";
        expect_as_if_read(e, s, whole, now, where);
      } else {
        ASSERT_EQ(e.status, 201) << e.body;
      }
      ASSERT_EQ(whole.points.lots.size(), static_cast<std::size_t>(i + 1));
    }
    // Between two splits (one per kMoveAtLeast earns) every earn but the one that splits leaves them unread.
    EXPECT_GE(unread_earns, earns - static_cast<int>(kColdFrom) - 2 * (earns / static_cast<int>(kMoveAtLeast)))
        << together << " together";
  }
}

// Random commands and time, each followed by the store and read of a batch: what is read back is always what
// was stored, so every command sees the state it would have seen with one column.
TEST(ColdLots, WhateverTheCommandsDoTheStateReadBackIsTheStateStored) {
  int all_unread_earns = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    std::mt19937_64 rng(seed);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    WalletState s;
    Stored st;
    std::vector<std::string> earns, redemptions;
    std::int64_t t = 0, st_version = 0;
    int unread_earns = 0;
    st.store(s);
    for (int step = 0; step < 600; ++step) {
      t += pick(0, 6);
      const int what = pick(0, 99);
      Effect e;
      auto cmd = [&](CommandType type, nlohmann::json args) {
        auto c = command(type, std::move(args));
        c.tenant.points_ttl = IsoDuration{.seconds = 400 + pick(0, 3000)};  // some past the unread margin
        return c;
      };
      if (what < 55) {
        // An earn, as a batch would read the state for it: its cold lots unread when they may be.
        bool unread = false;
        s = st.load_for_earns(1, at(t), &unread);
        s.version = st_version;
        e = apply_command(
            s,
            cmd(CommandType::earn, {{"amount_irr", pick(1, 40) * 10'000}, {"receipt_id", "r" + std::to_string(step)}}),
            at(t), false);
        if (e.earn) earns.push_back(nlohmann::json::parse(e.body)["id"]);
        if (unread) {
          ++unread_earns;
          st.store(s);
          expect_as_if_read(e, s, st.load(), at(t), "seed " + std::to_string(seed) + ", step " + std::to_string(step));
          s = st.load();
          s.version = st_version;
        }
      } else if (what < 70) {
        e = apply_command(
            s, cmd(CommandType::authorize, {{"points", pick(1, 60)}, {"receipt_id", "x" + std::to_string(step)}}),
            at(t), false);
        if (e.redemption) redemptions.push_back(nlohmann::json::parse(e.body)["id"]);
      } else if (what < 78 && !redemptions.empty()) {
        const auto& id = redemptions[static_cast<std::size_t>(pick(0, static_cast<int>(redemptions.size()) - 1))];
        e = apply_command(
            s, cmd(pick(0, 1) ? CommandType::capture : CommandType::void_redemption, {{"redemption_id", id}}), at(t),
            false);
      } else if (what < 84 && !earns.empty()) {
        // A purchase refund names any earn, old ones included: its lot may be one stored apart.
        const auto& id = earns[static_cast<std::size_t>(pick(0, static_cast<int>(earns.size()) - 1))];
        e = apply_command(s, cmd(CommandType::purchase_refund, {{"earn_id", id}, {"amount_irr", pick(1, 20) * 5'000}}),
                          at(t), false);
      } else if (what < 90) {
        e = apply_time(s, at(t));
      } else {
        (void)points::archive_finished(s.points);  // finished lots leave, as the wallet archives them
      }
      s.version += 1;
      st_version = s.version;
      st.store(s);
      auto back = st.load();
      back.version = s.version;
      ASSERT_EQ(canonical(back), canonical(s)) << "seed " << seed << ", step " << step;
      s = std::move(back);
    }
    EXPECT_GT(st.cold_writes, 0) << "seed " << seed << ": the states never grew enough to split";
    all_unread_earns += unread_earns;
  }
  std::printf("earns with their cold lots unread: %d\n", all_unread_earns);
  EXPECT_GE(all_unread_earns, 100) << "the earns' other path, their cold lots unread, was hardly taken";
}

}  // namespace
}  // namespace emtiaz::wallet
