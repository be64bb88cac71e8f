#include "wallet/archive.hpp"

#include <algorithm>
#include <stdexcept>

#include "points/points_json.hpp"

namespace emtiaz::wallet {
namespace {

void add_once(std::vector<std::string>& list, std::string value) {
  if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

}  // namespace

std::vector<ArchiveRow> archive_finished(WalletState& state) {
  auto out = points::archive_finished(state.points);
  std::vector<ArchiveRow> rows;
  rows.reserve(out.lots.size() + out.redemptions.size());
  for (const auto& lot : out.lots)
    rows.push_back({lot.id, kArchiveLot, lot.earn_id, "", lot_text(lot)});
  for (const auto& r : out.redemptions) {
    auto receipt = state.redemption_receipts.find(r.id);
    rows.push_back({r.id, kArchiveRedemption, "",
                    receipt == state.redemption_receipts.end() ? std::string() : receipt->second,
                    redemption_text(r)});
  }
  // A receipt belongs to a redemption in the state; the others left with theirs.
  std::erase_if(state.redemption_receipts,
                [&](const auto& entry) { return points::find_redemption(state.points, entry.first) == nullptr; });
  return rows;
}

void restore(WalletState& state, const std::vector<ArchiveRow>& rows) {
  points::Archived back;
  for (const auto& row : rows) {
    auto j = nlohmann::json::parse(row.record);
    if (points::contains_float(j))
      throw std::invalid_argument("archived record " + row.id + ": a number is not an integer");
    if (row.kind == kArchiveLot) {
      back.lots.push_back(j.get<points::Lot>());
    } else if (row.kind == kArchiveRedemption) {
      auto r = j.get<points::Redemption>();
      if (points::find_redemption(state.points, r.id) == nullptr && !row.receipt_id.empty())
        state.redemption_receipts[r.id] = row.receipt_id;
      back.redemptions.push_back(std::move(r));
    } else {
      throw std::invalid_argument("archived record " + row.id + ": unknown kind " + row.kind);
    }
  }
  points::restore(state.points, std::move(back));
}

void add_needs(const WalletState& state, const Command& cmd, ArchiveNeeds& needs) {
  switch (cmd.type) {
    case CommandType::capture:
    case CommandType::void_redemption:
    case CommandType::redemption_refund: {
      auto id = arg_str(cmd, "redemption_id");
      if (points::find_redemption(state.points, id) == nullptr) add_once(needs.ids, std::move(id));
      break;
    }
    case CommandType::purchase_refund: {
      auto earn_id = arg_str(cmd, "earn_id");
      if (points::find_earn_lot(state.points, earn_id) == nullptr) add_once(needs.earn_ids, std::move(earn_id));
      break;
    }
    default: break;
  }
}

ArchiveNeeds lots_needed(const WalletState& state, const std::vector<ArchiveRow>& restored) {
  ArchiveNeeds needs;
  for (const auto& row : restored) {
    if (row.kind != kArchiveRedemption) continue;
    const auto* r = points::find_redemption(state.points, row.id);
    if (r == nullptr) continue;
    for (auto& id : points::missing_lots(state.points, *r)) add_once(needs.ids, std::move(id));
  }
  return needs;
}

std::optional<ArchivedRedemption> archived_redemption(const ArchiveRow& row) {
  if (row.kind != kArchiveRedemption) return std::nullopt;
  auto j = nlohmann::json::parse(row.record, nullptr, false);
  if (j.is_discarded() || points::contains_float(j)) return std::nullopt;
  return ArchivedRedemption{j.get<points::Redemption>(), row.receipt_id};
}

}  // namespace emtiaz::wallet
