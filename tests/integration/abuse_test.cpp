// Abuse checks against real gateways (docs/reliability.md, "Abuse"): per-partner rate limits, secrets kept
// out of the logs, request ids in problem documents and log lines, size/connection/time limits, constant-time
// token comparison, and no default admin token outside local mode. Besides the suite's shared gateway, some
// tests start gateways of their own (same MariaDB, Redis and broker, other limits); they never stop a server
// of the shared network.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/crypto.hpp"
#include "tests/support/expect.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string suffix() {
  static int n = 0;
  return std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-" + std::to_string(++n);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// `env -i` keeps the sanitizers' settings (a sanitized gateway reads them at exit).
std::string clean_env() {
  std::string out = "env -i PATH=/usr/bin:/bin";
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    const char* v = std::getenv(name);
    if (v != nullptr) out += " " + shell_quote(std::string(name) + "=" + v);
  }
  return out;
}

std::string build_dir() {
  const char* b = std::getenv("EMTIAZ_BUILD_DIR");
  return b != nullptr && *b != '\0' ? b : "build";
}

// The shared network's folder (EMTIAZ_TEST_ENV is DIR/env): its logs are DIR/logs/PART.log.
std::string suite_dir() {
  const char* e = std::getenv("EMTIAZ_TEST_ENV");
  return e != nullptr ? fs::path(e).parent_path().string() : std::string();
}

// The problem document names the request: its request_id is the X-Request-Id header of the answer.
void expect_problem_with_request_id(const HttpResponse& r, const std::string& what) {
  EXPECT_EQ(r.header("content-type"), "application/problem+json") << what << ": " << r.describe();
  auto j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << what << ": " << r.describe();
  const std::string rid = r.header("x-request-id");
  EXPECT_FALSE(rid.empty()) << what << ": no X-Request-Id";
  EXPECT_EQ(j.value("request_id", ""), rid) << what << ": " << r.body;
  EXPECT_EQ(j.value("status", 0), r.status) << what << ": " << r.body;
}

// A new tenant and one partner of it on the suite's network: {operator token, partner id, partner key}.
struct Fixture {
  std::string operator_token, partner_id, partner_key, key_id;
};

json partner_body(const std::string& name) {
  return {{"name", name},           {"category", "cafe"}, {"issue_price_irr", 1000},
          {"redeem_value_irr", 900}, {"fee_bps", 150},    {"earn", {{"points_per_10k_irr", 100}}}};
}

Fixture new_fixture(HttpClient& http, const std::string& admin) {
  Fixture f;
  auto t = http.post("/v1/tenants", {{"name", "Abuse " + suffix()}}, {bearer(admin)});
  EXPECT_EQ(t.status, 201) << t.describe();
  if (t.status != 201) return f;
  f.operator_token = t.json().value("operator_token", "");
  auto p = http.post("/v1/partners", partner_body("Abuse partner " + suffix()), {bearer(f.operator_token)});
  EXPECT_EQ(p.status, 201) << p.describe();
  if (p.status != 201) return f;
  f.partner_id = p.json().value("id", "");
  f.partner_key = p.json().value("api_key", "");
  f.key_id = p.json().value("key_id", "");
  return f;
}

