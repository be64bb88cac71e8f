// The gateway against slow and oversized clients, a SIGKILL in the middle of an earn, and an upgrade from the
// plaintext idempotency records of migration 001. A network of the test's own, with a short request timeout
// (3 s, so that slow clients are cut off quickly) set through the environment the services inherit.
//
// - A client trickling its headers one byte at a time gets a 408 problem document and a closed connection
//   once the request timeout has passed since its first byte, on the first request of a connection and on a
//   later keep-alive one; other clients are served meanwhile.
// - Headers over the limit (8 KiB) are 431 with a problem document.
// - A gateway killed while an earn is in flight, then restarted: the client's retry under the same
//   Idempotency-Key ends in one definitive answer, and the ledger holds exactly one movement.
// - Earns sent the moment a restarted gateway says ready are each answered (its reply reader is positioned
//   before it says so).
// - Plaintext records left by the previous version are still replayed after the upgrade, and the secrets in
//   them are gone from the database.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto.hpp"
#include "tests/support/api_client.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kRequestTimeout = 3s;     // EMTIAZ_GATEWAY_REQUEST_TIMEOUT_MS below
constexpr auto kSlack = 4s;              // scheduling on a loaded machine
constexpr int kWorkers = 128;            // the gateway's worker threads (gateway/main.cpp)
constexpr int kQueueLimit = 8;           // EMTIAZ_GATEWAY_QUEUE_LIMIT below
constexpr std::size_t kHeaderLimit = 8 << 10;  // the gateway's default gateway.header_limit_bytes

