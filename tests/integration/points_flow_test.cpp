// The points flow through HTTP against the suite's network: earn, auto-enrolment, concurrent authorizations,
// earliest-expiry-first, holds and lots that expire by themselves, pending points, capture/void/refund,
// purchase-refund clawback and debt, redemption by amount, transaction pagination, partner and tenant
// isolation, operator adjustments. Each test makes its own tenant; every expected figure comes from the
// test's own model of what it sent and was answered.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "common/tests/metric_value.hpp"
#include "tests/support/api_client.hpp"
#include "tests/support/expect.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

// A member's state as its text, read the way an operator reads it (migrations/012_member_state_slots.sql):
// member_states.state holds it deflated behind one byte (0x01) as COMPRESS() writes it, padded
// (wallet/stored_state.hpp), or, in a row written before migration 012, as the JSON text itself.
const std::string kStateText =
    "CONVERT(IF(LEFT(state, 1) = X'01', UNCOMPRESS(SUBSTRING(state, 2)), state) USING utf8mb4)";

using nlohmann::json;
using namespace std::chrono_literals;

class PointsFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& env = suite_env();
    api_ = std::make_unique<ApiClient>(env.url(), env.admin_token());
  }
  ApiClient& api() { return *api_; }

  // A tenant with the given time rules and one partner whose earn rule is `rule` points per 10k rial.
  void setup(json tenant_body = json::object(), std::int64_t rule = 100, std::int64_t redeem_value = 1000) {
    tenant_ = api().create_tenant(std::move(tenant_body));
    ASSERT_FALSE(tenant_.id.empty());
    partner_ = api().create_partner(tenant_, rule, redeem_value);
    ASSERT_FALSE(partner_.api_key.empty());
  }

  // Earns exactly `points` with a rule of 100 per 10k (amount = points × 100); returns the 201 body.
  json earn_points(const std::string& member, std::int64_t points) {
    auto r = api().earn(partner_.api_key, member, points * 100);
    EXPECT_EQ(r.status, 201) << r.describe();
    EXPECT_EQ(r.json().value("points", -1), points) << r.body;
    return r.json();
  }

  // A new member enrolled by an earn of `points`; returns its "mem_..." id.
  std::string member_with(std::int64_t points) {
    const std::string phone = random_mobile();
    auto e = earn_points("phone:" + phone, points);
    return e["balance"].value("member_id", "");
  }

  json balance(const std::string& member) { return api().balance(partner_.api_key, member); }

  void expect_balance(const std::string& member, std::int64_t available, std::int64_t pending, std::int64_t held,
                      const std::string& where) {
    auto b = balance(member);
    EXPECT_EQ(b.value("available", -999999), available) << where << ": " << b.dump();
    EXPECT_EQ(b.value("pending", -999999), pending) << where << ": " << b.dump();
    EXPECT_EQ(b.value("held", -999999), held) << where << ": " << b.dump();
  }

  // How many earns' members the gateway has found for refunds in `source` (id, mysql): its /metrics.
  double earn_owner_lookups(const std::string& source) {
    const auto r = api().http().get("/metrics");
    EXPECT_EQ(r.status, 200) << r.describe();
    return metric_in(r.body, "emtiaz_gateway_earn_owner_lookups_total{source=\"" + source + "\"}");
  }

  json redemption(const std::string& id) {
    auto r = api().get("/v1/redemptions/" + id, partner_.api_key);
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.status == 200 ? r.json() : json();
  }

  TestTenant tenant_;
  TestPartner partner_;

 private:
  std::unique_ptr<ApiClient> api_;
};

TEST_F(PointsFlow, EarnFloorsPointsAndAutoEnrolsUnknownPhones) {
  setup({}, /*rule=*/37);
  const std::string phone = random_mobile();
  // ⌊12345 × 37 / 10000⌋ = ⌊45.7765⌋ = 45
  auto r = api().earn(partner_.api_key, "phone:" + phone, 12345);
  ASSERT_EQ(r.status, 201) << r.describe();
  auto e = r.json();
  EXPECT_EQ(e["type"], "earn");
  EXPECT_EQ(e["points"], 45);
  EXPECT_EQ(e["status"], "active");
  EXPECT_TRUE(e["id"].is_string());
  EXPECT_TRUE(e["expires_at"].is_string());
  EXPECT_TRUE(e["available_at"].is_string());
  ASSERT_TRUE(e["balance"].is_object()) << r.body;
  EXPECT_EQ(e["balance"]["available"], 45);
  EXPECT_EQ(e["balance"]["pending"], 0);
  EXPECT_EQ(e["balance"]["held"], 0);
  const std::string member_id = e["balance"].value("member_id", "");
  ASSERT_TRUE(member_id.starts_with("mem_")) << r.body;

  // The member now exists, enrolled by the earn, with the phone in E.164.
  auto m = api().get("/v1/members/" + member_id, partner_.api_key);
  ASSERT_EQ(m.status, 200) << m.describe();
  EXPECT_EQ(m.json()["phone"], mobile_e164(phone));

  // Another form of the same phone names the same member; ⌊100000 × 37 / 10000⌋ = 370.
  r = api().earn(partner_.api_key, "phone:" + mobile_e164(phone), 100000);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points"], 370);
  EXPECT_EQ(r.json()["balance"]["member_id"], member_id);
  EXPECT_EQ(r.json()["balance"]["available"], 415);
  expect_balance(member_id, 415, 0, 0, "after two earns");
  expect_balance("phone:" + phone, 415, 0, 0, "by phone");

  // An amount that earns nothing: ⌊100 × 37 / 10000⌋ = 0 — whatever the answer, the balance does not move.
  r = api().earn(partner_.api_key, member_id, 100);
  EXPECT_TRUE(r.status == 201 || r.status == 422) << r.describe();
  if (r.status == 201) { EXPECT_EQ(r.json()["points"], 0); }
  expect_balance(member_id, 415, 0, 0, "after a zero-point earn");
}

TEST_F(PointsFlow, WithoutAutoEnrolAnUnknownPhoneIsNotFound) {
  setup({{"auto_enroll", false}});
  auto r = api().earn(partner_.api_key, "phone:" + random_mobile(), 10000);
  EXPECT_EQ(r.status, 404) << r.describe();
  EXPECT_EQ(code_of(r), "member_not_found") << r.body;
}

