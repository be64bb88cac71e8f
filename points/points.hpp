#pragma once
// The points domain of Emtiaz: one member's lots, redemptions (holds) and debt, and every operation on
// them, as pure functions of (state, now). No I/O, no clocks, no calendars: the caller (the wallet) stamps
// `now` and computes `available_at` / `expires_at` with the tenant's calendar before calling in.
//
// ---------------------------------------------------------------------------------------------------
// Time model and tie-breaking of simultaneous time events (normative for this code base)
// ---------------------------------------------------------------------------------------------------
// Every interval is half-open, [start, end):
//   * a lot is pending on [created_at, available_at), available on [available_at, expires_at) and expired
//     from expires_at on. A lot whose available_at >= expires_at is never available: its points stay
//     pending until they expire, and they never repay debt.
//   * a hold (an authorized redemption) holds its points on [created_at, expires_at); at expires_at it has
//     timed out (status `expired`), so a capture or void arriving at exactly expires_at is refused.
// This makes "as of t" unambiguous (balance_at(t) with t == expires_at already excludes the lot), and it is
// what a reader expects from a TTL: a 15-minute hold is gone at minute 15, not a microsecond later.
//
// Events due at the same instant t are applied in this order, each group in creation order (seq):
//   1. lots becoming available at t (pending -> available, then debt repayment from them);
//   2. holds timing out at t (their points go back to their lots; repaying debt if the lot is available);
//   3. lots expiring at t (their unheld remaining points, including any a hold returned in step 2).
// Why: (1) before (2) gives debt repayment to the points that were scheduled to become available first, and
// keeps a lot's own clock ahead of other events; (2) before (3) means a hold timing out at the very instant
// its lot expires hands its points back in time for them to expire together with the lot, in one
// `lot_expiry` movement, which is what "held points do not expire while held; released after their lot's
// expiry, they expire at the release" says at the boundary. Balances do not depend on the order of (2) and
// (3); only the shape of the movement list does. Events at different instants are applied in time order,
// each movement carrying `at` = the instant it was due, never the instant advance() ran.
//
// Operations never go back in time: an operation with `now` before state.as_of is applied at state.as_of
// (the wallet stamps commit times, which are monotonic per member; this only guards against clock skew).
//
// ---------------------------------------------------------------------------------------------------
// Debt (api.md, Points semantics 3)
// ---------------------------------------------------------------------------------------------------
// What a purchase refund or a negative adjustment cannot take from the member's lots becomes `debt` (a
// negative part of `available`), recorded as one lot-less movement of type `debt`. Debt is repaid, as a
// `debt_repayment` movement from the lot concerned, from the next points that become available:
//   * a new available lot (an earn with no pending period, a positive adjustment), at the operation's now;
//   * a pending lot reaching available_at (at = available_at);
//   * points released to an unexpired lot (capture remainder, void, hold timeout) or returned to one by a
//     redemption refund, at the moment of the release/return.
// Invariant: while debt > 0 no available lot has unheld points left (the clawback took them all), so
// "available = Σ available unheld remaining − debt" is exactly the negative debt, and no hold can succeed.
// A debt repayment counts as clawed back for the issuer of the lot it is taken from; the `debt` movement
// itself counts for no issuer (it is inside the member's `available`).
//
// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------
// Business outcomes are values (Error), never exceptions. Every operation first advances the state to
// `now`; if it then fails, the state keeps the advance and the outcome's `movements` hold exactly the
// advance's movements (which the caller must record like any other), and nothing else has changed.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emtiaz::points {

using Instant = std::chrono::sys_time<std::chrono::microseconds>;
using Points = std::int64_t;

inline constexpr std::string_view kOperatorIssuer = "operator";
// Amounts above 10^15 are rejected (api.md, Conventions): it keeps every sum far from int64 overflow.
inline constexpr std::int64_t kMaxAmount = 1'000'000'000'000'000;

