#include "wallet/views.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <stdexcept>

#include "common/time.hpp"
#include "points/points_json.hpp"
#include "wallet/cold_lots.hpp"
#include "wallet/stored_state.hpp"
#include "wallet/text_reader.hpp"

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

bool append_ascii_json_string(std::string& out, std::string_view s) {
  // Escaped as nlohmann's serializer does it (ensure_ascii off): the quote, the backslash and the control bytes,
  // the latter by name or as \u00xx in lower-case hex; DEL as it is.
  static constexpr char hex[] = "0123456789abcdef";
  const size_t mark = out.size();
  out += '"';
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') continue;
    if (c >= 0x80) {
      out.resize(mark);
      return false;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
  return true;
}

void append_json_string(std::string& out, std::string_view s) {
  // Anything with a byte above 0x7f (UTF-8 to validate, invalid sequences to replace) goes through nlohmann itself.
  if (!append_ascii_json_string(out, s)) out += dump_json(nlohmann::json(std::string(s)));
}

nlohmann::json balance_json(const std::string& member_id, const points::MemberState& state, points::Instant now,
                            const std::string& tz) {
  return balance_json(member_id, points::balance_at(state, now), tz);
}

namespace {
std::int64_t micros_of(points::Instant t) { return t.time_since_epoch().count(); }
points::Instant instant_of(std::int64_t us) { return points::Instant{std::chrono::microseconds{us}}; }
}  // namespace

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

// One member of an object being written as the tree's dump writes it: `key` is the text before the value
// (`,"name":`, or `{"name":` for the first).
void put_int(std::string& out, std::string_view key, std::int64_t v) {
  out += key;
  append_int(out, v);
}
void put_string(std::string& out, std::string_view key, std::string_view v) {
  out += key;
  append_json_string(out, v);
}
void put_time(std::string& out, std::string_view key, points::Instant t, const std::string& tz) {
  put_string(out, key, format_rfc3339(t, tz, TimePrecision::micros));
}
// A value as a request gave it (a string, mostly).
void put_value(std::string& out, std::string_view key, const nlohmann::json& v) {
  if (v.is_string()) {
    put_string(out, key, v.get_ref<const std::string&>());
  } else {
    out += key;
    out += dump_json(v);
  }
}

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
    append_json_string(out, format_rfc3339(b.expiring[i].expires_at, tz, TimePrecision::micros));
    out += ",\"points\":";
    append_int(out, b.expiring[i].points);
    out += '}';
  }
  out += "],\"held\":";
  append_int(out, b.held);
  out += ",\"member_id\":";
  append_json_string(out, member_id);
  out += ",\"pending\":";
  append_int(out, b.pending);
  out += '}';
  return out;
}

std::string earn_text(const EarnAnswer& a, const points::Balance& balance, const std::string& tz) {
  // The keys in the tree's order (sorted).
  std::string out;
  out.reserve(640 + 72 * balance.expiring.size());
  put_int(out, "{\"amount_irr\":", a.amount_irr);
  put_time(out, ",\"available_at\":", a.available_at, tz);
  out += ",\"balance\":" + balance_text(a.member_id, balance, tz);
  if (a.category) put_value(out, ",\"category\":", *a.category);
  put_time(out, ",\"created_at\":", a.created_at, tz);
  put_time(out, ",\"expires_at\":", a.expires_at, tz);
  put_string(out, ",\"id\":", a.id);
  put_string(out, ",\"member_id\":", a.member_id);
  if (a.occurred_at) put_value(out, ",\"occurred_at\":", *a.occurred_at);
  put_string(out, ",\"partner_id\":", a.partner_id);
  put_int(out, ",\"points\":", a.points);
  put_string(out, ",\"receipt_id\":", a.receipt_id);
  out += a.pending ? ",\"status\":\"pending\"" : ",\"status\":\"active\"";
  out += ",\"type\":\"earn\"}";
  return out;
}