TEST_F(PointsFlow, FortyConcurrentAuthorizationsOnAThousandPoints) {
  setup();
  const std::string member = member_with(1000);
  ASSERT_FALSE(member.empty());

  constexpr int kThreads = 40;
  std::vector<HttpResponse> answers(kThreads);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  const auto& env = suite_env();
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ApiClient client(env.url(), env.admin_token());
      while (!go.load()) std::this_thread::yield();
      answers[i] = client.redeem_points(partner_.api_key, member, 100);
    });
  }
  go = true;
  for (auto& t : threads) t.join();

  int ok = 0, insufficient = 0;
  for (const auto& a : answers) {
    if (a.status == 201) {
      ++ok;
      EXPECT_EQ(a.json()["status"], "authorized") << a.body;
      EXPECT_EQ(a.json()["points"], 100) << a.body;
    } else if (a.status == 422 && code_of(a) == "insufficient_points") {
      ++insufficient;
    } else {
      ADD_FAILURE() << "unexpected answer: " << a.describe();
    }
  }
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(insufficient, 30);
  expect_balance(member, 0, 0, 1000, "after 40 concurrent authorizations");
}

TEST_F(PointsFlow, RedemptionTakesTheEarliestExpiringLotFirst) {
  setup({{"points_ttl", "PT120S"}});
  const std::string phone = random_mobile();
  auto first = earn_points("phone:" + phone, 100);
  const std::string member = first["balance"].value("member_id", "");
  std::this_thread::sleep_for(1200ms);
  auto second = earn_points(member, 100);
  const std::string first_exp = first.value("expires_at", "");
  const std::string second_exp = second.value("expires_at", "");
  ASSERT_LT(parse_rfc3339(first_exp), parse_rfc3339(second_exp)) << first_exp << " " << second_exp;

  auto b = balance(member);
  ASSERT_EQ(b["expiring"].size(), 2u) << b.dump();
  EXPECT_EQ(b["expiring"][0]["points"], 100);
  EXPECT_EQ(parse_rfc3339(b["expiring"][0]["expires_at"]), parse_rfc3339(first_exp)) << b.dump();
  EXPECT_EQ(parse_rfc3339(b["expiring"][1]["expires_at"]), parse_rfc3339(second_exp)) << b.dump();

  auto r = api().redeem_points(partner_.api_key, member, 150, /*capture=*/true);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["status"], "captured");
  b = balance(member);
  EXPECT_EQ(b["available"], 50);
  ASSERT_EQ(b["expiring"].size(), 1u) << b.dump();
  EXPECT_EQ(b["expiring"][0]["points"], 50) << b.dump();
  EXPECT_EQ(parse_rfc3339(b["expiring"][0]["expires_at"]), parse_rfc3339(second_exp))
      << "the later lot should be the one left: " << b.dump();
}

TEST_F(PointsFlow, AHoldExpiresByItself) {
  setup({{"hold_ttl", "PT2S"}});
  const std::string member = member_with(100);
  auto r = api().redeem_points(partner_.api_key, member, 60);
  ASSERT_EQ(r.status, 201) << r.describe();
  const std::string id = r.json()["id"];
  EXPECT_EQ(r.json()["status"], "authorized");
  EXPECT_EQ(r.json()["balance"]["available"], 40) << r.body;
  EXPECT_EQ(r.json()["balance"]["held"], 60) << r.body;
  expect_balance(member, 40, 0, 60, "while held");

  std::this_thread::sleep_for(3s);
  json red;
  EXPECT_TRUE(wait_until([&] { return (red = redemption(id)).value("status", "") == "expired"; }, 3s))
      << red.dump();
  expect_balance(member, 100, 0, 0, "after the hold expired");
  r = api().redemption_action(partner_.api_key, id, "capture");
  EXPECT_EQ(r.status, 409) << r.describe();
  EXPECT_EQ(code_of(r), "redemption_not_authorized");
  expect_balance(member, 100, 0, 0, "after a refused capture");
}

TEST_F(PointsFlow, PendingPointsCannotBeRedeemedUntilAvailable) {
  setup({{"pending_period", "PT2S"}});
  const std::string phone = random_mobile();
  auto r = api().earn(partner_.api_key, "phone:" + phone, 10000);  // 100 points
  ASSERT_EQ(r.status, 201) << r.describe();
  auto e = r.json();
  EXPECT_EQ(e["status"], "pending");
  EXPECT_EQ(e["balance"]["pending"], 100);
  EXPECT_EQ(e["balance"]["available"], 0);
  const std::string member = e["balance"].value("member_id", "");
  const auto available_at = parse_rfc3339(e.value("available_at", ""));

  r = api().redeem_points(partner_.api_key, member, 10);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "insufficient_points");
  expect_balance(member, 0, 100, 0, "pending, after a refused redemption");

  std::this_thread::sleep_until(available_at + 200ms);
  expect_balance(member, 100, 0, 0, "right after available_at");
  r = api().redeem_points(partner_.api_key, member, 10);
  EXPECT_EQ(r.status, 201) << r.describe();
  expect_balance(member, 90, 0, 10, "after redeeming once available");
}

TEST_F(PointsFlow, ALotExpiresAtItsExpiresAt) {
  setup({{"points_ttl", "PT3S"}});
  const std::string phone = random_mobile();
  auto e = earn_points("phone:" + phone, 100);
  const std::string member = e["balance"].value("member_id", "");
  const auto expires_at = parse_rfc3339(e.value("expires_at", ""));
  EXPECT_LE(expires_at - std::chrono::system_clock::now(), 3500ms);
  expect_balance(member, 100, 0, 0, "before expiry");

  std::this_thread::sleep_until(expires_at + 100ms);
  auto b = balance(member);
  EXPECT_EQ(b["available"], 0) << "a read right after expires_at must exclude the lot: " << b.dump();
  EXPECT_EQ(b["expiring"].size(), 0u) << b.dump();
  auto r = api().redeem_points(partner_.api_key, member, 1);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "insufficient_points");

  // The ledger shows the expiry once the wallet's timer has run.
  json items;
  EXPECT_TRUE(wait_until(
      [&] {
        items = api().all_transactions(partner_.api_key, member);
        for (const auto& it : items)
          if (it.value("type", "").find("expir") != std::string::npos) return true;
        return false;
      },
      5s))
      << items.dump();
}

