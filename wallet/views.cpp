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
  return balance_json(member_id, points::balance_at(state, now), tz);
}

namespace {
std::int64_t micros_of(points::Instant t) { return t.time_since_epoch().count(); }
points::Instant instant_of(std::int64_t us) { return points::Instant{std::chrono::microseconds{us}}; }
}  // namespace

nlohmann::json balance_view_to_json(const points::BalanceView& view, std::int64_t version) {
  nlohmann::json expiring = nlohmann::json::array();
  for (const auto& e : view.balance.expiring) expiring.push_back({e.points, micros_of(e.expires_at)});
  return {{"version", version},
          {"at", micros_of(view.at)},
          {"valid_until", view.valid_until ? nlohmann::json(micros_of(*view.valid_until)) : nlohmann::json()},
          {"available", view.balance.available},
          {"pending", view.balance.pending},
          {"held", view.balance.held},
          {"expiring", expiring}};
}

std::optional<points::BalanceView> balance_view_from_json(const nlohmann::json& j) {
  auto integer = [&](const char* k) { return j.contains(k) && j.at(k).is_number_integer(); };
  if (!j.is_object() || !integer("at") || !integer("available") || !integer("pending") || !integer("held") ||
      !j.contains("valid_until") || !(j.at("valid_until").is_null() || integer("valid_until")) ||
      !j.contains("expiring") || !j.at("expiring").is_array())
    return std::nullopt;
  points::BalanceView v;
  v.at = instant_of(j.at("at").get<std::int64_t>());
  if (!j.at("valid_until").is_null()) v.valid_until = instant_of(j.at("valid_until").get<std::int64_t>());
  v.balance.available = j.at("available").get<std::int64_t>();
  v.balance.pending = j.at("pending").get<std::int64_t>();
  v.balance.held = j.at("held").get<std::int64_t>();
  for (const auto& e : j.at("expiring")) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() || !e[1].is_number_integer()) return std::nullopt;
    v.balance.expiring.push_back({e[0].get<std::int64_t>(), instant_of(e[1].get<std::int64_t>())});
  }
  return v;
}

nlohmann::json balance_json(const std::string& member_id, const points::Balance& b, const std::string& tz) {
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
