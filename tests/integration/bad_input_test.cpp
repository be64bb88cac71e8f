// Bad input through HTTP: malformed JSON, wrong types, bad amounts, oversized bodies and headers, deep
// nesting, invalid phones. Each is refused with the contract's problem document, has no partial effect
// (the balance is unchanged) and leaves the gateway answering.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/api_client.hpp"
#include "tests/support/expect.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

using nlohmann::json;

class BadInput : public TenantPartnerTest {
 protected:
  void SetUp() override {
    TenantPartnerTest::SetUp();
    if (HasFatalFailure()) return;
    auto r = api().earn(partner_.api_key, "phone:" + random_mobile(), 10000);  // 100 points
    ASSERT_EQ(r.status, 201) << r.describe();
    member_ = r.json()["balance"]["member_id"];
    earn_id_ = r.json()["id"];
    r = api().redeem_points(partner_.api_key, member_, 10);
    ASSERT_EQ(r.status, 201) << r.describe();
    redemption_ = r.json()["id"];
  }

  void TearDown() override {
    // No partial effect: the member still has 90 available and 10 held, and the gateway is up.
    auto b = api().balance(partner_.api_key, member_);
    EXPECT_EQ(b.value("available", -1), 90) << b.dump();
    EXPECT_EQ(b.value("held", -1), 10) << b.dump();
    EXPECT_EQ(b.value("pending", -1), 0) << b.dump();
    HttpClient fresh(suite_env().url());
    EXPECT_EQ(fresh.get("/v1/health").status, 200);
  }

  void expect_problem(const HttpResponse& r, int status, const std::string& code, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.describe();
    EXPECT_EQ(r.header("Content-Type").rfind("application/problem+json", 0), 0u) << what << ": " << r.describe();
    if (!code.empty()) { EXPECT_EQ(code_of(r), code) << what << ": " << r.body; }
    if (r.status == status && r.status != 0) {
      try {
        auto j = r.json();
        EXPECT_EQ(j.value("status", 0), status) << what << ": " << r.body;
        EXPECT_TRUE(j.contains("type") && j.contains("title")) << what << ": " << r.body;
      } catch (...) {
        ADD_FAILURE() << what << ": body is not JSON: " << r.body;
      }
    }
  }

  HttpResponse post_raw(const std::string& path, const std::string& body, const std::string& token = {}) {
    return api().send("POST", path, token.empty() ? partner_.api_key : token, body, new_idempotency_key());
  }

  std::string member_;
  std::string redemption_;
  std::string earn_id_;
};

TEST_F(BadInput, MalformedJsonIs400) {
  for (const std::string body : {"{\"member\": ", "not json", "{\"member\": \"x\",}", "{'member': 1}", "\xff\xfe{}"}) {
    expect_problem(post_raw("/v1/earn", body), 400, "malformed_json", "earn body " + body);
    expect_problem(post_raw("/v1/redemptions", body), 400, "malformed_json", "redemption body " + body);
  }
  expect_problem(post_raw("/v1/redemptions/" + redemption_ + "/capture", "{"), 400, "malformed_json", "capture");
  expect_problem(post_raw("/v1/adjustments", "[", tenant_.operator_token), 400, "malformed_json", "adjustment");
}

TEST_F(BadInput, WrongTypesAreInvalidFieldNamingTheField) {
  auto invalid_field = [&](const std::string& path, const json& body, const std::string& field,
                           const std::string& token = {}) {
    auto r = post_raw(path, body.dump(), token);
    expect_problem(r, 422, "invalid_field", path + " " + body.dump());
    if (r.status == 422 && !field.empty()) {
      EXPECT_EQ(r.json().value("field", ""), field) << body.dump() << " " << r.body;
    }
  };
  const std::string rcpt = "r-" + unique_suffix();
  invalid_field("/v1/earn", {{"member", 12}, {"amount_irr", 1000}, {"receipt_id", rcpt}}, "member");
  invalid_field("/v1/earn", {{"member", member_}, {"amount_irr", "1000"}, {"receipt_id", rcpt}}, "amount_irr");
  invalid_field("/v1/earn", {{"member", member_}, {"amount_irr", 1000}, {"receipt_id", 7}}, "receipt_id");
  invalid_field("/v1/earn", {{"member", member_}, {"amount_irr", 1000}}, "receipt_id");
  invalid_field("/v1/earn", {{"amount_irr", 1000}, {"receipt_id", rcpt}}, "member");
  invalid_field("/v1/earn", {{"member", "email:a@b.c"}, {"amount_irr", 1000}, {"receipt_id", rcpt}}, "member");
  invalid_field("/v1/earn", json::array({1, 2}), "");  // not an object: field may be empty or "body"
  invalid_field("/v1/redemptions", {{"member", member_}, {"points", true}, {"receipt_id", rcpt}}, "points");
  invalid_field("/v1/redemptions", {{"member", member_}, {"points", 5}, {"receipt_id", rcpt}, {"capture", "yes"}},
                "capture");
  invalid_field("/v1/redemptions", {{"member", member_}, {"points", nullptr}, {"receipt_id", rcpt}}, "points");
  invalid_field("/v1/adjustments", {{"member", member_}, {"points", "5"}, {"reason", "x"}}, "points",
                tenant_.operator_token);
  invalid_field("/v1/adjustments", {{"member", member_}, {"points", 5}, {"reason", 5}}, "reason",
                tenant_.operator_token);
}