TEST_F(PointsFlow, HeldPointsDoNotExpireWhileHeldAndExpireAtTheRelease) {
  setup({{"points_ttl", "PT3S"}, {"hold_ttl", "PT60S"}});
  const std::string phone = random_mobile();
  auto e = earn_points("phone:" + phone, 100);
  const std::string member = e["balance"].value("member_id", "");
  const auto expires_at = parse_rfc3339(e.value("expires_at", ""));

  auto r = api().redeem_points(partner_.api_key, member, 60);
  ASSERT_EQ(r.status, 201) << r.describe();
  const std::string id = r.json()["id"];
  expect_balance(member, 40, 0, 60, "held before expiry");

  std::this_thread::sleep_until(expires_at + 300ms);
  expect_balance(member, 0, 0, 60, "after the lot's expiry: unheld points gone, held ones kept");

  r = api().redemption_action(partner_.api_key, id, "void");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["status"], "voided");
  expect_balance(member, 0, 0, 0, "released after expiry: they expire at the release");
  std::this_thread::sleep_for(500ms);
  expect_balance(member, 0, 0, 0, "a moment later");
}

TEST_F(PointsFlow, HeldPointsCapturedAfterTheirLotsExpiry) {
  setup({{"points_ttl", "PT2S"}, {"hold_ttl", "PT60S"}});
  const std::string phone = random_mobile();
  auto e = earn_points("phone:" + phone, 100);
  const std::string member = e["balance"].value("member_id", "");
  const auto expires_at = parse_rfc3339(e.value("expires_at", ""));
  auto r = api().redeem_points(partner_.api_key, member, 100);
  ASSERT_EQ(r.status, 201) << r.describe();
  const std::string id = r.json()["id"];
  std::this_thread::sleep_until(expires_at + 300ms);
  expect_balance(member, 0, 0, 100, "fully held lot after expiry");
  r = api().redemption_action(partner_.api_key, id, "capture", 70);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["points_captured"], 70);
  expect_balance(member, 0, 0, 0, "30 released after expiry expire at once");
}

TEST_F(PointsFlow, PartialCaptureReleasesTheRest) {
  setup();
  const std::string member = member_with(100);
  auto r = api().redeem_points(partner_.api_key, member, 60);
  ASSERT_EQ(r.status, 201) << r.describe();
  const std::string id = r.json()["id"];

  // Capturing more than held, or zero, is invalid_amount and changes nothing.
  r = api().redemption_action(partner_.api_key, id, "capture", 61);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "invalid_amount");
  r = api().redemption_action(partner_.api_key, id, "capture", 0);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "invalid_amount");
  expect_balance(member, 40, 0, 60, "after refused captures");

  r = api().redemption_action(partner_.api_key, id, "capture", 50);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["status"], "captured");
  EXPECT_EQ(r.json()["points_captured"], 50);
  expect_balance(member, 50, 0, 0, "capture 50 of 60");
  auto red = redemption(id);
  EXPECT_EQ(red["status"], "captured");
  EXPECT_EQ(red["points_captured"], 50);

  r = api().redemption_action(partner_.api_key, id, "capture");
  EXPECT_EQ(r.status, 409) << r.describe();
  EXPECT_EQ(code_of(r), "redemption_not_authorized");
}

TEST_F(PointsFlow, VoidReleasesAndAVoidedRedemptionCannotBeCaptured) {
  setup();
  const std::string member = member_with(100);
  auto r = api().redeem_points(partner_.api_key, member, 30);
  ASSERT_EQ(r.status, 201) << r.describe();
  const std::string id = r.json()["id"];
  expect_balance(member, 70, 0, 30, "held");
  r = api().redemption_action(partner_.api_key, id, "void");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["status"], "voided");
  expect_balance(member, 100, 0, 0, "voided");
  EXPECT_EQ(redemption(id)["status"], "voided");

  r = api().redemption_action(partner_.api_key, id, "capture");
  EXPECT_EQ(r.status, 409) << r.describe();
  EXPECT_EQ(code_of(r), "redemption_not_authorized");
  r = api().redemption_action(partner_.api_key, id, "void");
  EXPECT_EQ(r.status, 409) << r.describe();
  EXPECT_EQ(code_of(r), "redemption_not_authorized");
  expect_balance(member, 100, 0, 0, "after refused actions");
}

TEST_F(PointsFlow, RedemptionRefundPartialThenAll) {
  setup();
  const std::string member = member_with(100);
  auto r = api().redeem_points(partner_.api_key, member, 60, /*capture=*/true);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["status"], "captured");
  const std::string id = r.json()["id"];
  expect_balance(member, 40, 0, 0, "captured 60");

  r = api().redemption_action(partner_.api_key, id, "refund", 20);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["status"], "partially_refunded");
  EXPECT_EQ(r.json()["points_refunded"], 20);
  expect_balance(member, 60, 0, 0, "refunded 20");

  r = api().redemption_action(partner_.api_key, id, "refund", 41);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "refund_exceeds_redemption");
  expect_balance(member, 60, 0, 0, "after a refused refund");

  r = api().redemption_action(partner_.api_key, id, "refund");  // the rest: 40
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["status"], "refunded");
  EXPECT_EQ(r.json()["points_refunded"], 60);
  expect_balance(member, 100, 0, 0, "refunded all");
  auto red = redemption(id);
  EXPECT_EQ(red["status"], "refunded");
  EXPECT_EQ(red["points_refunded"], 60);

  r = api().redemption_action(partner_.api_key, id, "refund", 1);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "refund_exceeds_redemption");
}

TEST_F(PointsFlow, PurchaseRefundClawsBackFlooredShare) {
  setup({}, /*rule=*/37);
  const std::string phone = random_mobile();
  // A = 30000 → P = ⌊30000 × 37 / 10000⌋ = 111
  auto r = api().earn(partner_.api_key, "phone:" + phone, 30000);
  ASSERT_EQ(r.status, 201) << r.describe();
  ASSERT_EQ(r.json()["points"], 111);
  const std::string earn_id = r.json()["id"];
  const std::string member = r.json()["balance"].value("member_id", "");

  // R = 10000 → ⌊111 × 10000 / 30000⌋ = 37
  r = api().earn_refund(partner_.api_key, earn_id, 10000);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points_clawed_back"], 37);
  EXPECT_EQ(r.json()["balance"]["available"], 74);
  // R = 25001 → ⌊111 × 25001 / 30000⌋ = ⌊92.5037⌋ = 92 → 55 more
  r = api().earn_refund(partner_.api_key, earn_id, 15001);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points_clawed_back"], 55);
  expect_balance(member, 19, 0, 0, "after two refunds");

  // 25001 + 5000 > 30000
  r = api().earn_refund(partner_.api_key, earn_id, 5000);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "refund_exceeds_purchase");
  expect_balance(member, 19, 0, 0, "after a refused refund");

  // The rest: R = 30000 → 111 in all → 19 more
  r = api().earn_refund(partner_.api_key, earn_id, 4999);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points_clawed_back"], 19);
  expect_balance(member, 0, 0, 0, "fully refunded purchase");
  r = api().earn_refund(partner_.api_key, earn_id, 1);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "refund_exceeds_purchase");
}