// A plain TCP connection to the gateway, for what an HTTP client library will not do (trickle bytes, send
// headers of any size).
class RawConnection {
 public:
  explicit RawConnection(const std::string& port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot connect to 127.0.0.1:" + port);
    // A gateway that stops reading must not hang the test in send().
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False when the peer has closed or reset the connection.
  bool send(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Whether the gateway has sent something or closed (readable without blocking).
  bool readable(std::chrono::milliseconds wait = 0ms) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
  }

  // Everything until the gateway closes the connection or `within` passes; `closed` tells which.
  std::string read_until_closed(std::chrono::milliseconds within, bool* closed) {
    std::string out;
    const auto deadline = Clock::now() + within;
    *closed = false;
    while (Clock::now() < deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (!readable(std::max(left, 1ms))) continue;
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        *closed = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  // One response of known length (Content-Length), waiting up to `within`.
  std::string read_response(std::chrono::milliseconds within) {
    std::string out;
    const auto deadline = Clock::now() + within;
    while (Clock::now() < deadline) {
      const auto head_end = out.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const auto cl = out.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end &&
            out.size() >= head_end + 4 + std::stoul(out.substr(cl + 16, out.find("\r\n", cl) - cl - 16)))
          break;
      }
      if (!readable(100ms)) continue;
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
};

struct ParsedResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

ParsedResponse parse_response(const std::string& raw) {
  ParsedResponse r;
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return r;
  r.status = std::stoi(raw.substr(9, 3));
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return r;
  const std::string head = raw.substr(0, head_end);
  for (const std::string name : {"Content-Type: ", "content-type: "}) {
    const auto at = head.find(name);
    if (at != std::string::npos) r.content_type = head.substr(at + name.size(), head.find("\r\n", at) - at - name.size());
  }
  r.body = raw.substr(head_end + 4);
  return r;
}

void expect_problem(const ParsedResponse& r, int status, const std::string& code, const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.body;
  EXPECT_EQ(r.content_type.rfind("application/problem+json", 0), 0u) << what << ": " << r.content_type;
  json doc = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << what << ": " << r.body;
  EXPECT_EQ(doc.value("status", 0), status) << what << ": " << r.body;
  EXPECT_EQ(doc.value("code", ""), code) << what << ": " << r.body;
  EXPECT_TRUE(doc.contains("type") && doc.contains("title")) << what << ": " << r.body;
}

class GatewayResilience : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The services read their configuration from the environment they are started with (netctl.sh passes
    // its own on); the command timeout may not exceed the request timeout.
    ::setenv("EMTIAZ_GATEWAY_REQUEST_TIMEOUT_MS", "3000", 1);
    ::setenv("EMTIAZ_GATEWAY_COMMAND_TIMEOUT_MS", "2500", 1);
    ::setenv("EMTIAZ_GATEWAY_QUEUE_LIMIT", "8", 1);  // kQueueLimit
    net_ = start_private_network(start_error_);
  }
  static void TearDownTestSuite() { net_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(net_) << "the private network did not start: " << start_error_;
    HttpResponse last;
    auto gateway = net_->gateway();
    ASSERT_TRUE(wait_until([&] { return (last = gateway.get("/v1/ready")).status == 200; }, 60s)) << last.describe();
  }

  static std::string gateway_port() {
    const std::string url = net_->url();
    return url.substr(url.rfind(':') + 1);
  }

  // Trickles `request` one byte every `interval` until the gateway answers or closes, or `give_up` passes.
  // Returns the time from the first trickled byte to the close, and what was answered.
  struct Trickle {
    std::optional<Clock::duration> closed_after;
    std::string answer;
  };
  static Trickle trickle(RawConnection& conn, const std::string& request, std::chrono::milliseconds interval,
                         std::chrono::seconds give_up) {
    Trickle out;
    const auto start = Clock::now();
    std::size_t i = 0;
    bool sent_ok = true;
    while (Clock::now() - start < give_up) {
      if (conn.readable(interval)) break;
      if (sent_ok) sent_ok = conn.send(std::string_view(request).substr(i % request.size(), 1));
      ++i;
    }
    bool closed = false;
    out.answer = conn.read_until_closed(give_up - std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start) + 1s,
                                        &closed);
    if (closed) out.closed_after = Clock::now() - start;
    return out;
  }

  // SIGKILL to the gateway at once (netctl.sh's own kill, a shell script, may take seconds on a loaded
  // machine: the earn in flight would have timed out by then), then netctl.sh tidies up after it.
  static void kill_gateway_now() {
    std::ifstream pid_file(net_->dir() + "/pids/gateway.pid");
    pid_t pid = 0;
    if (pid_file >> pid && pid > 1) ::kill(pid, SIGKILL);
    else ADD_FAILURE() << "no pid in " << net_->dir() << "/pids/gateway.pid";
    net_->kill("gateway");
  }

  // A new tenant with a partner (100 points per 10,000 rial) and a member it enrolled; what failed is reported
  // and left empty (the caller stops on an empty key or member).
  struct PartnerAndMember {
    TestPartner partner;
    std::string member;
  };
  static PartnerAndMember partner_and_member(ApiClient& api) {
    PartnerAndMember out;
    auto tenant = api.create_tenant();
    if (tenant.id.empty()) {
      ADD_FAILURE() << "the tenant was not created";
      return out;
    }
    out.partner = api.create_partner(tenant, 100);
    if (out.partner.api_key.empty()) return out;
    auto enrolled = api.post("/v1/members", out.partner.api_key, {{"phone", random_mobile()}});
    if (enrolled.status != 201) {
      ADD_FAILURE() << "enrolment: " << enrolled.describe();
      return out;
    }
    out.member = enrolled.json().value("id", "");
    return out;
  }

  static std::unique_ptr<PrivateNetwork> net_;
  static std::string start_error_;
};

std::unique_ptr<PrivateNetwork> GatewayResilience::net_;
std::string GatewayResilience::start_error_;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

TEST_F(GatewayResilience, SlowHeadersAreCutOffWhileOthersAreServed) {
  // Headers that never end: a header line longer than the whole trickle.
  const std::string slow = "GET /v1/health HTTP/1.1\r\nHost: slow\r\nX-Slow: " + std::string(1000, 's');
  std::atomic<bool> done{false};
  std::atomic<int> served{0}, failed{0};
  std::thread others([&] {
    // Meanwhile other clients are answered promptly.
    while (!done.load()) {
      HttpClient c(net_->url(), 2s);
      const auto t0 = Clock::now();
      const auto r = c.get("/v1/health");
      if (r.status == 200 && Clock::now() - t0 < 1500ms) ++served;
      else ++failed;
      std::this_thread::sleep_for(200ms);
    }
  });

  // 1. The first request of a connection.
  {
    RawConnection conn(gateway_port());
    const auto t = trickle(conn, slow, 250ms, kRequestTimeout + kSlack + 5s);
    ASSERT_TRUE(t.closed_after) << "the gateway kept a trickling client for " << seconds(kRequestTimeout + kSlack + 5s)
                                << " s";
    EXPECT_GE(seconds(*t.closed_after), seconds(kRequestTimeout) - 0.5) << "cut off before the request timeout";
    EXPECT_LE(seconds(*t.closed_after), seconds(kRequestTimeout + kSlack)) << "cut off late";
    expect_problem(parse_response(t.answer), 408, "request_timeout", "first request");
  }
  // 2. A later request on a keep-alive connection: its first byte starts the request timeout (not the
  //    minute that an idle keep-alive connection may wait).
  {
    RawConnection conn(gateway_port());
    ASSERT_TRUE(conn.send("GET /v1/health HTTP/1.1\r\nHost: fast\r\n\r\n"));
    const auto first = parse_response(conn.read_response(5s));
    ASSERT_EQ(first.status, 200) << first.body;
    std::this_thread::sleep_for(1s);  // idle a little, as keep-alive clients do
    const auto t = trickle(conn, slow, 250ms, kRequestTimeout + kSlack + 5s);
    ASSERT_TRUE(t.closed_after) << "the gateway kept a trickling keep-alive client";
    EXPECT_GE(seconds(*t.closed_after), seconds(kRequestTimeout) - 0.5) << "cut off before the request timeout";
    EXPECT_LE(seconds(*t.closed_after), seconds(kRequestTimeout + kSlack)) << "cut off late";
    expect_problem(parse_response(t.answer), 408, "request_timeout", "keep-alive request");
  }
  done = true;
  others.join();
  EXPECT_GE(served.load(), 10) << "other clients were not served while the slow ones trickled";
  EXPECT_EQ(failed.load(), 0) << "requests of other clients failed or took over 1.5 s while the slow ones trickled";

  // An idle connection that never sends a byte is closed quietly (no 408 for a request that never began).
  RawConnection idle(gateway_port());
  bool closed = false;
  const auto said = idle.read_until_closed(kRequestTimeout + kSlack, &closed);
  EXPECT_TRUE(closed) << "an idle new connection was kept beyond the request timeout";
  EXPECT_EQ(said, "");
}

TEST_F(GatewayResilience, HeadersOverTheLimitAre431) {
  const std::string head = "GET /v1/health HTTP/1.1\r\nHost: big\r\n";
  // One large field, and many small ones adding up, each past the limit; and far past it.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"one field of 16 KiB", "X-Big: " + std::string(16 << 10, 'h') + "\r\n"},
      {"many fields, 12 KiB in all",
       [] {
         std::string s;
         for (int i = 0; i < 200; ++i) s += "X-H" + std::to_string(i) + ": " + std::string(56, 'v') + "\r\n";
         return s;
       }()},
      {"one field of 1 MiB", "X-Huge: " + std::string(1 << 20, 'h') + "\r\n"},
  };
  for (const auto& [what, fields] : cases) {
    ASSERT_GT(fields.size(), kHeaderLimit) << what;
    RawConnection conn(gateway_port());
    conn.send(head + fields + "\r\n");  // the gateway may stop reading early: a short send is fine
    bool closed = false;
    const auto raw = conn.read_until_closed(10s, &closed);
    expect_problem(parse_response(raw), 431, "header_too_large", what);
    EXPECT_TRUE(closed) << what << ": the connection stays open after a 431";
  }
  // Just under the limit is read.
  RawConnection conn(gateway_port());
  ASSERT_TRUE(conn.send(head + "X-Fits: " + std::string(kHeaderLimit - 200, 'f') + "\r\n\r\n"));
  EXPECT_EQ(parse_response(conn.read_response(5s)).status, 200);
  EXPECT_EQ(net_->gateway().get("/v1/health").status, 200);
}

