#pragma once
// JSON form of the points state (MySQL `member_states`, the Redis cache) and of movements and balances.
// Instants are int64 microseconds since the Unix epoch, so a round trip is exact; enums are their
// snake_case names. from_json throws nlohmann::json exceptions on malformed input: the state is written
// only by this code, so a bad document is a storage fault, not a business outcome.

#include <nlohmann/json.hpp>

#include "points/points.hpp"

namespace emtiaz::points {

// Whether any number in `j` is not an integer. Stored states and commands hold integers only; reading a
// float into an integer field would be undefined behaviour in the JSON library, so such documents are
// rejected before any field is read.
bool contains_float(const nlohmann::json& j);

std::int64_t to_micros(Instant t);
Instant from_micros(std::int64_t micros);

void to_json(nlohmann::json& j, const Lot& lot);
void from_json(const nlohmann::json& j, Lot& lot);
void to_json(nlohmann::json& j, const Allocation& allocation);
void from_json(const nlohmann::json& j, Allocation& allocation);
void to_json(nlohmann::json& j, const Redemption& redemption);
void from_json(const nlohmann::json& j, Redemption& redemption);
void to_json(nlohmann::json& j, const MemberState& state);
void from_json(const nlohmann::json& j, MemberState& state);
void to_json(nlohmann::json& j, const Movement& movement);
void from_json(const nlohmann::json& j, Movement& movement);
void to_json(nlohmann::json& j, const ExpiringPoints& expiring);
void from_json(const nlohmann::json& j, ExpiringPoints& expiring);
void to_json(nlohmann::json& j, const Balance& balance);
void from_json(const nlohmann::json& j, Balance& balance);

NLOHMANN_JSON_SERIALIZE_ENUM(RedemptionStatus, {
                                                   {RedemptionStatus::authorized, "authorized"},
                                                   {RedemptionStatus::captured, "captured"},
                                                   {RedemptionStatus::voided, "voided"},
                                                   {RedemptionStatus::expired, "expired"},
                                                   {RedemptionStatus::refunded, "refunded"},
                                                   {RedemptionStatus::partially_refunded, "partially_refunded"},
                                               })

NLOHMANN_JSON_SERIALIZE_ENUM(MovementType, {
                                               {MovementType::earn, "earn"},
                                               {MovementType::adjustment, "adjustment"},
                                               {MovementType::adjustment_debit, "adjustment_debit"},
                                               {MovementType::clawback, "clawback"},
                                               {MovementType::debt, "debt"},
                                               {MovementType::debt_repayment, "debt_repayment"},
                                               {MovementType::hold, "hold"},
                                               {MovementType::capture, "capture"},
                                               {MovementType::release, "release"},
                                               {MovementType::hold_expiry, "hold_expiry"},
                                               {MovementType::redemption_refund, "redemption_refund"},
                                               {MovementType::lot_expiry, "lot_expiry"},
                                               {MovementType::pending_available, "pending_available"},
                                           })

}  // namespace emtiaz::points
