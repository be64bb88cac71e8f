#include "clearing/settlement.hpp"

#include <charconv>
#include <limits>
#include <map>
#include <utility>

namespace emtiaz::clearing {
namespace {

__extension__ typedef __int128 i128;

i128 div_half_away(i128 n, i128 d) {
  // d > 0. |n| / d rounded half up, with n's sign. Truncation first, so that no magnitude is negated.
  i128 q = n / d;
  i128 r = n % d;  // n's sign, |r| < d
  if (r < 0 ? -2 * r >= d : 2 * r >= d) q += n < 0 ? -1 : 1;
  return q;
}

// A figure as the settlement states it (int64). A period whose sums do not fit is refused whole
// (FiguresOutOfRange), never stated clamped: a settlement says to the rial who owes whom, or nothing.
std::int64_t to64(i128 v, const char* figure) {
  constexpr auto hi = std::numeric_limits<std::int64_t>::max();
  constexpr auto lo = std::numeric_limits<std::int64_t>::min();
  if (v > static_cast<i128>(hi) || v < static_cast<i128>(lo)) throw FiguresOutOfRange(figure);
  return static_cast<std::int64_t>(v);
}

// a + b, a - b and a x b, refused past 128 bits (points x price x fee of events near int64 each).
i128 add(i128 a, i128 b) {
  i128 r;
  if (__builtin_add_overflow(a, b, &r)) throw FiguresOutOfRange("a sum");
  return r;
}
i128 sub(i128 a, i128 b) {
  i128 r;
  if (__builtin_sub_overflow(a, b, &r)) throw FiguresOutOfRange("a difference");
  return r;
}
i128 mul(i128 a, i128 b) {
  i128 r;
  if (__builtin_mul_overflow(a, b, &r)) throw FiguresOutOfRange("a product");
  return r;
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
  return to64(div_half_away(numerator, denominator), "a quotient");
}

Figures compute(const std::vector<PartnerInfo>& partners, const std::vector<LedgerEvent>& events) {
  std::map<std::string, Acc> acc;  // by partner id (and "operator")
  std::map<std::pair<std::string, std::string>, i128> matrix;
  i128 t_issued = 0, t_clawed = 0, t_adjusted = 0, t_redeemed = 0, t_refunded = 0, t_expired = 0;

  for (const auto& e : events) {
    const i128 p = e.points;
    if (e.type == "earn") {
      auto& a = acc[e.issuer];
      a.issued = add(a.issued, p);
      a.issued_irr = add(a.issued_irr, mul(p, e.issue_price_irr));
      a.fee_num = add(a.fee_num, mul(mul(p, e.issue_price_irr), e.fee_bps));
      t_issued = add(t_issued, p);
    } else if (e.type == "adjustment") {
      auto& a = acc[e.issuer];  // the operator's lot: counted in the totals only
      a.issued = add(a.issued, p);
      t_issued = add(t_issued, p);
      t_adjusted = add(t_adjusted, p);
    } else if (is_clawed_back(e.type)) {
      auto& a = acc[e.issuer];
      a.clawed = add(a.clawed, p);
      a.issued_irr = sub(a.issued_irr, mul(p, e.issue_price_irr));
      a.fee_num = sub(a.fee_num, mul(mul(p, e.issue_price_irr), e.fee_bps));
      t_clawed = add(t_clawed, p);
      if (e.type == "adjustment_debit") t_adjusted = sub(t_adjusted, p);
    } else if (e.type == "debt") {
      // Counts for nobody; the part of a negative adjustment that no lot could cover is still adjusted.
      if (e.earn_id.empty() && e.partner_id.empty()) t_adjusted = sub(t_adjusted, p);
    } else if (e.type == "capture") {
      auto& a = acc[e.partner_id];
      a.redeemed = add(a.redeemed, p);
      a.redeemed_irr = add(a.redeemed_irr, mul(p, e.redeem_value_irr));
      auto& cell = matrix[{e.issuer, e.partner_id}];
      cell = add(cell, p);
      t_redeemed = add(t_redeemed, p);
    } else if (e.type == "redemption_refund") {
      auto& a = acc[e.partner_id];
      a.refunded = add(a.refunded, p);
      a.redeemed_irr = sub(a.redeemed_irr, mul(p, e.redeem_value_irr));
      auto& cell = matrix[{e.issuer, e.partner_id}];
      cell = sub(cell, p);
      t_refunded = add(t_refunded, p);
    } else if (e.type == "lot_expiry") {
      auto& a = acc[e.issuer];
      a.expired = add(a.expired, p);
      t_expired = add(t_expired, p);
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
      r.points_issued = to64(a.issued, "points_issued");
      r.points_clawed_back = to64(a.clawed, "points_clawed_back");
      r.points_redeemed = to64(a.redeemed, "points_redeemed");
      r.points_redemption_refunded = to64(a.refunded, "points_redemption_refunded");
      r.points_expired = to64(a.expired, "points_expired");
      i128 fee = div_half_away(a.fee_num, 10000);
      r.issued_irr = to64(a.issued_irr, "issued_irr");
      r.fee_irr = to64(fee, "fee_irr");
      r.redeemed_irr = to64(a.redeemed_irr, "redeemed_irr");
      r.net_irr = to64(sub(a.redeemed_irr, add(a.issued_irr, fee)), "net_irr");
      s_issued_irr = add(s_issued_irr, a.issued_irr);
      s_fee = add(s_fee, fee);
      s_redeemed_irr = add(s_redeemed_irr, a.redeemed_irr);
    }
    f.partners.push_back(std::move(r));
  }
  for (const auto& [k, v] : matrix)
    if (v != 0) f.matrix.push_back({k.first, k.second, to64(v, "matrix points")});

  auto& t = f.totals;
  t.points_issued = to64(t_issued, "points_issued");
  t.points_clawed_back = to64(t_clawed, "points_clawed_back");
  t.points_adjusted = to64(t_adjusted, "points_adjusted");
  t.points_redeemed = to64(t_redeemed, "points_redeemed");
  t.points_redemption_refunded = to64(t_refunded, "points_redemption_refunded");
  t.points_expired = to64(t_expired, "points_expired");
  t.issued_irr = to64(s_issued_irr, "issued_irr");
  t.fee_irr = to64(s_fee, "fee_irr");
  t.redeemed_irr = to64(s_redeemed_irr, "redeemed_irr");
  const i128 operator_net = sub(add(s_issued_irr, s_fee), s_redeemed_irr);
  t.operator_net_irr = to64(operator_net, "operator_net_irr");
  // The CSV's totals row states the partners' net_irr summed, which is −operator_net: it must fit as well (it does
  // not only when operator_net is int64's least value).
  to64(sub(0, operator_net), "net_irr");
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
  i128 net = 0;  // compute() checked that the sum fits; summed in 128 bits so that no partial sum overflows
  for (const auto& r : f.partners) {
    row(r.partner_id, r.name,
        {r.points_issued, r.points_clawed_back, r.points_redeemed, r.points_redemption_refunded, r.points_expired,
         r.issued_irr, r.fee_irr, r.redeemed_irr, r.net_irr});
    net += r.net_irr;
  }
  const auto& t = f.totals;
  row("totals", "",
      {t.points_issued, t.points_clawed_back, t.points_redeemed, t.points_redemption_refunded, t.points_expired,
       t.issued_irr, t.fee_irr, t.redeemed_irr, to64(net, "net_irr")});
  return out;
}

}  // namespace emtiaz::clearing
