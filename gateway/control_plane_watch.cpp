#include "gateway/control_plane_watch.hpp"

#include <spdlog/spdlog.h>

#include "common/metrics.hpp"

namespace emtiaz::gateway {

ControlPlaneWatch::ControlPlaneWatch(std::function<std::int64_t()> read, std::chrono::milliseconds interval)
    : read_(std::move(read)), interval_(interval) {}

ControlPlaneWatch::~ControlPlaneWatch() { stop(); }

void ControlPlaneWatch::on_change(std::function<void()> f) { on_change_.push_back(std::move(f)); }

ControlPlaneWatch::Clock::time_point ControlPlaneWatch::confirmed_at() const {
  return Clock::time_point(Clock::duration(confirmed_.load()));
}

bool ControlPlaneWatch::poll() {
  const auto began = Clock::now();  // what the read finds was committed at least this early
  std::int64_t version;
  try {
    version = read_();
  } catch (const std::exception& e) {
    Metrics::global().add("emtiaz_gateway_control_plane_read_failures_total");
    if (!failing_)
      spdlog::warn("control plane watch: cannot read the change counter (caches reload meanwhile): {}", e.what());
    failing_ = true;
    return false;
  }
  if (failing_) spdlog::info("control plane watch: reading the change counter again");
  failing_ = false;
  if (seen_ != version) {
    // The first read too: what was cached before it may predate a change it cannot tell apart.
    for (const auto& f : on_change_) f();
    if (seen_) Metrics::global().add("emtiaz_gateway_control_plane_changes_total");
    seen_ = version;
  }
  confirmed_.store(began.time_since_epoch().count());
  // For an alert on a watch that stopped confirming (its caches then reload every half second, and while MySQL
  // is away answer from what they knew for 30 s at most): time() minus this.
  Metrics::global().set("emtiaz_gateway_control_plane_confirmed_timestamp_seconds",
                        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  return true;
}

void ControlPlaneWatch::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      poll();
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  });
}

void ControlPlaneWatch::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace emtiaz::gateway
