// Settlements through HTTP against the suite's network (api.md, "POST /v1/settlements" and "Settlement
// (normative)"): earns at two partners and a cross-partner redemption with a partial capture are settled, and
// every figure is compared with the test's own model built from what it sent and was answered — never from
// the service's tables. Also: period_not_ended, period_overlaps, period_gap, the CSV and its checksum, tenancy.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <thread>

#include "common/crypto.hpp"
#include "common/time.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string unique_suffix() {
  static int n = 0;
  return std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-" + std::to_string(++n);
}

std::string rfc3339(Instant t) { return format_rfc3339(t, "UTC", TimePrecision::micros); }

// Half away from zero, the model's own (doubles are exact enough for these small figures).
std::int64_t round_half_away(std::int64_t num, std::int64_t den) {
  return static_cast<std::int64_t>(std::llround(static_cast<long double>(num) / static_cast<long double>(den)));
}

struct ModelPartner {
  std::string id, name;
  std::int64_t issue_price = 0, redeem_value = 0, fee_bps = 0;
  std::int64_t issued = 0, redeemed = 0;
  std::int64_t issued_irr() const { return issued * issue_price; }
  std::int64_t fee_irr() const { return round_half_away(issued * issue_price * fee_bps, 10000); }
  std::int64_t redeemed_irr() const { return redeemed * redeem_value; }
  std::int64_t net_irr() const { return redeemed_irr() - issued_irr() - fee_irr(); }
};

class Settlements : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& env = suite_env();
    http_ = std::make_unique<HttpClient>(env.url(), 45s);
    admin_ = env.admin_token();
  }
  HttpClient& http() { return *http_; }
  Headers as(const std::string& token, Headers extra = {}) {
    extra.push_back(bearer(token));
    return extra;
  }
  Headers moving(const std::string& token) { return as(token, {{"Idempotency-Key", "k-" + unique_suffix()}}); }

  std::string new_tenant() {
    auto r = http().post("/v1/tenants", {{"name", "Settle " + unique_suffix()}, {"hold_ttl", "PT10M"}}, as(admin_));
    EXPECT_EQ(r.status, 201) << r.describe();
    return r.json().value("operator_token", "");
  }
  ModelPartner new_partner(const std::string& op, const std::string& name, std::int64_t price, std::int64_t value,
                           std::int64_t fee_bps, std::int64_t per_10k, std::string* key) {
    auto r = http().post("/v1/partners",
                         {{"name", name}, {"category", "shop"}, {"issue_price_irr", price}, {"redeem_value_irr", value},
                          {"fee_bps", fee_bps}, {"earn", {{"points_per_10k_irr", per_10k}}}},
                         as(op));
    EXPECT_EQ(r.status, 201) << r.describe();
    *key = r.json().value("api_key", "");
    ModelPartner p;
    p.id = r.json().value("id", "");
    p.name = name;
    p.issue_price = price;
    p.redeem_value = value;
    p.fee_bps = fee_bps;
    return p;
  }
  HttpResponse close(const std::string& op, const json& body) { return http().post("/v1/settlements", body, as(op)); }

  std::unique_ptr<HttpClient> http_;
  std::string admin_;
};

