#include "gateway/rate_limiter.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/blocking.hpp"
#include "common/http_server.hpp"
#include "common/metrics.hpp"

namespace emtiaz::gateway {

std::int64_t rate_limit_lease_size(std::int64_t limit) { return std::clamp<std::int64_t>(limit / 20, 1, 1000); }

std::int64_t rate_limit_granted(std::int64_t limit, std::int64_t asked, std::int64_t total_after) {
  // The window's counter was total_after - asked before this lease: what is left of the limit, at most asked.
  return std::clamp<std::int64_t>(limit - (total_after - asked), 0, asked);
}

namespace {

// The next second's first lease is taken from this far into the current one.
constexpr std::int64_t kLeaseNextSecondFromMs = 750;

// This gateway's share of one key's one-second window.
struct Window {
  std::int64_t second = -1;
  std::int64_t left = 0;   // leased from the shared counter and not yet used
  bool exhausted = false;  // a lease was cut short: the window's budget is spent on every gateway
  bool leasing = false;    // a lease ahead for this window is on a worker
};

// One key's current window and, late in a second, the next one.
struct KeyWindows {
  Window now, next;

  // The window of `second`, moving on to it (a new second starts with what was leased ahead for it).
  Window& at(std::int64_t second) {
    if (now.second != second) {
      now = next.second == second ? next : Window{second};
      next = Window{};
    }
    return now;
  }
  Window* find(std::int64_t second) {
    if (now.second == second) return &now;
    if (next.second == second) return &next;
    return nullptr;
  }
};

struct LeasedLimiter : std::enable_shared_from_this<LeasedLimiter> {
  explicit LeasedLimiter(RateLimitOptions o) : options(std::move(o)) {}
  RateLimitOptions options;
  std::mutex mu;
  std::unordered_map<std::string, KeyWindows> keys;  // by key id; one entry per key ever seen by this gateway

  static std::optional<int> refuse() {
    Metrics::global().add("emtiaz_gateway_rate_limited_total");
    return 1;
  }

  // Under mu: a lease's answer added to its window (nothing if that second has passed).
  void add(const std::string& id, std::int64_t second, std::int64_t limit, std::int64_t asked,
           std::optional<std::int64_t> total) {
    auto* w = keys[id].find(second);
    if (w == nullptr || !total) return;
    const auto granted = rate_limit_granted(limit, asked, *total);
    w->left += granted;
    if (granted < asked) w->exhausted = true;
  }

  // Leases for `seconds` of key `id` on a worker; a window whose lease could not be handed over is free to
  // be leased again.
  void lease_ahead(const std::string& id, std::int64_t limit, std::int64_t asked, const std::vector<std::int64_t>& seconds) {
    for (const auto second : seconds) {
      auto self = shared_from_this();
      const bool handed = options.later && options.later([self, id, second, limit, asked] {
        std::optional<std::int64_t> total;
        try {
          total = self->options.lease(id, second, asked);
        } catch (const std::exception& e) {
          spdlog::warn("rate limit: a lease ahead for a key failed: {}", e.what());
        }
        std::lock_guard lock(self->mu);
        self->add(id, second, limit, asked, total);
        if (auto* w = self->keys[id].find(second)) w->leasing = false;
      });
      if (!handed) {
        std::lock_guard lock(mu);
        if (auto* w = keys[id].find(second)) w->leasing = false;
      }
    }
  }

  std::optional<int> check(const Principal& p) {
    if (p.kind != Principal::Kind::partner) return std::nullopt;
    const auto limit = p.rate_limit_per_s > 0 ? p.rate_limit_per_s : options.default_per_second;
    const auto asked = rate_limit_lease_size(limit);
    const auto now_ms = options.now_ms();
    const auto second = now_ms / 1000;
    // One budget per API key (a partner's tills may each have their own key); the limit is the partner's.
    const auto& id = p.key_id.empty() ? p.partner_id : p.key_id;
    std::vector<std::int64_t> ahead;
    bool admitted = false;
    {
      std::lock_guard lock(mu);
      auto& k = keys[id];
      auto& w = k.at(second);
      if (w.left > 0) {
        --w.left;
        admitted = true;
        if (!w.exhausted && !w.leasing && w.left < std::max<std::int64_t>(asked / 2, 1)) {
          w.leasing = true;
          ahead.push_back(second);
        }
        if (now_ms % 1000 >= kLeaseNextSecondFromMs && k.next.second != second + 1) {
          k.next = Window{second + 1};
          k.next.leasing = true;
          ahead.push_back(second + 1);
        }
      } else if (w.exhausted) {
        return refuse();
      } else if (blocking_forbidden()) {
        throw WouldBlock{};  // the lease must be waited for, which an I/O thread does not do
      }
    }
    if (admitted) {
      if (!ahead.empty()) lease_ahead(id, limit, asked, ahead);
      return std::nullopt;
    }
    // On a worker with nothing leased in hand: wait for a lease of this second.
    const auto total = options.lease(id, second, asked);
    if (!total) {
      Metrics::global().add("emtiaz_gateway_rate_limit_unchecked_total");
      return std::nullopt;  // fail open
    }
    std::lock_guard lock(mu);
    add(id, second, limit, asked, total);
    auto* w = keys[id].find(second);
    if (w == nullptr) return std::nullopt;  // its second passed while the lease was asked for: counted in it
    if (w->left == 0) return refuse();
    --w->left;
    return std::nullopt;
  }
};

}  // namespace

RateLimiter make_leased_rate_limiter(RateLimitOptions options) {
  auto limiter = std::make_shared<LeasedLimiter>(std::move(options));
  return [limiter](const Principal& p) { return limiter->check(p); };
}

RateLimiter make_rate_limiter(RedisPool& redis, std::int64_t default_per_second) {
  RateLimitOptions options;
  options.default_per_second = default_per_second;
  options.lease = [&redis](const std::string& id, std::int64_t second, std::int64_t asked) -> std::optional<std::int64_t> {
    const auto key = fmt::format("emtiaz:rl:{{k:{}}}:{}", id, second);
    try {
      // Kept a little past its second: a window may be leased for ahead of its start.
      auto replies = redis.pipeline({{"INCRBY", key, std::to_string(asked)}, {"EXPIRE", key, "3"}});
      if (replies.empty() || replies[0].type != RedisReply::Type::integer) return std::nullopt;
      return replies[0].integer;
    } catch (const RedisUnavailable&) {
      return std::nullopt;
    }
  };
  options.later = HttpServer::post_to_workers;
  options.now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  return make_leased_rate_limiter(std::move(options));
}

}  // namespace emtiaz::gateway