// Retries an earn under one key until the answer is definitive (201, or a business error); 409
// idempotency_key_in_use, 503 and transport failures are "not yet".
HttpResponse retry_until_definitive(ApiClient& api, const std::string& partner_key, const json& body,
                                    const std::string& key) {
  HttpResponse r;
  wait_until(
      [&] {
        r = api.post("/v1/earn", partner_key, body, key);
        if (r.status == 0 || r.status >= 500) return false;
        if (r.status == 409) {
          const auto doc = json::parse(r.body, nullptr, false);
          if (doc.is_object() && doc.value("code", "") == "idempotency_key_in_use") return false;
        }
        return true;
      },
      90s, 500ms);
  return r;
}

TEST_F(GatewayResilience, GatewayKilledDuringAnEarnGivesOneOutcome) {
  ApiClient api(net_->url(), net_->admin_token());
  const auto [partner, member] = partner_and_member(api);
  ASSERT_FALSE(partner.api_key.empty());
  ASSERT_FALSE(member.empty());

  // Two rounds: with the wallet stopped, so that the earn surely waits in the gateway when it is killed;
  // and with everything running, killed at once (the earn may or may not have been applied).
  std::int64_t expected_points = 0;
  std::size_t expected_movements = 0;
  for (const bool wallet_stopped : {true, false}) {
    SCOPED_TRACE(wallet_stopped ? "wallet stopped" : "wallet running");
    const std::string key = new_idempotency_key();
    const json body = {{"member", member}, {"amount_irr", 123400}, {"receipt_id", "rcpt-" + unique_suffix()}};
    if (wallet_stopped) net_->stop("wallet");

    HttpResponse lost;
    std::thread client([&] {
      HttpClient c(net_->url(), 20s);
      lost = c.post("/v1/earn", body, {bearer(partner.api_key), {"Idempotency-Key", key}});
    });
    std::this_thread::sleep_for(wallet_stopped ? 800ms : 30ms);
    kill_gateway_now();
    client.join();
    if (wallet_stopped) {
      EXPECT_EQ(lost.status, 0) << "the gateway answered before it was killed: " << lost.describe();
    }
    net_->start("gateway");
    if (wallet_stopped) net_->start("wallet");

    ApiClient again(net_->url(), net_->admin_token());
    const auto answer = retry_until_definitive(again, partner.api_key, body, key);
    ASSERT_EQ(answer.status, 201) << answer.describe();
    EXPECT_EQ(answer.json().value("points", -1), 1234) << answer.body;
    expected_points += 1234;
    ++expected_movements;
    // The answer is the one true outcome: another retry replays it.
    const auto replay = again.post("/v1/earn", partner.api_key, body, key);
    EXPECT_EQ(replay.status, 201) << replay.describe();
    EXPECT_EQ(replay.body, answer.body);
    EXPECT_EQ(replay.header("Idempotent-Replayed"), "true");

    // Exactly one movement in the ledger for this earn.
    EXPECT_EQ(again.balance(partner.api_key, member).value("available", -1), expected_points);
    const auto items = again.all_transactions(partner.api_key, member);
    EXPECT_EQ(items.size(), expected_movements) << items.dump();
    if (!items.empty()) { EXPECT_EQ(items[0].value("earn_id", ""), answer.json().value("id", "")) << items.dump(); }
  }
}

