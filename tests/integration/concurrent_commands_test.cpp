// Points-moving requests that wait for the wallet without holding a gateway thread: many concurrent earns with
// distinct Idempotency-Keys on a few keep-alive connections, replays of the same key (one after another, and
// at once from several connections), and pipelined requests on one connection, whose answers must come back
// in request order. Every expected figure comes from the test's own model: points = ⌊amount × rule / 10 000⌋
// with the rule the partner was created with, and a member's balance is the sum of what it earned.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/tests/metric_value.hpp"
#include "tests/support/api_client.hpp"
#include "tests/support/expect.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::int64_t kRule = 37;  // points per 10,000 rial: the partner's earn rule
std::int64_t points_for(std::int64_t amount_irr) { return amount_irr * kRule / 10000; }

// The gateway's counter of answered requests for a route and status (GET /metrics).
double requests_counted(HttpClient& http, const std::string& route, int status) {
  auto r = http.get("/metrics");
  if (r.status != 200) return -1;
  return metric_in(r.body, "emtiaz_http_requests_total{route=\"" + route + "\",status=\"" + std::to_string(status) + "\"}");
}

// One earn the test sent, and what it was answered.
struct Earn {
  std::string member;  // the member's id
  std::int64_t amount_irr = 0;
  std::string key;
  std::string receipt;
  HttpResponse answer;
};

class ConcurrentCommands : public TenantPartnerTest {
 protected:
  ConcurrentCommands() : TenantPartnerTest(kRule) {}
  std::unique_ptr<ApiClient> client() const {
    const auto& env = suite_env();
    return std::make_unique<ApiClient>(env.url(), env.admin_token());
  }

  // A member enrolled by an earn of `amount_irr`; returns its id, and its points in *points.
  std::string enrolled_member(std::int64_t amount_irr, std::int64_t* points) {
    auto r = api().earn(partner_.api_key, "phone:" + random_mobile(), amount_irr);
    EXPECT_EQ(r.status, 201) << r.describe();
    if (r.status != 201) return "";
    EXPECT_EQ(r.json().value("points", -1), points_for(amount_irr)) << r.body;
    *points = points_for(amount_irr);
    return r.json()["balance"].value("member_id", "");
  }

  // Checks one member's earns against the model: applied one after another (the wallet's order per member),
  // so the balances they were answered with, sorted, step up by exactly each earn's points from `start`; the
  // last is the member's balance now, and the member has one transaction per earn (plus its first).
  void expect_member(const std::string& member, std::int64_t start, const std::vector<const Earn*>& earns) {
    std::vector<std::pair<std::int64_t, std::int64_t>> steps;  // (available after, points)
    for (const auto* e : earns) {
      auto j = e->answer.json();
      steps.emplace_back(j["balance"].value("available", -1), j.value("points", -1));
    }
    std::sort(steps.begin(), steps.end());
    std::int64_t expected = start;
    for (const auto& [available, points] : steps) {
      expected += points;
      EXPECT_EQ(available, expected) << member << ": each earn's balance is the one before plus its points";
    }
    auto b = api().balance(partner_.api_key, member);
    EXPECT_EQ(b.value("available", -1), expected) << b.dump();
    EXPECT_EQ(b.value("held", -1), 0) << b.dump();
    auto items = api().all_transactions(partner_.api_key, member);
    EXPECT_EQ(items.size(), earns.size() + 1) << member;
  }
};