// ------------------------------------------------------------------------------------------ raw sockets
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& bytes) { return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()); }

  // Reads until the peer closes or `timeout` passes. closed: the peer closed (EOF or reset).
  struct Read {
    std::string data;
    bool closed = false;
  };
  // Reads until `needle` has arrived, the peer closes or `timeout` passes.
  Read read_until(const std::string& needle, std::chrono::milliseconds timeout) {
    Read out;
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && out.data.find(needle) == std::string::npos) {
      auto more = read_until_closed(std::chrono::milliseconds(100));
      out.data += more.data;
      if (more.closed) {
        out.closed = true;
        break;
      }
    }
    return out;
  }
  Read read_until_closed(std::chrono::milliseconds timeout) {
    Read out;
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      timeval tv{0, 100'000};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        out.data.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        out.closed = true;
        return out;
      }
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// ------------------------------------------------------------------------------------------ own gateways
// A gateway process of the test's own against the shared network's MariaDB, Redis and broker, with other
// settings (limits, log level); its log is a file of its own.
class OwnGateway {
 public:
  explicit OwnGateway(const std::map<std::string, std::string>& overrides) {
    const char* tmp = std::getenv("EMTIAZ_TEST_TMPDIR");
    const fs::path base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    fs::create_directories(base);
    dir_ = (base / ("abuse-gw-" + suffix())).string();
    fs::create_directories(dir_);
    log_ = dir_ + "/gateway.log";
    const std::string port_file = dir_ + "/port";
    std::map<std::string, std::string> env;
    for (const auto& [k, v] : suite_env().values()) {
      if (k.rfind("EMTIAZ_", 0) == 0 && k.find("_URL") == std::string::npos) env[k] = v;
    }
    env["EMTIAZ_HTTP_PORT"] = "0";
    env["EMTIAZ_PORT_FILE"] = port_file;
    for (const auto& [k, v] : overrides) env[k] = v;
    std::string cmd = "( exec " + clean_env();
    for (const auto& [k, v] : env) cmd += " " + shell_quote(k + "=" + v);
    cmd += " " + shell_quote(build_dir() + "/gateway/emtiaz-gateway") + " >" + shell_quote(log_) +
           " 2>&1 </dev/null ) & echo $!";
    std::string out;
    run_shell(cmd, &out);
    pid_ = static_cast<pid_t>(std::atol(out.c_str()));
    const bool up = wait_until(
        [&] {
          std::ifstream in(port_file);
          int p = 0;
          if (!(in >> p) || p <= 0) return false;
          port_ = p;
          return HttpClient(url(), 2s).get("/v1/health").status == 200;
        },
        60s, 100ms);
    if (!up) ADD_FAILURE() << "own gateway did not come up; log:\n" << read_file(log_);
  }
  ~OwnGateway() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      if (!wait_until([&] { return ::kill(pid_, 0) != 0; }, 10s, 50ms)) ::kill(pid_, SIGKILL);
    }
    if (!::testing::Test::HasFailure()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  OwnGateway(const OwnGateway&) = delete;
  OwnGateway& operator=(const OwnGateway&) = delete;

  bool up() const { return port_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_file(log_); }

 private:
  std::string dir_, log_;
  pid_t pid_ = 0;
  int port_ = 0;
};

// A TCP port on loopback that nothing listens on (bound, then released).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ------------------------------------------------------------------------------------------ rate limits
TEST(Abuse, RateLimitIsPerKeyConfigurablePerPartnerAndAnswers429WithRetryAfter) {
  HttpClient http(suite_env().url());
  auto limited = new_fixture(http, suite_env().admin_token());
  auto other = new_fixture(http, suite_env().admin_token());
  ASSERT_FALSE(limited.partner_key.empty());
  ASSERT_FALSE(other.partner_key.empty());

  constexpr int kLimit = 5;
  auto r = http.patch("/v1/partners/" + limited.partner_id, {{"rate_limit_per_s", kLimit}}, {bearer(limited.operator_token)});
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json().value("rate_limit_per_s", 0), kLimit);
  std::this_thread::sleep_for(700ms);  // past every gateway's caches (a PATCH is seen within 500 ms)

  // A burst: at most kLimit answers per wall-clock second pass; the rest are 429 with Retry-After.
  auto burst = [&](const std::string& key, int n, int& passed, int& limited_count, HttpResponse& a_429) {
    passed = limited_count = 0;
    const auto first = std::chrono::system_clock::now();
    for (int i = 0; i < n; ++i) {
      auto a = http.get("/v1/members/phone:09120000000", {bearer(key)});
      if (a.status == 429) {
        ++limited_count;
        a_429 = a;
      } else {
        EXPECT_TRUE(a.status == 404 || a.status == 200) << a.describe();
        ++passed;
      }
    }
    const auto last = std::chrono::system_clock::now();
    return std::chrono::duration_cast<std::chrono::seconds>(last.time_since_epoch()).count() -
           std::chrono::duration_cast<std::chrono::seconds>(first.time_since_epoch()).count() + 1;
  };
  int passed = 0, refused = 0;
  HttpResponse a_429;
  const auto seconds = burst(limited.partner_key, 40, passed, refused, a_429);
  EXPECT_GT(refused, 0) << "40 requests over " << seconds << " s with a limit of " << kLimit << "/s: none refused";
  EXPECT_LE(passed, kLimit * seconds) << "more than " << kLimit << " requests per second passed";
  if (refused > 0) {
    EXPECT_EQ(code_of(a_429), "rate_limited") << a_429.describe();
    const std::string retry_after = a_429.header("retry-after");
    EXPECT_FALSE(retry_after.empty()) << a_429.describe();
    EXPECT_GE(std::atoi(retry_after.c_str()), 1) << retry_after;
    expect_problem_with_request_id(a_429, "429");
  }

  // Another partner of the same network (default limit) is not affected.
  burst(other.partner_key, 40, passed, refused, a_429);
  EXPECT_EQ(refused, 0) << "a partner with the default limit was refused";

  // The limit is per key: a second key of the same partner has a budget of its own. Alternating the two,
  // each passes at most kLimit a second, and together more than one key's budget passes (a budget shared
  // by the partner would let at most kLimit a second through in all).
  {
    auto minted = http.post("/v1/partners/" + limited.partner_id + "/keys", json::object(), {bearer(limited.operator_token)});
    ASSERT_EQ(minted.status, 201) << minted.describe();
    const std::string key2 = minted.json().value("api_key", "");
    std::this_thread::sleep_for(1100ms);  // a fresh second for both keys
    int passed_by[2] = {0, 0}, refused_by[2] = {0, 0};
    const auto first = std::chrono::system_clock::now();
    for (int i = 0; i < 40; ++i) {
      const int k = i % 2;
      auto a = http.get("/v1/members/phone:09120000000", {bearer(k == 0 ? limited.partner_key : key2)});
      (a.status == 429 ? refused_by[k] : passed_by[k]) += 1;
    }
    const auto last = std::chrono::system_clock::now();
    const long secs = std::chrono::duration_cast<std::chrono::seconds>(last.time_since_epoch()).count() -
                      std::chrono::duration_cast<std::chrono::seconds>(first.time_since_epoch()).count() + 1;
    for (int k = 0; k < 2; ++k) {
      EXPECT_LE(passed_by[k], kLimit * secs) << "key " << k + 1 << " passed more than its limit";
      EXPECT_GT(refused_by[k], 0) << "key " << k + 1 << " was never refused";
    }
    EXPECT_GT(passed_by[0] + passed_by[1], kLimit * secs) << "the two keys shared one budget";
  }

  // The limit is the partner's setting: raised, the same burst passes (after the cache and the window).
  r = http.patch("/v1/partners/" + limited.partner_id, {{"rate_limit_per_s", 1000}}, {bearer(limited.operator_token)});
  ASSERT_EQ(r.status, 200) << r.describe();
  std::this_thread::sleep_for(1500ms);
  burst(limited.partner_key, 40, passed, refused, a_429);
  EXPECT_EQ(refused, 0) << "the raised limit was not applied";
}

