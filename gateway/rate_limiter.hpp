#pragma once
// Per-partner request limits shared by every gateway: a one-second window counted in Redis. When Redis
// is away the limit is not enforced (fail open): a partner's checkout must not stop because a cache did.
#include <cstdint>

#include "common/redis.hpp"
#include "gateway/router.hpp"

namespace emtiaz::gateway {

inline constexpr std::int64_t kDefaultRateLimitPerSecond = 1000;

RateLimiter make_rate_limiter(RedisPool& redis, std::int64_t default_per_second = kDefaultRateLimitPerSecond);

}  // namespace emtiaz::gateway
