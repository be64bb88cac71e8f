// The gateway's in-process lookup cache (gateway/lookup_cache.hpp): what it keeps, for how long, and what it
// must never keep (a miss, a value loaded across an invalidation).
#include "gateway/lookup_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace emtiaz::gateway {
namespace {

using namespace std::chrono_literals;

// A loader that counts its loads, and a `later` that keeps the tasks handed to it for the test to run.
struct Reloads {
  int loads = 0;
  std::vector<std::function<void()>> handed;
  auto loader() {
    return [this]() -> std::optional<int> { return ++loads; };
  }
  LookupCache<int>::Later later() {
    return [this](std::function<void()> task) {
      handed.push_back(std::move(task));
      return true;
    };
  }
};

TEST(LookupCache, LoadsOnceAndServesFromMemory) {
  LookupCache<std::string> cache(0ms, 100);
  int loads = 0;
  auto load = [&]() -> std::optional<std::string> {
    ++loads;
    return "mem_1";
  };
  EXPECT_EQ(cache.get("k", load), "mem_1");
  EXPECT_EQ(cache.get("k", load), "mem_1");
  EXPECT_EQ(cache.find("k"), "mem_1");
  EXPECT_EQ(loads, 1);
}

TEST(LookupCache, MissesAreNotKept) {
  LookupCache<std::string> cache(0ms, 100);
  int loads = 0;
  auto none = [&]() -> std::optional<std::string> {
    ++loads;
    return std::nullopt;
  };
  EXPECT_FALSE(cache.get("k", none));
  EXPECT_FALSE(cache.get("k", none));
  EXPECT_EQ(loads, 2);
  EXPECT_FALSE(cache.find("k"));
}

TEST(LookupCache, PutIsFoundAndFindNeverLoads) {
  LookupCache<std::string> cache(0ms, 100);
  EXPECT_FALSE(cache.find("k"));
  cache.put("k", "mem_2");
  EXPECT_EQ(cache.find("k"), "mem_2");
  EXPECT_EQ(cache.get("k", []() -> std::optional<std::string> { return "other"; }), "mem_2");
}

// With a `later` (the server's workers), an entry in the last quarter of its life is reloaded once by the task
// handed to it, the cached value answered meanwhile; a reload across an invalidation is not kept.
TEST(LookupCache, AnEntryInUseIsReloadedAheadOfExpiryOnce) {
  LookupCache<int> cache(2000ms, 100);
  Reloads r;
  auto& [loads, handed] = r;
  const auto load = r.loader();
  const auto later = r.later();
  EXPECT_EQ(cache.get("t", load, later), 1);
  EXPECT_EQ(cache.get("t", load, later), 1);
  EXPECT_TRUE(handed.empty());
  std::this_thread::sleep_for(1600ms);
  EXPECT_EQ(cache.get("t", load, later), 1);
  EXPECT_EQ(cache.get("t", load, later), 1);
  ASSERT_EQ(handed.size(), 1u);
  EXPECT_EQ(loads, 1);
  handed[0]();
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(cache.get("t", load, later), 2);
  EXPECT_EQ(handed.size(), 1u);

  // Invalidated while the reload runs: the reload's value is not kept, the next get loads again.
  std::this_thread::sleep_for(1600ms);
  EXPECT_EQ(cache.get("t", load, later), 2);
  ASSERT_EQ(handed.size(), 2u);
  cache.invalidate("t");
  handed[1]();
  EXPECT_EQ(loads, 3);
  EXPECT_FALSE(cache.find("t"));
  EXPECT_EQ(cache.get("t", load, later), 4);

  // A reload that throws is swallowed by the task and leaves the entry as it was, to expire.
  std::this_thread::sleep_for(1600ms);
  auto failing = []() -> std::optional<int> { throw std::runtime_error("mysql away"); };
  EXPECT_EQ(cache.get("t", failing, later), 4);
  ASSERT_EQ(handed.size(), 3u);
  EXPECT_NO_THROW(handed[2]());
  EXPECT_EQ(cache.find("t"), 4);
  EXPECT_EQ(cache.get("t", load, later), 4);
  EXPECT_EQ(handed.size(), 4u);  // tried again
}

TEST(LookupCache, EntriesExpireAfterTheirTimeToLive) {
  LookupCache<int> cache(30ms, 100);
  int loads = 0;
  auto load = [&]() -> std::optional<int> { return ++loads; };
  EXPECT_EQ(cache.get("t", load), 1);
  EXPECT_EQ(cache.get("t", load), 1);
  std::this_thread::sleep_for(60ms);
  EXPECT_FALSE(cache.find("t"));
  EXPECT_EQ(cache.get("t", load), 2);
  cache.put("p", 7);
  std::this_thread::sleep_for(60ms);
  EXPECT_FALSE(cache.find("p"));
}

// A load that fails is answered from an entry loaded less than stale_on_failure ago, never from an older one,
// and not at all without that window.
TEST(LookupCache, AFailedLoadIsAnsweredFromARecentEntryOnlyWithinItsWindow) {
  bool down = false;
  int loads = 0;
  auto load = [&]() -> std::optional<int> {
    if (down) throw std::runtime_error("down");
    return ++loads;
  };
  LookupCache<int> cache(20ms, 100, 150ms);
  EXPECT_EQ(cache.get("k", load), 1);
  std::this_thread::sleep_for(40ms);  // expired, 40 ms old
  down = true;
  EXPECT_EQ(cache.get("k", load), 1);
  EXPECT_THROW(cache.get("never-loaded", load), std::runtime_error);
  std::this_thread::sleep_for(150ms);  // older than the window
  EXPECT_THROW(cache.get("k", load), std::runtime_error);

  LookupCache<int> strict(20ms, 100);
  down = false;
  EXPECT_EQ(strict.get("k", load), 2);
  std::this_thread::sleep_for(40ms);
  down = true;
  EXPECT_THROW(strict.get("k", load), std::runtime_error);
}

// The time to live counts from before the load: a slow load does not make its value live longer.
TEST(LookupCache, TimeToLiveCountsFromBeforeTheLoad) {
  LookupCache<int> cache(50ms, 100);
  EXPECT_EQ(cache.get("t",
                      []() -> std::optional<int> {
                        std::this_thread::sleep_for(60ms);
                        return 1;
                      }),
            1);
  EXPECT_FALSE(cache.find("t"));
}

TEST(LookupCache, ValueLoadedAcrossAnInvalidationIsNotKept) {
  LookupCache<int> cache(0ms, 100);
  EXPECT_EQ(cache.get("k",
                      [&]() -> std::optional<int> {
                        cache.invalidate("k");  // a change landed while this load read the old row
                        return 1;
                      }),
            1);
  EXPECT_FALSE(cache.find("k"));
  EXPECT_EQ(cache.get("k", []() -> std::optional<int> { return 2; }), 2);
  EXPECT_EQ(cache.find("k"), 2);
  cache.invalidate("k");
  EXPECT_FALSE(cache.find("k"));
  cache.put("a", 1);
  cache.clear();
  EXPECT_FALSE(cache.find("a"));
}

// A watch that confirms the cache (LookupCache::confirm_with) as the control plane's watch does: `confirm()`
// says that everything the cache holds is current now.
struct Confirmations {
  std::atomic<LookupCache<int>::Clock::rep> at{0};
  void confirm() { at = LookupCache<int>::Clock::now().time_since_epoch().count(); }
  std::function<LookupCache<int>::Clock::time_point()> reader() {
    return [this] { return LookupCache<int>::Clock::time_point(LookupCache<int>::Clock::duration(at.load())); };
  }
};

// A confirmed entry lives for its ttl after the last confirmation, so while confirmations keep coming it is
// not loaded again, until `at_most` after its load; once they stop, it expires a ttl after the last one.
TEST(LookupCache, AConfirmedEntryLivesFromItsLastConfirmationUpToItsCap) {
  using Clock = LookupCache<int>::Clock;
  Confirmations watch;
  LookupCache<int> cache(100ms, 100);
  cache.confirm_with(watch.reader(), 600ms);
  int loads = 0;
  auto load = [&]() -> std::optional<int> { return ++loads; };
  auto confirm_and_get = [&] {
    watch.confirm();
    return cache.get("k", load);
  };
  // Confirmed for three times its ttl: one load.
  EXPECT_EQ(cache.get("k", load), 1);
  for (auto until = Clock::now() + 300ms; Clock::now() < until; std::this_thread::sleep_for(20ms))
    EXPECT_EQ(confirm_and_get(), 1);
  EXPECT_EQ(loads, 1);
  // No confirmation for more than the ttl: loaded again.
  std::this_thread::sleep_for(150ms);
  EXPECT_FALSE(cache.find("k"));
  const auto second_load = Clock::now();
  EXPECT_EQ(cache.get("k", load), 2);
  // Confirmed all along, yet loaded again once `at_most` has passed since the load.
  while (Clock::now() - second_load < 500ms) {
    EXPECT_EQ(confirm_and_get(), 2);
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(confirm_and_get(), 3);
  // A value loaded across the watch's clear() is not kept, confirmed or not.
  EXPECT_EQ(cache.get("c",
                      [&]() -> std::optional<int> {
                        cache.clear();  // the watch saw a change while this load read the old row
                        return 10;
                      }),
            10);
  watch.confirm();
  EXPECT_FALSE(cache.find("c"));
}

// A confirmed entry in use is reloaded ahead of its cap, in the cap's last quarter, by the task handed to
// `later`: a key used now and then does not find its entry gone at the cap.
TEST(LookupCache, AConfirmedEntryInUseIsReloadedAheadOfItsCap) {
  using Clock = LookupCache<int>::Clock;
  Confirmations watch;
  LookupCache<int> cache(100ms, 100);
  cache.confirm_with(watch.reader(), 800ms);
  Reloads r;
  auto& [loads, handed] = r;
  const auto load = r.loader();
  const auto later = r.later();
  const auto loaded = Clock::now();
  watch.confirm();
  EXPECT_EQ(cache.get("k", load, later), 1);
  // Confirmed, and used every 50 ms: nothing handed before three quarters of the cap (600 ms).
  while (Clock::now() - loaded < 500ms) {
    watch.confirm();
    EXPECT_EQ(cache.get("k", load, later), 1);
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(handed.empty());
  while (Clock::now() - loaded < 650ms) std::this_thread::sleep_for(10ms);
  watch.confirm();
  EXPECT_EQ(cache.get("k", load, later), 1);  // still the cached value
  ASSERT_EQ(handed.size(), 1u);
  handed[0]();
  watch.confirm();
  EXPECT_EQ(cache.get("k", load, later), 2);
  EXPECT_EQ(handed.size(), 1u);  // a fresh entry: its cap starts again
}

// While a load fails, an entry is answered for stale_on_failure after it was last known current: loaded or
// confirmed since.
TEST(LookupCache, AFailedLoadIsAnsweredFromAnEntryConfirmedRecently) {
  using Clock = LookupCache<int>::Clock;
  Confirmations watch;
  LookupCache<int> cache(50ms, 100, 200ms);
  cache.confirm_with(watch.reader(), 10'000ms);
  bool down = false;
  int loads = 0;
  auto load = [&]() -> std::optional<int> {
    if (down) throw std::runtime_error("down");
    return ++loads;
  };
  EXPECT_EQ(cache.get("k", load), 1);
  for (auto until = Clock::now() + 300ms; Clock::now() < until; std::this_thread::sleep_for(20ms)) watch.confirm();
  std::this_thread::sleep_for(80ms);  // expired: confirmed 80 ms ago, loaded 380 ms ago
  down = true;
  EXPECT_EQ(cache.get("k", load), 1);
  std::this_thread::sleep_for(200ms);  // confirmed 280 ms ago: older than the window
  EXPECT_THROW(cache.get("k", load), std::runtime_error);
  EXPECT_EQ(loads, 1);
}

// Bounded: a full shard is emptied, so the cache never holds much more than its capacity.
TEST(LookupCache, HoldsAtMostAboutItsCapacity) {
  constexpr int kCapacity = 160;  // 16 shards of 11
  LookupCache<int> cache(0ms, kCapacity);
  for (int i = 0; i < 10'000; ++i) cache.put("key" + std::to_string(i), i);
  int kept = 0;
  for (int i = 0; i < 10'000; ++i) {
    if (auto v = cache.find("key" + std::to_string(i))) {
      EXPECT_EQ(*v, i);
      ++kept;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_LE(kept, kCapacity + 16);
}

}  // namespace
}  // namespace emtiaz::gateway
