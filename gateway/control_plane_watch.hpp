#pragma once
// The gateway's watch over the control plane's change counter (common/control_plane_version.hpp). Every
// `interval` it reads the counter; when it has moved (or on the first read), it runs the callbacks that empty
// the caches of tokens, tenants and partners; then, and only then, it confirms the time at which that read
// began: everything the caches hold was current then (gateway/lookup_cache.hpp, LookupCache::confirm_with).
// So a key in use is not reloaded from MySQL every half second on every gateway; a revocation or a PATCH
// committed anywhere is seen by every gateway at the next read, and a cached answer is never more than its
// cache's ttl older than the last read that succeeded. While reads fail (MySQL away), nothing is confirmed
// and the caches fall back to reloading.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace emtiaz::gateway {

// How long after its load a watched cache's entry may be answered, however often the watch confirms it: a
// change made without raising the counter (a row edited by hand) is seen within this.
inline constexpr std::chrono::milliseconds kConfirmedAtMost{30'000};

class ControlPlaneWatch {
 public:
  using Clock = std::chrono::steady_clock;
  // `read` returns the counter as committed now, or throws.
  explicit ControlPlaneWatch(std::function<std::int64_t()> read,
                             std::chrono::milliseconds interval = std::chrono::milliseconds(200));
  ~ControlPlaneWatch();
  ControlPlaneWatch(const ControlPlaneWatch&) = delete;
  ControlPlaneWatch& operator=(const ControlPlaneWatch&) = delete;

  // Runs `f` (on the watch's thread) when the counter has moved. Register before start().
  void on_change(std::function<void()> f);
  // When the caches were last known to be current; Clock::time_point{} until a read has succeeded.
  Clock::time_point confirmed_at() const;

  // Reads the counter once: true when the read succeeded (the callbacks ran if it had moved). The thread's
  // work; call it directly only when the thread is not running (tests).
  bool poll();
  // A thread that polls every `interval` until stop() (or the destructor).
  void start();
  void stop();

 private:
  std::function<std::int64_t()> read_;
  std::chrono::milliseconds interval_;
  std::vector<std::function<void()>> on_change_;
  std::optional<std::int64_t> seen_;  // the poller's only
  std::atomic<Clock::rep> confirmed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  bool failing_ = false;  // the poller's only: to log a failure once, and the recovery
};

}  // namespace emtiaz::gateway
