// A settlement requested while clearing is stopped (api.md, "POST /v1/settlements": "If clearing cannot
// catch up to `to` within 30 s: 503 settlement_not_ready with Retry-After, and nothing is closed"; and
// "Closing waits until clearing has seen every event with at < to"). On a private network of its own, the
// test stops the clearing service, moves points, asks for a settlement over a window that includes those
// movements: the answer is 503 settlement_not_ready after the wait, and nothing is closed. Asked again, the
// request waits; clearing is started meanwhile, and the settlement closes with everything — every figure
// compared with the test's own model of what it sent and was answered.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>

#include "common/time.hpp"
#include "tests/support/api_client.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string rfc3339(Instant t) { return emtiaz::format_rfc3339(t, "UTC", TimePrecision::micros); }

TEST(SettlementReadiness, WhileClearingIsStoppedASettlementWaitsOr503sAndNeverClosesShort) {
  PrivateNetwork net;
  ApiClient api(net.url(), net.admin_token());
  api.http().set_timeout(60s);
  const auto t0 = now_utc();
  auto tenant = api.create_tenant();
  ASSERT_FALSE(tenant.id.empty());
  // A: 100 points per 10k IRR, price 200, fee 100 bps, redeem value 150. B: 100 per 10k, price 300, value 120.
  auto a = api.create_partner(tenant, 100, 150, 200, 100);
  auto b = api.create_partner(tenant, 100, 120, 300, 0);
  ASSERT_FALSE(a.api_key.empty());
  ASSERT_FALSE(b.api_key.empty());

  // Before the stop: 100 points at A.
  auto e1 = api.earn(a.api_key, "phone:09350004455", 10000);
  ASSERT_EQ(e1.status, 201) << e1.describe();
  ASSERT_EQ(e1.json()["points"], 100);
  const std::string member = e1.json()["balance"]["member_id"];

  net.stop("clearing");
  // While clearing is stopped: 70 points at B, and a redemption at B of 120 captured at once — the
  // earliest-expiring 100 of A's lot and 20 of B's.
  auto e2 = api.earn(b.api_key, member, 7000);
  ASSERT_EQ(e2.status, 201) << e2.describe();
  ASSERT_EQ(e2.json()["points"], 70);
  auto r = api.redeem_points(b.api_key, member, 120, /*capture=*/true);
  ASSERT_EQ(r.status, 201) << r.describe();
  ASSERT_EQ(r.json()["status"], "captured");
  std::this_thread::sleep_for(5ms);
  const auto to = now_utc();
  std::this_thread::sleep_for(300ms);
  const json window = {{"from", rfc3339(t0)}, {"to", rfc3339(to)}};

  // 1. Clearing stays down: 503 settlement_not_ready with Retry-After, after waiting (api.md: 30 s).
  const auto asked = std::chrono::steady_clock::now();
  auto s = api.post("/v1/settlements", tenant.operator_token, window);
  const auto waited = std::chrono::steady_clock::now() - asked;
  ASSERT_EQ(s.status, 503) << s.describe();
  EXPECT_EQ(s.json().value("code", ""), "settlement_not_ready") << s.body;
  EXPECT_FALSE(s.header("Retry-After").empty()) << s.describe();
  EXPECT_GE(waited, 25s) << "it should have waited for clearing to catch up";
  auto list = api.get("/v1/settlements", tenant.operator_token);
  ASSERT_EQ(list.status, 200) << list.describe();
  EXPECT_TRUE(list.json()["items"].empty()) << "nothing may be closed: " << list.body;

  // 2. Asked again; clearing comes back while the request waits: it closes with everything.
  auto pending = std::async(std::launch::async, [&] {
    ApiClient client(net.url(), net.admin_token());
    client.http().set_timeout(60s);
    return client.post("/v1/settlements", tenant.operator_token, window);
  });
  ASSERT_EQ(pending.wait_for(3s), std::future_status::timeout) << "it answered while clearing was down";
  net.start("clearing");
  auto closed = pending.get();
  ASSERT_EQ(closed.status, 201) << closed.describe() << "\n" << net.log_tail("clearing");
  const auto st = closed.json();
  std::map<std::string, json> rows;
  for (const auto& p : st["partners"]) rows[p["partner_id"]] = p;
  ASSERT_EQ(rows.size(), 2u) << closed.body;
  // A: issued 100 × 200 = 20 000, fee 200; B: issued 70 × 300 = 21 000, redeemed 120 × 120 = 14 400.
  EXPECT_EQ(rows[a.id]["points_issued"], 100);
  EXPECT_EQ(rows[a.id]["issued_irr"], 20000);
  EXPECT_EQ(rows[a.id]["fee_irr"], 200);
  EXPECT_EQ(rows[a.id]["points_redeemed"], 0);
  EXPECT_EQ(rows[a.id]["net_irr"], -20200);
  EXPECT_EQ(rows[b.id]["points_issued"], 70);
  EXPECT_EQ(rows[b.id]["issued_irr"], 21000);
  EXPECT_EQ(rows[b.id]["points_redeemed"], 120);
  EXPECT_EQ(rows[b.id]["redeemed_irr"], 14400);
  EXPECT_EQ(rows[b.id]["net_irr"], 14400 - 21000);
  std::map<std::pair<std::string, std::string>, std::int64_t> matrix;
  for (const auto& x : st["matrix"]) matrix[{x["issuer_partner_id"], x["redeemer_partner_id"]}] = x["points"].get<std::int64_t>();
  EXPECT_EQ(matrix, (std::map<std::pair<std::string, std::string>, std::int64_t>{{{a.id, b.id}, 100}, {{b.id, b.id}, 20}}));
  EXPECT_EQ(st["totals"]["points_issued"], 170);
  EXPECT_EQ(st["totals"]["points_redeemed"], 120);
  EXPECT_EQ(st["totals"]["operator_net_irr"], 20200 + 21000 - 14400);
  list = api.get("/v1/settlements", tenant.operator_token);
  ASSERT_EQ(list.status, 200) << list.describe();
  EXPECT_EQ(list.json()["items"].size(), 1u) << list.body;
}

}  // namespace
}  // namespace emtiaz::tests
