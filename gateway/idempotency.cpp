#include "gateway/idempotency.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <stdexcept>

#include "common/crypto.hpp"
#include "common/sql_util.hpp"
#include "common/time.hpp"

namespace emtiaz::gateway {
namespace {

constexpr std::string_view kDone = "done";

// Context labels keep the derivations apart: the record id, the secret, and the keys made from the secret
// never coincide even though all come from the same (scope, key).
constexpr std::string_view kRecordLabel = "emtiaz idempotency record v1\n";
constexpr std::string_view kSecretLabel = "emtiaz idempotency secret v1\n";
constexpr std::string_view kFingerprintLabel = "fingerprint\n";
constexpr std::string_view kResponseLabel = "response-aes-256-gcm";
constexpr std::string_view kSealVersion = "v1.";
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
// How many legacy rows one conversion transaction moves.
constexpr int kLegacyBatch = 500;
constexpr int kMysqlNoSuchTable = 1146;  // ER_NO_SUCH_TABLE

Instant now_micros() { return std::chrono::floor<std::chrono::microseconds>(now_utc()); }

using Digest = std::array<unsigned char, 32>;

Digest hmac_sha256(const unsigned char* key, std::size_t key_len, std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key, static_cast<int>(key_len), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out.data(), &len) ||
      len != out.size())
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  return out;
}

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0x0F]);
  }
  return out;
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

struct CipherCtx {
  CipherCtx() : ctx(EVP_CIPHER_CTX_new()) {
    if (!ctx) throw std::runtime_error("OpenSSL EVP_CIPHER_CTX_new failed");
  }
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
  CipherCtx(const CipherCtx&) = delete;
  CipherCtx& operator=(const CipherCtx&) = delete;
  EVP_CIPHER_CTX* ctx;
};

std::string associated_data(const std::string& record_id, int status) {
  return record_id + "\n" + std::to_string(status);
}

bool is_stored(const HttpResponse& resp) { return is_stored_outcome(resp.status, resp.body); }

}  // namespace

IdempotencySecret::IdempotencySecret(std::string_view scope, std::string_view key) {
  std::string id_input(kRecordLabel);
  id_input.append(scope);
  id_input.push_back('\n');
  id_input.append(key);
  record_id_ = sha256_hex(id_input);
  std::string secret_input(kSecretLabel);
  secret_input.append(scope);
  secret_ = hmac_sha256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), secret_input);
}

std::string IdempotencySecret::fingerprint_tag(std::string_view fingerprint) const {
  std::string input(kFingerprintLabel);
  input.append(fingerprint);
  auto tag = hmac_sha256(secret_.data(), secret_.size(), input);
  return hex(tag.data(), tag.size());
}

std::string IdempotencySecret::seal(int status, std::string_view response) const {
  const Digest key = hmac_sha256(secret_.data(), secret_.size(), kResponseLabel);
  std::string out(kNonceBytes + response.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(nonce, static_cast<int>(kNonceBytes)) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
  const std::string aad = associated_data(record_id_, status);
  CipherCtx c;
  int len = 0;
  bool ok = EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce) == 1 &&
            EVP_EncryptUpdate(c.ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1;
  auto* ct = nonce + kNonceBytes;
  int written = 0;
  ok = ok && EVP_EncryptUpdate(c.ctx, ct, &len, reinterpret_cast<const unsigned char*>(response.data()),
                               static_cast<int>(response.size())) == 1;
  written = len;
  ok = ok && EVP_EncryptFinal_ex(c.ctx, ct + written, &len) == 1;
  written += len;
  ok = ok && static_cast<std::size_t>(written) == response.size() &&
       EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), ct + written) == 1;
  if (!ok) throw std::runtime_error("OpenSSL AES-256-GCM encryption failed");
  return std::string(kSealVersion) + base64(out);
}