TEST_F(PointsFlow, RefundOfSpentPointsLeavesADebtRepaidByTheNextEarn) {
  setup();
  const std::string phone = random_mobile();
  auto e = earn_points("phone:" + phone, 100);
  const std::string member = e["balance"].value("member_id", "");
  const std::string earn_id = e["id"];
  auto r = api().redeem_points(partner_.api_key, member, 100, /*capture=*/true);
  ASSERT_EQ(r.status, 201) << r.describe();
  expect_balance(member, 0, 0, 0, "all spent");

  r = api().earn_refund(partner_.api_key, earn_id, 10000);  // the whole purchase: 100 points
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points_clawed_back"], 100);
  expect_balance(member, -100, 0, 0, "debt");

  r = api().redeem_points(partner_.api_key, member, 1);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "insufficient_points");

  earn_points(member, 150);
  expect_balance(member, 50, 0, 0, "debt repaid by the next earn");
  auto b = balance(member);
  ASSERT_EQ(b["expiring"].size(), 1u) << b.dump();
  EXPECT_EQ(b["expiring"][0]["points"], 50);
}

// The wallet keeps finished records (captured redemptions, emptied lots) out of the member's state and
// brings them back when a command names one (wallet/archive.hpp): the state does not grow with the history,
// and every later answer is what it would have been.
TEST_F(PointsFlow, FinishedRecordsLeaveTheStateAndComeBackWhenNamed) {
  setup();
  const std::string phone = random_mobile();
  auto e = earn_points("phone:" + phone, 100);  // a purchase of 10,000 rial
  const std::string member = e["balance"].value("member_id", "");
  const std::string earn_id = e["id"];
  auto state_size = [&] {
    std::string out;
    EXPECT_EQ(mysql_batch(suite_env(), "SELECT LENGTH(" + kStateText + ") FROM member_states WHERE tenant_id = '" +
                                           tenant_.id + "' AND member_id = '" + member + "'", &out), 0) << out;
    return std::stoll(out);
  };
  std::string stored;
  EXPECT_EQ(mysql_batch(suite_env(), "SELECT HEX(LEFT(state, 1)), JSON_VALUE(" + kStateText + ", '$.points.debt') "
                                     "FROM member_states WHERE tenant_id = '" + tenant_.id + "' AND member_id = '" +
                                     member + "'", &stored), 0) << stored;
  EXPECT_EQ(stored, "01\t0\n") << "stored deflated, and the server's UNCOMPRESS reads the state from it";

  std::vector<std::string> ids;
  std::int64_t after_first = 0;
  for (int i = 0; i < 12; ++i) {  // 12 × 5 points, captured
    auto r = api().redeem_points(partner_.api_key, member, 5, /*capture=*/true);
    ASSERT_EQ(r.status, 201) << r.describe();
    ids.push_back(r.json()["id"]);
    if (i == 0) after_first = state_size();
  }
  expect_balance(member, 40, 0, 0, "12 captures");
  // One captured redemption in the state is ~400 bytes; the remaining-points figure and the sequence may
  // gain a digit.
  EXPECT_LE(state_size(), after_first + 8) << "captured redemptions stay out of the member's state";

  // The lot is emptied: it leaves the state too.
  auto all = api().redeem_points(partner_.api_key, member, 40, /*capture=*/true);
  ASSERT_EQ(all.status, 201) << all.describe();
  expect_balance(member, 0, 0, 0, "all spent");

  // Naming a finished redemption brings it (and its emptied lot) back: refused from its status, refunded
  // into its lot, shown with its receipt.
  const auto first_before = redemption(ids[0]);
  EXPECT_EQ(first_before["status"], "captured");
  EXPECT_EQ(first_before["points_captured"], 5);
  EXPECT_TRUE(first_before["receipt_id"].is_string() && !first_before["receipt_id"].get<std::string>().empty());
  auto r = api().redemption_action(partner_.api_key, ids[0], "capture");
  EXPECT_EQ(r.status, 409) << r.describe();
  EXPECT_EQ(code_of(r), "redemption_not_authorized");
  r = api().redemption_action(partner_.api_key, ids[0], "refund");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["status"], "refunded");
  EXPECT_EQ(r.json()["points_refunded"], 5);
  EXPECT_EQ(r.json()["receipt_id"], first_before["receipt_id"]);
  expect_balance(member, 5, 0, 0, "5 refunded into the lot");
  r = api().redemption_action(partner_.api_key, ids[0], "refund", 1);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "refund_exceeds_redemption");
  EXPECT_EQ(redemption(ids[0])["status"], "refunded");
  EXPECT_EQ(redemption(ids[5])["status"], "captured");

  // The purchase refunded whole: 100 points clawed back, the 5 in its lot and 95 as debt.
  r = api().earn_refund(partner_.api_key, earn_id, 10'000);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points_clawed_back"], 100);
  expect_balance(member, -95, 0, 0, "debt");
  r = api().earn_refund(partner_.api_key, earn_id, 1);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "refund_exceeds_purchase");
}

