// Settlements through HTTP against the suite's network (api.md, "POST /v1/settlements" and "Settlement
// (normative)"): earns at two partners and a cross-partner redemption with a partial capture are settled, and
// every figure is compared with the test's own model built from what it sent and was answered — never from
// the service's tables. Also: period_not_ended, period_overlaps, period_gap, the CSV and its checksum, tenancy.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

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
  const auto next_json = next.json();  // kept: a range-for over a temporary's member would dangle
  for (const auto& p : next_json["partners"]) EXPECT_EQ(p["net_irr"], 0);
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


// What a settlement states must fit an int64 (api.md: figures are int64). Each earn is bounded (10^15 points,
// worth at most 10^15 IRR at the partner's issue price: a larger one is 422 invalid_amount and moves nothing);
// 9,248 earns at that bound issue 9.248·10^18 IRR, past int64's 9.223·10^18. Closing them as one period is
// 422 invalid_amount and closes nothing; the same events as two periods close, each to the model's rial.
TEST_F(Settlements, APeriodWhoseFiguresDoNotFitAnInt64IsRefusedWholeAndShorterPeriodsClose) {
  __extension__ typedef __int128 i128;
  const auto start = now_utc() - 1s;
  auto op = new_tenant();
  std::string key;
  // 10 points per 10,000 IRR at 10^6 IRR a point, fee 1 %: a purchase of 10^12 IRR issues 10^9 points worth
  // exactly 10^15 IRR.
  auto shop = new_partner(op, "فروشگاه بزرگ", 1'000'000, 1, 100, 10, &key);
  constexpr std::int64_t kAmount = 1'000'000'000'000, kPoints = 1'000'000'000;

  // One IRR more is worth more than 10^15: refused, nothing issued.
  auto over = http().post("/v1/earn",
                          {{"member", "phone:09350009988"}, {"amount_irr", kAmount + 1000}, {"receipt_id", "big-0"}},
                          moving(key));
  EXPECT_EQ(over.status, 422) << over.describe();
  EXPECT_EQ(over.json().value("code", ""), "invalid_amount");

  // A round: earns from 16 clients at once, 289 each (the members spread over the partitions); a 429 is retried
  // with the same key. Returns the points the answers issued. Two rounds: 9,248 earns.
  constexpr int kClients = 16, kEach = 289;
  const std::string unique_tag = unique_suffix();
  auto earn_round = [&](const std::string& round) {
    std::vector<std::int64_t> issued(kClients, 0);
    std::vector<std::string> failures(kClients);
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c)
      threads.emplace_back([&, c] {
        HttpClient client(suite_env().url(), 45s);
        const std::string member = "phone:0935" + std::to_string(1000000 + c);
        for (int i = 0; i < kEach && failures[c].empty(); ++i) {
          // Its own idempotency key (moving() counts on one thread); the tenant is new, so the receipt is unique.
          const std::string receipt = round + "-" + std::to_string(c) + "-" + std::to_string(i);
          Headers h = as(key, {{"Idempotency-Key", "big-" + receipt + "-" + unique_tag}});
          const json body = {{"member", member}, {"amount_irr", kAmount}, {"receipt_id", receipt}};
          auto r = client.post("/v1/earn", body, h);
          while (r.status == 429) {
            std::this_thread::sleep_for(200ms);
            r = client.post("/v1/earn", body, h);
          }
          if (r.status != 201) failures[c] = r.describe();
          else issued[c] += r.json().value("points", std::int64_t{0});
        }
      });
    for (auto& t : threads) t.join();
    std::int64_t total = 0;
    for (int c = 0; c < kClients; ++c) {
      EXPECT_TRUE(failures[c].empty()) << failures[c];
      total += issued[c];
    }
    return total;
  };
  const std::int64_t first = earn_round("a");
  ASSERT_EQ(first, std::int64_t{kClients} * kEach * kPoints);
  std::this_thread::sleep_for(1100ms);
  const auto mid = std::chrono::floor<std::chrono::seconds>(now_utc());
  const std::int64_t second = earn_round("b");
  ASSERT_EQ(second, first);
  std::this_thread::sleep_for(1100ms);
  const auto end = std::chrono::floor<std::chrono::seconds>(now_utc());

  const i128 whole_irr = static_cast<i128>(first + second) * shop.issue_price;
  ASSERT_GT(whole_irr, static_cast<i128>(std::numeric_limits<std::int64_t>::max()));

  auto whole = close(op, {{"from", rfc3339(start)}, {"to", rfc3339(end)}});
  EXPECT_EQ(whole.status, 422) << whole.describe();
  EXPECT_EQ(whole.json().value("code", ""), "invalid_amount");
  auto listed = http().get("/v1/settlements", as(op));
  ASSERT_EQ(listed.status, 200) << listed.describe();
  EXPECT_TRUE(listed.json()["items"].empty()) << listed.body;

  struct Period {
    Instant from, to;
    std::int64_t points;
  };
  for (const auto& [from, to, points] : {Period{start, mid, first}, Period{mid, end, second}}) {
    auto s = close(op, {{"from", rfc3339(from)}, {"to", rfc3339(to)}});
    ASSERT_EQ(s.status, 201) << s.describe();
    const auto st = s.json();
    // The model: points × price, and the fee (1 %) once per partner and period, in 128 bits (the fee's
    // numerator, points × price × 100, passes int64).
    const i128 issued_irr = static_cast<i128>(points) * shop.issue_price;
    const i128 fee = (issued_irr * shop.fee_bps + 5000) / 10000;
    const auto& row = st["partners"][0];
    EXPECT_EQ(row["points_issued"], points);
    EXPECT_EQ(row["issued_irr"], static_cast<std::int64_t>(issued_irr));
    EXPECT_EQ(row["fee_irr"], static_cast<std::int64_t>(fee));
    EXPECT_EQ(row["net_irr"], static_cast<std::int64_t>(-issued_irr - fee));
    EXPECT_EQ(st["totals"]["operator_net_irr"], static_cast<std::int64_t>(issued_irr + fee));
  }
}