// A gateway reads its replies from the end of its reply partition. Where that end was looked up at the
// first fetch, a gateway that had just said ready could send a command whose reply was written before its
// reader's position: that earn was applied but answered 503 outcome_unknown after the command timeout (120 of
// the first 10,000 earns after a restart, seen in the benchmark). Earns sent the moment a restarted gateway is
// ready must each get their own 201.
TEST_F(GatewayResilience, EarnsSentAsSoonAsARestartedGatewayIsReadyAreAllAnswered) {
  ApiClient api(net_->url(), net_->admin_token());
  const auto [partner, member] = partner_and_member(api);
  ASSERT_FALSE(partner.api_key.empty());
  ASSERT_FALSE(member.empty());

  constexpr int kRounds = 3, kEarns = 24;
  std::int64_t expected = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    net_->stop("gateway");
    net_->start("gateway");  // returns once /v1/ready answers 200
    std::vector<HttpResponse> answers(kEarns);
    std::vector<std::thread> clients;
    for (int i = 0; i < kEarns; ++i)
      clients.emplace_back([&, i] {
        HttpClient c(net_->url(), 20s);
        const json body = {{"member", member}, {"amount_irr", 10000 * (i + 1)}, {"receipt_id", "rcpt-" + unique_suffix()}};
        answers[i] = c.post("/v1/earn", body, {bearer(partner.api_key), {"Idempotency-Key", new_idempotency_key()}});
      });
    for (auto& t : clients) t.join();
    for (int i = 0; i < kEarns; ++i) {
      ASSERT_EQ(answers[i].status, 201) << "earn " << i << ": " << answers[i].describe();
      EXPECT_EQ(answers[i].json().value("points", -1), 100 * (i + 1)) << answers[i].body;
      expected += 100 * (i + 1);
    }
  }
  EXPECT_EQ(api.balance(partner.api_key, member).value("available", -1), expected);
}