// One earn (or positive adjustment): points that share an issuer, a price and a life span.
struct Lot {
  std::string id;
  std::string issuer;            // partner id, or kOperatorIssuer for adjustment lots
  std::int64_t issue_price_irr = 0;  // the issuer's price per point at the earn (settlement needs it)
  std::int64_t fee_bps = 0;          // the issuer's fee at the earn
  std::string earn_id;           // the earn transaction id; empty for adjustment lots
  std::int64_t amount_irr = 0;   // the purchase amount; 0 for adjustment lots
  Points points = 0;             // originally issued
  Points remaining = 0;          // unheld points still in the lot (0 once expired)
  Instant created_at{};
  Instant available_at{};
  Instant expires_at{};
  std::uint64_t seq = 0;  // creation order: the tie-breaker of "earliest expiry first"
  bool pending = false;   // its becoming-available has not been applied yet
  bool expired = false;   // its expiry has been applied (remaining is then always 0)
  // Per-earn refund bookkeeping: after refunds totalling refunded_irr of amount_irr, clawed_back ==
  // ⌊points × refunded_irr / amount_irr⌋ points have been clawed back on account of this earn (wherever
  // they were taken from, debt included).
  std::int64_t refunded_irr = 0;
  Points clawed_back = 0;
};

enum class RedemptionStatus { authorized, captured, voided, expired, refunded, partially_refunded };

// The part of a redemption that came from one lot.
struct Allocation {
  std::string lot_id;
  Points held = 0;      // currently held (only while the redemption is authorized)
  Points captured = 0;  // taken by the capture
  Points refunded = 0;  // of `captured`, returned by redemption refunds
};

struct Redemption {
  std::string id;
  std::string partner_id;
  std::int64_t redeem_value_irr = 0;  // the partner's value per point when authorized
  RedemptionStatus status = RedemptionStatus::authorized;
  Points points = 0;  // authorized (held at authorization)
  Points points_captured = 0;
  Points points_refunded = 0;  // total refunded so far
  Instant created_at{};
  Instant expires_at{};  // the hold's deadline
  std::uint64_t seq = 0;
  std::vector<Allocation> allocations;  // in spending order (earliest expiry first)
};

// One member's whole points state; serialised as JSON by points_json.hpp.
struct MemberState {
  std::vector<Lot> lots;                // in creation order
  std::vector<Redemption> redemptions;  // in creation order
  Points debt = 0;                      // >= 0; inside `available` as its negative part
  std::uint64_t next_seq = 1;
  Instant as_of{};  // every time-caused event due at or before as_of has been applied
};

enum class MovementType {
  earn,                // a new earn lot (lot_id, issuer; partner_id = the earner)
  adjustment,          // a positive adjustment: a new operator lot
  adjustment_debit,    // a negative adjustment taking points from a lot (counts as clawed back)
  clawback,            // a purchase refund taking points from a lot (counts as clawed back)
  debt,                // the lot-less part of a clawback or negative adjustment: lot_id and issuer empty
  debt_repayment,      // points of a lot paying off debt (counts as clawed back)
  hold,                // lot remaining -> held
  capture,             // held -> redeemed
  release,             // held -> lot remaining (capture remainder, void)
  hold_expiry,         // held -> lot remaining because the hold timed out (at = the hold's expires_at)
  redemption_refund,   // redeemed -> lot remaining
  lot_expiry,          // lot remaining -> expired (at = the lot's expires_at, or the release/return instant)
  pending_available,   // informational: a lot's pending points became available (moves nothing)
};

// One movement of points, one per lot touched. `points` is always > 0 (a magnitude).
struct Movement {
  MovementType type = MovementType::earn;
  Points points = 0;
  std::string lot_id;         // empty only for `debt`
  std::string issuer;         // the lot's issuer; empty only for `debt`
  std::string partner_id;     // the partner whose earn/refund/redemption caused it; empty for operator
                              // adjustments and for lot events (pending_available, lot_expiry,
                              // debt_repayment)
  std::string redemption_id;  // the redemption concerned (hold … redemption_refund, and a lot_expiry or
                              // debt_repayment caused by its release/return)
  std::string earn_id;        // the earn concerned: earn, and clawback/debt caused by its refund
  Instant at{};

  bool operator==(const Movement&) const = default;
};

