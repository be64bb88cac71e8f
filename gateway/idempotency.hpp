#pragma once
// Idempotency of non-moving POSTs (api.md, Conventions; architecture.md, "Who owns what"). Keys are scoped
// to the principal (Principal::scope()). Before acting, the gateway reserves (scope, key) with the request's
// fingerprint in MySQL; the reservation answers 409 idempotency_key_reused / idempotency_key_in_use, and
// the finished response is stored with it and replayed byte for byte. Points-moving POSTs are recorded by
// the wallet instead.
//
// Nothing readable is stored (migrations/005): a record is found by the SHA-256 of scope and key, the
// fingerprint is kept as an HMAC, and the response — which may carry an operator token or an API key that
// is otherwise kept only as a hash — is sealed with AES-256-GCM under a key derived from the
// Idempotency-Key and the scope. Only a client that presents the key again can have it opened. The secrecy
// of a stored response is therefore that of its Idempotency-Key: clients should use random keys (UUIDs).
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
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

// What is kept of one (scope, Idempotency-Key), derived from the two; never stored itself.
class IdempotencySecret {
 public:
  IdempotencySecret(std::string_view scope, std::string_view key);
  // The row's key: lower-case hex SHA-256 over a context label, the scope and the key.
  const std::string& record_id() const { return record_id_; }
  // Hex HMAC-SHA256 of a request fingerprint under the secret: equal fingerprints give equal tags, and the
  // tag tells nothing about the request without the key.
  std::string fingerprint_tag(std::string_view fingerprint) const;
  // AES-256-GCM with a random 96-bit nonce, the record id and the status as associated data; base64 text
  // ("v1." + nonce ‖ ciphertext ‖ tag).
  std::string seal(int status, std::string_view response) const;
  // The response, or nullopt when `sealed` was not sealed by this secret for this status (tampered with).
  std::optional<std::string> open(int status, std::string_view sealed) const;

 private:
  std::string record_id_;
  std::array<unsigned char, 32> secret_{};  // HMAC-SHA256(key, label ‖ scope)
};

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

  MysqlPool& pool() { return pool_; }

  // Throws MysqlUnavailable / MysqlError (and std::runtime_error when a stored response fails to open).
  IdempotencyDecision begin(const std::string& scope, const std::string& key, const std::string& fingerprint);
  // Stores the response of the reservation `reservation` (from begin; empty: whoever holds it).
  void complete(const std::string& scope, const std::string& key, int status, const std::string& body,
                const std::string& reservation = "");
  // The same two steps inside the caller's transaction on `c`: hold() locks the reservation row (false when
  // another request has taken it over: do not act); complete() then records the response in that same
  // transaction, so the effect and its record commit together or not at all. They throw sql::SQLException.
  bool hold(sql::Connection& c, const std::string& scope, const std::string& key, const std::string& reservation);
  void complete(sql::Connection& c, const std::string& scope, const std::string& key, int status,
                const std::string& body, const std::string& reservation);
  // Deletes the reservation so that the key may be used again (responses that are not stored).
  void release(const std::string& scope, const std::string& key, const std::string& reservation = "");
  // Deletes rows older than keep_for and converts legacy rows; runs at most once every ten minutes per
  // process (cheap to call).
  void prune_if_due();
  // Moves the rows of the plaintext table of migration 001 (idempotency_keys) into idempotency_records,
  // hashed and sealed, and deletes them. Returns how many were moved.
  std::size_t convert_legacy_rows();

 private:
  void ensure_legacy_converted();
  std::size_t convert_legacy_batch();  // one transaction of at most kLegacyBatch rows

  MysqlPool& pool_;
  std::chrono::seconds stale_after_;
  std::chrono::hours keep_for_;
  std::atomic<std::int64_t> next_prune_us_{0};
  std::atomic<bool> legacy_converted_{false};
};

// Runs `act` under the request's Idempotency-Key, if it has one (the key is optional on non-moving POSTs;
// absent: just act). An invalid key is 422 invalid_field ("Idempotency-Key"). A replay answers the stored
// status and body with header `Idempotent-Replayed: true`. `body` is the parsed request body (so parse
// errors, 400 malformed_json, come before any reservation). The response is recorded after `act` returns,
// in a statement of its own: for acts whose effect is not in this MySQL (settlements, which clearing
// closes) or is idempotent by itself (member enrolment by phone).
HttpResponse with_idempotency(RequestContext& ctx, IdempotencyStore& store, const nlohmann::json& body,
                              const std::function<HttpResponse()>& act);

// The same for acts that only write MySQL: `act` runs on a connection inside one transaction that also
// records the response, so a failure anywhere (MySQL, the gateway dying) leaves neither the effect nor a
// record, and the retry acts once. The transaction commits only a stored response (2xx or a business
// outcome); any other answer (validation, 404) is rolled back, so that it never leaves a partial effect.
// Without an Idempotency-Key, `act` still runs in a transaction of its own under the same rule.
HttpResponse with_idempotent_transaction(RequestContext& ctx, IdempotencyStore& store, const nlohmann::json& body,
                                         const std::function<HttpResponse(sql::Connection&)>& act);

}  // namespace emtiaz::gateway
