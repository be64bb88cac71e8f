// Randomized operations against an independent, deliberately naive model that tracks every single point
// ("unit") on its own, and compares after each operation: the outcome (error or success and points clawed
// back), the balance now and at a later instant, the per-issuer figures of the movements, conservation, and
// the debt invariant. Seeds are fixed, so every run is the same.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "points/conservation.hpp"
#include "points/points.hpp"
#include "points/points_json.hpp"
#include "points/tests/helpers.hpp"

namespace emtiaz::points {
namespace {

using testing::T;

// ----- the model -------------------------------------------------------------------------------------
struct MLot {
  std::string id, issuer, earn_id;
  std::int64_t created = 0, avail = 0, exp = 0, seq = 0;
  std::int64_t points = 0, amount = 0, refunded_irr = 0, clawed = 0;
};
enum class U { free, held, captured, expired, clawed };
struct Unit {
  int lot = 0;
  U st = U::free;
  int red = -1;  // the redemption holding or having captured it
};
struct MRed {
  std::string id, partner;
  std::int64_t hold_exp = 0;
  RedemptionStatus status = RedemptionStatus::authorized;
  std::int64_t captured = 0, refunded = 0;
};

struct Model {
  std::vector<MLot> lots;
  std::vector<Unit> units;
  std::vector<MRed> reds;
  std::int64_t debt = 0, asof = 0, seq = 0;
  std::map<std::string, IssuerFigures> figs;

  const std::string& issuer(const Unit& u) const { return lots[static_cast<std::size_t>(u.lot)].issuer; }
  const MLot& lot(const Unit& u) const { return lots[static_cast<std::size_t>(u.lot)]; }
  bool available(const MLot& l, std::int64_t t) const { return l.avail <= t && t < l.exp; }