// A member who earns often and spends rarely: past a few dozen lots the wallet stores most of them apart from
// the state (wallet/cold_lots.hpp), so that its commands stop rewriting all of them. Every answer is what the
// test's own ledger of what it earned and spent says: earliest expiry first, a purchase refund from its own
// lot, one of those stored apart.
TEST_F(PointsFlow, AMemberWithManyLotsIsAnsweredAsAnyOther) {
  setup();
  const std::string phone = random_mobile();
  std::vector<std::string> earn_ids;
  std::vector<std::int64_t> left;  // points left per lot, in earn order (= expiry order: one points_ttl)
  std::string member;
  for (std::int64_t p = 1; p <= 70; ++p) {
    auto e = earn_points(member.empty() ? "phone:" + phone : member, p);
    if (member.empty()) member = e["balance"].value("member_id", "");
    earn_ids.push_back(e["id"]);
    left.push_back(p);
  }
  auto total = [&] { return std::accumulate(left.begin(), left.end(), std::int64_t{0}); };
  auto spend = [&](std::int64_t points) {  // earliest expiry first
    for (auto& p : left) {
      const auto take = std::min(p, points);
      p -= take;
      points -= take;
    }
  };
  auto expect_expiring = [&](const std::string& where) {
    std::vector<std::int64_t> want;
    for (auto p : left)
      if (p > 0 && want.size() < 10) want.push_back(p);
    const auto b = balance(member);
    std::vector<std::int64_t> got;
    for (const auto& x : b["expiring"]) got.push_back(x.value("points", -1));
    EXPECT_EQ(got, want) << where << ": " << b.dump();
  };
  expect_balance(member, total(), 0, 0, "70 earns");
  expect_expiring("70 earns");

  // Stored apart: the state row holds a few of the 70 lots, the rest are in cold_lots.
  auto lots_in = [&](const std::string& column) {
    std::string out;
    EXPECT_EQ(mysql_batch(suite_env(), "SELECT COALESCE(JSON_LENGTH(" + column + "), 0) FROM member_states WHERE "
                                       "tenant_id = '" + tenant_.id + "' AND member_id = '" + member + "'", &out), 0)
        << out;
    return std::stoll(out);
  };
  const auto in_state = lots_in("JSON_EXTRACT(" + kStateText + ", '$.points.lots')"), apart = lots_in("cold_lots");
  EXPECT_EQ(in_state + apart, 70);
  EXPECT_GE(apart, 20) << "most of an accumulating member's lots are stored apart";

  // 60 points, captured: lots 1–10 (55) and 5 of lot 11.
  auto r = api().redeem_points(partner_.api_key, member, 60, /*capture=*/true);
  ASSERT_EQ(r.status, 201) << r.describe();
  spend(60);
  expect_balance(member, total(), 0, 0, "60 redeemed");
  expect_expiring("60 redeemed");
  EXPECT_EQ(redemption(r.json()["id"])["points_captured"], 60);

  // The 30th purchase refunded whole: its 30 points come back out of its own lot, one stored apart.
  r = api().earn_refund(partner_.api_key, earn_ids[29], 30 * 100);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points_clawed_back"], 30);
  left[29] = 0;
  expect_balance(member, total(), 0, 0, "the 30th earn refunded");
  expect_expiring("the 30th earn refunded");

  // More earns, and a redemption across many lots: still the ledger's figures. Most of these earns leave the
  // cold lots unread (the wallet knows what they hold: wallet/cold_lots.hpp); each answer counts them all the same.
  auto wallet_cold_reads = [&](const std::string& read) {
    const auto r = suite_env().wallet_admin().get("/metrics");
    EXPECT_EQ(r.status, 200) << r.describe();
    return metric_in(r.body, "emtiaz_wallet_cold_lots_members_total{read=\"" + read + "\"}");
  };
  const auto unread_before = wallet_cold_reads("no");
  for (std::int64_t p = 71; p <= 110; ++p) {
    auto e = earn_points(member, p);
    earn_ids.push_back(e["id"]);
    left.push_back(p);
    EXPECT_EQ(e["balance"].value("available", -1), total()) << "earn " << p << ": " << e.dump();
    std::vector<std::int64_t> want, got;
    for (auto x : left)
      if (x > 0 && want.size() < 10) want.push_back(x);
    for (const auto& x : e["balance"]["expiring"]) got.push_back(x.value("points", -1));
    EXPECT_EQ(got, want) << "earn " << p << ": " << e.dump();
  }
  expect_balance(member, total(), 0, 0, "110 earns");
  expect_expiring("110 earns");
  // Other members' earns run beside this test, so only a floor: at least half of these 40 left them unread.
  EXPECT_GE(wallet_cold_reads("no") - unread_before, 20);

  // What the cold lots hold is stored beside them, and the audit checks it: one point more in the stored sum is a
  // difference it names (then the sum is put back, for the suite's own audit at its end).
  auto audit = [&](std::string* out) {
    const char* build = std::getenv("EMTIAZ_BUILD_DIR");
    const char* env = std::getenv("EMTIAZ_TEST_ENV");
    EXPECT_TRUE(build != nullptr && env != nullptr) << "run through scripts/test.sh";
    if (build == nullptr || env == nullptr) return -1;
    return run_shell(audit_command(env, tenant_.id), out);
  };
  auto shift_cold_points = [&](int by) {
    std::string out;
    EXPECT_EQ(mysql_batch(suite_env(), "UPDATE member_states SET cold_points = cold_points + (" + std::to_string(by) +
                                           ") WHERE tenant_id = '" + tenant_.id + "' AND member_id = '" + member +
                                           "' AND cold_points IS NOT NULL; SELECT ROW_COUNT()", &out), 0) << out;
    EXPECT_EQ(out.substr(0, 1), "1") << "the member's cold lots have a stored sum: " << out;
  };
  std::string audited;
  EXPECT_EQ(audit(&audited), 0) << audited;
  shift_cold_points(1);
  audited.clear();
  EXPECT_EQ(audit(&audited), 1) << audited;
  EXPECT_NE(audited.find("member " + member + ": its cold lots hold"), std::string::npos) << audited;
  shift_cold_points(-1);
  audited.clear();
  EXPECT_EQ(audit(&audited), 0) << audited;
  r = api().redeem_points(partner_.api_key, member, 700, /*capture=*/true);
  ASSERT_EQ(r.status, 201) << r.describe();
  spend(700);
  expect_balance(member, total(), 0, 0, "700 more redeemed");
  expect_expiring("700 more redeemed");
  r = api().earn_refund(partner_.api_key, earn_ids[99], 100 * 100);  // the 100th: 100 points from its lot
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points_clawed_back"], 100);
  left[99] = 0;
  expect_balance(member, total(), 0, 0, "the 100th earn refunded");
  expect_expiring("the 100th earn refunded");
}

TEST_F(PointsFlow, RedemptionByAmountRoundsUp) {
  setup({}, 100, /*redeem_value=*/1000);
  const std::string member = member_with(100);
  auto r = api().redeem_amount(partner_.api_key, member, 2500);  // ⌈2.5⌉ = 3
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points"], 3);
  EXPECT_EQ(r.json()["value_irr"], 3000);
  r = api().redeem_amount(partner_.api_key, member, 3000);  // exactly 3
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points"], 3);
  EXPECT_EQ(r.json()["value_irr"], 3000);
  r = api().redeem_amount(partner_.api_key, member, 1);  // ⌈0.001⌉ = 1
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points"], 1);
  EXPECT_EQ(r.json()["value_irr"], 1000);
  expect_balance(member, 93, 0, 7, "three holds");
  r = api().redeem_amount(partner_.api_key, member, 93001);  // 94 points > 93
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "insufficient_points");
}

