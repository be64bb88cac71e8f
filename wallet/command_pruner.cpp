#include "wallet/command_pruner.hpp"

#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

RetentionPruner::RetentionPruner(MysqlPool& mysql, std::int64_t retention_hours, PrunePacing pacing,
                                 std::string seconds_metric)
    : mysql_(mysql), retention_hours_(retention_hours), pacing_(pacing), seconds_metric_(std::move(seconds_metric)) {}

CommandPruner::CommandPruner(MysqlPool& mysql, std::int64_t retention_hours, PrunePacing pacing)
    : RetentionPruner(mysql, retention_hours, pacing, "emtiaz_wallet_prune_seconds_total") {}

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

OutboxPruner::OutboxPruner(MysqlPool& mysql, std::int64_t retention_hours, PrunePacing pacing)
    : RetentionPruner(mysql, retention_hours, pacing, "emtiaz_wallet_outbox_prune_seconds_total") {}

std::int64_t OutboxPruner::prune_once() {
  const auto cutoff = sql_time(now_utc() - std::chrono::hours(retention_hours_));
  std::int64_t most = 0, pruned = 0;
  try {
    mysql_.run([&](sql::Connection& c) {
      // Each partition's bound: the last sequence both published and applied by clearing. A partition clearing
      // has no position for has applied nothing yet, and keeps everything.
      std::vector<std::pair<std::int32_t, std::int64_t>> bounds;
      {
        std::unique_ptr<sql::Statement> st(c.createStatement());
        std::unique_ptr<sql::ResultSet> rs(st->executeQuery(
            "SELECT w.part, LEAST(w.published_seq, COALESCE(c.applied_seq, 0)) FROM wallet_partitions w "
            "LEFT JOIN clearing_positions c ON c.part = w.part"));
        while (rs->next()) bounds.emplace_back(rs->getInt(1), rs->getInt64(2));
      }
      // Per partition: the newest of its oldest events (up to one chunk) that is past the retention, then every
      // event up to it deleted as one range of the primary key (part, seq), autocommit. The appliers insert at the
      // partition's far end, above the bound, and never wait for it. A partition's events are in commit order, so
      // the old ones come first (a clock stepped back could only let a younger event that is published and
      // applied go early); a DELETE filtered on created_at would scan every younger event below the bound.
      // A partition whose first event is not yet past the retention (most of them, most of the time, once caught
      // up) is passed over after one row read, not one chunk.
      auto first = prepare(c, "SELECT created_at < ? FROM outbox WHERE part = ? AND seq <= ? ORDER BY seq LIMIT 1");
      auto oldest = prepare(c,
                            "SELECT MAX(seq) FROM (SELECT seq, created_at FROM outbox WHERE part = ? AND seq <= ? "
                            "ORDER BY seq LIMIT " + std::to_string(pacing_.chunk) + ") t WHERE created_at < ?");
      auto del = prepare(c, "DELETE FROM outbox WHERE part = ? AND seq <= ?");
      for (const auto& [part, bound] : bounds) {
        if (bound <= 0) continue;
        first->setString(1, cutoff);
        first->setInt(2, part);
        first->setInt64(3, bound);
        {
          std::unique_ptr<sql::ResultSet> rs(first->executeQuery());
          if (!rs->next() || rs->getInt(1) != 1) continue;
        }
        oldest->setInt(1, part);
        oldest->setInt64(2, bound);
        oldest->setString(3, cutoff);
        std::int64_t last = 0;
        {
          std::unique_ptr<sql::ResultSet> rs(oldest->executeQuery());
          if (rs->next() && !rs->isNull(1)) last = rs->getInt64(1);
        }
        if (last == 0) continue;
        del->setInt(1, part);
        del->setInt64(2, last);
        const auto deleted = static_cast<std::int64_t>(del->executeUpdate());
        pruned += deleted;
        most = std::max(most, deleted);
      }
      return 0;
    });
  } catch (const std::exception& e) {
    spdlog::warn("pruning the outbox failed: {}", e.what());
    most = 0;
  }
  if (pruned > 0) {
    Metrics::global().add("emtiaz_wallet_outbox_pruned_total", static_cast<double>(pruned));
    spdlog::debug("pruned {} outbox events older than {} h", pruned, retention_hours_);
  }
  return most;
}

void RetentionPruner::run(const std::atomic<bool>& stop, const std::function<bool()>& prunes) {
  auto next = std::chrono::steady_clock::now();
  while (!stop) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next) {
      if (prunes()) {
        const auto deleted = prune_once();
        const auto done = std::chrono::steady_clock::now();
        Metrics::global().add(seconds_metric_, std::chrono::duration<double>(done - now).count());
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
