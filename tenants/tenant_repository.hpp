#pragma once
// Tenants (coalitions) and their operators: validation of the tenant's settings, the MySQL repository and
// the API shape. The operator token is returned once, at creation; only its SHA-256 is stored.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "common/errors.hpp"
#include "common/mysql.hpp"
#include "common/time.hpp"

namespace emtiaz::tenants {

struct Tenant {
  std::string id;
  std::string name;
  std::string timezone;
  Calendar calendar = Calendar::jalali;
  IsoDuration points_ttl;
  IsoDuration pending_period;
  IsoDuration hold_ttl;
  // The durations as the operator wrote them ("P12M", "PT90M"), returned unchanged by the API.
  std::string points_ttl_text;
  std::string pending_period_text;
  std::string hold_ttl_text;
  bool auto_enroll = true;
  Instant created_at{};
  Instant updated_at{};
};

// The settable fields of a tenant, each present only when given. For creation the defaults of api.md
// are filled in by parse_tenant_fields.
struct TenantFields {
  std::optional<std::string> name;
  std::optional<std::string> timezone;
  std::optional<Calendar> calendar;
  std::optional<std::string> points_ttl;
  std::optional<std::string> pending_period;
  std::optional<std::string> hold_ttl;
  std::optional<bool> auto_enroll;
};

inline constexpr size_t kMaxTenantNameBytes = 200;

// Validates a request body. creating=true: `name` is required and the other fields take api.md's defaults
// (Asia/Tehran, jalali, P12M, P0D, PT15M, auto_enroll true). creating=false (PATCH): every field is optional
// and `name` may not be changed. Rules: timezone a valid ICU zone, calendar jalali|gregorian, durations ISO
// 8601 with points_ttl and hold_ttl > 0 (pending_period may be P0D). Violations are 422 invalid_field naming
// the field; unknown members are ignored.
std::variant<TenantFields, Problem> parse_tenant_fields(const nlohmann::json& body, bool creating);

// The API shape {id, name, timezone, calendar, points_ttl, pending_period, hold_ttl, auto_enroll, created_at,
// updated_at}; times are RFC 3339 in the tenant's own zone.
nlohmann::json to_json(const Tenant& t);

struct CreatedTenant {
  Tenant tenant;
  std::string operator_token;  // shown once; the repository keeps only sha256_hex(token)
};

// For a reader that batches its own queries (the wallet reads the tenants and partners of a batch in the
// batch's transaction): the SELECT of every tenant column, ending in "FROM tenants " (append the
// WHERE), and the Tenant of one of its rows.
const char* tenant_select_sql();
Tenant tenant_from_row(sql::ResultSet& rs);

// MySQL access to `tenants`. Throws MysqlUnavailable / MysqlError from the pool (callers map them to 503/500).
// The overloads taking a connection run on the caller's connection, inside the caller's transaction (so that
// a creation and the record of its answer commit together, or not at all); they throw sql::SQLException,
// which the caller's MysqlPool::run / transaction translates.
class TenantRepository {
 public:
  explicit TenantRepository(MysqlPool& pool) : pool_(pool) {}

  // `fields` must come from parse_tenant_fields(..., creating=true) (all present).
  CreatedTenant create(const TenantFields& fields);
  CreatedTenant create(sql::Connection& c, const TenantFields& fields);
  std::optional<Tenant> get(const std::string& id);
  std::optional<Tenant> get(sql::Connection& c, const std::string& id);
  std::optional<Tenant> find_by_operator_token_hash(const std::string& hash);
  // Applies the present fields; nullopt when the tenant does not exist.
  std::optional<Tenant> patch(const std::string& id, const TenantFields& fields);

 private:
  std::optional<Tenant> select_one(const std::string& where_column, const std::string& value);
  static std::optional<Tenant> select_one(sql::Connection& c, const std::string& where_column, const std::string& value);
  MysqlPool& pool_;
};

}  // namespace emtiaz::tenants
