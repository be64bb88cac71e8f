#pragma once
// Builders shared by the wallet's unit tests: instants as seconds from a fixed origin, and a command of the
// test member at one partner (tenant clocks short enough for expiries within a test).
#include <nlohmann/json.hpp>

#include "wallet/applier.hpp"

namespace emtiaz::wallet::testing {

inline Instant at(std::int64_t seconds) { return Instant{} + std::chrono::seconds(1'800'000'000 + seconds); }

// `rate`: the partner's points per 10,000 IRR; `redeem_value`: its IRR per point.
inline Command command(CommandType type, nlohmann::json args, std::int64_t rate = 4, std::int64_t redeem_value = 150) {
  Command c;
  c.command_id = "cmd";
  c.body_hash = "hash";
  c.tenant_id = "ten_1";
  c.member_id = "mem_1";
  c.type = type;
  c.tenant.timezone = "Asia/Tehran";
  c.tenant.points_ttl = IsoDuration{.seconds = 60};
  c.tenant.hold_ttl = IsoDuration{.seconds = 30};
  c.partner = PartnerSnapshot{"par_1", "کافه", 200, redeem_value, 25, rate};
  c.args = std::move(args);
  return c;
}

}  // namespace emtiaz::wallet::testing
