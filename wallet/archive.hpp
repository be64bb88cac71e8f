#pragma once
// A member's finished records as the wallet keeps them: rows of `member_archive` (migrations/008), out of
// the state that every command parses and rewrites (points::archive_finished says what is finished). The
// wallet's batch restores the rows its commands name before applying them (wallet_service.cpp,
// load_archived) and archives what is finished after them; GET /v1/redemptions/{id} reads a finished
// redemption from its row.
#include <optional>
#include <string>
#include <vector>

#include "wallet/command.hpp"
#include "wallet/views.hpp"

namespace emtiaz::wallet {

struct ArchiveRow {
  std::string id;
  std::string kind;        // kArchiveLot | kArchiveRedemption
  std::string earn_id;     // an earn lot's earn (empty otherwise)
  std::string receipt_id;  // a redemption's receipt (empty otherwise)
  std::string record;      // the lot or the redemption as JSON
};
inline constexpr const char* kArchiveLot = "lot";
inline constexpr const char* kArchiveRedemption = "redemption";

// Moves every finished record out of the state, as rows; a redemption takes its receipt with it.
std::vector<ArchiveRow> archive_finished(WalletState& state);

// Puts rows back into the state (what the state has already is kept: it is the newer). Throws on a row
// that is not a lot or a redemption of this format (a storage fault, like a bad state).
void restore(WalletState& state, const std::vector<ArchiveRow>& rows);

// The ids of archived records that applying `cmd` to `state` needs and the state lacks: a redemption a
// capture, void or redemption refund names, the lots a restored redemption's points came from, the earn a
// purchase refund names (looked up by earn id).
struct ArchiveNeeds {
  std::vector<std::string> ids;
  std::vector<std::string> earn_ids;
  [[nodiscard]] bool empty() const { return ids.empty() && earn_ids.empty(); }
};
void add_needs(const WalletState& state, const Command& cmd, ArchiveNeeds& needs);
// After `restored` came back: the lots its redemptions need that the state still lacks.
ArchiveNeeds lots_needed(const WalletState& state, const std::vector<ArchiveRow>& restored);

// A finished redemption from its row, with its receipt; nullopt when the row is not a redemption.
struct ArchivedRedemption {
  points::Redemption redemption;
  std::string receipt_id;
};
std::optional<ArchivedRedemption> archived_redemption(const ArchiveRow& row);

}  // namespace emtiaz::wallet
