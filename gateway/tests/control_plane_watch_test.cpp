// The gateway's watch over the control plane's change counter (gateway/control_plane_watch.hpp): when it
// empties the caches, what time it confirms, and what a failed read leaves.
#include "gateway/control_plane_watch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/tests/metric_value.hpp"

namespace emtiaz::gateway {
namespace {

using namespace std::chrono_literals;
using Clock = ControlPlaneWatch::Clock;

struct Counter {
  std::atomic<std::int64_t> version{7};
  std::atomic<bool> down{false};
  std::atomic<int> reads{0};
  std::function<std::int64_t()> reader() {
    return [this] {
      ++reads;
      if (down) throw std::runtime_error("mysql away");
      return version.load();
    };
  }
};

TEST(ControlPlaneWatch, TheFirstReadAndEveryMoveEmptyTheCachesThenConfirm) {
  Counter counter;
  ControlPlaneWatch watch(counter.reader());
  int emptied = 0;
  watch.on_change([&] { ++emptied; });
  watch.on_change([&] { ++emptied; });
  EXPECT_EQ(watch.confirmed_at(), Clock::time_point{});  // nothing known before a read
  const double changes = metric_value("emtiaz_gateway_control_plane_changes_total");
  const double failures = metric_value("emtiaz_gateway_control_plane_read_failures_total");

  // The first read: what was cached before it may predate a change.
  auto before = Clock::now();
  ASSERT_TRUE(watch.poll());
  EXPECT_EQ(emptied, 2);
  EXPECT_GE(watch.confirmed_at(), before);
  EXPECT_LE(watch.confirmed_at(), Clock::now());
  // The wall-clock time of the confirmation, for an alert on a watch that stopped: now, to the second.
  const double now_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(metric_value("emtiaz_gateway_control_plane_confirmed_timestamp_seconds"), now_s, 2.0);

  // Unchanged: confirmed again, nothing emptied.
  std::this_thread::sleep_for(5ms);
  before = Clock::now();
  ASSERT_TRUE(watch.poll());
  EXPECT_EQ(emptied, 2);
  EXPECT_GE(watch.confirmed_at(), before);

  // Moved: emptied once per move.
  counter.version = 8;
  ASSERT_TRUE(watch.poll());
  EXPECT_EQ(emptied, 4);
  ASSERT_TRUE(watch.poll());
  EXPECT_EQ(emptied, 4);
  EXPECT_EQ(metric_value("emtiaz_gateway_control_plane_changes_total"), changes + 1);  // the first read is not a change

  // A failed read confirms nothing and empties nothing; a move made meanwhile is seen by the next read.
  const auto confirmed = watch.confirmed_at();
  counter.down = true;
  counter.version = 9;
  std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(watch.poll());
  EXPECT_EQ(metric_value("emtiaz_gateway_control_plane_read_failures_total"), failures + 1);
  EXPECT_EQ(watch.confirmed_at(), confirmed);
  EXPECT_EQ(emptied, 4);
  counter.down = false;
  ASSERT_TRUE(watch.poll());
  EXPECT_EQ(emptied, 6);
  EXPECT_GT(watch.confirmed_at(), confirmed);
}

// What is confirmed is the time the read began (the counter read may be that old), and only once the caches
// have been emptied: a cache that sees the new time no longer holds what the move made stale.
TEST(ControlPlaneWatch, ConfirmsWhenItsReadBeganAndOnlyAfterEmptying) {
  Counter counter;
  Clock::time_point read_began{};
  ControlPlaneWatch watch([&] {
    read_began = Clock::now();
    std::this_thread::sleep_for(30ms);
    return counter.version.load();
  });
  std::vector<Clock::time_point> confirmed_while_emptying;
  watch.on_change([&] { confirmed_while_emptying.push_back(watch.confirmed_at()); });
  ASSERT_TRUE(watch.poll());
  EXPECT_LE(watch.confirmed_at(), read_began);
  EXPECT_GT(watch.confirmed_at(), read_began - 30ms);
  const auto first = watch.confirmed_at();
  counter.version = 8;
  ASSERT_TRUE(watch.poll());
  ASSERT_EQ(confirmed_while_emptying.size(), 2u);
  EXPECT_EQ(confirmed_while_emptying[0], Clock::time_point{});
  EXPECT_EQ(confirmed_while_emptying[1], first);  // still the previous read's while emptying
  EXPECT_GT(watch.confirmed_at(), first);
}

TEST(ControlPlaneWatch, ItsThreadReadsEveryIntervalUntilStopped) {
  Counter counter;
  ControlPlaneWatch watch(counter.reader(), 10ms);
  std::atomic<int> emptied{0};
  watch.on_change([&] { ++emptied; });
  watch.start();
  auto deadline = Clock::now() + 5s;
  while (counter.reads < 3 && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_GE(counter.reads, 3);
  counter.version = 8;
  while (emptied < 2 && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(emptied, 2);
  watch.stop();
  const int reads = counter.reads;
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(counter.reads, reads);
  EXPECT_GT(watch.confirmed_at(), Clock::time_point{});
}

}  // namespace
}  // namespace emtiaz::gateway
