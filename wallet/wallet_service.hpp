#pragma once
// The wallet: the only writer of points. It consumes commands in partition order, applies a batch of them
// in one MySQL transaction (group commit), then updates Redis, answers each command and publishes the
// batch's ledger events from the outbox. Timers (expiry, hold time-outs, pending → available) run in the
// same thread between batches, for the partitions this wallet owns, so each member has one writer.
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.hpp"
#include "common/kafka.hpp"
#include "common/mysql.hpp"
#include "common/redis.hpp"
#include "wallet/applier.hpp"

namespace emtiaz::wallet {

// The Redis key of a member's cached state; the hash tag keeps a member on one Redis Cluster slot.
std::string redis_state_key(const std::string& tenant_id, const std::string& member_id);
// The member's balance view (views.hpp) beside the state, written in the same pipeline; same hash slot.
std::string redis_balance_key(const std::string& tenant_id, const std::string& member_id);
// How long both keys live in Redis after their last write (`EX`, seconds: a week). A member idle for longer is
// read from MySQL again, and the read leaves the view again (gateway/points_handlers.cpp).
inline constexpr const char* kMemberCacheTtlSeconds = "604800";

// The owner of a redemption (its member and partner), written to Redis by the wallet in the same MULTI as the
// member's state once the authorization is committed, so that a gateway routes the redemption's capture, void
// or refund to its member without MySQL (gateway/points_handlers.cpp). An owner never changes, so an entry is
// never stale; one that is missing (expired, Redis restarted or away at that commit) is read from MySQL.
std::string redis_redemption_owner_key(const std::string& tenant_id, const std::string& redemption_id);
// The entry's value: "member_id partner_id".
std::string redemption_owner_value(const std::string& member_id, const std::string& partner_id);
struct RedemptionOwner {
  std::string member_id;
  std::string partner_id;
};
// nullopt for a value that is not two ids.
std::optional<RedemptionOwner> parse_redemption_owner(std::string_view value);
// How long the entry lives (`EX`, seconds): until the hold expires (at most a day on) and an hour more. After the
// hold a capture or void is refused anyway, and a refund of a captured redemption, rarer, reads MySQL.
std::int64_t redemption_owner_ttl_seconds(Instant hold_expires_at, Instant now);

// Whether a command message produced at `produced_ms` (ms since the epoch, its producer's clock; negative: not
// known) is young enough that its record, if it was applied, has not been pruned yet: records are kept
// `retention_hours` (wallet.command_retention_hours), and an hour is left for the clocks to disagree.
bool within_command_retention(std::int64_t produced_ms, Instant now, std::int64_t retention_hours);

class WalletService {
 public:
  WalletService(WalletConfig config, MysqlPool& mysql, RedisPool& redis, KafkaProducer& producer);
  ~WalletService();
  void run(const std::atomic<bool>& stop);
  // Whether this wallet has joined its consumer group and owns partitions: until then commands wait.
  bool has_assignment() const { return has_assignment_.load(); }
  // Whether this applier owns partition 0, which makes its wallet the one that prunes command records.
  bool owns_partition_zero() const { return owns_partition_zero_.load(); }

 private:
  struct Pending;  // one command of a batch
  struct Unit;     // one member's work in a batch

  void process_commands(const std::vector<KafkaMessage>& msgs);
  void run_timers();
  void publish_outbox_backlog();
  void publish_watermarks(Instant at);
  // Applies `units` in one transaction; returns the replies and outbox events to send after commit.
  void commit_units(std::vector<Unit>& units, Instant now);
  void commit_units_on(sql::Connection& c, std::vector<Unit>& units, Instant now);
  // Inside the batch's transaction, after the states are read: the archived records its commands name.
  void load_archived(sql::Connection& c, std::vector<Unit>& units);
  // After the commit: the changed states to Redis (before any reply), then the ledger events to Kafka.
  void update_cache(std::vector<Unit>& units);
  // Whether update_cache writes the unit's state and balance view to Redis.
  static bool writes_cache(const Unit& u);
  // Whether the batch may leave the unit's cold lots unread, given what they hold (nullopt: not stored).
  static bool may_leave_cold_unread(const Unit& u, const std::optional<ColdSummary>& summary, Instant now);
  // Inside the batch's transaction: sets apart a member whose row cannot be read (its commands answered 500).
  void mark_unreadable(Unit& u, const std::exception& e);
  // After a failed update_cache: the keys it was to write are deleted before Redis is written again.
  void mark_dirty(const std::vector<Unit>& units, const std::string& why);
  void publish_events(std::vector<Unit>& units);
  // Takes the settled deliveries off the front of inflight_; a failed one turns into a backlog.
  void reap_deliveries();
  // Writes the delivered positions to wallet_partitions.published_seq (where a republish starts from).
  void record_published();

  WalletConfig config_;
  MysqlPool& mysql_;
  RedisPool& redis_;
  KafkaProducer& producer_;
  std::unique_ptr<KafkaConsumer> consumer_;
  std::set<std::int32_t> owned_;
  std::atomic<bool> has_assignment_{false};
  std::atomic<bool> owns_partition_zero_{false};
  std::uint64_t generation_ = 0;
  // Redis keys whose update failed: deleted before the next batch so that no stale state outlives an outage.
  std::set<std::string> dirty_keys_;
  void clean_dirty_keys();
  // Ledger events produced and not yet acknowledged, oldest first, with the last sequence per partition.
  struct InFlight {
    std::shared_ptr<KafkaDelivery> delivery;
    std::map<std::int32_t, std::int64_t> last;
  };
  static constexpr size_t kMaxInflightBatches = 1024;
  std::deque<InFlight> inflight_;
  std::map<std::int32_t, std::int64_t> delivered_;  // acknowledged, not yet in wallet_partitions.published_seq
  // Members whose row could not be read, and when that was last logged (mark_unreadable).
  std::map<std::pair<std::string, std::string>, std::chrono::steady_clock::time_point> unreadable_logged_;
  bool backlog_ = true;  // the outbox may hold events not yet published (start-up, failed publish)
  std::uint64_t cluster_changes_ = 0;  // the consumer's count last acted on
  bool outbox_reset_pending_ = false;  // the broker changed: the outbox position is to be wound back
};

}  // namespace emtiaz::wallet