std::optional<std::string> IdempotencySecret::open(int status, std::string_view sealed) const {
  if (sealed.substr(0, kSealVersion.size()) != kSealVersion) return std::nullopt;
  auto raw = unbase64(sealed.substr(kSealVersion.size()));
  if (!raw || raw->size() < kNonceBytes + kTagBytes) return std::nullopt;
  const Digest key = hmac_sha256(secret_.data(), secret_.size(), kResponseLabel);
  const auto* nonce = reinterpret_cast<const unsigned char*>(raw->data());
  const auto* ct = nonce + kNonceBytes;
  const std::size_t ct_len = raw->size() - kNonceBytes - kTagBytes;
  std::string tag(raw->data() + kNonceBytes + ct_len, kTagBytes);
  const std::string aad = associated_data(record_id_, status);
  std::string out(ct_len, '\0');
  CipherCtx c;
  int len = 0;
  bool ok = EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce) == 1 &&
            EVP_DecryptUpdate(c.ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1;
  int written = 0;
  ok = ok && EVP_DecryptUpdate(c.ctx, reinterpret_cast<unsigned char*>(out.data()), &len, ct,
                               static_cast<int>(ct_len)) == 1;
  written = len;
  ok = ok && EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1;
  // Final fails when the tag does not match: the record was altered, or sealed for something else.
  ok = ok && EVP_DecryptFinal_ex(c.ctx, reinterpret_cast<unsigned char*>(out.data()) + written, &len) == 1;
  if (!ok) return std::nullopt;
  written += len;
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string request_fingerprint(std::string_view method, std::string_view path, const nlohmann::json& body) {
  std::string canonical;
  canonical.append(method);
  canonical.push_back(' ');
  canonical.append(path);
  canonical.push_back('\n');
  canonical.append(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return sha256_hex(canonical);
}

bool is_valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (unsigned char c : key)
    if (c < 0x20 || c > 0x7E) return false;
  return true;
}

IdempotencyDecision IdempotencyStore::begin(const std::string& scope, const std::string& key,
                                            const std::string& fingerprint) {
  ensure_legacy_converted();
  prune_if_due();
  const IdempotencySecret secret(scope, key);
  const std::string& id = secret.record_id();
  const std::string fp_tag = secret.fingerprint_tag(fingerprint);
  // A few rounds at most: a row can vanish between our INSERT and SELECT (its owner released it).
  for (int attempt = 0; attempt < 4; ++attempt) {
    const Instant now = now_micros();
    const std::string reservation = sql_time(now);
    auto decision = pool_.run([&](sql::Connection& c) -> std::optional<IdempotencyDecision> {
      // INSERT IGNORE rather than catching the duplicate-key error: a failed statement would cost the
      // pooled connection.
      auto ins = prepare(c,
                         "INSERT IGNORE INTO idempotency_records (record_id, fingerprint, state, reserved_at) "
                         "VALUES (?, ?, 'in_flight', ?)");
      ins->setString(1, id);
      ins->setString(2, fp_tag);
      ins->setString(3, reservation);
      if (ins->executeUpdate() == 1) return IdempotencyDecision{IdempotencyDecision::Kind::proceed, 0, {}, reservation};

      auto sel = prepare(c,
                         "SELECT fingerprint, state, status, response, "
                         "DATE_FORMAT(reserved_at, '%Y-%m-%d %H:%i:%s.%f') AS reserved_s "
                         "FROM idempotency_records WHERE record_id = ?");
      sel->setString(1, id);
      std::unique_ptr<sql::ResultSet> rs(sel->executeQuery());
      if (!rs->next()) return std::nullopt;  // released meanwhile: try again
      const std::string row_fp = rs->getString("fingerprint");
      const std::string state = rs->getString("state");
      const std::string reserved_s = rs->getString("reserved_s");
      const auto reserved_at = parse_sql_time(reserved_s);

      // A row past its retention is as good as gone (the pruner may not have reached it yet).
      if (reserved_at < now - keep_for_) {
        auto del = prepare(c, "DELETE FROM idempotency_records WHERE record_id = ? AND reserved_at = ?");
        del->setString(1, id);
        del->setString(2, reserved_s);
        del->executeUpdate();
        return std::nullopt;
      }
      if (!constant_time_equal(row_fp, fp_tag)) return IdempotencyDecision{IdempotencyDecision::Kind::reused, 0, {}, {}};
      if (state == kDone) {
        const int status = rs->getInt("status");
        auto body = secret.open(status, std::string(rs->getString("response")));
        // Only a record altered in the database gets here (the key and fingerprint matched).
        if (!body) throw std::runtime_error("idempotency: a stored response of " + scope + " does not open");
        return IdempotencyDecision{IdempotencyDecision::Kind::replay, status, std::move(*body), {}};
      }
      if (reserved_at >= now - stale_after_) return IdempotencyDecision{IdempotencyDecision::Kind::in_use, 0, {}, {}};
      // The owner has had the key for longer than any request may take: it died. Take the reservation over,
      // conditionally, so that of several retries exactly one proceeds. An owner still inside its
      // transaction holds the row's lock (hold()): this waits for it, and then finds the row done.
      auto take = prepare(c,
                          "UPDATE idempotency_records SET reserved_at = ? "
                          "WHERE record_id = ? AND state = 'in_flight' AND reserved_at = ?");
      take->setString(1, reservation);
      take->setString(2, id);
      take->setString(3, reserved_s);
      if (take->executeUpdate() == 1) return IdempotencyDecision{IdempotencyDecision::Kind::proceed, 0, {}, reservation};
      return IdempotencyDecision{IdempotencyDecision::Kind::in_use, 0, {}, {}};
    });
    if (decision) return *decision;
  }
  return IdempotencyDecision{IdempotencyDecision::Kind::in_use, 0, {}, {}};
}

namespace {

// Marks the reservation done with its sealed response; the number of rows changed (0: taken over).
int record_response(sql::Connection& c, const IdempotencySecret& secret, int status, const std::string& body,
                    const std::string& reservation) {
  std::string sql =
      "UPDATE idempotency_records SET state = 'done', status = ?, response = ?, completed_at = ? "
      "WHERE record_id = ? AND state = 'in_flight'";
  if (!reservation.empty()) sql += " AND reserved_at = ?";
  auto st = prepare(c, sql);
  st->setInt(1, status);
  st->setString(2, secret.seal(status, body));
  st->setString(3, sql_time(now_micros()));
  st->setString(4, secret.record_id());
  if (!reservation.empty()) st->setString(5, reservation);
  return st->executeUpdate();
}

}  // namespace

void IdempotencyStore::complete(const std::string& scope, const std::string& key, int status, const std::string& body,
                                const std::string& reservation) {
  const IdempotencySecret secret(scope, key);
  pool_.run([&](sql::Connection& c) {
    if (record_response(c, secret, status, body, reservation) != 1)
      spdlog::warn("idempotency: the reservation of a key of {} was taken over before it completed", scope);
  });
}

bool IdempotencyStore::hold(sql::Connection& c, const std::string& scope, const std::string& key,
                            const std::string& reservation) {
  auto st = prepare(c,
                    "SELECT 1 FROM idempotency_records WHERE record_id = ? AND state = 'in_flight' AND reserved_at = ? "
                    "FOR UPDATE");
  st->setString(1, IdempotencySecret(scope, key).record_id());
  st->setString(2, reservation);
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
  return rs->next();
}

void IdempotencyStore::complete(sql::Connection& c, const std::string& scope, const std::string& key, int status,
                                const std::string& body, const std::string& reservation) {
  // hold() locked the row in this transaction, so nobody can have taken it over since.
  if (record_response(c, IdempotencySecret(scope, key), status, body, reservation) != 1)
    throw std::logic_error("idempotency: complete() without hold() in the same transaction");
}

void IdempotencyStore::release(const std::string& scope, const std::string& key, const std::string& reservation) {
  const IdempotencySecret secret(scope, key);
  pool_.run([&](sql::Connection& c) {
    std::string sql = "DELETE FROM idempotency_records WHERE record_id = ? AND state = 'in_flight'";
    if (!reservation.empty()) sql += " AND reserved_at = ?";
    auto st = prepare(c, sql);
    st->setString(1, secret.record_id());
    if (!reservation.empty()) st->setString(2, reservation);
    st->executeUpdate();
  });
}

std::size_t IdempotencyStore::convert_legacy_rows() {
  std::size_t moved = 0;
  for (;;) {
    std::size_t n = 0;
    try {
      n = convert_legacy_batch();
    } catch (const MysqlError& e) {
      // A later migration may drop the legacy table: then there is nothing left to convert.
      if (e.error_code == kMysqlNoSuchTable) break;
      throw;
    }
    moved += n;
    if (n < static_cast<std::size_t>(kLegacyBatch)) break;
  }
  if (moved > 0) spdlog::info("idempotency: converted {} plaintext records of migration 001", moved);
  return moved;
}

std::size_t IdempotencyStore::convert_legacy_batch() {
  return pool_.transaction([&](sql::Connection& c) -> std::size_t {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery(
        "SELECT principal, idem_key, fingerprint, state, status, response, "
        "DATE_FORMAT(reserved_at, '%Y-%m-%d %H:%i:%s.%f') AS reserved_s, "
        "DATE_FORMAT(completed_at, '%Y-%m-%d %H:%i:%s.%f') AS completed_s "
        "FROM idempotency_keys LIMIT " + std::to_string(kLegacyBatch) + " FOR UPDATE"));
    std::size_t rows = 0;
    while (rs->next()) {
      ++rows;
      const std::string scope = rs->getString("principal");
      const std::string key = rs->getString("idem_key");
      const IdempotencySecret secret(scope, key);
      const bool done = std::string(rs->getString("state")) == kDone;
      const int status = rs->getInt("status");
      const bool has_status = !rs->wasNull();
      // A row that is already in the new table (written since) wins over its legacy copy.
      auto ins = prepare(c,
                         "INSERT IGNORE INTO idempotency_records "
                         "(record_id, fingerprint, state, status, response, reserved_at, completed_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)");
      ins->setString(1, secret.record_id());
      ins->setString(2, secret.fingerprint_tag(std::string(rs->getString("fingerprint"))));
      ins->setString(3, done ? std::string(kDone) : std::string("in_flight"));
      if (done && has_status) {
        ins->setInt(4, status);
        ins->setString(5, secret.seal(status, std::string(rs->getString("response"))));
        ins->setString(7, std::string(rs->getString("completed_s")));
      } else {
        ins->setNull(4, sql::DataType::INTEGER);
        ins->setNull(5, sql::DataType::VARCHAR);
        ins->setNull(7, sql::DataType::VARCHAR);
      }
      ins->setString(6, std::string(rs->getString("reserved_s")));
      ins->executeUpdate();
      auto del = prepare(c, "DELETE FROM idempotency_keys WHERE principal = ? AND idem_key = ?");
      del->setString(1, scope);
      del->setString(2, key);
      del->executeUpdate();
    }
    return rows;
  });
}