TEST_F(PointsFlow, TransactionsNewestFirstWithCursorPages) {
  setup();
  const std::string member = member_with(11);
  for (std::int64_t p : {12, 13, 14, 15}) earn_points(member, p);

  std::vector<std::int64_t> seen;
  std::string cursor;
  int pages = 0;
  for (; pages < 10; ++pages) {
    std::string target = "/v1/members/" + member + "/transactions?limit=2";
    if (!cursor.empty()) target += "&cursor=" + ApiClient::member_path(cursor);
    auto r = api().get(target, partner_.api_key);
    ASSERT_EQ(r.status, 200) << r.describe();
    auto j = r.json();
    ASSERT_TRUE(j["items"].is_array()) << r.body;
    EXPECT_LE(j["items"].size(), 2u);
    for (const auto& it : j["items"]) {
      EXPECT_EQ(it["type"], "earn") << it.dump();
      EXPECT_TRUE(it.contains("at") || it.contains("created_at") || it.contains("time")) << it.dump();
      seen.push_back(it.value("points", -1));
    }
    ASSERT_TRUE(j.contains("next_cursor")) << r.body;
    if (j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"];
  }
  EXPECT_EQ(pages + 1, 3);
  EXPECT_EQ(seen, (std::vector<std::int64_t>{15, 14, 13, 12, 11}));

  auto r = api().get("/v1/members/" + member + "/transactions?limit=101", partner_.api_key);
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "invalid_field");
}

TEST_F(PointsFlow, APartnerCannotSeeOrActOnAnotherPartnersRedemptionOrEarn) {
  setup();
  auto other = api().create_partner(tenant_);
  ASSERT_FALSE(other.api_key.empty());
  const std::string phone = random_mobile();
  auto e = earn_points("phone:" + phone, 100);
  const std::string member = e["balance"].value("member_id", "");
  const std::string earn_id = e["id"];
  auto r = api().redeem_points(partner_.api_key, member, 40);
  ASSERT_EQ(r.status, 201) << r.describe();
  const std::string red_id = r.json()["id"];

  r = api().get("/v1/redemptions/" + red_id, other.api_key);
  EXPECT_EQ(r.status, 404) << r.describe();
  for (const char* action : {"capture", "void", "refund"}) {
    r = api().redemption_action(other.api_key, red_id, action);
    EXPECT_EQ(r.status, 404) << action << ": " << r.describe();
  }
  r = api().earn_refund(other.api_key, earn_id, 10000);
  EXPECT_EQ(r.status, 404) << r.describe();
  expect_balance(member, 60, 0, 40, "after the other partner's attempts");

  // The other partner does see the member's balance, and the owner still acts on its redemption.
  auto b = api().balance(other.api_key, member);
  EXPECT_EQ(b.value("available", -1), 60) << b.dump();
  r = api().redemption_action(partner_.api_key, red_id, "void");
  EXPECT_EQ(r.status, 200) << r.describe();
}

TEST_F(PointsFlow, AnotherTenantsMemberIsNotFound) {
  setup();
  const std::string phone = random_mobile();
  auto e = earn_points("phone:" + phone, 100);
  const std::string member = e["balance"].value("member_id", "");
  const std::string earn_id = e["id"];
  auto r = api().redeem_points(partner_.api_key, member, 10);
  ASSERT_EQ(r.status, 201) << r.describe();
  const std::string red_id = r.json()["id"];

  auto tenant_b = api().create_tenant();
  auto partner_b = api().create_partner(tenant_b);
  ASSERT_FALSE(partner_b.api_key.empty());

  EXPECT_EQ(api().get("/v1/members/" + member, partner_b.api_key).status, 404);
  EXPECT_EQ(api().balance_response(partner_b.api_key, member).status, 404);
  EXPECT_EQ(api().get("/v1/members/" + member + "/transactions", partner_b.api_key).status, 404);
  EXPECT_EQ(api().balance_response(tenant_b.operator_token, member).status, 404);
  r = api().earn(partner_b.api_key, member, 10000);
  EXPECT_EQ(r.status, 404) << r.describe();
  r = api().redeem_points(partner_b.api_key, member, 1);
  EXPECT_EQ(r.status, 404) << r.describe();
  r = api().adjust(tenant_b.operator_token, member, 5);
  EXPECT_EQ(r.status, 404) << r.describe();
  EXPECT_EQ(api().get("/v1/redemptions/" + red_id, partner_b.api_key).status, 404);
  EXPECT_EQ(api().get("/v1/redemptions/" + red_id, tenant_b.operator_token).status, 404);
  EXPECT_EQ(api().earn_refund(partner_b.api_key, earn_id, 100).status, 404);
  expect_balance(member, 90, 0, 10, "untouched by the other tenant");

  // The same phone in tenant B is a different member.
  r = api().earn(partner_b.api_key, "phone:" + phone, 500);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_NE(r.json()["balance"].value("member_id", ""), member);
  EXPECT_EQ(r.json()["balance"]["available"], 5);
}

