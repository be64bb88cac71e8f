// The control plane through HTTP against the suite's network: tenants, operators, partners, keys, members,
// idempotent replay of non-moving POSTs, and list pagination. Every expected value comes from what the test
// sent, never from the service's tables.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

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

class ControlPlane : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& env = suite_env();
    http_ = std::make_unique<HttpClient>(env.url());
    admin_ = env.admin_token();
  }

  HttpClient& http() { return *http_; }
  Headers as(const std::string& token, Headers extra = {}) {
    extra.push_back(bearer(token));
    return extra;
  }

  // A new tenant; returns {tenant json, operator token}.
  std::pair<json, std::string> new_tenant(json body = json::object()) {
    if (!body.contains("name")) body["name"] = "Coalition " + unique_suffix();
    auto r = http().post("/v1/tenants", body, as(admin_));
    EXPECT_EQ(r.status, 201) << r.describe();
    auto j = r.json();
    return {j, j.value("operator_token", "")};
  }

  json partner_body(const std::string& name) {
    return {{"name", name}, {"category", "cafe"}, {"issue_price_irr", 1000}, {"redeem_value_irr", 900},
            {"fee_bps", 150}, {"earn", {{"points_per_10k_irr", 10}}}};
  }

  // A new partner of the operator's tenant; returns the 201 body (with api_key and key_id).
  json new_partner(const std::string& op, const std::string& name = "Partner") {
    auto r = http().post("/v1/partners", partner_body(name + " " + unique_suffix()), as(op));
    EXPECT_EQ(r.status, 201) << r.describe();
    return r.json();
  }

  std::string admin_;

 private:
  std::unique_ptr<HttpClient> http_;
};

TEST_F(ControlPlane, TenantCreationIsForTheAdminOnly) {
  const std::string name = "ائتلاف شهر " + unique_suffix();
  auto r = http().post("/v1/tenants", {{"name", name}, {"calendar", "gregorian"}, {"hold_ttl", "PT30S"}}, as(admin_));
  ASSERT_EQ(r.status, 201) << r.describe();
  auto t = r.json();
  EXPECT_EQ(t["name"], name);
  EXPECT_EQ(t["timezone"], "Asia/Tehran");
  EXPECT_EQ(t["calendar"], "gregorian");
  EXPECT_EQ(t["points_ttl"], "P12M");
  EXPECT_EQ(t["pending_period"], "P0D");
  EXPECT_EQ(t["hold_ttl"], "PT30S");
  EXPECT_EQ(t["auto_enroll"], true);
  EXPECT_TRUE(t["id"].is_string());
  EXPECT_TRUE(t["created_at"].get<std::string>().ends_with("+03:30")) << t["created_at"];
  const std::string op = t["operator_token"];
  ASSERT_FALSE(op.empty());

  EXPECT_EQ(http().post("/v1/tenants", {{"name", "x"}}, as(op)).status, 403);
  EXPECT_EQ(http().post("/v1/tenants", {{"name", "x"}}).status, 401);
  EXPECT_EQ(http().post("/v1/tenants", {{"name", "x"}}, as("op_not-a-real-token")).status, 401);
  EXPECT_EQ(http().post("/v1/tenants", {{"name", "x"}}, as(admin_ + "x")).status, 401);

  // The admin is not an operator.
  EXPECT_EQ(http().get("/v1/tenant", as(admin_)).status, 403);
}

