// The rate limiter's lease arithmetic, and the router's inline path (tried on an I/O thread, handed to a
// worker when it would wait for MySQL) counting a request against the limit once.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace emtiaz::gateway