void IdempotencyStore::ensure_legacy_converted() {
  if (legacy_converted_.load()) return;
  // Until this has run once, a legacy record could be missed and its request acted on twice: a failure
  // here fails the request (MySQL is unavailable: 503, retry).
  convert_legacy_rows();
  legacy_converted_.store(true);
}

void IdempotencyStore::prune_if_due() {
  const auto now = now_micros();
  const std::int64_t now_us = now.time_since_epoch().count();
  auto due = next_prune_us_.load();
  if (now_us < due) return;
  if (!next_prune_us_.compare_exchange_strong(due, now_us + std::int64_t{600} * 1'000'000)) return;
  try {
    // Gateways of the previous version may still write plaintext records during a rolling upgrade.
    convert_legacy_rows();
    pool_.run([&](sql::Connection& c) {
      // Bounded so that one prune never holds locks for long; the next one continues.
      auto st = prepare(c, "DELETE FROM idempotency_records WHERE reserved_at < ? LIMIT 10000");
      st->setString(1, sql_time(now - keep_for_));
      auto n = st->executeUpdate();
      if (n > 0) spdlog::info("idempotency: pruned {} keys older than {} h", n, keep_for_.count());
    });
  } catch (const std::exception& e) {
    spdlog::warn("idempotency: prune failed: {}", e.what());
  }
}

