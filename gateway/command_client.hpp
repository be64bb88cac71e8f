#pragma once
// Sends a points-moving command to the wallet over Kafka and waits for its reply (request/reply over the
// commands and replies topics). Many requests wait at once; a reader thread hands each reply to its waiter.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common/config.hpp"
#include "common/kafka.hpp"
#include "wallet/command.hpp"

namespace emtiaz::gateway {

class CommandClient {
 public:
  CommandClient(KafkaConfig config, KafkaProducer& producer);
  ~CommandClient();

  const std::string& instance_id() const { return instance_id_; }
  std::int32_t reply_partition() const { return reply_partition_; }

  // Sends `cmd` (gateway and reply_partition are filled in) and waits up to `timeout` for the wallet's
  // answer. nullopt: the outcome is unknown (the caller answers 503 outcome_unknown; a retry with the same
  // Idempotency-Key gets the one true outcome).
  std::optional<wallet::Reply> call(wallet::Command cmd, std::chrono::milliseconds timeout);

 private:
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<wallet::Reply> reply;
  };
  void read_replies();

  KafkaConfig config_;
  KafkaProducer& producer_;
  std::string instance_id_;
  std::int32_t reply_partition_;
  std::mutex mu_;
  std::multimap<std::string, std::shared_ptr<Waiter>> waiters_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::thread reader_;
};

}  // namespace emtiaz::gateway