  // Unit indices matching `pred`, sorted by their lot's (expiry, creation), or the reverse.
  template <typename Pred>
  std::vector<std::size_t> select(Pred pred, bool latest_first = false) const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < units.size(); ++i) {
      if (pred(units[i])) out.push_back(i);
    }
    std::stable_sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) {
      const auto ka = std::pair(lot(units[a]).exp, lot(units[a]).seq);
      const auto kb = std::pair(lot(units[b]).exp, lot(units[b]).seq);
      return latest_first ? kb < ka : ka < kb;
    });
    return out;
  }

  void repay(std::size_t u, std::int64_t t) {
    if (debt > 0 && units[u].st == U::free && available(lot(units[u]), t)) {
      units[u].st = U::clawed;
      --debt;
      ++figs[issuer(units[u])].clawed_back;
    }
  }
  // A unit coming back to its lot at t (release, hold timeout, redemption refund).
  void give_back(std::size_t u, std::int64_t t) {
    units[u].st = U::free;
    units[u].red = -1;
    if (lot(units[u]).exp <= t) {  // expired by t (half-open): the unit expires on its return
      units[u].st = U::expired;
      ++figs[issuer(units[u])].expired;
    } else {
      repay(u, t);
    }
  }

  void advance(std::int64_t now) {
    std::set<std::int64_t> times;
    for (const auto& l : lots) {
      if (l.avail > asof && l.avail <= now && l.avail < l.exp) times.insert(l.avail);
      if (l.exp > asof && l.exp <= now) times.insert(l.exp);
    }
    for (const auto& r : reds) {
      if (r.status == RedemptionStatus::authorized && r.hold_exp <= now) times.insert(r.hold_exp);
    }
    for (std::int64_t tau : times) {
      for (std::size_t l = 0; l < lots.size(); ++l) {
        if (lots[l].avail == tau && lots[l].avail < lots[l].exp) {
          for (std::size_t u = 0; u < units.size(); ++u) {
            if (units[u].lot == static_cast<int>(l)) repay(u, tau);
          }
        }
      }
      for (std::size_t r = 0; r < reds.size(); ++r) {
        if (reds[r].status == RedemptionStatus::authorized && reds[r].hold_exp == tau) {
          reds[r].status = RedemptionStatus::expired;
          for (auto u : select([&](const Unit& x) { return x.st == U::held && x.red == static_cast<int>(r); })) {
            give_back(u, tau);
          }
        }
      }
      for (auto& unit : units) {
        if (unit.st == U::free && lot(unit).exp == tau) {
          unit.st = U::expired;
          ++figs[issuer(unit)].expired;
        }
      }
    }
    asof = std::max(asof, now);
  }

  void take(int own, std::int64_t points, std::int64_t now) {
    auto claw = [&](std::size_t u) {
      units[u].st = U::clawed;
      ++figs[issuer(units[u])].clawed_back;
      --points;
    };
    if (own >= 0 && lots[static_cast<std::size_t>(own)].exp > now) {
      for (std::size_t u = 0; u < units.size() && points > 0; ++u) {
        if (units[u].lot == own && units[u].st == U::free) claw(u);
      }
    }
    for (auto u : select([&](const Unit& x) { return x.st == U::free && x.lot != own && available(lot(x), now); })) {
      if (points == 0) break;
      claw(u);
    }
    debt += points;
  }

  int add_lot(MLot l, std::int64_t points) {
    l.seq = seq++;
    l.points = points;
    lots.push_back(l);
    const int index = static_cast<int>(lots.size()) - 1;
    figs[l.issuer].issued += points;
    for (std::int64_t i = 0; i < points; ++i) units.push_back(Unit{index, U::free, -1});
    if (l.avail <= l.created) {
      for (std::size_t u = 0; u < units.size(); ++u) {
        if (units[u].lot == index) repay(u, l.created);
      }
    }
    return index;
  }

  std::int64_t spendable(std::int64_t t) const {
    std::int64_t n = 0;
    for (const auto& u : units) n += (u.st == U::free && available(lot(u), t)) ? 1 : 0;
    return n - debt;
  }

  Balance balance(std::int64_t t) const {
    Model copy = *this;
    copy.advance(t);
    Balance b;
    std::vector<std::int64_t> per_lot(copy.lots.size(), 0);
    for (const auto& u : copy.units) {
      const auto& l = copy.lot(u);
      if (u.st == U::free && copy.available(l, t)) {
        ++b.available;
        ++per_lot[static_cast<std::size_t>(u.lot)];
      }
      if (u.st == U::free && l.avail > t && l.exp > t) ++b.pending;
      if (u.st == U::held) ++b.held;
    }
    b.available -= copy.debt;
    std::vector<std::size_t> order;
    for (std::size_t l = 0; l < per_lot.size(); ++l) {
      if (per_lot[l] > 0) order.push_back(l);
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t c) {
      return std::pair(copy.lots[a].exp, copy.lots[a].seq) < std::pair(copy.lots[c].exp, copy.lots[c].seq);
    });
    for (std::size_t i = 0; i < order.size() && i < kExpiringMax; ++i) {
      b.expiring.push_back(ExpiringPoints{per_lot[order[i]], T(copy.lots[order[i]].exp)});
    }
    return b;
  }
};

