#pragma once
// Sends a points-moving command to the wallet over Kafka and hands its reply to a callback (request/reply over
// the commands and replies topics). Many commands wait at once, and none holds a thread while it waits: a
// reader thread takes each reply to its waiter's callback and answers the waiters whose deadline has passed.
// How many commands may wait at once is bounded (a Slot each), so that a wallet that is down or slow makes the
// gateway refuse new points-moving requests at once instead of taking on ever more.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/config.hpp"
#include "common/kafka.hpp"
#include "wallet/command.hpp"

namespace emtiaz::gateway {

class CommandClient {
 public:
  // The wallet's reply, or nullopt: the outcome is unknown (the caller answers 503 outcome_unknown; a retry
  // with the same Idempotency-Key gets the one true outcome).
  using ReplyCallback = std::function<void(std::optional<wallet::Reply>)>;

  // A place for one command among the in_flight_max that may wait for the wallet at once. Taken before a
  // request has any effect, so that a request refused for want of one has done nothing. Given to call_async it
  // is freed once the command is answered; otherwise when it is destroyed.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : client_(std::exchange(other.client_, nullptr)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    friend class CommandClient;
    explicit Slot(CommandClient* client) : client_(client) {}
    CommandClient* client_;
  };

  CommandClient(KafkaConfig config, KafkaProducer& producer, size_t in_flight_max);
  // Answers every command still waiting with nullopt (on the destroying thread), after the reader has ended.
  ~CommandClient();
  CommandClient(const CommandClient&) = delete;
  CommandClient& operator=(const CommandClient&) = delete;

  const std::string& instance_id() const { return instance_id_; }
  std::int32_t reply_partition() const { return reply_partition_; }

  // True once the reader reads this gateway's reply partition from a position taken before any command is
  // sent: a command sent earlier could have its reply written before that position and never be answered
  // (503 outcome_unknown after the timeout). Until then commands are refused and /v1/ready says not ready.
  bool replies_ready() const { return replies_ready_.load(); }

  // A slot, or nullopt when in_flight_max commands are waiting already (the caller answers 503 not_ready with
  // Retry-After, having done nothing).
  std::optional<Slot> try_slot();

  // Sends `cmd` (gateway and reply_partition are filled in) and returns at once. `done` is called exactly
  // once: with the wallet's reply, or with nullopt when none came within `timeout` (give or take
  // kReplyPollWait) or the command could not be produced. It runs on the reader thread (on the destroying
  // thread for what the destructor answers), never inside call_async (so a caller on an I/O thread, inside a
  // NoBlockingScope, is never re-entered), and outside any lock of this class; every other reply waits while
  // it runs, so it must be short. An exception it throws is logged and swallowed. `slot` is held until
  // `done` has returned.
  void call_async(Slot slot, wallet::Command cmd, std::chrono::milliseconds timeout, ReplyCallback done);

  // How long the reader waits for replies before it looks at the deadlines again: how late past its
  // timeout a command's nullopt may come.
  static constexpr std::chrono::milliseconds kReplyPollWait{25};

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiter {
    std::string command_id;
    Clock::time_point started;
    Clock::time_point deadline;
    ReplyCallback done;
    Slot slot;  // freed with the waiter, once it has been answered
  };
  // A waiter taken out of the tables, to be answered outside the lock.
  struct Completion {
    Waiter waiter;
    std::optional<wallet::Reply> reply;
  };

  void read_replies();
  // Takes waiter `ticket` out of the three tables (mu_ held).
  Waiter take(std::uint64_t ticket);
  static void complete(Completion c);

  KafkaConfig config_;
  KafkaProducer& producer_;
  std::string instance_id_;
  std::int32_t reply_partition_;
  const size_t in_flight_max_;
  std::atomic<size_t> in_flight_{0};  // slots taken
  std::mutex mu_;
  std::uint64_t next_ticket_ = 0;                                   // guarded by mu_
  std::map<std::uint64_t, Waiter> waiters_;                          // by ticket; guarded by mu_
  std::unordered_multimap<std::string, std::uint64_t> by_command_;   // command id -> tickets; guarded by mu_
  std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines_;  // (deadline, ticket); guarded by mu_
  std::atomic<bool> stop_{false};
  std::atomic<bool> replies_ready_{false};
  std::thread reader_;
};

}  // namespace emtiaz::gateway
