#include "gateway/members_repository.hpp"

#include <fmt/format.h>

#include <chrono>

#include "common/blocking.hpp"
#include "common/ids.hpp"
#include "common/phone.hpp"
#include "common/sql_util.hpp"

namespace emtiaz::gateway {
namespace {


constexpr const char* kSelect =
    "SELECT id, tenant_id, phone, card, name, DATE_FORMAT(birth_date, '%Y-%m-%d') AS birth_date_s, gender, city, "
    "email, referred_by, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS created_at_s FROM members ";

std::optional<std::string> nullable(sql::ResultSet& rs, const char* column) {
  std::string v = rs.getString(column);
  if (rs.wasNull()) return std::nullopt;
  return v;
}

Member read_row(sql::ResultSet& rs) {
  Member m;
  m.id = rs.getString("id");
  m.tenant_id = rs.getString("tenant_id");
  m.phone = rs.getString("phone");
  m.card = rs.getString("card");
  m.name = nullable(rs, "name");
  m.birth_date = nullable(rs, "birth_date_s");
  m.gender = nullable(rs, "gender");
  m.city = nullable(rs, "city");
  m.email = nullable(rs, "email");
  m.referred_by = nullable(rs, "referred_by");
  m.created_at = parse_sql_time(std::string(rs.getString("created_at_s")));
  return m;
}

void set_nullable(sql::PreparedStatement& st, int i, const std::optional<std::string>& v) {
  if (v) st.setString(i, *v);
  else st.setNull(i, sql::DataType::VARCHAR);
}

bool valid_birth_date(const std::string& s) {
  using namespace std::chrono;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  const int y = std::stoi(s.substr(0, 4));
  const unsigned mo = static_cast<unsigned>(std::stoi(s.substr(5, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(s.substr(8, 2)));
  const year_month_day ymd{year{y}, month{mo}, day{d}};
  if (!ymd.ok() || y < 1900) return false;
  return sys_days{ymd} <= floor<days>(system_clock::now());
}

// Persian (U+06F0..9) and Arabic-Indic (U+0660..9) digits to ASCII; spaces and dashes dropped. Used for card
// numbers, which tills may type as readily as scan.
std::string ascii_digits(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == ' ' || c == '-') continue;
    if (i + 1 < in.size()) {
      unsigned char c2 = static_cast<unsigned char>(in[i + 1]);
      if (c == 0xDB && c2 >= 0xB0 && c2 <= 0xB9) {  // U+06F0..U+06F9
        out += static_cast<char>('0' + (c2 - 0xB0));
        ++i;
        continue;
      }
      if (c == 0xD9 && c2 >= 0xA0 && c2 <= 0xA9) {  // U+0660..U+0669
        out += static_cast<char>('0' + (c2 - 0xA0));
        ++i;
        continue;
      }
    }
    out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

std::variant<MemberFields, Problem> parse_member_fields(const nlohmann::json& body) {
  if (!body.is_object()) return problem(Code::malformed_json, "the request body must be a JSON object");
  std::optional<Problem> err;
  auto text = [&](const char* field, size_t max_bytes) -> std::optional<std::string> {
    if (err) return std::nullopt;
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) {
      err = invalid_field(field, "must be a string");
      return std::nullopt;
    }
    auto s = it->get<std::string>();
    if (s.size() > max_bytes) {
      err = invalid_field(field, fmt::format("must be at most {} bytes", max_bytes));
      return std::nullopt;
    }
    return s;
  };
  MemberFields f;
  auto it = body.find("phone");
  if (it == body.end() || it->is_null()) return invalid_field("phone", "is required");
  if (!it->is_string()) return invalid_field("phone", "must be a string");
  auto phone = normalize_iranian_mobile(it->get<std::string>());
  if (!phone) return problem(Code::invalid_phone, "phone: not an Iranian mobile number");
  f.phone = *phone;
  f.name = text("name", 200);
  f.birth_date = text("birth_date", 10);
  if (!err && f.birth_date && !valid_birth_date(*f.birth_date))
    err = invalid_field("birth_date", "must be a date YYYY-MM-DD between 1900-01-01 and today");
  f.gender = text("gender", 16);
  f.city = text("city", 100);
  f.email = text("email", 254);
  if (!err && f.email) {
    auto at = f.email->find('@');
    if (at == std::string::npos || at == 0 || at + 1 == f.email->size() || f.email->find('@', at + 1) != std::string::npos)
      err = invalid_field("email", "must be an email address");
  }
  f.referred_by = text("referred_by", 40);
  if (err) return *err;
  // Empty strings mean "not given" for the optional profile fields.
  for (auto* v : {&f.name, &f.gender, &f.city, &f.referred_by})
    if (*v && (*v)->empty()) v->reset();
  return f;
}

nlohmann::json to_json(const Member& m, const std::string& tz) {
  auto opt = [](const std::optional<std::string>& v) -> nlohmann::json { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {
      {"id", m.id},
      {"phone", m.phone},
      {"card", m.card},
      {"name", opt(m.name)},
      {"birth_date", opt(m.birth_date)},
      {"gender", opt(m.gender)},
      {"city", opt(m.city)},
      {"email", opt(m.email)},
      {"referred_by", opt(m.referred_by)},
      {"created_at", format_rfc3339(m.created_at, tz)},
  };
}

std::variant<MemberRef, Problem> parse_member_ref(std::string_view ref) {
  auto bad = [] { return invalid_field("member", "must be mem_..., phone:<number> or card:<16 digits>"); };
  if (ref.size() > 256) return bad();
  if (ref.rfind("mem_", 0) == 0 && ref.size() > 4) return MemberRef{MemberRef::Kind::id, std::string(ref)};
  if (ref.rfind("phone:", 0) == 0) {
    auto phone = normalize_iranian_mobile(ref.substr(6));
    if (!phone) {
      Problem p = problem(Code::invalid_phone, "member: not an Iranian mobile number");
      p.extra["field"] = "member";
      return p;
    }
    return MemberRef{MemberRef::Kind::phone, *phone};
  }
  if (ref.rfind("card:", 0) == 0) {
    auto digits = ascii_digits(ref.substr(5));
    if (!is_valid_card_number(digits)) return invalid_field("member", "card: must be a 16-digit member card number");
    return MemberRef{MemberRef::Kind::card, digits};
  }
  return bad();
}

std::string member_index_key(const std::string& tenant_id, const MemberRef& ref) {
  const char* kind = ref.kind == MemberRef::Kind::id ? "id" : ref.kind == MemberRef::Kind::phone ? "phone" : "card";
  return "emtiaz:member:{t:" + tenant_id + "}:" + kind + ":" + ref.value;
}

void index_member(RedisPool& redis, const std::string& tenant_id, const MemberRef& ref, const std::string& member_id) {
  try {
    redis.command({"SET", member_index_key(tenant_id, ref), member_id, "EX", kMemberIndexSeconds});
  } catch (const RedisUnavailable&) {
  }
}

std::optional<Member> MemberRepository::find(const std::string& tenant_id, const char* column, const std::string& value) {
  return pool_.run([&](sql::Connection& c) -> std::optional<Member> {
    auto st = prepare(c, std::string(kSelect) + "WHERE tenant_id = ? AND " + column + " = ?");
    st->setString(1, tenant_id);
    st->setString(2, value);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    if (!rs->next()) return std::nullopt;
    return read_row(*rs);
  });
}

std::optional<Member> MemberRepository::get(const std::string& tenant_id, const std::string& id) {
  return find(tenant_id, "id", id);
}
std::optional<Member> MemberRepository::find_by_phone(const std::string& tenant_id, const std::string& e164) {
  return find(tenant_id, "phone", e164);
}
std::optional<Member> MemberRepository::find_by_card(const std::string& tenant_id, const std::string& card) {
  return find(tenant_id, "card", card);
}

std::pair<Member, bool> MemberRepository::enroll(const std::string& tenant_id, const MemberFields& f) {
  if (auto existing = find_by_phone(tenant_id, f.phone)) return {*existing, false};
  // The INSERT is IGNOREd on any duplicate key: the phone (a concurrent enrolment won: return its member)
  // or, astronomically rarely, the random id or card (try again with new ones).
  for (int attempt = 0; attempt < 5; ++attempt) {
    Member m;
    m.id = new_id("mem");
    m.tenant_id = tenant_id;
    m.phone = f.phone;
    m.card = new_card_number();
    m.name = f.name;
    m.birth_date = f.birth_date;
    m.gender = f.gender;
    m.city = f.city;
    m.email = f.email;
    m.referred_by = f.referred_by;
    m.created_at = std::chrono::floor<std::chrono::microseconds>(now_utc());
    bool inserted = pool_.run([&](sql::Connection& c) {
      auto st = prepare(c,
                        "INSERT IGNORE INTO members (tenant_id, id, phone, card, name, birth_date, gender, city, email, "
                        "referred_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
      st->setString(1, m.tenant_id);
      st->setString(2, m.id);
      st->setString(3, m.phone);
      st->setString(4, m.card);
      set_nullable(*st, 5, m.name);
      set_nullable(*st, 6, m.birth_date);
      set_nullable(*st, 7, m.gender);
      set_nullable(*st, 8, m.city);
      set_nullable(*st, 9, m.email);
      set_nullable(*st, 10, m.referred_by);
      st->setString(11, sql_time(m.created_at));
      return st->executeUpdate() == 1;
    });
    if (inserted) return {m, true};
    if (auto existing = find_by_phone(tenant_id, f.phone)) return {*existing, false};
  }
  throw std::runtime_error("members: could not allocate a unique member id and card");
}

std::variant<Member, Problem> MemberRepository::resolve(const std::string& tenant_id, const std::string& member_ref,
                                                        bool auto_enroll) {
  // Every valid reference needs MySQL from here on: on an I/O thread, hand the request to a worker before
  // parsing the reference (the worker parses it again), rather than after.
  if (blocking_forbidden()) throw WouldBlock{};
  auto parsed = parse_member_ref(member_ref);
  if (auto* p = std::get_if<Problem>(&parsed)) return *p;
  return resolve(tenant_id, std::get<MemberRef>(parsed), auto_enroll);
}

std::variant<Member, Problem> MemberRepository::resolve(const std::string& tenant_id, const MemberRef& ref,
                                                        bool auto_enroll) {
  if (blocking_forbidden()) throw WouldBlock{};
  std::optional<Member> m;
  switch (ref.kind) {
    case MemberRef::Kind::id: m = get(tenant_id, ref.value); break;
    case MemberRef::Kind::phone: m = find_by_phone(tenant_id, ref.value); break;
    case MemberRef::Kind::card: m = find_by_card(tenant_id, ref.value); break;
  }
  if (m) return *m;
  if (ref.kind == MemberRef::Kind::phone && auto_enroll) {
    MemberFields f;
    f.phone = ref.value;
    return enroll(tenant_id, f).first;
  }
  return problem(Code::member_not_found, "no such member in this tenant");
}

}  // namespace emtiaz::gateway