TEST_F(BadInput, BadAmountsAreInvalidAmount) {
  const std::string rcpt = "r-" + unique_suffix();
  const std::vector<std::string> amounts = {"12.5", "1e3", "-1", "0", "1000000000000001", "99999999999999999999",
                                            "1.0"};
  for (const auto& a : amounts) {
    auto r = post_raw("/v1/earn", "{\"member\": \"" + member_ + "\", \"amount_irr\": " + a +
                                      ", \"receipt_id\": \"" + rcpt + "\"}");
    expect_problem(r, 422, "invalid_amount", "earn amount " + a);
    r = post_raw("/v1/redemptions",
                 "{\"member\": \"" + member_ + "\", \"points\": " + a + ", \"receipt_id\": \"" + rcpt + "\"}");
    expect_problem(r, 422, "invalid_amount", "redemption points " + a);
    r = post_raw("/v1/redemptions",
                 "{\"member\": \"" + member_ + "\", \"amount_irr\": " + a + ", \"receipt_id\": \"" + rcpt + "\"}");
    expect_problem(r, 422, "invalid_amount", "redemption amount " + a);
    r = post_raw("/v1/redemptions/" + redemption_ + "/capture", "{\"points\": " + a + "}");
    expect_problem(r, 422, "invalid_amount", "capture points " + a);
  }
  auto r = post_raw("/v1/adjustments", "{\"member\": \"" + member_ + "\", \"points\": 1.5, \"reason\": \"x\"}",
                    tenant_.operator_token);
  expect_problem(r, 422, "invalid_amount", "adjustment 1.5");
  // Earn refund: 0 and negative.
  for (const char* a : {"0", "-5", "2.5", "1000000000000001"}) {
    r = post_raw("/v1/earn/" + earn_id_ + "/refund", std::string("{\"amount_irr\": ") + a + "}");
    expect_problem(r, 422, "invalid_amount", std::string("earn refund ") + a);
  }
  // Both points and amount_irr, or neither.
  r = post_raw("/v1/redemptions", "{\"member\": \"" + member_ + "\", \"receipt_id\": \"" + rcpt + "\"}");
  EXPECT_EQ(r.status, 422) << r.describe();
}

TEST_F(BadInput, BodiesOverOneMebibyteAre413) {
  std::string filler(1024 * 1024 + 16, 'a');
  const std::string body = "{\"member\": \"" + member_ + "\", \"amount_irr\": 1000, \"receipt_id\": \"r\", \"x\": \"" +
                           filler + "\"}";
  auto r = post_raw("/v1/earn", body);
  EXPECT_EQ(r.status, 413) << r.describe();
  if (r.status == 413) { EXPECT_EQ(code_of(r), "payload_too_large") << r.body; }
  // Just under the limit is read (and refused for its content, not its size).
  std::string under(1024 * 1024 - 200, 'b');
  r = post_raw("/v1/earn", "{\"member\": \"" + member_ + "\", \"amount_irr\": 0, \"receipt_id\": \"r\", \"x\": \"" +
                               under + "\"}");
  EXPECT_EQ(r.status, 422) << r.describe();
}

