#include "gateway/idempotency.hpp"

#include <spdlog/spdlog.h>

#include <array>

#include "common/crypto.hpp"
#include "common/time.hpp"
#include "common/sql_util.hpp"

namespace emtiaz::gateway {
namespace {


constexpr std::string_view kInFlight = "in_flight";
constexpr std::string_view kDone = "done";

Instant now_micros() { return std::chrono::floor<std::chrono::microseconds>(now_utc()); }

// Business outcomes: the request was valid and authorized, and this is its answer. Replaying them is what
// makes a retry safe ("nothing happens twice").
constexpr std::array<std::string_view, 8> kBusinessCodes = {
    "insufficient_points",     "duplicate_receipt",         "redemption_not_authorized",
    "refund_exceeds_purchase", "refund_exceeds_redemption", "period_not_ended",
    "period_gap",              "period_overlaps",
};

}  // namespace

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

bool is_stored_response(int status, std::string_view code) {
  if (status >= 200 && status < 300) return true;
  if (status != 409 && status != 422) return false;
  for (auto c : kBusinessCodes)
    if (c == code) return true;
  return false;
}

IdempotencyDecision IdempotencyStore::begin(const std::string& scope, const std::string& key,
                                            const std::string& fingerprint) {
  prune_if_due();
  // A few rounds at most: a row can vanish between our INSERT and SELECT (its owner released it).
  for (int attempt = 0; attempt < 4; ++attempt) {
    const Instant now = now_micros();
    const std::string reservation = sql_time(now);
    auto decision = pool_.run([&](sql::Connection& c) -> std::optional<IdempotencyDecision> {
      // INSERT IGNORE rather than catching the duplicate-key error: a failed statement would cost the
      // pooled connection.
      auto ins = prepare(c,
                         "INSERT IGNORE INTO idempotency_keys (principal, idem_key, fingerprint, state, reserved_at) "
                         "VALUES (?, ?, ?, 'in_flight', ?)");
      ins->setString(1, scope);
      ins->setString(2, key);
      ins->setString(3, fingerprint);
      ins->setString(4, reservation);
      if (ins->executeUpdate() == 1) return IdempotencyDecision{IdempotencyDecision::Kind::proceed, 0, {}, reservation};

      auto sel = prepare(c,
                         "SELECT fingerprint, state, status, response, "
                         "DATE_FORMAT(reserved_at, '%Y-%m-%d %H:%i:%s.%f') AS reserved_s "
                         "FROM idempotency_keys WHERE principal = ? AND idem_key = ?");
      sel->setString(1, scope);
      sel->setString(2, key);
      std::unique_ptr<sql::ResultSet> rs(sel->executeQuery());
      if (!rs->next()) return std::nullopt;  // released meanwhile: try again
      const std::string row_fp = rs->getString("fingerprint");
      const std::string state = rs->getString("state");
      const std::string reserved_s = rs->getString("reserved_s");
      const auto reserved_at = parse_sql_time(reserved_s);

      // A row past its retention is as good as gone (the pruner may not have reached it yet).
      if (reserved_at < now - keep_for_) {
        auto del = prepare(c, "DELETE FROM idempotency_keys WHERE principal = ? AND idem_key = ? AND reserved_at = ?");
        del->setString(1, scope);
        del->setString(2, key);
        del->setString(3, reserved_s);
        del->executeUpdate();
        return std::nullopt;
      }
      if (row_fp != fingerprint) return IdempotencyDecision{IdempotencyDecision::Kind::reused, 0, {}, {}};
      if (state == kDone) {
        IdempotencyDecision d{IdempotencyDecision::Kind::replay, rs->getInt("status"), rs->getString("response"), {}};
        return d;
      }
      if (reserved_at >= now - stale_after_) return IdempotencyDecision{IdempotencyDecision::Kind::in_use, 0, {}, {}};
      // The owner has had the key for longer than any request may take: it died. Take the reservation over,
      // conditionally, so that of several retries exactly one proceeds.
      auto take = prepare(c,
                          "UPDATE idempotency_keys SET reserved_at = ? "
                          "WHERE principal = ? AND idem_key = ? AND state = 'in_flight' AND reserved_at = ?");
      take->setString(1, reservation);
      take->setString(2, scope);
      take->setString(3, key);
      take->setString(4, reserved_s);
      if (take->executeUpdate() == 1) return IdempotencyDecision{IdempotencyDecision::Kind::proceed, 0, {}, reservation};
      return IdempotencyDecision{IdempotencyDecision::Kind::in_use, 0, {}, {}};
    });
    if (decision) return *decision;
  }
  return IdempotencyDecision{IdempotencyDecision::Kind::in_use, 0, {}, {}};
}

void IdempotencyStore::complete(const std::string& scope, const std::string& key, int status, const std::string& body,
                                const std::string& reservation) {
  pool_.run([&](sql::Connection& c) {
    std::string sql =
        "UPDATE idempotency_keys SET state = 'done', status = ?, response = ?, completed_at = ? "
        "WHERE principal = ? AND idem_key = ? AND state = 'in_flight'";
    if (!reservation.empty()) sql += " AND reserved_at = ?";
    auto st = prepare(c, sql);
    st->setInt(1, status);
    st->setString(2, body);
    st->setString(3, sql_time(now_micros()));
    st->setString(4, scope);
    st->setString(5, key);
    if (!reservation.empty()) st->setString(6, reservation);
    if (st->executeUpdate() != 1)
      spdlog::warn("idempotency: the reservation of a key of {} was taken over before it completed", scope);
  });
}

void IdempotencyStore::release(const std::string& scope, const std::string& key, const std::string& reservation) {
  pool_.run([&](sql::Connection& c) {
    std::string sql = "DELETE FROM idempotency_keys WHERE principal = ? AND idem_key = ? AND state = 'in_flight'";
    if (!reservation.empty()) sql += " AND reserved_at = ?";
    auto st = prepare(c, sql);
    st->setString(1, scope);
    st->setString(2, key);
    if (!reservation.empty()) st->setString(3, reservation);
    st->executeUpdate();
  });
}

void IdempotencyStore::prune_if_due() {
  const auto now = now_micros();
  const std::int64_t now_us = now.time_since_epoch().count();
  auto due = next_prune_us_.load();
  if (now_us < due) return;
  if (!next_prune_us_.compare_exchange_strong(due, now_us + std::int64_t{600} * 1'000'000)) return;
  try {
    pool_.run([&](sql::Connection& c) {
      // Bounded so that one prune never holds locks for long; the next one continues.
      auto st = prepare(c, "DELETE FROM idempotency_keys WHERE reserved_at < ? LIMIT 10000");
      st->setString(1, sql_time(now - keep_for_));
      auto n = st->executeUpdate();
      if (n > 0) spdlog::info("idempotency: pruned {} keys older than {} h", n, keep_for_.count());
    });
  } catch (const std::exception& e) {
    spdlog::warn("idempotency: prune failed: {}", e.what());
  }
}

HttpResponse with_idempotency(RequestContext& ctx, IdempotencyStore& store, const nlohmann::json& body,
                              const std::function<HttpResponse()>& act) {
  auto key = ctx.req.header("Idempotency-Key");
  if (!key) return act();
  if (!is_valid_idempotency_key(*key))
    return problem_response(ctx, invalid_field("Idempotency-Key", "must be 1 to 255 printable ASCII characters"));

  const auto scope = ctx.principal.scope();
  const auto fp = request_fingerprint(ctx.req.method(), ctx.req.path, body);
  auto d = store.begin(scope, *key, fp);
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

  HttpResponse resp;
  try {
    resp = act();
  } catch (...) {
    try {
      store.release(scope, *key, d.reservation);
    } catch (const std::exception& e) {
      spdlog::warn("idempotency: release after a failure failed: {}", e.what());
    }
    throw;
  }
  std::string code;
  if (resp.status >= 400) {
    auto doc = nlohmann::json::parse(resp.body, nullptr, false);
    if (doc.is_object() && doc.contains("code") && doc["code"].is_string()) code = doc["code"].get<std::string>();
  }
  // The effect has happened: a failure to record the answer must not turn it into an error for the client.
  try {
    if (is_stored_response(resp.status, code)) store.complete(scope, *key, resp.status, resp.body, d.reservation);
    else store.release(scope, *key, d.reservation);
  } catch (const std::exception& e) {
    spdlog::error("idempotency: could not record the outcome for {}: {}", scope, e.what());
  }
  return resp;
}

}  // namespace emtiaz::gateway
