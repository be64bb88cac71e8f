#pragma once
// An in-process cache for what almost every member request looks up: the member a reference resolves to.
// A member reference (`phone:…`, `card:…`, `mem_…`) always resolves to the same member once it exists
// (members are never deleted and their phone and card never change), so positive resolutions are kept
// until the cache is full; misses are never cached (an enrolment elsewhere must be seen at once).
// Tenants and partners are cached for a second (gateway/app.hpp): a command carries those copies, but the
// wallet applies it with the rows as they are in its own transaction, so a PATCH still holds for the next
// command on every gateway.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace emtiaz::gateway {

// A thread-safe map from string keys to values with an optional time to live and a size bound. Sharded by
// key hash so that concurrent workers rarely contend. When a shard is full it is emptied (the cache is only
// an accelerator: a miss costs one look-up).
template <typename V>
class LookupCache {
 public:
  using Clock = std::chrono::steady_clock;
  // ttl of zero: entries never expire.
  LookupCache(std::chrono::milliseconds ttl, size_t capacity) : ttl_(ttl), per_shard_(capacity / kShards + 1) {}

  // The cached value, or `load()`'s; a value `load` returns as nullopt is not cached.
  std::optional<V> get(const std::string& key, const std::function<std::optional<V>()>& load) {
    auto& s = shard(key);
    std::uint64_t epoch;
    {
      std::lock_guard lock(s.mu);
      if (auto v = fresh(s, key)) return v;
      epoch = s.epoch;
    }
    const auto loaded_at = Clock::now();  // the value is at least this old
    auto v = load();
    if (v) {
      std::lock_guard lock(s.mu);
      // Not when an invalidation ran while we loaded: what we read may be older than the change.
      if (s.epoch == epoch) store(s, key, *v, loaded_at);
    }
    return v;
  }

  // The cached value without loading one.
  std::optional<V> find(const std::string& key) {
    auto& s = shard(key);
    std::lock_guard lock(s.mu);
    return fresh(s, key);
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
    Clock::time_point expires;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> map;
    std::uint64_t epoch = 0;
  };
  Shard& shard(const std::string& key) { return shards_[std::hash<std::string>{}(key) % kShards]; }
  // Under s.mu: the entry for key unless it has expired.
  std::optional<V> fresh(Shard& s, const std::string& key) const {
    auto it = s.map.find(key);
    if (it == s.map.end() || (ttl_.count() != 0 && Clock::now() >= it->second.expires)) return std::nullopt;
    return it->second.value;
  }
  // Under s.mu.
  void store(Shard& s, const std::string& key, const V& value, Clock::time_point loaded_at) {
    if (s.map.size() >= per_shard_) s.map.clear();
    s.map[key] = Entry{value, loaded_at + ttl_};
  }

  std::chrono::milliseconds ttl_;
  size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace emtiaz::gateway
