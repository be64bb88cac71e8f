#pragma once
// Which of a member's lots the wallet stores apart from the state (member_states.cold_lots, migration 010).
//
// Every command of a member reads its state and writes it back whole: to MySQL as text inside the batch's
// statement (escaped, then lexed and stored by the server) and to Redis. A lot stays in the state until its
// points are spent or expire, so a member who earns often and spends rarely — most of a coalition's members —
// carries one lot per earn for the points' whole lifetime (a year by default): ~370 bytes each, ~135 KB after
// a year of daily earns, and every command of that member paid for all of it (at ~100 lots a member, the
// benchmark's network answered about half the earns a second: docs/performance-log.md, thirty-second session).
//
// Only a few of those lots can change: redemptions and expiry take the earliest-expiring first, pending points
// become available on the newest, a purchase refund names its own earn. So of the lots that are available,
// unexpired and still hold points, all but the kHotKeep earliest-expiring are stored apart, in their own
// column, and that column is written only when one of them changed or left, or when enough new such lots have
// gathered in the state to be worth moving (kMoveAtLeast): after a split a member's commands write a state of
// tens of lots whatever the member's history, and the cold column once every kMoveAtLeast earns. Reading takes
// both (read_stored_state merges them by seq), so what a command sees and does is exactly what it did with one
// column: the split is storage only, decided after the commands are applied. The one exception is an earn that
// needs only what the cold lots add up to (cold_lots_may_stay_unread, below): it reads the state alone.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "points/points.hpp"

namespace emtiaz::wallet {

inline constexpr std::size_t kColdFrom = 48;     // lots in a state before any are stored apart
inline constexpr std::size_t kHotKeep = 16;      // earliest-expiring lots always kept in the state
inline constexpr std::size_t kMoveAtLeast = 32;  // movable lots in the state that make a new split worth it

// A cold lot as it was read, as plan_cold_lots compares it: every number and flag of the lot exactly, and its
// strings (id, issuer, earn_id, which no operation changes) by a 64-bit hash, so that keeping it costs no copy of
// them (the copies were most of what reading a large state apart cost).
struct StoredLot {
  std::uint64_t seq = 0;
  // issue_price_irr, fee_bps, amount_irr, points, remaining, created_at, available_at, expires_at, pending,
  // expired, refunded_irr, clawed_back
  std::tuple<std::int64_t, std::int64_t, std::int64_t, points::Points, points::Points, points::Instant, points::Instant,
             points::Instant, bool, bool, std::int64_t, points::Points>
      numbers;
  std::uint64_t strings = 0;
  bool operator==(const StoredLot&) const = default;
};
StoredLot stored_lot(const points::Lot& lot);

struct ColdLotsPlan {
  bool write = false;      // member_states.cold_lots is written (with these lots, or NULL when none)
  std::vector<char> cold;  // per lot of the state (its order): stored apart; empty when none is
  bool any() const;
};

// Whether lot may be stored apart: nothing about it is about to change by itself (it is available, not
// expired, and holds points).
bool may_be_cold(const points::Lot& lot);

// The split for `state` as the batch leaves it, given the cold lots as they were read (`stored`, by seq; empty
// when the column was NULL). Keeps the stored split while every stored lot is still in the state, unchanged,
// and fewer than kHotKeep + kMoveAtLeast lots in the state may be cold; otherwise splits afresh: none below
// kColdFrom lots, else every lot that may be cold but the kHotKeep earliest-expiring of those (by expires_at,
// then seq).
ColdLotsPlan plan_cold_lots(const points::MemberState& state, const std::vector<StoredLot>& stored);

// What the cold lots hold, stored with them (member_states.cold_points, cold_first_expiry and cold_first_seq,
// migration 011): their points, and the first of them in spending order (earliest expiry, then seq).
struct ColdSummary {
  points::Points points = 0;
  points::Instant first_expiry{};  // the earliest of their expiries
  std::uint64_t first_seq = 0;     // the seq of the first lot expiring then
  bool operator==(const ColdSummary&) const = default;
};
// The summary of the lots `cold` marks in state (plan_cold_lots' order); nullopt when it marks none.
std::optional<ColdSummary> cold_summary(const points::MemberState& state, const std::vector<char>& cold);

// Leaving the cold lots unread. Reading them costs a command what storing them apart saved its write: the
// column's text from the server and every lot parsed, for a member holding hundreds. An earn needs only their
// sum and where the first of them sorts (ColdSummary): it adds a lot, takes nothing from the others (with no debt to repay), and its
// answer's balance counts them but lists only the kExpiringMax earliest-expiring lots, which are in the state
// when enough of the state's own expire before every cold one. So a batch whose commands for a member are all
// earns (`earns` of them) may leave that member's cold lots unread, standing in for them with one lot (below),
// when all of this holds of the state as read (`hot`, its cold lots not merged), with a margin past `now` that
// covers the batch (its balance views are taken at a later clock than its commands):
// - no debt;
// - the cold lots expire after the margin;
// - at least kExpiringMax of the state's lots that may be cold expire after the margin and come before every
//   cold lot in spending order (so the stand-in is never among the listed ones);
// - the stored split still holds after the earns (the state's lots and the new ones stay fewer than
//   plan_cold_lots' re-split point), so the cold column is not rewritten.
// Every other command (a redemption, a refund, an adjustment, the timer) reads them, as before. One check is
// given up: an earn's new lot id and earn id are not compared with the cold lots' (both are random, 65 bits or
// more: a clash is a caller's bug that points::earn refuses when it can see it).
inline constexpr std::chrono::minutes kColdUnreadMargin{10};
bool cold_lots_may_stay_unread(const points::MemberState& hot, const ColdSummary& cold, std::size_t earns,
                               points::Instant now);

// The stand-in for unread cold lots: one available lot holding their points, in the first cold lot's place (its
// expiry and its seq: where it would sort, and where it goes in the state's lots, which are by seq), with an id
// no lot has. Balances, next_due and the balance view of a state holding it are what they are with the cold lots
// merged (under the conditions above); it is never stored (stored_texts leaves it out) and no movement names it.
points::Lot cold_stand_in(const ColdSummary& cold);
bool is_cold_stand_in(const points::Lot& lot);
// Puts the stand-in in its place in `state` (by seq); false when a lot of the state has its seq (a summary that
// is not this state's: the caller then reads the cold lots).
bool add_cold_stand_in(points::MemberState& state, const ColdSummary& cold);

}  // namespace emtiaz::wallet