// An earn's id names its member, so that a purchase refund goes to the member's partition with no look-up
// (wallet/earn_ids.hpp). The name decides only where the refund is applied: an id naming another member, or a
// member that does not exist, is an unknown earn (404) with no effect on anyone; and an earn whose id names no
// member (a member id of another form, as earns made before ids named members) is found in MySQL as before.
TEST_F(PointsFlow, AnEarnIdNamesItsMemberAndOnlyThatMembersEarnIsRefunded) {
  setup();
  auto a = earn_points("phone:" + random_mobile(), 100);
  auto b = earn_points("phone:" + random_mobile(), 100);
  const std::string member_a = a["balance"].value("member_id", "");
  const std::string member_b = b["balance"].value("member_id", "");
  const std::string earn_a = a["id"];
  ASSERT_EQ(earn_a.size(), 40u) << earn_a;
  ASSERT_EQ(member_a.rfind("mem_", 0), 0u) << member_a;
  const auto sep = earn_a.find('_', 4);
  ASSERT_NE(sep, std::string::npos) << earn_a;
  EXPECT_EQ(earn_a.substr(sep + 1), member_a.substr(4)) << earn_a << " names " << member_a;

  const double by_id = earn_owner_lookups("id"), by_mysql = earn_owner_lookups("mysql");
  // a's earn, renamed to name b: b has no such earn, and a's purchase is untouched.
  const std::string random_part = earn_a.substr(4, sep - 4);
  const std::string suffix_b = member_b.substr(4);
  const std::string forged = "ern_" + random_part.substr(0, 35 - suffix_b.size()) + "_" + suffix_b;
  auto r = api().earn_refund(partner_.api_key, forged, 10000);
  EXPECT_EQ(r.status, 404) << forged << ": " << r.describe();
  EXPECT_EQ(code_of(r), "not_found") << r.body;
  // A member that does not exist: nothing is made for it.
  const std::string nobody = "mem_" + std::string(24, 'Q');
  const std::string nobodys_earn = "ern_" + std::string(11, 'x') + "_" + nobody.substr(4);
  r = api().earn_refund(partner_.api_key, nobodys_earn, 10000);
  EXPECT_EQ(r.status, 404) << r.describe();
  EXPECT_EQ(api().get("/v1/members/" + nobody, partner_.api_key).status, 404);
  std::string rows;
  ASSERT_EQ(mysql_batch(suite_env(), "SELECT COUNT(*) FROM member_states WHERE tenant_id = '" + tenant_.id +
                                         "' AND member_id = '" + nobody + "'", &rows), 0) << rows;
  EXPECT_EQ(rows.substr(0, rows.find_first_of("\r\n")), "0") << "a row for a member that does not exist";
  expect_balance(member_a, 100, 0, 0, "a, after refunds naming others");
  expect_balance(member_b, 100, 0, 0, "b, after a refund of a's earn naming b");

  // The real id: refunded from a's own lot.
  r = api().earn_refund(partner_.api_key, earn_a, 10000);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points_clawed_back"], 100);
  expect_balance(member_a, 0, 0, 0, "a, refunded");
  expect_balance(member_b, 100, 0, 0, "b, after a's refund");
  // Each of the three went to the member its id names, none through MySQL.
  EXPECT_EQ(earn_owner_lookups("id") - by_id, 3);
  EXPECT_EQ(earn_owner_lookups("mysql") - by_mysql, 0);

  // A member whose id is of another form (written here as an older network might have): its earns' ids name
  // no member, and a refund of one is found in MySQL.
  const std::string phone = random_mobile();
  const std::string old_member = "mem_pre-" + std::to_string(std::hash<std::string>{}(phone) % 1000000007);
  std::string card = "9";
  for (char c : phone.substr(1)) card += c;
  card += "00000";
  ASSERT_EQ(card.size(), 16u);
  ASSERT_EQ(mysql_batch(suite_env(), "INSERT INTO members (tenant_id, id, phone, card, created_at) VALUES ('" +
                                         tenant_.id + "', '" + old_member + "', '" + mobile_e164(phone) + "', '" +
                                         card + "', UTC_TIMESTAMP(6))", &rows), 0) << rows;
  auto old = earn_points(old_member, 50);
  const std::string old_earn = old["id"];
  EXPECT_EQ(old_earn.find('_', 4), std::string::npos) << old_earn;
  r = api().earn_refund(partner_.api_key, old_earn, 2500);  // half the purchase: 25 points
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points_clawed_back"], 25);
  expect_balance(old_member, 25, 0, 0, "the older member, half refunded");
  EXPECT_EQ(earn_owner_lookups("id") - by_id, 3);
  EXPECT_EQ(earn_owner_lookups("mysql") - by_mysql, 1);
}

TEST_F(PointsFlow, OperatorAdjustments) {
  setup();
  const std::string member = member_with(10);
  auto r = api().adjust(tenant_.operator_token, member, 50, "goodwill");
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["type"], "adjustment");
  EXPECT_EQ(r.json()["points"], 50);
  EXPECT_EQ(r.json()["reason"], "goodwill");
  EXPECT_EQ(r.json()["balance"]["available"], 60) << r.body;
  r = api().adjust(tenant_.operator_token, member, -20, "correction");
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["points"], -20);
  expect_balance(member, 40, 0, 0, "+50 −20");
  r = api().adjust(tenant_.operator_token, member, -100, "fraud");
  ASSERT_EQ(r.status, 201) << r.describe();
  expect_balance(member, -60, 0, 0, "a negative adjustment may leave a debt");
  r = api().adjust(tenant_.operator_token, member, 70, "repay");
  ASSERT_EQ(r.status, 201) << r.describe();
  expect_balance(member, 10, 0, 0, "debt repaid by a positive adjustment");

  r = api().adjust(tenant_.operator_token, member, 0, "nothing");
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "invalid_amount");
  r = api().post("/v1/adjustments", tenant_.operator_token, {{"member", member}, {"points", 5}},
                 new_idempotency_key());
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(code_of(r), "invalid_field");
  if (r.status == 422) { EXPECT_EQ(r.json().value("field", ""), "reason") << r.body; }
  // Partners may not adjust.
  r = api().adjust(partner_.api_key, member, 5);
  EXPECT_EQ(r.status, 403) << r.describe();
  expect_balance(member, 10, 0, 0, "after refused adjustments");
}

