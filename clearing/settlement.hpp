#pragma once
// Settlement arithmetic (api.md, "Settlement (normative)"): pure functions, no I/O. From the ledger events
// of one tenant with `at` in [from, to) and the tenant's partners that existed before `to`, computes the
// per-partner rows, the issuer x redeemer matrix and the totals, and renders the JSON shape and the CSV.
// Money is computed with 128-bit integers (points and prices may each reach 10^15), checked, and rendered as
// int64: a figure that does not fit is refused (FiguresOutOfRange), never clamped.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace emtiaz::clearing {

// One ledger entry as clearing stores it (clearing_events).
struct LedgerEvent {
  std::string type;              // earn, adjustment, adjustment_debit, clawback, debt, debt_repayment, hold,
                                 // capture, release, hold_expiry, redemption_refund, lot_expiry
  std::int64_t points = 0;       // a magnitude (> 0)
  std::string issuer;            // the lot's issuer: a partner id or "operator"; empty for `debt`
  std::int64_t issue_price_irr = 0;
  std::int64_t fee_bps = 0;
  std::string partner_id;        // the actor: the earner, the redeemer (capture, redemption_refund)
  std::int64_t redeem_value_irr = 0;
  std::string earn_id;           // set on earn, and on clawback/debt caused by a purchase refund
};

// A settlement figure (or a sum on the way to one) that an int64 cannot state. The period cannot be closed
// as one settlement; shorter periods can.
class FiguresOutOfRange : public std::range_error {
 public:
  explicit FiguresOutOfRange(const std::string& figure)
      : std::range_error("settlement figure out of range: " + figure), figure_(figure) {}
  const std::string& figure() const { return figure_; }

 private:
  std::string figure_;
};

struct PartnerInfo {
  std::string id;
  std::string name;
};

struct PartnerRow {
  std::string partner_id;
  std::string name;
  std::int64_t points_issued = 0;
  std::int64_t points_clawed_back = 0;
  std::int64_t points_redeemed = 0;
  std::int64_t points_redemption_refunded = 0;
  std::int64_t points_expired = 0;
  std::int64_t issued_irr = 0;
  std::int64_t fee_irr = 0;
  std::int64_t redeemed_irr = 0;
  std::int64_t net_irr = 0;
  bool operator==(const PartnerRow&) const = default;
};

struct MatrixRow {
  std::string issuer_partner_id;  // a partner id or "operator"
  std::string redeemer_partner_id;
  std::int64_t points = 0;        // net: captured - refunded
  bool operator==(const MatrixRow&) const = default;
};

struct Totals {
  std::int64_t points_issued = 0;
  std::int64_t points_clawed_back = 0;
  std::int64_t points_adjusted = 0;
  std::int64_t points_redeemed = 0;
  std::int64_t points_redemption_refunded = 0;
  std::int64_t points_expired = 0;
  std::int64_t issued_irr = 0;
  std::int64_t fee_irr = 0;
  std::int64_t redeemed_irr = 0;
  std::int64_t operator_net_irr = 0;
  bool operator==(const Totals&) const = default;
};

struct Figures {
  std::vector<PartnerRow> partners;  // in the order of the partners given
  std::vector<MatrixRow> matrix;     // non-zero cells, ordered by (issuer, redeemer)
  Totals totals;
};

inline constexpr std::string_view kOperatorIssuer = "operator";

// numerator / denominator rounded half away from zero (denominator > 0).
std::int64_t div_round_half_away(std::int64_t numerator, std::int64_t denominator);

// The figures of one settlement. Events of issuers or redeemers that are not in `partners` count in the
// totals' point figures only (the operator's own lots). Throws FiguresOutOfRange when a figure, or the
// CSV's sum of the partners' net_irr, does not fit an int64.
Figures compute(const std::vector<PartnerInfo>& partners, const std::vector<LedgerEvent>& events);

// Sums a settlement's ledger events by what the arithmetic tells apart, so that closing a period of millions
// of ledger entries hands compute() a few hundred: per type, the lot's issuer and its price and fee where
// they count (issuance and clawback), the redeemer and redeem value where they count (capture, redemption
// refund), and for `debt` whether it came from a negative adjustment (no earn, no partner). Every figure is
// a sum of points x prices, so compute(partners, summer.events()) == compute(partners, every event).
// Movements that settle nothing (hold, release, hold_expiry, pending_available) are dropped.
class EventSummer {
 public:
  void add(std::string_view type, std::string_view issuer, std::string_view partner_id, std::int64_t issue_price_irr,
           std::int64_t fee_bps, std::int64_t redeem_value_irr, std::int64_t points, bool has_earn_id);
  void add(const LedgerEvent& e) {
    add(e.type, e.issuer, e.partner_id, e.issue_price_irr, e.fee_bps, e.redeem_value_irr, e.points, !e.earn_id.empty());
  }
  // One event per distinct key (more when a sum would leave int64), in no particular order.
  std::vector<LedgerEvent> events() const;
  std::int64_t added() const { return added_; }

 private:
  std::unordered_map<std::string, size_t> index_;  // the key, rendered
  std::vector<LedgerEvent> sums_;
  std::vector<LedgerEvent> full_;  // sums moved aside before they could overflow
  std::string scratch_;
  std::int64_t added_ = 0;
};

// The stored shape: {id, tenant_id, from, to, closed_at, checksum, partners, matrix, totals}.
struct Header {
  std::string id;
  std::string tenant_id;
  std::string from;       // RFC 3339, tenant's offset
  std::string to;
  std::string closed_at;
};
nlohmann::json to_json(const Header& header, const std::string& checksum, const Figures& figures);

// The CSV file: UTF-8 BOM, RFC 4180 (CRLF, fields quoted when they hold a comma, quote, CR or LF), a header
// row with the columns of `partners`, one row per partner, and a last row whose partner_id is "totals"
// (name empty) with the totals' figures in the same columns (net_irr: the sum of the partners' net_irr).
std::string render_csv(const Figures& figures);

// RFC 4180 field quoting.
std::string csv_field(std::string_view value);

}  // namespace emtiaz::clearing
