#pragma once
// How the points state is shown through the API. Shared by the wallet (responses to commands, stored and
// replayed byte for byte) and the gateway (reads), so that both render the same thing the same way.
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "points/points.hpp"

namespace emtiaz::wallet {

// What the wallet keeps per member: the points state and what the API shows that the domain does not need.
struct WalletState {
  points::MemberState points;
  std::map<std::string, std::string> redemption_receipts;  // redemption id -> the partner's receipt_id
  std::int64_t version = 0;                                 // optimistic check against a second writer
};

nlohmann::json state_to_json(const WalletState& s);
WalletState state_from_json(const nlohmann::json& j);

nlohmann::json balance_json(const std::string& member_id, const points::MemberState& state, points::Instant now,
                            const std::string& tz);
// The redemption as of `now` (a hold past its deadline shows `expired`).
nlohmann::json redemption_json(const std::string& member_id, const WalletState& state, const points::Redemption& r,
                               points::Instant now, const std::string& tz);
std::string_view redemption_status_name(points::RedemptionStatus s);

std::string dump_json(const nlohmann::json& j);

}  // namespace emtiaz::wallet