std::string balance_view_text(const points::BalanceView& view, std::int64_t version) {
  // The keys in the tree's order (sorted), as balance_view_from_text reads them.
  std::string out;
  out.reserve(128 + 40 * view.balance.expiring.size());
  put_int(out, "{\"at\":", micros_of(view.at));
  put_int(out, ",\"available\":", view.balance.available);
  out += ",\"expiring\":[";
  for (size_t i = 0; i < view.balance.expiring.size(); ++i) {
    put_int(out, i > 0 ? ",[" : "[", view.balance.expiring[i].points);
    put_int(out, ",", micros_of(view.balance.expiring[i].expires_at));
    out += ']';
  }
  put_int(out, "],\"held\":", view.balance.held);
  put_int(out, ",\"pending\":", view.balance.pending);
  out += ",\"valid_until\":";
  if (view.valid_until)
    append_int(out, micros_of(*view.valid_until));
  else
    out += "null";
  put_int(out, ",\"version\":", version);
  out += '}';
  return out;
}

std::optional<points::BalanceView> balance_view_from_text(std::string_view text) {
  // {"at":…,"available":…,"expiring":[[p,t],…],"held":…,"pending":…,"valid_until":…|null,"version":…}
  TextReader t{text};
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

namespace {

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void append_bool(std::string& out, bool v) { out += v ? "true" : "false"; }

// The keys in nlohmann's order (an object is a std::map: sorted by key), so that the text is dump_json's.
void append_lot(std::string& out, const points::Lot& l) {
  out += "{\"amount_irr\":";
  append_int(out, l.amount_irr);
  out += ",\"available_at\":";
  append_int(out, micros_of(l.available_at));
  out += ",\"clawed_back\":";
  append_int(out, l.clawed_back);
  out += ",\"created_at\":";
  append_int(out, micros_of(l.created_at));
  out += ",\"earn_id\":";
  append_json_string(out, l.earn_id);
  out += ",\"expired\":";
  append_bool(out, l.expired);
  out += ",\"expires_at\":";
  append_int(out, micros_of(l.expires_at));
  out += ",\"fee_bps\":";
  append_int(out, l.fee_bps);
  out += ",\"id\":";
  append_json_string(out, l.id);
  out += ",\"issue_price_irr\":";
  append_int(out, l.issue_price_irr);
  out += ",\"issuer\":";
  append_json_string(out, l.issuer);
  out += ",\"pending\":";
  append_bool(out, l.pending);
  out += ",\"points\":";
  append_int(out, l.points);
  out += ",\"refunded_irr\":";
  append_int(out, l.refunded_irr);
  out += ",\"remaining\":";
  append_int(out, l.remaining);
  out += ",\"seq\":";
  append_uint(out, l.seq);
  out += '}';
}

void append_redemption(std::string& out, const points::Redemption& r) {
  out += "{\"allocations\":[";
  for (size_t i = 0; i < r.allocations.size(); ++i) {
    const auto& a = r.allocations[i];
    out += i > 0 ? ",{\"captured\":" : "{\"captured\":";
    append_int(out, a.captured);
    out += ",\"held\":";
    append_int(out, a.held);
    out += ",\"lot_id\":";
    append_json_string(out, a.lot_id);
    out += ",\"refunded\":";
    append_int(out, a.refunded);
    out += '}';
  }
  out += "],\"created_at\":";
  append_int(out, micros_of(r.created_at));
  out += ",\"expires_at\":";
  append_int(out, micros_of(r.expires_at));
  out += ",\"id\":";
  append_json_string(out, r.id);
  out += ",\"partner_id\":";
  append_json_string(out, r.partner_id);
  out += ",\"points\":";
  append_int(out, r.points);
  out += ",\"points_captured\":";
  append_int(out, r.points_captured);
  out += ",\"points_refunded\":";
  append_int(out, r.points_refunded);
  out += ",\"redeem_value_irr\":";
  append_int(out, r.redeem_value_irr);
  out += ",\"seq\":";
  append_uint(out, r.seq);
  out += ",\"status\":\"";
  out += points::to_string(r.status);
  out += "\"}";
}

// Reads a state's text as state_text writes it, left to right; any other text (spaces, another key order, an
// escaped or non-ASCII string, a number out of its field's range, an unknown status) is refused, for the tree.
struct StateText : TextReader {
  bool field(std::string_view key, std::int64_t& out) {
    if (!literal(key)) return false;
    auto v = integer();
    if (!v) return false;
    out = *v;
    return true;
  }
  bool field(std::string_view key, points::Instant& out) {
    std::int64_t us = 0;
    if (!field(key, us)) return false;
    out = instant_of(us);
    return true;
  }
  bool field(std::string_view key, std::uint64_t& out) {
    if (!literal(key)) return false;
    auto v = unsigned_integer();
    if (!v) return false;
    out = *v;
    return true;
  }
  bool field(std::string_view key, std::string& out) { return literal(key) && plain_string(out); }
  bool field(std::string_view key, bool& out) { return literal(key) && boolean(out); }

  bool lot(points::Lot& l) {
    return field("{\"amount_irr\":", l.amount_irr) && field(",\"available_at\":", l.available_at) &&
           field(",\"clawed_back\":", l.clawed_back) && field(",\"created_at\":", l.created_at) &&
           field(",\"earn_id\":", l.earn_id) && field(",\"expired\":", l.expired) &&
           field(",\"expires_at\":", l.expires_at) && field(",\"fee_bps\":", l.fee_bps) && field(",\"id\":", l.id) &&
           field(",\"issue_price_irr\":", l.issue_price_irr) && field(",\"issuer\":", l.issuer) &&
           field(",\"pending\":", l.pending) && field(",\"points\":", l.points) &&
           field(",\"refunded_irr\":", l.refunded_irr) && field(",\"remaining\":", l.remaining) &&
           field(",\"seq\":", l.seq) && literal("}");
  }
  bool allocation(points::Allocation& a) {
    return field("{\"captured\":", a.captured) && field(",\"held\":", a.held) && field(",\"lot_id\":", a.lot_id) &&
           field(",\"refunded\":", a.refunded) && literal("}");
  }
  bool status(points::RedemptionStatus& out) {
    using S = points::RedemptionStatus;
    std::string name;
    if (!plain_string(name)) return false;
    for (auto s : {S::authorized, S::captured, S::voided, S::expired, S::refunded, S::partially_refunded})
      if (points::to_string(s) == name) return out = s, true;
    return false;
  }
  bool redemption(points::Redemption& r) {
    if (!literal("{\"allocations\":[")) return false;
    if (!literal("]")) {
      do {
        if (!allocation(r.allocations.emplace_back())) return false;
      } while (literal(","));
      if (!literal("]")) return false;
    }
    return field(",\"created_at\":", r.created_at) && field(",\"expires_at\":", r.expires_at) &&
           field(",\"id\":", r.id) && field(",\"partner_id\":", r.partner_id) && field(",\"points\":", r.points) &&
           field(",\"points_captured\":", r.points_captured) && field(",\"points_refunded\":", r.points_refunded) &&
           field(",\"redeem_value_irr\":", r.redeem_value_irr) && field(",\"seq\":", r.seq) &&
           literal(",\"status\":") && status(r.status) && literal("}");
  }
};

}  // namespace

std::string lot_text(const points::Lot& lot) {
  std::string out;
  out.reserve(400);
  append_lot(out, lot);
  return out;
}

std::string redemption_text(const points::Redemption& redemption) {
  std::string out;
  out.reserve(300 + 100 * redemption.allocations.size());
  append_redemption(out, redemption);
  return out;
}

std::string state_text(const WalletState& s) { return state_text(s, {}); }

std::string state_text(const WalletState& s, const std::vector<char>& cold) {
  const auto& p = s.points;
  std::string out;
  out.reserve(96 + 400 * p.lots.size() + 400 * p.redemptions.size() + 80 * s.redemption_receipts.size());
  out += "{\"points\":{\"as_of\":";
  append_int(out, micros_of(p.as_of));
  out += ",\"debt\":";
  append_int(out, p.debt);
  out += ",\"lots\":[";
  bool first_lot = true;
  for (size_t i = 0; i < p.lots.size(); ++i) {
    if (i < cold.size() && cold[i]) continue;
    if (!first_lot) out += ',';
    first_lot = false;
    append_lot(out, p.lots[i]);
  }
  out += "],\"next_seq\":";
  append_uint(out, p.next_seq);
  out += ",\"redemptions\":[";
  for (size_t i = 0; i < p.redemptions.size(); ++i) {
    if (i > 0) out += ',';
    append_redemption(out, p.redemptions[i]);
  }
  out += "]},\"receipts\":{";
  bool first = true;
  for (const auto& [id, receipt] : s.redemption_receipts) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, id);
    out += ':';
    append_json_string(out, receipt);
  }
  out += "}}";
  return out;
}