// Reads a settlement's partner rows by id.
std::map<std::string, json> rows_of(const json& settlement) {
  std::map<std::string, json> rows;
  for (const auto& p : settlement["partners"]) rows[p["partner_id"]] = p;
  return rows;
}

std::map<std::pair<std::string, std::string>, std::int64_t> matrix_of(const json& settlement) {
  std::map<std::pair<std::string, std::string>, std::int64_t> m;
  for (const auto& x : settlement["matrix"])
    m[{x["issuer_partner_id"], x["redeemer_partner_id"]}] = x["points"].get<std::int64_t>();
  return m;
}

// A period boundary that falls between an authorization and its capture: the hold moves nothing, so the
// first period has no redemption at all; the capture (and the release of the rest) is the second period's.
TEST_F(Settlements, ABoundaryBetweenAnAuthorizationAndItsCapture) {
  const auto t0 = now_utc();
  auto op = new_tenant();
  std::string shop_key, cinema_key;
  auto shop = new_partner(op, "Shop", 200, 150, 100, 100, &shop_key);
  auto cinema = new_partner(op, "Cinema", 300, 120, 0, 100, &cinema_key);
  auto e = http().post("/v1/earn", {{"member", "phone:09350001144"}, {"amount_irr", 10000}, {"receipt_id", "s-1"}},
                       moving(shop_key));
  ASSERT_EQ(e.status, 201) << e.describe();
  ASSERT_EQ(e.json()["points"], 100);  // ⌊10 000 × 100 / 10 000⌋
  const std::string member = e.json()["balance"]["member_id"];
  auto r = http().post("/v1/redemptions", {{"member", member}, {"points", 60}, {"receipt_id", "film-1"}}, moving(cinema_key));
  ASSERT_EQ(r.status, 201) << r.describe();
  ASSERT_EQ(r.json()["status"], "authorized");
  // The boundary: after the authorization was answered, before the capture is sent.
  std::this_thread::sleep_for(5ms);
  const auto b1 = now_utc();
  std::this_thread::sleep_for(5ms);
  auto c = http().post("/v1/redemptions/" + r.json()["id"].get<std::string>() + "/capture", {{"points", 45}},
                       moving(cinema_key));
  ASSERT_EQ(c.status, 200) << c.describe();
  ASSERT_EQ(c.json()["points_captured"], 45);
  std::this_thread::sleep_for(5ms);
  const auto b2 = now_utc();
  std::this_thread::sleep_for(300ms);

  auto first = close(op, {{"from", rfc3339(t0)}, {"to", rfc3339(b1)}});
  ASSERT_EQ(first.status, 201) << first.describe();
  auto rows = rows_of(first.json());
  EXPECT_EQ(rows[shop.id]["points_issued"], 100);
  EXPECT_EQ(rows[shop.id]["issued_irr"], 100 * 200);
  EXPECT_EQ(rows[shop.id]["fee_irr"], 200);  // 20 000 × 100 / 10 000
  EXPECT_EQ(rows[cinema.id]["points_redeemed"], 0);
  EXPECT_EQ(rows[cinema.id]["redeemed_irr"], 0);
  EXPECT_EQ(rows[cinema.id]["net_irr"], 0);
  EXPECT_TRUE(first.json()["matrix"].empty()) << first.body;
  EXPECT_EQ(first.json()["totals"]["points_redeemed"], 0);
  EXPECT_EQ(first.json()["totals"]["operator_net_irr"], 100 * 200 + 200);

  auto second = close(op, {{"from", rfc3339(b1)}, {"to", rfc3339(b2)}});
  ASSERT_EQ(second.status, 201) << second.describe();
  rows = rows_of(second.json());
  EXPECT_EQ(rows[shop.id]["points_issued"], 0);
  EXPECT_EQ(rows[shop.id]["issued_irr"], 0);
  EXPECT_EQ(rows[cinema.id]["points_redeemed"], 45);
  EXPECT_EQ(rows[cinema.id]["redeemed_irr"], 45 * 120);
  EXPECT_EQ(rows[cinema.id]["net_irr"], 45 * 120);
  EXPECT_EQ(matrix_of(second.json()), (std::map<std::pair<std::string, std::string>, std::int64_t>{{{shop.id, cinema.id}, 45}}));
  EXPECT_EQ(second.json()["totals"]["points_redeemed"], 45);
  EXPECT_EQ(second.json()["totals"]["points_issued"], 0);
  EXPECT_EQ(second.json()["totals"]["operator_net_irr"], -45 * 120);
}

