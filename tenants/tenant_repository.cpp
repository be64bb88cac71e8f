#include "tenants/tenant_repository.hpp"

#include "common/control_plane_version.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "common/json_reader.hpp"
#include "common/sql_util.hpp"

namespace emtiaz::tenants {
namespace {

void check_duration(const std::optional<std::string>& text, const char* field, bool may_be_zero,
                    std::optional<Problem>& err) {
  if (err || !text) return;
  auto d = parse_iso_duration(*text);
  if (!d) {
    err = invalid_field(field, "must be an ISO 8601 duration such as P12M, P14D or PT15M");
    return;
  }
  if (!may_be_zero && d->is_zero()) err = invalid_field(field, "must be longer than zero");
}

Tenant read_row(sql::ResultSet& rs) {
  Tenant t;
  t.id = rs.getString("id");
  t.name = rs.getString("name");
  t.timezone = rs.getString("timezone");
  auto cal = parse_calendar(std::string(rs.getString("calendar")));
  if (!cal) throw std::runtime_error("tenant " + t.id + " has an unknown calendar");
  t.calendar = *cal;
  t.points_ttl_text = rs.getString("points_ttl");
  t.pending_period_text = rs.getString("pending_period");
  t.hold_ttl_text = rs.getString("hold_ttl");
  auto parse = [&](const std::string& s) {
    auto d = parse_iso_duration(s);
    if (!d) throw std::runtime_error("tenant " + t.id + " has an unparseable duration " + s);
    return *d;
  };
  t.points_ttl = parse(t.points_ttl_text);
  t.pending_period = parse(t.pending_period_text);
  t.hold_ttl = parse(t.hold_ttl_text);
  t.auto_enroll = rs.getBoolean("auto_enroll");
  t.created_at = parse_sql_time(std::string(rs.getString("created_at_s")));
  t.updated_at = parse_sql_time(std::string(rs.getString("updated_at_s")));
  return t;
}

constexpr const char* kSelect =
    "SELECT id, name, timezone, calendar, points_ttl, pending_period, hold_ttl, auto_enroll, "
    "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS created_at_s, "
    "DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') AS updated_at_s FROM tenants ";

}  // namespace

std::variant<TenantFields, Problem> parse_tenant_fields(const nlohmann::json& body, bool creating) {
  if (!body.is_object()) return problem(Code::malformed_json, "the request body must be a JSON object");
  JsonReader r{body, {}};
  std::optional<Problem>& err = r.err;
  TenantFields f;

  if (creating) {
    f.name = r.text("name", true, kMaxTenantNameBytes);
  } else if (r.find("name")) {
    err = invalid_field("name", "cannot be changed");
  }

  f.timezone = r.string("timezone", false);
  if (!err && f.timezone && !is_valid_time_zone(*f.timezone))
    err = invalid_field("timezone", "must be an IANA time zone such as Asia/Tehran");

  auto calendar = r.string("calendar", false);
  if (!err && calendar) {
    f.calendar = parse_calendar(*calendar);
    if (!f.calendar) err = invalid_field("calendar", "must be jalali or gregorian");
  }

  f.points_ttl = r.string("points_ttl", false);
  check_duration(f.points_ttl, "points_ttl", false, err);
  f.pending_period = r.string("pending_period", false);
  check_duration(f.pending_period, "pending_period", true, err);
  f.hold_ttl = r.string("hold_ttl", false);
  check_duration(f.hold_ttl, "hold_ttl", false, err);
  f.auto_enroll = r.boolean("auto_enroll", false);
  if (err) return *err;

  if (creating) {
    if (!f.timezone) f.timezone = "Asia/Tehran";
    if (!f.calendar) f.calendar = Calendar::jalali;
    if (!f.points_ttl) f.points_ttl = "P12M";
    if (!f.pending_period) f.pending_period = "P0D";
    if (!f.hold_ttl) f.hold_ttl = "PT15M";
    if (!f.auto_enroll) f.auto_enroll = true;
  }
  return f;
}

nlohmann::json to_json(const Tenant& t) {
  return {
      {"id", t.id},
      {"name", t.name},
      {"timezone", t.timezone},
      {"calendar", std::string(format_calendar(t.calendar))},
      {"points_ttl", t.points_ttl_text},
      {"pending_period", t.pending_period_text},
      {"hold_ttl", t.hold_ttl_text},
      {"auto_enroll", t.auto_enroll},
      {"created_at", format_rfc3339(t.created_at, t.timezone)},
      {"updated_at", format_rfc3339(t.updated_at, t.timezone)},
  };
}

CreatedTenant TenantRepository::create(const TenantFields& f) {
  return pool_.transaction([&](sql::Connection& c) { return create(c, f); });
}

CreatedTenant TenantRepository::create(sql::Connection& c, const TenantFields& f) {
  if (!f.name || !f.timezone || !f.calendar || !f.points_ttl || !f.pending_period || !f.hold_ttl || !f.auto_enroll)
    throw std::logic_error("TenantRepository::create needs every field (use parse_tenant_fields)");
  CreatedTenant out;
  out.operator_token = random_token("op_", 24);
  auto& t = out.tenant;
  t.id = new_id("ten");
  t.name = *f.name;
  t.timezone = *f.timezone;
  t.calendar = *f.calendar;
  t.points_ttl_text = *f.points_ttl;
  t.pending_period_text = *f.pending_period;
  t.hold_ttl_text = *f.hold_ttl;
  t.points_ttl = parse_iso_duration(t.points_ttl_text).value();
  t.pending_period = parse_iso_duration(t.pending_period_text).value();
  t.hold_ttl = parse_iso_duration(t.hold_ttl_text).value();
  t.auto_enroll = *f.auto_enroll;
  // Stored as DATETIME(6); round-trip exactly what is stored so the answer equals later reads.
  t.created_at = t.updated_at = std::chrono::floor<std::chrono::microseconds>(now_utc());
  {
    auto st = prepare(c,
                      "INSERT INTO tenants (id, name, timezone, calendar, points_ttl, pending_period, hold_ttl, "
                      "auto_enroll, operator_token_hash, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    st->setString(1, t.id);
    st->setString(2, t.name);
    st->setString(3, t.timezone);
    st->setString(4, std::string(format_calendar(t.calendar)));
    st->setString(5, t.points_ttl_text);
    st->setString(6, t.pending_period_text);
    st->setString(7, t.hold_ttl_text);
    st->setBoolean(8, t.auto_enroll);
    st->setString(9, sha256_hex(out.operator_token));
    st->setString(10, sql_time(t.created_at));
    st->setString(11, sql_time(t.updated_at));
    st->execute();
  }
  return out;
}

std::optional<Tenant> TenantRepository::select_one(sql::Connection& c, const std::string& where_column,
                                                   const std::string& value) {
  auto st = prepare(c, std::string(kSelect) + "WHERE " + where_column + " = ?");
  st->setString(1, value);
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
  if (!rs->next()) return std::nullopt;
  return read_row(*rs);
}

std::optional<Tenant> TenantRepository::select_one(const std::string& where_column, const std::string& value) {
  return pool_.run([&](sql::Connection& c) { return select_one(c, where_column, value); });
}

std::optional<Tenant> TenantRepository::get(const std::string& id) { return select_one("id", id); }

std::optional<Tenant> TenantRepository::get(sql::Connection& c, const std::string& id) {
  return select_one(c, "id", id);
}

std::optional<Tenant> TenantRepository::find_by_operator_token_hash(const std::string& hash) {
  return select_one("operator_token_hash", hash);
}

std::optional<Tenant> TenantRepository::patch(const std::string& id, const TenantFields& f) {
  std::vector<std::pair<std::string, std::string>> sets;  // column, value
  if (f.timezone) sets.emplace_back("timezone", *f.timezone);
  if (f.calendar) sets.emplace_back("calendar", std::string(format_calendar(*f.calendar)));
  if (f.points_ttl) sets.emplace_back("points_ttl", *f.points_ttl);
  if (f.pending_period) sets.emplace_back("pending_period", *f.pending_period);
  if (f.hold_ttl) sets.emplace_back("hold_ttl", *f.hold_ttl);
  const auto now = sql_time(std::chrono::floor<std::chrono::microseconds>(now_utc()));
  return pool_.transaction([&](sql::Connection& c) -> std::optional<Tenant> {
    std::string sql = "UPDATE tenants SET updated_at = ?";
    for (const auto& [col, _] : sets) sql += ", " + col + " = ?";
    if (f.auto_enroll) sql += ", auto_enroll = ?";
    sql += " WHERE id = ?";
    auto st = prepare(c, sql);
    int i = 1;
    st->setString(i++, now);
    for (const auto& [_, v] : sets) st->setString(i++, v);
    if (f.auto_enroll) st->setBoolean(i++, *f.auto_enroll);
    st->setString(i, id);
    st->executeUpdate();
    // Read back inside the transaction: "rows affected" is 0 both for a missing tenant and for an update
    // that changed nothing, so existence is decided by the read.
    auto t = select_one(c, "id", id);
    if (t) note_control_plane_change(c);  // the gateways' cached tenant
    return t;
  });
}

const char* tenant_select_sql() { return kSelect; }

Tenant tenant_from_row(sql::ResultSet& rs) { return read_row(rs); }

}  // namespace emtiaz::tenants
