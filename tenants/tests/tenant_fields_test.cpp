#include <gtest/gtest.h>

#include "tenants/tenant_repository.hpp"

using emtiaz::Calendar;
using emtiaz::Code;
using emtiaz::Problem;
using emtiaz::tenants::parse_tenant_fields;
using emtiaz::tenants::TenantFields;
using nlohmann::json;

namespace {

TenantFields ok(const json& body, bool creating = true) {
  auto r = parse_tenant_fields(body, creating);
  EXPECT_TRUE(std::holds_alternative<TenantFields>(r)) << body.dump();
  return std::get<TenantFields>(r);
}

std::string bad_field(const json& body, bool creating = true) {
  auto r = parse_tenant_fields(body, creating);
  if (!std::holds_alternative<Problem>(r)) return "(accepted)";
  const auto& p = std::get<Problem>(r);
  EXPECT_EQ(p.code, Code::invalid_field);
  return p.extra.value("field", "(no field)");
}

}  // namespace

TEST(TenantFields, CreationDefaultsFollowTheContract) {
  auto f = ok({{"name", "Shahr Coalition"}});
  EXPECT_EQ(*f.name, "Shahr Coalition");
  EXPECT_EQ(*f.timezone, "Asia/Tehran");
  EXPECT_EQ(*f.calendar, Calendar::jalali);
  EXPECT_EQ(*f.points_ttl, "P12M");
  EXPECT_EQ(*f.pending_period, "P0D");
  EXPECT_EQ(*f.hold_ttl, "PT15M");
  EXPECT_TRUE(*f.auto_enroll);
}

TEST(TenantFields, ExplicitValuesAreKeptAsWritten) {
  auto f = ok({{"name", "ائتلاف"}, {"timezone", "Europe/Berlin"}, {"calendar", "gregorian"}, {"points_ttl", "PT3S"},
               {"pending_period", "PT2S"}, {"hold_ttl", "P2W"}, {"auto_enroll", false}});
  EXPECT_EQ(*f.name, "ائتلاف");
  EXPECT_EQ(*f.timezone, "Europe/Berlin");
  EXPECT_EQ(*f.calendar, Calendar::gregorian);
  EXPECT_EQ(*f.points_ttl, "PT3S");
  EXPECT_EQ(*f.hold_ttl, "P2W");
  EXPECT_FALSE(*f.auto_enroll);
}

TEST(TenantFields, RejectsBadValuesNamingTheField) {
  EXPECT_EQ(bad_field(json::object()), "name");
  EXPECT_EQ(bad_field({{"name", ""}}), "name");
  EXPECT_EQ(bad_field({{"name", 5}}), "name");
  EXPECT_EQ(bad_field({{"name", std::string(201, 'a')}}), "name");
  EXPECT_EQ(bad_field({{"name", "x"}, {"timezone", "Mars/Olympus"}}), "timezone");
  EXPECT_EQ(bad_field({{"name", "x"}, {"timezone", ""}}), "timezone");
  EXPECT_EQ(bad_field({{"name", "x"}, {"timezone", 35}}), "timezone");
  EXPECT_EQ(bad_field({{"name", "x"}, {"calendar", "julian"}}), "calendar");
  EXPECT_EQ(bad_field({{"name", "x"}, {"calendar", "Jalali"}}), "calendar");
  EXPECT_EQ(bad_field({{"name", "x"}, {"points_ttl", "12 months"}}), "points_ttl");
  EXPECT_EQ(bad_field({{"name", "x"}, {"points_ttl", "P0D"}}), "points_ttl");
  EXPECT_EQ(bad_field({{"name", "x"}, {"points_ttl", "PT0S"}}), "points_ttl");
  EXPECT_EQ(bad_field({{"name", "x"}, {"pending_period", "-P1D"}}), "pending_period");
  EXPECT_EQ(bad_field({{"name", "x"}, {"hold_ttl", "P0D"}}), "hold_ttl");
  EXPECT_EQ(bad_field({{"name", "x"}, {"hold_ttl", "PT1.5S"}}), "hold_ttl");
  EXPECT_EQ(bad_field({{"name", "x"}, {"auto_enroll", "yes"}}), "auto_enroll");
}

TEST(TenantFields, PendingPeriodMayBeZero) {
  EXPECT_EQ(*ok({{"name", "x"}, {"pending_period", "P0D"}}).pending_period, "P0D");
  EXPECT_EQ(*ok({{"name", "x"}, {"pending_period", "PT0S"}}).pending_period, "PT0S");
}

TEST(TenantFields, PatchTakesOnlyWhatIsGivenAndNotTheName) {
  auto f = ok({{"hold_ttl", "PT5S"}}, false);
  EXPECT_EQ(*f.hold_ttl, "PT5S");
  EXPECT_FALSE(f.timezone);
  EXPECT_FALSE(f.points_ttl);
  EXPECT_FALSE(f.auto_enroll);
  EXPECT_EQ(bad_field({{"name", "new"}}, false), "name");
  EXPECT_EQ(bad_field({{"points_ttl", "P0D"}}, false), "points_ttl");
  auto empty = ok(json::object(), false);
  EXPECT_FALSE(empty.timezone);
}

TEST(TenantJson, TimesAreInTheTenantsZone) {
  emtiaz::tenants::Tenant t;
  t.id = "ten_x";
  t.name = "n";
  t.timezone = "Asia/Tehran";
  t.points_ttl_text = "P12M";
  t.pending_period_text = "P0D";
  t.hold_ttl_text = "PT15M";
  t.created_at = t.updated_at = *emtiaz::parse_rfc3339("2025-12-01T00:00:00Z");
  auto j = emtiaz::tenants::to_json(t);
  EXPECT_EQ(j["created_at"], "2025-12-01T03:30:00+03:30");
  EXPECT_EQ(j["calendar"], "jalali");
  EXPECT_EQ(j["points_ttl"], "P12M");
  EXPECT_EQ(j["auto_enroll"], true);
  EXPECT_FALSE(j.contains("operator_token"));
}
