// Which command messages the wallet still applies once command records are pruned after
// wallet.command_retention_hours: a message younger than the retention less an hour (the producing gateway's
// clock may be ahead of or behind the wallet's), or one without a timestamp. The boundaries are this test's own
// arithmetic on a fixed instant.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "wallet/command_pruner.hpp"
#include "wallet/wallet_service.hpp"

namespace emtiaz::wallet {
namespace {

// 2026-12-01T00:00:00Z in milliseconds since the epoch.
constexpr std::int64_t kNowMs = 1'796'083'200'000;
constexpr std::int64_t kHourMs = 3'600'000;

Instant now() { return Instant{std::chrono::milliseconds{kNowMs}}; }

TEST(CommandRetention, AppliesWhatIsYoungerThanTheRetentionLessAnHour) {
  // A week's retention: records younger than 168 h exist, so messages up to 167 h old are applied.
  EXPECT_TRUE(within_command_retention(kNowMs, now(), 168));
  EXPECT_TRUE(within_command_retention(kNowMs - 5 * 60'000, now(), 168));  // a usual redelivery: minutes old
  EXPECT_TRUE(within_command_retention(kNowMs - 167 * kHourMs, now(), 168));
  EXPECT_FALSE(within_command_retention(kNowMs - 167 * kHourMs - 1, now(), 168));
  EXPECT_FALSE(within_command_retention(kNowMs - 200 * kHourMs, now(), 168));
  EXPECT_FALSE(within_command_retention(0, now(), 168));
}

TEST(CommandRetention, TheShortestRetentionStillCoversTheContractsDay) {
  // 25 h is the least wallet.command_retention_hours accepts: a day-old message is still applied.
  EXPECT_TRUE(within_command_retention(kNowMs - 24 * kHourMs, now(), 25));
  EXPECT_FALSE(within_command_retention(kNowMs - 24 * kHourMs - 1, now(), 25));
}

TEST(CommandRetention, AMessageWithoutATimestampOrFromAClockAheadIsApplied) {
  EXPECT_TRUE(within_command_retention(-1, now(), 168));
  EXPECT_TRUE(within_command_retention(kNowMs + 2 * kHourMs, now(), 168));
}

// The pruner's pacing: a full chunk means a backlog, and the next statement follows after three times as long as
// this one took (a quarter of its connection's time at most), never sooner than the backlog pause; a short chunk
// means caught up, and the next look is the idle interval later.
TEST(PrunePacing, AFullChunkIsFollowedAfterThreeTimesItsDuration) {
  PrunePacing p;  // 500 rows, a quarter, 20 ms, 10 s
  using std::chrono::milliseconds;
  EXPECT_EQ(next_prune_after(p, 500, milliseconds(40)), milliseconds(120));
  EXPECT_EQ(next_prune_after(p, 500, milliseconds(300)), milliseconds(900));
  EXPECT_EQ(next_prune_after(p, 500, milliseconds(2)), milliseconds(20));  // never sooner than the pause
}

TEST(PrunePacing, AShortChunkWaitsTheIdleInterval) {
  PrunePacing p;
  using std::chrono::milliseconds;
  EXPECT_EQ(next_prune_after(p, 499, milliseconds(40)), milliseconds(10'000));
  EXPECT_EQ(next_prune_after(p, 0, milliseconds(1)), milliseconds(10'000));
  PrunePacing half{100, 2, milliseconds(5), milliseconds(1'000)};
  EXPECT_EQ(next_prune_after(half, 100, milliseconds(30)), milliseconds(30));
  EXPECT_EQ(next_prune_after(half, 99, milliseconds(30)), milliseconds(1'000));
}

}  // namespace
}  // namespace emtiaz::wallet
