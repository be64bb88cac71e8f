#pragma once
// Members of a tenant: enrolment (idempotent by phone), profile, and the resolution of a `member` reference
// (`mem_...`, `phone:<any written form>`, `card:<16 digits>`) to the member's id.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "common/errors.hpp"
#include "common/mysql.hpp"
#include "common/redis.hpp"
#include "common/time.hpp"

namespace emtiaz::gateway {

struct Member {
  std::string id;
  std::string tenant_id;
  std::string phone;  // E.164
  std::string card;   // 16 digits
  std::optional<std::string> name;
  std::optional<std::string> birth_date;  // YYYY-MM-DD
  std::optional<std::string> gender;
  std::optional<std::string> city;
  std::optional<std::string> email;
  std::optional<std::string> referred_by;
  Instant created_at{};
};

// What enrolment takes; `phone` is already normalised to E.164.
struct MemberFields {
  std::string phone;
  std::optional<std::string> name;
  std::optional<std::string> birth_date;
  std::optional<std::string> gender;
  std::optional<std::string> city;
  std::optional<std::string> email;
  std::optional<std::string> referred_by;
};

// Validates POST /v1/members: `phone` required (a string; not an Iranian mobile: 422 invalid_phone);
// name ≤ 200 bytes, birth_date a real date YYYY-MM-DD not after today (UTC) and not before 1900, gender ≤ 16
// bytes, city ≤ 100 bytes, email ≤ 254 bytes with one '@' and a non-empty part on each side, referred_by
// ≤ 40 bytes (kept as given). Every optional field must be a string or null; otherwise 422 invalid_field.
std::variant<MemberFields, Problem> parse_member_fields(const nlohmann::json& body);

// {id, phone, card, name, birth_date, gender, city, email, referred_by, created_at} (absent: null); the time
// is RFC 3339 in `tz`.
nlohmann::json to_json(const Member& m, const std::string& tz);

// A `member` reference, parsed (no I/O): which column to look up and the normalised value.
struct MemberRef {
  enum class Kind { id, phone, card } kind;
  std::string value;  // the id, the E.164 phone, or the 16 card digits
};
// `mem_...` → id; `phone:<...>` → normalised phone (422 invalid_phone); `card:<16 digits>` (422
// invalid_field, field "member", unless a valid card number); anything else 422 invalid_field "member".
std::variant<MemberRef, Problem> parse_member_ref(std::string_view ref);

// The member index in Redis, shared by every gateway: a parsed reference's key → the member's id (one `GET`
// on a gateway I/O thread instead of a worker and a MySQL look-up). A reference resolves to the same member
// forever once it exists (members are never deleted; their phone and card never change), so an entry is never
// wrong and never invalidated; a missing one (never written, expired, Redis lost) costs one MySQL look-up,
// after which the gateway writes it. Enrolment writes the phone's. Entries live kMemberIndexSeconds.
std::string member_index_key(const std::string& tenant_id, const MemberRef& ref);
inline constexpr const char* kMemberIndexSeconds = "2592000";  // 30 days
// Writes the entry; a Redis that is away only means that the next look-up asks MySQL.
void index_member(RedisPool& redis, const std::string& tenant_id, const MemberRef& ref, const std::string& member_id);

class MemberRepository {
 public:
  explicit MemberRepository(MysqlPool& pool) : pool_(pool) {}

  // Enrols a new member or returns the existing one with the same phone (created == false). Race-safe:
  // concurrent enrolments of one phone create one member (UNIQUE (tenant_id, phone)).
  std::pair<Member, bool> enroll(const std::string& tenant_id, const MemberFields& fields);
  std::optional<Member> get(const std::string& tenant_id, const std::string& id);
  std::optional<Member> find_by_phone(const std::string& tenant_id, const std::string& e164);
  std::optional<Member> find_by_card(const std::string& tenant_id, const std::string& card);

  // Resolves a reference within the tenant; an unknown phone is enrolled on the spot when `auto_enroll`,
  // anything else unknown is 404 member_not_found. Another tenant's member is exactly as unknown.
  std::variant<Member, Problem> resolve(const std::string& tenant_id, const std::string& member_ref, bool auto_enroll);
  // The same for a reference already parsed.
  std::variant<Member, Problem> resolve(const std::string& tenant_id, const MemberRef& ref, bool auto_enroll);

 private:
  std::optional<Member> find(const std::string& tenant_id, const char* column, const std::string& value);
  MysqlPool& pool_;
};

}  // namespace emtiaz::gateway