namespace {

// The answer to a request whose key is reused, in flight or done; nullopt: go ahead.
std::optional<HttpResponse> answer_without_acting(RequestContext& ctx, IdempotencyDecision& d) {
  switch (d.kind) {
    case IdempotencyDecision::Kind::reused:
      return problem_response(ctx, problem(Code::idempotency_key_reused,
                                           "this Idempotency-Key was used with another method, path or body"));
    case IdempotencyDecision::Kind::in_use:
      return problem_response(ctx, problem(Code::idempotency_key_in_use,
                                           "a request with this Idempotency-Key is still in flight"));
    case IdempotencyDecision::Kind::replay: {
      HttpResponse r = HttpResponse::json(d.status, std::move(d.body));
      if (d.status >= 400) r.content_type = "application/problem+json";
      r.headers.emplace_back("Idempotent-Replayed", "true");
      return r;
    }
    case IdempotencyDecision::Kind::proceed:
      break;
  }
  return std::nullopt;
}

void release_quietly(IdempotencyStore& store, const std::string& scope, const std::string& key,
                     const std::string& reservation) {
  try {
    store.release(scope, key, reservation);
  } catch (const std::exception& e) {
    // The reservation goes stale and a retry takes it over after stale_after.
    spdlog::warn("idempotency: could not release a key of {}: {}", scope, e.what());
  }
}

// Runs `fn` in a transaction on one pooled connection; commits when it returns commit = true, rolls back
// otherwise and on any exception.
struct Outcome {
  HttpResponse response;
  bool commit = false;
};

// Thrown to roll the transaction back (MysqlPool::transaction does so on any exception) and still answer.
struct RollBack {
  HttpResponse response;
};

HttpResponse in_transaction(MysqlPool& pool, const std::function<Outcome(sql::Connection&)>& fn) {
  try {
    return pool.transaction([&](sql::Connection& c) {
      Outcome out = fn(c);
      if (!out.commit) throw RollBack{std::move(out.response)};
      return std::move(out.response);
    });
  } catch (RollBack& r) {
    return std::move(r.response);
  }
}

}  // namespace

