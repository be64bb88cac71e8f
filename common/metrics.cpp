#include "common/metrics.hpp"

#include <fmt/format.h>

namespace emtiaz {

Metrics& Metrics::global() {
  static Metrics m;
  return m;
}

const std::vector<double>& Metrics::bounds() {
  static const std::vector<double> b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
  return b;
}

void Metrics::record(Histogram& h, double seconds) {
  if (h.buckets.empty()) h.buckets.assign(bounds().size(), 0);
  for (size_t i = 0; i < bounds().size(); ++i)
    if (seconds <= bounds()[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::observe_request(std::string_view route, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(route), status}];
  record(request_latency_[std::string(route)], seconds);
}

void Metrics::add(const std::string& series, double value) {
  std::lock_guard lock(mu_);
  counters_[series] += value;
}

void Metrics::set(const std::string& series, double value) {
  std::lock_guard lock(mu_);
  gauges_[series] = value;
}

void Metrics::observe(const std::string& name, double seconds) {
  std::lock_guard lock(mu_);
  record(histograms_[name], seconds);
}

namespace {
void render_histogram(std::string& out, const std::string& name, const std::string& labels,
                      const std::vector<double>& bounds, const std::vector<unsigned long long>& buckets,
                      unsigned long long count, double sum) {
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < bounds.size(); ++i)
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, bounds[i], buckets[i]);
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, count);
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, sum, name, braces, count);
}
}  // namespace

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP emtiaz_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE emtiaz_http_requests_total counter\n";
  for (const auto& [k, v] : requests_)
    out += fmt::format("emtiaz_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", k.first, k.second, v);
  out += "# HELP emtiaz_http_request_duration_seconds HTTP request latency by route.\n";
  out += "# TYPE emtiaz_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : request_latency_)
    render_histogram(out, "emtiaz_http_request_duration_seconds", fmt::format("route=\"{}\"", route), bounds(),
                     h.buckets, h.count, h.sum);
  for (const auto& [name, h] : histograms_) {
    out += fmt::format("# TYPE {} histogram\n", name);
    render_histogram(out, name, "", bounds(), h.buckets, h.count, h.sum);
  }
  std::string last_type;
  for (const auto& [series, v] : counters_) {
    auto base = series.substr(0, series.find('{'));
    if (base != last_type) out += fmt::format("# TYPE {} counter\n", base), last_type = base;
    out += fmt::format("{} {}\n", series, v);
  }
  for (const auto& [series, v] : gauges_) {
    auto base = series.substr(0, series.find('{'));
    if (base != last_type) out += fmt::format("# TYPE {} gauge\n", base), last_type = base;
    out += fmt::format("{} {}\n", series, v);
  }
  return out;
}

}  // namespace emtiaz