std::optional<WalletState> state_from_text(std::string_view text) {
  StateText t{text};
  WalletState s;
  auto& p = s.points;
  if (!t.field("{\"points\":{\"as_of\":", p.as_of) || !t.field(",\"debt\":", p.debt) || !t.literal(",\"lots\":["))
    return std::nullopt;
  if (!t.literal("]")) {
    do {
      if (!t.lot(p.lots.emplace_back())) return std::nullopt;
    } while (t.literal(","));
    if (!t.literal("]")) return std::nullopt;
  }
  if (!t.field(",\"next_seq\":", p.next_seq) || !t.literal(",\"redemptions\":[")) return std::nullopt;
  if (!t.literal("]")) {
    do {
      if (!t.redemption(p.redemptions.emplace_back())) return std::nullopt;
    } while (t.literal(","));
    if (!t.literal("]")) return std::nullopt;
  }
  if (!t.literal("},\"receipts\":{")) return std::nullopt;
  if (!t.literal("}")) {
    do {
      std::string id, receipt;
      if (!t.plain_string(id) || !t.literal(":") || !t.plain_string(receipt)) return std::nullopt;
      s.redemption_receipts[std::move(id)] = std::move(receipt);  // as the tree reads a repeated key: the last
    } while (t.literal(","));
    if (!t.literal("}")) return std::nullopt;
  }
  if (!t.literal("}") || !t.rest.empty()) return std::nullopt;
  return s;
}

