#pragma once
// Conservation (api.md, Points semantics 5), per issuer: issued − clawed back − net redeemed − expired =
// the points left in its lots (unheld remaining + held). Figures are accumulated from movements, so the
// same code checks one member's state in tests and a whole tenant's ledger in the audit.

#include <map>
#include <span>
#include <string>
#include <vector>

#include "points/points.hpp"

namespace emtiaz::points {

struct IssuerFigures {
  Points issued = 0;               // earn + adjustment
  Points clawed_back = 0;          // clawback + adjustment_debit + debt_repayment
  Points captured = 0;             // capture
  Points redemption_refunded = 0;  // redemption_refund
  Points expired = 0;              // lot_expiry
  [[nodiscard]] Points net_redeemed() const { return captured - redemption_refunded; }
  [[nodiscard]] Points left() const { return issued - clawed_back - net_redeemed() - expired; }
  bool operator==(const IssuerFigures&) const = default;
};

struct Figures {
  std::map<std::string, IssuerFigures, std::less<>> issuers;
  Points debt_created = 0;  // `debt` movements
  Points debt_repaid = 0;   // `debt_repayment` movements
  [[nodiscard]] Points outstanding_debt() const { return debt_created - debt_repaid; }
};

// True for the movement types that count as clawed back for the lot's issuer (semantics 3).
[[nodiscard]] bool counts_as_clawed_back(MovementType type);

void accumulate(Figures& figures, const Movement& movement);
[[nodiscard]] Figures figures_of(std::span<const Movement> movements);

// Per issuer: unheld remaining + held points in the member's lots (lots not expired; expired lots hold 0).
[[nodiscard]] std::map<std::string, Points, std::less<>> points_in_lots(const MemberState& state);

// Empty when the state agrees with the figures of every movement that produced it (per issuer, and the
// outstanding debt); otherwise one human-readable line per disagreement.
[[nodiscard]] std::vector<std::string> conservation_violations(const Figures& figures, const MemberState& state);

}  // namespace emtiaz::points
