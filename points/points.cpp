#include "points/points.hpp"

#include <algorithm>
#include <cassert>
#include <numeric>
#include <stdexcept>

namespace emtiaz::points {
namespace {

// 128-bit intermediate for ⌊P × R / A⌋: P and R are each up to 10^15, so the product needs ~100 bits.
__extension__ typedef __int128 Wide;

bool valid_amount(std::int64_t value) { return value > 0 && value <= kMaxAmount; }

Lot* lot_by_id(MemberState& state, std::string_view id) {
  for (auto& lot : state.lots) {
    if (lot.id == id) return &lot;
  }
  return nullptr;
}

// The lot an allocation names. Its absence is a caller's bug (a lot an authorized redemption holds from is
// never archived; a caller restoring a finished redemption restores its missing_lots too), reported before
// anything has changed rather than followed into a null pointer.
Lot& allocation_lot(MemberState& state, const Allocation& allocation, std::string_view redemption_id) {
  if (Lot* lot = lot_by_id(state, allocation.lot_id)) return *lot;
  throw std::logic_error("points state: redemption " + std::string(redemption_id) + " names lot " +
                         allocation.lot_id + ", which is not in the state");
}

Redemption* redemption_by_id(MemberState& state, std::string_view id) {
  for (auto& redemption : state.redemptions) {
    if (redemption.id == id) return &redemption;
  }
  return nullptr;
}

// A lot that is available at `t`: its becoming-available has been applied and it has not expired.
// (advance() has run to at least t whenever this is asked, so the flags are the truth at t.)
bool is_available(const Lot& lot) { return !lot.pending && !lot.expired; }

bool earlier_expiry(const Lot* a, const Lot* b) {
  if (a->expires_at != b->expires_at) return a->expires_at < b->expires_at;
  return a->seq < b->seq;
}

// Available lots with unheld points, earliest expiry first (ties by creation order).
std::vector<Lot*> spendable_lots(MemberState& state, const Lot* except = nullptr) {
  std::vector<Lot*> lots;
  for (auto& lot : state.lots) {
    if (&lot != except && is_available(lot) && lot.remaining > 0) lots.push_back(&lot);
  }
  std::sort(lots.begin(), lots.end(), earlier_expiry);
  return lots;
}

Points spendable_points(const MemberState& state) {
  Points sum = 0;
  for (const auto& lot : state.lots) {
    if (is_available(lot)) sum += lot.remaining;
  }
  return sum;
}

// Whether `more` points can join what the member holds (pending, available and held points: every balance
// figure is a part of it) without the sum passing int64. Each earn is at most 10^15 points, but nothing else
// bounds how many a member gathers; a balance that wrapped would show and spend points that do not exist.
bool holdings_fit(const MemberState& state, Points more) {
  Points sum = more;
  for (const auto& lot : state.lots)
    if (!lot.expired && __builtin_add_overflow(sum, lot.remaining, &sum)) return false;
  for (const auto& redemption : state.redemptions)
    if (__builtin_add_overflow(sum, held_points(redemption), &sum)) return false;
  return true;
}

Movement lot_movement(MovementType type, Points points, const Lot& lot, Instant at) {
  Movement movement;
  movement.type = type;
  movement.points = points;
  movement.lot_id = lot.id;
  movement.issuer = lot.issuer;
  movement.at = at;
  return movement;
}

// Pays debt from a lot whose points just became available (a new lot, a pending lot reaching
// available_at, released or returned points).
void repay_debt_from(MemberState& state, Lot& lot, Instant at, std::string_view redemption_id,
                     std::vector<Movement>& out) {
  // A lot expiring exactly at `at` (a hold timing out at that instant) is no longer available: its
  // expiry is applied later in the same instant and takes these points.
  if (state.debt <= 0 || !is_available(lot) || lot.expires_at <= at) return;
  const Points repaid = std::min(state.debt, lot.remaining);
  if (repaid <= 0) return;
  lot.remaining -= repaid;
  state.debt -= repaid;
  auto movement = lot_movement(MovementType::debt_repayment, repaid, lot, at);
  movement.redemption_id = std::string(redemption_id);
  out.push_back(std::move(movement));
}

// Puts released or refunded points back into their lot at `at`: they expire at once if the lot's expiry
// has been applied, repay debt if the lot is available, and otherwise (the lot expires exactly at `at`
// and its expiry is applied later in the same instant) simply wait for that expiry.
void return_to_lot(MemberState& state, Lot& lot, Points points, Instant at, std::string_view redemption_id,
                   std::vector<Movement>& out) {
  lot.remaining += points;
  if (lot.expired) {
    lot.remaining -= points;
    auto movement = lot_movement(MovementType::lot_expiry, points, lot, at);
    movement.redemption_id = std::string(redemption_id);
    out.push_back(std::move(movement));
    return;
  }
  repay_debt_from(state, lot, at, redemption_id, out);
}

// Gives every held point of an authorized redemption back to its lot (void, hold timeout).
void release_all(MemberState& state, Redemption& redemption, MovementType type, Instant at,
                 std::vector<Movement>& out) {
  for (auto& allocation : redemption.allocations) {
    if (allocation.held <= 0) continue;
    Lot* lot = &allocation_lot(state, allocation, redemption.id);
    const Points points = allocation.held;
    allocation.held = 0;
    auto movement = lot_movement(type, points, *lot, at);
    movement.partner_id = redemption.partner_id;
    movement.redemption_id = redemption.id;
    out.push_back(std::move(movement));
    return_to_lot(state, *lot, points, at, redemption.id, out);
  }
}

// Takes `points` from the member's lots like a clawback: first from `own` (its unheld remaining, pending
// or available), then from other available unheld points earliest expiry first; the rest becomes debt.
void take_points(MemberState& state, Lot* own, Points points, MovementType type, std::string_view partner_id,
                 std::string_view earn_id, Instant at, std::vector<Movement>& out) {
  auto take_from = [&](Lot& lot) {
    const Points taken = std::min(points, lot.remaining);
    if (taken <= 0) return;
    lot.remaining -= taken;
    points -= taken;
    auto movement = lot_movement(type, taken, lot, at);
    movement.partner_id = std::string(partner_id);
    movement.earn_id = std::string(earn_id);
    out.push_back(std::move(movement));
  };
  if (own != nullptr && !own->expired) take_from(*own);
  for (Lot* lot : spendable_lots(state, own)) {
    if (points == 0) break;
    take_from(*lot);
  }
  if (points > 0) {
    state.debt += points;
    Movement movement;
    movement.type = MovementType::debt;
    movement.points = points;
    movement.partner_id = std::string(partner_id);
    movement.earn_id = std::string(earn_id);
    movement.at = at;
    out.push_back(std::move(movement));
  }
}

// The lot's becoming-available is an event only if the lot is ever available.
bool becomes_available(const Lot& lot) { return lot.pending && !lot.expired && lot.available_at < lot.expires_at; }

// Earliest unapplied time event at or before `limit`, if any.
std::optional<Instant> earliest_event(const MemberState& state, Instant limit) {
  std::optional<Instant> best;
  auto consider = [&](Instant t) {
    if (t <= limit && (!best || t < *best)) best = t;
  };
  for (const auto& lot : state.lots) {
    if (becomes_available(lot)) consider(lot.available_at);
    if (!lot.expired) consider(lot.expires_at);
  }
  for (const auto& redemption : state.redemptions) {
    if (redemption.status == RedemptionStatus::authorized) consider(redemption.expires_at);
  }
  return best;
}

void apply_events_at(MemberState& state, Instant t, std::vector<Movement>& out) {
  // 1. Lots becoming available at t.
  for (auto& lot : state.lots) {
    if (becomes_available(lot) && lot.available_at == t) {
      lot.pending = false;
      if (lot.remaining > 0) out.push_back(lot_movement(MovementType::pending_available, lot.remaining, lot, t));
      repay_debt_from(state, lot, t, {}, out);
    }
  }
  // 2. Holds timing out at t. A lot expiring at t is not yet flagged, so its points wait for step 3.
  for (auto& redemption : state.redemptions) {
    if (redemption.status == RedemptionStatus::authorized && redemption.expires_at == t) {
      redemption.status = RedemptionStatus::expired;
      release_all(state, redemption, MovementType::hold_expiry, t, out);
    }
  }
  // 3. Lots expiring at t.
  for (auto& lot : state.lots) {
    if (!lot.expired && lot.expires_at == t) {
      lot.expired = true;
      if (lot.remaining > 0) out.push_back(lot_movement(MovementType::lot_expiry, lot.remaining, lot, t));
      lot.remaining = 0;
    }
  }
}

void advance_into(MemberState& state, Instant now, std::vector<Movement>& out) {
  now = std::max(now, state.as_of);
  while (auto t = earliest_event(state, now)) apply_events_at(state, *t, out);
  state.as_of = now;
}

template <typename T>
Outcome<T> failure(Error error, std::vector<Movement> movements) {
  Outcome<T> outcome;
  outcome.error = error;
  outcome.movements = std::move(movements);
  return outcome;
}

bool lot_or_earn_exists(const MemberState& state, std::string_view lot_id, std::string_view earn_id) {
  return std::any_of(state.lots.begin(), state.lots.end(), [&](const Lot& lot) {
    return lot.id == lot_id || (!earn_id.empty() && lot.earn_id == earn_id);
  });
}

Lot& add_lot(MemberState& state, Lot lot) {
  lot.seq = state.next_seq++;
  state.lots.push_back(std::move(lot));
  return state.lots.back();
}

}  // namespace

std::string_view to_string(Error error) {
  switch (error) {
    case Error::insufficient_points: return "insufficient_points";
    case Error::invalid_amount: return "invalid_amount";
    case Error::redemption_not_authorized: return "redemption_not_authorized";
    case Error::refund_exceeds_redemption: return "refund_exceeds_redemption";
    case Error::refund_exceeds_purchase: return "refund_exceeds_purchase";
    case Error::not_found: return "not_found";
    case Error::duplicate_id: return "duplicate_id";
    case Error::invalid_time: return "invalid_time";
  }
  return "unknown";
}

std::string_view to_string(MovementType type) {
  switch (type) {
    case MovementType::earn: return "earn";
    case MovementType::adjustment: return "adjustment";
    case MovementType::adjustment_debit: return "adjustment_debit";
    case MovementType::clawback: return "clawback";
    case MovementType::debt: return "debt";
    case MovementType::debt_repayment: return "debt_repayment";
    case MovementType::hold: return "hold";
    case MovementType::capture: return "capture";
    case MovementType::release: return "release";
    case MovementType::hold_expiry: return "hold_expiry";
    case MovementType::redemption_refund: return "redemption_refund";
    case MovementType::lot_expiry: return "lot_expiry";
    case MovementType::pending_available: return "pending_available";
  }
  return "unknown";
}

std::string_view to_string(RedemptionStatus status) {
  switch (status) {
    case RedemptionStatus::authorized: return "authorized";
    case RedemptionStatus::captured: return "captured";
    case RedemptionStatus::voided: return "voided";
    case RedemptionStatus::expired: return "expired";
    case RedemptionStatus::refunded: return "refunded";
    case RedemptionStatus::partially_refunded: return "partially_refunded";
  }
  return "unknown";
}

std::vector<Movement> advance(MemberState& state, Instant now) {
  std::vector<Movement> out;
  advance_into(state, now, out);
  return out;
}

Outcome<Lot> earn(MemberState& state, Instant now, const LotSpec& spec) {
  std::vector<Movement> out;
  advance_into(state, now, out);
  now = state.as_of;
  if (spec.points < 0 || spec.points > kMaxAmount || !valid_amount(spec.amount_irr) || spec.earn_id.empty() ||
      !holdings_fit(state, spec.points)) {
    return failure<Lot>(Error::invalid_amount, std::move(out));
  }
  if (lot_or_earn_exists(state, spec.id, spec.earn_id)) return failure<Lot>(Error::duplicate_id, std::move(out));
  if (spec.expires_at <= now) return failure<Lot>(Error::invalid_time, std::move(out));

  Lot lot;
  lot.id = spec.id;
  lot.issuer = spec.issuer;
  lot.issue_price_irr = spec.issue_price_irr;
  lot.fee_bps = spec.fee_bps;
  lot.earn_id = spec.earn_id;
  lot.amount_irr = spec.amount_irr;
  lot.points = spec.points;
  lot.remaining = spec.points;
  lot.created_at = now;
  lot.available_at = spec.available_at;
  lot.expires_at = spec.expires_at;
  lot.pending = spec.available_at > now;
  Lot& added = add_lot(state, std::move(lot));
  if (added.points > 0) {
    auto movement = lot_movement(MovementType::earn, added.points, added, now);
    movement.partner_id = added.issuer;
    movement.earn_id = added.earn_id;
    out.push_back(std::move(movement));
  }
  repay_debt_from(state, added, now, {}, out);

  Outcome<Lot> outcome;
  outcome.value = added;
  outcome.movements = std::move(out);
  return outcome;
}

Outcome<Points> adjust(MemberState& state, Instant now, const AdjustmentSpec& spec) {
  std::vector<Movement> out;
  advance_into(state, now, out);
  now = state.as_of;
  if (spec.points == 0 || spec.points > kMaxAmount || spec.points < -kMaxAmount ||
      (spec.points > 0 && !holdings_fit(state, spec.points))) {
    return failure<Points>(Error::invalid_amount, std::move(out));
  }
  if (spec.points > 0) {
    if (lot_or_earn_exists(state, spec.id, {})) return failure<Points>(Error::duplicate_id, std::move(out));
    if (spec.expires_at <= now) return failure<Points>(Error::invalid_time, std::move(out));
    Lot lot;
    lot.id = spec.id;
    lot.issuer = std::string(kOperatorIssuer);
    lot.points = spec.points;
    lot.remaining = spec.points;
    lot.created_at = now;
    lot.available_at = now;
    lot.expires_at = spec.expires_at;
    Lot& added = add_lot(state, std::move(lot));
    out.push_back(lot_movement(MovementType::adjustment, added.points, added, now));
    repay_debt_from(state, added, now, {}, out);
  } else {
    take_points(state, nullptr, -spec.points, MovementType::adjustment_debit, {}, {}, now, out);
  }
  Outcome<Points> outcome;
  outcome.value = spec.points;
  outcome.movements = std::move(out);
  return outcome;
}

Outcome<Points> refund_purchase(MemberState& state, Instant now, std::string_view earn_id,
                                std::int64_t refund_amount_irr) {
  std::vector<Movement> out;
  advance_into(state, now, out);
  now = state.as_of;
  Lot* own = nullptr;
  for (auto& lot : state.lots) {
    if (!earn_id.empty() && lot.earn_id == earn_id) own = &lot;
  }
  if (own == nullptr) return failure<Points>(Error::not_found, std::move(out));
  if (!valid_amount(refund_amount_irr)) return failure<Points>(Error::invalid_amount, std::move(out));
  if (refund_amount_irr > own->amount_irr - own->refunded_irr) {
    return failure<Points>(Error::refund_exceeds_purchase, std::move(out));
  }
  own->refunded_irr += refund_amount_irr;
  const auto target = static_cast<Points>(Wide{own->points} * Wide{own->refunded_irr} / Wide{own->amount_irr});
  const Points clawed = target - own->clawed_back;
  own->clawed_back = target;
  if (clawed > 0) {
    // Copies: take_points may not invalidate `own` (no lot is added), but keep the ids independent anyway.
    const std::string issuer = own->issuer;
    const std::string own_earn_id = own->earn_id;
    take_points(state, own, clawed, MovementType::clawback, issuer, own_earn_id, now, out);
  }
  Outcome<Points> outcome;
  outcome.value = clawed;
  outcome.movements = std::move(out);
  return outcome;
}

Outcome<Redemption> authorize(MemberState& state, Instant now, const RedemptionSpec& spec) {
  std::vector<Movement> out;
  advance_into(state, now, out);
  now = state.as_of;
  if (!valid_amount(spec.points) || spec.redeem_value_irr < 0) {
    return failure<Redemption>(Error::invalid_amount, std::move(out));
  }
  if (redemption_by_id(state, spec.id) != nullptr) return failure<Redemption>(Error::duplicate_id, std::move(out));
  if (spec.hold_expires_at <= now) return failure<Redemption>(Error::invalid_time, std::move(out));
  if (spendable_points(state) - state.debt < spec.points) {
    return failure<Redemption>(Error::insufficient_points, std::move(out));
  }

  Redemption redemption;
  redemption.id = spec.id;
  redemption.partner_id = spec.partner_id;
  redemption.redeem_value_irr = spec.redeem_value_irr;
  redemption.status = RedemptionStatus::authorized;
  redemption.points = spec.points;
  redemption.created_at = now;
  redemption.expires_at = spec.hold_expires_at;
  redemption.seq = state.next_seq++;
  Points left = spec.points;
  for (Lot* lot : spendable_lots(state)) {
    if (left == 0) break;
    const Points taken = std::min(left, lot->remaining);
    lot->remaining -= taken;
    left -= taken;
    redemption.allocations.push_back(Allocation{lot->id, taken, 0, 0});
    auto movement = lot_movement(MovementType::hold, taken, *lot, now);
    movement.partner_id = redemption.partner_id;
    movement.redemption_id = redemption.id;
    out.push_back(std::move(movement));
  }
  assert(left == 0);
  state.redemptions.push_back(std::move(redemption));

  Outcome<Redemption> outcome;
  outcome.value = state.redemptions.back();
  outcome.movements = std::move(out);
  return outcome;
}

Outcome<Redemption> capture(MemberState& state, Instant now, std::string_view redemption_id,
                            std::optional<Points> points) {
  std::vector<Movement> out;
  advance_into(state, now, out);
  now = state.as_of;
  Redemption* redemption = redemption_by_id(state, redemption_id);
  if (redemption == nullptr) return failure<Redemption>(Error::not_found, std::move(out));
  if (redemption->status != RedemptionStatus::authorized) {
    return failure<Redemption>(Error::redemption_not_authorized, std::move(out));
  }
  const Points held = held_points(*redemption);
  const Points wanted = points.value_or(held);
  if (wanted < 1 || wanted > held) return failure<Redemption>(Error::invalid_amount, std::move(out));

  // The earliest-expiring held points are captured; allocations are kept in spending order, but sort
  // anyway so the rule does not depend on how they were stored.
  std::vector<std::pair<Allocation*, Lot*>> order;
  for (auto& allocation : redemption->allocations) {
    order.emplace_back(&allocation, &allocation_lot(state, allocation, redemption->id));
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return earlier_expiry(a.second, b.second); });
  Points left = wanted;
  for (auto& [allocation, lot] : order) {
    const Points taken = std::min(left, allocation->held);
    const Points released = allocation->held - taken;
    left -= taken;
    allocation->captured += taken;
    allocation->held = 0;
    if (taken > 0) {
      auto movement = lot_movement(MovementType::capture, taken, *lot, now);
      movement.partner_id = redemption->partner_id;
      movement.redemption_id = redemption->id;
      out.push_back(std::move(movement));
    }
    if (released > 0) {
      auto movement = lot_movement(MovementType::release, released, *lot, now);
      movement.partner_id = redemption->partner_id;
      movement.redemption_id = redemption->id;
      out.push_back(std::move(movement));
      return_to_lot(state, *lot, released, now, redemption->id, out);
    }
  }
  redemption->status = RedemptionStatus::captured;
  redemption->points_captured = wanted;

