// A member's lots stored apart (wallet/cold_lots.hpp): the state read back from the two columns is the state
// that was stored, whatever the commands did between; small states are stored as before; an accumulating
// member's state stays small and its cold lots are written once per kMoveAtLeast earns, not per command.
#include "wallet/cold_lots.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "wallet/applier.hpp"
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
  std::vector<StoredLot> cold_read;  // the cold lots as the last read gave them
  int cold_writes = 0;

  void store(const WalletState& s) {
    auto texts = stored_texts(s, cold_read);
    state = std::move(texts.state);
    if (texts.write_cold) {
      cold = std::move(texts.cold_lots);
      ++cold_writes;
    }
  }
  WalletState load() {
    auto s = read_stored_state(state, cold, &cold_read);
    return s;
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

// Random commands and time, each followed by the store and read of a batch: what is read back is always what
// was stored, so every command sees the state it would have seen with one column.
TEST(ColdLots, WhateverTheCommandsDoTheStateReadBackIsTheStateStored) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    std::mt19937_64 rng(seed);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    WalletState s;
    Stored st;
    std::vector<std::string> earns, redemptions;
    std::int64_t t = 0;
    for (int step = 0; step < 600; ++step) {
      t += pick(0, 3);
      const int what = pick(0, 99);
      Effect e;
      auto cmd = [&](CommandType type, nlohmann::json args) {
        auto c = command(type, std::move(args));
        c.tenant.points_ttl = IsoDuration{.seconds = 400 + pick(0, 400)};
        return c;
      };
      if (what < 55) {
        e = apply_command(
            s,
            cmd(CommandType::earn, {{"amount_irr", pick(1, 40) * 10'000}, {"receipt_id", "r" + std::to_string(step)}}),
            at(t), false);
        if (e.earn) earns.push_back(nlohmann::json::parse(e.body)["id"]);
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
      st.store(s);
      auto back = st.load();
      back.version = s.version;
      ASSERT_EQ(canonical(back), canonical(s)) << "seed " << seed << ", step " << step;
      s = std::move(back);
    }
    EXPECT_GT(st.cold_writes, 0) << "seed " << seed << ": the states never grew enough to split";
  }
}

}  // namespace
}  // namespace emtiaz::wallet
