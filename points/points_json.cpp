#include "points/points_json.hpp"

#include <stdexcept>

namespace emtiaz::points {
namespace {

// NLOHMANN_JSON_SERIALIZE_ENUM maps an unknown string to the first enumerator; a stored state must never
// be read as something it is not, so names are checked strictly here.
template <typename Enum>
Enum enum_from(const nlohmann::json& j, std::string_view field) {
  const auto& value = j.at(std::string(field));
  Enum result = value.get<Enum>();
  if (nlohmann::json(result) != value) {
    throw std::invalid_argument("points state: unknown " + std::string(field) + " " + value.dump());
  }
  return result;
}

Instant instant_at(const nlohmann::json& j, const char* field) { return from_micros(j.at(field).get<std::int64_t>()); }

}  // namespace

// The to_json functions fill their objects field by field: a braced list (`json{{"id", ...}, ...}`) builds a
// two-element array for every field before the object, and a member's state is serialised by every command
// that changes it (wallet/wallet_service.cpp).
std::int64_t to_micros(Instant t) { return t.time_since_epoch().count(); }
Instant from_micros(std::int64_t micros) { return Instant{std::chrono::microseconds{micros}}; }

void to_json(nlohmann::json& j, const Lot& lot) {
  j = nlohmann::json(nlohmann::json::value_t::object);
  j["id"] = lot.id;
  j["issuer"] = lot.issuer;
  j["issue_price_irr"] = lot.issue_price_irr;
  j["fee_bps"] = lot.fee_bps;
  j["earn_id"] = lot.earn_id;
  j["amount_irr"] = lot.amount_irr;
  j["points"] = lot.points;
  j["remaining"] = lot.remaining;
  j["created_at"] = to_micros(lot.created_at);
  j["available_at"] = to_micros(lot.available_at);
  j["expires_at"] = to_micros(lot.expires_at);
  j["seq"] = lot.seq;
  j["pending"] = lot.pending;
  j["expired"] = lot.expired;
  j["refunded_irr"] = lot.refunded_irr;
  j["clawed_back"] = lot.clawed_back;
}

void from_json(const nlohmann::json& j, Lot& lot) {
  j.at("id").get_to(lot.id);
  j.at("issuer").get_to(lot.issuer);
  j.at("issue_price_irr").get_to(lot.issue_price_irr);
  j.at("fee_bps").get_to(lot.fee_bps);
  j.at("earn_id").get_to(lot.earn_id);
  j.at("amount_irr").get_to(lot.amount_irr);
  j.at("points").get_to(lot.points);
  j.at("remaining").get_to(lot.remaining);
  lot.created_at = instant_at(j, "created_at");
  lot.available_at = instant_at(j, "available_at");
  lot.expires_at = instant_at(j, "expires_at");
  j.at("seq").get_to(lot.seq);
  j.at("pending").get_to(lot.pending);
  j.at("expired").get_to(lot.expired);
  j.at("refunded_irr").get_to(lot.refunded_irr);
  j.at("clawed_back").get_to(lot.clawed_back);
}

void to_json(nlohmann::json& j, const Allocation& allocation) {
  j = nlohmann::json(nlohmann::json::value_t::object);
  j["lot_id"] = allocation.lot_id;
  j["held"] = allocation.held;
  j["captured"] = allocation.captured;
  j["refunded"] = allocation.refunded;
}

void from_json(const nlohmann::json& j, Allocation& allocation) {
  j.at("lot_id").get_to(allocation.lot_id);
  j.at("held").get_to(allocation.held);
  j.at("captured").get_to(allocation.captured);
  j.at("refunded").get_to(allocation.refunded);
}

void to_json(nlohmann::json& j, const Redemption& redemption) {
  j = nlohmann::json(nlohmann::json::value_t::object);
  j["id"] = redemption.id;
  j["partner_id"] = redemption.partner_id;
  j["redeem_value_irr"] = redemption.redeem_value_irr;
  j["status"] = redemption.status;
  j["points"] = redemption.points;
  j["points_captured"] = redemption.points_captured;
  j["points_refunded"] = redemption.points_refunded;
  j["created_at"] = to_micros(redemption.created_at);
  j["expires_at"] = to_micros(redemption.expires_at);
  j["seq"] = redemption.seq;
  j["allocations"] = redemption.allocations;
}

void from_json(const nlohmann::json& j, Redemption& redemption) {
  j.at("id").get_to(redemption.id);
  j.at("partner_id").get_to(redemption.partner_id);
  j.at("redeem_value_irr").get_to(redemption.redeem_value_irr);
  redemption.status = enum_from<RedemptionStatus>(j, "status");
  j.at("points").get_to(redemption.points);
  j.at("points_captured").get_to(redemption.points_captured);
  j.at("points_refunded").get_to(redemption.points_refunded);
  redemption.created_at = instant_at(j, "created_at");
  redemption.expires_at = instant_at(j, "expires_at");
  j.at("seq").get_to(redemption.seq);
  j.at("allocations").get_to(redemption.allocations);
}

void to_json(nlohmann::json& j, const MemberState& state) {
  j = nlohmann::json(nlohmann::json::value_t::object);
  j["lots"] = state.lots;
  j["redemptions"] = state.redemptions;
  j["debt"] = state.debt;
  j["next_seq"] = state.next_seq;
  j["as_of"] = to_micros(state.as_of);
}

bool contains_float(const nlohmann::json& j) {
  if (j.is_number_float()) return true;
  if (j.is_structured())
    for (const auto& v : j)
      if (contains_float(v)) return true;
  return false;
}

void from_json(const nlohmann::json& j, MemberState& state) {
  if (contains_float(j)) throw std::invalid_argument("member state: a number is not an integer");
  j.at("lots").get_to(state.lots);
  j.at("redemptions").get_to(state.redemptions);
  j.at("debt").get_to(state.debt);
  j.at("next_seq").get_to(state.next_seq);
  state.as_of = instant_at(j, "as_of");
}

void to_json(nlohmann::json& j, const Movement& movement) {
  j = nlohmann::json(nlohmann::json::value_t::object);
  j["type"] = movement.type;
  j["points"] = movement.points;
  j["lot_id"] = movement.lot_id;
  j["issuer"] = movement.issuer;
  j["partner_id"] = movement.partner_id;
  j["redemption_id"] = movement.redemption_id;
  j["earn_id"] = movement.earn_id;
  j["at"] = to_micros(movement.at);
}

void from_json(const nlohmann::json& j, Movement& movement) {
  movement.type = enum_from<MovementType>(j, "type");
  j.at("points").get_to(movement.points);
  j.at("lot_id").get_to(movement.lot_id);
  j.at("issuer").get_to(movement.issuer);
  j.at("partner_id").get_to(movement.partner_id);
  j.at("redemption_id").get_to(movement.redemption_id);
  j.at("earn_id").get_to(movement.earn_id);
  movement.at = instant_at(j, "at");
}

void to_json(nlohmann::json& j, const ExpiringPoints& expiring) {
  j = nlohmann::json(nlohmann::json::value_t::object);
  j["points"] = expiring.points;
  j["expires_at"] = to_micros(expiring.expires_at);
}

void from_json(const nlohmann::json& j, ExpiringPoints& expiring) {
  j.at("points").get_to(expiring.points);
  expiring.expires_at = instant_at(j, "expires_at");
}

void to_json(nlohmann::json& j, const Balance& balance) {
  j = nlohmann::json(nlohmann::json::value_t::object);
  j["available"] = balance.available;
  j["pending"] = balance.pending;
  j["held"] = balance.held;
  j["expiring"] = balance.expiring;
}

void from_json(const nlohmann::json& j, Balance& balance) {
  j.at("available").get_to(balance.available);
  j.at("pending").get_to(balance.pending);
  j.at("held").get_to(balance.held);
  j.at("expiring").get_to(balance.expiring);
}

}  // namespace emtiaz::points
