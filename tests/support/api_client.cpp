#include "tests/support/api_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <stdexcept>
#include <random>

namespace emtiaz::tests {

using nlohmann::json;

namespace {
std::mt19937_64& rng() {
  thread_local std::mt19937_64 r(std::random_device{}() ^
                                 static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return r;
}
}  // namespace

std::string unique_suffix() {
  static std::atomic<int> n{0};
  return std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-" +
         std::to_string(++n) + "-" + std::to_string(rng()() % 100000);
}

std::string new_idempotency_key() { return "it-" + unique_suffix(); }

std::string random_mobile() {
  std::string s = "0912";
  for (int i = 0; i < 7; ++i) s += static_cast<char>('0' + rng()() % 10);
  return s;
}

std::string mobile_e164(const std::string& local) { return "+98" + local.substr(1); }

std::chrono::system_clock::time_point parse_rfc3339(const std::string& text) {
  int y, mo, d, h, mi, sec;
  char tee;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &tee, &h, &mi, &sec, &consumed) != 7) {
    throw std::invalid_argument("not RFC 3339: " + text);
  }
  std::size_t i = static_cast<std::size_t>(consumed);
  std::int64_t micros = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (digits < 6) micros = micros * 10 + (text[i] - '0');
      ++digits;
      ++i;
    }
    for (; digits < 6; ++digits) micros *= 10;
  }
  int offset_minutes = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) throw std::invalid_argument("bad offset: " + text);
    offset_minutes = (text[i] == '+' ? 1 : -1) * (oh * 60 + om);
  } else if (i >= text.size() || (text[i] != 'Z' && text[i] != 'z')) {
    throw std::invalid_argument("no offset: " + text);
  }
  using namespace std::chrono;
  const auto days = sys_days(year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)});
  auto t = time_point_cast<microseconds>(days) + hours(h) + minutes(mi) + seconds(sec) + microseconds(micros) -
           minutes(offset_minutes);
  return time_point_cast<system_clock::duration>(t);
}

ApiClient::ApiClient(std::string url, std::string admin_token)
    : http_(std::move(url), std::chrono::seconds(15)), admin_(std::move(admin_token)) {}

TestTenant ApiClient::create_tenant(json body) {
  if (!body.contains("name")) body["name"] = "IT Coalition " + unique_suffix();
  auto r = http_.post("/v1/tenants", body, {bearer(admin_)});
  EXPECT_EQ(r.status, 201) << r.describe();
  TestTenant t;
  if (r.status != 201) return t;
  t.body = r.json();
  t.id = t.body.value("id", "");
  t.operator_token = t.body.value("operator_token", "");
  return t;
}

TestPartner ApiClient::create_partner(const TestTenant& tenant, std::int64_t points_per_10k_irr,
                                      std::int64_t redeem_value_irr, std::int64_t issue_price_irr,
                                      std::int64_t fee_bps) {
  json body = {{"name", "Partner " + unique_suffix()},
               {"category", "grocery"},
               {"issue_price_irr", issue_price_irr},
               {"redeem_value_irr", redeem_value_irr},
               {"fee_bps", fee_bps},
               {"earn", {{"points_per_10k_irr", points_per_10k_irr}}}};
  auto r = http_.post("/v1/partners", body, {bearer(tenant.operator_token)});
  EXPECT_EQ(r.status, 201) << r.describe();
  TestPartner p;
  if (r.status != 201) return p;
  p.body = r.json();
  p.id = p.body.value("id", "");
  p.api_key = p.body.value("api_key", "");
  p.key_id = p.body.value("key_id", "");
  return p;
}

HttpResponse ApiClient::mint_key(const TestTenant& tenant, const std::string& partner_id) {
  return post("/v1/partners/" + partner_id + "/keys", tenant.operator_token, json::object());
}

HttpResponse ApiClient::send(std::string_view method, const std::string& target, const std::string& token,
                             std::string_view body, const std::string& idempotency_key, Headers extra) {
  extra.push_back(bearer(token));
  if (!idempotency_key.empty()) extra.emplace_back("Idempotency-Key", idempotency_key);
  return http_.request(method, target, extra, body);
}

