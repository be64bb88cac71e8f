#pragma once
// Small builders shared by the points unit tests. Times are whole seconds since the epoch, so hand-worked
// cases read as plain numbers.

#include <ostream>
#include <string>
#include <vector>

#include "points/points.hpp"

namespace emtiaz::points::testing {

inline Instant T(std::int64_t seconds) { return Instant{std::chrono::seconds{seconds}}; }

// An earn of `points` for a purchase of amount_irr (default points × 1000) by `issuer`.
inline LotSpec earn_spec(const std::string& id, const std::string& issuer, Points points, std::int64_t available_at,
                         std::int64_t expires_at, std::int64_t amount_irr = 0) {
  LotSpec spec;
  spec.id = id;
  spec.issuer = issuer;
  spec.issue_price_irr = 1000;
  spec.fee_bps = 100;
  spec.earn_id = "earn_" + id;
  spec.amount_irr = amount_irr > 0 ? amount_irr : (points > 0 ? points * 1000 : 1000);
  spec.points = points;
  spec.available_at = T(available_at);
  spec.expires_at = T(expires_at);
  return spec;
}

inline RedemptionSpec redeem_spec(const std::string& id, const std::string& partner, Points points,
                                  std::int64_t hold_expires_at) {
  return RedemptionSpec{id, partner, 500, points, T(hold_expires_at)};
}

// A movement written out for comparison: type, points, lot, at (seconds).
struct M {
  MovementType type;
  Points points;
  std::string lot_id;
  std::int64_t at;
  bool operator==(const M&) const = default;
};

inline std::vector<M> brief(const std::vector<Movement>& movements) {
  std::vector<M> out;
  for (const auto& m : movements) {
    out.push_back(M{m.type, m.points, m.lot_id,
                    std::chrono::duration_cast<std::chrono::seconds>(m.at.time_since_epoch()).count()});
  }
  return out;
}

inline std::ostream& operator<<(std::ostream& os, const M& m) {
  return os << "{" << to_string(m.type) << " " << m.points << " lot=" << m.lot_id << " at=" << m.at << "}";
}

}  // namespace emtiaz::points::testing

namespace emtiaz::points {
// Readable gtest output for errors (std::optional<Error> otherwise prints as bytes).
inline void PrintTo(Error error, std::ostream* os) { *os << to_string(error); }
inline void PrintTo(const std::optional<Error>& error, std::ostream* os) {
  *os << (error ? to_string(*error) : std::string_view("ok"));
}
}  // namespace emtiaz::points
