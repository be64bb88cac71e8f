#pragma once
// How the points state is shown through the API. Shared by the wallet (responses to commands, stored and
// replayed byte for byte) and the gateway (reads), so that both render the same thing the same way.
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "points/points.hpp"
#include "wallet/cold_lots.hpp"

namespace emtiaz::wallet {

// What the wallet keeps per member: the points state and what the API shows that the domain does not need.
struct WalletState {
  points::MemberState points;
  std::map<std::string, std::string> redemption_receipts;  // redemption id -> the partner's receipt_id
  std::int64_t version = 0;                                 // optimistic check against a second writer
};

nlohmann::json state_to_json(const WalletState& s);
WalletState state_from_json(const nlohmann::json& j);

// dump_json(state_to_json(s)), byte for byte, written without building the tree: the text the wallet stores in
// MySQL and Redis for every member a batch changes. lot_text and redemption_text are dump_json of one record
// (the member archive's rows).
std::string state_text(const WalletState& s);
std::string lot_text(const points::Lot& lot);
std::string redemption_text(const points::Redemption& redemption);
// A state read straight from the text state_text writes (version 0), without a tree; nullopt for any other text,
// even a state written another way (spaces, another key order, escaped strings), which the tree then reads.
std::optional<WalletState> state_from_text(std::string_view text);
// state_from_text, or else state_from_json(nlohmann::json::parse(text)) (which throws on what is not a state); a
// value stored deflated (member_states.state, wallet/stored_state.hpp) is inflated first.
WalletState read_state_text(const std::string& text);

// A member's state as member_states stores it (migration 010): `state`, the state's text without its cold lots,
// and `cold_lots`, NULL or the text of a JSON array of those lots (lot_text each, by seq) — the many lots that
// no command is changing, written only when they change (wallet/cold_lots.hpp). state_text(s, cold) and
// cold_lots_text(s.points, cold) write the two for a mask of the state's lots (cold[i]: lot i is stored
// apart); read_stored_state merges them back into the state (lots by seq) and, when asked, gives the cold lots
// as they were read (wallet::stored_lot of each, by seq), for plan_cold_lots. It throws, as read_state_text does on
// what is not a state, when a lot is in both.
std::string state_text(const WalletState& s, const std::vector<char>& cold);
std::string cold_lots_text(const points::MemberState& state, const std::vector<char>& cold);
WalletState read_stored_state(const std::string& state, const std::optional<std::string>& cold_lots,
                              std::vector<StoredLot>* cold_out = nullptr);
// The cold lots' text merged into a state read without them (read_stored_state's second half).
void merge_cold_lots(WalletState& s, const std::string& cold_lots, std::vector<StoredLot>* cold_out = nullptr);

// What member_states gets for `s`, given its cold lots as they were read (read_stored_state's cold_out): the
// split plan_cold_lots decides, written as the two texts. A state holding the stand-in for cold lots left unread
// (wallet/cold_lots.hpp) keeps them as stored: its text without the stand-in, and nothing else written.
struct StoredTexts {
  std::string state;                     // `state`: the state without the lots stored apart
  bool write_cold = false;               // `cold_lots` is written, with cold_lots (nullopt: NULL)
  std::optional<std::string> cold_lots;  // only when write_cold and some lot is apart
  bool apart = false;                    // some lot is stored apart after this write (written now or before)
  std::optional<ColdSummary> cold_summary;  // with cold_lots: what they hold (cold_points, cold_first_expiry)
};
StoredTexts stored_texts(const WalletState& s, const std::vector<StoredLot>& read_cold);
// The state with its version as the wallet caches it in Redis, {"state":<state_text>,"version":N}, read without a
// tree; nullopt for any other text (the caller then reads it with the tree).
std::optional<WalletState> cached_state_from_text(std::string_view text);

nlohmann::json balance_json(const std::string& member_id, const points::MemberState& state, points::Instant now,
                            const std::string& tz);
nlohmann::json balance_json(const std::string& member_id, const points::Balance& balance, const std::string& tz);
// dump_json(balance_json(member_id, balance, tz)), byte for byte, written without building the tree: what a
// balance read answers from the view (the gateway's hottest response).
std::string balance_text(const std::string& member_id, const points::Balance& balance, const std::string& tz);

// The answer to an earn (the 201 body of POST /v1/earn): the earn, with the member's balance after it.
struct EarnAnswer {
  std::string id, member_id, partner_id, receipt_id;
  std::int64_t amount_irr = 0, points = 0;
  bool pending = false;  // its points are not available yet
  points::Instant available_at{}, expires_at{}, created_at{};
  const nlohmann::json* occurred_at = nullptr;  // as the request gave them, when it did
  const nlohmann::json* category = nullptr;
};
// Its JSON text: the fields above, `type` "earn", `status` "pending" or "active", the times as RFC 3339 in the
// tenant's zone, `balance` as balance_text; keys sorted and no spaces, as dump_json writes an object (the tests
// compare it byte for byte with the tree's dump). The wallet writes one for every earn it applies.
std::string earn_text(const EarnAnswer& a, const points::Balance& balance, const std::string& tz);

// The balance view the wallet stores in Redis next to the state (points::BalanceView: exact from `at` until
// `valid_until`), so that a balance read needs neither the state nor its JSON: {"version", "at",
// "valid_until" (null: forever), "available", "pending", "held", "expiring": [[points, expires_at], ...]},
// instants in microseconds since the epoch. nullopt when the text is not such a view.
std::optional<points::BalanceView> balance_view_from_json(const nlohmann::json& j);
// The view's text as the tree's dump would write it (keys sorted, no spaces): the wallet writes one for every member
// a batch changes, and the gateway one for every read that falls through to MySQL.
std::string balance_view_text(const points::BalanceView& view, std::int64_t version);
// The same view read straight from its text as balance_view_text writes it — keys in that order, no spaces,
// integers without leading zeros — without building a tree. nullopt for any other text, even
// one that is a view (spaces, other key order): the caller then reads it with balance_view_from_json, so this is
// only ever a faster way to the same answer.
std::optional<points::BalanceView> balance_view_from_text(std::string_view text);
// The redemption as of `now` (a hold past its deadline shows `expired`).
nlohmann::json redemption_json(const std::string& member_id, const WalletState& state, const points::Redemption& r,
                               points::Instant now, const std::string& tz);
std::string_view redemption_status_name(points::RedemptionStatus s);
// dump_json(redemption_json(…)), byte for byte, written without building the tree: the wallet writes one for every
// authorization, capture, void and refund of a redemption it applies.
std::string redemption_answer_text(const std::string& member_id, const WalletState& state,
                                   const points::Redemption& r, points::Instant now, const std::string& tz);

// The answer to a purchase refund (the 201 body of POST /v1/earn/{id}/refund): these fields, `type`
// "purchase_refund" and `balance`, written as dump_json would write them (the tests compare it byte for byte).
struct PurchaseRefundAnswer {
  std::string id, earn_id;
  std::int64_t amount_irr = 0, points_clawed_back = 0;
  points::Instant created_at{};
};
std::string purchase_refund_text(const PurchaseRefundAnswer& a, const std::string& member_id,
                                 const points::Balance& balance, const std::string& tz);

std::string dump_json(const nlohmann::json& j);
// dump_json(nlohmann::json(std::string(s))) appended to `out`, without the tree for ASCII text.
void append_json_string(std::string& out, std::string_view s);
// The same for text of ASCII only; for any other text `out` is left as it was and false is returned.
bool append_ascii_json_string(std::string& out, std::string_view s);

}  // namespace emtiaz::wallet