// A member row the wallet cannot read (here its deflated stream is cut short, as a damaged disk or a bad manual
// fix could leave it) refuses that member's commands with a problem and no effect, and only those: the other
// members' earns, sent at the same moment (the wallet takes most of them in the same batches as it), are applied. Once the row is repaired, a retry under the same
// Idempotency-Key is applied, once.
// A tenant's ledger can sum past int64 though no member's holdings do (each is checked against it: points::
// holdings_fit): ten thousand earns of the largest amount. The audit's sums are 128 bits wide; here the ledger gets
// movements of 5·10^18 points (two earns and two expiries of the member's lot, written straight into MySQL as
// the wallet would write them), whose totals pass int64 and cancel out.
TEST_F(PointsFlow, TheAuditSumsALedgerPastInt64) {
  setup();
  const std::string member = member_with(100);
  ASSERT_FALSE(member.empty());
  const char* env_file = std::getenv("EMTIAZ_TEST_ENV");
  ASSERT_NE(env_file, nullptr) << "run through scripts/test.sh";
  auto audit = [&](std::string* out) { return run_shell(audit_command(env_file, tenant_.id), out); };
  auto add_movement = [&](const std::string& type, const std::string& points) {
    std::string out;
    ASSERT_EQ(mysql_batch(suite_env(),
                          "INSERT INTO ledger_entries (tenant_id, member_id, txn_id, type, points, lot_id, issuer, "
                          "issue_price_irr, fee_bps, partner_id, redemption_id, redeem_value_irr, at, committed_at) "
                          "SELECT tenant_id, member_id, CONCAT('txn_audit_', UUID_SHORT()), '" + type + "', " + points +
                              ", lot_id, issuer, issue_price_irr, fee_bps, partner_id, '', 0, at, committed_at "
                              "FROM ledger_entries WHERE tenant_id = '" + tenant_.id + "' AND type = 'earn' "
                              "ORDER BY id LIMIT 1",
                          &out), 0) << out;
  };
  std::string audited;
  ASSERT_EQ(audit(&audited), 0) << audited;
  for (int i = 0; i < 2; ++i) add_movement("earn", "5000000000000000000");
  for (int i = 0; i < 2; ++i) add_movement("lot_expiry", "5000000000000000000");
  audited.clear();
  EXPECT_EQ(audit(&audited), 0) << "issued 10^19 + 100, expired 10^19: 100 left, as the member holds\n" << audited;
  EXPECT_NE(audited.find("1 members, 5 ledger entries: ok"), std::string::npos) << audited;
  // Two earns more, without their expiries: the ledger leaves 10^19 + 100 in the issuer's lots, and the audit
  // says so, whole.
  for (int i = 0; i < 2; ++i) add_movement("earn", "5000000000000000000");
  audited.clear();
  EXPECT_EQ(audit(&audited), 1) << audited;
  EXPECT_NE(audited.find("issuer " + partner_.id + ": ledger leaves 10000000000000000100 points in its lots, "
                         "member states hold 100"), std::string::npos) << audited;
  std::string out;
  ASSERT_EQ(mysql_batch(suite_env(), "DELETE FROM ledger_entries WHERE tenant_id = '" + tenant_.id +
                                         "' AND points = 5000000000000000000", &out), 0) << out;
  audited.clear();
  EXPECT_EQ(audit(&audited), 0) << audited;
}

TEST_F(PointsFlow, AnUnreadableMemberRowRefusesOnlyItsOwnCommands) {
  setup();
  const std::string member = member_with(100);
  ASSERT_FALSE(member.empty());
  const std::string where = " WHERE tenant_id = '" + tenant_.id + "' AND member_id = '" + member + "'";
  const auto row = mysql_rows(suite_env(), "SELECT HEX(state) FROM member_states" + where);
  ASSERT_TRUE(row && row->size() == 1 && row->front().size() == 1);
  const std::string saved = row->front()[0];
  ASSERT_GT(saved.size(), 24u) << saved;
  std::string out;
  ASSERT_EQ(mysql_batch(suite_env(), "UPDATE member_states SET state = LEFT(state, 12)" + where, &out), 0) << out;

  auto unreadable_count = [&] {
    const auto r = suite_env().wallet_admin().get("/metrics");
    EXPECT_EQ(r.status, 200) << r.describe();
    return metric_in(r.body, "emtiaz_wallet_unreadable_states_total");
  };
  const double before = unreadable_count();
  const std::string key = new_idempotency_key(), receipt = "rcpt-unreadable-" + key;

  constexpr int kOthers = 16;  // new members, earning 50 points each beside the damaged member's earn
  std::vector<HttpResponse> answers(kOthers + 1);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  const auto& env = suite_env();
  std::vector<std::string> others;
  for (int i = 0; i < kOthers; ++i) others.push_back("phone:" + random_mobile());
  for (int i = 0; i <= kOthers; ++i) {
    threads.emplace_back([&, i] {
      ApiClient client(env.url(), env.admin_token());
      while (!go.load()) std::this_thread::yield();
      answers[i] = i == 0 ? client.earn(partner_.api_key, member, 10000, receipt, key)
                          : client.earn(partner_.api_key, others[i - 1], 5000);
    });
  }
  go = true;
  for (auto& t : threads) t.join();

  EXPECT_EQ(answers[0].status, 500) << answers[0].describe();
  EXPECT_EQ(code_of(answers[0]), "internal") << answers[0].describe();
  EXPECT_EQ(answers[0].header("Content-Type").rfind("application/problem+json", 0), 0u) << answers[0].describe();
  for (int i = 1; i <= kOthers; ++i) {
    EXPECT_EQ(answers[i].status, 201) << "member " << i << ": " << answers[i].describe();
    if (answers[i].status == 201) { EXPECT_EQ(answers[i].json().value("points", -1), 50) << answers[i].body; }
  }
  EXPECT_GE(unreadable_count(), before + 1) << "the wallet counts the member it set apart";
  std::string stored;
  ASSERT_EQ(mysql_batch(suite_env(), "SELECT LENGTH(state) FROM member_states" + where, &stored), 0) << stored;
  EXPECT_EQ(stored, "12\n") << "nothing of the refused earn was written";
  // A read that finds nothing in Redis reads the row too, and answers a problem document.
  ASSERT_EQ(redis_cli(suite_env(),
                      {"DEL", "emtiaz:{t:" + tenant_.id + ":" + member + "}:state",
                       "emtiaz:{t:" + tenant_.id + ":" + member + "}:balance"}, &out), 0) << out;
  auto read = api().balance_response(partner_.api_key, member);
  EXPECT_EQ(read.status, 500) << read.describe();
  EXPECT_EQ(code_of(read), "internal") << read.describe();
  // The audit names the member and goes on (exit 1: something differs), rather than stopping (exit 2).
  const char* env_file = std::getenv("EMTIAZ_TEST_ENV");
  ASSERT_NE(env_file, nullptr) << "run through scripts/test.sh";
  std::string audited;
  EXPECT_EQ(run_shell(audit_command(env_file, tenant_.id), &audited), 1) << audited;
  EXPECT_NE(audited.find("member " + member + ": its stored state cannot be read"), std::string::npos) << audited;

  // Repaired (as an operator restores it from a backup): the same request is applied now, and only once.
  ASSERT_EQ(mysql_batch(suite_env(), "UPDATE member_states SET state = UNHEX('" + saved + "')" + where, &out), 0)
      << out;
  auto r = api().earn(partner_.api_key, member, 10000, receipt, key);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_NE(r.header("Idempotent-Replayed"), "true") << "a 500 is not stored: the retry is applied";
  EXPECT_EQ(r.json().value("points", -1), 100) << r.body;
  r = api().earn(partner_.api_key, member, 10000, receipt, key);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.header("Idempotent-Replayed"), "true") << r.describe();
  expect_balance(member, 200, 0, 0, "the first earn and the repaired member's earn, once");
}

}  // namespace
}  // namespace emtiaz::tests
