#pragma once
// An in-process cache for what almost every member request looks up: the member a reference resolves to.
// A member reference (`phone:…`, `card:…`, `mem_…`) always resolves to the same member once it exists
// (members are never deleted and their phone and card never change), so positive resolutions are kept
// until the cache is full; misses are never cached (an enrolment elsewhere must be seen at once).
// Tenants and partners (gateway/app.hpp), and bearer tokens' answers, the unknown ones too (gateway/auth.cpp),
// are kept for a second (tenants, partners) or half a second (tokens) after they were last known to be
// current: loaded, or confirmed since by the control plane's watch (gateway/control_plane_watch.hpp), which
// reads a change counter every 200 ms and empties these caches when a revocation or a PATCH has been
// committed; never longer than 30 s after their load. A command carries the tenant's and the partner's
// copies, but the wallet applies it with the rows as they are in its own transaction, so a PATCH still
// holds for the next command on every gateway. Tokens' answers are answered for up to 30 s more while
// MySQL is away.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <spdlog/spdlog.h>

namespace emtiaz::gateway {

// A thread-safe map from string keys to values with an optional time to live and a size bound. Sharded by
// key hash so that concurrent workers rarely contend. When a shard is full it is emptied (the cache is only
// an accelerator: a miss costs one look-up).
template <typename V>
class LookupCache {
 public:
  using Clock = std::chrono::steady_clock;
  // ttl of zero: entries never expire. stale_on_failure: when a load throws, an entry loaded less than this
  // long ago is answered instead (an outage of what `load` reads does not stop what was just known); zero: the
  // failure propagates.
  LookupCache(std::chrono::milliseconds ttl, size_t capacity,
              std::chrono::milliseconds stale_on_failure = std::chrono::milliseconds(0))
      : ttl_(ttl), stale_on_failure_(stale_on_failure), per_shard_(capacity / kShards + 1) {}

  // Entries confirmed by a watch: `confirmed()` is a time at which everything the cache holds was still current
  // (the watch clear()s the cache when something it may hold changes: gateway/control_plane_watch.hpp), or
  // Clock::time_point{} while nothing is known. An entry then lives for the ttl from the later of its load and
  // that time, and never longer than `at_most` after its load (a change the watch cannot see, such as a row
  // edited by hand, is seen within `at_most`). A failed load answers an entry up to stale_on_failure after the
  // later of the two as well. Call before the cache is shared between threads.
  void confirm_with(std::function<Clock::time_point()> confirmed, std::chrono::milliseconds at_most) {
    confirmed_ = std::move(confirmed);
    at_most_ = at_most;
  }

  // Runs a task on another thread (HttpServer::post_to_workers); false: it could not.
  using Later = std::function<bool(std::function<void()>)>;

  // The cached value, or `load()`'s; a value `load` returns as nullopt is not cached.
  //
  // With `later`: once an entry has less than a quarter of its time to live left (of its `at_most` when
  // confirmed, see confirm_with), the first get() hands one
  // reload to `later` and still answers the cached value, so a key in steady use is replaced before it
  // expires and a request on an I/O thread does not find it missing (a miss needs MySQL: the request moves
  // to a worker, and every request for that key meanwhile does too). Nothing older than the ttl is answered.
  // `load` (a callable returning std::optional<V>) must then own what it captures: it may run after get() has
  // returned.
  template <typename Load>
  std::optional<V> get(const std::string& key, const Load& load, const Later& later = {}) {
    auto& s = shard(key);
    std::uint64_t epoch;
    {
      std::unique_lock lock(s.mu);
      if (auto* e = live(s, key)) {
        V v = e->value;
        if (later && refresh_due(*e)) {
          e->refreshing = true;
          const auto at = s.epoch;
          lock.unlock();
          // A reload that throws (MySQL away) leaves the entry to expire: the request after it meets the failure.
          auto task = [this, key, load, at] {
            try {
              reload(key, load, at);
            } catch (const std::exception& e) {
              spdlog::warn("cache: a reload ahead of expiry failed (the entry expires as usual): {}", e.what());
            } catch (...) {
              spdlog::warn("cache: a reload ahead of expiry failed (the entry expires as usual)");
            }
          };
          if (!later(std::move(task))) end_refresh(key, at);
        }
        return v;
      }
      epoch = s.epoch;
    }
    try {
      return reload(key, load, epoch);
    } catch (const std::exception& e) {
      if (auto v = recent(key, e)) return v;
      throw;
    }
  }