TEST_F(GatewayResilience, OverloadIsShedWithRetryAfterAndNothingIsLostOrDoubled) {
  ApiClient api(net_->url(), net_->admin_token());
  const auto [partner, member] = partner_and_member(api);
  ASSERT_FALSE(partner.api_key.empty());
  ASSERT_FALSE(member.empty());

  // With the wallet stopped every earn holds its place among the commands in flight (as many as the workers
  // and the waiting room together, gateway/main.cpp) until the command timeout, so of a larger burst the rest
  // must be answered at once: 503 not_ready with Retry-After, having done nothing.
  constexpr int kBurst = kWorkers + kQueueLimit + 64;
  net_->stop("wallet");
  std::vector<std::string> keys(kBurst);
  std::vector<json> bodies(kBurst);
  std::vector<HttpResponse> first(kBurst);
  std::vector<Clock::duration> took(kBurst);
  std::vector<std::thread> clients;
  for (int i = 0; i < kBurst; ++i) {
    keys[i] = new_idempotency_key();
    bodies[i] = {{"member", member}, {"amount_irr", 123400}, {"receipt_id", "shed-" + unique_suffix()}};
    clients.emplace_back([&, i] {
      HttpClient c(net_->url(), 20s);
      const auto t0 = Clock::now();
      first[i] = c.post("/v1/earn", bodies[i], {bearer(partner.api_key), {"Idempotency-Key", keys[i]}});
      took[i] = Clock::now() - t0;
    });
  }
  for (auto& t : clients) t.join();
  // Shed at once: those that found the waiting room full. The few in the waiting room are shed too, once
  // they have waited longer than gateway.queue_wait_ms (2 s) for a worker.
  int shed_at_once = 0;
  for (int i = 0; i < kBurst; ++i) {
    const auto doc = json::parse(first[i].body, nullptr, false);
    if (first[i].status != 503 || !doc.is_object() || doc.value("code", "") != "not_ready") continue;
    expect_problem(ParsedResponse{first[i].status, first[i].header("Content-Type"), first[i].body}, 503, "not_ready",
                   "a shed earn");
    EXPECT_EQ(first[i].header("Retry-After"), "1") << first[i].describe();
    if (seconds(took[i]) < 1.5) ++shed_at_once;
  }
  EXPECT_GE(shed_at_once, kBurst - kWorkers - kQueueLimit - 8) << "the burst was queued, not shed";
  for (int i = 0; i < kBurst; ++i) {
    if (first[i].status == 503) continue;
    EXPECT_EQ(first[i].status, 0) << "with the wallet stopped an earn cannot succeed: " << first[i].describe();
  }

  // Everything retried with its own key once the wallet is back: each earn counted exactly once.
  net_->start("wallet");
  for (int i = 0; i < kBurst; ++i) {
    const auto answer = retry_until_definitive(api, partner.api_key, bodies[i], keys[i]);
    ASSERT_EQ(answer.status, 201) << answer.describe();
    EXPECT_EQ(answer.json().value("points", -1), 1234) << answer.body;
  }
  EXPECT_EQ(api.balance(partner.api_key, member).value("available", -1), std::int64_t{1234} * kBurst);
  EXPECT_EQ(api.all_transactions(partner.api_key, member).size(), static_cast<std::size_t>(kBurst));
}

TEST_F(GatewayResilience, PlaintextRecordsOfThePreviousVersionAreConvertedAndStillReplayed) {
  // A record as the previous version stored it (migration 001's table, everything in clear): the answer to
  // POST /v1/tenants {"name": ...} under `key`, with an operator token in it.
  const std::string key = "legacy-" + new_idempotency_key();
  const json body = {{"name", "Legacy " + unique_suffix()}};
  const std::string token = "op_legacy" + random_base62(30);
  const std::string response = json{{"id", "ten_legacy" + random_base62(10)}, {"operator_token", token}}.dump();
  const std::string fingerprint = sha256_hex("POST /v1/tenants\n" + body.dump());
  std::string out;
  ASSERT_EQ(mysql_batch(net_->env(),
                        "INSERT INTO idempotency_keys (principal, idem_key, fingerprint, state, status, response, "
                        "reserved_at, completed_at) VALUES ('admin', '" + key + "', '" + fingerprint +
                            "', 'done', 201, '" + response + "', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
                        &out),
            0)
      << out;

  // The upgraded gateway starts (again) with the record there.
  net_->stop("gateway");
  net_->start("gateway");
  ApiClient api(net_->url(), net_->admin_token());
  const auto replay = api.post("/v1/tenants", api.admin_token(), body, key);
  EXPECT_EQ(replay.status, 201) << replay.describe();
  EXPECT_EQ(replay.body, response) << "the record of the previous version is replayed byte for byte";
  EXPECT_EQ(replay.header("Idempotent-Replayed"), "true");
  // And it is still a record: another body under the key is a reuse.
  const auto reused = api.post("/v1/tenants", api.admin_token(), {{"name", "Other"}}, key);
  EXPECT_EQ(reused.status, 409) << reused.describe();

  std::string dump;
  ASSERT_EQ(mysql_dump(net_->env(), &dump), 0) << dump.substr(0, 2000);
  ASSERT_NE(dump.find("INSERT INTO `tenants`"), std::string::npos) << "the dump holds no tenants";
  EXPECT_EQ(dump.find(token), std::string::npos) << "the operator token of the old record is still stored in clear";
  EXPECT_EQ(dump.find(key), std::string::npos) << "the Idempotency-Key of the old record is still stored in clear";
}

}  // namespace
}  // namespace emtiaz::tests
