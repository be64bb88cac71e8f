#include "gateway/command_reservations.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/crypto.hpp"

namespace emtiaz::gateway {
namespace {

// Keys are hashed: an Idempotency-Key is the partner's text, and the hash tag keeps one principal's keys
// together on a Redis Cluster slot.
std::string redis_key(const std::string& scope, const std::string& key) {
  return fmt::format("emtiaz:idem:{{{}}}:{}", scope, sha256_hex(key));
}

constexpr const char* kKeepSeconds = "90000";  // 25 h: the contract promises at least 24 h

}  // namespace

IdempotencyDecision CommandReservations::begin(const std::string& scope, const std::string& key,
                                               const std::string& fingerprint) {
  IdempotencyDecision d;
  const auto k = redis_key(scope, key);
  try {
    nlohmann::json mine = {{"fp", fingerprint}, {"state", "in_flight"}};
    auto set = redis_.command({"SET", k, mine.dump(), "NX", "PX", std::to_string(in_flight_ttl_.count())});
    if (set.type == RedisReply::Type::status) return d;  // reserved
    auto got = redis_.command({"GET", k});
    if (got.type != RedisReply::Type::string) return d;  // expired in between: let the wallet decide
    auto j = nlohmann::json::parse(got.str, nullptr, false);
    if (j.is_discarded()) return d;
    if (j.value("fp", "") != fingerprint) {
      d.kind = IdempotencyDecision::Kind::reused;
    } else if (j.value("state", "") == "done") {
      d.kind = IdempotencyDecision::Kind::replay;
      d.status = j.value("status", 0);
      d.body = j.value("body", "");
    } else {
      d.kind = IdempotencyDecision::Kind::in_use;
    }
  } catch (const RedisUnavailable& e) {
    spdlog::debug("idempotency fast path unavailable ({}): the wallet's record decides", e.what());
  }
  return d;
}

void CommandReservations::complete(const std::string& scope, const std::string& key, const std::string& fingerprint,
                                   int status, const std::string& body) {
  try {
    nlohmann::json done = {{"fp", fingerprint}, {"state", "done"}, {"status", status}, {"body", body}};
    redis_.command({"SET", redis_key(scope, key), done.dump(), "EX", kKeepSeconds});
  } catch (const RedisUnavailable&) {
  }
}

void CommandReservations::release(const std::string& scope, const std::string& key) {
  try {
    redis_.command({"DEL", redis_key(scope, key)});
  } catch (const RedisUnavailable&) {
  }
}

}  // namespace emtiaz::gateway