  Outcome<Redemption> outcome;
  outcome.value = *redemption;
  outcome.movements = std::move(out);
  return outcome;
}

Outcome<Redemption> void_redemption(MemberState& state, Instant now, std::string_view redemption_id) {
  std::vector<Movement> out;
  advance_into(state, now, out);
  now = state.as_of;
  Redemption* redemption = redemption_by_id(state, redemption_id);
  if (redemption == nullptr) return failure<Redemption>(Error::not_found, std::move(out));
  if (redemption->status != RedemptionStatus::authorized) {
    return failure<Redemption>(Error::redemption_not_authorized, std::move(out));
  }
  redemption->status = RedemptionStatus::voided;
  release_all(state, *redemption, MovementType::release, now, out);

  Outcome<Redemption> outcome;
  outcome.value = *redemption;
  outcome.movements = std::move(out);
  return outcome;
}

Outcome<Redemption> refund_redemption(MemberState& state, Instant now, std::string_view redemption_id,
                                      std::optional<Points> points) {
  std::vector<Movement> out;
  advance_into(state, now, out);
  now = state.as_of;
  Redemption* redemption = redemption_by_id(state, redemption_id);
  if (redemption == nullptr) return failure<Redemption>(Error::not_found, std::move(out));
  if (points && (*points <= 0 || *points > kMaxAmount)) {
    return failure<Redemption>(Error::invalid_amount, std::move(out));
  }
  const bool captured = redemption->status == RedemptionStatus::captured ||
                        redemption->status == RedemptionStatus::partially_refunded ||
                        redemption->status == RedemptionStatus::refunded;
  const Points refundable = captured ? redemption->points_captured - redemption->points_refunded : 0;
  const Points wanted = points.value_or(refundable);
  if (wanted <= 0 || wanted > refundable) {
    return failure<Redemption>(Error::refund_exceeds_redemption, std::move(out));
  }
  if (!holdings_fit(state, wanted)) return failure<Redemption>(Error::invalid_amount, std::move(out));

  // Latest expiry first: the exact reverse of the spending order.
  std::vector<std::pair<Allocation*, Lot*>> order;
  for (auto& allocation : redemption->allocations) {
    order.emplace_back(&allocation, &allocation_lot(state, allocation, redemption->id));
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return earlier_expiry(b.second, a.second); });
  Points left = wanted;
  for (auto& [allocation, lot] : order) {
    if (left == 0) break;
    const Points returned = std::min(left, allocation->captured - allocation->refunded);
    if (returned <= 0) continue;
    left -= returned;
    allocation->refunded += returned;
    auto movement = lot_movement(MovementType::redemption_refund, returned, *lot, now);
    movement.partner_id = redemption->partner_id;
    movement.redemption_id = redemption->id;
    out.push_back(std::move(movement));
    return_to_lot(state, *lot, returned, now, redemption->id, out);
  }
  assert(left == 0);
  redemption->points_refunded += wanted;
  redemption->status = redemption->points_refunded == redemption->points_captured
                           ? RedemptionStatus::refunded
                           : RedemptionStatus::partially_refunded;

  Outcome<Redemption> outcome;
  outcome.value = *redemption;
  outcome.movements = std::move(out);
  return outcome;
}

