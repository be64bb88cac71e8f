#include "gateway/command_reservations.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/crypto.hpp"
#include "common/metrics.hpp"
#include "wallet/command.hpp"

namespace emtiaz::gateway {
namespace {

// Keys are hashed: an Idempotency-Key is the partner's text, and the hash tag keeps one principal's keys
// together on a Redis Cluster slot.
std::string redis_key(const std::string& scope, const std::string& key) {
  return fmt::format("{}{{{}}}:{}", wallet::kReservationKeyPrefix, scope, sha256_hex(key));
}

std::string liveness_key(const std::string& owner) { return fmt::format("emtiaz:gw:{{{}}}:alive", owner); }

// Replaces KEYS[1] only if it still holds exactly ARGV[1] (the dead owner's reservation): of two retries
// that race to take one reservation over, one wins and the other sees the winner's live reservation.
constexpr const char* kTakeOver =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";

// Deletes KEYS[1] only while it is an in-flight reservation of ARGV[1].
constexpr const char* kReleaseOwn =
    "local v = redis.call('GET', KEYS[1]) if not v then return 0 end "
    "local ok, j = pcall(cjson.decode, v) "
    "if ok and type(j) == 'table' and j['state'] == 'in_flight' and j['owner'] == ARGV[1] then "
    "redis.call('DEL', KEYS[1]) return 1 end return 0";

}  // namespace

CommandReservations::CommandReservations(RedisPool& redis, std::chrono::milliseconds in_flight_ttl)
    : redis_(redis), in_flight_ttl_(in_flight_ttl), owner_(random_token("gwr_", 12)) {
  // The first heartbeat before any reservation is made, so that no other gateway sees this one as dead.
  try {
    redis_.command({"SET", liveness_key(owner_), "1", "PX", std::to_string(kOwnerLivenessTtl.count())});
  } catch (const RedisUnavailable&) {
  }
  heartbeat_thread_ = std::thread([this] { heartbeat(); });
}

CommandReservations::~CommandReservations() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
}

void CommandReservations::heartbeat() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, kHeartbeatInterval, [this] { return stop_; })) {
    lock.unlock();
    try {
      redis_.command({"SET", liveness_key(owner_), "1", "PX", std::to_string(kOwnerLivenessTtl.count())});
    } catch (const RedisUnavailable&) {
      // Redis is away: so are the reservations; nothing to keep alive.
    }
    lock.lock();
  }
}

std::string CommandReservations::key_of(const std::string& scope, const std::string& key) const {
  return redis_key(scope, key);
}

CommandReservations::Reservation CommandReservations::reservation(const std::string& scope, const std::string& key,
                                                                  const std::string& fingerprint) const {
  return {redis_key(scope, key),
          nlohmann::json{{"fp", fingerprint}, {"state", "in_flight"}, {"owner", owner_}}.dump(),
          std::to_string(in_flight_ttl_.count())};
}

IdempotencyDecision CommandReservations::begin(const std::string& scope, const std::string& key,
                                               const std::string& fingerprint) {
  IdempotencyDecision d;
  try {
    const auto mine = reservation(scope, key, fingerprint);
    auto set = redis_.command(mine.set_nx());
    if (set.type == RedisReply::Type::status) return d;  // reserved
    auto got = redis_.command({"GET", mine.key});
    if (got.type != RedisReply::Type::string) return d;  // expired in between: let the wallet decide
    auto j = nlohmann::json::parse(got.str, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return d;
    if (j.value("fp", "") != fingerprint) {
      d.kind = IdempotencyDecision::Kind::reused;
    } else if (j.value("state", "") == "done") {
      d.kind = IdempotencyDecision::Kind::replay;
      d.status = j.value("status", 0);
      d.body = j.value("body", "");
    } else {
      d.kind = IdempotencyDecision::Kind::in_use;
      const std::string owner = j.value("owner", "");
      if (!owner.empty() && owner != owner_) {
        auto alive = redis_.command({"EXISTS", liveness_key(owner)});
        if (alive.type == RedisReply::Type::integer && alive.integer == 0) {
          auto took = redis_.command({"EVAL", kTakeOver, "1", mine.key, got.str, mine.value, mine.ttl_ms});
          if (took.type == RedisReply::Type::integer && took.integer == 1) {
            Metrics::global().add("emtiaz_gateway_idempotency_takeovers_total");
            spdlog::info("idempotency: took over an in-flight reservation of gateway {}, which is gone", owner);
            d.kind = IdempotencyDecision::Kind::proceed;
          }
        }
      }
    }
  } catch (const RedisUnavailable& e) {
    spdlog::debug("idempotency fast path unavailable ({}): the wallet's record decides", e.what());
  }
  return d;
}

void CommandReservations::complete(const std::string& scope, const std::string& key, const std::string& fingerprint,
                                   int status, const std::string& body) {
  try {
    redis_.command({"SET", redis_key(scope, key), wallet::reservation_done_value(fingerprint, status, body), "EX",
                    wallet::kReservationKeepSeconds});
  } catch (const RedisUnavailable&) {
  }
}

void CommandReservations::release(const std::string& scope, const std::string& key) {
  try {
    redis_.command({"EVAL", kReleaseOwn, "1", redis_key(scope, key), owner_});
  } catch (const RedisUnavailable&) {
  }
}

}  // namespace emtiaz::gateway
