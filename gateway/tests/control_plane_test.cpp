// Unit tests of the control plane's pure parts: fingerprints, idempotency keys, cursors, member input and
// references, and the caching authenticator (with a fake lookup, no MySQL).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "gateway/auth.hpp"
#include "gateway/idempotency.hpp"
#include "gateway/members_repository.hpp"
#include "gateway/pagination.hpp"

using namespace emtiaz;
using namespace emtiaz::gateway;
using nlohmann::json;

// ------------------------------------------------------------------------------------------ fingerprint

TEST(Fingerprint, SameJsonInAnyOrderAndSpacingIsTheSame) {
  auto a = json::parse(R"({"name":"کافه","earn":{"points_per_10k_irr":10},"issue_price_irr":1000})");
  auto b = json::parse("{ \"issue_price_irr\" : 1000,\n \"earn\": { \"points_per_10k_irr\": 10 },\t\"name\": \"کافه\" }");
  // Escaped and literal forms of the same string are the same JSON.
  auto c = json::parse(R"({"issue_price_irr":1000,"name":"\u06a9\u0627\u0641\u0647","earn":{"points_per_10k_irr":10}})");
  EXPECT_EQ(request_fingerprint("POST", "/v1/partners", a), request_fingerprint("POST", "/v1/partners", b));
  EXPECT_EQ(request_fingerprint("POST", "/v1/partners", a), request_fingerprint("POST", "/v1/partners", c));
  EXPECT_EQ(request_fingerprint("POST", "/v1/partners", a).size(), 64u);
}

TEST(Fingerprint, MethodPathAndBodyAllCount) {
  auto a = json::parse(R"({"x":1})");
  auto fp = request_fingerprint("POST", "/v1/partners", a);
  EXPECT_NE(fp, request_fingerprint("PUT", "/v1/partners", a));
  EXPECT_NE(fp, request_fingerprint("POST", "/v1/members", a));
  EXPECT_NE(fp, request_fingerprint("POST", "/v1/partners", json::parse(R"({"x":2})")));
  EXPECT_NE(fp, request_fingerprint("POST", "/v1/partners", json::parse(R"({"x":"1"})")));
  EXPECT_NE(fp, request_fingerprint("POST", "/v1/partners", json::parse(R"({"x":1,"y":null})")));
}

TEST(IdempotencyKey, PrintableAsciiOneTo255) {
  EXPECT_TRUE(is_valid_idempotency_key("a"));
  EXPECT_TRUE(is_valid_idempotency_key("order 42/retry:1~"));
  EXPECT_TRUE(is_valid_idempotency_key(std::string(255, 'k')));
  EXPECT_FALSE(is_valid_idempotency_key(""));
  EXPECT_FALSE(is_valid_idempotency_key(std::string(256, 'k')));
  EXPECT_FALSE(is_valid_idempotency_key("tab\there"));
  EXPECT_FALSE(is_valid_idempotency_key("کلید"));
  EXPECT_FALSE(is_valid_idempotency_key(std::string("nul\0x", 5)));
}

TEST(IdempotencyKey, WhatIsStored) {
  EXPECT_TRUE(is_stored_response(201, ""));
  EXPECT_TRUE(is_stored_response(200, ""));
  EXPECT_TRUE(is_stored_response(204, ""));
  EXPECT_TRUE(is_stored_response(422, "insufficient_points"));
  EXPECT_TRUE(is_stored_response(409, "duplicate_receipt"));
  EXPECT_TRUE(is_stored_response(409, "redemption_not_authorized"));
  EXPECT_FALSE(is_stored_response(422, "invalid_field"));
  EXPECT_FALSE(is_stored_response(422, "invalid_amount"));
  EXPECT_FALSE(is_stored_response(422, "invalid_phone"));
  EXPECT_FALSE(is_stored_response(400, "malformed_json"));
  EXPECT_FALSE(is_stored_response(413, "payload_too_large"));
  EXPECT_FALSE(is_stored_response(401, "unauthorized"));
  EXPECT_FALSE(is_stored_response(403, "partner_suspended"));
  EXPECT_FALSE(is_stored_response(404, "member_not_found"));
  EXPECT_FALSE(is_stored_response(409, "idempotency_key_in_use"));
  EXPECT_FALSE(is_stored_response(409, "idempotency_key_reused"));
  EXPECT_FALSE(is_stored_response(503, "outcome_unknown"));
  EXPECT_FALSE(is_stored_response(500, "internal"));
}

