#include <gtest/gtest.h>

#include "partners/partner_repository.hpp"

using emtiaz::Code;
using emtiaz::Problem;
using emtiaz::partners::parse_partner_fields;
using emtiaz::partners::PartnerFields;
using nlohmann::json;

namespace {

json valid() {
  return {{"name", "کافه نادری"}, {"category", "cafe"}, {"issue_price_irr", 1000}, {"redeem_value_irr", 900},
          {"earn", {{"points_per_10k_irr", 10}}}};
}

PartnerFields ok(const json& body, bool creating = true) {
  auto r = parse_partner_fields(body, creating);
  EXPECT_TRUE(std::holds_alternative<PartnerFields>(r)) << body.dump();
  return std::get<PartnerFields>(r);
}

// "code:field" of the problem, or "(accepted)".
std::string rejection(const json& body, bool creating = true) {
  auto r = parse_partner_fields(body, creating);
  if (!std::holds_alternative<Problem>(r)) return "(accepted)";
  const auto& p = std::get<Problem>(r);
  return std::string(emtiaz::code_name(p.code)) + ":" + p.extra.value("field", "");
}

json with(json j, const std::string& key, json v) {
  j[key] = std::move(v);
  return j;
}

json without(json j, const std::string& key) {
  j.erase(key);
  return j;
}

}  // namespace

TEST(PartnerFields, CreationKeepsNamesByteForByteAndDefaultsFee) {
  auto f = ok(valid());
  EXPECT_EQ(*f.name, "کافه نادری");
  EXPECT_EQ(*f.fee_bps, 0);
  EXPECT_EQ(*f.status, "active");
  EXPECT_EQ(*f.points_per_10k_irr, 10);
  EXPECT_FALSE(f.rate_limit_per_s);
}

TEST(PartnerFields, StatusIsIgnoredOnCreation) {
  EXPECT_EQ(*ok(with(valid(), "status", "suspended")).status, "active");
}

TEST(PartnerFields, RequiredFieldsAreNamed) {
  EXPECT_EQ(rejection(without(valid(), "name")), "invalid_field:name");
  EXPECT_EQ(rejection(without(valid(), "category")), "invalid_field:category");
  EXPECT_EQ(rejection(without(valid(), "issue_price_irr")), "invalid_field:issue_price_irr");
  EXPECT_EQ(rejection(without(valid(), "redeem_value_irr")), "invalid_field:redeem_value_irr");
  EXPECT_EQ(rejection(without(valid(), "earn")), "invalid_field:earn.points_per_10k_irr");
  EXPECT_EQ(rejection(with(valid(), "earn", json::object())), "invalid_field:earn.points_per_10k_irr");
  EXPECT_EQ(rejection(with(valid(), "earn", 10)), "invalid_field:earn");
}

TEST(PartnerFields, NamesAreNonEmptyAndBounded) {
  EXPECT_EQ(rejection(with(valid(), "name", "")), "invalid_field:name");
  EXPECT_EQ(rejection(with(valid(), "name", 12)), "invalid_field:name");
  EXPECT_EQ(rejection(with(valid(), "name", std::string(201, 'x'))), "invalid_field:name");
  // 100 two-byte Persian letters are exactly 200 bytes.
  std::string persian;
  for (int i = 0; i < 100; ++i) persian += "ب";
  EXPECT_EQ(*ok(with(valid(), "name", persian)).name, persian);
  EXPECT_EQ(rejection(with(valid(), "name", persian + "x")), "invalid_field:name");
}