TEST_F(BadInput, OversizedHeadersAre431ProblemDocuments) {
  // Over the gateway's header limit (8 KiB by default): 431 header_too_large as a problem document, never a
  // reset connection, and the gateway keeps answering.
  const std::string path = "/v1/members/" + member_ + "/balance";
  // One big field: Beast's client will not serialise a single field over 64 KiB, so the sizes stop below.
  for (std::size_t size : {16u * 1024, 60u * 1024}) {
    HttpClient raw(suite_env().url());
    auto r = raw.request("GET", path, {bearer(partner_.api_key), {"X-Big", std::string(size, 'h')}});
    expect_problem(r, 431, "header_too_large", "one field of " + std::to_string(size) + " bytes");
    EXPECT_EQ(HttpClient(suite_env().url()).get("/v1/health").status, 200);
  }
  // Many fields adding up to a mebibyte.
  for (std::size_t size : {16u * 1024, 64u * 1024, 1024u * 1024}) {
    HttpClient raw(suite_env().url());
    Headers many = {bearer(partner_.api_key)};
    for (int i = 0; i < static_cast<int>(size / 64); ++i) many.emplace_back("X-H" + std::to_string(i), std::string(56, 'v'));
    auto r = raw.request("GET", path, many);
    expect_problem(r, 431, "header_too_large", "many fields, " + std::to_string(size) + " bytes");
    EXPECT_EQ(HttpClient(suite_env().url()).get("/v1/health").status, 200);
  }
  // A huge Authorization header.
  HttpClient raw(suite_env().url());
  auto r = raw.request("GET", path, {bearer(std::string(60000, 't'))});
  expect_problem(r, 431, "header_too_large", "a 60 kB Authorization header");
  // Just under the limit is read.
  auto fits = HttpClient(suite_env().url()).request("GET", path, {bearer(partner_.api_key), {"X-Fits", std::string(6 * 1024, 'f')}});
  EXPECT_EQ(fits.status, 200) << fits.describe();
}

TEST_F(BadInput, DeeplyNestedJsonIs400) {
  for (int depth : {1000, 100000}) {
    std::string body = "{\"member\": \"" + member_ + "\", \"amount_irr\": 1000, \"receipt_id\": \"r\", \"x\": ";
    body += std::string(depth, '[') + std::string(depth, ']') + "}";
    auto r = post_raw("/v1/earn", body);
    EXPECT_EQ(r.status, 400) << "depth " << depth << ": " << r.describe();
    EXPECT_EQ(HttpClient(suite_env().url()).get("/v1/health").status, 200) << "after depth " << depth;
  }
  // Unclosed nesting is malformed.
  auto r = post_raw("/v1/earn", std::string(200000, '['));
  expect_problem(r, 400, "malformed_json", "unclosed nesting");
}

TEST_F(BadInput, InvalidPhonesAreInvalidPhone) {
  for (const std::string phone : {"02112345678", "+982112345678", "abc", "0912", "091212345678", "09a2 123 4567",
                                  "+1 415 555 0100"}) {
    auto r = api().earn(partner_.api_key, "phone:" + phone, 1000);
    expect_problem(r, 422, "invalid_phone", "earn to phone '" + phone + "'");
    r = api().post("/v1/members", partner_.api_key, {{"phone", phone}});
    expect_problem(r, 422, "invalid_phone", "enrol phone '" + phone + "'");
    auto g = api().get("/v1/members/" + ApiClient::member_path("phone:" + phone) + "/balance", partner_.api_key);
    EXPECT_TRUE(g.status == 422 || g.status == 404) << phone << ": " << g.describe();
  }
  // No member was created by any of them: the same valid phone forms still resolve to nothing new.
  auto r = api().post("/v1/members", partner_.api_key, {{"phone", 912}});
  EXPECT_EQ(r.status, 422) << r.describe();
}

TEST_F(BadInput, WrongContentAndMethodsAreRefusedCleanly) {
  // An unknown route and a wrong method are problem documents too, never a crash.
  auto r = api().send("GET", "/v1/earn", partner_.api_key);
  EXPECT_TRUE(r.status == 404 || r.status == 405) << r.describe();
  r = api().send("POST", "/v1/nowhere", partner_.api_key, "{}", new_idempotency_key());
  EXPECT_EQ(r.status, 404) << r.describe();
  // A body on a redemption path that does not exist.
  r = post_raw("/v1/redemptions/red_doesnotexist/capture", "{}");
  EXPECT_EQ(r.status, 404) << r.describe();
  // Empty body where one is required.
  r = api().send("POST", "/v1/earn", partner_.api_key, "", new_idempotency_key());
  EXPECT_TRUE(r.status == 400 || r.status == 422) << r.describe();
}

}  // namespace
}  // namespace emtiaz::tests
