// GET /v1/ready follows the servers a service depends on: on a private network, stopping Redis, MariaDB or
// the broker turns the ready answers of the services that use it into 503 problem documents naming it, and
// starting it again brings them back to 200 (the broker comes back on new ports, through the bootstrap file).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/api_client.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

using namespace std::chrono_literals;

class ReadinessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { net_ = std::make_unique<PrivateNetwork>(); }
  static void TearDownTestSuite() { net_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(net_) << "the private network did not start";
    // Every test starts from a fully ready network (an earlier test may have left a part recovering).
    for (auto* endpoint : {&gateway_, &wallet_, &clearing_}) {
      HttpResponse last;
      const bool ok = wait_until([&] { return (last = endpoint->get("/v1/ready")).status == 200; }, 60s);
      ASSERT_TRUE(ok) << endpoint->base_url() << "/v1/ready: " << last.describe();
    }
  }

  // Waits until `client`'s /v1/ready is a 503 that names `dependency`; checks the problem document.
  static void expect_not_ready_naming(HttpClient& client, const std::string& dependency, std::chrono::seconds within) {
    HttpResponse last;
    const bool named = wait_until(
        [&] {
          last = client.get("/v1/ready");
          return last.status == 503 && last.body.find(dependency) != std::string::npos;
        },
        within);
    ASSERT_TRUE(named) << client.base_url() << "/v1/ready did not become 503 naming " << dependency << " within "
                       << within.count() << "s; last: " << last.describe();
    EXPECT_NE(last.header("content-type").find("application/problem+json"), std::string::npos) << last.describe();
    nlohmann::json doc;
    ASSERT_NO_THROW(doc = last.json()) << last.describe();
    EXPECT_EQ(doc.value("status", 0), 503) << last.body;
    EXPECT_EQ(doc.value("code", ""), "not_ready") << last.body;
    EXPECT_TRUE(doc.contains("title")) << last.body;
    EXPECT_NE(doc.value("detail", "").find(dependency), std::string::npos) << last.body;
    ASSERT_TRUE(doc.contains("down") && doc["down"].is_array()) << last.body;
    const auto& down = doc["down"];
    EXPECT_NE(std::find(down.begin(), down.end(), dependency), down.end()) << last.body;
  }

  static void expect_ready(HttpClient& client, std::chrono::seconds within) {
    HttpResponse last;
    const bool ready = wait_until([&] { return (last = client.get("/v1/ready")).status == 200; }, within);
    EXPECT_TRUE(ready) << client.base_url() << "/v1/ready did not come back to 200 within " << within.count()
                       << "s; last: " << last.describe();
  }

  // A new tenant (with `tenant_body`), a partner issuing 100 points per 10,000 rial, and a member enrolled by
  // phone through the API.
  struct Enrolled {
    TestPartner partner;
    std::string phone;   // local form, 09…
    std::string member;  // its id
  };
  static Enrolled enrol(ApiClient& api, const nlohmann::json& tenant_body) {
    Enrolled e;
    auto tenant = api.create_tenant(tenant_body);
    EXPECT_FALSE(tenant.id.empty());
    e.partner = api.create_partner(tenant, 100);
    EXPECT_FALSE(e.partner.api_key.empty());
    e.phone = random_mobile();
    const auto enrolled = api.post("/v1/members", e.partner.api_key, {{"phone", e.phone}});
    EXPECT_EQ(enrolled.status, 201) << enrolled.describe();
    if (enrolled.status == 201) e.member = enrolled.json().value("id", "");
    EXPECT_FALSE(e.member.empty()) << enrolled.body;
    return e;
  }

  // A member enrolled as above who earned 2,500 points (250,000 rial), its balance read once: cached in Redis.
  static Enrolled enrol_with_cached_balance(ApiClient& api) {
    auto e = enrol(api, nlohmann::json::object());
    if (e.member.empty()) return e;
    const auto earned = api.earn(e.partner.api_key, e.member, 250'000);
    EXPECT_EQ(earned.status, 201) << earned.describe();
    EXPECT_EQ(api.balance(e.partner.api_key, e.member).value("available", -1), 2500);
    return e;
  }

  // The member's available points, read by member id and by phone.
  static void expect_available(ApiClient& api, const Enrolled& e, std::int64_t points) {
    for (const auto& ref : {e.member, "phone:" + e.phone}) {
      const auto r = api.balance_response(e.partner.api_key, ref);
      ASSERT_EQ(r.status, 200) << ref << ": " << r.describe();
      EXPECT_EQ(r.json().value("available", -1), points) << ref << ": " << r.body;
    }
  }

  static std::unique_ptr<PrivateNetwork> net_;
  HttpClient gateway_ = net_ ? net_->gateway() : HttpClient("http://127.0.0.1:1");
  HttpClient wallet_ = net_ ? net_->wallet_admin() : HttpClient("http://127.0.0.1:1");
  HttpClient clearing_ = net_ ? net_->clearing_admin() : HttpClient("http://127.0.0.1:1");
};

