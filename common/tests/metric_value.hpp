#pragma once
// For tests: one series' value on a /metrics page, as Metrics::render() writes it (this process's, or a
// server's as a test fetched it).
#include <string>

#include "common/metrics.hpp"

namespace emtiaz {

// The value of `series` (its whole name, labels included, as rendered: `name{label="value"}`) in `rendered`, a
// /metrics page; 0 when the page does not have it (nothing recorded under it yet).
inline double metric_in(const std::string& rendered, const std::string& series) {
  const std::string text = "\n" + rendered;
  const std::string line = "\n" + series + " ";
  const auto at = text.find(line);
  return at == std::string::npos ? 0 : std::stod(text.substr(at + line.size()));
}

// The value of `series` on this process's /metrics.
inline double metric_value(const std::string& series) { return metric_in(Metrics::global().render(), series); }

}  // namespace emtiaz
