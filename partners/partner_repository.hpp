#pragma once
// Partners (merchants) of a tenant, their prices and earn rule, and their API keys. API keys are shown once
// and stored only as SHA-256; a key is looked up by the hash of what the client presents.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/errors.hpp"
#include "common/mysql.hpp"
#include "common/time.hpp"

namespace emtiaz::partners {

struct Partner {
  std::string id;
  std::string tenant_id;
  std::string name;
  std::string category;
  std::string status = "active";  // "active" | "suspended"
  std::int64_t issue_price_irr = 0;
  std::int64_t redeem_value_irr = 0;
  std::int64_t fee_bps = 0;
  std::int64_t points_per_10k_irr = 0;
  std::optional<std::int64_t> rate_limit_per_s;
  Instant created_at{};
  Instant updated_at{};
  std::int64_t seq = 0;  // creation order within the platform (list order and cursor)
};

// Limits (also in the OpenAPI file).
inline constexpr size_t kMaxPartnerNameBytes = 200;
inline constexpr size_t kMaxCategoryBytes = 100;
inline constexpr std::int64_t kMaxMoneyIrr = 1'000'000'000'000'000;  // 10^15
inline constexpr std::int64_t kMaxFeeBps = 10'000;
// An earn rule above a million points per 10,000 rial (100 points per rial) is surely a typo.
inline constexpr std::int64_t kMaxPointsPer10kIrr = 1'000'000;
inline constexpr std::int64_t kMaxRateLimitPerS = 1'000'000;

// The settable fields, each present only when given. `rate_limit_per_s` distinguishes "absent" (outer
// nullopt) from "null: no limit" (inner nullopt).
struct PartnerFields {
  std::optional<std::string> name;
  std::optional<std::string> category;
  std::optional<std::string> status;
  std::optional<std::int64_t> issue_price_irr;
  std::optional<std::int64_t> redeem_value_irr;
  std::optional<std::int64_t> fee_bps;
  std::optional<std::int64_t> points_per_10k_irr;
  std::optional<std::optional<std::int64_t>> rate_limit_per_s;
};

// Validates a request body. creating=true: name, category, issue_price_irr, redeem_value_irr and
// earn.points_per_10k_irr are required, fee_bps defaults to 0, status is always "active" (a `status` member
// is ignored). creating=false (PATCH): every field optional, status active|suspended.
// Rules: name non-empty and at most 200 bytes of UTF-8 (kept byte for byte); category at most 100 bytes;
// issue_price_irr an integer 0..10^15 (a partner may issue points for free); redeem_value_irr an integer
// 1..10^15 (a point must be worth something where it is redeemed, or amount_irr could not be turned into
// points); out-of-range or non-integer numbers are 422 invalid_amount, wrong types 422 invalid_field;
// fee_bps 0..10000 and earn.points_per_10k_irr 0..10^6 are 422 invalid_field outside; rate_limit_per_s
// null or 1..10^6.
std::variant<PartnerFields, Problem> parse_partner_fields(const nlohmann::json& body, bool creating);

// {id, name, category, status, issue_price_irr, redeem_value_irr, fee_bps, earn: {points_per_10k_irr},
//  rate_limit_per_s, created_at, updated_at}; times are RFC 3339 in `tz` (the tenant's zone).
nlohmann::json to_json(const Partner& p, const std::string& tz = "UTC");

struct CreatedPartner {
  Partner partner;
  std::string key_id;
  std::string api_key;  // shown once
};

struct MintedKey {
  std::string key_id;
  std::string api_key;  // shown once
};

struct PartnerPage {
  std::vector<Partner> items;
  std::optional<std::int64_t> next_before_seq;  // the cursor of the next page; nullopt on the last page
};

struct KeyLookup {
  Partner partner;
  std::string key_id;
};

enum class RevokeResult { revoked, not_found };

// For a reader that batches its own queries (the wallet reads the tenants and partners of a batch in the
// batch's transaction): the SELECT of every partner column, ending in "FROM partners " (append the
// WHERE), and the Partner of one of its rows.
const char* partner_select_sql();
Partner partner_from_row(sql::ResultSet& rs);

// MySQL access to `partners` and `api_keys`. Everything is scoped by tenant: another tenant's partner is
// exactly as absent as one that does not exist. Throws MysqlUnavailable / MysqlError from the pool. The
// overloads taking a connection run on the caller's connection, inside the caller's transaction (so that a
// creation and the record of its answer commit together, or not at all); they throw sql::SQLException, which
// the caller's MysqlPool::run / transaction translates.
class PartnerRepository {
 public:
  explicit PartnerRepository(MysqlPool& pool) : pool_(pool) {}

  // `fields` must come from parse_partner_fields(..., creating=true). Partner and first key in one
  // transaction (the caller's, for the overload taking a connection).
  CreatedPartner create(const std::string& tenant_id, const PartnerFields& fields);
  CreatedPartner create(sql::Connection& c, const std::string& tenant_id, const PartnerFields& fields);
  // Newest first; `before_seq` is the decoded cursor (nullopt: from the newest). `limit` 1..100.
  PartnerPage list(const std::string& tenant_id, int limit, std::optional<std::int64_t> before_seq);
  std::optional<Partner> get(const std::string& tenant_id, const std::string& id);
  std::optional<Partner> patch(const std::string& tenant_id, const std::string& id, const PartnerFields& fields);
  // nullopt when the partner does not exist in the tenant.
  std::optional<MintedKey> mint_key(const std::string& tenant_id, const std::string& partner_id);
  std::optional<MintedKey> mint_key(sql::Connection& c, const std::string& tenant_id, const std::string& partner_id);
  // not_found unless `key_id` is a key of that partner in that tenant. Revoking a revoked key again is
  // `revoked` (DELETE is idempotent); the first revocation time is kept.
  RevokeResult revoke_key(const std::string& tenant_id, const std::string& partner_id, const std::string& key_id);
  // Only unrevoked keys.
  std::optional<KeyLookup> find_by_key_hash(const std::string& key_hash);

 private:
  MysqlPool& pool_;
};

}  // namespace emtiaz::partners
