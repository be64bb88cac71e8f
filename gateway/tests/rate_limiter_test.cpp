// The rate limiter's lease arithmetic, its leases ahead (an I/O thread never waits for the shared counter),
// and the router's inline path (tried on an I/O thread, handed to a worker when it would wait for MySQL or
// for the counter) counting a request against the limit once.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <random>

#include "common/blocking.hpp"
#include "gateway/rate_limiter.hpp"
#include "gateway/router.hpp"

namespace emtiaz::gateway {
namespace {

TEST(RateLimitLease, AsksForAShareOfTheLimitAtLeastOne) {
  EXPECT_EQ(rate_limit_lease_size(1000), 50);
  EXPECT_EQ(rate_limit_lease_size(5), 1);
  EXPECT_EQ(rate_limit_lease_size(1), 1);
  EXPECT_EQ(rate_limit_lease_size(1'000'000), 1000);
}

TEST(RateLimitLease, GrantsWhatIsLeftOfTheWindowAndNeverMoreThanTheLimitInTotal) {
  // A model of several gateways leasing from one Redis counter: the sum granted never exceeds the limit,
  // and it reaches the limit exactly when asked for enough.
  for (std::int64_t limit : {1, 5, 7, 20, 999, 1000}) {
    const auto asked = rate_limit_lease_size(limit);
    std::int64_t counter = 0, granted = 0;
    for (int lease = 0; lease < 3 * limit + 5; ++lease) {
      counter += asked;  // INCRBY
      auto g = rate_limit_granted(limit, asked, counter);
      ASSERT_GE(g, 0);
      ASSERT_LE(g, asked);
      granted += g;
    }
    EXPECT_EQ(granted, limit) << "limit " << limit;
  }
  EXPECT_EQ(rate_limit_granted(10, 4, 12), 2);   // the counter was 8: 2 left of 10
  EXPECT_EQ(rate_limit_granted(10, 4, 16), 0);   // already past
  EXPECT_EQ(rate_limit_granted(10, 4, 4), 4);    // the first lease of the window
}

HttpRequest get(const std::string& path) {
  HttpRequest r;
  r.raw.method(boost::beast::http::verb::get);
  r.raw.target(path);
  r.raw.set(boost::beast::http::field::authorization, "Bearer pk_test");
  r.path = path;
  return r;
}

TEST(RouterInline, AnswersInlineRoutesAndHandsTheRestToAWorkerCountingTheLimitOnce) {
  int limited = 0;
  bool needs_mysql = false;
  Router router([](const std::string&) { Principal p; p.kind = Principal::Kind::partner; return std::optional(p); },
                [&](const Principal&) -> std::optional<int> { ++limited; return std::nullopt; });
  router.add({"GET", "/v1/fast", kPartner, [&](RequestContext&) {
                // What MysqlPool::acquire does on an I/O thread.
                if (needs_mysql && blocking_forbidden()) throw WouldBlock{};
                return json_response(200, {{"inline", blocking_forbidden()}});
              },
              /*inline_ok=*/true});
  router.add({"GET", "/v1/slow", kPartner, [](RequestContext&) { return json_response(200, {}); }});

  auto fast = get("/v1/fast");
  auto r = router.try_inline(fast);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, R"({"inline":true})");
  EXPECT_EQ(limited, 1);
  EXPECT_FALSE(blocking_forbidden());  // the scope ended with the call

  auto slow = get("/v1/slow");
  EXPECT_FALSE(router.try_inline(slow).has_value());
  EXPECT_EQ(limited, 1);  // not an inline route: nothing was run or counted

  needs_mysql = true;
  auto moved = get("/v1/fast");
  EXPECT_FALSE(router.try_inline(moved).has_value());
  EXPECT_EQ(limited, 2);
  auto on_worker = router.handle(moved);  // the worker's turn: allowed to block, not counted again
  EXPECT_EQ(on_worker.status, 200);
  EXPECT_EQ(on_worker.body, R"({"inline":false})");
  EXPECT_EQ(limited, 2);
}


// The shared counters (Redis' INCRBY per key and second), the workers' queue and the clock, modelled.
struct Counters {
  std::map<std::pair<std::string, std::int64_t>, std::int64_t> total;
  int leases = 0;
  int leases_on_io_thread = 0;  // must stay 0
  bool down = false;
};

struct Harness {
  Counters& counters;
  std::deque<std::function<void()>> workers;
  std::int64_t now = 0;  // ms since the epoch
  RateLimiter limiter;