TEST_F(ConcurrentCommands, ManyEarnsOnFewKeepAliveConnectionsWithReplays) {
  constexpr int kConnections = 6;
  constexpr int kPerConnection = 30;
  constexpr int kMembers = 4;
  constexpr int kSharedKeys = 8;  // each sent at once from every connection

  std::vector<std::string> members;
  std::map<std::string, std::int64_t> start;
  for (int i = 0; i < kMembers; ++i) {
    std::int64_t p = 0;
    members.push_back(enrolled_member(100000 + i, &p));
    ASSERT_FALSE(members.back().empty());
    start[members.back()] = p;
  }
  // The shared keys' requests: one body each, sent with the same key by every connection.
  std::vector<Earn> shared(kSharedKeys);
  for (int s = 0; s < kSharedKeys; ++s) {
    shared[s] = {members[s % kMembers], 50000 + 13 * s, new_idempotency_key(), "shared-" + unique_suffix(), {}};
  }
  const double created_before = requests_counted(api().http(), "POST /v1/earn", 201);

  std::vector<std::vector<Earn>> distinct(kConnections);
  std::vector<std::vector<std::pair<int, HttpResponse>>> replays(kConnections);     // (index in distinct, answer)
  std::vector<std::vector<std::pair<int, HttpResponse>>> shared_sent(kConnections);  // (shared index, answer)
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&, c] {
      auto api = client();  // one keep-alive connection for this thread's requests
      while (!go.load()) std::this_thread::yield();
      for (int j = 0; j < kPerConnection; ++j) {
        Earn e{members[(c + j) % kMembers], 10000 + 1000 * c + 17 * j, new_idempotency_key(),
               "rcpt-" + unique_suffix(), {}};
        e.answer = api->earn(partner_.api_key, e.member, e.amount_irr, e.receipt, e.key);
        distinct[c].push_back(std::move(e));
        // Every third earn is retried at once with its key: a replay.
        if (j % 3 == 0) {
          const auto& sent = distinct[c].back();
          replays[c].emplace_back(j, api->earn(partner_.api_key, sent.member, sent.amount_irr, sent.receipt, sent.key));
        }
        // Every connection sends each shared key once, at about the same moment as the others.
        if (j % (kPerConnection / kSharedKeys) == 0 && j / (kPerConnection / kSharedKeys) < kSharedKeys) {
          const int s = j / (kPerConnection / kSharedKeys);
          const auto& e2 = shared[s];
          shared_sent[c].emplace_back(s, api->earn(partner_.api_key, e2.member, e2.amount_irr, e2.receipt, e2.key));
        }
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();

  // Every distinct-key earn: 201 with the model's points, not a replay.
  std::map<std::string, std::vector<const Earn*>> by_member;
  int answered_201 = 0;  // every 201 this test was sent
  for (int c = 0; c < kConnections; ++c) {
    for (const auto& e : distinct[c]) {
      ASSERT_EQ(e.answer.status, 201) << e.answer.describe();
      ++answered_201;
      EXPECT_NE(e.answer.header("Idempotent-Replayed"), "true") << e.answer.describe();
      auto j = e.answer.json();
      EXPECT_EQ(j.value("points", -1), points_for(e.amount_irr)) << e.answer.body;
      EXPECT_EQ(j["balance"].value("member_id", ""), e.member) << e.answer.body;
      by_member[e.member].push_back(&e);
    }
    for (const auto& [j, again] : replays[c]) {
      expect_replay(distinct[c][j].answer, again, "an immediate retry");
      answered_201 += again.status == 201;
    }
  }

  // Each shared key: exactly one original answer; every other answer is its replay, or "in use" while the
  // original was in flight; a retry now is the replay.
  for (int s = 0; s < kSharedKeys; ++s) {
    std::vector<const HttpResponse*> originals, others;
    for (int c = 0; c < kConnections; ++c) {
      for (const auto& [idx, answer] : shared_sent[c]) {
        if (idx != s) continue;
        answered_201 += answer.status == 201;
        if (answer.status == 201 && answer.header("Idempotent-Replayed") != "true") {
          originals.push_back(&answer);
        } else {
          others.push_back(&answer);
        }
      }
    }
    ASSERT_EQ(originals.size(), 1u) << "shared key " << s << ": one request must have moved the points";
    const auto& original = *originals.front();
    EXPECT_EQ(original.json().value("points", -1), points_for(shared[s].amount_irr)) << original.body;
    for (const auto* other : others) {
      if (other->status == 409) {
        EXPECT_EQ(code_of(*other), "idempotency_key_in_use") << other->describe();
      } else {
        expect_replay(original, *other, "a concurrent request with the same key");
      }
    }
    auto again = api().earn(partner_.api_key, shared[s].member, shared[s].amount_irr, shared[s].receipt, shared[s].key);
    expect_replay(original, again, "a later retry of a shared key");
    answered_201 += again.status == 201;
    shared[s].answer = original;
    by_member[shared[s].member].push_back(&shared[s]);
  }

  for (const auto& m : members) expect_member(m, start[m], by_member[m]);
  // Each answer was counted once under its route (other tests may add to the counter meanwhile).
  EXPECT_GE(requests_counted(api().http(), "POST /v1/earn", 201) - created_before, answered_201);
}

// Requests written back to back on one connection are answered in their order, each with its own figures,
// although each waits for the wallet; the same key right after its first request is its byte-identical replay
// (the first is answered, and the wallet has stored it, before the second is read).
TEST_F(ConcurrentCommands, PipelinedEarnsAreAnsweredInOrder) {
  std::int64_t start = 0;
  const std::string member = enrolled_member(200000, &start);
  ASSERT_FALSE(member.empty());

  struct Sent {
    std::int64_t amount_irr;
    std::string key;
    std::string receipt;
  };
  std::vector<Sent> sent;
  for (int i = 0; i < 12; ++i) sent.push_back({30000 + 1111 * i, new_idempotency_key(), "pipe-" + unique_suffix()});
  sent.insert(sent.begin() + 4, sent[3]);  // the fifth request repeats the fourth

  std::string wire;
  for (const auto& s : sent) {
    const std::string body =
        json{{"member", member}, {"amount_irr", s.amount_irr}, {"receipt_id", s.receipt}}.dump();
    wire += "POST /v1/earn HTTP/1.1\r\nHost: " + api().http().host() + "\r\nAuthorization: Bearer " +
            partner_.api_key + "\r\nIdempotency-Key: " + s.key + "\r\nContent-Type: application/json\r\n" +
            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  asio::connect(socket, asio::ip::tcp::resolver(ioc).resolve(api().http().host(), api().http().port()));
  asio::write(socket, asio::buffer(wire));
  boost::beast::flat_buffer buffer;
  std::vector<http::response<http::string_body>> answers;
  for (size_t i = 0; i < sent.size(); ++i) {
    http::response<http::string_body> res;
    boost::system::error_code ec;
    http::read(socket, buffer, res, ec);
    ASSERT_FALSE(ec) << "answer " << i << ": " << ec.message();
    answers.push_back(std::move(res));
  }

  std::int64_t expected = start;
  for (size_t i = 0; i < sent.size(); ++i) {
    const auto& res = answers[i];
    ASSERT_EQ(res.result_int(), 201) << i << ": " << res.body();
    auto j = json::parse(res.body());
    if (i == 4) {
      EXPECT_EQ(std::string(res["Idempotent-Replayed"]), "true") << res.body();
      EXPECT_EQ(res.body(), answers[3].body()) << "the repeated key's answer must be byte-identical";
      continue;
    }
    EXPECT_NE(std::string(res["Idempotent-Replayed"]), "true") << i << ": " << res.body();
    // In order: each answer has its own request's points, and the balance after all the earlier ones.
    expected += points_for(sent[i].amount_irr);
    EXPECT_EQ(j.value("points", -1), points_for(sent[i].amount_irr)) << i << ": " << res.body();
    EXPECT_EQ(j["balance"].value("available", -1), expected) << i << ": " << res.body();
  }
  EXPECT_EQ(api().balance(partner_.api_key, member).value("available", -1), expected);
}

}  // namespace
}  // namespace emtiaz::tests
