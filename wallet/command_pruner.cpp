#include "wallet/command_pruner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <thread>

#include "common/metrics.hpp"
#include "common/sql_util.hpp"
#include "common/time.hpp"

namespace emtiaz::wallet {

std::chrono::milliseconds next_prune_after(const PrunePacing& pacing, std::int64_t deleted,
                                           std::chrono::steady_clock::duration took) {
  if (deleted < pacing.chunk) return pacing.idle_interval;
  const auto busy = std::chrono::duration_cast<std::chrono::milliseconds>(took * (pacing.duty_divisor - 1));
  return std::max(pacing.backlog_pause, busy);
}

CommandPruner::CommandPruner(MysqlPool& mysql, std::int64_t retention_hours, PrunePacing pacing)
    : mysql_(mysql), retention_hours_(retention_hours), pacing_(pacing) {}

std::int64_t CommandPruner::prune_once() {
  const auto cutoff = sql_time(now_utc() - std::chrono::hours(retention_hours_));
  std::int64_t pruned = 0;
  try {
    // Autocommit, one chunk: its locks are held for one statement. It reads the rows through
    // wallet_commands_created, so it locks those index entries and their rows only: the appliers' inserts, all
    // newer than the cutoff and at the far end of that index, never wait for it.
    pruned = mysql_.run([&](sql::Connection& c) {
      auto st = prepare(c, "DELETE FROM wallet_commands WHERE created_at < ? ORDER BY created_at LIMIT " +
                               std::to_string(pacing_.chunk));
      st->setString(1, cutoff);
      return static_cast<std::int64_t>(st->executeUpdate());
    });
  } catch (const std::exception& e) {
    spdlog::warn("pruning command records failed: {}", e.what());
    return 0;
  }
  if (pruned > 0) {
    Metrics::global().add("emtiaz_wallet_commands_pruned_total", static_cast<double>(pruned));
    spdlog::debug("pruned {} command records older than {} h", pruned, retention_hours_);
  }
  return pruned;
}

void CommandPruner::run(const std::atomic<bool>& stop, const std::function<bool()>& prunes) {
  auto next = std::chrono::steady_clock::now();
  while (!stop) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next) {
      if (prunes()) {
        const auto deleted = prune_once();
        const auto done = std::chrono::steady_clock::now();
        Metrics::global().add("emtiaz_wallet_prune_seconds_total", std::chrono::duration<double>(done - now).count());
        next = done + next_prune_after(pacing_, deleted, done - now);
      } else {
        next = now + std::chrono::seconds(1);  // not this wallet's job (yet): look again soon after a rebalance
      }
    }
    // Short sleeps, so that a stop is seen within 100 ms.
    const auto wait = next - std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::clamp<std::chrono::steady_clock::duration>(
        wait, std::chrono::milliseconds(1), std::chrono::milliseconds(100)));
  }
}

}  // namespace emtiaz::wallet