// A boundary exactly at an event's time: the event belongs to the period that starts there, not to the one
// that ends there ([from, to)). The redemption's created_at is its commit time, to the microsecond, and a
// redemption captured at once is captured at that instant.
TEST_F(Settlements, AnEventExactlyAtABoundaryBelongsToThePeriodItStarts) {
  const auto t0 = now_utc();
  auto op = new_tenant();
  std::string key;
  auto shop = new_partner(op, "Shop", 100, 40, 0, 100, &key);
  auto e = http().post("/v1/earn", {{"member", "phone:09350007788"}, {"amount_irr", 10000}, {"receipt_id", "x-1"}}, moving(key));
  ASSERT_EQ(e.status, 201) << e.describe();
  const std::string member = e.json()["balance"]["member_id"];
  auto r = http().post("/v1/redemptions", {{"member", member}, {"points", 25}, {"receipt_id", "x-r"}, {"capture", true}}, moving(key));
  ASSERT_EQ(r.status, 201) << r.describe();
  ASSERT_EQ(r.json()["status"], "captured");
  const auto at = parse_rfc3339(r.json()["created_at"].get<std::string>());
  ASSERT_TRUE(at.has_value()) << r.body;
  std::this_thread::sleep_for(5ms);
  const auto end = now_utc();
  std::this_thread::sleep_for(300ms);
  auto before = close(op, {{"from", rfc3339(t0)}, {"to", rfc3339(*at)}});
  ASSERT_EQ(before.status, 201) << before.describe();
  EXPECT_EQ(rows_of(before.json())[shop.id]["points_issued"], 100);
  EXPECT_EQ(rows_of(before.json())[shop.id]["points_redeemed"], 0) << "an event at `to` is not in [from, to)";
  auto after = close(op, {{"from", rfc3339(*at)}, {"to", rfc3339(end)}});
  ASSERT_EQ(after.status, 201) << after.describe();
  EXPECT_EQ(rows_of(after.json())[shop.id]["points_issued"], 0);
  EXPECT_EQ(rows_of(after.json())[shop.id]["points_redeemed"], 25) << "an event at `from` is in [from, to)";
  EXPECT_EQ(rows_of(after.json())[shop.id]["redeemed_irr"], 25 * 40);
}