TEST(IdempotencyKey, WhatIsStoredByTheResponseBody) {
  EXPECT_TRUE(is_stored_outcome(201, R"({"id":"ern_1","code":"not a problem"})"));
  EXPECT_TRUE(is_stored_outcome(422, R"({"type":"x","code":"insufficient_points"})"));
  EXPECT_TRUE(is_stored_outcome(409, R"({"code":"duplicate_receipt"})"));
  EXPECT_FALSE(is_stored_outcome(422, R"({"code":"invalid_amount"})"));
  EXPECT_FALSE(is_stored_outcome(403, R"({"code":"partner_suspended"})"));
  EXPECT_FALSE(is_stored_outcome(422, R"({"code":["insufficient_points"]})"));  // not a string code
  EXPECT_FALSE(is_stored_outcome(422, "not json"));
  EXPECT_FALSE(is_stored_outcome(409, ""));
}

// ---------------------------------------------------------------------------------------------- cursors

TEST(Cursor, RoundTripsAndIsOpaque) {
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{99}, std::int64_t{123456789},
                         std::numeric_limits<std::int64_t>::max()}) {
    auto c = encode_cursor("p", v);
    EXPECT_EQ(c.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), std::string::npos);
    EXPECT_EQ(decode_cursor("p", c), v) << c;
    EXPECT_EQ(c.find(std::to_string(v)), std::string::npos);
  }
}

TEST(Cursor, RejectsForeignAndBrokenCursors) {
  EXPECT_FALSE(decode_cursor("p", encode_cursor("s", 5)));  // another list's cursor
  EXPECT_FALSE(decode_cursor("p", ""));
  EXPECT_FALSE(decode_cursor("p", "!!!"));
  EXPECT_FALSE(decode_cursor("p", "5"));
  EXPECT_FALSE(decode_cursor("p", base64url_encode("p:")));
  EXPECT_FALSE(decode_cursor("p", base64url_encode("p:-1")));
  EXPECT_FALSE(decode_cursor("p", base64url_encode("p:007")));
  EXPECT_FALSE(decode_cursor("p", base64url_encode("p:1x")));
  EXPECT_FALSE(decode_cursor("p", base64url_encode("p:99999999999999999999")));
  EXPECT_FALSE(decode_cursor("p", base64url_encode("p:1") + "="));
  EXPECT_FALSE(decode_cursor("p", std::string(100, 'A')));
}

TEST(Base64Url, KnownVectors) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("Zm9vYg"), "foob");
  EXPECT_FALSE(base64url_decode("Zh"));  // non-zero trailing bits: not a canonical encoding
  EXPECT_FALSE(base64url_decode("Z"));
}

namespace {
HttpRequest with_query(std::map<std::string, std::string> q) {
  HttpRequest r;
  r.query = std::move(q);
  return r;
}
std::string field_of(const std::variant<ListParams, Problem>& v) {
  if (!std::holds_alternative<Problem>(v)) return "(accepted)";
  return std::get<Problem>(v).extra.value("field", "");
}
}  // namespace

