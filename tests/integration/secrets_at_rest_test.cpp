// Secrets in idempotent replays: an operator token or API key created under an Idempotency-Key is replayed
// byte for byte to a retry, yet neither the secret nor the Idempotency-Key is stored in clear anywhere in
// MySQL (api.md, Conventions: keys and tokens are "stored only as a hash; shown once"). The database is read
// whole with mariadb-dump, and the dump is first shown to hold what the test created (so that an empty or
// failed dump cannot pass).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/api_client.hpp"
#include "tests/support/expect.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

using nlohmann::json;

// A long, unmistakable Idempotency-Key (so that finding it in the dump cannot be a coincidence).
std::string distinctive_key(const std::string& what) { return "secret-test-" + what + "-" + unique_suffix() + "-" + new_idempotency_key(); }

TEST(SecretsAtRest, ReplayedTokensAndKeysAreReplayedButStoredNowhere) {
  const auto& env = suite_env();
  ApiClient api(env.url(), env.admin_token());
  HttpClient& http = api.http();

  // POST /v1/tenants under a key: the operator token comes back on the replay, the same bytes.
  const std::string tenant_key = distinctive_key("tenant");
  const json tenant_body = {{"name", "Secrets " + unique_suffix()}};
  auto t1 = http.post("/v1/tenants", tenant_body, {bearer(api.admin_token()), {"Idempotency-Key", tenant_key}});
  ASSERT_EQ(t1.status, 201) << t1.describe();
  EXPECT_EQ(t1.header("Idempotent-Replayed"), "");
  auto t2 = http.post("/v1/tenants", tenant_body, {bearer(api.admin_token()), {"Idempotency-Key", tenant_key}});
  expect_replay(t1, t2, "POST /v1/tenants");
  const std::string tenant_id = t1.json().value("id", "");
  const std::string operator_token = t1.json().value("operator_token", "");
  ASSERT_FALSE(operator_token.empty()) << t1.body;
  // The replayed token is the working one.
  auto own = http.get("/v1/tenant", {bearer(operator_token)});
  ASSERT_EQ(own.status, 200) << own.describe();
  EXPECT_EQ(own.json().value("id", ""), tenant_id);
  // The stored record still tells another body apart (the fingerprint is kept, in some form).
  auto reused = http.post("/v1/tenants", {{"name", "Another " + unique_suffix()}},
                          {bearer(api.admin_token()), {"Idempotency-Key", tenant_key}});
  EXPECT_EQ(reused.status, 409) << reused.describe();
  EXPECT_EQ(code_of(reused), "idempotency_key_reused");

  // POST /v1/partners under a key: the first API key.
  const std::string partner_key = distinctive_key("partner");
  const std::string partner_name = "Secret Partner " + unique_suffix();
  const json partner_body = {{"name", partner_name},
                             {"category", "grocery"},
                             {"issue_price_irr", 1000},
                             {"redeem_value_irr", 1000},
                             {"earn", {{"points_per_10k_irr", 100}}}};
  auto p1 = http.post("/v1/partners", partner_body, {bearer(operator_token), {"Idempotency-Key", partner_key}});
  ASSERT_EQ(p1.status, 201) << p1.describe();
  auto p2 = http.post("/v1/partners", partner_body, {bearer(operator_token), {"Idempotency-Key", partner_key}});
  expect_replay(p1, p2, "POST /v1/partners");
  const std::string partner_id = p1.json().value("id", "");
  const std::string first_api_key = p1.json().value("api_key", "");
  ASSERT_FALSE(first_api_key.empty()) << p1.body;

  // POST /v1/partners/{id}/keys under a key: another API key, minted once.
  const std::string mint_key = distinctive_key("mint");
  const std::string keys_path = "/v1/partners/" + partner_id + "/keys";
  auto k1 = api.send("POST", keys_path, operator_token, "{}", mint_key);
  ASSERT_EQ(k1.status, 201) << k1.describe();
  auto k2 = api.send("POST", keys_path, operator_token, "{}", mint_key);
  expect_replay(k1, k2, "POST /v1/partners/{id}/keys");
  const std::string minted_api_key = k1.json().value("api_key", "");
  ASSERT_FALSE(minted_api_key.empty()) << k1.body;
  EXPECT_NE(minted_api_key, first_api_key);

  // Both API keys work (a partner call that passes authentication: an unknown member is 404, not 401).
  for (const auto& key : {first_api_key, minted_api_key}) {
    auto r = api.get("/v1/members/mem_doesnotexist", key);
    EXPECT_EQ(r.status, 404) << r.describe();
  }

  // The whole database, as text.
  std::string dump;
  ASSERT_EQ(mysql_dump(env, &dump), 0) << dump.substr(0, 2000);
  // It holds what the test created: the tenant, the partner and its name.
  ASSERT_NE(dump.find(tenant_id), std::string::npos) << "the dump does not show the tenant; is it the right database?";
  ASSERT_NE(dump.find(partner_id), std::string::npos) << "the dump does not show the partner";
  ASSERT_NE(dump.find(partner_name), std::string::npos) << "the dump does not show the partner's name";

  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"operator token", operator_token},
      {"first API key", first_api_key},
      {"minted API key", minted_api_key},
      {"Idempotency-Key of POST /v1/tenants", tenant_key},
      {"Idempotency-Key of POST /v1/partners", partner_key},
      {"Idempotency-Key of POST /v1/partners/{id}/keys", mint_key},
  };
  for (const auto& [what, secret] : secrets) {
    EXPECT_EQ(dump.find(secret), std::string::npos) << "the " << what << " is stored in clear";
    // Nor the random part alone (say, stored without its prefix).
    const std::string tail = secret.substr(secret.size() - 24);
    EXPECT_EQ(dump.find(tail), std::string::npos) << "the end of the " << what << " is stored in clear";
  }

  // And the replays still work after the dump looked (nothing was consumed).
  auto k3 = api.send("POST", keys_path, operator_token, "{}", mint_key);
  expect_replay(k1, k3, "POST /v1/partners/{id}/keys, again");
}

}  // namespace
}  // namespace emtiaz::tests