std::optional<WalletState> cached_state_from_text(std::string_view text) {
  // No string in a state's text holds a quote, so the last `,"version":` is the wrapper's.
  constexpr std::string_view head = "{\"state\":", key = ",\"version\":";
  const auto at = text.rfind(key);
  if (text.substr(0, head.size()) != head || at == std::string_view::npos || at < head.size()) return std::nullopt;
  TextReader tail{text.substr(at + key.size())};
  auto version = tail.integer();
  if (!version || !tail.literal("}") || !tail.rest.empty()) return std::nullopt;
  auto s = state_from_text(text.substr(head.size(), at - head.size()));
  if (s) s->version = *version;
  return s;
}

namespace {

WalletState read_json_state(const std::string& text) {
  if (auto s = state_from_text(text)) return std::move(*s);
  return state_from_json(nlohmann::json::parse(text));
}

}  // namespace

WalletState read_state_text(const std::string& text) {
  // Inflated once: a deflated value inside is not JSON and is refused (no recursion a damaged row could deepen).
  if (is_deflated(text)) return read_json_state(decode_stored_text(text));
  return read_json_state(text);
}

std::string cold_lots_text(const points::MemberState& state, const std::vector<char>& cold) {
  std::string out = "[";
  out.reserve(2 + 400 * state.lots.size());
  for (size_t i = 0; i < state.lots.size() && i < cold.size(); ++i) {
    if (!cold[i]) continue;
    if (out.size() > 1) out += ',';
    append_lot(out, state.lots[i]);
  }
  out += ']';
  return out;
}

namespace {

// The lots of a cold_lots text, by seq, in a vector with room for `spare` more; throws on what is not an array of
// lots.
std::vector<points::Lot> read_cold_lots(const std::string& text, std::size_t spare) {
  std::vector<points::Lot> lots;
  lots.reserve(text.size() / 320 + spare + 1);  // a lot's text is ~370 bytes: no growth for what is read
  StateText t{text};
  bool ok = t.literal("[");
  if (ok && !t.literal("]")) {
    do {
      ok = t.lot(lots.emplace_back());
    } while (ok && t.literal(","));
    ok = ok && t.literal("]");
  }
  if (!ok || !t.rest.empty()) lots = nlohmann::json::parse(text).get<std::vector<points::Lot>>();
  auto by_seq = [](const points::Lot& a, const points::Lot& b) { return a.seq < b.seq; };
  if (!std::is_sorted(lots.begin(), lots.end(), by_seq)) std::stable_sort(lots.begin(), lots.end(), by_seq);
  return lots;
}

}  // namespace

WalletState read_stored_state(const std::string& state, const std::optional<std::string>& cold_lots,
                              std::vector<StoredLot>* cold_out) {
  auto s = read_state_text(state);
  if (cold_out) cold_out->clear();
  if (cold_lots) merge_cold_lots(s, *cold_lots, cold_out);
  return s;
}