// A price change in the middle of a period: events before it use the old prices, events after it the new
// ones; a redemption keeps the redeem value in force when it was authorized, a clawback the price of the
// lot it takes from. A later price change never touches a closed settlement, and applies to the next one.
TEST_F(Settlements, APriceChangeInTheMiddleOfAPeriod) {
  const auto t0 = now_utc();
  auto op = new_tenant();
  std::string key;
  auto shop = new_partner(op, "Shop", 200, 150, 125, 100, &key);
  auto e1 = http().post("/v1/earn", {{"member", "phone:09350002233"}, {"amount_irr", 10000}, {"receipt_id", "p-1"}}, moving(key));
  ASSERT_EQ(e1.status, 201) << e1.describe();
  ASSERT_EQ(e1.json()["points"], 100);
  const std::string member = e1.json()["balance"]["member_id"];
  // Authorized at the old redeem value (150), captured after the change.
  auto r1 = http().post("/v1/redemptions", {{"member", member}, {"points", 30}, {"receipt_id", "r-1"}}, moving(key));
  ASSERT_EQ(r1.status, 201) << r1.describe();
  EXPECT_EQ(r1.json()["value_irr"], 30 * 150);

  auto patch = http().patch("/v1/partners/" + shop.id, {{"issue_price_irr", 300}, {"fee_bps", 50}, {"redeem_value_irr", 90}}, as(op));
  ASSERT_EQ(patch.status, 200) << patch.describe();

  auto e2 = http().post("/v1/earn", {{"member", member}, {"amount_irr", 10000}, {"receipt_id", "p-2"}}, moving(key));
  ASSERT_EQ(e2.status, 201) << e2.describe();
  ASSERT_EQ(e2.json()["points"], 100);
  auto c1 = http().post("/v1/redemptions/" + r1.json()["id"].get<std::string>() + "/capture", json::object(), moving(key));
  ASSERT_EQ(c1.status, 200) << c1.describe();
  auto r2 = http().post("/v1/redemptions", {{"member", member}, {"points", 20}, {"receipt_id", "r-2"}, {"capture", true}}, moving(key));
  ASSERT_EQ(r2.status, 201) << r2.describe();
  EXPECT_EQ(r2.json()["value_irr"], 20 * 90);
  // A quarter of the first purchase comes back: ⌊100 × 2 500 / 10 000⌋ = 25 points, taken from that earn's
  // own lot (70 unheld of it were left after the 30 held; the 20 captured at once came from it too, leaving
  // 50), at that lot's price (200) and fee (125 bps).
  auto refund = http().post("/v1/earn/" + e1.json()["id"].get<std::string>() + "/refund", {{"amount_irr", 2500}}, moving(key));
  ASSERT_EQ(refund.status, 201) << refund.describe();
  ASSERT_EQ(refund.json()["points_clawed_back"], 25);
  std::this_thread::sleep_for(5ms);
  const auto b1 = now_utc();
  std::this_thread::sleep_for(300ms);

  auto s1 = close(op, {{"from", rfc3339(t0)}, {"to", rfc3339(b1)}});
  ASSERT_EQ(s1.status, 201) << s1.describe();
  auto row = rows_of(s1.json())[shop.id];
  // issued_irr = 100 × 200 + 100 × 300 − 25 × 200 = 45 000
  // fee = (100 × 200 × 125 + 100 × 300 × 50 − 25 × 200 × 125) / 10 000 = 3 375 000 / 10 000 = 337.5 → 338
  // redeemed_irr = 30 × 150 + 20 × 90 = 6 300;  net = 6 300 − 45 000 − 338 = −39 038
  EXPECT_EQ(row["points_issued"], 200);
  EXPECT_EQ(row["points_clawed_back"], 25);
  EXPECT_EQ(row["points_redeemed"], 50);
  EXPECT_EQ(row["issued_irr"], 45000);
  EXPECT_EQ(row["fee_irr"], 338);
  EXPECT_EQ(row["redeemed_irr"], 6300);
  EXPECT_EQ(row["net_irr"], -39038);
  EXPECT_EQ(s1.json()["totals"]["operator_net_irr"], 39038);
  const std::string id = s1.json()["id"];
  auto csv1 = http().get("/v1/settlements/" + id, as(op, {{"Accept", "text/csv"}}));
  ASSERT_EQ(csv1.status, 200);

  // Another change; the closed settlement is the same to the byte, and the next period uses the new prices.
  patch = http().patch("/v1/partners/" + shop.id, {{"issue_price_irr", 999}, {"fee_bps", 1}, {"redeem_value_irr", 7}}, as(op));
  ASSERT_EQ(patch.status, 200) << patch.describe();
  auto e3 = http().post("/v1/earn", {{"member", member}, {"amount_irr", 1000}, {"receipt_id", "p-3"}}, moving(key));
  ASSERT_EQ(e3.status, 201) << e3.describe();
  ASSERT_EQ(e3.json()["points"], 10);
  std::this_thread::sleep_for(5ms);
  const auto b2 = now_utc();
  std::this_thread::sleep_for(300ms);
  auto again = http().get("/v1/settlements/" + id, as(op));
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body, s1.body);
  auto csv2 = http().get("/v1/settlements/" + id, as(op, {{"Accept", "text/csv"}}));
  EXPECT_EQ(csv2.body, csv1.body);
  EXPECT_EQ(sha256_hex(csv2.body), s1.json()["checksum"].get<std::string>());

  auto s2 = close(op, {{"from", rfc3339(b1)}, {"to", rfc3339(b2)}});
  ASSERT_EQ(s2.status, 201) << s2.describe();
  row = rows_of(s2.json())[shop.id];
  // 10 × 999 = 9 990; fee 9 990 × 1 / 10 000 = 0.999 → 1
  EXPECT_EQ(row["points_issued"], 10);
  EXPECT_EQ(row["issued_irr"], 9990);
  EXPECT_EQ(row["fee_irr"], 1);
  EXPECT_EQ(row["net_irr"], -9991);
}

