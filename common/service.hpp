#pragma once
// What every service process shares: logging set-up, readiness of its dependencies, the admin routes
// (health, ready, metrics), the port file and the shutdown signal.
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/http_server.hpp"

namespace emtiaz {

void setup_logging(const std::string& service, const std::string& level);

// The request being served on this thread: every log line written while it is set carries it, so a
// partner's request id leads to every line its request caused.
void set_log_request_id(std::string id);
const std::string& log_request_id();

// Probes each named dependency in the background (every `interval`) so that /v1/ready answers at once.
class ReadinessMonitor {
 public:
  struct Check {
    std::string name;  // "mysql", "redis", "kafka"
    std::function<bool()> probe;
  };
  explicit ReadinessMonitor(std::vector<Check> checks,
                            std::chrono::milliseconds interval = std::chrono::milliseconds(500));
  ~ReadinessMonitor();
  std::vector<std::string> down() const;  // names of the dependencies that failed their last probe
  void refresh();                         // probes now (also used once at start-up)

 private:
  std::vector<Check> checks_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::vector<std::string> down_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Answers GET /v1/health, /v1/ready and /metrics; nullopt for any other request. /metrics carries the
// process's heap as the allocator sees it (heap_gauges), so that a resident size that creeps up can be told
// apart from live memory that grows.
std::optional<HttpResponse> admin_route(HttpRequest& req, const ReadinessMonitor& readiness);

// emtiaz_heap_in_use_bytes (live allocations, mmapped ones included) and emtiaz_heap_free_bytes (free space
// the allocator holds in its arenas), read now (glibc's mallinfo2) into the global metrics.
void heap_gauges();

void write_port_file(const std::optional<std::string>& path, unsigned short port);

// Call first in main(), before any thread starts, so that every thread inherits the blocked mask.
void block_shutdown_signals();
// Blocks until SIGINT or SIGTERM.
void wait_for_shutdown_signal();

}  // namespace emtiaz
