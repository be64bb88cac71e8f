#include "wallet/views.hpp"

#include "common/time.hpp"
#include "points/points_json.hpp"

namespace emtiaz::wallet {

nlohmann::json state_to_json(const WalletState& s) {
  return {{"points", s.points}, {"receipts", s.redemption_receipts}};
}

WalletState state_from_json(const nlohmann::json& j) {
  WalletState s;
  s.points = j.at("points").get<points::MemberState>();
  s.redemption_receipts = j.value("receipts", std::map<std::string, std::string>{});
  return s;
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json balance_json(const std::string& member_id, const points::MemberState& state, points::Instant now,
                            const std::string& tz) {
  auto b = points::balance_at(state, now);
  nlohmann::json expiring = nlohmann::json::array();
  for (const auto& e : b.expiring)
    expiring.push_back({{"points", e.points}, {"expires_at", format_rfc3339(e.expires_at, tz, TimePrecision::micros)}});
  return {{"member_id", member_id},
          {"available", b.available},
          {"pending", b.pending},
          {"held", b.held},
          {"expiring", expiring}};
}

std::string_view redemption_status_name(points::RedemptionStatus s) { return points::to_string(s); }

nlohmann::json redemption_json(const std::string& member_id, const WalletState& state, const points::Redemption& r,
                               points::Instant now, const std::string& tz) {
  auto receipt = state.redemption_receipts.find(r.id);
  return {{"id", r.id},
          {"member_id", member_id},
          {"partner_id", r.partner_id},
          {"receipt_id", receipt == state.redemption_receipts.end() ? "" : receipt->second},
          {"status", redemption_status_name(r.status)},
          {"points", r.points},
          {"points_held", points::held_points(r)},
          {"points_captured", r.points_captured},
          {"points_refunded", r.points_refunded},
          {"redeem_value_irr", r.redeem_value_irr},
          {"value_irr", r.points * r.redeem_value_irr},
          {"expires_at", format_rfc3339(r.expires_at, tz, TimePrecision::micros)},
          {"created_at", format_rfc3339(r.created_at, tz, TimePrecision::micros)},
          {"balance", balance_json(member_id, state.points, now, tz)}};
}

}  // namespace emtiaz::wallet