// `period` is a month of the tenant's calendar in its zone: [first day 00:00, next month's first day 00:00).
// The expected instants are derived by hand from the Persian calendar (not from the service's code):
//   1 Farvardin 1404 = 21 March 2025 (the March 2025 equinox, 09:01 UTC = 12:31 Tehran, fell after noon, so
//   the year began the next day); 1403 was a leap year (1 Farvardin 1403 = 20 March 2024, 366 days before),
//   so Esfand 1403 had 30 days. Months 1-6 have 31 days, 7-11 have 30.
//   1 Esfand 1403   = 20 Mar 2024 + 6×31 + 5×30 = + 336 days = 19 Feb 2025
//   1 Farvardin 1404 = 21 Mar 2025;  1 Ordibehesht 1404 = 21 Mar + 31 = 21 Apr 2025
//   1 Aban 1404     = 21 Mar 2025 + 6×31 + 30 = + 216 days = 23 Oct 2025
//   1 Azar 1404     = + 246 days = 22 Nov 2025;  1 Dey 1404 = + 276 days = 22 Dec 2025
// Asia/Tehran is +03:30 all year (no DST since 2022), so a Jalali month there starts and ends at 20:30 UTC on
// the previous Gregorian day. America/New_York left DST on 2 Nov 2025: Aban 1404 there starts at 00:00-04:00
// and ends at 00:00-05:00 (30 days and one hour).
TEST_F(Settlements, AJalaliMonthInTheTenantsZone) {
  auto utc = [](int y, unsigned m, unsigned d, int h, int mi) {
    using namespace std::chrono;
    return Instant(time_point_cast<microseconds>(sys_days(year{y} / month{m} / day{d}) + hours(h) + minutes(mi)));
  };
  struct Case {
    const char* period;
    Instant from, to;
    const char* from_offset;
    const char* to_offset;
  };
  auto run = [&](const std::string& timezone, const std::vector<Case>& cases) {
    auto r = http().post("/v1/tenants", {{"name", "Jalali " + unique_suffix()}, {"timezone", timezone}, {"calendar", "jalali"}},
                         as(admin_));
    ASSERT_EQ(r.status, 201) << r.describe();
    const std::string op = r.json()["operator_token"];
    for (const auto& c : cases) {
      SCOPED_TRACE(timezone + " " + c.period);
      auto s = close(op, {{"period", c.period}});
      ASSERT_EQ(s.status, 201) << s.describe();
      const std::string from = s.json()["from"], to = s.json()["to"];
      EXPECT_EQ(parse_rfc3339(from), c.from) << from;
      EXPECT_EQ(parse_rfc3339(to), c.to) << to;
      EXPECT_TRUE(from.ends_with(c.from_offset)) << from;
      EXPECT_TRUE(to.ends_with(c.to_offset)) << to;
    }
  };
  run("Asia/Tehran", {{"1403-12", utc(2025, 2, 18, 20, 30), utc(2025, 3, 20, 20, 30), "+03:30", "+03:30"},
                      {"1404-01", utc(2025, 3, 20, 20, 30), utc(2025, 4, 20, 20, 30), "+03:30", "+03:30"}});
  run("Asia/Tehran", {{"1404-09", utc(2025, 11, 21, 20, 30), utc(2025, 12, 21, 20, 30), "+03:30", "+03:30"}});
  run("America/New_York", {{"1404-08", utc(2025, 10, 23, 4, 0), utc(2025, 11, 22, 5, 0), "-04:00", "-05:00"},
                           {"1404-09", utc(2025, 11, 22, 5, 0), utc(2025, 12, 22, 5, 0), "-05:00", "-05:00"}});
  // The local wall-clock time echoed is midnight of the Jalali month's first day (Gregorian 22 Nov 2025 in
  // Tehran, although the instant is on 21 Nov in UTC).
  auto r = http().post("/v1/tenants", {{"name", "Jalali " + unique_suffix()}}, as(admin_));
  ASSERT_EQ(r.status, 201) << r.describe();
  auto s = close(r.json()["operator_token"], {{"period", "1404-09"}});
  ASSERT_EQ(s.status, 201) << s.describe();
  EXPECT_TRUE(s.json()["from"].get<std::string>().starts_with("2025-11-22T00:00:00")) << s.body;
  EXPECT_TRUE(s.json()["to"].get<std::string>().starts_with("2025-12-22T00:00:00")) << s.body;
  // A month that does not start at the previous settlement's end is period_gap.
  auto gap = close(r.json()["operator_token"], {{"period", "1404-11"}});
  EXPECT_EQ(gap.status, 422) << gap.describe();
  EXPECT_EQ(gap.json().value("code", ""), "period_gap");
}

}  // namespace
}  // namespace emtiaz::tests
