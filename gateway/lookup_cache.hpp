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
    const auto now = Clock::now();
    {
      std::lock_guard lock(s.mu);
      auto it = s.map.find(key);
      if (it != s.map.end() && (ttl_.count() == 0 || now < it->second.expires)) return it->second.value;
    }
    const auto epoch = epoch_of(s);
    auto v = load();
    if (v) {
      std::lock_guard lock(s.mu);
      // Not when an invalidation ran while we loaded: what we read may be older than the change.
      if (s.epoch == epoch) {
        if (s.map.size() >= per_shard_) s.map.clear();
        s.map[key] = Entry{*v, now + ttl_};
      }
    }
    return v;
  }

  // The cached value without loading one.
  std::optional<V> find(const std::string& key) {
    return get(key, [] { return std::optional<V>(); });
  }
  // Caches a value learned elsewhere (the member index in Redis).
  void put(const std::string& key, const V& value) {
    get(key, [&] { return std::optional<V>(value); });
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
  static std::uint64_t epoch_of(Shard& s) {
    std::lock_guard lock(s.mu);
    return s.epoch;
  }

  std::chrono::milliseconds ttl_;
  size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace emtiaz::gateway
