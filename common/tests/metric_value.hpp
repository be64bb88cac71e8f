#pragma once
// For tests: one series' value on this process's /metrics, as Metrics::render() writes it.
#include <string>

#include "common/metrics.hpp"

namespace emtiaz {

// The value of `series` (its whole name, labels included, as rendered: `name{label="value"}`); 0 while the
// process has recorded nothing under it.
inline double metric_value(const std::string& series) {
  const std::string text = "\n" + Metrics::global().render();
  const std::string line = "\n" + series + " ";
  const auto at = text.find(line);
  return at == std::string::npos ? 0 : std::stod(text.substr(at + line.size()));
}

}  // namespace emtiaz
