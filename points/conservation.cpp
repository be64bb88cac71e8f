#include "points/conservation.hpp"

namespace emtiaz::points {

bool counts_as_clawed_back(MovementType type) {
  return type == MovementType::clawback || type == MovementType::adjustment_debit ||
         type == MovementType::debt_repayment;
}

void accumulate(Figures& figures, const Movement& movement) {
  if (movement.type == MovementType::debt) {
    figures.debt_created += movement.points;
    return;
  }
  auto& issuer = figures.issuers[movement.issuer];
  switch (movement.type) {
    case MovementType::earn:
    case MovementType::adjustment: issuer.issued += movement.points; break;
    case MovementType::clawback:
    case MovementType::adjustment_debit: issuer.clawed_back += movement.points; break;
    case MovementType::debt_repayment:
      issuer.clawed_back += movement.points;
      figures.debt_repaid += movement.points;
      break;
    case MovementType::capture: issuer.captured += movement.points; break;
    case MovementType::redemption_refund: issuer.redemption_refunded += movement.points; break;
    case MovementType::lot_expiry: issuer.expired += movement.points; break;
    // Moves between states of the same lot: no issuer figure changes.
    case MovementType::hold:
    case MovementType::release:
    case MovementType::hold_expiry:
    case MovementType::pending_available:
    case MovementType::debt: break;
  }
}

Figures figures_of(std::span<const Movement> movements) {
  Figures figures;
  for (const auto& movement : movements) accumulate(figures, movement);
  return figures;
}

std::map<std::string, Points, std::less<>> points_in_lots(const MemberState& state) {
  std::map<std::string, Points, std::less<>> left;
  for (const auto& lot : state.lots) left[lot.issuer] += lot.remaining;
  for (const auto& redemption : state.redemptions) {
    if (redemption.status != RedemptionStatus::authorized) continue;
    for (const auto& allocation : redemption.allocations) {
      const Lot* lot = find_lot(state, allocation.lot_id);
      left[lot != nullptr ? lot->issuer : std::string("?") + allocation.lot_id] += allocation.held;
    }
  }
  return left;
}

std::vector<std::string> conservation_violations(const Figures& figures, const MemberState& state) {
  std::vector<std::string> violations;
  const auto left = points_in_lots(state);
  auto in_lots = [&](const std::string& issuer) {
    auto it = left.find(issuer);
    return it == left.end() ? Points{0} : it->second;
  };
  for (const auto& [issuer, f] : figures.issuers) {
    if (f.left() != in_lots(issuer)) {
      violations.push_back("issuer " + issuer + ": issued " + std::to_string(f.issued) + " - clawed back " +
                           std::to_string(f.clawed_back) + " - net redeemed " + std::to_string(f.net_redeemed()) +
                           " - expired " + std::to_string(f.expired) + " = " + std::to_string(f.left()) +
                           " but its lots hold " + std::to_string(in_lots(issuer)));
    }
  }
  for (const auto& [issuer, points] : left) {
    if (points != 0 && !figures.issuers.contains(issuer)) {
      violations.push_back("issuer " + issuer + ": lots hold " + std::to_string(points) + " with no movements");
    }
  }
  if (figures.outstanding_debt() != state.debt) {
    violations.push_back("debt: movements leave " + std::to_string(figures.outstanding_debt()) + " but state has " +
                         std::to_string(state.debt));
  }
  return violations;
}

}  // namespace emtiaz::points