  // The cached value without loading one.
  std::optional<V> find(const std::string& key) {
    auto& s = shard(key);
    std::lock_guard lock(s.mu);
    if (const auto* e = live(s, key)) return e->value;
    return std::nullopt;
  }

  // Caches a value learned elsewhere (the member index in Redis).
  void put(const std::string& key, const V& value) {
    auto& s = shard(key);
    std::lock_guard lock(s.mu);
    store(s, key, value, Clock::now());
  }

  void invalidate(const std::string& key) {
    auto& s = shard(key);
    std::lock_guard lock(s.mu);
    s.map.erase(key);
    ++s.epoch;
  }

  void clear() {
    for (auto& s : shards_) {
      std::lock_guard lock(s.mu);
      s.map.clear();
      ++s.epoch;
    }
  }

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    V value;
    Clock::time_point loaded_at;  // the value is at least this old
    bool refreshing = false;      // a reload was handed to `later` and has not ended
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> map;
    std::uint64_t epoch = 0;
  };
  Shard& shard(const std::string& key) { return shards_[std::hash<std::string>{}(key) % kShards]; }
  // When the entry's value was last known to be current. Under the entry's shard's lock: a watch clear()s every
  // shard before it confirms a later time, so an entry still here was current at the time `confirmed_` answers.
  Clock::time_point current_at(const Entry& e) const {
    return confirmed_ ? std::max(e.loaded_at, confirmed_()) : e.loaded_at;
  }
  Clock::time_point expires(const Entry& e) const {
    const auto by_ttl = current_at(e) + ttl_;
    return confirmed_ ? std::min(by_ttl, e.loaded_at + at_most_) : by_ttl;
  }
  bool expired(const Entry& e) const { return ttl_.count() != 0 && Clock::now() >= expires(e); }
  // Under s.mu: the entry for key unless it has expired.
  Entry* live(Shard& s, const std::string& key) {
    auto it = s.map.find(key);
    return it == s.map.end() || expired(it->second) ? nullptr : &it->second;
  }
  // In the last quarter of the ttl since it was last known current, or, when confirmed, of its `at_most`: a key
  // used now and then is reloaded ahead of its cap too, not only one used within the cap's last ttl/4.
  bool refresh_due(const Entry& e) const {
    if (ttl_.count() == 0 || e.refreshing) return false;
    const auto now = Clock::now();
    if (now >= current_at(e) + ttl_ - ttl_ / 4) return true;
    return confirmed_ && now >= e.loaded_at + at_most_ - at_most_ / 4;
  }
  // After a failed load: the entry for key if it was last known current less than stale_on_failure_ ago.
  std::optional<V> recent(const std::string& key, const std::exception& failure) {
    if (stale_on_failure_.count() == 0) return std::nullopt;
    auto& s = shard(key);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return std::nullopt;
    const auto age = Clock::now() - current_at(it->second);
    if (age >= stale_on_failure_) return std::nullopt;
    spdlog::warn("cache: a load failed ({}); answering what was last known current {} ms ago", failure.what(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(age).count());
    return it->second.value;
  }
  // Loads key's value and caches it unless an invalidation ran since `epoch` (what was read may then be older
  // than the change). A reload in the background that fails or finds nothing leaves the entry to expire.
  template <typename Load>
  std::optional<V> reload(const std::string& key, const Load& load, std::uint64_t epoch) {
    const auto loaded_at = Clock::now();  // the value is at least this old
    std::optional<V> v;
    try {
      v = load();
    } catch (...) {
      end_refresh(key, epoch);
      throw;
    }
    auto& s = shard(key);
    std::lock_guard lock(s.mu);
    if (v && s.epoch == epoch) {
      store(s, key, *v, loaded_at);
    } else if (auto it = s.map.find(key); it != s.map.end() && s.epoch == epoch) {
      it->second.refreshing = false;
    }
    return v;
  }
  void end_refresh(const std::string& key, std::uint64_t epoch) {
    auto& s = shard(key);
    std::lock_guard lock(s.mu);
    if (auto it = s.map.find(key); it != s.map.end() && s.epoch == epoch) it->second.refreshing = false;
  }
  // Under s.mu.
  void store(Shard& s, const std::string& key, const V& value, Clock::time_point loaded_at) {
    if (s.map.size() >= per_shard_) s.map.clear();
    s.map[key] = Entry{value, loaded_at};
  }

  std::chrono::milliseconds ttl_;
  std::function<Clock::time_point()> confirmed_;  // empty: no watch
  std::chrono::milliseconds at_most_{0};
  std::chrono::milliseconds stale_on_failure_;
  size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace emtiaz::gateway
