#include "partners/partner_repository.hpp"

#include "common/control_plane_version.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "common/json_reader.hpp"
#include "common/sql_util.hpp"

namespace emtiaz::partners {
namespace {

static_assert(kMaxMoneyIrr == kMaxJsonAmount, "money fields are read as JSON amounts");

constexpr const char* kSelect =
    "SELECT id, tenant_id, name, category, status, issue_price_irr, redeem_value_irr, fee_bps, "
    "points_per_10k_irr, rate_limit_per_s, seq, "
    "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS created_at_s, "
    "DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') AS updated_at_s FROM partners ";

Partner read_row(sql::ResultSet& rs) {
  Partner p;
  p.id = rs.getString("id");
  p.tenant_id = rs.getString("tenant_id");
  p.name = rs.getString("name");
  p.category = rs.getString("category");
  p.status = rs.getString("status");
  p.issue_price_irr = rs.getInt64("issue_price_irr");
  p.redeem_value_irr = rs.getInt64("redeem_value_irr");
  p.fee_bps = rs.getInt("fee_bps");
  p.points_per_10k_irr = rs.getInt64("points_per_10k_irr");
  auto rl = rs.getInt64("rate_limit_per_s");
  if (!rs.wasNull()) p.rate_limit_per_s = rl;
  p.seq = rs.getInt64("seq");
  p.created_at = parse_sql_time(std::string(rs.getString("created_at_s")));
  p.updated_at = parse_sql_time(std::string(rs.getString("updated_at_s")));
  return p;
}

std::optional<Partner> select_partner(sql::Connection& c, const std::string& tenant_id, const std::string& id,
                                      bool for_update = false) {
  auto st = prepare(c, std::string(kSelect) + "WHERE tenant_id = ? AND id = ?" + (for_update ? " FOR UPDATE" : ""));
  st->setString(1, tenant_id);
  st->setString(2, id);
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
  if (!rs->next()) return std::nullopt;
  return read_row(*rs);
}

MintedKey insert_key(sql::Connection& c, const std::string& tenant_id, const std::string& partner_id,
                     const std::string& now) {
  MintedKey k{new_id("key"), random_token("pk_", 24)};
  auto st = prepare(c, "INSERT INTO api_keys (id, tenant_id, partner_id, key_hash, created_at) VALUES (?,?,?,?,?)");
  st->setString(1, k.key_id);
  st->setString(2, tenant_id);
  st->setString(3, partner_id);
  st->setString(4, sha256_hex(k.api_key));
  st->setString(5, now);
  st->execute();
  return k;
}

Instant now_micros() { return std::chrono::floor<std::chrono::microseconds>(now_utc()); }

}  // namespace

std::variant<PartnerFields, Problem> parse_partner_fields(const nlohmann::json& body, bool creating) {
  if (!body.is_object()) return problem(Code::malformed_json, "the request body must be a JSON object");
  JsonReader r{body, {}};
  PartnerFields f;
  f.name = r.text("name", creating, kMaxPartnerNameBytes);
  f.category = r.text("category", creating, kMaxCategoryBytes);
  if (!creating) {
    f.status = r.text("status", false, 16);
    if (r.ok() && f.status && *f.status != "active" && *f.status != "suspended")
      r.err = invalid_field("status", "must be active or suspended");
  }
  // A partner may issue points for free, but a point must be worth something where it is redeemed (or
  // amount_irr could not be turned into points).
  f.issue_price_irr = r.amount("issue_price_irr", creating, 0);
  f.redeem_value_irr = r.amount("redeem_value_irr", creating, 1);
  f.fee_bps = r.integer("fee_bps", false, 0, kMaxFeeBps);
  if (r.ok()) {
    auto* earn = r.find("earn");
    if (!earn) {
      if (creating) r.err = invalid_field("earn.points_per_10k_irr", "is required");
    } else if (!earn->is_object()) {
      r.err = invalid_field("earn", "must be an object {points_per_10k_irr}");
    } else {
      JsonReader e{*earn, {}};
      f.points_per_10k_irr = e.integer("points_per_10k_irr", creating, 0, kMaxPointsPer10kIrr);
      if (e.err) {
        // Name the field by its full path.
        e.err->extra["field"] = "earn.points_per_10k_irr";
        e.err->detail = "earn." + e.err->detail;
        r.err = e.err;
      }
    }
  }
  if (r.ok() && body.contains("rate_limit_per_s")) {
    if (body["rate_limit_per_s"].is_null()) f.rate_limit_per_s = std::optional<std::int64_t>{};
    else if (auto v = r.integer("rate_limit_per_s", true, 1, kMaxRateLimitPerS)) f.rate_limit_per_s = v;
  }
  if (r.err) return *r.err;
  if (creating) {
    f.status = "active";
    if (!f.fee_bps) f.fee_bps = 0;
  }
  return f;
}

nlohmann::json to_json(const Partner& p, const std::string& tz) {
  nlohmann::json j = {
      {"id", p.id},
      {"name", p.name},
      {"category", p.category},
      {"status", p.status},
      {"issue_price_irr", p.issue_price_irr},
      {"redeem_value_irr", p.redeem_value_irr},
      {"fee_bps", p.fee_bps},
      {"earn", {{"points_per_10k_irr", p.points_per_10k_irr}}},
      {"rate_limit_per_s", nullptr},
      {"created_at", format_rfc3339(p.created_at, tz)},
      {"updated_at", format_rfc3339(p.updated_at, tz)},
  };
  if (p.rate_limit_per_s) j["rate_limit_per_s"] = *p.rate_limit_per_s;
  return j;
}

CreatedPartner PartnerRepository::create(const std::string& tenant_id, const PartnerFields& f) {
  return pool_.transaction([&](sql::Connection& c) { return create(c, tenant_id, f); });
}

CreatedPartner PartnerRepository::create(sql::Connection& c, const std::string& tenant_id, const PartnerFields& f) {
  if (!f.name || !f.category || !f.issue_price_irr || !f.redeem_value_irr || !f.points_per_10k_irr)
    throw std::logic_error("PartnerRepository::create needs every required field (use parse_partner_fields)");
  CreatedPartner out;
  auto& p = out.partner;
  p.id = new_id("prt");
  p.tenant_id = tenant_id;
  p.name = *f.name;
  p.category = *f.category;
  p.status = "active";
  p.issue_price_irr = *f.issue_price_irr;
  p.redeem_value_irr = *f.redeem_value_irr;
  p.fee_bps = f.fee_bps.value_or(0);
  p.points_per_10k_irr = *f.points_per_10k_irr;
  if (f.rate_limit_per_s) p.rate_limit_per_s = *f.rate_limit_per_s;
  p.created_at = p.updated_at = now_micros();
  const auto now = sql_time(p.created_at);
  {
    auto st = prepare(c,
                      "INSERT INTO partners (tenant_id, id, name, category, status, issue_price_irr, redeem_value_irr, "
                      "fee_bps, points_per_10k_irr, rate_limit_per_s, created_at, updated_at) "
                      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    st->setString(1, p.tenant_id);
    st->setString(2, p.id);
    st->setString(3, p.name);
    st->setString(4, p.category);
    st->setString(5, p.status);
    st->setInt64(6, p.issue_price_irr);
    st->setInt64(7, p.redeem_value_irr);
    st->setInt(8, static_cast<int>(p.fee_bps));
    st->setInt64(9, p.points_per_10k_irr);
    if (p.rate_limit_per_s) st->setInt64(10, *p.rate_limit_per_s);
    else st->setNull(10, sql::DataType::INTEGER);
    st->setString(11, now);
    st->setString(12, now);
    st->execute();
    {
      std::unique_ptr<sql::Statement> s(c.createStatement());
      std::unique_ptr<sql::ResultSet> rs(s->executeQuery("SELECT LAST_INSERT_ID()"));
      if (rs->next()) p.seq = rs->getInt64(1);
    }
  }
  auto k = insert_key(c, p.tenant_id, p.id, now);
  out.key_id = k.key_id;
  out.api_key = k.api_key;
  return out;
}

PartnerPage PartnerRepository::list(const std::string& tenant_id, int limit, std::optional<std::int64_t> before_seq) {
  return pool_.run([&](sql::Connection& c) {
    auto st = prepare(c, std::string(kSelect) + "WHERE tenant_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?");
    st->setString(1, tenant_id);
    st->setInt64(2, before_seq.value_or(std::numeric_limits<std::int64_t>::max()));
    st->setInt(3, limit + 1);  // one more tells whether there is a next page
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    PartnerPage page;
    while (rs->next()) page.items.push_back(read_row(*rs));
    if (static_cast<int>(page.items.size()) > limit) {
      page.items.resize(limit);
      page.next_before_seq = page.items.back().seq;
    }
    return page;
  });
}

std::optional<Partner> PartnerRepository::get(const std::string& tenant_id, const std::string& id) {
  return pool_.run([&](sql::Connection& c) { return select_partner(c, tenant_id, id); });
}

std::optional<Partner> PartnerRepository::patch(const std::string& tenant_id, const std::string& id,
                                                const PartnerFields& f) {
  const auto now = sql_time(now_micros());
  return pool_.transaction([&](sql::Connection& c) -> std::optional<Partner> {
    if (!select_partner(c, tenant_id, id, /*for_update=*/true)) return std::nullopt;
    std::string sql = "UPDATE partners SET updated_at = ?";
    if (f.name) sql += ", name = ?";
    if (f.category) sql += ", category = ?";
    if (f.status) sql += ", status = ?";
    if (f.issue_price_irr) sql += ", issue_price_irr = ?";
    if (f.redeem_value_irr) sql += ", redeem_value_irr = ?";
    if (f.fee_bps) sql += ", fee_bps = ?";
    if (f.points_per_10k_irr) sql += ", points_per_10k_irr = ?";
    if (f.rate_limit_per_s) sql += ", rate_limit_per_s = ?";
    sql += " WHERE tenant_id = ? AND id = ?";
    auto st = prepare(c, sql);
    int i = 1;
    st->setString(i++, now);
    if (f.name) st->setString(i++, *f.name);
    if (f.category) st->setString(i++, *f.category);
    if (f.status) st->setString(i++, *f.status);
    if (f.issue_price_irr) st->setInt64(i++, *f.issue_price_irr);
    if (f.redeem_value_irr) st->setInt64(i++, *f.redeem_value_irr);
    if (f.fee_bps) st->setInt(i++, static_cast<int>(*f.fee_bps));
    if (f.points_per_10k_irr) st->setInt64(i++, *f.points_per_10k_irr);
    if (f.rate_limit_per_s) {
      if (*f.rate_limit_per_s) st->setInt64(i++, **f.rate_limit_per_s);
      else st->setNull(i++, sql::DataType::INTEGER);
    }
    st->setString(i++, tenant_id);
    st->setString(i, id);
    st->executeUpdate();
    // Existence is decided by the read (rows affected is 0 for an update that changed nothing, too).
    auto p = select_partner(c, tenant_id, id);
    if (p) note_control_plane_change(c);  // the gateways' cached partner and its keys' answers (status, rate limit)
    return p;
  });
}

std::optional<MintedKey> PartnerRepository::mint_key(const std::string& tenant_id, const std::string& partner_id) {
  return pool_.transaction([&](sql::Connection& c) { return mint_key(c, tenant_id, partner_id); });
}

std::optional<MintedKey> PartnerRepository::mint_key(sql::Connection& c, const std::string& tenant_id,
                                                     const std::string& partner_id) {
  if (!select_partner(c, tenant_id, partner_id)) return std::nullopt;
  return insert_key(c, tenant_id, partner_id, sql_time(now_micros()));
}

RevokeResult PartnerRepository::revoke_key(const std::string& tenant_id, const std::string& partner_id,
                                           const std::string& key_id) {
  const auto now = sql_time(now_micros());
  return pool_.transaction([&](sql::Connection& c) {
    auto st = prepare(c,
                      "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) "
                      "WHERE id = ? AND tenant_id = ? AND partner_id = ?");
    st->setString(1, now);
    st->setString(2, key_id);
    st->setString(3, tenant_id);
    st->setString(4, partner_id);
    // The gateways' cached answer for the key's token; a second revocation (or an unknown key) changes nothing.
    if (st->executeUpdate() > 0) note_control_plane_change(c);
    // Rows "affected" does not count rows that matched without changing; ask directly.
    auto sel = prepare(c, "SELECT 1 FROM api_keys WHERE id = ? AND tenant_id = ? AND partner_id = ?");
    sel->setString(1, key_id);
    sel->setString(2, tenant_id);
    sel->setString(3, partner_id);
    std::unique_ptr<sql::ResultSet> rs(sel->executeQuery());
    return rs->next() ? RevokeResult::revoked : RevokeResult::not_found;
  });
}

std::optional<KeyLookup> PartnerRepository::find_by_key_hash(const std::string& key_hash) {
  return pool_.run([&](sql::Connection& c) -> std::optional<KeyLookup> {
    auto st = prepare(c,
                      "SELECT k.id AS key_id, p.id, p.tenant_id, p.name, p.category, p.status, p.issue_price_irr, "
                      "p.redeem_value_irr, p.fee_bps, p.points_per_10k_irr, p.rate_limit_per_s, p.seq, "
                      "DATE_FORMAT(p.created_at, '%Y-%m-%d %H:%i:%s.%f') AS created_at_s, "
                      "DATE_FORMAT(p.updated_at, '%Y-%m-%d %H:%i:%s.%f') AS updated_at_s "
                      "FROM api_keys k JOIN partners p ON p.tenant_id = k.tenant_id AND p.id = k.partner_id "
                      "WHERE k.key_hash = ? AND k.revoked_at IS NULL");
    st->setString(1, key_hash);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    if (!rs->next()) return std::nullopt;
    KeyLookup out;
    out.key_id = rs->getString("key_id");
    out.partner = read_row(*rs);
    return out;
  });
}

const char* partner_select_sql() { return kSelect; }

Partner partner_from_row(sql::ResultSet& rs) { return read_row(rs); }

}  // namespace emtiaz::partners
