#include "wallet/views.hpp"

#include <charconv>

#include "common/time.hpp"
#include "points/points_json.hpp"

namespace emtiaz::wallet {

nlohmann::json state_to_json(const WalletState& s) {
  return {{"points", s.points}, {"receipts", s.redemption_receipts}};
}

WalletState state_from_json(const nlohmann::json& j) {
  WalletState s;
  s.points = j.at("points").get<points::MemberState>();
  s.redemption_receipts = j.value("receipts", std::map<std::string, std::string>{});
  return s;
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json balance_json(const std::string& member_id, const points::MemberState& state, points::Instant now,
                            const std::string& tz) {
  return balance_json(member_id, points::balance_at(state, now), tz);
}

namespace {
std::int64_t micros_of(points::Instant t) { return t.time_since_epoch().count(); }
points::Instant instant_of(std::int64_t us) { return points::Instant{std::chrono::microseconds{us}}; }
}  // namespace

nlohmann::json balance_view_to_json(const points::BalanceView& view, std::int64_t version) {
  nlohmann::json expiring = nlohmann::json::array();
  for (const auto& e : view.balance.expiring) expiring.push_back({e.points, micros_of(e.expires_at)});
  return {{"version", version},
          {"at", micros_of(view.at)},
          {"valid_until", view.valid_until ? nlohmann::json(micros_of(*view.valid_until)) : nlohmann::json()},
          {"available", view.balance.available},
          {"pending", view.balance.pending},
          {"held", view.balance.held},
          {"expiring", expiring}};
}

std::optional<points::BalanceView> balance_view_from_json(const nlohmann::json& j) {
  auto integer = [&](const char* k) { return j.contains(k) && j.at(k).is_number_integer(); };
  if (!j.is_object() || !integer("at") || !integer("available") || !integer("pending") || !integer("held") ||
      !j.contains("valid_until") || !(j.at("valid_until").is_null() || integer("valid_until")) ||
      !j.contains("expiring") || !j.at("expiring").is_array())
    return std::nullopt;
  points::BalanceView v;
  v.at = instant_of(j.at("at").get<std::int64_t>());
  if (!j.at("valid_until").is_null()) v.valid_until = instant_of(j.at("valid_until").get<std::int64_t>());
  v.balance.available = j.at("available").get<std::int64_t>();
  v.balance.pending = j.at("pending").get<std::int64_t>();
  v.balance.held = j.at("held").get<std::int64_t>();
  for (const auto& e : j.at("expiring")) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() || !e[1].is_number_integer()) return std::nullopt;
    v.balance.expiring.push_back({e[0].get<std::int64_t>(), instant_of(e[1].get<std::int64_t>())});
  }
  return v;
}

nlohmann::json balance_json(const std::string& member_id, const points::Balance& b, const std::string& tz) {
  nlohmann::json expiring = nlohmann::json::array();
  for (const auto& e : b.expiring)
    expiring.push_back({{"points", e.points}, {"expires_at", format_rfc3339(e.expires_at, tz, TimePrecision::micros)}});
  return {{"member_id", member_id},
          {"available", b.available},
          {"pending", b.pending},
          {"held", b.held},
          {"expiring", expiring}};
}

namespace {

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// A JSON string as nlohmann dumps it (dump_json): ids and timestamps are plain ASCII and go as they are; anything
// else (quotes, control bytes, non-ASCII, invalid UTF-8) through nlohmann itself.
void append_string(std::string& out, const std::string& v) {
  for (unsigned char c : v) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += dump_json(nlohmann::json(v));
      return;
    }
  }
  out += '"';
  out += v;
  out += '"';
}