namespace {

// The balance of a state already advanced to the instant it is read at.
Balance balance_of_advanced(const MemberState& copy) {
  Balance balance;
  std::vector<const Lot*> expiring;
  for (const auto& lot : copy.lots) {
    if (lot.expired) continue;
    if (lot.pending) {
      balance.pending += lot.remaining;
    } else {
      balance.available += lot.remaining;
      if (lot.remaining > 0) expiring.push_back(&lot);
    }
  }
  balance.available -= copy.debt;
  for (const auto& redemption : copy.redemptions) balance.held += held_points(redemption);
  std::sort(expiring.begin(), expiring.end(), earlier_expiry);
  for (const Lot* lot : expiring) {
    if (balance.expiring.size() == kExpiringMax) break;
    balance.expiring.push_back(ExpiringPoints{lot->remaining, lot->expires_at});
  }
  return balance;
}

}  // namespace

Balance balance_at(const MemberState& state, Instant t) {
  // Nothing that moves points is due by t (next_due): advancing would only flag lots that hold nothing, which
  // no balance counts, so the balance is the state's as it is, with no copy of it. Most reads and every reply
  // come here: a command's state has just been advanced to its now, and a copy of a member holding hundreds of
  // lots is hundreds of allocations.
  if (const auto due = next_due(state); !due || *due > t) return balance_of_advanced(state);
  MemberState copy = state;
  advance(copy, t);
  return balance_of_advanced(copy);
}

