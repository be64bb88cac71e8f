#pragma once
// The messages between the gateway and the wallet. A command names its tenant and partner and carries the
// gateway's copy of their settings (the tenant's clocks, the partner's prices); the wallet replaces that copy
// with the rows as they are in its own batch transaction, so that a PATCH applies to every command applied
// after it, whatever a gateway has cached (wallet_service.cpp: use_control_plane).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.hpp"
#include "partners/partner_repository.hpp"
#include "tenants/tenant_repository.hpp"

namespace emtiaz::wallet {

struct TenantSettings {
  std::string timezone = "Asia/Tehran";
  Calendar calendar = Calendar::jalali;
  IsoDuration points_ttl{.months = 12};
  IsoDuration pending_period{};
  IsoDuration hold_ttl{.minutes = 15};
};

struct PartnerSnapshot {
  std::string id;
  std::string name;
  std::int64_t issue_price_irr = 0;
  std::int64_t redeem_value_irr = 0;
  std::int64_t fee_bps = 0;
  std::int64_t points_per_10k_irr = 0;
};

enum class CommandType { earn, purchase_refund, authorize, capture, void_redemption, redemption_refund, adjust };
std::string_view to_string(CommandType t);
std::optional<CommandType> parse_command_type(std::string_view s);

struct Command {
  std::string command_id;  // sha256 of (principal scope, Idempotency-Key): the exactly-once key
  std::string body_hash;   // fingerprint of method, path and canonical body
  std::string request_id;  // of the first request, for problem documents
  std::string gateway;     // the gateway instance that waits for the reply
  std::int32_t reply_partition = 0;
  std::string tenant_id;
  std::string member_id;
  CommandType type = CommandType::earn;
  TenantSettings tenant;
  std::optional<PartnerSnapshot> partner;  // absent for operator adjustments
  nlohmann::json args = nlohmann::json::object();
  // The Redis key of the gateway's reservation of this command's Idempotency-Key (empty: none). The wallet
  // completes it with a stored outcome in the same Redis transaction as the member's state, before it
  // replies, and says so in the reply; the gateway then has no Redis write of its own left to do.
  std::string reservation;

  nlohmann::json to_json() const;
  // dump_json(to_json()), byte for byte, written directly: building the tree for each command's message was
  // a tenth of the gateway's CPU per earn (docs/performance-log.md, fifteenth session). A field added to one
  // must be added to the other: wallet/tests/command_test.cpp compares them over random commands.
  std::string dump() const;
  static std::optional<Command> from_json(const nlohmann::json& j);
};

struct Reply {
  std::string command_id;
  int status = 0;
  std::string body;       // the exact response body, replayed byte for byte
  bool replayed = false;  // the wallet had already applied this command
  bool reservation_done = false;  // the wallet stored this outcome under the command's reservation
  nlohmann::json to_json() const;
  static std::optional<Reply> from_json(const nlohmann::json& j);
  // dump_json(to_json()), byte for byte, written without the tree (the reply message of every command).
  std::string dump() const;
  // The reply read straight from the text dump() writes, without a tree; nullopt for any other text (spaces,
  // another key order, non-ASCII), even a reply, which the tree then reads: parse() does both.
  static std::optional<Reply> from_text(std::string_view text);
  // from_text, or else from_json of the parsed text; nullopt for what is not a reply.
  static std::optional<Reply> parse(const std::string& text);
};

// The ledger event of one command's movements (the outbox row, then the message clearing reads), written without
// a tree: dump_json of {"kind": "ledger", "tenant_id", "member_id", "command_id", "committed_at", "part", "seq",
// "entries": [{"type", "points", "lot_id", "issuer", "issue_price_irr", "fee_bps", "partner_id",
// "redemption_id", "redeem_value_irr", "earn_id", "at"}, ...]}, byte for byte (instants in microseconds).
struct LedgerEntryText {
  std::string_view type;
  std::int64_t points;
  std::string_view lot_id, issuer;
  std::int64_t issue_price_irr, fee_bps;
  std::string_view partner_id, redemption_id;
  std::int64_t redeem_value_irr;
  std::string_view earn_id;
  std::int64_t at_us;
};
void append_ledger_entry(std::string& out, const LedgerEntryText& e);
struct LedgerEventText {
  std::string_view tenant_id, member_id, command_id;
  std::int64_t committed_at_us;
  std::string_view entries;  // append_ledger_entry's objects, comma-separated
  std::int32_t part;
  std::int64_t seq;
};
std::string ledger_event_text(const LedgerEventText& e);

// The command's view of a tenant and of a partner, as the control plane stores them.
TenantSettings settings_of(const tenants::Tenant& t);
PartnerSnapshot snapshot_of(const partners::Partner& p);

// A reservation's value once its command has a stored outcome, as the gateway reads it for a replay. Kept 10
// minutes: it is the fast path of the retries that follow a timeout, not the record — the wallet's record
// (wallet_commands, kept at least 25 h) answers any later retry byte for byte, and keeping every response in
// Redis for a day would hold ~170 million of them (~150 GiB) at 2,000 commands/s.
std::string reservation_done_value(const std::string& fingerprint, int status, const std::string& body);
inline constexpr const char* kReservationKeepSeconds = "600";
// Every reservation key starts so (gateway/command_reservations.cpp); the wallet writes no other key a
// command names.
inline constexpr const char* kReservationKeyPrefix = "emtiaz:idem:";

// The Kafka key of a member's commands and events: one member, one partition, one writer.
std::string member_key(const std::string& tenant_id, const std::string& member_id);

// A command's string argument, or "" when it is absent or not a string (the gateway validated the body).
std::string arg_str(const Command& cmd, const char* name);

}  // namespace emtiaz::wallet