// ------------------------------------------------------------------------------------------ control plane
// What one gateway is told holds on every other within one second (api.md): a tenant's new time zone, a
// partner suspended and active again, a key revoked. The second gateway has used the key and read the tenant
// before each change, so it has them cached; only the control plane's change counter tells it.
TEST(Abuse, AChangeMadeThroughOneGatewayHoldsOnAnotherWithinOneSecond) {
  HttpClient a(suite_env().url());
  auto f = new_fixture(a, suite_env().admin_token());
  ASSERT_FALSE(f.partner_key.empty());
  OwnGateway other_gateway({});
  ASSERT_TRUE(other_gateway.up());
  HttpClient b(other_gateway.url());
  const std::string member = "/v1/members/phone:09127777777";
  auto earned = a.post("/v1/earn",
                       {{"member", "phone:09127777777"}, {"amount_irr", 10'000}, {"receipt_id", "r-" + suffix()}},
                       {bearer(f.partner_key), {"Idempotency-Key", "gw-" + suffix()}});
  ASSERT_EQ(earned.status, 201) << earned.describe();
  // The time of the member's latest movement, as the other gateway shows it: in the tenant's time zone.
  auto latest_at = [&] {
    auto r = b.get(member + "/transactions", {bearer(f.partner_key)});
    if (r.status != 200) return "status " + std::to_string(r.status);
    auto items = r.json().value("items", json::array());
    return items.empty() ? std::string("no items") : items[0].value("at", "");
  };
  // Within one second of the answer to the change, polled on the other gateway.
  auto within_a_second = [&](const std::function<bool()>& holds) {
    const auto answered = std::chrono::steady_clock::now();
    const bool ok = wait_until(holds, 1000ms, 20ms);
    return ok && std::chrono::steady_clock::now() - answered <= 1100ms;
  };
  // Cached on the other gateway: the key's answer and the tenant, in use for longer than a cache's ttl.
  for (int i = 0; i < 15; ++i) {
    ASSERT_EQ(latest_at().substr(0, 2), "20") << latest_at();
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(latest_at().ends_with("+04:00")) << latest_at();

  auto r = a.patch("/v1/tenant", {{"timezone", "Asia/Dubai"}}, {bearer(f.operator_token)});
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_TRUE(within_a_second([&] { return latest_at().ends_with("+04:00"); })) << latest_at();

  r = a.patch("/v1/partners/" + f.partner_id, {{"status", "suspended"}}, {bearer(f.operator_token)});
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_TRUE(within_a_second([&] { return b.get(member, {bearer(f.partner_key)}).status == 403; }));
  r = a.patch("/v1/partners/" + f.partner_id, {{"status", "active"}}, {bearer(f.operator_token)});
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_TRUE(within_a_second([&] { return b.get(member, {bearer(f.partner_key)}).status == 200; }));

  r = a.del("/v1/partners/" + f.partner_id + "/keys/" + f.key_id, {bearer(f.operator_token)});
  ASSERT_EQ(r.status, 204) << r.describe();
  EXPECT_TRUE(within_a_second([&] { return b.get(member, {bearer(f.partner_key)}).status == 401; }));
}

// ------------------------------------------------------------------------------------------ secrets
TEST(Abuse, TokensAreComparedInConstantTime) {
  const std::string a = random_token("emz_admin_", 2048);
  std::string first = a, last = a;
  first[0] = first[0] == 'x' ? 'y' : 'x';
  last.back() = last.back() == 'x' ? 'y' : 'x';
  EXPECT_TRUE(constant_time_equal(a, std::string(a)));
  EXPECT_FALSE(constant_time_equal(a, first));
  EXPECT_FALSE(constant_time_equal(a, last));
  EXPECT_FALSE(constant_time_equal(a, a.substr(0, a.size() - 1)));
  EXPECT_FALSE(constant_time_equal(a, a + "x"));
  // An early-exit comparison is ~100x faster on a first-byte mismatch than on a last-byte one over 2.7 KB;
  // a constant-time one takes the same time. The fastest of many rounds filters out scheduling noise.
  auto fastest = [&](const std::string& other) {
    auto best = std::chrono::nanoseconds::max();
    volatile bool sink = false;
    for (int round = 0; round < 300; ++round) {
      const auto t0 = Clock::now();
      for (int i = 0; i < 50; ++i) sink = sink ^ constant_time_equal(a, other);
      best = std::min(best, std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0));
    }
    return static_cast<double>(best.count());
  };
  const double t_first = fastest(first), t_last = fastest(last);
  EXPECT_GT(t_first, t_last / 3) << "first-byte mismatch " << t_first << " ns, last-byte " << t_last
                                 << " ns: the comparison exits early";

  // Through the gateway: near misses of the admin token are 401, like any unknown token.
  HttpClient http(suite_env().url());
  const std::string admin = suite_env().admin_token();
  std::string near = admin;
  near.back() = near.back() == 'x' ? 'y' : 'x';
  for (const auto& t : {near, admin.substr(0, admin.size() - 1), admin + "x"}) {
    auto r = http.get("/v1/partners", {bearer(t)});
    EXPECT_EQ(r.status, 401) << r.describe();
  }
}

TEST(Abuse, RequestIdsAreInEveryProblemDocument) {
  HttpClient http(suite_env().url());
  auto f = new_fixture(http, suite_env().admin_token());
  ASSERT_FALSE(f.partner_key.empty());
  std::vector<std::pair<std::string, HttpResponse>> answers;
  answers.reserve(16);  // also keeps GCC 12 at -O3 from a false -Warray-bounds on the first emplace_back
  answers.emplace_back("401 no token", http.get("/v1/partners"));
  answers.emplace_back("401 bad token", http.get("/v1/partners", {bearer("pk_nosuchkey")}));
  answers.emplace_back("403 wrong role", http.get("/v1/partners", {bearer(f.partner_key)}));
  answers.emplace_back("404 no route", http.get("/v1/nothing-here", {bearer(f.partner_key)}));
  answers.emplace_back("404 no member", http.get("/v1/members/mem_nosuchmember", {bearer(f.partner_key)}));
  answers.emplace_back("400 malformed json",
                       http.request("POST", "/v1/members", {bearer(f.partner_key)}, "{\"phone\": "));
  answers.emplace_back("422 invalid phone", http.post("/v1/members", {{"phone", "12"}}, {bearer(f.partner_key)}));
  answers.emplace_back("400 key required",
                       http.post("/v1/earn", {{"member", "phone:09121234567"}, {"amount_irr", 10000}, {"receipt_id", "r"}},
                                 {bearer(f.partner_key)}));
  answers.emplace_back("413 body", http.request("POST", "/v1/members", {bearer(f.partner_key)},
                                                "{\"phone\":\"" + std::string((1 << 20) + 10, '1') + "\"}"));
  // A number no double holds is malformed JSON, not a crash or a 500 (found by the json_input fuzzer).
  answers.emplace_back("400 number out of range",
                       http.request("POST", "/v1/members", {bearer(f.partner_key)}, "{\"phone\": 1e400}"));
  EXPECT_EQ(answers.back().second.status, 400) << answers.back().second.describe();
  for (const auto& [what, r] : answers) {
    EXPECT_GE(r.status, 400) << what << ": " << r.describe();
    EXPECT_LT(r.status, 500) << what << ": " << r.describe();
    expect_problem_with_request_id(r, what);
  }
  // A caller's own request id is kept (and echoed in the problem document).
  const std::string rid = "abuse-" + suffix();
  auto r = http.get("/v1/partners", {{"X-Request-Id", rid}});
  EXPECT_EQ(r.header("x-request-id"), rid);
  EXPECT_EQ(json::parse(r.body, nullptr, false).value("request_id", ""), rid) << r.body;
}

// Every secret a test run used stays out of the gateway's log, at debug level too, even when it is sent where
// it does not belong; and a log line written while serving a request names that request.
TEST(Abuse, SecretsAreNeverLoggedAndLogLinesCarryTheRequestId) {
  HttpClient http(suite_env().url());
  const std::string admin = suite_env().admin_token();
  auto f = new_fixture(http, admin);
  ASSERT_FALSE(f.partner_key.empty());
  ASSERT_EQ(http.post("/v1/members", {{"phone", "09127654321"}}, {bearer(f.partner_key)}).status, 201);
  auto m = http.get("/v1/members/phone:09127654321", {bearer(f.partner_key)});
  ASSERT_EQ(m.status, 200) << m.describe();
  const std::string member = m.json().value("id", "");

  // A gateway whose Redis is unreachable: reads fall back to MySQL and say so at debug level, inside the
  // request, which is the log line whose request id is checked.
  OwnGateway gw({{"EMTIAZ_REDIS_PORT", std::to_string(closed_port())}, {"EMTIAZ_LOG_LEVEL", "debug"}});
  ASSERT_TRUE(gw.up());
  HttpClient own(gw.url());
  const std::string rid = "abuse-log-" + suffix();
  auto minted = http.post("/v1/partners/" + f.partner_id + "/keys", json::object(), {bearer(f.operator_token)});
  ASSERT_EQ(minted.status, 201) << minted.describe();
  const std::string key2 = minted.json().value("api_key", ""), key2_id = minted.json().value("key_id", "");
  const std::string unknown_key = "pk_" + std::string(32, 'Q') + suffix();
  const std::string revoked_admin_like = admin + "Z";

  auto b = own.get("/v1/members/" + member + "/balance", {bearer(f.partner_key), {"X-Request-Id", rid}});
  EXPECT_EQ(b.status, 200) << b.describe();
  for (HttpClient* client : {&http, &own}) {
    auto& c = *client;
    c.get("/v1/partners", {bearer(admin)});
    c.get("/v1/tenant", {bearer(f.operator_token)});
    c.get("/v1/members/" + member, {bearer(key2)});
    c.get("/v1/members/" + member, {bearer(unknown_key)});
    c.get("/v1/members/" + member, {bearer(revoked_admin_like)});
    c.get("/v1/members/" + member, {{"Authorization", "Basic " + f.partner_key}});
    c.get("/v1/members/" + member, {{"Authorization", f.operator_token}});
    c.get("/v1/members/" + member, {{"X-Api-Key", key2}, {"Idempotency-Key", f.partner_key}});
    c.request("POST", "/v1/members", {bearer(f.partner_key)}, "{\"phone\": \"" + key2 + "\"}");
    c.request("POST", "/v1/members", {bearer(f.partner_key)}, "{\"phone\": \"" + key2);  // malformed
    c.get("/v1/members/" + key2 + "?token=" + f.operator_token, {bearer(f.partner_key)});
  }
  // Revoked: a key sent after its revocation is not logged either.
  ASSERT_EQ(http.del("/v1/partners/" + f.partner_id + "/keys/" + key2_id, {bearer(f.operator_token)}).status, 204);
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(own.get("/v1/members/" + member, {bearer(key2)}).status, 401) << "revoked key on another gateway after 1 s";
  EXPECT_EQ(http.get("/v1/members/" + member, {bearer(key2)}).status, 401);
  std::this_thread::sleep_for(300ms);  // let the logs flush

  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"admin token", admin},          {"operator token", f.operator_token}, {"partner key", f.partner_key},
      {"minted key", key2},            {"unknown key", unknown_key},         {"near-admin token", revoked_admin_like}};
  std::vector<std::pair<std::string, std::string>> logs = {{"own gateway (debug)", gw.log()}};
  if (!suite_dir().empty()) logs.emplace_back("suite gateway", read_file(suite_dir() + "/logs/gateway.log"));
  for (const auto& [log_name, text] : logs) {
    EXPECT_FALSE(text.empty()) << log_name << " log is empty or missing";
    for (const auto& [name, secret] : secrets) {
      EXPECT_EQ(text.find(secret), std::string::npos) << "the " << name << " appears in the " << log_name << " log";
    }
    // Also any token-shaped string at all (a key of another test, a hash prefix is not token-shaped).
    std::smatch hit;
    const std::regex token_shape("\\b(pk|op)_[A-Za-z0-9]{20,}");
    EXPECT_FALSE(std::regex_search(text, hit, token_shape)) << "a token-shaped string in the " << log_name
                                                            << " log: " << hit.str();
  }

  // The fallback line of the balance request carries its request id, and every fallback line carries one.
  const std::string own_log = gw.log();
  std::istringstream lines(own_log);
  std::string line;
  int with_rid = 0, fallback_lines = 0;
  while (std::getline(lines, line)) {
    if (line.find("request_id=" + rid) != std::string::npos) ++with_rid;
    if (line.find("falling back to MySQL") != std::string::npos) {
      ++fallback_lines;
      EXPECT_NE(line.find("request_id="), std::string::npos) << "a request's log line without its request id: " << line;
    }
  }
  EXPECT_GT(fallback_lines, 0) << "the own gateway logged no fallback line:\n" << own_log;
  EXPECT_GT(with_rid, 0) << "no log line names request " << rid << ":\n" << own_log;
}