TEST_F(ControlPlane, TenantInputIsValidated) {
  auto bad = [&](const json& body, const std::string& field) {
    auto r = http().post("/v1/tenants", body, as(admin_));
    EXPECT_EQ(r.status, 422) << body.dump() << " " << r.describe();
    if (r.status == 422) {
      EXPECT_EQ(r.json()["code"], "invalid_field");
      EXPECT_EQ(r.json()["field"], field);
    }
  };
  bad(json::object(), "name");
  bad({{"name", "x"}, {"timezone", "Asia/Nowhere"}}, "timezone");
  bad({{"name", "x"}, {"calendar", "lunar"}}, "calendar");
  bad({{"name", "x"}, {"points_ttl", "P0D"}}, "points_ttl");
  bad({{"name", "x"}, {"pending_period", "1 day"}}, "pending_period");
  bad({{"name", "x"}, {"hold_ttl", "PT0S"}}, "hold_ttl");
  bad({{"name", "x"}, {"auto_enroll", "yes"}}, "auto_enroll");
  auto r = http().request("POST", "/v1/tenants", as(admin_), "{\"name\": ");
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_EQ(r.json()["code"], "malformed_json");
}

TEST_F(ControlPlane, OperatorSeesAndChangesOnlyItsOwnTenant) {
  auto [a, op_a] = new_tenant();
  auto [b, op_b] = new_tenant({{"timezone", "Europe/Berlin"}});

  auto r = http().get("/v1/tenant", as(op_a));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["id"], a["id"]);
  EXPECT_FALSE(r.json().contains("operator_token"));

  r = http().patch("/v1/tenant", {{"hold_ttl", "PT5S"}, {"auto_enroll", false}}, as(op_a));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["hold_ttl"], "PT5S");
  EXPECT_EQ(r.json()["auto_enroll"], false);
  EXPECT_EQ(r.json()["points_ttl"], "P12M");
  r = http().get("/v1/tenant", as(op_a));
  EXPECT_EQ(r.json()["hold_ttl"], "PT5S");
  r = http().patch("/v1/tenant", {{"name", "renamed"}}, as(op_a));
  EXPECT_EQ(r.status, 422) << r.describe();

  // B is untouched and lives in its own zone.
  r = http().get("/v1/tenant", as(op_b));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["id"], b["id"]);
  EXPECT_EQ(r.json()["hold_ttl"], "PT15M");
  EXPECT_EQ(r.json()["timezone"], "Europe/Berlin");

  // A's partner is invisible to B's operator: 404 exactly as for a partner that does not exist.
  auto pa = new_partner(op_a);
  const std::string pa_id = pa["id"];
  auto other = http().get("/v1/partners/" + pa_id, as(op_b));
  auto none = http().get("/v1/partners/prt_doesnotexist", as(op_b));
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(other.json()["code"], none.json()["code"]);
  EXPECT_EQ(http().patch("/v1/partners/" + pa_id, {{"status", "suspended"}}, as(op_b)).status, 404);
  EXPECT_EQ(http().post("/v1/partners/" + pa_id + "/keys", json::object(), as(op_b)).status, 404);
  EXPECT_EQ(http().del("/v1/partners/" + pa_id + "/keys/" + pa["key_id"].get<std::string>(), as(op_b)).status, 404);
  auto list_b = http().get("/v1/partners", as(op_b));
  ASSERT_EQ(list_b.status, 200);
  const auto list_b_json = list_b.json();  // kept: a range-for over a temporary's member would dangle
  for (const auto& p : list_b_json["items"]) EXPECT_NE(p["id"], pa_id);
  // Partners cannot manage partners.
  EXPECT_EQ(http().get("/v1/partners", as(pa["api_key"])).status, 403);
  EXPECT_EQ(http().get("/v1/tenant", as(pa["api_key"])).status, 403);
}