// Reads the view's text left to right: each step consumes what it expects or fails.
struct ViewText {
  std::string_view rest;
  bool literal(std::string_view s) {
    if (rest.substr(0, s.size()) != s) return false;
    rest.remove_prefix(s.size());
    return true;
  }
  // An integer as JSON writes it: an optional minus, then 0 or digits without a leading zero; not -0.
  std::optional<std::int64_t> integer() {
    size_t n = rest.size() > 0 && rest[0] == '-' ? 1 : 0;
    const size_t first = n;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == first || (rest[first] == '0' && n - first > 1) || (first == 1 && rest[1] == '0')) return std::nullopt;
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + n, v);
    if (ec != std::errc() || end != rest.data() + n) return std::nullopt;  // out of range
    rest.remove_prefix(n);
    return v;
  }
};

}  // namespace

std::string balance_text(const std::string& member_id, const points::Balance& b, const std::string& tz) {
  std::string out;
  out.reserve(96 + member_id.size() + 72 * b.expiring.size());
  out += "{\"available\":";
  append_int(out, b.available);
  out += ",\"expiring\":[";
  for (size_t i = 0; i < b.expiring.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"expires_at\":";
    append_string(out, format_rfc3339(b.expiring[i].expires_at, tz, TimePrecision::micros));
    out += ",\"points\":";
    append_int(out, b.expiring[i].points);
    out += '}';
  }
  out += "],\"held\":";
  append_int(out, b.held);
  out += ",\"member_id\":";
  append_string(out, member_id);
  out += ",\"pending\":";
  append_int(out, b.pending);
  out += '}';
  return out;
}

std::optional<points::BalanceView> balance_view_from_text(std::string_view text) {
  // {"at":…,"available":…,"expiring":[[p,t],…],"held":…,"pending":…,"valid_until":…|null,"version":…}
  ViewText t{text};
  points::BalanceView v;
  std::optional<std::int64_t> n;
  if (!t.literal("{\"at\":") || !(n = t.integer())) return std::nullopt;
  v.at = instant_of(*n);
  if (!t.literal(",\"available\":") || !(n = t.integer())) return std::nullopt;
  v.balance.available = *n;
  if (!t.literal(",\"expiring\":[")) return std::nullopt;
  if (!t.literal("]")) {
    do {
      std::optional<std::int64_t> p, at;
      if (!t.literal("[") || !(p = t.integer()) || !t.literal(",") || !(at = t.integer()) || !t.literal("]"))
        return std::nullopt;
      v.balance.expiring.push_back({*p, instant_of(*at)});
    } while (t.literal(","));
    if (!t.literal("]")) return std::nullopt;
  }
  if (!t.literal(",\"held\":") || !(n = t.integer())) return std::nullopt;
  v.balance.held = *n;
  if (!t.literal(",\"pending\":") || !(n = t.integer())) return std::nullopt;
  v.balance.pending = *n;
  if (!t.literal(",\"valid_until\":")) return std::nullopt;
  if (!t.literal("null")) {
    if (!(n = t.integer())) return std::nullopt;
    v.valid_until = instant_of(*n);
  }
  if (!t.literal(",\"version\":") || !t.integer() || !t.literal("}") || !t.rest.empty()) return std::nullopt;
  return v;
}

std::string_view redemption_status_name(points::RedemptionStatus s) { return points::to_string(s); }

nlohmann::json redemption_json(const std::string& member_id, const WalletState& state, const points::Redemption& r,
                               points::Instant now, const std::string& tz) {
  auto receipt = state.redemption_receipts.find(r.id);
  return {{"id", r.id},
          {"member_id", member_id},
          {"partner_id", r.partner_id},
          {"receipt_id", receipt == state.redemption_receipts.end() ? "" : receipt->second},
          {"status", redemption_status_name(r.status)},
          {"points", r.points},
          {"points_held", points::held_points(r)},
          {"points_captured", r.points_captured},
          {"points_refunded", r.points_refunded},
          {"redeem_value_irr", r.redeem_value_irr},
          {"value_irr", r.points * r.redeem_value_irr},
          {"expires_at", format_rfc3339(r.expires_at, tz, TimePrecision::micros)},
          {"created_at", format_rfc3339(r.created_at, tz, TimePrecision::micros)},
          {"balance", balance_json(member_id, state.points, now, tz)}};
}

}  // namespace emtiaz::wallet
