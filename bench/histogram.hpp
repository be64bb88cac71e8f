// A log-linear bucketed latency histogram (HdrHistogram-style): values in microseconds, 64 linear
// sub-buckets per power of two, so every recorded value is known to within 1/64 (about 1.6 %).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <vector>

namespace emtiaz::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr std::uint64_t kSub = 1u << kSubBits;

  Histogram() : counts_(kSub * 64, 0) {}

  void record(std::int64_t micros) {
    auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(0, micros));
    ++counts_[index(v)];
    ++total_;
    sum_ += v;
    max_ = std::max(max_, v);
  }

  void merge(const Histogram& o) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }

  // The value at quantile q (0..1): the upper edge of the bucket holding it, capped at the maximum seen.
  std::uint64_t percentile(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_) + 0.5);
    rank = std::clamp<std::uint64_t>(rank, 1, total_);
    std::uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper(i), max_);
    }
    return max_;
  }

 private:
  static size_t index(std::uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    const int shift = static_cast<int>(std::bit_width(v)) - (kSubBits + 1);
    return static_cast<size_t>(kSub + static_cast<std::uint64_t>(shift) * kSub + ((v >> shift) - kSub));
  }
  static std::uint64_t upper(size_t i) {
    if (i < kSub) return i;
    const auto shift = (i - kSub) / kSub;
    const auto sub = (i - kSub) % kSub + kSub;
    return ((sub + 1) << shift) - 1;
  }

  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0, sum_ = 0, max_ = 0;
};

}  // namespace emtiaz::bench
