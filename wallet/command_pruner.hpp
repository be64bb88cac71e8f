#pragma once
// Deletes what the wallet keeps only for a while, each on a thread and a MySQL connection of its own, so that no
// batch ever waits for it:
//   - the records of applied commands (`wallet_commands`) once they are older than wallet.command_retention_hours;
//   - the outbox's ledger events (`outbox`) once they are older than wallet.outbox_retention_hours and no longer
//     needed: published (`wallet_partitions.published_seq`) and applied by clearing
//     (`clearing_positions.applied_seq`), the two readers that go back to the outbox (a republish after the
//     broker lost its data, and clearing filling a hole) start past both. The ledger itself is
//     `ledger_entries`, kept for ever; the outbox is how it travels.
// Exactly one wallet of the consumer group prunes: the one whose applier owns partition 0 (`prunes`); during a
// rebalance two may prune at once, which costs nothing but a lock wait (a row is deleted once).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

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

// Runs `prune_once` (it returns the most rows one of its statements deleted) until `stop`, paced by `pacing`,
// while `prunes()` says this wallet is the one that does; the time it takes is added to `seconds_metric`.
void run_pruning(const std::atomic<bool>& stop, const std::function<bool()>& prunes, const PrunePacing& pacing,
                 const std::function<std::int64_t()>& prune_once, const std::string& seconds_metric);

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

class OutboxPruner {
 public:
  OutboxPruner(MysqlPool& mysql, std::int64_t retention_hours, PrunePacing pacing = {});
  void run(const std::atomic<bool>& stop, const std::function<bool()>& prunes);
  // One pass: for each partition, deletes up to pacing.chunk of its oldest events that are older than the
  // retention and at or below both positions; returns the most one partition's statement deleted (0 when
  // MySQL failed: logged, and tried again after the idle interval).
  std::int64_t prune_once();

 private:
  MysqlPool& mysql_;
  std::int64_t retention_hours_;
  PrunePacing pacing_;
};

}  // namespace emtiaz::wallet