TEST(ListParams, LimitDefaultsAndBounds) {
  auto d = parse_list_params(with_query({}), "p");
  ASSERT_TRUE(std::holds_alternative<ListParams>(d));
  EXPECT_EQ(std::get<ListParams>(d).limit, 20);
  EXPECT_FALSE(std::get<ListParams>(d).position);
  EXPECT_EQ(std::get<ListParams>(parse_list_params(with_query({{"limit", "100"}}), "p")).limit, 100);
  EXPECT_EQ(std::get<ListParams>(parse_list_params(with_query({{"limit", "1"}}), "p")).limit, 1);
  for (const char* bad : {"0", "101", "-1", "abc", "2.5", "", "1e2", " 5", "99999999999999999999999"})
    EXPECT_EQ(field_of(parse_list_params(with_query({{"limit", bad}}), "p")), "limit") << bad;
  EXPECT_EQ(field_of(parse_list_params(with_query({{"cursor", "garbage"}}), "p")), "cursor");
  auto c = parse_list_params(with_query({{"cursor", encode_cursor("p", 17)}}), "p");
  EXPECT_EQ(std::get<ListParams>(c).position, 17);
}

// ---------------------------------------------------------------------------------------------- members

namespace {
std::string member_problem(const json& body) {
  auto r = parse_member_fields(body);
  if (!std::holds_alternative<Problem>(r)) return "(accepted)";
  const auto& p = std::get<Problem>(r);
  return std::string(code_name(p.code)) + ":" + p.extra.value("field", "");
}
}  // namespace

TEST(MemberFields, PhoneIsNormalisedAndRequired) {
  auto r = parse_member_fields({{"phone", "۰۹۱۲ ۳۴۵-۶۷۸۹"}, {"name", "مریم"}});
  ASSERT_TRUE(std::holds_alternative<MemberFields>(r));
  EXPECT_EQ(std::get<MemberFields>(r).phone, "+989123456789");
  EXPECT_EQ(*std::get<MemberFields>(r).name, "مریم");
  EXPECT_EQ(member_problem(json::object()), "invalid_field:phone");
  EXPECT_EQ(member_problem({{"phone", 9123456789LL}}), "invalid_field:phone");
  EXPECT_EQ(member_problem({{"phone", "02112345678"}}), "invalid_phone:");
  EXPECT_EQ(member_problem({{"phone", "hello"}}), "invalid_phone:");
}

TEST(MemberFields, ProfileFieldsAreChecked) {
  const json base = {{"phone", "09123456789"}};
  auto with = [&](const char* k, json v) {
    json b = base;
    b[k] = std::move(v);
    return b;
  };
  EXPECT_EQ(member_problem(with("birth_date", "1990-02-30")), "invalid_field:birth_date");
  EXPECT_EQ(member_problem(with("birth_date", "1990/01/01")), "invalid_field:birth_date");
  EXPECT_EQ(member_problem(with("birth_date", "2999-01-01")), "invalid_field:birth_date");
  EXPECT_EQ(member_problem(with("birth_date", "1990-01-01")), "(accepted)");
  EXPECT_EQ(member_problem(with("email", "not-an-email")), "invalid_field:email");
  EXPECT_EQ(member_problem(with("email", "a@b@c")), "invalid_field:email");
  EXPECT_EQ(member_problem(with("email", "maryam@example.ir")), "(accepted)");
  EXPECT_EQ(member_problem(with("name", 5)), "invalid_field:name");
  EXPECT_EQ(member_problem(with("name", std::string(201, 'x'))), "invalid_field:name");
  EXPECT_EQ(member_problem(with("city", json::array())), "invalid_field:city");
  EXPECT_EQ(member_problem(with("gender", nullptr)), "(accepted)");
}

namespace {
std::string ref_result(std::string_view ref) {
  auto r = parse_member_ref(ref);
  if (auto* p = std::get_if<Problem>(&r)) return std::string(code_name(p->code)) + ":" + p->extra.value("field", "");
  const auto& m = std::get<MemberRef>(r);
  const char* kinds[] = {"id", "phone", "card"};
  return std::string(kinds[static_cast<int>(m.kind)]) + "=" + m.value;
}
}  // namespace

TEST(MemberRef, AllPhoneFormsNameOneMember) {
  for (const char* form : {"phone:09123456789", "phone:+989123456789", "phone:989123456789", "phone:00989123456789",
                           "phone:0912 345 6789", "phone:0912-345-6789", "phone:۰۹۱۲۳۴۵۶۷۸۹",
                           "phone:٠٩١٢٣٤٥٦٧٨٩", "phone:+98 912 345 6789"})
    EXPECT_EQ(ref_result(form), "phone=+989123456789") << form;
}