  explicit Harness(Counters& c, bool with_workers = true) : counters(c) {
    RateLimitOptions o;
    o.default_per_second = 100;  // a lease is 5
    o.lease = [this](const std::string& id, std::int64_t second, std::int64_t asked) -> std::optional<std::int64_t> {
      ++counters.leases;
      if (blocking_forbidden()) ++counters.leases_on_io_thread;
      if (counters.down) return std::nullopt;
      return counters.total[{id, second}] += asked;
    };
    if (with_workers) {
      o.later = [this](std::function<void()> task) {
        workers.push_back(std::move(task));
        return true;
      };
    }
    o.now_ms = [this] { return now; };
    limiter = make_leased_rate_limiter(std::move(o));
  }
  void run_workers() {
    while (!workers.empty()) {
      auto task = std::move(workers.front());
      workers.pop_front();
      task();
    }
  }
};

Principal partner_key(const std::string& key) {
  Principal p;
  p.kind = Principal::Kind::partner;
  p.partner_id = "partner-1";
  p.key_id = key;
  return p;
}

enum class Outcome { admitted, refused, moved };

// One request as the router makes it: on an I/O thread first; moved to a worker when the limiter would wait.
Outcome on_io_thread(Harness& h, const Principal& p) {
  NoBlockingScope scope;
  try {
    return h.limiter(p) ? Outcome::refused : Outcome::admitted;
  } catch (const WouldBlock&) {
    return Outcome::moved;
  }
}

TEST(RateLimitLeasesAhead, AnIoThreadNeverWaitsForTheCounterOnceTheKeyIsInUse) {
  Counters counters;
  Harness h(counters);
  const auto key = partner_key("key-a");
  h.now = 1'000'000;
  // The first request finds nothing leased: it moves to a worker, which leases and admits it.
  EXPECT_EQ(on_io_thread(h, key), Outcome::moved);
  EXPECT_EQ(counters.leases, 0);
  EXPECT_FALSE(h.limiter(key).has_value());
  EXPECT_EQ(counters.leases, 1);
  // Then 40 requests a second (under the limit of 100) for five seconds, evenly spread, the workers keeping
  // up: every one admitted on its I/O thread, none moved, no lease taken there.
  int admitted = 1;
  for (int i = 0; i < 200; ++i) {
    h.now = 1'000'000 + 25 * i + 5;
    ASSERT_EQ(on_io_thread(h, key), Outcome::admitted) << "request " << i << " at " << h.now << " ms";
    ++admitted;
    h.run_workers();
  }
  EXPECT_EQ(admitted, 201);
  EXPECT_EQ(counters.leases_on_io_thread, 0);
}

TEST(RateLimitLeasesAhead, OneGatewayAdmitsExactlyTheLimitEachSecondWhereverTheRequestsRun) {
  Counters counters;
  Harness h(counters);
  const auto key = partner_key("key-b");
  std::mt19937 rng(7);
  for (std::int64_t second = 500; second < 504; ++second) {
    int admitted = 0, refused = 0;
    for (int i = 0; i < 180; ++i) {
      h.now = second * 1000 + i * 5;  // 180 requests in the first 900 ms of the second
      auto outcome = on_io_thread(h, key);
      if (outcome == Outcome::moved) outcome = h.limiter(key) ? Outcome::refused : Outcome::admitted;
      (outcome == Outcome::admitted ? admitted : refused) += 1;
      if (rng() % 3 == 0) h.run_workers();  // the workers run late, at random
    }
    h.run_workers();
    EXPECT_EQ(admitted, 100) << "second " << second;
    EXPECT_EQ(refused, 80) << "second " << second;
  }
  EXPECT_EQ(counters.leases_on_io_thread, 0);
}

TEST(RateLimitLeasesAhead, SeveralGatewaysTogetherNeverAdmitMoreThanTheLimit) {
  Counters counters;
  std::vector<std::unique_ptr<Harness>> gateways;
  for (int g = 0; g < 3; ++g) gateways.push_back(std::make_unique<Harness>(counters));
  const auto key = partner_key("key-c");
  std::mt19937 rng(11);
  for (std::int64_t second = 900; second < 906; ++second) {
    int admitted = 0;
    for (int i = 0; i < 400; ++i) {
      auto& h = *gateways[rng() % gateways.size()];
      for (auto& g : gateways) g->now = second * 1000 + i * 2;
      auto outcome = on_io_thread(h, key);
      if (outcome == Outcome::moved) outcome = h.limiter(key) ? Outcome::refused : Outcome::admitted;
      if (outcome == Outcome::admitted) ++admitted;
      if (rng() % 4 == 0) gateways[rng() % gateways.size()]->run_workers();
    }
    for (auto& g : gateways) g->run_workers();
    EXPECT_LE(admitted, 100) << "second " << second;
    EXPECT_GE(admitted, 100 - 3 * 5) << "second " << second;  // at most a lease unused per gateway
  }
}

TEST(RateLimitLeasesAhead, WithoutWorkersOrCounterItStillCountsOrFailsOpen) {
  Counters counters;
  Harness h(counters, /*with_workers=*/false);
  const auto key = partner_key("key-d");
  h.now = 7'000'000;
  int admitted = 0;
  for (int i = 0; i < 150; ++i) {
    auto outcome = on_io_thread(h, key);
    if (outcome == Outcome::moved) outcome = h.limiter(key) ? Outcome::refused : Outcome::admitted;
    if (outcome == Outcome::admitted) ++admitted;
  }
  EXPECT_EQ(admitted, 100);  // no lease ahead: each lease waited for on a "worker"
  EXPECT_EQ(counters.leases_on_io_thread, 0);
  // The counter unreachable: the next second's requests are let through (fail open), from a worker.
  counters.down = true;
  h.now = 7'001'000;
  for (int i = 0; i < 150; ++i) {
    EXPECT_EQ(on_io_thread(h, key), Outcome::moved);
    EXPECT_FALSE(h.limiter(key).has_value());
  }
}

TEST(RouterInline, ALimiterThatWouldWaitMovesTheRequestAndCountsItOnTheWorker) {
  int counted = 0;
  Router router([](const std::string&) { Principal p; p.kind = Principal::Kind::partner; return std::optional(p); },
                [&](const Principal&) -> std::optional<int> {
                  if (blocking_forbidden()) throw WouldBlock{};
                  ++counted;
                  return std::nullopt;
                });
  int ran = 0;
  router.add({"GET", "/v1/fast", kPartner, [&](RequestContext&) { ++ran; return json_response(200, {}); },
              /*inline_ok=*/true});
  auto req = get("/v1/fast");
  EXPECT_FALSE(router.try_inline(req).has_value());
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(router.handle(req).status, 200);
  EXPECT_EQ(counted, 1);
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace emtiaz::gateway