TEST_F(ControlPlane, PartnerWithAPersianNameIsReturnedByteForByte) {
  auto [t, op] = new_tenant();
  const std::string name = "کافه‌ی نادری ۱۴۰۴ — شعبه‌ی «تجریش»";  // ZWNJ, Persian digits, guillemets
  auto body = partner_body(name);
  body["rate_limit_per_s"] = 50;
  auto r = http().post("/v1/partners", body, as(op));
  ASSERT_EQ(r.status, 201) << r.describe();
  auto p = r.json();
  EXPECT_EQ(p["name"].get<std::string>(), name);
  EXPECT_NE(r.body.find(name), std::string::npos) << "the name is not in the body as raw UTF-8";
  EXPECT_EQ(p["category"], "cafe");
  EXPECT_EQ(p["status"], "active");
  EXPECT_EQ(p["issue_price_irr"], 1000);
  EXPECT_EQ(p["redeem_value_irr"], 900);
  EXPECT_EQ(p["fee_bps"], 150);
  EXPECT_EQ(p["earn"]["points_per_10k_irr"], 10);
  EXPECT_EQ(p["rate_limit_per_s"], 50);
  EXPECT_TRUE(p["api_key"].is_string());
  EXPECT_TRUE(p["key_id"].is_string());

  r = http().get("/v1/partners/" + p["id"].get<std::string>(), as(op));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["name"].get<std::string>(), name);
  EXPECT_FALSE(r.json().contains("api_key"));
  EXPECT_EQ(r.json()["created_at"], p["created_at"]);

  // Prices change, history does not matter here: the answer shows the new values.
  r = http().patch("/v1/partners/" + p["id"].get<std::string>(),
                   {{"issue_price_irr", 1200}, {"earn", {{"points_per_10k_irr", 20}}}, {"rate_limit_per_s", nullptr}}, as(op));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["issue_price_irr"], 1200);
  EXPECT_EQ(r.json()["redeem_value_irr"], 900);
  EXPECT_EQ(r.json()["earn"]["points_per_10k_irr"], 20);
  EXPECT_TRUE(r.json()["rate_limit_per_s"].is_null());
  EXPECT_EQ(r.json()["name"].get<std::string>(), name);
}

TEST_F(ControlPlane, PartnerInputIsValidated) {
  auto [t, op] = new_tenant();
  auto expect = [&](json body, int status, const std::string& code, const std::string& field) {
    auto r = http().post("/v1/partners", body, as(op));
    EXPECT_EQ(r.status, status) << body.dump() << " " << r.describe();
    if (r.status == status) {
      EXPECT_EQ(r.json()["code"], code);
      EXPECT_EQ(r.json().value("field", ""), field);
    }
  };
  auto b = partner_body("x");
  auto with = [&](const char* k, json v) {
    auto c = b;
    c[k] = v;
    return c;
  };
  expect(with("name", ""), 422, "invalid_field", "name");
  expect(with("issue_price_irr", -5), 422, "invalid_amount", "issue_price_irr");
  expect(with("redeem_value_irr", 1.5), 422, "invalid_amount", "redeem_value_irr");
  expect(with("redeem_value_irr", "900"), 422, "invalid_field", "redeem_value_irr");
  expect(with("issue_price_irr", 1000000000000001LL), 422, "invalid_amount", "issue_price_irr");
  expect(with("fee_bps", 10001), 422, "invalid_field", "fee_bps");
  expect(with("earn", {{"points_per_10k_irr", -1}}), 422, "invalid_field", "earn.points_per_10k_irr");
  auto no_name = b;
  no_name.erase("name");
  expect(no_name, 422, "invalid_field", "name");
  auto r = http().request("POST", "/v1/partners", as(op), "not json");
  EXPECT_EQ(r.status, 400);
  auto list = http().get("/v1/partners", as(op));
  EXPECT_TRUE(list.json()["items"].empty()) << "a rejected request must have no effect";
}

