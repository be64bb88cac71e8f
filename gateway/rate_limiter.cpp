#include "gateway/rate_limiter.hpp"

#include <fmt/format.h>

#include <chrono>

#include "common/metrics.hpp"

namespace emtiaz::gateway {

RateLimiter make_rate_limiter(RedisPool& redis, std::int64_t default_per_second) {
  return [&redis, default_per_second](const Principal& p) -> std::optional<int> {
    if (p.kind != Principal::Kind::partner) return std::nullopt;
    const auto limit = p.rate_limit_per_s > 0 ? p.rate_limit_per_s : default_per_second;
    const auto second = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    // One budget per API key (a partner's tills may each have their own key); the limit is the partner's.
    const auto key = fmt::format("emtiaz:rl:{{k:{}}}:{}", p.key_id.empty() ? p.partner_id : p.key_id, second);
    try {
      auto replies = redis.pipeline({{"INCR", key}, {"EXPIRE", key, "2"}});
      if (!replies.empty() && replies[0].type == RedisReply::Type::integer && replies[0].integer > limit) {
        Metrics::global().add("emtiaz_gateway_rate_limited_total");
        return 1;
      }
    } catch (const RedisUnavailable&) {
      Metrics::global().add("emtiaz_gateway_rate_limit_unchecked_total");
    }
    return std::nullopt;
  };
}

}  // namespace emtiaz::gateway
