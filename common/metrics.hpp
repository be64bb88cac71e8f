#pragma once
// A small Prometheus registry: request counts and latency histograms by route and status, plus named
// counters and gauges. Rendered as Prometheus text on GET /metrics.
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace emtiaz {

class Metrics {
 public:
  static Metrics& global();

  void observe_request(std::string_view route, int status, double seconds);
  // `series` is a full series name with labels, e.g. `emtiaz_wallet_commands_total{result="ok"}`.
  void add(const std::string& series, double value = 1.0);
  void set(const std::string& series, double value);
  void observe(const std::string& name, double seconds);  // an unlabelled latency histogram
  std::string render() const;

 private:
  struct Histogram {
    std::vector<unsigned long long> buckets;
    unsigned long long count = 0;
    double sum = 0;
  };
  static const std::vector<double>& bounds();
  static void record(Histogram& h, double seconds);

  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, unsigned long long> requests_;
  std::map<std::string, Histogram> request_latency_;
  std::map<std::string, Histogram> histograms_;
  std::map<std::string, double> counters_;
  std::map<std::string, double> gauges_;
};

}  // namespace emtiaz
