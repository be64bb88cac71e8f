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

// What both pruners share: the retention, the pacing, and the loop that runs one pass after another.
class RetentionPruner {
 public:
  RetentionPruner(MysqlPool& mysql, std::int64_t retention_hours, PrunePacing pacing, std::string seconds_metric);
  virtual ~RetentionPruner() = default;
  RetentionPruner(const RetentionPruner&) = delete;
  RetentionPruner& operator=(const RetentionPruner&) = delete;
  // Prunes until `stop`, while `prunes()` says this wallet is the one that does; the time the passes take is added
  // to the metric named at construction.
  void run(const std::atomic<bool>& stop, const std::function<bool()>& prunes);
  // One pass; returns the most rows one of its statements deleted (0 when MySQL failed: logged, and tried again
  // after the idle interval).
  virtual std::int64_t prune_once() = 0;

 protected:
  MysqlPool& mysql_;
  std::int64_t retention_hours_;
  PrunePacing pacing_;

 private:
  std::string seconds_metric_;
};

// `wallet_commands`: one statement deleting up to pacing.chunk records older than the retention, oldest first.
class CommandPruner : public RetentionPruner {
 public:
  CommandPruner(MysqlPool& mysql, std::int64_t retention_hours, PrunePacing pacing = {});
  std::int64_t prune_once() override;
};

// `outbox`: for each partition, up to pacing.chunk of its oldest events that are older than the retention and at or
// below both positions.
class OutboxPruner : public RetentionPruner {
 public:
  OutboxPruner(MysqlPool& mysql, std::int64_t retention_hours, PrunePacing pacing = {});
  std::int64_t prune_once() override;
};

}  // namespace emtiaz::wallet
