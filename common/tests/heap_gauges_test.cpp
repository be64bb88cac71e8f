// heap_gauges (common/service.hpp): /metrics tells live heap memory from what the allocator merely holds.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/metrics.hpp"
#include "common/service.hpp"

namespace emtiaz {
namespace {

double gauge(const std::string& name) {
  heap_gauges();
  const auto text = Metrics::global().render();
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

TEST(HeapGauges, FollowLiveAllocations) {
  const double before = gauge("emtiaz_heap_in_use_bytes");
  ASSERT_GT(before, 0);
  constexpr size_t kBlock = 4000, kBlocks = 8000;  // ~32 MB in blocks that live inside the heap
  std::vector<std::unique_ptr<char[]>> blocks;
  for (size_t i = 0; i < kBlocks; ++i) {
    blocks.emplace_back(new char[kBlock]);
    blocks.back()[0] = 1;
  }
  const double held = gauge("emtiaz_heap_in_use_bytes");
  EXPECT_GT(held, before + 30e6);
  blocks.clear();
  const double after = gauge("emtiaz_heap_in_use_bytes");
  EXPECT_LT(after, held - 30e6);
  EXPECT_GE(gauge("emtiaz_heap_free_bytes"), 0);
}

}  // namespace
}  // namespace emtiaz
