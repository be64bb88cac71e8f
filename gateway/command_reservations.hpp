#pragma once
// The fast path of idempotency for points-moving requests, in Redis. The wallet's record in MySQL (the
// command id with its body hash and exact response) is the arbiter of exactly once; this reservation only
// answers `409 idempotency_key_in_use` / `idempotency_key_reused` early and replays stored responses without
// a trip to the wallet. Losing Redis costs no correctness: the request then goes to the wallet, which
// replays or refuses it from its record.
//
// An in-flight reservation names its owner, this gateway process, which keeps a liveness key alive in Redis
// while it runs. A retry that finds a reservation whose owner is no longer alive (the gateway was killed
// while the request waited for the wallet) takes the reservation over at once instead of answering
// `in_use` until the reservation's TTL runs out: no request can be waiting on a dead process, and sending
// the command again is safe because the wallet answers a command id it has already applied from its record
// (a duplicate in the same batch included). A live owner that merely looks dead (a missed heartbeat) costs
// the same: one more command that the wallet answers from its record.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/redis.hpp"
#include "gateway/idempotency.hpp"

namespace emtiaz::gateway {

class CommandReservations {
 public:
  // in_flight_ttl bounds a reservation whose owner is alive but never completed or released it.
  CommandReservations(RedisPool& redis, std::chrono::milliseconds in_flight_ttl);
  ~CommandReservations();
  CommandReservations(const CommandReservations&) = delete;
  CommandReservations& operator=(const CommandReservations&) = delete;

  // proceed (reserved, taken over from a dead owner, or Redis is away), replay, reused or in_use.
  IdempotencyDecision begin(const std::string& scope, const std::string& key, const std::string& fingerprint);
  // What reserving (scope, key) for this process writes, if nobody holds it: `SET key value NX PX ttl`. A
  // status reply means reserved, nil means held already (then begin() decides). For a client that does not
  // block (common/async_redis.hpp); begin() sends the same command first.
  struct Reservation {
    std::string key;     // the Redis key (key_of)
    std::string value;   // in flight, owned by this process, with the request's fingerprint
    std::string ttl_ms;  // in_flight_ttl
    std::vector<std::string> set_nx() const { return {"SET", key, value, "NX", "PX", ttl_ms}; }
  };
  Reservation reservation(const std::string& scope, const std::string& key, const std::string& fingerprint) const;
  // Stores the outcome for replay (the wallet does this itself for the commands it sends a reply for, in the
  // same Redis transaction as the member's state: wallet::Command::reservation).
  void complete(const std::string& scope, const std::string& key, const std::string& fingerprint, int status,
                const std::string& body);
  // The Redis key of (scope, key)'s reservation: what a command names for the wallet to complete.
  std::string key_of(const std::string& scope, const std::string& key) const;
  // Drops the reservation if it is still this process's in-flight one (never a stored response, never a
  // reservation another gateway took over).
  void release(const std::string& scope, const std::string& key);

  const std::string& owner() const { return owner_; }

  // The liveness key of a gateway process lives this long without a refresh; it is refreshed every
  // kHeartbeatInterval. A killed gateway's reservations are therefore taken over within kOwnerLivenessTtl.
  static constexpr std::chrono::milliseconds kOwnerLivenessTtl{2000};
  static constexpr std::chrono::milliseconds kHeartbeatInterval{500};

 private:
  void heartbeat();

  RedisPool& redis_;
  std::chrono::milliseconds in_flight_ttl_;
  std::string owner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread heartbeat_thread_;
};

}  // namespace emtiaz::gateway