TEST_F(ControlPlane, MintedKeysWorkAndRevokedKeysStopWithinOneSecond) {
  auto [t, op] = new_tenant();
  auto p = new_partner(op);
  const std::string pid = p["id"], key1 = p["api_key"], key1_id = p["key_id"];

  auto r = http().post("/v1/partners/" + pid + "/keys", json::object(), as(op));
  ASSERT_EQ(r.status, 201) << r.describe();
  const std::string key2 = r.json()["api_key"], key2_id = r.json()["key_id"];
  EXPECT_NE(key2, key1);
  EXPECT_NE(key2_id, key1_id);
  // A key's principal can use partner routes.
  EXPECT_EQ(http().post("/v1/members", {{"phone", "09121111111"}}, as(key1)).status, 201);
  EXPECT_EQ(http().get("/v1/members/phone:09121111111", as(key2)).status, 200);

  // Revoke key1: 401 within one second; key2 keeps working.
  r = http().del("/v1/partners/" + pid + "/keys/" + key1_id, as(op));
  ASSERT_EQ(r.status, 204) << r.describe();
  const auto revoked_at = std::chrono::steady_clock::now();
  bool stopped = wait_until([&] { return http().get("/v1/members/phone:09121111111", as(key1)).status == 401; },
                            1000ms, 50ms);
  EXPECT_TRUE(stopped) << "a revoked key still worked after 1 s";
  EXPECT_LE(std::chrono::steady_clock::now() - revoked_at, 1100ms);
  EXPECT_EQ(http().get("/v1/members/phone:09121111111", as(key2)).status, 200);
  // Revoking again is idempotent; unknown keys and other partners' keys are 404.
  EXPECT_EQ(http().del("/v1/partners/" + pid + "/keys/" + key1_id, as(op)).status, 204);
  EXPECT_EQ(http().del("/v1/partners/" + pid + "/keys/key_doesnotexist", as(op)).status, 404);
  auto q = new_partner(op, "Other");
  EXPECT_EQ(http().del("/v1/partners/" + q["id"].get<std::string>() + "/keys/" + key2_id, as(op)).status, 404);
  EXPECT_EQ(http().get("/v1/members/phone:09121111111", as(key2)).status, 200);
  EXPECT_EQ(http().post("/v1/partners/prt_doesnotexist/keys", json::object(), as(op)).status, 404);
}

TEST_F(ControlPlane, SuspendedPartnerGets403WithinOneSecondAndComesBack) {
  auto [t, op] = new_tenant();
  auto p = new_partner(op);
  const std::string pid = p["id"], key = p["api_key"];
  ASSERT_EQ(http().post("/v1/members", {{"phone", "09122222222"}}, as(key)).status, 201);

  auto r = http().patch("/v1/partners/" + pid, {{"status", "suspended"}}, as(op));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["status"], "suspended");
  HttpResponse last;
  bool blocked = wait_until(
      [&] {
        last = http().get("/v1/members/phone:09122222222", as(key));
        return last.status == 403;
      },
      1000ms, 50ms);
  ASSERT_TRUE(blocked) << last.describe();
  EXPECT_EQ(last.json()["code"], "partner_suspended");

  ASSERT_EQ(http().patch("/v1/partners/" + pid, {{"status", "active"}}, as(op)).status, 200);
  EXPECT_TRUE(wait_until([&] { return http().get("/v1/members/phone:09122222222", as(key)).status == 200; }, 1000ms, 50ms));
  EXPECT_EQ(http().patch("/v1/partners/" + pid, {{"status", "closed"}}, as(op)).status, 422);
}