// ----- the run ---------------------------------------------------------------------------------------
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  std::int64_t in(std::int64_t lo, std::int64_t hi) {  // inclusive, portable (no distribution objects)
    return lo + static_cast<std::int64_t>(engine_() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(int percent) { return in(1, 100) <= percent; }

 private:
  std::mt19937_64 engine_;
};

void run(std::uint64_t seed, int steps, std::map<MovementType, int>& seen) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  Rng rng(seed);
  Model model;
  MemberState state;
  Figures figures;  // of every movement so far
  const std::vector<std::string> partners = {"p1", "p2", "p3"};
  std::int64_t now = 0;
  int ids = 0;
  int successes = 0;
  // Finished records moved out of the state (archive_finished), as the wallet keeps them in rows; an
  // operation naming one gets it back first (restore), exactly as the wallet's batch does.
  std::map<std::string, Lot> archived_lots;
  std::map<std::string, Redemption> archived_redemptions;
  int restored = 0;
  auto bring_back_earn = [&](const std::string& earn_id) {
    if (find_earn_lot(state, earn_id) != nullptr) return;
    for (const auto& [id, lot] : archived_lots)
      if (lot.earn_id == earn_id) {
        restore(state, Archived{{lot}, {}});
        ++restored;
      }
  };
  auto bring_back_redemption = [&](const std::string& redemption_id) {
    if (find_redemption(state, redemption_id) != nullptr) return;
    auto it = archived_redemptions.find(redemption_id);
    if (it == archived_redemptions.end()) return;
    Archived back{{}, {it->second}};
    for (const auto& id : missing_lots(state, it->second)) back.lots.push_back(archived_lots.at(id));
    restore(state, std::move(back));
    ++restored;
  };

  for (int step = 0; step < steps; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    now += rng.in(0, 4);
    const std::int64_t as_of_before = model.asof;
    model.advance(now);
    std::optional<Error> expected;
    std::optional<Error> got;
    std::vector<Movement> movements;
    std::optional<Points> expected_clawed, got_clawed;
    const int op = static_cast<int>(rng.in(0, 99));

    if (op < 25) {  // earn
      const std::string id = "L" + std::to_string(ids++);
      const auto& partner = partners[static_cast<std::size_t>(rng.in(0, 2))];
      const Points points = rng.in(0, 20);
      const std::int64_t amount = rng.in(1, 50'000);
      const std::int64_t avail = now + (rng.chance(50) ? 0 : rng.in(1, 12));
      const std::int64_t exp = now + rng.in(1, 30);
      model.add_lot(MLot{id, partner, "earn_" + id, now, avail, exp, 0, 0, amount, 0, 0}, points);
      auto o = earn(state, T(now), testing::earn_spec(id, partner, points, avail, exp, amount));
      o.value = {};
      got = o.error;
      movements = o.movements;
    } else if (op < 32) {  // adjustment
      Points points = rng.in(-15, 15);
      if (points == 0) points = 1;
      const std::string id = "A" + std::to_string(ids++);
      const std::int64_t exp = now + rng.in(1, 30);
      if (points > 0) {
        model.add_lot(MLot{id, std::string(kOperatorIssuer), "", now, now, exp, 0, 0, 0, 0, 0}, points);
      } else {
        model.take(-1, -points, now);
      }
      auto o = adjust(state, T(now), AdjustmentSpec{id, points, T(exp)});
      got = o.error;
      movements = o.movements;
    } else if (op < 45) {  // purchase refund
      const bool unknown = model.lots.empty() || rng.chance(5);
      int lot = -1;
      if (!unknown) lot = static_cast<int>(rng.in(0, static_cast<std::int64_t>(model.lots.size()) - 1));
      std::string earn_id = unknown ? "nope" : model.lots[static_cast<std::size_t>(lot)].earn_id;
      std::int64_t amount = rng.in(1, 20'000);
      if (earn_id.empty()) {
        expected = Error::not_found;  // an adjustment lot has no purchase
      } else if (unknown) {
        expected = Error::not_found;
      } else {
        auto& l = model.lots[static_cast<std::size_t>(lot)];
        if (rng.chance(30)) amount = l.amount - l.refunded_irr;  // the rest of the purchase
        if (amount <= 0) amount = 1;
        if (l.refunded_irr + amount > l.amount) {
          expected = Error::refund_exceeds_purchase;
        } else {
          l.refunded_irr += amount;
          const std::int64_t target = l.points * l.refunded_irr / l.amount;
          expected_clawed = target - l.clawed;
          l.clawed = target;
          model.take(lot, *expected_clawed, now);
        }
      }
      bring_back_earn(earn_id);
      auto o = refund_purchase(state, T(now), earn_id, amount);
      got = o.error;
      if (o.ok()) got_clawed = o.value;
      movements = o.movements;
    } else if (op < 70) {  // authorize, sometimes with capture
      const std::string id = "R" + std::to_string(ids++);
      const auto& partner = partners[static_cast<std::size_t>(rng.in(0, 2))];
      const Points points = rng.in(1, 25);
      const std::int64_t hold_exp = now + rng.in(1, 15);
      if (model.spendable(now) < points) {
        expected = Error::insufficient_points;
      } else {
        model.reds.push_back(MRed{id, partner, hold_exp, RedemptionStatus::authorized, 0, 0});
        const int r = static_cast<int>(model.reds.size()) - 1;
        auto free = model.select([&](const Unit& u) { return u.st == U::free && model.available(model.lot(u), now); });
        for (std::size_t i = 0; i < static_cast<std::size_t>(points); ++i) {
          model.units[free[i]].st = U::held;
          model.units[free[i]].red = r;
        }
      }
      auto o = authorize(state, T(now), RedemptionSpec{id, partner, 100, points, T(hold_exp)});
      got = o.error;
      movements = o.movements;
    } else if (op < 95 && model.reds.empty()) {
      movements = advance(state, T(now));
    } else if (op < 95) {  // capture / void / refund of an existing redemption
      const auto r = static_cast<std::size_t>(rng.in(0, static_cast<std::int64_t>(model.reds.size()) - 1));
      auto& red = model.reds[r];
      bring_back_redemption(red.id);
      const int kind = static_cast<int>(rng.in(0, 2));
      auto mine = [&](U st) {
        return [&, st](const Unit& u) { return u.st == st && u.red == static_cast<int>(r); };
      };
      if (kind == 0) {  // capture
        const auto held = model.select(mine(U::held));
        const auto n = static_cast<Points>(held.size());
        std::optional<Points> points;
        if (rng.chance(60)) points = rng.in(0, n + 1);
        if (red.status != RedemptionStatus::authorized) {
          expected = Error::redemption_not_authorized;
        } else if (points && (*points < 1 || *points > n)) {
          expected = Error::invalid_amount;
        } else {
          const Points k = points.value_or(n);
          for (std::size_t i = 0; i < held.size(); ++i) {
            if (static_cast<Points>(i) < k) {
              model.units[held[i]].st = U::captured;
              ++model.figs[model.issuer(model.units[held[i]])].captured;
            } else {
              model.give_back(held[i], now);
            }
          }
          red.status = RedemptionStatus::captured;
          red.captured = k;
        }
        auto o = capture(state, T(now), red.id, points);
        got = o.error;
        movements = o.movements;
      } else if (kind == 1) {  // void
        if (red.status != RedemptionStatus::authorized) {
          expected = Error::redemption_not_authorized;
        } else {
          for (auto u : model.select(mine(U::held))) model.give_back(u, now);
          red.status = RedemptionStatus::voided;
        }
        auto o = void_redemption(state, T(now), red.id);
        got = o.error;
        movements = o.movements;
      } else {  // redemption refund
        const Points refundable = red.captured - red.refunded;
        std::optional<Points> points;
        if (rng.chance(60)) points = rng.in(1, refundable + 2);
        const Points k = points.value_or(refundable);
        if (k <= 0 || k > refundable) {
          expected = Error::refund_exceeds_redemption;
        } else {
          const auto captured = model.select(mine(U::captured), /*latest_first=*/true);
          for (std::size_t i = 0; i < static_cast<std::size_t>(k); ++i) {
            ++model.figs[model.issuer(model.units[captured[i]])].redemption_refunded;
            model.give_back(captured[i], now);
          }
          red.refunded += k;
          red.status = red.refunded == red.captured ? RedemptionStatus::refunded : RedemptionStatus::partially_refunded;
        }
        auto o = refund_redemption(state, T(now), red.id, points);
        got = o.error;
        movements = o.movements;
      }
    } else {  // a timer firing, or a JSON round trip of the stored state
      movements = advance(state, T(now));
      if (rng.chance(50)) state = nlohmann::json::parse(nlohmann::json(state).dump()).get<MemberState>();
    }
    // Half of the time the finished records leave (the wallet archives after every batch), kept as JSON
    // text like the wallet's rows.
    if (rng.chance(50)) {
      auto out = archive_finished(state);
      for (auto& lot : out.lots) archived_lots[lot.id] = nlohmann::json::parse(nlohmann::json(lot).dump()).get<Lot>();
      for (auto& redemption : out.redemptions)
        archived_redemptions[redemption.id] =
            nlohmann::json::parse(nlohmann::json(redemption).dump()).get<Redemption>();
    }

    ASSERT_EQ(got, expected) << "op " << op;
    ASSERT_EQ(got_clawed, expected_clawed);
    if (!got) ++successes;
    for (std::size_t i = 0; i < movements.size(); ++i) {
      ASSERT_GT(movements[i].points, 0);
      ASSERT_GE(movements[i].at, T(as_of_before));
      ASSERT_LE(movements[i].at, T(now));
      if (i > 0) {
        ASSERT_GE(movements[i].at, movements[i - 1].at);
      }
    }
    for (const auto& movement : movements) {
      accumulate(figures, movement);
      ++seen[movement.type];
    }

    // Per-issuer figures of the movements equal the model's, and the state conserves them.
    std::set<std::string> issuers;
    for (const auto& [k, v] : figures.issuers) issuers.insert(k);
    for (const auto& [k, v] : model.figs) issuers.insert(k);
    for (const auto& issuer : issuers) {
      const auto it = figures.issuers.find(issuer);
      const IssuerFigures actual = it == figures.issuers.end() ? IssuerFigures{} : it->second;
      const IssuerFigures wanted = model.figs.contains(issuer) ? model.figs.at(issuer) : IssuerFigures{};
      ASSERT_EQ(actual, wanted) << "issuer " << issuer << " expired " << actual.expired << "/" << wanted.expired
                                << " clawed " << actual.clawed_back << "/" << wanted.clawed_back << "\nmovements: " << nlohmann::json(movements).dump();
    }
    ASSERT_EQ(conservation_violations(figures, state), std::vector<std::string>{});
    ASSERT_EQ(state.debt, model.debt);

    // Debt invariant: while in debt, no available lot keeps unheld points.
    if (state.debt > 0) {
      for (const auto& lot : state.lots) {
        if (!lot.pending && !lot.expired) {
          ASSERT_EQ(lot.remaining, 0) << lot.id;
        }
      }
    }

    // Balances now and at a later instant, without advancing the state.
    for (std::int64_t t : {now, now + rng.in(0, 20)}) {
      const Balance actual = balance_at(state, T(t));
      const Balance wanted = model.balance(t);
      ASSERT_EQ(actual.available, wanted.available) << "t=" << t;
      ASSERT_EQ(actual.pending, wanted.pending) << "t=" << t;
      ASSERT_EQ(actual.held, wanted.held) << "t=" << t;
      ASSERT_EQ(actual.expiring, wanted.expiring) << "t=" << t;
    }
    // Member-level conservation (api.md semantics 5): issued − clawed − net redeemed − expired − debt
    // = available + pending + held.
    Points net = 0;
    for (const auto& [k, f] : model.figs) net += f.left();
    const Balance b = balance_at(state, T(now));
    ASSERT_EQ(net - model.debt, b.available + b.pending + b.held);
  }
  // The run must have exercised the interesting paths, not only failed.
  EXPECT_GT(successes, steps / 3);
  EXPECT_GT(restored, 0);
}

TEST(Randomized, ConservationAndModelAgreementOverManySeeds) {
  std::map<MovementType, int> seen;
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    run(seed, 300, seen);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // Every kind of movement happened, so every rule was compared against the model.
  for (auto type : {MovementType::earn, MovementType::adjustment, MovementType::adjustment_debit,
                    MovementType::clawback, MovementType::debt, MovementType::debt_repayment, MovementType::hold,
                    MovementType::capture, MovementType::release, MovementType::hold_expiry,
                    MovementType::redemption_refund, MovementType::lot_expiry, MovementType::pending_available}) {
    EXPECT_GT(seen[type], 5) << to_string(type);
  }
}

}  // namespace
}  // namespace emtiaz::points
