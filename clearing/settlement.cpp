#include "clearing/settlement.hpp"

#include <charconv>
#include <limits>
#include <map>
#include <utility>

namespace emtiaz::clearing {
namespace {

__extension__ typedef __int128 i128;

i128 div_half_away(i128 n, i128 d) {
  // d > 0. |n| / d rounded half up, with n's sign.
  bool neg = n < 0;
  i128 a = neg ? -n : n;
  i128 q = a / d;
  i128 r = a % d;
  if (2 * r >= d) ++q;
  return neg ? -q : q;
}

std::int64_t clamp64(i128 v) {
  constexpr auto hi = std::numeric_limits<std::int64_t>::max();
  constexpr auto lo = std::numeric_limits<std::int64_t>::min();
  if (v > static_cast<i128>(hi)) return hi;
  if (v < static_cast<i128>(lo)) return lo;
  return static_cast<std::int64_t>(v);
}

bool is_clawed_back(std::string_view type) {
  return type == "clawback" || type == "adjustment_debit" || type == "debt_repayment";
}

struct Acc {
  i128 issued = 0, clawed = 0, redeemed = 0, refunded = 0, expired = 0;
  i128 issued_irr = 0;     // sum of (issued - clawed) x price
  i128 fee_num = 0;        // sum of (issued - clawed) x price x fee_bps  (divide by 10000 once)
  i128 redeemed_irr = 0;   // sum of (captured - refunded) x redeem value
};

}  // namespace

std::int64_t div_round_half_away(std::int64_t numerator, std::int64_t denominator) {
  return clamp64(div_half_away(numerator, denominator));
}

Figures compute(const std::vector<PartnerInfo>& partners, const std::vector<LedgerEvent>& events) {
  std::map<std::string, Acc> acc;  // by partner id (and "operator")
  std::map<std::pair<std::string, std::string>, i128> matrix;
  i128 t_issued = 0, t_clawed = 0, t_adjusted = 0, t_redeemed = 0, t_refunded = 0, t_expired = 0;

  for (const auto& e : events) {
    const i128 p = e.points;
    if (e.type == "earn") {
      auto& a = acc[e.issuer];
      a.issued += p;
      a.issued_irr += p * e.issue_price_irr;
      a.fee_num += p * e.issue_price_irr * e.fee_bps;
      t_issued += p;
    } else if (e.type == "adjustment") {
      acc[e.issuer].issued += p;  // the operator's lot: counted in the totals only
      t_issued += p;
      t_adjusted += p;
    } else if (is_clawed_back(e.type)) {
      auto& a = acc[e.issuer];
      a.clawed += p;
      a.issued_irr -= p * e.issue_price_irr;
      a.fee_num -= p * e.issue_price_irr * e.fee_bps;
      t_clawed += p;
      if (e.type == "adjustment_debit") t_adjusted -= p;
    } else if (e.type == "debt") {
      // Counts for nobody; the part of a negative adjustment that no lot could cover is still adjusted.
      if (e.earn_id.empty() && e.partner_id.empty()) t_adjusted -= p;
    } else if (e.type == "capture") {
      auto& a = acc[e.partner_id];
      a.redeemed += p;
      a.redeemed_irr += p * e.redeem_value_irr;
      matrix[{e.issuer, e.partner_id}] += p;
      t_redeemed += p;
    } else if (e.type == "redemption_refund") {
      auto& a = acc[e.partner_id];
      a.refunded += p;
      a.redeemed_irr -= p * e.redeem_value_irr;
      matrix[{e.issuer, e.partner_id}] -= p;
      t_refunded += p;
    } else if (e.type == "lot_expiry") {
      acc[e.issuer].expired += p;
      t_expired += p;
    }
    // hold, release, hold_expiry move points between a lot and a hold: nothing to settle.
  }

  Figures f;
  i128 s_issued_irr = 0, s_fee = 0, s_redeemed_irr = 0;
  for (const auto& pi : partners) {
    PartnerRow r;
    r.partner_id = pi.id;
    r.name = pi.name;
    auto it = acc.find(pi.id);
    if (it != acc.end()) {
      const auto& a = it->second;
      r.points_issued = clamp64(a.issued);
      r.points_clawed_back = clamp64(a.clawed);
      r.points_redeemed = clamp64(a.redeemed);
      r.points_redemption_refunded = clamp64(a.refunded);
      r.points_expired = clamp64(a.expired);
      i128 fee = div_half_away(a.fee_num, 10000);
      r.issued_irr = clamp64(a.issued_irr);
      r.fee_irr = clamp64(fee);
      r.redeemed_irr = clamp64(a.redeemed_irr);
      r.net_irr = clamp64(a.redeemed_irr - a.issued_irr - fee);
      s_issued_irr += a.issued_irr;
      s_fee += fee;
      s_redeemed_irr += a.redeemed_irr;
    }
    f.partners.push_back(std::move(r));
  }
  for (const auto& [k, v] : matrix)
    if (v != 0) f.matrix.push_back({k.first, k.second, clamp64(v)});

  auto& t = f.totals;
  t.points_issued = clamp64(t_issued);
  t.points_clawed_back = clamp64(t_clawed);
  t.points_adjusted = clamp64(t_adjusted);
  t.points_redeemed = clamp64(t_redeemed);
  t.points_redemption_refunded = clamp64(t_refunded);
  t.points_expired = clamp64(t_expired);
  t.issued_irr = clamp64(s_issued_irr);
  t.fee_irr = clamp64(s_fee);
  t.redeemed_irr = clamp64(s_redeemed_irr);
  t.operator_net_irr = clamp64(s_issued_irr + s_fee - s_redeemed_irr);
  return f;
}

void EventSummer::add(std::string_view type, std::string_view issuer, std::string_view partner_id,
                      std::int64_t issue_price_irr, std::int64_t fee_bps, std::int64_t redeem_value_irr,
                      std::int64_t points, bool has_earn_id) {
  const bool priced = type == "earn" || is_clawed_back(type);
  const bool redeemed = type == "capture" || type == "redemption_refund";
  const bool debt = type == "debt";
  if (!priced && !redeemed && !debt && type != "adjustment" && type != "lot_expiry") return;
  ++added_;
  // What compute() reads of each type; everything else is left out of the key (and zeroed).
  if (debt) issuer = {};
  if (!redeemed && !(debt && !partner_id.empty())) partner_id = {};
  if (!priced) issue_price_irr = fee_bps = 0;
  if (!redeemed) redeem_value_irr = 0;
  const bool earn_flag = debt && has_earn_id;
  scratch_.clear();
  for (auto part : {type, issuer, partner_id}) {
    scratch_ += part;
    scratch_ += '\n';
  }
  for (auto n : {issue_price_irr, fee_bps, redeem_value_irr}) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    (void)ec;
    scratch_.append(buf, end);
    scratch_ += '\n';
  }
  scratch_ += earn_flag ? '1' : '0';
  auto it = index_.find(scratch_);
  if (it == index_.end()) {
    LedgerEvent key;
    key.type = std::string(type);
    key.issuer = std::string(issuer);
    key.partner_id = std::string(partner_id);
    key.issue_price_irr = issue_price_irr;
    key.fee_bps = fee_bps;
    key.redeem_value_irr = redeem_value_irr;
    if (earn_flag) key.earn_id = "x";
    it = index_.emplace(scratch_, sums_.size()).first;
    sums_.push_back(std::move(key));
  }
  auto& sum = sums_[it->second];
  if (sum.points > std::numeric_limits<std::int64_t>::max() - points) {
    full_.push_back(sum);
    sum.points = 0;
  }
  sum.points += points;
}