// A PATCH of a partner holds for the very next command, whatever a gateway has cached: the wallet applies
// each command with the tenant and partner as they are in its own transaction. A command refused because
// the partner is suspended is not recorded, so the same key works once the partner is active again.
TEST_F(ControlPlane, APartnerPatchHoldsForTheVeryNextCommand) {
  auto [t, op] = new_tenant({{"pending_period", "P0D"}});
  auto p = new_partner(op);  // 10 points per 10,000 IRR, redeem value 900
  const std::string pid = p["id"], key = p["api_key"];
  const std::string member = "phone:09124444444";
  auto earn = [&](const std::string& idem, std::int64_t amount) {
    return http().post("/v1/earn", {{"member", member}, {"amount_irr", amount}, {"receipt_id", "r-" + idem}},
                       as(key, {{"Idempotency-Key", idem}}));
  };
  const auto s = unique_suffix();
  auto first = earn("e1-" + s, 100'000);
  ASSERT_EQ(first.status, 201) << first.describe();
  EXPECT_EQ(first.json()["points"], 100);  // 100,000 IRR x 10 / 10,000

  // A new earn rule: the next earn, sent at once, is priced with it.
  ASSERT_EQ(http().patch("/v1/partners/" + pid, {{"earn", {{"points_per_10k_irr", 30}}}}, as(op)).status, 200);
  auto second = earn("e2-" + s, 100'000);
  ASSERT_EQ(second.status, 201) << second.describe();
  EXPECT_EQ(second.json()["points"], 300);
  EXPECT_EQ(second.json()["balance"]["available"], 400);

  // Suspended: the next command is refused and moves nothing.
  ASSERT_EQ(http().patch("/v1/partners/" + pid, {{"status", "suspended"}}, as(op)).status, 200);
  auto refused = earn("e3-" + s, 200'000);
  EXPECT_EQ(refused.status, 403) << refused.describe();
  EXPECT_EQ(refused.json()["code"], "partner_suspended");

  // Active again: the same key is applied once (the refusal was not its outcome), and a retry replays it.
  ASSERT_EQ(http().patch("/v1/partners/" + pid, {{"status", "active"}}, as(op)).status, 200);
  HttpResponse third;
  ASSERT_TRUE(wait_until(
      [&] {
        third = earn("e3-" + s, 200'000);
        return third.status == 201;
      },
      2000ms, 50ms))
      << third.describe();
  EXPECT_EQ(third.json()["points"], 600);
  EXPECT_EQ(third.json()["balance"]["available"], 1000);
  auto again = earn("e3-" + s, 200'000);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.json()["id"], third.json()["id"]);

  // A new redeem value: the next redemption by amount is turned into points with it.
  auto redeem = [&](const std::string& idem) {
    return http().post("/v1/redemptions", {{"member", member}, {"amount_irr", 9'000}, {"receipt_id", "red-" + idem}},
                       as(key, {{"Idempotency-Key", idem}}));
  };
  ASSERT_EQ(http().patch("/v1/partners/" + pid, {{"redeem_value_irr", 450}}, as(op)).status, 200);
  auto redeemed = redeem("x1-" + s);
  ASSERT_EQ(redeemed.status, 201) << redeemed.describe();
  EXPECT_EQ(redeemed.json()["points"], 20);  // 9,000 IRR at the new value of 450 per point
  EXPECT_EQ(redeemed.json()["balance"]["available"], 980);
}

TEST_F(ControlPlane, EveryWrittenFormOfAPhoneIsOneMember) {
  auto [t, op] = new_tenant();
  auto p = new_partner(op);
  const std::string key = p["api_key"];

  auto r = http().post("/v1/members", {{"phone", "09123456789"}, {"name", "مریم رضایی"}, {"city", "تهران"},
                                       {"birth_date", "1990-03-21"}, {"email", "maryam@example.ir"}},
                       as(key));
  ASSERT_EQ(r.status, 201) << r.describe();
  auto m = r.json();
  const std::string id = m["id"];
  EXPECT_EQ(m["phone"], "+989123456789");
  EXPECT_EQ(m["name"].get<std::string>(), "مریم رضایی");
  EXPECT_EQ(m["city"].get<std::string>(), "تهران");
  EXPECT_EQ(m["birth_date"], "1990-03-21");
  EXPECT_EQ(m["email"], "maryam@example.ir");
  const std::string card = m["card"];
  EXPECT_EQ(card.size(), 16u);
  EXPECT_EQ(card.find_first_not_of("0123456789"), std::string::npos);

  for (const char* form : {"09123456789", "+989123456789", "989123456789", "00989123456789", "۰۹۱۲۳۴۵۶۷۸۹",
                           "٠٩١٢٣٤٥٦٧٨٩", "0912 345 6789", "0912-345-6789", "+98 912 345 67 89", "۰۹۱۲-۳۴۵ ۶۷۸۹"}) {
    auto again = http().post("/v1/members", {{"phone", form}}, as(key));
    EXPECT_EQ(again.status, 200) << form << " " << again.describe();
    if (again.status == 200) {
      EXPECT_EQ(again.json()["id"], id) << form;
      EXPECT_EQ(again.json()["name"].get<std::string>(), "مریم رضایی") << "the existing member is returned unchanged";
    }
  }
  // The operator enrols into the same tenant: same member.
  r = http().post("/v1/members", {{"phone", "+98-912-345-6789"}}, as(op));
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["id"], id);

  // Look-ups by id, phone (raw, Persian percent-encoded, spaces percent-encoded) and card.
  for (const std::string& target :
       {"/v1/members/" + id, std::string("/v1/members/phone:09123456789"), std::string("/v1/members/phone:%2B989123456789"),
        std::string("/v1/members/phone:%DB%B0%DB%B9%DB%B1%DB%B2%DB%B3%DB%B4%DB%B5%DB%B6%DB%B7%DB%B8%DB%B9"),
        std::string("/v1/members/phone:0912%20345%206789"), "/v1/members/card:" + card}) {
    auto g = http().get(target, as(key));
    EXPECT_EQ(g.status, 200) << target << " " << g.describe();
    if (g.status == 200) {
      EXPECT_EQ(g.json()["id"], id) << target;
    }
  }

  // A landline, garbage, unknown references.
  r = http().post("/v1/members", {{"phone", "02112345678"}}, as(key));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.json()["code"], "invalid_phone");
  EXPECT_EQ(http().get("/v1/members/phone:02112345678", as(key)).json()["code"], "invalid_phone");
  r = http().get("/v1/members/09123456789", as(key));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.json()["code"], "invalid_field");
  EXPECT_EQ(r.json()["field"], "member");
  EXPECT_EQ(http().get("/v1/members/phone:09129999999", as(key)).status, 404);
  EXPECT_EQ(http().get("/v1/members/mem_doesnotexist", as(key)).status, 404);
  EXPECT_EQ(http().post("/v1/members", {{"phone", 9123456789LL}}, as(key)).json()["field"], "phone");
  EXPECT_EQ(http().post("/v1/members", json::object(), as(key)).json()["field"], "phone");

  // Another tenant's member is 404 by every reference, and the same phone there is another member.
  auto [t2, op2] = new_tenant();
  auto p2 = new_partner(op2);
  const std::string key_other = p2["api_key"];
  for (const std::string& target : {"/v1/members/" + id, std::string("/v1/members/phone:09123456789"), "/v1/members/card:" + card}) {
    auto g = http().get(target, as(key_other));
    EXPECT_EQ(g.status, 404) << target << " " << g.describe();
  }
  r = http().post("/v1/members", {{"phone", "09123456789"}}, as(key_other));
  EXPECT_EQ(r.status, 201) << r.describe();
  EXPECT_NE(r.json()["id"], id);
  EXPECT_NE(r.json()["card"], card);
}

TEST_F(ControlPlane, ConcurrentEnrolmentsOfOnePhoneMakeOneMember) {
  auto [t, op] = new_tenant();
  auto p = new_partner(op);
  const std::string key = p["api_key"];
  const std::string url = suite_env().url();
  std::vector<std::thread> threads;
  std::vector<std::string> ids(8);
  std::vector<int> statuses(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      HttpClient c(url);
      auto r = c.post("/v1/members", {{"phone", "09125555555"}}, {bearer(key)});
      statuses[i] = r.status;
      if (r.status == 200 || r.status == 201) ids[i] = r.json()["id"];
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 201), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 7);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
}

TEST_F(ControlPlane, IdempotentPartnerCreationReplaysByteForByte) {
  auto [t, op] = new_tenant();
  const std::string key = "create-partner-" + unique_suffix();
  const std::string body1 =
      R"({"name":"نان سنگک","category":"bakery","issue_price_irr":500,"redeem_value_irr":450,"earn":{"points_per_10k_irr":5}})";
  // The same JSON, written differently.
  const std::string body2 =
      "{ \"earn\": {\"points_per_10k_irr\": 5},\n  \"redeem_value_irr\": 450, \"issue_price_irr\": 500,\n"
      "  \"category\": \"bakery\", \"name\": \"\\u0646\\u0627\\u0646 \\u0633\\u0646\\u06af\\u06a9\" }";
  auto first = http().request("POST", "/v1/partners", as(op, {{"Idempotency-Key", key}}), body1);
  ASSERT_EQ(first.status, 201) << first.describe();
  EXPECT_EQ(first.header("Idempotent-Replayed"), "");

  auto second = http().request("POST", "/v1/partners", as(op, {{"Idempotency-Key", key}}), body2);
  ASSERT_EQ(second.status, 201) << second.describe();
  EXPECT_EQ(second.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(second.body, first.body);

  auto reused = http().request("POST", "/v1/partners", as(op, {{"Idempotency-Key", key}}),
                               R"({"name":"نان بربری","category":"bakery","issue_price_irr":500,"redeem_value_irr":450,"earn":{"points_per_10k_irr":5}})");
  EXPECT_EQ(reused.status, 409) << reused.describe();
  EXPECT_EQ(reused.json()["code"], "idempotency_key_reused");
  // Another path under the same key is a reuse too.
  auto other_path = http().request("POST", "/v1/members", as(op, {{"Idempotency-Key", key}}), R"({"phone":"09121231234"})");
  EXPECT_EQ(other_path.status, 409) << other_path.describe();

  // Exactly one partner was created.
  auto list = http().get("/v1/partners", as(op));
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json()["items"].size(), 1u);
  EXPECT_EQ(list.json()["items"][0]["id"], first.json()["id"]);

  // A validation failure is not stored: the same key may then be used with a corrected body.
  const std::string key2 = "create-partner-" + unique_suffix();
  auto invalid = http().request("POST", "/v1/partners", as(op, {{"Idempotency-Key", key2}}), R"({"name":""})");
  EXPECT_EQ(invalid.status, 422);
  auto corrected = http().request("POST", "/v1/partners", as(op, {{"Idempotency-Key", key2}}), body1);
  EXPECT_EQ(corrected.status, 201) << corrected.describe();
  EXPECT_EQ(corrected.header("Idempotent-Replayed"), "");

  // Keys are scoped to the principal: another tenant's operator may use the same key freely.
  auto [t2, op2] = new_tenant();
  auto elsewhere = http().request("POST", "/v1/partners", as(op2, {{"Idempotency-Key", key}}), body1);
  EXPECT_EQ(elsewhere.status, 201) << elsewhere.describe();
  EXPECT_EQ(elsewhere.header("Idempotent-Replayed"), "");
  EXPECT_NE(elsewhere.json()["id"], first.json()["id"]);

  // A malformed key.
  auto bad_key = http().request("POST", "/v1/partners", as(op, {{"Idempotency-Key", std::string(256, 'k')}}), body1);
  EXPECT_EQ(bad_key.status, 422);
  EXPECT_EQ(bad_key.json()["field"], "Idempotency-Key");
}

TEST_F(ControlPlane, ConcurrentRetriesUnderOneKeyCreateOnePartner) {
  auto [t, op] = new_tenant();
  const std::string key = "race-" + unique_suffix();
  const std::string body = partner_body("Race").dump();
  const std::string url = suite_env().url();
  constexpr int kThreads = 6;
  std::vector<HttpResponse> answers(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      HttpClient c(url);
      answers[i] = c.request("POST", "/v1/partners", {bearer(op), {"Idempotency-Key", key}}, body);
    });
  for (auto& th : threads) th.join();
  std::string created_body;
  for (const auto& a : answers) {
    if (a.status == 201) {
      if (created_body.empty()) created_body = a.body;
      EXPECT_EQ(a.body, created_body) << "every 201 is the one first response";
    } else {
      EXPECT_EQ(a.status, 409) << a.describe();
      if (a.status == 409) {
        EXPECT_EQ(a.json()["code"], "idempotency_key_in_use");
      }
    }
  }
  ASSERT_FALSE(created_body.empty());
  auto list = http().get("/v1/partners", as(op));
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json()["items"].size(), 1u);
  // Once the first has finished, a retry is a replay.
  auto retry = http().request("POST", "/v1/partners", as(op, {{"Idempotency-Key", key}}), body);
  EXPECT_EQ(retry.status, 201);
  EXPECT_EQ(retry.body, created_body);
  EXPECT_EQ(retry.header("Idempotent-Replayed"), "true");
}

TEST_F(ControlPlane, IdempotentTenantAndMemberCreation) {
  const std::string key = "tenant-" + unique_suffix();
  const json body = {{"name", "Idem " + unique_suffix()}};
  auto a = http().post("/v1/tenants", body, as(admin_, {{"Idempotency-Key", key}}));
  auto b = http().post("/v1/tenants", body, as(admin_, {{"Idempotency-Key", key}}));
  ASSERT_EQ(a.status, 201) << a.describe();
  ASSERT_EQ(b.status, 201) << b.describe();
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(b.header("Idempotent-Replayed"), "true");

  const std::string op = a.json()["operator_token"];
  auto m1 = http().post("/v1/members", {{"phone", "09127777777"}}, as(op, {{"Idempotency-Key", "m1"}}));
  auto m2 = http().post("/v1/members", {{"phone", "09127777777"}}, as(op, {{"Idempotency-Key", "m1"}}));
  auto m3 = http().post("/v1/members", {{"phone", "09127777777"}}, as(op, {{"Idempotency-Key", "m2"}}));
  EXPECT_EQ(m1.status, 201);
  EXPECT_EQ(m2.status, 201) << "a replay answers the first response, 201";
  EXPECT_EQ(m2.body, m1.body);
  EXPECT_EQ(m3.status, 200) << "a new key for an enrolled phone: the existing member";
}

TEST_F(ControlPlane, PartnerListsPageNewestFirst) {
  auto [t, op] = new_tenant();
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) created.push_back(new_partner(op, "P" + std::to_string(i))["id"]);

  std::vector<std::string> seen;
  std::vector<size_t> page_sizes;
  std::string target = "/v1/partners?limit=2";
  for (int guard = 0; guard < 10; ++guard) {
    auto r = http().get(target, as(op));
    ASSERT_EQ(r.status, 200) << r.describe();
    auto j = r.json();
    page_sizes.push_back(j["items"].size());
    for (const auto& p : j["items"]) seen.push_back(p["id"]);
    if (j["next_cursor"].is_null()) break;
    ASSERT_TRUE(j["next_cursor"].is_string());
    target = "/v1/partners?limit=2&cursor=" + j["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(seen, std::vector<std::string>(created.rbegin(), created.rend()));

  // Default limit covers all five; an exact fit has no next page.
  auto all = http().get("/v1/partners", as(op)).json();
  EXPECT_EQ(all["items"].size(), 5u);
  EXPECT_TRUE(all["next_cursor"].is_null());
  auto exact = http().get("/v1/partners?limit=5", as(op)).json();
  EXPECT_EQ(exact["items"].size(), 5u);
  EXPECT_TRUE(exact["next_cursor"].is_null());

  for (const char* bad : {"limit=0", "limit=101", "limit=abc", "limit=-3", "limit=2.5", "cursor=notacursor"}) {
    auto r = http().get(std::string("/v1/partners?") + bad, as(op));
    EXPECT_EQ(r.status, 422) << bad << " " << r.describe();
    EXPECT_EQ(r.json()["code"], "invalid_field") << bad;
  }
  EXPECT_EQ(http().get("/v1/partners?limit=100", as(op)).status, 200);
}

}  // namespace
}  // namespace emtiaz::tests