std::optional<Instant> next_due(const MemberState& state) {
  std::optional<Instant> best;
  auto consider = [&](Instant t) {
    if (!best || t < *best) best = t;
  };
  for (const auto& lot : state.lots) {
    if (lot.remaining <= 0) continue;
    if (becomes_available(lot)) consider(lot.available_at);
    if (!lot.expired) consider(lot.expires_at);
  }
  for (const auto& redemption : state.redemptions) {
    if (redemption.status == RedemptionStatus::authorized) consider(redemption.expires_at);
  }
  return best;
}

BalanceView balance_view(const MemberState& state, Instant at) {
  BalanceView view;
  view.at = at;
  if (const auto due = next_due(state); !due || *due > at) {  // as in balance_at: advancing would change nothing
    view.balance = balance_of_advanced(state);
    view.valid_until = due;
    return view;
  }
  MemberState as_of = state;
  advance(as_of, at);
  view.balance = balance_of_advanced(as_of);
  view.valid_until = next_due(as_of);
  return view;
}

const Lot* find_lot(const MemberState& state, std::string_view lot_id) {
  for (const auto& lot : state.lots) {
    if (lot.id == lot_id) return &lot;
  }
  return nullptr;
}

const Lot* find_earn_lot(const MemberState& state, std::string_view earn_id) {
  if (earn_id.empty()) return nullptr;
  for (const auto& lot : state.lots) {
    if (lot.earn_id == earn_id) return &lot;
  }
  return nullptr;
}