std::vector<LedgerEvent> EventSummer::events() const {
  std::vector<LedgerEvent> out = full_;
  for (const auto& s : sums_)
    if (s.points != 0) out.push_back(s);
  return out;
}

nlohmann::json to_json(const Header& h, const std::string& checksum, const Figures& f) {
  nlohmann::json partners = nlohmann::json::array();
  for (const auto& r : f.partners)
    partners.push_back({{"partner_id", r.partner_id},
                        {"name", r.name},
                        {"points_issued", r.points_issued},
                        {"points_clawed_back", r.points_clawed_back},
                        {"points_redeemed", r.points_redeemed},
                        {"points_redemption_refunded", r.points_redemption_refunded},
                        {"points_expired", r.points_expired},
                        {"issued_irr", r.issued_irr},
                        {"fee_irr", r.fee_irr},
                        {"redeemed_irr", r.redeemed_irr},
                        {"net_irr", r.net_irr}});
  nlohmann::json matrix = nlohmann::json::array();
  for (const auto& m : f.matrix)
    matrix.push_back({{"issuer_partner_id", m.issuer_partner_id},
                      {"redeemer_partner_id", m.redeemer_partner_id},
                      {"points", m.points}});
  const auto& t = f.totals;
  nlohmann::json totals = {{"points_issued", t.points_issued},
                           {"points_clawed_back", t.points_clawed_back},
                           {"points_adjusted", t.points_adjusted},
                           {"points_redeemed", t.points_redeemed},
                           {"points_redemption_refunded", t.points_redemption_refunded},
                           {"points_expired", t.points_expired},
                           {"issued_irr", t.issued_irr},
                           {"fee_irr", t.fee_irr},
                           {"redeemed_irr", t.redeemed_irr},
                           {"operator_net_irr", t.operator_net_irr}};
  return {{"id", h.id},           {"tenant_id", h.tenant_id}, {"from", h.from},
          {"to", h.to},           {"closed_at", h.closed_at}, {"checksum", checksum},
          {"partners", partners}, {"matrix", matrix},         {"totals", totals}};
}

std::string csv_field(std::string_view v) {
  bool quote = v.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string render_csv(const Figures& f) {
  std::string out = "\xEF\xBB\xBF";
  out += "partner_id,name,points_issued,points_clawed_back,points_redeemed,points_redemption_refunded,"
         "points_expired,issued_irr,fee_irr,redeemed_irr,net_irr\r\n";
  auto row = [&](std::string_view id, std::string_view name, std::initializer_list<std::int64_t> nums) {
    out += csv_field(id);
    out += ',';
    out += csv_field(name);
    for (auto n : nums) {
      out += ',';
      out += std::to_string(n);
    }
    out += "\r\n";
  };
  std::int64_t net = 0;
  for (const auto& r : f.partners) {
    row(r.partner_id, r.name,
        {r.points_issued, r.points_clawed_back, r.points_redeemed, r.points_redemption_refunded, r.points_expired,
         r.issued_irr, r.fee_irr, r.redeemed_irr, r.net_irr});
    net += r.net_irr;
  }
  const auto& t = f.totals;
  row("totals", "",
      {t.points_issued, t.points_clawed_back, t.points_redeemed, t.points_redemption_refunded, t.points_expired,
       t.issued_irr, t.fee_irr, t.redeemed_irr, net});
  return out;
}

}  // namespace emtiaz::clearing
