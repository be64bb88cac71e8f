#pragma once
// Kafka through librdkafka's C API. Kafka is transport, not record: these wrappers give bounded waits,
// re-read the bootstrap file (the local broker comes back on new ports after a restart) and rebuild
// their handles when it changes. Exactly once is the application's job (command ids and applied
// positions in MySQL), never Kafka transactions.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/config.hpp"

namespace emtiaz {

struct KafkaMessage {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string key;
  std::string value;
  std::int64_t timestamp_ms = -1;  // the message's timestamp (ms since the epoch; its producer's clock), -1: none
};

struct KafkaOutMessage {
  std::string topic;
  std::int32_t partition = -1;  // -1: librdkafka's partitioner on the key
  std::string key;
  std::string value;
};

// The one partitioning function shared by every producer, so that a member's commands and events always
// land on the same partition number (and a wallet owns them all).
std::int32_t partition_for(std::string_view key, int partitions);

// Reads the bootstrap list from the configuration or from the bootstrap file.
std::string kafka_bootstrap(const KafkaConfig& config);

// The delivery of a set of messages produced without waiting (KafkaProducer::produce_async): settled once
// every message is acknowledged by the broker or has failed. Shared with librdkafka's delivery callbacks.
class KafkaDelivery {
 public:
  bool settled() const;
  // Settled and every message acknowledged.
  bool delivered() const;
  // Waits until settled (at most `timeout`); true when every message was acknowledged.
  bool wait(std::chrono::milliseconds timeout) const;

 private:
  friend class KafkaProducer;
  friend struct KafkaDeliveryAccess;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  size_t remaining_ = 0;
  size_t failed_ = 0;
};

class KafkaProducer {
 public:
  // linger_ms: how long librdkafka holds a first message for more to the same partition before sending
  // (librdkafka's linger.ms). 0 sends at once; the wallet passes a fraction of a millisecond so that a
  // batch's replies and ledger events, produced in a tight loop, leave as one message set per partition.
  //
  // reports: which deliveries librdkafka reports back (delivery.report.only.error). Each report is an event
  // that wakes this producer's poller thread; a producer that only fires and forgets (the gateway's commands:
  // a lost command is a timeout and a retry) needs only the failures, which are counted. produce_async needs
  // every report and refuses a producer made with failures_only.
  enum class Reports { every_delivery, failures_only };
  KafkaProducer(KafkaConfig config, std::string client_id, double linger_ms = 0,
                Reports reports = Reports::every_delivery);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Fire and forget (delivery is retried by librdkafka; failures are only counted).
  bool produce(const KafkaOutMessage& msg);
  // Produces every message without waiting; the result says when they are all acknowledged (or failed).
  // Order within a partition is kept (idempotent producer).
  std::shared_ptr<KafkaDelivery> produce_async(const std::vector<KafkaOutMessage>& msgs);
  // Produces every message and waits until each is acknowledged or failed; true when all were delivered.
  bool produce_and_wait(const std::vector<KafkaOutMessage>& msgs, std::chrono::milliseconds timeout);
  // A metadata round trip to the broker within `timeout`.
  bool ready(std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
  const KafkaConfig& config() const { return config_; }

 private:
  struct Handle;
  std::shared_ptr<Handle> handle();
  void maintain();

  KafkaConfig config_;
  std::string client_id_;
  double linger_ms_;
  Reports reports_;
  std::mutex mu_;
  std::shared_ptr<Handle> handle_;
  std::string bootstrap_;
  std::atomic<bool> stop_{false};
  std::thread maintainer_;
};

class KafkaConsumer {
 public:
  enum class Mode { group, assign_all_from_end };
  // group: subscribes `topics` in consumer group `group_id` with manual commits.
  // assign_all_from_end: reads the partitions of `topics` from the end, outside any group (replies): those in
  // `partitions`, or every one when it is empty. A gateway reads only its own reply partition: fetching the
  // other fifteen cost the (single-threaded) local broker more than the replies themselves.
  // fetch_wait_ms: how long the broker may hold an empty fetch. 1 ms keeps a hop's latency low on the
  // local broker (librdkafka's mock answers an empty fetch only after this wait) at the cost of ~1,000
  // empty fetches a second; a consumer for which latency matters less passes more.
  KafkaConsumer(KafkaConfig config, std::string group_id, std::vector<std::string> topics, Mode mode,
                int fetch_wait_ms = 1, std::vector<std::int32_t> partitions = {});
  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // Returns up to `max` messages, waiting at most `wait` for the first. Rebuilds the handle first when the
  // bootstrap list changed. Not thread-safe: one owner thread.
  std::vector<KafkaMessage> poll(size_t max, std::chrono::milliseconds wait);
  // Commits, for each partition, the offset after the last message given (asynchronously).
  bool commit(const std::vector<KafkaMessage>& processed);
  // Partitions currently assigned to this member of the group (assign_all_from_end: the partitions, once the
  // end of each is known and assigned), and a counter that moves on every rebalance.
  std::vector<std::int32_t> assignment() const;
  std::uint64_t generation() const { return generation_.load(); }
  // How many times the bootstrap list changed under this consumer (it then rebuilt its handle on the new
  // cluster, which knows none of the old one's messages).
  std::uint64_t cluster_changes() const { return cluster_changes_; }

 private:
  void build();
  // assign_all_from_end: looks up the end of every partition (waiting at most `timeout`) and assigns there.
  bool position_at_end(std::chrono::milliseconds timeout);
  void destroy(bool leave_group);
  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque);

  KafkaConfig config_;
  std::string group_id_;
  std::vector<std::string> topics_;
  Mode mode_;
  int fetch_wait_ms_;
  std::vector<std::int32_t> partitions_;
  rd_kafka_t* rk_ = nullptr;
  bool unpositioned_ = false;  // assign_all_from_end: the handle exists, its partitions are not assigned yet
  std::string bootstrap_;
  std::chrono::steady_clock::time_point last_check_{};
  mutable std::mutex assignment_mu_;
  std::vector<std::int32_t> assignment_;
  std::atomic<std::uint64_t> generation_{0};
  std::uint64_t cluster_changes_ = 0;
};

}  // namespace emtiaz