enum class Error {
  insufficient_points,
  invalid_amount,
  redemption_not_authorized,
  refund_exceeds_redemption,
  refund_exceeds_purchase,
  not_found,
  duplicate_id,  // a lot, earn or redemption id that already exists (a caller bug: ids are unique)
  invalid_time,  // an expires_at at or before now (a caller bug: TTLs are positive)
};

std::string_view to_string(Error error);
std::string_view to_string(MovementType type);
std::string_view to_string(RedemptionStatus status);

// What an operation returns. On error, `movements` are the advance()'s only and `value` is default.
template <typename T>
struct Outcome {
  std::optional<Error> error;
  std::vector<Movement> movements;
  T value{};
  [[nodiscard]] bool ok() const { return !error.has_value(); }
};

// Inputs.
struct LotSpec {
  std::string id;
  std::string issuer;
  std::int64_t issue_price_irr = 0;
  std::int64_t fee_bps = 0;
  std::string earn_id;
  std::int64_t amount_irr = 0;
  Points points = 0;
  Instant available_at{};
  Instant expires_at{};
};

struct AdjustmentSpec {
  std::string id;       // the lot id for a positive adjustment (unused for a negative one)
  Points points = 0;    // non-zero; negative takes points like a clawback without an own lot
  Instant expires_at{};  // for a positive adjustment's lot
};

struct RedemptionSpec {
  std::string id;
  std::string partner_id;
  std::int64_t redeem_value_irr = 0;
  Points points = 0;
  Instant hold_expires_at{};
};

struct ExpiringPoints {
  Points points = 0;
  Instant expires_at{};
  bool operator==(const ExpiringPoints&) const = default;
};

struct Balance {
  Points available = 0;  // may be negative (debt)
  Points pending = 0;
  Points held = 0;
  std::vector<ExpiringPoints> expiring;  // at most kExpiringMax, earliest expiry first
  bool operator==(const Balance&) const = default;
};

// The balance as of `at`, and until when it stays exactly that: nothing in the state changes by itself
// before `valid_until` (the next lot becoming available or expiring, the next hold running out), so
// balance_at(state, t) == balance for every at <= t < valid_until (always, when valid_until is empty).
// What the wallet precomputes for readers, who then need no state at all until valid_until.
struct BalanceView {
  Balance balance;
  Instant at{};
  std::optional<Instant> valid_until;
  bool holds_at(Instant t) const { return at <= t && (!valid_until || t < *valid_until); }
};
inline constexpr std::size_t kExpiringMax = 10;

// Applies every time-caused event due at or before `now`, in time order (see the rules above).
std::vector<Movement> advance(MemberState& state, Instant now);

// Creates the earn's lot. A 0-point earn (⌊amount × rate / 10000⌋ can be 0) still creates a 0-point lot,
// because refunds of that purchase must be checked against its amount; it produces no movement.
// Errors: invalid_amount (points < 0 or > 10^15, amount_irr <= 0 or > 10^15, empty earn_id, or the member's
// points — pending, available and held — would pass int64), duplicate_id (lot id or earn id exists), invalid_time (expires_at <= now).
// The value is the lot as created (after any debt repayment).
[[nodiscard]] Outcome<Lot> earn(MemberState& state, Instant now, const LotSpec& spec);

// Positive: an operator lot available at once. Negative: takes |points| from available unheld points,
// earliest expiry first; the rest becomes debt. Errors: invalid_amount (0 or |points| > 10^15, or a positive
// one would take the member's points past int64), duplicate_id, invalid_time (positive with expires_at <= now). The value is the signed points.
[[nodiscard]] Outcome<Points> adjust(MemberState& state, Instant now, const AdjustmentSpec& spec);

// A purchase refund of refund_amount_irr against earn `earn_id`. The value is the points clawed back by
// this refund (taken from lots or turned into debt). Errors: not_found, invalid_amount (<= 0 or > 10^15),
// refund_exceeds_purchase.
[[nodiscard]] Outcome<Points> refund_purchase(MemberState& state, Instant now, std::string_view earn_id,
                                              std::int64_t refund_amount_irr);