const Redemption* find_redemption(const MemberState& state, std::string_view redemption_id) {
  for (const auto& redemption : state.redemptions) {
    if (redemption.id == redemption_id) return &redemption;
  }
  return nullptr;
}

Points held_points(const Redemption& redemption) {
  if (redemption.status != RedemptionStatus::authorized) return 0;
  return std::accumulate(redemption.allocations.begin(), redemption.allocations.end(), Points{0},
                         [](Points sum, const Allocation& a) { return sum + a.held; });
}

Archived archive_finished(MemberState& state) {
  Archived out;
  auto holds_for_authorized = [&](const Lot& lot) {
    for (const auto& redemption : state.redemptions) {
      if (redemption.status != RedemptionStatus::authorized) continue;
      for (const auto& allocation : redemption.allocations) {
        if (allocation.lot_id == lot.id) return true;
      }
    }
    return false;
  };
  auto finished_lot = [&](const Lot& lot) { return lot.remaining == 0 && !lot.pending && !holds_for_authorized(lot); };
  auto finished_redemption = [](const Redemption& r) { return r.status != RedemptionStatus::authorized; };
  // Stable partitions: what stays keeps its creation order, and so does what leaves.
  auto lots = std::stable_partition(state.lots.begin(), state.lots.end(),
                                    [&](const Lot& l) { return !finished_lot(l); });
  out.lots.assign(std::make_move_iterator(lots), std::make_move_iterator(state.lots.end()));
  state.lots.erase(lots, state.lots.end());
  auto reds = std::stable_partition(state.redemptions.begin(), state.redemptions.end(),
                                    [&](const Redemption& r) { return !finished_redemption(r); });
  out.redemptions.assign(std::make_move_iterator(reds), std::make_move_iterator(state.redemptions.end()));
  state.redemptions.erase(reds, state.redemptions.end());
  return out;
}