TEST(MemberRef, IdsCardsAndGarbage) {
  EXPECT_EQ(ref_result("mem_abc"), "id=mem_abc");
  EXPECT_EQ(ref_result("phone:02112345678"), "invalid_phone:member");
  EXPECT_EQ(ref_result("phone:"), "invalid_phone:member");
  EXPECT_EQ(ref_result("09123456789"), "invalid_field:member");
  EXPECT_EQ(ref_result("mem_"), "invalid_field:member");
  EXPECT_EQ(ref_result("email:x@y"), "invalid_field:member");
  EXPECT_EQ(ref_result(""), "invalid_field:member");
  const std::string card = new_card_number();
  EXPECT_EQ(ref_result("card:" + card), "card=" + card);
  EXPECT_EQ(ref_result("card:1234"), "invalid_field:member");
  std::string broken = card;
  broken.back() = broken.back() == '9' ? '0' : static_cast<char>(broken.back() + 1);  // Luhn fails
  EXPECT_EQ(ref_result("card:" + broken), "invalid_field:member");
}

// ------------------------------------------------------------------------------------------------ auth

namespace {
struct FakeLookup {
  std::atomic<int> calls{0};
  std::atomic<bool> known{true};
  std::atomic<bool> suspended{false};
  std::atomic<bool> down{false};
};

Authenticator fake_authenticator(std::shared_ptr<FakeLookup> f, std::chrono::milliseconds ttl,
                                 std::function<bool(std::function<void()>)> later = {},
                                 ControlPlaneWatch* watch = nullptr) {
  AuthOptions o;
  o.admin_token = "admin-secret";
  o.cache_ttl = ttl;
  o.later = std::move(later);
  o.watch = watch;
  return make_caching_authenticator(o, [f](const std::string& token, const std::string& hash) -> std::optional<Principal> {
    ++f->calls;
    EXPECT_EQ(hash.size(), 64u);
    if (f->down) throw MysqlUnavailable("down");
    if (!f->known || token != "pk_good") return std::nullopt;
    Principal p;
    p.kind = Principal::Kind::partner;
    p.tenant_id = "ten_1";
    p.partner_id = "prt_1";
    p.key_id = "key_1";
    p.suspended = f->suspended;
    return p;
  });
}
}  // namespace

TEST(Auth, AdminTokenIsRecognisedWithoutALookup) {
  auto f = std::make_shared<FakeLookup>();
  auto auth = fake_authenticator(f, std::chrono::milliseconds(500));
  auto p = auth("admin-secret");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, Principal::Kind::admin);
  EXPECT_EQ(f->calls, 0);
  EXPECT_FALSE(auth("admin-secreT"));
  EXPECT_FALSE(auth(""));
}

TEST(Auth, AnswersAreCachedBrieflyThenRefreshed) {
  auto f = std::make_shared<FakeLookup>();
  auto auth = fake_authenticator(f, std::chrono::milliseconds(200));
  ASSERT_TRUE(auth("pk_good"));
  ASSERT_TRUE(auth("pk_good"));
  EXPECT_EQ(f->calls, 1);
  // Revocation and suspension are seen once the entry is older than the TTL.
  f->known = false;
  EXPECT_TRUE(auth("pk_good"));
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_FALSE(auth("pk_good"));
  EXPECT_EQ(f->calls, 2);
  // Negative answers are cached too.
  EXPECT_FALSE(auth("pk_good"));
  EXPECT_EQ(f->calls, 2);
  f->known = true;
  f->suspended = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  auto p = auth("pk_good");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->suspended);
}