HttpResponse ApiClient::post(const std::string& target, const std::string& token, const json& body,
                             const std::string& idempotency_key) {
  return send("POST", target, token, body.dump(), idempotency_key);
}

HttpResponse ApiClient::get(const std::string& target, const std::string& token) {
  return send("GET", target, token);
}

HttpResponse ApiClient::earn(const std::string& partner_key, const std::string& member, std::int64_t amount_irr,
                             std::string receipt_id, std::string idempotency_key) {
  if (receipt_id.empty()) receipt_id = "rcpt-" + unique_suffix();
  if (idempotency_key.empty()) idempotency_key = new_idempotency_key();
  return post("/v1/earn", partner_key, {{"member", member}, {"amount_irr", amount_irr}, {"receipt_id", receipt_id}},
              idempotency_key);
}

HttpResponse ApiClient::earn_refund(const std::string& partner_key, const std::string& earn_id,
                                    std::int64_t amount_irr, std::string idempotency_key) {
  if (idempotency_key.empty()) idempotency_key = new_idempotency_key();
  return post("/v1/earn/" + earn_id + "/refund", partner_key, {{"amount_irr", amount_irr}}, idempotency_key);
}

HttpResponse ApiClient::redeem_points(const std::string& partner_key, const std::string& member,
                                      std::int64_t points, bool capture, std::string idempotency_key) {
  if (idempotency_key.empty()) idempotency_key = new_idempotency_key();
  return post("/v1/redemptions", partner_key,
              {{"member", member}, {"points", points}, {"receipt_id", "red-" + unique_suffix()}, {"capture", capture}},
              idempotency_key);
}

HttpResponse ApiClient::redeem_amount(const std::string& partner_key, const std::string& member,
                                      std::int64_t amount_irr, bool capture, std::string idempotency_key) {
  if (idempotency_key.empty()) idempotency_key = new_idempotency_key();
  return post("/v1/redemptions", partner_key,
              {{"member", member}, {"amount_irr", amount_irr}, {"receipt_id", "red-" + unique_suffix()},
               {"capture", capture}},
              idempotency_key);
}

HttpResponse ApiClient::redemption_action(const std::string& partner_key, const std::string& redemption_id,
                                          const std::string& action, std::int64_t points,
                                          std::string idempotency_key) {
  if (idempotency_key.empty()) idempotency_key = new_idempotency_key();
  json body = json::object();
  if (points >= 0) body["points"] = points;
  return post("/v1/redemptions/" + redemption_id + "/" + action, partner_key, body, idempotency_key);
}

HttpResponse ApiClient::adjust(const std::string& operator_token, const std::string& member, std::int64_t points,
                               const std::string& reason, std::string idempotency_key) {
  if (idempotency_key.empty()) idempotency_key = new_idempotency_key();
  return post("/v1/adjustments", operator_token, {{"member", member}, {"points", points}, {"reason", reason}},
              idempotency_key);
}

std::string ApiClient::member_path(const std::string& member) {
  std::string out;
  for (unsigned char c : member) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

HttpResponse ApiClient::balance_response(const std::string& token, const std::string& member) {
  return get("/v1/members/" + member_path(member) + "/balance", token);
}

json ApiClient::balance(const std::string& token, const std::string& member) {
  auto r = balance_response(token, member);
  EXPECT_EQ(r.status, 200) << "balance of " << member << ": " << r.describe();
  if (r.status != 200) return json();
  return r.json();
}

json ApiClient::all_transactions(const std::string& token, const std::string& member, int limit) {
  json items = json::array();
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    std::string target = "/v1/members/" + member_path(member) + "/transactions?limit=" + std::to_string(limit);
    if (!cursor.empty()) target += "&cursor=" + member_path(cursor);
    auto r = get(target, token);
    EXPECT_EQ(r.status, 200) << r.describe();
    if (r.status != 200) break;
    auto j = r.json();
    for (auto& it : j["items"]) items.push_back(it);
    if (!j.contains("next_cursor") || j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"].get<std::string>();
  }
  return items;
}

}  // namespace emtiaz::tests