void restore(MemberState& state, Archived records) {
  for (auto& lot : records.lots) {
    if (lot_by_id(state, lot.id) != nullptr) continue;
    assert(lot.remaining == 0 && !lot.pending && "only finished lots are archived");
    if (lot.expires_at <= state.as_of) lot.expired = true;
    auto at = std::upper_bound(state.lots.begin(), state.lots.end(), lot.seq,
                               [](std::uint64_t seq, const Lot& l) { return seq < l.seq; });
    state.lots.insert(at, std::move(lot));
  }
  for (auto& redemption : records.redemptions) {
    if (redemption_by_id(state, redemption.id) != nullptr) continue;
    auto at = std::upper_bound(state.redemptions.begin(), state.redemptions.end(), redemption.seq,
                               [](std::uint64_t seq, const Redemption& r) { return seq < r.seq; });
    state.redemptions.insert(at, std::move(redemption));
  }
}

std::vector<std::string> missing_lots(const MemberState& state, const Redemption& redemption) {
  std::vector<std::string> out;
  for (const auto& allocation : redemption.allocations) {
    if (find_lot(state, allocation.lot_id) == nullptr &&
        std::find(out.begin(), out.end(), allocation.lot_id) == out.end())
      out.push_back(allocation.lot_id);
  }
  return out;
}

}  // namespace emtiaz::points
