#include "gateway/rate_limiter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/metrics.hpp"

namespace emtiaz::gateway {

std::int64_t rate_limit_lease_size(std::int64_t limit) { return std::clamp<std::int64_t>(limit / 20, 1, 1000); }

std::int64_t rate_limit_granted(std::int64_t limit, std::int64_t asked, std::int64_t total_after) {
  // The window's counter was total_after - asked before this lease: what is left of the limit, at most asked.
  return std::clamp<std::int64_t>(limit - (total_after - asked), 0, asked);
}

namespace {

// This gateway's share of one key's current one-second window.
struct Window {
  std::int64_t second = -1;
  std::int64_t left = 0;       // leased from Redis and not yet used
  bool exhausted = false;      // the last lease was cut short: the window's budget is spent on every gateway
};

struct LeasedLimiter {
  LeasedLimiter(RedisPool& r, std::int64_t d) : redis(r), default_per_second(d) {}
  RedisPool& redis;
  std::int64_t default_per_second;
  std::mutex mu;
  std::unordered_map<std::string, Window> windows;  // by key id; one entry per key ever seen by this gateway

  // Under mu: the key's window for this second (a new second starts empty).
  Window& current(const std::string& key, std::int64_t second) {
    auto& w = windows[key];
    if (w.second != second) w = Window{second, 0, false};
    return w;
  }

  // Under mu: true when the window has a leased request left (and takes it).
  static bool take(Window& w) {
    if (w.left == 0) return false;
    --w.left;
    return true;
  }

  static std::optional<int> refuse() {
    Metrics::global().add("emtiaz_gateway_rate_limited_total");
    return 1;
  }

  std::optional<int> check(const Principal& p) {
    if (p.kind != Principal::Kind::partner) return std::nullopt;
    const auto limit = p.rate_limit_per_s > 0 ? p.rate_limit_per_s : default_per_second;
    const auto second = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    // One budget per API key (a partner's tills may each have their own key); the limit is the partner's.
    const auto& id = p.key_id.empty() ? p.partner_id : p.key_id;
    {
      std::lock_guard lock(mu);
      auto& w = current(id, second);
      if (take(w)) return std::nullopt;
      if (w.exhausted) return refuse();
    }
    const auto asked = rate_limit_lease_size(limit);
    const auto key = fmt::format("emtiaz:rl:{{k:{}}}:{}", id, second);
    std::int64_t granted = 0;
    try {
      auto replies = redis.pipeline({{"INCRBY", key, std::to_string(asked)}, {"EXPIRE", key, "2"}});
      if (replies.empty() || replies[0].type != RedisReply::Type::integer) return std::nullopt;
      granted = rate_limit_granted(limit, asked, replies[0].integer);
    } catch (const RedisUnavailable&) {
      Metrics::global().add("emtiaz_gateway_rate_limit_unchecked_total");
      return std::nullopt;
    }
    std::lock_guard lock(mu);
    auto& w = current(id, second);
    w.left += granted;
    if (granted < asked) w.exhausted = true;
    return take(w) ? std::nullopt : refuse();
  }
};

}  // namespace

RateLimiter make_rate_limiter(RedisPool& redis, std::int64_t default_per_second) {
  auto limiter = std::make_shared<LeasedLimiter>(redis, default_per_second);
  return [limiter](const Principal& p) { return limiter->check(p); };
}

}  // namespace emtiaz::gateway
