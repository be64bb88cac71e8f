#pragma once
// The clearing consumer (architecture.md, "Exactly once" and "Time"): reads the wallet's ledger events and
// watermarks from `emtiaz.ledger` in consumer group `emtiaz-clearing` and, in one MySQL transaction per poll
// batch, stores each event's entries in clearing_events and advances clearing_positions(part, applied_seq,
// watermark_us). An event whose (part, seq) is at or below applied_seq is a redelivery and is skipped; a
// sequence gap (a message lost in transit) is filled from the wallet's outbox in the same database. A
// watermark moves clearing's watermark only once every event up to its seq is applied. Kafka offsets are
// committed after the MySQL commit.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <cppconn/connection.h>

#include "common/config.hpp"
#include "common/kafka.hpp"
#include "common/mysql.hpp"

namespace emtiaz::clearing {

struct Position {
  std::int64_t applied_seq = 0;
  std::int64_t watermark_us = 0;
};

// Applies `payloads` (ledger-topic message values, in partition order) inside the caller's transaction
// `c`. Returns the number of ledger events newly applied. Malformed messages are logged and skipped.
std::int64_t apply_ledger_messages(sql::Connection& c, const std::vector<std::string>& payloads);

class ClearingConsumer {
 public:
  ClearingConsumer(KafkaConfig kafka, MysqlPool& mysql);
  ~ClearingConsumer();
  // Polls and applies until `stop`; never throws (storage failures are retried with the same batch).
  void run(const std::atomic<bool>& stop);

 private:
  KafkaConfig kafka_;
  MysqlPool& mysql_;
  std::unique_ptr<KafkaConsumer> consumer_;
};

}  // namespace emtiaz::clearing
