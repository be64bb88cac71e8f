#pragma once
// Idempotency of non-moving POSTs (api.md, Conventions; architecture.md, "Who owns what"). Keys are scoped
// to the principal (Principal::scope()). Before acting, the gateway reserves (scope, key) with the request's
// fingerprint in MySQL; the reservation answers 409 idempotency_key_reused / idempotency_key_in_use, and
// the finished response is stored with it and replayed byte for byte. Points-moving POSTs are recorded by
// the wallet instead.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/http_server.hpp"
#include "common/mysql.hpp"
#include "gateway/router.hpp"

namespace emtiaz::gateway {

// sha256_hex(method + " " + path + "\n" + body.dump()). nlohmann objects keep their members sorted by key,
// so two bodies that are the same JSON (any member order, any whitespace) give the same fingerprint.
std::string request_fingerprint(std::string_view method, std::string_view path, const nlohmann::json& body);

// 1..255 characters, each printable ASCII (0x20..0x7E).
bool is_valid_idempotency_key(std::string_view key);

// Whether a response is stored for replay: 2xx, and business outcomes (409/422 with a business code such
// as insufficient_points, duplicate_receipt). Not stored: validation failures (400/413/422 invalid_*),
// 401/403/404, 409 idempotency_key_*, 5xx — those may be retried with the same key.
bool is_stored_response(int status, std::string_view code);

struct IdempotencyDecision {
  enum class Kind { proceed, replay, reused, in_use } kind = Kind::proceed;
  int status = 0;            // replay
  std::string body;          // replay: the stored body, byte for byte
  std::string reservation;   // proceed: identifies this reservation for complete/release
};

class IdempotencyStore {
 public:
  // A reservation older than `stale_after` whose owner never completed it (the gateway died) may be taken
  // over by a retry. Rows are kept `keep_for` (at least the 24 h promised) and then pruned.
  explicit IdempotencyStore(MysqlPool& pool, std::chrono::seconds stale_after = std::chrono::seconds(60),
                            std::chrono::hours keep_for = std::chrono::hours(48))
      : pool_(pool), stale_after_(stale_after), keep_for_(keep_for) {}

  // Throws MysqlUnavailable / MysqlError.
  IdempotencyDecision begin(const std::string& scope, const std::string& key, const std::string& fingerprint);
  // Stores the response of the reservation `reservation` (from begin; empty: whoever holds it).
  void complete(const std::string& scope, const std::string& key, int status, const std::string& body,
                const std::string& reservation = "");
  // Deletes the reservation so that the key may be used again (responses that are not stored).
  void release(const std::string& scope, const std::string& key, const std::string& reservation = "");
  // Deletes rows older than keep_for; runs at most once every ten minutes per process (cheap to call).
  void prune_if_due();

 private:
  MysqlPool& pool_;
  std::chrono::seconds stale_after_;
  std::chrono::hours keep_for_;
  std::atomic<std::int64_t> next_prune_us_{0};
};

// Runs `act` under the request's Idempotency-Key, if it has one (the key is optional on non-moving POSTs;
// absent: just act). An invalid key is 422 invalid_field ("Idempotency-Key"). A replay answers the stored
// status and body with header `Idempotent-Replayed: true`. `body` is the parsed request body (so parse
// errors, 400 malformed_json, come before any reservation).
HttpResponse with_idempotency(RequestContext& ctx, IdempotencyStore& store, const nlohmann::json& body,
                              const std::function<HttpResponse()>& act);

}  // namespace emtiaz::gateway