// A token in use is looked up again, once, in the last quarter of its entry's life, by the task handed to
// AuthOptions::later (the server's workers), and the answer meanwhile is the cached one; what that lookup finds
// is what is answered next. Never an answer older than the TTL.
TEST(Auth, ATokenInUseIsLookedUpAheadOfExpiryOnce) {
  auto f = std::make_shared<FakeLookup>();
  std::vector<std::function<void()>> handed;
  auto auth = fake_authenticator(f, std::chrono::milliseconds(2000), [&](std::function<void()> task) {
    handed.push_back(std::move(task));
    return true;
  });
  ASSERT_TRUE(auth("pk_good"));
  ASSERT_TRUE(auth("pk_good"));
  EXPECT_EQ(f->calls, 1);
  EXPECT_TRUE(handed.empty());  // three quarters of its life left
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  f->suspended = true;
  auto p = auth("pk_good");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->suspended);  // still the cached answer
  ASSERT_EQ(handed.size(), 1u);
  ASSERT_TRUE(auth("pk_good"));
  EXPECT_EQ(handed.size(), 1u);  // one lookup ahead at a time
  EXPECT_EQ(f->calls, 1);
  handed[0]();
  EXPECT_EQ(f->calls, 2);
  p = auth("pk_good");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->suspended);  // what the lookup ahead found
  EXPECT_EQ(f->calls, 2);
  EXPECT_EQ(handed.size(), 1u);  // a fresh entry again

  // A lookup ahead that fails leaves the entry to expire; a later one may be tried again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  ASSERT_TRUE(auth("pk_good"));
  ASSERT_EQ(handed.size(), 2u);
  f->down = true;
  handed[1]();
  EXPECT_EQ(f->calls, 3);
  ASSERT_TRUE(auth("pk_good"));
  EXPECT_EQ(handed.size(), 3u);

  // When nothing can take the task, the request is answered from the entry all the same.
  auto refused = fake_authenticator(f, std::chrono::milliseconds(2000), [](std::function<void()>) { return false; });
  f->down = false;
  ASSERT_TRUE(refused("pk_good"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  ASSERT_TRUE(refused("pk_good"));
  ASSERT_TRUE(refused("pk_good"));
  EXPECT_EQ(f->calls, 4);
}

// Watched by the control plane's watch, an answer is kept for as long as the watch's reads find nothing
// changed, and looked up again once a change has been read; unknown tokens alike.
TEST(Auth, AWatchedAnswerIsKeptUntilTheControlPlaneMoves) {
  auto f = std::make_shared<FakeLookup>();
  std::atomic<std::int64_t> version{1};
  ControlPlaneWatch watch([&] { return version.load(); });
  auto auth = fake_authenticator(f, std::chrono::milliseconds(100), {}, &watch);
  ASSERT_TRUE(watch.poll());
  ASSERT_TRUE(auth("pk_good"));
  EXPECT_FALSE(auth("pk_unknown"));
  EXPECT_EQ(f->calls, 2);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(watch.poll());
    EXPECT_TRUE(auth("pk_good"));
    EXPECT_FALSE(auth("pk_unknown"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(f->calls, 2);  // four times the ttl, no lookup

  // Revoked (the lookup no longer finds it) and the counter raised: the next answer after the read is the new one.
  f->known = false;
  EXPECT_TRUE(auth("pk_good"));  // not read yet
  version = 2;
  ASSERT_TRUE(watch.poll());
  EXPECT_FALSE(auth("pk_good"));
  EXPECT_EQ(f->calls, 3);

  // Reads stop (MySQL away): answers are reloaded once the ttl has passed since the last read.
  f->known = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_TRUE(auth("pk_good"));
  EXPECT_EQ(f->calls, 4);
}

TEST(Auth, AnOutageReusesARecentAnswerElsePropagates) {
  auto f = std::make_shared<FakeLookup>();
  auto auth = fake_authenticator(f, std::chrono::milliseconds(50));
  ASSERT_TRUE(auth("pk_good"));
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  f->down = true;
  EXPECT_TRUE(auth("pk_good"));                         // stale but recent: served
  EXPECT_THROW(auth("pk_other"), MysqlUnavailable);     // never seen: no guess
}