// Holds spec.points from available lots, earliest expiry first. Errors: invalid_amount, duplicate_id,
// invalid_time (hold_expires_at <= now), insufficient_points (and nothing is held).
[[nodiscard]] Outcome<Redemption> authorize(MemberState& state, Instant now, const RedemptionSpec& spec);

// Captures `points` (default: all held) of an authorized redemption, earliest-expiring held points first,
// and releases the rest. Errors: not_found, redemption_not_authorized, invalid_amount (not 1..held).
[[nodiscard]] Outcome<Redemption> capture(MemberState& state, Instant now, std::string_view redemption_id,
                                          std::optional<Points> points = std::nullopt);

// Releases every held point of an authorized redemption. Errors: not_found, redemption_not_authorized.
[[nodiscard]] Outcome<Redemption> void_redemption(MemberState& state, Instant now,
                                                  std::string_view redemption_id);

// Returns `points` (default: all captured and not yet refunded) to the lots they came from, latest
// expiry first. Errors: not_found, invalid_amount (points <= 0 or > 10^15, or they would take the member's
// points past int64), refund_exceeds_redemption
// (more than captured and not yet refunded — including a redemption that captured nothing, and a default
// refund when nothing is left to refund).
[[nodiscard]] Outcome<Redemption> refund_redemption(MemberState& state, Instant now,
                                                    std::string_view redemption_id,
                                                    std::optional<Points> points = std::nullopt);

// The balance exactly as of t, computed on a copy advanced to t (no timer needs to have run). A t before
// state.as_of is read as state.as_of (the past is not kept).
[[nodiscard]] Balance balance_at(const MemberState& state, Instant t);

// The earliest time-caused event not yet applied that will produce a movement: a pending lot with points
// becoming available, a hold timing out, a lot with unheld points expiring. nullopt when none.
[[nodiscard]] std::optional<Instant> next_due(const MemberState& state);
[[nodiscard]] BalanceView balance_view(const MemberState& state, Instant at);

// Look-ups.
[[nodiscard]] const Lot* find_lot(const MemberState& state, std::string_view lot_id);
[[nodiscard]] const Lot* find_earn_lot(const MemberState& state, std::string_view earn_id);
[[nodiscard]] const Redemption* find_redemption(const MemberState& state, std::string_view redemption_id);
// Points currently held by a redemption (0 unless authorized).
[[nodiscard]] Points held_points(const Redemption& redemption);

// ---------------------------------------------------------------------------------------------------
// The archive: finished records out of the state
// ---------------------------------------------------------------------------------------------------
// A member's state is read and rewritten by every command, so it holds only what can still change by
// itself or hold points: lots with points (unheld, or held by an authorized redemption, or pending) and
// authorized redemptions. Everything else is finished: a lot with nothing left, a redemption captured,
// voided, expired or refunded. Such a record holds no points, no timer is due for it (an empty lot's expiry
// moves nothing), and only an operation naming it can change it again: a purchase refund of an earn (its
// lot's refund bookkeeping), a redemption refund (the redemption and the lots its points return to), a
// capture or void of a finished redemption (refused, from its status). The caller keeps archived records
// and restores the ones an operation needs before applying it; then every outcome, movement and balance is
// what it would have been had they never left (points_random_test checks exactly that).
struct Archived {
  std::vector<Lot> lots;
  std::vector<Redemption> redemptions;
};

// Moves every finished record out of the state: redemptions no longer authorized, and lots with no unheld
// points that are neither pending nor holding points for an authorized redemption.
[[nodiscard]] Archived archive_finished(MemberState& state);

// Puts archived records back, in creation order; a record whose id is in the state already is skipped (the
// state's copy is the newer). A lot whose expiry is due at or before state.as_of is flagged expired (it was
// empty when archived, so its expiry moves nothing), which keeps "every event due by as_of is applied".
void restore(MemberState& state, Archived records);

// The lots a redemption's allocations name that are not in the state: what restoring it also needs.
[[nodiscard]] std::vector<std::string> missing_lots(const MemberState& state, const Redemption& redemption);

}  // namespace emtiaz::points