TEST(PartnerFields, MoneyIsAnIntegerInRange) {
  EXPECT_EQ(*ok(with(valid(), "issue_price_irr", 0)).issue_price_irr, 0);
  EXPECT_EQ(rejection(with(valid(), "redeem_value_irr", 0)), "invalid_amount:redeem_value_irr");
  EXPECT_EQ(rejection(with(valid(), "issue_price_irr", -1)), "invalid_amount:issue_price_irr");
  EXPECT_EQ(rejection(with(valid(), "issue_price_irr", 1.5)), "invalid_amount:issue_price_irr");
  EXPECT_EQ(rejection(with(valid(), "issue_price_irr", 1000000000000001LL)), "invalid_amount:issue_price_irr");
  EXPECT_EQ(*ok(with(valid(), "issue_price_irr", 1000000000000000LL)).issue_price_irr, 1000000000000000LL);
  EXPECT_EQ(rejection(with(valid(), "issue_price_irr", 18446744073709551615ULL)), "invalid_amount:issue_price_irr");
  EXPECT_EQ(rejection(with(valid(), "issue_price_irr", "1000")), "invalid_field:issue_price_irr");
}

TEST(PartnerFields, FeeAndEarnRuleBounds) {
  EXPECT_EQ(*ok(with(valid(), "fee_bps", 10000)).fee_bps, 10000);
  EXPECT_EQ(rejection(with(valid(), "fee_bps", 10001)), "invalid_field:fee_bps");
  EXPECT_EQ(rejection(with(valid(), "fee_bps", -1)), "invalid_field:fee_bps");
  EXPECT_EQ(rejection(with(valid(), "fee_bps", 2.5)), "invalid_field:fee_bps");
  EXPECT_EQ(*ok(with(valid(), "earn", {{"points_per_10k_irr", 0}})).points_per_10k_irr, 0);
  EXPECT_EQ(rejection(with(valid(), "earn", {{"points_per_10k_irr", -1}})), "invalid_field:earn.points_per_10k_irr");
  EXPECT_EQ(rejection(with(valid(), "earn", {{"points_per_10k_irr", "10"}})), "invalid_field:earn.points_per_10k_irr");
}

TEST(PartnerFields, RateLimitIsNullOrPositive) {
  EXPECT_EQ(**ok(with(valid(), "rate_limit_per_s", 50)).rate_limit_per_s, 50);
  auto cleared = ok(json{{"rate_limit_per_s", nullptr}}, false);
  ASSERT_TRUE(cleared.rate_limit_per_s);
  EXPECT_FALSE(*cleared.rate_limit_per_s);
  EXPECT_EQ(rejection(with(valid(), "rate_limit_per_s", 0)), "invalid_field:rate_limit_per_s");
}

TEST(PartnerFields, PatchIsPartialAndChecksStatus) {
  auto f = ok({{"status", "suspended"}}, false);
  EXPECT_EQ(*f.status, "suspended");
  EXPECT_FALSE(f.name);
  EXPECT_FALSE(f.issue_price_irr);
  EXPECT_FALSE(f.points_per_10k_irr);
  EXPECT_EQ(rejection({{"status", "deleted"}}, false), "invalid_field:status");
  EXPECT_EQ(*ok({{"earn", {{"points_per_10k_irr", 25}}}}, false).points_per_10k_irr, 25);
  EXPECT_EQ(rejection({{"name", ""}}, false), "invalid_field:name");
}

TEST(PartnerJson, Shape) {
  emtiaz::partners::Partner p;
  p.id = "prt_1";
  p.name = "کافه";
  p.category = "cafe";
  p.issue_price_irr = 1000;
  p.redeem_value_irr = 900;
  p.fee_bps = 150;
  p.points_per_10k_irr = 10;
  p.created_at = p.updated_at = *emtiaz::parse_rfc3339("2025-12-01T00:00:00Z");
  auto j = emtiaz::partners::to_json(p, "Asia/Tehran");
  EXPECT_EQ(j["earn"]["points_per_10k_irr"], 10);
  EXPECT_TRUE(j["rate_limit_per_s"].is_null());
  EXPECT_EQ(j["status"], "active");
  EXPECT_EQ(j["created_at"], "2025-12-01T03:30:00+03:30");
  EXPECT_FALSE(j.contains("tenant_id"));
  EXPECT_EQ(j["name"].get<std::string>(), "کافه");
}
