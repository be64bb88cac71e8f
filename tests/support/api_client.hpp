#pragma once
// A JSON-speaking client for the integration tests: one tenant of the test's own, its partners, and the
// points calls (earn, redemptions, refunds, adjustments, balance, transactions) with bearer tokens and
// Idempotency-Keys filled in. It only sends requests and hands back the answers: every expectation belongs
// to the test.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"

namespace emtiaz::tests {

// A string unique in this process and, with the clock, across runs ("1718000000123-7").
std::string unique_suffix();
// A fresh Idempotency-Key.
std::string new_idempotency_key();
// A random Iranian mobile in local form ("0912xxxxxxx") and its E.164 form.
std::string random_mobile();
std::string mobile_e164(const std::string& local);
// "2025-01-02T03:04:05.123456+03:30" → a system_clock instant (throws std::invalid_argument).
std::chrono::system_clock::time_point parse_rfc3339(const std::string& text);

struct TestTenant {
  std::string id;
  std::string operator_token;
  nlohmann::json body;
};

struct TestPartner {
  std::string id;
  std::string api_key;
  std::string key_id;
  nlohmann::json body;
};

class ApiClient {
 public:
  ApiClient(std::string url, std::string admin_token);

  HttpClient& http() { return http_; }
  const std::string& admin_token() const { return admin_; }

  // POST /v1/tenants; extra fields (hold_ttl, points_ttl, pending_period, ...) override the defaults.
  // Returns an empty id (and records a gtest failure) when it is not 201.
  TestTenant create_tenant(nlohmann::json body = nlohmann::json::object());
  // POST /v1/partners as the operator.
  TestPartner create_partner(const TestTenant& tenant, std::int64_t points_per_10k_irr = 100,
                             std::int64_t redeem_value_irr = 1000, std::int64_t issue_price_irr = 1000,
                             std::int64_t fee_bps = 0);
  // POST /v1/partners/{id}/keys → {key_id, api_key}
  HttpResponse mint_key(const TestTenant& tenant, const std::string& partner_id);

  // A request with Authorization (and Idempotency-Key when not empty).
  HttpResponse send(std::string_view method, const std::string& target, const std::string& token,
                    std::string_view body = {}, const std::string& idempotency_key = {},
                    Headers extra = {});
  HttpResponse post(const std::string& target, const std::string& token, const nlohmann::json& body,
                    const std::string& idempotency_key = {});
  HttpResponse get(const std::string& target, const std::string& token);

  // Points calls; an empty key is replaced by a fresh one, an empty receipt_id by a fresh one.
  HttpResponse earn(const std::string& partner_key, const std::string& member, std::int64_t amount_irr,
                    std::string receipt_id = {}, std::string idempotency_key = {});
  HttpResponse earn_refund(const std::string& partner_key, const std::string& earn_id, std::int64_t amount_irr,
                           std::string idempotency_key = {});
  HttpResponse redeem_points(const std::string& partner_key, const std::string& member, std::int64_t points,
                             bool capture = false, std::string idempotency_key = {});
  HttpResponse redeem_amount(const std::string& partner_key, const std::string& member, std::int64_t amount_irr,
                             bool capture = false, std::string idempotency_key = {});
  // action: capture | void | refund; points < 0 means "no points field".
  HttpResponse redemption_action(const std::string& partner_key, const std::string& redemption_id,
                                 const std::string& action, std::int64_t points = -1,
                                 std::string idempotency_key = {});
  HttpResponse adjust(const std::string& operator_token, const std::string& member, std::int64_t points,
                      const std::string& reason = "test adjustment", std::string idempotency_key = {});

  HttpResponse balance_response(const std::string& token, const std::string& member);
  // GET balance; returns the JSON or a null json (and a gtest failure) when it is not 200.
  nlohmann::json balance(const std::string& token, const std::string& member);
  // Every transaction of the member, walking the cursor pages (newest first).
  nlohmann::json all_transactions(const std::string& token, const std::string& member, int limit = 100);

  // Target path with the member percent-encoded where needed ("phone:+98..." → "phone:%2B98...").
  static std::string member_path(const std::string& member);

 private:
  HttpClient http_;
  std::string admin_;
};

}  // namespace emtiaz::tests
