#include "common/service.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/metrics.hpp"

namespace emtiaz {

namespace {
thread_local std::string t_request_id;

class RequestIdFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    if (t_request_id.empty()) return;
    static constexpr std::string_view prefix = " request_id=";
    dest.append(prefix.data(), prefix.data() + prefix.size());
    dest.append(t_request_id.data(), t_request_id.data() + t_request_id.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<RequestIdFlag>(); }
};
}  // namespace

void set_log_request_id(std::string id) { t_request_id = std::move(id); }
const std::string& log_request_id() { return t_request_id; }

void setup_logging(const std::string& service, const std::string& level) {
  auto logger = spdlog::stderr_color_mt(service);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<RequestIdFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n]%* %v");
  logger->set_formatter(std::move(formatter));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

ReadinessMonitor::ReadinessMonitor(std::vector<Check> checks, std::chrono::milliseconds interval)
    : checks_(std::move(checks)), interval_(interval) {
  refresh();
  thread_ = std::thread([this] {
    while (!stop_) {
      for (auto waited = std::chrono::milliseconds(0); waited < interval_ && !stop_; waited += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!stop_) refresh();
    }
  });
}

ReadinessMonitor::~ReadinessMonitor() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ReadinessMonitor::refresh() {
  std::vector<std::string> down;
  for (const auto& c : checks_) {
    bool ok = false;
    try {
      ok = c.probe();
    } catch (const std::exception&) {
      ok = false;
    }
    if (!ok) down.push_back(c.name);
    Metrics::global().set(fmt::format("emtiaz_dependency_up{{dependency=\"{}\"}}", c.name), ok ? 1 : 0);
  }
  std::lock_guard lock(mu_);
  down_ = std::move(down);
}

std::vector<std::string> ReadinessMonitor::down() const {
  std::lock_guard lock(mu_);
  return down_;
}

std::optional<HttpResponse> admin_route(HttpRequest& req, const ReadinessMonitor& readiness) {
  if (req.raw.method() != boost::beast::http::verb::get) return std::nullopt;
  if (req.path == "/v1/health") {
    auto r = HttpResponse::json(200, R"({"status":"ok"})");
    r.route = "GET /v1/health";
    return r;
  }
  if (req.path == "/v1/ready") {
    auto down = readiness.down();
    HttpResponse r;
    if (down.empty()) {
      r = HttpResponse::json(200, R"({"status":"ready"})");
    } else {
      Problem p = problem(Code::not_ready, fmt::format("not ready: {}", fmt::join(down, ", ")));
      p.extra["down"] = down;
      r = HttpResponse::from_problem(p, req.request_id);
      r.headers.emplace_back("Retry-After", "1");
    }
    r.route = "GET /v1/ready";
    return r;
  }
  if (req.path == "/metrics") {
    heap_gauges();
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = Metrics::global().render();
    r.route = "GET /metrics";
    return r;
  }
  return std::nullopt;
}

void heap_gauges() {
  const struct mallinfo2 info = mallinfo2();
  Metrics::global().set("emtiaz_heap_in_use_bytes", static_cast<double>(info.uordblks + info.hblkhd));
  Metrics::global().set("emtiaz_heap_free_bytes", static_cast<double>(info.fordblks));
}

void write_port_file(const std::optional<std::string>& path, unsigned short port) {
  if (!path || path->empty()) return;
  auto tmp = *path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
  }
  std::filesystem::rename(tmp, *path);
}

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void wait_for_shutdown_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("signal {}: shutting down", sig);
}

}  // namespace emtiaz
