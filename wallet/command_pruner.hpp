#pragma once
// Deletes the records of applied commands (`wallet_commands`) once they are older than the retention
// (wallet.command_retention_hours), on a thread and a MySQL connection of its own, so that no batch ever waits
// for it. Exactly one wallet of the consumer group prunes: the one whose applier owns partition 0 (`prunes`);
// during a rebalance two may prune at once, which costs nothing but a lock wait (a row is deleted once).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "common/mysql.hpp"

namespace emtiaz::wallet {

// How the pruner paces itself: one statement of at most `chunk` rows, oldest first; after a full chunk (a
// backlog) the next one `duty_divisor - 1` times the statement's duration later (at least `backlog_pause`),
// so that pruning keeps one MySQL connection busy at most 1/duty_divisor of the time; after a short one (caught
// up) the next look `idle_interval` later.
struct PrunePacing {
  int chunk = 500;
  int duty_divisor = 4;
  std::chrono::milliseconds backlog_pause{20};
  std::chrono::milliseconds idle_interval{10'000};
};

// When the next statement runs, `took` after the previous one that deleted `deleted` of `pacing.chunk` rows.
std::chrono::milliseconds next_prune_after(const PrunePacing& pacing, std::int64_t deleted,
                                           std::chrono::steady_clock::duration took);

class CommandPruner {
 public:
  CommandPruner(MysqlPool& mysql, std::int64_t retention_hours, PrunePacing pacing = {});
  // Prunes until `stop`, while `prunes()` says this wallet is the one that does.
  void run(const std::atomic<bool>& stop, const std::function<bool()>& prunes);
  // One statement: deletes up to pacing.chunk records older than the retention; returns how many it deleted
  // (0 when MySQL failed: logged, and tried again after the idle interval).
  std::int64_t prune_once();

 private:
  MysqlPool& mysql_;
  std::int64_t retention_hours_;
  PrunePacing pacing_;
};

}  // namespace emtiaz::wallet
