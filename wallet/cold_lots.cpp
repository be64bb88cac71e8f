#include "wallet/cold_lots.hpp"

#include <algorithm>
#include <functional>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>

namespace emtiaz::wallet {

bool ColdLotsPlan::any() const { return std::find(cold.begin(), cold.end(), char{1}) != cold.end(); }

// Lot's fields as of this writing (three strings; seq, ten numbers and two flags, which share a word); a field
// added to it must be added to stored_lot too, in its numbers or its strings.
static_assert(sizeof(points::Lot) == 3 * sizeof(std::string) + 12 * sizeof(std::int64_t),
              "points::Lot changed: compare its new field in wallet::stored_lot");

StoredLot stored_lot(const points::Lot& l) {
  StoredLot s;
  s.seq = l.seq;
  s.numbers = {l.issue_price_irr, l.fee_bps,    l.amount_irr, l.points,  l.remaining,    l.created_at,
               l.available_at,    l.expires_at, l.pending,    l.expired, l.refunded_irr, l.clawed_back};
  const std::hash<std::string_view> h;
  std::uint64_t x = h(l.id);
  x = (x ^ (x >> 31)) * 0x9E3779B97F4A7C15ull ^ h(l.issuer);
  x = (x ^ (x >> 29)) * 0xBF58476D1CE4E5B9ull ^ h(l.earn_id);
  s.strings = x;
  return s;
}

bool may_be_cold(const points::Lot& lot) { return !lot.pending && !lot.expired && lot.remaining > 0; }

ColdLotsPlan plan_cold_lots(const points::MemberState& state, const std::vector<StoredLot>& stored) {
  const auto& lots = state.lots;
  const std::size_t n = lots.size();
  if (!stored.empty()) {
    // The stored split, if it still holds: each stored lot found (both are by seq) and unchanged.
    std::vector<char> cold(n, 0);
    std::size_t j = 0, movable = 0;
    bool holds = true;
    for (std::size_t i = 0; i < n && holds; ++i) {
      while (j < stored.size() && stored[j].seq < lots[i].seq) holds = false, ++j;  // left the state
      if (j < stored.size() && stored[j].seq == lots[i].seq) {
        if (stored[j] == stored_lot(lots[i]))
          cold[i] = 1;
        else
          holds = false;
        ++j;
      } else if (may_be_cold(lots[i])) {
        ++movable;
      }
    }
    if (holds && j == stored.size() && movable < kHotKeep + kMoveAtLeast) return {false, std::move(cold)};
  }
  ColdLotsPlan plan;
  plan.write = !stored.empty();  // a column that held lots is rewritten (or emptied) whatever follows
  if (n < kColdFrom) return plan;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (lots[a].expires_at != lots[b].expires_at) return lots[a].expires_at < lots[b].expires_at;
    return lots[a].seq < lots[b].seq;
  });
  plan.cold.assign(n, 0);
  std::size_t kept = 0;
  for (std::size_t i : order)
    if (may_be_cold(lots[i]) && kept++ >= kHotKeep) plan.cold[i] = 1;
  if (!plan.any()) plan.cold.clear();
  plan.write = plan.write || !plan.cold.empty();
  return plan;
}

std::optional<ColdSummary> cold_summary(const points::MemberState& state, const std::vector<char>& cold) {
  std::optional<ColdSummary> out;
  for (std::size_t i = 0; i < state.lots.size() && i < cold.size(); ++i) {
    if (!cold[i]) continue;
    const auto& lot = state.lots[i];
    if (!out) out = ColdSummary{0, lot.expires_at, lot.seq};
    out->points += lot.remaining;
    if (std::pair(lot.expires_at, lot.seq) < std::pair(out->first_expiry, out->first_seq))
      out->first_expiry = lot.expires_at, out->first_seq = lot.seq;
  }
  return out;
}

bool cold_lots_may_stay_unread(const points::MemberState& hot, const ColdSummary& cold, std::size_t earns,
                               points::Instant now) {
  const auto horizon = now + kColdUnreadMargin;
  if (hot.debt != 0 || cold.points <= 0 || cold.first_expiry <= horizon) return false;
  if (hot.lots.size() + earns >= kHotKeep + kMoveAtLeast) return false;
  std::size_t before = 0;  // lots listed before every cold one
  for (const auto& lot : hot.lots)
    if (may_be_cold(lot) && lot.expires_at > horizon &&
        std::pair(lot.expires_at, lot.seq) < std::pair(cold.first_expiry, cold.first_seq))
      ++before;
  return before >= points::kExpiringMax;
}

namespace {
constexpr std::string_view kStandInId = "lot_(cold lots, unread)";  // not an id's form: none can equal it
}  // namespace

points::Lot cold_stand_in(const ColdSummary& cold) {
  points::Lot lot;
  lot.id = std::string(kStandInId);
  lot.issuer = std::string(points::kOperatorIssuer);
  lot.points = cold.points;
  lot.remaining = cold.points;
  lot.expires_at = cold.first_expiry;
  lot.seq = cold.first_seq;
  return lot;
}

bool is_cold_stand_in(const points::Lot& lot) { return lot.id == kStandInId; }

bool add_cold_stand_in(points::MemberState& state, const ColdSummary& cold) {
  auto& lots = state.lots;
  auto at = std::lower_bound(lots.begin(), lots.end(), cold.first_seq,
                             [](const points::Lot& l, std::uint64_t seq) { return l.seq < seq; });
  if (at != lots.end() && at->seq == cold.first_seq) return false;
  lots.insert(at, cold_stand_in(cold));
  return true;
}

}  // namespace emtiaz::wallet
