#pragma once
// The fast path of idempotency for points-moving requests, in Redis. The wallet's record in MySQL (the
// command id with its body hash and exact response) is the arbiter of exactly once; this reservation only
// answers `409 idempotency_key_in_use` / `idempotency_key_reused` early and replays stored responses without
// a trip to the wallet. Losing Redis costs no correctness: the request then goes to the wallet, which
// replays or refuses it from its record.
#include <chrono>
#include <string>

#include "common/redis.hpp"
#include "gateway/idempotency.hpp"

namespace emtiaz::gateway {

class CommandReservations {
 public:
  CommandReservations(RedisPool& redis, std::chrono::milliseconds in_flight_ttl)
      : redis_(redis), in_flight_ttl_(in_flight_ttl) {}

  // proceed (reserved, or Redis is away), replay, reused or in_use.
  IdempotencyDecision begin(const std::string& scope, const std::string& key, const std::string& fingerprint);
  void complete(const std::string& scope, const std::string& key, const std::string& fingerprint, int status,
                const std::string& body);
  void release(const std::string& scope, const std::string& key);

 private:
  RedisPool& redis_;
  std::chrono::milliseconds in_flight_ttl_;
};

}  // namespace emtiaz::gateway
