#pragma once
// Applying one command (or the passage of time) to one member's state: pure, no I/O. The wallet service
// feeds it commands in partition order and persists what it returns in one MySQL transaction per batch.
#include <optional>
#include <string>
#include <vector>

#include "wallet/command.hpp"
#include "wallet/views.hpp"

namespace emtiaz::wallet {

// One item of a member's history (GET /members/{m}/transactions): the movements of one kind that one
// command (or one moment of time) caused, summed. `points` is signed: + into the member's points, − out.
struct HistoryItem {
  std::string txn_id;
  std::string type;
  std::int64_t points = 0;
  std::string partner_id;
  std::string receipt_id;
  std::string reason;
  std::string earn_id;
  std::string redemption_id;
  points::Instant at{};
};

struct NewEarn {
  std::string id;
  std::string partner_id;
  std::string receipt_id;
  std::int64_t amount_irr = 0;
  std::int64_t points = 0;
};

struct NewRedemption {
  std::string id;
  std::string partner_id;
  std::string receipt_id;
  points::Instant hold_expires_at{};
};

struct Effect {
  int status = 0;
  std::string body;  // the exact response
  std::vector<points::Movement> movements;
  std::vector<HistoryItem> history;
  std::optional<NewEarn> earn;
  std::optional<NewRedemption> redemption;
};

// `receipt_taken`: another earn of this partner already used the command's receipt_id.
Effect apply_command(WalletState& state, const Command& cmd, points::Instant now, bool receipt_taken);

// The passage of time alone (the wallet's timers): expiries, hold time-outs, pending points becoming
// available, and the debt repayments they trigger.
Effect apply_time(WalletState& state, points::Instant now);


}  // namespace emtiaz::wallet