void merge_cold_lots(WalletState& s, const std::string& cold_lots, std::vector<StoredLot>* cold_out) {
  if (cold_out) cold_out->clear();
  auto& hot = s.points.lots;
  auto lots = read_cold_lots(cold_lots, hot.size());
  if (cold_out) {
    cold_out->reserve(lots.size());
    for (const auto& lot : lots) cold_out->push_back(stored_lot(lot));
  }
  // Both by seq (creation order, the order the state keeps): merged, the state as it was before the split. The
  // few lots of the state go after the many cold ones and are merged in place, moving each lot once.
  const auto cold_end = static_cast<std::ptrdiff_t>(lots.size());
  lots.insert(lots.end(), std::make_move_iterator(hot.begin()), std::make_move_iterator(hot.end()));
  std::inplace_merge(lots.begin(), lots.begin() + cold_end, lots.end(),
                     [](const points::Lot& a, const points::Lot& b) { return a.seq < b.seq; });
  // A lot in both would count its points twice: refused, as a text that is not a state is.
  if (std::adjacent_find(lots.begin(), lots.end(), [](const points::Lot& a, const points::Lot& b) {
        return a.seq == b.seq;
      }) != lots.end())
    throw std::runtime_error("member state: a lot is both in the state and in its cold lots");
  hot = std::move(lots);
}

StoredTexts stored_texts(const WalletState& s, const std::vector<StoredLot>& read_cold) {
  StoredTexts out;
  const auto& lots = s.points.lots;
  if (auto it = std::find_if(lots.begin(), lots.end(), is_cold_stand_in); it != lots.end()) {
    // The cold lots were left unread (cold_lots_may_stay_unread): they stay as stored, and the state is written
    // without their stand-in.
    std::vector<char> cold(lots.size(), 0);
    cold[static_cast<std::size_t>(it - lots.begin())] = 1;
    out.state = state_text(s, cold);
    out.apart = true;
    return out;
  }
  const auto plan = plan_cold_lots(s.points, read_cold);
  out.state = state_text(s, plan.cold);
  out.write_cold = plan.write;
  out.apart = plan.any();
  if (plan.write && out.apart) {
    out.cold_lots = cold_lots_text(s.points, plan.cold);
    out.cold_summary = cold_summary(s.points, plan.cold);
  }
  return out;
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

std::string redemption_answer_text(const std::string& member_id, const WalletState& state,
                                   const points::Redemption& r, points::Instant now, const std::string& tz) {
  // The keys in the tree's order (sorted).
  auto receipt = state.redemption_receipts.find(r.id);
  std::string out;
  out.reserve(720 + 72 * points::kExpiringMax);
  out += "{\"balance\":" + balance_text(member_id, points::balance_at(state.points, now), tz);
  put_time(out, ",\"created_at\":", r.created_at, tz);
  put_time(out, ",\"expires_at\":", r.expires_at, tz);
  put_string(out, ",\"id\":", r.id);
  put_string(out, ",\"member_id\":", member_id);
  put_string(out, ",\"partner_id\":", r.partner_id);
  put_int(out, ",\"points\":", r.points);
  put_int(out, ",\"points_captured\":", r.points_captured);
  put_int(out, ",\"points_held\":", points::held_points(r));
  put_int(out, ",\"points_refunded\":", r.points_refunded);
  const bool has_receipt = receipt != state.redemption_receipts.end();
  put_string(out, ",\"receipt_id\":", has_receipt ? std::string_view(receipt->second) : std::string_view());
  put_int(out, ",\"redeem_value_irr\":", r.redeem_value_irr);
  put_string(out, ",\"status\":", redemption_status_name(r.status));
  put_int(out, ",\"value_irr\":", r.points * r.redeem_value_irr);
  out += '}';
  return out;
}

std::string purchase_refund_text(const PurchaseRefundAnswer& a, const std::string& member_id,
                                 const points::Balance& balance, const std::string& tz) {
  // The keys in the tree's order (sorted).
  std::string out;
  out.reserve(512 + 72 * balance.expiring.size());
  put_int(out, "{\"amount_irr\":", a.amount_irr);
  out += ",\"balance\":" + balance_text(member_id, balance, tz);
  put_time(out, ",\"created_at\":", a.created_at, tz);
  put_string(out, ",\"earn_id\":", a.earn_id);
  put_string(out, ",\"id\":", a.id);
  put_int(out, ",\"points_clawed_back\":", a.points_clawed_back);
  out += ",\"type\":\"purchase_refund\"}";
  return out;
}

}  // namespace emtiaz::wallet