HttpResponse with_idempotency(RequestContext& ctx, IdempotencyStore& store, const nlohmann::json& body,
                              const std::function<HttpResponse()>& act) {
  auto key = ctx.req.header("Idempotency-Key");
  if (!key) return act();
  if (!is_valid_idempotency_key(*key))
    return problem_response(ctx, invalid_field("Idempotency-Key", "must be 1 to 255 printable ASCII characters"));

  const auto scope = ctx.principal.scope();
  auto d = store.begin(scope, *key, request_fingerprint(ctx.req.method(), ctx.req.path, body));
  if (auto answer = answer_without_acting(ctx, d)) return std::move(*answer);

  HttpResponse resp;
  try {
    resp = act();
  } catch (...) {
    release_quietly(store, scope, *key, d.reservation);
    throw;
  }
  // The effect has happened: a failure to record the answer must not turn it into an error for the client.
  try {
    if (is_stored(resp)) store.complete(scope, *key, resp.status, resp.body, d.reservation);
    else store.release(scope, *key, d.reservation);
  } catch (const std::exception& e) {
    spdlog::error("idempotency: could not record the outcome for {}: {}", scope, e.what());
  }
  return resp;
}

HttpResponse with_idempotent_transaction(RequestContext& ctx, IdempotencyStore& store, const nlohmann::json& body,
                                         const std::function<HttpResponse(sql::Connection&)>& act) {
  auto key = ctx.req.header("Idempotency-Key");
  if (!key) {
    return in_transaction(store.pool(), [&](sql::Connection& c) {
      HttpResponse r = act(c);
      const bool commit = is_stored(r);
      return Outcome{std::move(r), commit};
    });
  }
  if (!is_valid_idempotency_key(*key))
    return problem_response(ctx, invalid_field("Idempotency-Key", "must be 1 to 255 printable ASCII characters"));

  const auto scope = ctx.principal.scope();
  auto d = store.begin(scope, *key, request_fingerprint(ctx.req.method(), ctx.req.path, body));
  if (auto answer = answer_without_acting(ctx, d)) return std::move(*answer);

  bool held = false;
  HttpResponse resp;
  try {
    resp = in_transaction(store.pool(), [&](sql::Connection& c) {
      held = store.hold(c, scope, *key, d.reservation);
      if (!held)
        return Outcome{problem_response(ctx, problem(Code::idempotency_key_in_use,
                                                     "a request with this Idempotency-Key is still in flight")),
                       false};
      HttpResponse r = act(c);
      if (!is_stored(r)) return Outcome{std::move(r), false};
      store.complete(c, scope, *key, r.status, r.body, d.reservation);
      return Outcome{std::move(r), true};
    });
  } catch (...) {
    // Rolled back (or, if the commit itself failed, perhaps committed: then the row is done and the
    // conditional release leaves it alone).
    release_quietly(store, scope, *key, d.reservation);
    throw;
  }
  if (held && !is_stored(resp)) release_quietly(store, scope, *key, d.reservation);
  return resp;
}

}  // namespace emtiaz::gateway