std::unique_ptr<PrivateNetwork> ReadinessTest::net_;

TEST_F(ReadinessTest, AllServicesReadyAndHealthy) {
  for (auto* endpoint : {&gateway_, &wallet_, &clearing_}) {
    const auto ready = endpoint->get("/v1/ready");
    EXPECT_EQ(ready.status, 200) << endpoint->base_url() << ": " << ready.describe();
    const auto health = endpoint->get("/v1/health");
    EXPECT_EQ(health.status, 200) << endpoint->base_url() << ": " << health.describe();
  }
}

TEST_F(ReadinessTest, RedisDownIsNamedAndRecovers) {
  net_->stop("redis");
  expect_not_ready_naming(gateway_, "redis", 15s);
  expect_not_ready_naming(wallet_, "redis", 15s);
  // The gateway's /v1/health still answers: the process is up.
  EXPECT_EQ(gateway_.get("/v1/health").status, 200);
  net_->start("redis");
  expect_ready(gateway_, 30s);
  expect_ready(wallet_, 30s);
  expect_ready(clearing_, 30s);
}

// A balance read is answered from the wallet's view in Redis on the gateway's I/O thread, without blocking
// it (common/async_redis.hpp); with Redis down it is answered from MySQL instead, by member id and by phone,
// with the points this test earned.
TEST_F(ReadinessTest, BalanceReadsAreAnsweredFromMysqlWhileRedisIsDown) {
  ApiClient api(net_->url(), net_->admin_token());
  const auto e = enrol(api, nlohmann::json::object());
  ASSERT_FALSE(e.member.empty());
  const auto& [partner, phone, member] = e;
  const auto earned = api.earn(partner.api_key, member, 250'000);  // 2,500 points
  ASSERT_EQ(earned.status, 201) << earned.describe();
  EXPECT_EQ(api.balance(partner.api_key, member).value("available", -1), 2500);

  net_->stop("redis");
  for (int i = 0; i < 3; ++i) {  // the first finds the connection broken, the next ones Redis resting
    for (const auto& ref : {member, "phone:" + phone}) {
      const auto r = api.balance_response(partner.api_key, ref);
      ASSERT_EQ(r.status, 200) << ref << ": " << r.describe();
      EXPECT_EQ(r.json().value("available", -1), 2500) << r.body;
      EXPECT_EQ(r.json().value("member_id", ""), member) << r.body;
    }
  }
  // Another tenant's member is not found from MySQL either.
  auto other = api.create_partner(api.create_tenant(), 100);
  if (!other.api_key.empty()) {
    const auto r = api.balance_response(other.api_key, member);
    EXPECT_EQ(r.status, 404) << r.describe();
  }
  net_->start("redis");
  expect_ready(gateway_, 30s);
  EXPECT_EQ(api.balance(partner.api_key, member).value("available", -1), 2500);
}

// An earn by phone finds its member in the member index in Redis and reserves its Idempotency-Key there,
// both without blocking the gateway's I/O thread; with Redis down the member comes from MySQL and the wallet's
// record alone keeps the earn exactly once: a retry with the same key is not applied twice.
TEST_F(ReadinessTest, EarnsByPhoneAreAppliedOnceWhileRedisIsDown) {
  ApiClient api(net_->url(), net_->admin_token());
  const auto e = enrol(api, {{"auto_enroll", false}});
  ASSERT_FALSE(e.member.empty());
  const auto& [partner, phone, member] = e;

  net_->stop("redis");
  const auto key = new_idempotency_key();
  const auto receipt = "rc-" + key;
  for (int i = 0; i < 3; ++i) {  // the first finds the connection broken, the next ones Redis resting
    const auto earned = api.earn(partner.api_key, "phone:" + mobile_e164(phone), 150'000, receipt, key);
    ASSERT_EQ(earned.status, 201) << earned.describe();
    EXPECT_EQ(earned.json()["balance"].value("member_id", ""), member) << earned.body;
  }
  const auto read = api.balance_response(partner.api_key, member);
  ASSERT_EQ(read.status, 200) << read.describe();
  EXPECT_EQ(read.json().value("available", -1), 1500) << read.body;  // once, not three times
  net_->start("redis");
  expect_ready(gateway_, 30s);
  EXPECT_EQ(api.balance(partner.api_key, member).value("available", -1), 1500);
}

// Redis only caches what MySQL holds, and a restarted Redis must never answer from before a commit that was
// answered (docs/reliability.md 9). The story of a host's reboot: a member's balance is cached, Redis goes
// away, an earn is applied meanwhile (MySQL only), the wallet restarts (what it remembered to clean up in Redis
// is gone with it), Redis comes back. A Redis that restored its data from disk would answer the balance from
// before the earn; one that starts empty sends the read to MySQL.
TEST_F(ReadinessTest, ARestartedRedisNeverAnswersFromBeforeAnAnsweredEarn) {
  ApiClient api(net_->url(), net_->admin_token());
  const auto e = enrol_with_cached_balance(api);
  ASSERT_FALSE(e.member.empty());
  ASSERT_FALSE(HasFailure());
  const auto& [partner, phone, member] = e;

  net_->stop("redis");
  const auto key = new_idempotency_key();
  HttpResponse second;
  for (int i = 0; i < 3; ++i) {  // the first may find the connection broken; the same key: applied once
    second = api.earn(partner.api_key, member, 150'000, "rc-" + key, key);  // 1,500 more
    if (second.status == 201) break;
  }
  ASSERT_EQ(second.status, 201) << second.describe();
  net_->stop("wallet");
  net_->start("redis");
  net_->start("wallet");
  expect_ready(gateway_, 30s);
  expect_ready(wallet_, 30s);
  expect_available(api, e, 4000);
}

// The same promise when Redis stays up but drops the connections it has (an idle timeout, a proxy, an
// operator's CLIENT KILL): the wallet's next write to Redis meets a dead connection, and the earn it answers
// must not leave the balance from before it in Redis for the next read.
TEST_F(ReadinessTest, AnEarnAfterRedisDroppedItsConnectionsIsReadBack) {
  ApiClient api(net_->url(), net_->admin_token());
  const auto e = enrol_with_cached_balance(api);
  ASSERT_FALSE(e.member.empty());
  ASSERT_FALSE(HasFailure());
  const auto& [partner, phone, member] = e;

  std::string out;
  ASSERT_EQ(redis_cli(net_->env(), {"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}, &out), 0) << out;
  // Reads meanwhile (the gateway finds its connection dead, answers from MySQL and connects again), so that
  // the read after the earn is answered from Redis.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(api.balance(partner.api_key, member).value("available", -1), 2500);
  const auto second = api.earn(partner.api_key, member, 150'000);  // 1,500 more
  ASSERT_EQ(second.status, 201) << second.describe();
  expect_available(api, e, 4000);
}

TEST_F(ReadinessTest, MysqlDownIsNamedAndRecovers) {
  net_->stop("mariadb");
  expect_not_ready_naming(gateway_, "mysql", 15s);
  expect_not_ready_naming(wallet_, "mysql", 15s);
  expect_not_ready_naming(clearing_, "mysql", 15s);
  net_->start("mariadb");
  expect_ready(gateway_, 30s);
  expect_ready(wallet_, 30s);
  expect_ready(clearing_, 30s);
}

TEST_F(ReadinessTest, BrokerDownIsNamedAndRecoversOnNewPorts) {
  const auto bootstrap_file = net_->env().at("EMTIAZ_KAFKA_BOOTSTRAP_FILE");
  net_->stop("broker");
  EXPECT_FALSE(std::filesystem::exists(bootstrap_file)) << "a stopped broker leaves no bootstrap file";
  expect_not_ready_naming(gateway_, "kafka", 20s);
  expect_not_ready_naming(wallet_, "kafka", 20s);
  expect_not_ready_naming(clearing_, "kafka", 20s);
  net_->start("broker");  // new ports, a new bootstrap file: the services must re-read it
  EXPECT_TRUE(std::filesystem::exists(bootstrap_file));
  expect_ready(gateway_, 45s);
  expect_ready(wallet_, 45s);
  expect_ready(clearing_, 45s);
}

}  // namespace
}  // namespace emtiaz::tests