// ------------------------------------------------------------------------------------------ limits
TEST(Abuse, BodyHeaderConnectionAndRequestTimeLimitsAreEnforced) {
  constexpr int kMaxConnections = 8;
  OwnGateway gw({{"EMTIAZ_GATEWAY_MAX_CONNECTIONS", std::to_string(kMaxConnections)},
                 {"EMTIAZ_GATEWAY_REQUEST_TIMEOUT_MS", "2000"},
                 {"EMTIAZ_GATEWAY_COMMAND_TIMEOUT_MS", "1500"},
                 {"EMTIAZ_GATEWAY_BODY_LIMIT_BYTES", "4096"},
                 {"EMTIAZ_GATEWAY_HEADER_LIMIT_BYTES", "2048"}});
  ASSERT_TRUE(gw.up());
  const std::string admin = suite_env().admin_token();

  {  // the clients' keep-alive connections are closed at the end of this block (they count against the limit)
    HttpClient http(gw.url());
    // Body: over the configured limit is 413 payload_too_large; under it is parsed as usual.
    auto r = http.request("POST", "/v1/tenants", {bearer(admin)}, "{\"name\":\"" + std::string(5000, 'x') + "\"}");
    EXPECT_EQ(r.status, 413) << r.describe();
    EXPECT_EQ(code_of(r), "payload_too_large") << r.body;
    expect_problem_with_request_id(r, "413");
    HttpClient http2(gw.url());
    r = http2.request("POST", "/v1/tenants", {bearer(admin)}, "{\"name\": ");
    EXPECT_EQ(r.status, 400) << r.describe();

    // Headers: over the configured limit is 431 header_too_large.
    HttpClient http3(gw.url());
    r = http3.get("/v1/health", {{"X-Padding", std::string(3000, 'p')}});
    EXPECT_EQ(r.status, 431) << r.describe();
    EXPECT_EQ(code_of(r), "header_too_large") << r.body;
    EXPECT_EQ(HttpClient(gw.url()).get("/v1/health").status, 200);
  }

  // Request time: a request whose head never completes (one byte now and then) is cut off after the
  // request timeout (2 s), however slowly it drips.
  {
    RawConnection slow(gw.port());
    ASSERT_TRUE(slow.connected());
    const auto t0 = Clock::now();
    ASSERT_TRUE(slow.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n"));
    bool closed = false;
    while (!closed && Clock::now() - t0 < 8s) {
      slow.send("X");
      closed = slow.read_until_closed(300ms).closed;
    }
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_TRUE(closed) << "a dripping request was still open after 8 s";
    EXPECT_LT(took, 5.0) << "the request timeout is 2 s";
  }

  // Connections: at most kMaxConnections at once; one more is closed without an answer, and a connection is
  // accepted again once others have gone.
  {
    std::this_thread::sleep_for(300ms);  // the gateway notices that the connections above were closed
    std::vector<std::unique_ptr<RawConnection>> held;
    // Each held connection is served once and then stays open as an idle keep-alive connection (60 s), so
    // that none of them is closed by the first request's 2 s deadline while the extra one is tried.
    for (int i = 0; i < kMaxConnections; ++i) {
      held.push_back(std::make_unique<RawConnection>(gw.port()));
      ASSERT_TRUE(held.back()->connected());
      ASSERT_TRUE(held.back()->send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
      auto served = held.back()->read_until("200 OK", 5000ms);
      ASSERT_NE(served.data.find("200 OK"), std::string::npos) << "held connection " << i + 1 << " was not served";
      ASSERT_FALSE(served.closed) << "held connection " << i + 1 << " was closed";
    }
    RawConnection extra(gw.port());
    extra.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
    auto got = extra.read_until_closed(1500ms);
    EXPECT_TRUE(got.closed) << "connection " << kMaxConnections + 1 << " was kept open";
    EXPECT_EQ(got.data.find("200 OK"), std::string::npos) << "connection " << kMaxConnections + 1 << " was served";
    held.clear();
    EXPECT_TRUE(wait_until([&] { return HttpClient(gw.url(), 2s).get("/v1/health").status == 200; }, 5s, 100ms))
        << "no connection accepted after the others closed";
  }
}

// ------------------------------------------------------------------------------------------ start-up
TEST(Abuse, NoDefaultAdminTokenOutsideLocalMode) {
  std::string base = clean_env();
  for (const auto& [k, v] : suite_env().values()) {
    if (k.rfind("EMTIAZ_", 0) == 0 && k != "EMTIAZ_ADMIN_TOKEN" && k != "EMTIAZ_MODE" && k.find("_URL") == std::string::npos)
      base += " " + shell_quote(k + "=" + v);
  }
  base += " EMTIAZ_HTTP_PORT=0";
  const std::string bin = shell_quote(build_dir() + "/gateway/emtiaz-gateway");
  for (const std::string mode : {"EMTIAZ_MODE=production", ""}) {
    std::string out;
    const int rc = run_shell("timeout 60 " + base + " " + mode + " " + bin, &out);
    EXPECT_EQ(rc, 2) << (mode.empty() ? "no mode" : mode) << " and no admin token: " << out;
    EXPECT_NE(out.find("EMTIAZ_ADMIN_TOKEN"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace emtiaz::tests
