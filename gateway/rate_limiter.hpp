#pragma once
// Per-key request limits shared by every gateway: a one-second window counted in Redis. A gateway does not
// ask Redis for every request: it leases a share of the window's budget (1/20 of the limit, INCRBY) and
// spends it locally, so the sum admitted by all gateways never exceeds the limit, and a single gateway
// admits exactly the limit. (Several gateways may admit a little less: what one leased and did not use.)
// When Redis is away the limit is not enforced (fail open): a partner's checkout must not stop because a
// cache did.
//
// An I/O thread never waits for Redis here: a key in use gets its next lease on a worker before the one in
// hand runs out (below half a lease left), and the next second's first lease in the last quarter of this
// one. A request that still finds nothing leased on an I/O thread throws WouldBlock (common/blocking.hpp)
// and is counted on the worker it moves to, which may wait for the lease.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/redis.hpp"
#include "gateway/router.hpp"

namespace emtiaz::gateway {

inline constexpr std::int64_t kDefaultRateLimitPerSecond = 1000;

// The lease asked for at a time, and how much of it the window still had (pure; unit-tested).
std::int64_t rate_limit_lease_size(std::int64_t limit);
std::int64_t rate_limit_granted(std::int64_t limit, std::int64_t asked, std::int64_t total_after);

struct RateLimitOptions {
  std::int64_t default_per_second = kDefaultRateLimitPerSecond;
  // Adds `asked` to the shared counter of key_id's window `second` and returns the counter after (INCRBY);
  // nullopt: the counter could not be reached (the request is let through).
  std::function<std::optional<std::int64_t>(const std::string& key_id, std::int64_t second, std::int64_t asked)> lease;
  // Runs a task on another thread (HttpServer::post_to_workers); false: it could not (no lease ahead then).
  std::function<bool(std::function<void()>)> later;
  // Milliseconds since the Unix epoch (the windows are wall-clock seconds, the same on every gateway).
  std::function<std::int64_t()> now_ms;
};

// The limiter over any counter (unit-testable without Redis).
RateLimiter make_leased_rate_limiter(RateLimitOptions options);

// The gateway's limiter: counters in Redis, leases ahead on the server's workers.
RateLimiter make_rate_limiter(RedisPool& redis, std::int64_t default_per_second = kDefaultRateLimitPerSecond);

}  // namespace emtiaz::gateway
