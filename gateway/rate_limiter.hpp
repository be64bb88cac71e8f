#pragma once
// Per-key request limits shared by every gateway: a one-second window counted in Redis. A gateway does not
// ask Redis for every request: it leases a share of the window's budget (1/20 of the limit, INCRBY) and
// spends it locally, so the sum admitted by all gateways never exceeds the limit, and a single gateway
// admits exactly the limit. (Several gateways may admit a little less: what one leased and did not use.)
// When Redis is away the limit is not enforced (fail open): a partner's checkout must not stop because a
// cache did.
#include <cstdint>

#include "common/redis.hpp"
#include "gateway/router.hpp"

namespace emtiaz::gateway {

inline constexpr std::int64_t kDefaultRateLimitPerSecond = 1000;

// The lease asked for at a time, and how much of it the window still had (pure; unit-tested).
std::int64_t rate_limit_lease_size(std::int64_t limit);
std::int64_t rate_limit_granted(std::int64_t limit, std::int64_t asked, std::int64_t total_after);

RateLimiter make_rate_limiter(RedisPool& redis, std::int64_t default_per_second = kDefaultRateLimitPerSecond);

}  // namespace emtiaz::gateway
