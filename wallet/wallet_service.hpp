#pragma once
// The wallet: the only writer of points. It consumes commands in partition order, applies a batch of them
// in one MySQL transaction (group commit), then updates Redis, answers each command and publishes the
// batch's ledger events from the outbox. Timers (expiry, hold time-outs, pending → available) run in the
// same thread between batches, for the partitions this wallet owns, so each member has one writer.
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/kafka.hpp"
#include "common/mysql.hpp"
#include "common/redis.hpp"
#include "wallet/applier.hpp"

namespace emtiaz::wallet {

// The Redis key of a member's cached state; the hash tag keeps a member on one Redis Cluster slot.
std::string redis_state_key(const std::string& tenant_id, const std::string& member_id);

class WalletService {
 public:
  WalletService(WalletConfig config, MysqlPool& mysql, RedisPool& redis, KafkaProducer& producer);
  ~WalletService();
  void run(const std::atomic<bool>& stop);
  // Whether this wallet has joined its consumer group and owns partitions: until then commands wait.
  bool has_assignment() const { return has_assignment_.load(); }

 private:
  struct Pending;  // one command of a batch
  struct Unit;     // one member's work in a batch

  void process_commands(const std::vector<KafkaMessage>& msgs);
  void run_timers();
  void publish_outbox_backlog();
  void publish_watermarks(Instant at);
  // Applies `units` in one transaction; returns the replies and outbox events to send after commit.
  bool commit_units(std::vector<Unit>& units, Instant now);
  void after_commit(std::vector<Unit>& units);

  WalletConfig config_;
  MysqlPool& mysql_;
  RedisPool& redis_;
  KafkaProducer& producer_;
  std::unique_ptr<KafkaConsumer> consumer_;
  std::set<std::int32_t> owned_;
  std::atomic<bool> has_assignment_{false};
  std::uint64_t generation_ = 0;
  // Redis keys whose update failed: deleted before the next batch so that no stale state outlives an outage.
  std::set<std::string> dirty_keys_;
  void clean_dirty_keys();
  bool backlog_ = true;  // the outbox may hold events not yet published (start-up, failed publish)
  std::string bootstrap_;
};

}  // namespace emtiaz::wallet