TEST_F(Settlements, ClosesAWindowWithACrossPartnerRedemption) {
  const auto start = now_utc() - 1s;
  auto op = new_tenant();
  std::string cafe_key, taxi_key;
  auto cafe = new_partner(op, "کافه نمونه", 200, 150, 125, 4, &cafe_key);
  auto taxi = new_partner(op, "Taxi, \"Fast\"", 300, 120, 50, 10, &taxi_key);
  std::string phone = "0912" + std::to_string(1000000 + (std::chrono::system_clock::now().time_since_epoch().count() / 1000) % 8999999);
  auto m = http().post("/v1/members", {{"phone", phone}}, as(cafe_key));
  ASSERT_TRUE(m.status == 201 || m.status == 200) << m.describe();
  const std::string member = m.json().value("id", "");

  // Earns: the cafe's lot first (earliest expiry), then the taxi's.
  auto e1 = http().post("/v1/earn", {{"member", member}, {"amount_irr", 250000}, {"receipt_id", "c-1"}}, moving(cafe_key));
  ASSERT_EQ(e1.status, 201) << e1.describe();
  cafe.issued += e1.json()["points"].get<std::int64_t>();
  std::this_thread::sleep_for(5ms);
  auto e2 = http().post("/v1/earn", {{"member", member}, {"amount_irr", 123450}, {"receipt_id", "t-1"}}, moving(taxi_key));
  ASSERT_EQ(e2.status, 201) << e2.describe();
  taxi.issued += e2.json()["points"].get<std::int64_t>();
  ASSERT_EQ(cafe.issued, 100);
  ASSERT_EQ(taxi.issued, 123);

  // The taxi holds 150 points (the cafe's 100, then 50 of its own) and captures 120: the earliest-expiring
  // held points, so 100 of the cafe's and 20 of the taxi's; 30 go back.
  const std::int64_t held = 150, captured = 120;
  auto r = http().post("/v1/redemptions", {{"member", member}, {"points", held}, {"receipt_id", "ride-1"}}, moving(taxi_key));
  ASSERT_EQ(r.status, 201) << r.describe();
  ASSERT_EQ(r.json()["status"], "authorized");
  auto c = http().post("/v1/redemptions/" + r.json()["id"].get<std::string>() + "/capture", {{"points", captured}},
                       moving(taxi_key));
  ASSERT_EQ(c.status, 200) << c.describe();
  ASSERT_EQ(c.json()["status"], "captured");
  taxi.redeemed += captured;
  const std::map<std::pair<std::string, std::string>, std::int64_t> matrix = {
      {{cafe.id, taxi.id}, std::min(captured, cafe.issued)}, {{taxi.id, taxi.id}, captured - std::min(captured, cafe.issued)}};

  std::this_thread::sleep_for(1100ms);
  const auto to = std::chrono::floor<std::chrono::seconds>(now_utc());
  auto s = close(op, {{"from", rfc3339(start)}, {"to", rfc3339(to)}});
  ASSERT_EQ(s.status, 201) << s.describe();
  auto st = s.json();
  EXPECT_EQ(parse_rfc3339(st["from"].get<std::string>()), start);
  EXPECT_EQ(parse_rfc3339(st["to"].get<std::string>()), to);

  // Partner rows, in full.
  ASSERT_EQ(st["partners"].size(), 2u) << st.dump();
  std::map<std::string, json> rows;
  for (auto& p : st["partners"]) rows[p["partner_id"]] = p;
  for (const auto* p : {&cafe, &taxi}) {
    SCOPED_TRACE(p->name);
    const auto& row = rows[p->id];
    EXPECT_EQ(row["name"], p->name);
    EXPECT_EQ(row["points_issued"], p->issued);
    EXPECT_EQ(row["points_clawed_back"], 0);
    EXPECT_EQ(row["points_redeemed"], p->redeemed);
    EXPECT_EQ(row["points_redemption_refunded"], 0);
    EXPECT_EQ(row["points_expired"], 0);
    EXPECT_EQ(row["issued_irr"], p->issued_irr());
    EXPECT_EQ(row["fee_irr"], p->fee_irr());
    EXPECT_EQ(row["redeemed_irr"], p->redeemed_irr());
    EXPECT_EQ(row["net_irr"], p->net_irr());
  }
  // The taxi's fee is 36,900 x 50 / 10,000 = 184.5: rounded half away from zero.
  EXPECT_EQ(taxi.fee_irr(), 185);

  std::map<std::pair<std::string, std::string>, std::int64_t> got;
  for (auto& x : st["matrix"]) got[{x["issuer_partner_id"], x["redeemer_partner_id"]}] = x["points"].get<std::int64_t>();
  EXPECT_EQ(got, matrix) << st["matrix"].dump();

  const auto& t = st["totals"];
  EXPECT_EQ(t["points_issued"], cafe.issued + taxi.issued);
  EXPECT_EQ(t["points_redeemed"], captured);
  EXPECT_EQ(t["points_adjusted"], 0);
  EXPECT_EQ(t["issued_irr"], cafe.issued_irr() + taxi.issued_irr());
  EXPECT_EQ(t["fee_irr"], cafe.fee_irr() + taxi.fee_irr());
  EXPECT_EQ(t["redeemed_irr"], taxi.redeemed_irr());
  EXPECT_EQ(t["operator_net_irr"], -(cafe.net_irr() + taxi.net_irr()));

  // The CSV: BOM, CRLF, a header, one row per partner, totals; checksum = sha256 of the bytes served.
  const std::string id = st["id"];
  auto csv = http().get("/v1/settlements/" + id, as(op, {{"Accept", "text/csv"}}));
  ASSERT_EQ(csv.status, 200) << csv.describe();
  EXPECT_NE(csv.header("content-type").find("text/csv"), std::string::npos);
  EXPECT_EQ(csv.body.rfind("\xEF\xBB\xBF", 0), 0u);
  EXPECT_EQ(sha256_hex(csv.body), st["checksum"].get<std::string>());
  EXPECT_NE(csv.body.find(",کافه نمونه,"), std::string::npos);
  EXPECT_NE(csv.body.find(",\"Taxi, \"\"Fast\"\"\","), std::string::npos);
  size_t lines = 0;
  for (size_t i = 0; (i = csv.body.find("\r\n", i)) != std::string::npos; i += 2) ++lines;
  EXPECT_EQ(lines, 4u);
  EXPECT_NE(csv.body.find("\r\ntotals,"), std::string::npos);
  // The same settlement as JSON, unchanged, and as the newest item of the list.
  auto again = http().get("/v1/settlements/" + id, as(op));
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.json(), st);

  // 422 period_not_ended: a period that ends in the future.
  auto future = close(op, {{"from", rfc3339(to)}, {"to", rfc3339(now_utc() + 1h)}});
  EXPECT_EQ(future.status, 422) << future.describe();
  EXPECT_EQ(future.json().value("code", ""), "period_not_ended");
  // 409 period_overlaps: the same window again, and one that straddles its end (also not contiguous: the
  // overlap is reported first).
  auto same = close(op, {{"from", rfc3339(start)}, {"to", rfc3339(to)}});
  EXPECT_EQ(same.status, 409) << same.describe();
  EXPECT_EQ(same.json().value("code", ""), "period_overlaps");
  // Its end must already be past, or the answer would (rightly) be period_not_ended.
  while (now_utc() < to + 600ms) std::this_thread::sleep_for(50ms);
  auto straddle = close(op, {{"from", rfc3339(to - 500ms)}, {"to", rfc3339(to + 500ms)}});
  EXPECT_EQ(straddle.status, 409) << straddle.describe();
  EXPECT_EQ(straddle.json().value("code", ""), "period_overlaps");
  // 422 period_gap: a later window that does not start at the previous one's end.
  while (now_utc() < to + 2s) std::this_thread::sleep_for(100ms);
  auto gap = close(op, {{"from", rfc3339(to + 1s)}, {"to", rfc3339(to + 2s)}});
  EXPECT_EQ(gap.status, 422) << gap.describe();
  EXPECT_EQ(gap.json().value("code", ""), "period_gap");
  // The contiguous next window closes, with zeros for both partners.
  auto next = close(op, {{"from", rfc3339(to)}, {"to", rfc3339(to + 2s)}});
  ASSERT_EQ(next.status, 201) << next.describe();
  for (auto& p : next.json()["partners"]) EXPECT_EQ(p["net_irr"], 0);
  auto list = http().get("/v1/settlements?limit=1", as(op));
  ASSERT_EQ(list.status, 200) << list.describe();
  ASSERT_EQ(list.json()["items"].size(), 1u);
  EXPECT_EQ(list.json()["items"][0]["id"], next.json()["id"]);
  ASSERT_TRUE(list.json()["next_cursor"].is_string());
  auto page2 = http().get("/v1/settlements?limit=1&cursor=" + list.json()["next_cursor"].get<std::string>(), as(op));
  ASSERT_EQ(page2.status, 200) << page2.describe();
  EXPECT_EQ(page2.json()["items"][0]["id"], id);
  EXPECT_TRUE(page2.json()["next_cursor"].is_null());

  // Another tenant's operator sees nothing of it.
  auto other = new_tenant();
  EXPECT_EQ(http().get("/v1/settlements/" + id, as(other)).status, 404);
  EXPECT_EQ(http().get("/v1/settlements/" + id, as(other, {{"Accept", "text/csv"}})).status, 404);
  EXPECT_EQ(http().get("/v1/settlements/" + id, as(cafe_key)).status, 403);
}

TEST_F(Settlements, TheFirstSettlementMustCoverTheFirstLedgerEvent) {
  auto op = new_tenant();
  std::string key;
  auto shop = new_partner(op, "فروشگاه", 100, 100, 0, 10, &key);
  auto e = http().post("/v1/earn", {{"member", "phone:09350001122"}, {"amount_irr", 10000}, {"receipt_id", "r-1"}}, moving(key));
  ASSERT_EQ(e.status, 201) << e.describe();
  std::this_thread::sleep_for(1100ms);
  auto to = std::chrono::floor<std::chrono::seconds>(now_utc());
  auto gap = close(op, {{"from", rfc3339(to - 500ms)}, {"to", rfc3339(to)}});
  EXPECT_EQ(gap.status, 422) << gap.describe();
  EXPECT_EQ(gap.json().value("code", ""), "period_gap");
  // A malformed request is a validation failure, not a business rule.
  EXPECT_EQ(close(op, {{"from", "yesterday"}, {"to", rfc3339(to)}}).status, 422);
  EXPECT_EQ(close(op, {{"period", "1404-13"}}).status, 422);
}

}  // namespace
}  // namespace emtiaz::tests
