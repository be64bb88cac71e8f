#include "gateway/points_handlers.hpp"

#include <cppconn/resultset.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "common/async_redis.hpp"
#include "common/crypto.hpp"
#include "common/http_server.hpp"
#include "common/metrics.hpp"
#include "common/sql_util.hpp"
#include "gateway/command_client.hpp"
#include "gateway/command_reservations.hpp"
#include "gateway/idempotency.hpp"
#include "gateway/json_input.hpp"
#include "gateway/members_repository.hpp"
#include "gateway/pagination.hpp"
#include "partners/partner_repository.hpp"
#include "tenants/tenant_repository.hpp"
#include "wallet/archive.hpp"
#include "wallet/earn_ids.hpp"
#include "wallet/views.hpp"
#include "wallet/wallet_service.hpp"

namespace emtiaz::gateway {
namespace {

using wallet::CommandType;

struct Deps {
  App& app;
  tenants::TenantRepository tenants;
  partners::PartnerRepository partners;
  MemberRepository members;
  CommandReservations idempotency;
  // A moving command's reservation is stale once its request can no longer be waiting for the wallet: a
  // retry after a gateway crash then takes it over (the wallet's record still answers exactly once).
  explicit Deps(App& a)
      : app(a),
        tenants(a.mysql),
        partners(a.mysql),
        members(a.mysql),
        idempotency(a.redis, std::chrono::milliseconds(2 * a.config.command_timeout_ms + 1000)) {}
};

HttpResponse fail(const RequestContext& ctx, Problem p) { return problem_response(ctx, p); }

// This I/O thread's asynchronous Redis client (common/async_redis.hpp), made on its first use; nullptr on any
// other thread (a worker reads with the blocking pool). A handler on an I/O thread is one tried inline.
AsyncRedis* async_redis_here(Deps& d) {
  auto* ioc = HttpServer::this_thread_io_context();
  if (!ioc) return nullptr;
  thread_local std::shared_ptr<AsyncRedis> mine;
  if (!mine || &mine->context() != ioc)
    mine = std::make_shared<AsyncRedis>(*ioc, d.app.config.redis, std::chrono::milliseconds(1000));
  return mine.get();
}

// Finishes a request on a worker, where it may block (MySQL): answers through `responder` with what `rest`
// returns (nothing when that is deferred: whoever deferred it answers), its errors answered as any guarded
// route's are. When no worker will run it (the server is stopping), answers that at once.
void finish_on_worker(const HttpResponder& responder, const std::string& route, const std::string& request_id,
                      RouteHandler rest) {
  const bool posted = HttpServer::post_to_workers([responder, route, request_id, rest = guarded(std::move(rest))] {
    HttpRequest req;
    req.request_id = request_id;
    const Principal nobody;  // not read beyond the router
    RequestContext ctx{req, nobody, {}, route};
    auto answer = rest(ctx);
    if (answer.deferred) return;
    answer.route = route;
    responder(std::move(answer));
  });
  if (posted) return;
  auto r = HttpResponse::from_problem(problem(Code::not_ready, "the server is stopping; retry shortly"), request_id);
  r.headers.emplace_back("Retry-After", "1");
  r.route = route;
  responder(std::move(r));
}

// What a points-moving request still needs once its handler has returned (its member came from Redis on the
// I/O thread, or a worker finishes it, or the wallet replies): copies of the parts of the request its answer
// reads.
struct MovingRequest {
  HttpResponder responder;
  std::optional<std::string> idempotency_key;
  std::string scope;        // the principal's idempotency scope
  std::string fingerprint;  // of the method, path and body
  std::string route;
  std::string request_id;

  HttpResponse fail(const Problem& p) const {
    auto r = HttpResponse::from_problem(p, request_id);
    r.route = route;
    return r;
  }
  HttpResponse respond(int status, std::string body, bool replayed) const {
    HttpResponse r = HttpResponse::json(status, std::move(body));
    if (status >= 400) r.content_type = "application/problem+json";
    if (replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
    r.route = route;
    return r;
  }
  // Answers through the responder, unless `r` is deferred (whoever deferred it answers).
  void answer(HttpResponse r) const {
    if (r.deferred) return;
    r.route = route;
    responder(std::move(r));
  }
  // For a continuation of this request that caught `e` where nothing may throw on (a Redis callback on an I/O
  // thread, the reply reader): logs it, `doing` saying what failed if given, and answers 500 (the client
  // retries with the same key).
  void internal_error(const std::exception& e, std::string_view doing = {}) const {
    spdlog::error("request_id={} {}: {}{}{}", request_id, route, doing, doing.empty() ? "" : ": ", e.what());
    answer(fail(problem(Code::internal, "internal error")));
  }
};

MovingRequest moving_request(RequestContext& ctx, const nlohmann::json& body) {
  return {ctx.req.responder(), ctx.req.header("Idempotency-Key"), ctx.principal.scope(),
          request_fingerprint(ctx.req.method(), ctx.req.path, body), ctx.route, ctx.req.request_id};
}

// A command that holds its reservation and its place among the commands waiting for the wallet: what is left
// is to send it and answer with the wallet's reply.
struct PendingCommand {
  std::shared_ptr<Deps> d;  // shared: a waiter may be answered after the routes are gone (at shutdown)
  MovingRequest m;

  // The wallet's reply (or its absence) as the HTTP response. The Redis calls made here run on the command
  // client's reply-reader thread, where every other reply waits behind them: that is acceptable because they
  // are rare and short — `complete` only for a reply from an older wallet that did not complete the
  // reservation itself, `release` only for an outcome that is not stored and for an unknown one.
  HttpResponse outcome(const std::optional<wallet::Reply>& reply) const {
    const auto& key = *m.idempotency_key;
    if (!reply) {
      d->idempotency.release(m.scope, key);
      auto r = m.fail(problem(Code::outcome_unknown,
                              "the outcome could not be learned in time; retry with the same Idempotency-Key"));
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    if (is_stored_outcome(reply->status, reply->body)) {
      if (!reply->reservation_done) d->idempotency.complete(m.scope, key, m.fingerprint, reply->status, reply->body);
    } else {
      d->idempotency.release(m.scope, key);
    }
    return m.respond(reply->status, reply->body, reply->replayed);
  }

  // The answer begin() gives without the wallet (reused, in use, a replay); nullopt: send the command.
  std::optional<HttpResponse> decided(const IdempotencyDecision& decision) const {
    using K = IdempotencyDecision::Kind;
    if (decision.kind == K::reused)
      return m.fail(problem(Code::idempotency_key_reused, "this Idempotency-Key was used with another request"));
    if (decision.kind == K::in_use)
      return m.fail(problem(Code::idempotency_key_in_use, "a request with this Idempotency-Key is in flight"));
    if (decision.kind == K::replay) return m.respond(decision.status, decision.body, true);
    return std::nullopt;
  }

  // Sends the command; its reply is answered from the reply-reader thread. Returns at once.
  void send(CommandClient::Slot slot, wallet::Command cmd) const {
    d->app.commands.call_async(std::move(slot), std::move(cmd),
                               std::chrono::milliseconds(d->app.config.command_timeout_ms),
                               [pending = *this](std::optional<wallet::Reply> reply) {
                                 HttpResponse resp;
                                 try {
                                   resp = pending.outcome(reply);
                                 } catch (const std::exception& e) {
                                   // Not thrown on: this runs on the reply-reader thread, which every other
                                   // waiting request needs.
                                   return pending.m.internal_error(e, "answering the wallet's reply failed");
                                 }
                                 pending.m.answer(std::move(resp));
                               });
  }

  // On a worker: the whole of begin() (replay, reused, in use, a dead owner's reservation taken over), then
  // the command if it is to be sent.
  HttpResponse decide_and_send(CommandClient::Slot slot, wallet::Command cmd) const {
    if (auto r = decided(d->idempotency.begin(m.scope, *m.idempotency_key, m.fingerprint))) return *r;
    send(std::move(slot), std::move(cmd));
    return HttpResponse::deferred_response();
  }
};

// Sends a points-moving command under the request's Idempotency-Key and answers with the wallet's reply
// turned into the HTTP response. The wallet's record (command id = the principal's scope and key) is the
// arbiter of exactly once; the gateway's reservation in Redis only answers "in use" and "reused" early and
// replays fast, so a moving request costs the gateway no MySQL commit of its own.
//
// The wait for the wallet holds no thread: the command is sent, the handler returns a deferred response, and
// the reply (or the timeout) is answered through the request's responder from the reply-reader thread. On an
// I/O thread the reservation itself is asked for without blocking (common/async_redis.hpp): a key nobody
// holds is reserved and the command sent from Redis' reply; a key held already goes to a worker, which
// decides as begin() does (those are retries: rare). Everything that could need MySQL has happened before
// this is called, and the reservation is its first effect.
HttpResponse send_command(const std::shared_ptr<Deps>& dp, MovingRequest m, wallet::Command cmd) {
  Deps& d = *dp;
  if (!m.idempotency_key)
    return m.fail(problem(Code::idempotency_key_required, "this request moves points: send an Idempotency-Key"));
  if (!is_valid_idempotency_key(*m.idempotency_key))
    return m.fail(invalid_field("Idempotency-Key", "must be 1-255 printable ASCII characters"));
  // Only a request no server read (a test's) has no responder, and then nobody could be answered later.
  if (!m.responder) return m.fail(problem(Code::internal, "this request cannot wait for the wallet here"));
  auto not_ready = [&](const char* detail) {
    auto r = m.fail(problem(Code::not_ready, detail));
    r.headers.emplace_back("Retry-After", "1");
    return r;
  };
  // A gateway whose reply reader has no position yet could miss the reply (CommandClient::replies_ready).
  if (!d.app.commands.replies_ready()) return not_ready("this gateway cannot receive the wallet's replies yet; retry shortly");
  // A place among the commands that may wait for the wallet at once, also before any effect: a wallet that is
  // down or slow makes requests past the bound fail fast with nothing done (docs/reliability.md, overload).
  auto slot = d.app.commands.try_slot();
  if (!slot) return not_ready("too many requests are waiting for the wallet; retry shortly");

  cmd.command_id = sha256_hex(m.scope + "\n" + *m.idempotency_key);
  cmd.body_hash = m.fingerprint;
  cmd.request_id = m.request_id;
  cmd.reservation = d.idempotency.key_of(m.scope, *m.idempotency_key);
  PendingCommand pending{dp, std::move(m)};
  auto* redis = async_redis_here(d);
  if (!redis) return pending.decide_and_send(std::move(*slot), std::move(cmd));

  struct Held {
    PendingCommand pending;
    CommandClient::Slot slot;
    wallet::Command cmd;
  };
  auto held = std::make_shared<Held>(Held{std::move(pending), std::move(*slot), std::move(cmd)});
  const auto& p = held->pending;
  redis->command(d.idempotency.reservation(p.m.scope, *p.m.idempotency_key, p.m.fingerprint).set_nx(),
                 [held](std::optional<RedisReply> reply) {
                   const auto& m = held->pending.m;
                   try {
                     // Reserved, or Redis could not answer (then, as in begin(), the wallet's record decides).
                     if (!reply || reply->type == RedisReply::Type::status)
                       return held->pending.send(std::move(held->slot), std::move(held->cmd));
                     finish_on_worker(m.responder, m.route, m.request_id, [held](RequestContext&) {
                       return held->pending.decide_and_send(std::move(held->slot), std::move(held->cmd));
                     });
                   } catch (const std::exception& e) {
                     m.internal_error(e);
                   }
                 });
  return HttpResponse::deferred_response();
}

struct Caller {
  tenants::Tenant tenant;
  std::optional<partners::Partner> partner;
};

// The tenant, from a cache at most a second old (gateway/app.hpp: what it may be used for), reloaded by a worker
// before it expires while it is in use. The reload may run after the request: it holds the Deps by address
// (they live in the router, which outlives the server's workers).
std::optional<tenants::Tenant> cached_tenant(Deps& d, const std::string& tenant_id) {
  return d.app.lookups.tenants.get(
      tenant_id, [dp = &d, tenant_id] { return dp->tenants.get(tenant_id); }, HttpServer::post_to_workers);
}

// A member reference resolved to the member's id (cached once it exists; see gateway/lookup_cache.hpp). An
// unknown phone is enrolled when the tenant auto-enrols, and that setting is read afresh (the enrolment is
// rare and writes anyway; a cached tenant could be a second behind a PATCH that turned it off).
std::variant<std::string, Problem> member_id_of(Deps& d, const std::string& tenant_id, const std::string& ref,
                                                bool may_enroll) {
  std::optional<MemberRef> parsed;  // on the first miss of the cache
  auto resolve = [&](bool auto_enroll) -> std::variant<std::string, Problem> {
    std::optional<Problem> failed;
    auto id = d.app.lookups.members.get(tenant_id + '\n' + ref, [&]() -> std::optional<std::string> {
      if (!parsed) {
        auto r = parse_member_ref(ref);
        if (auto* p = std::get_if<Problem>(&r)) {
          failed = *p;
          return std::nullopt;
        }
        parsed = std::get<MemberRef>(std::move(r));
      }
      auto m = d.members.resolve(tenant_id, *parsed, auto_enroll);
      if (auto* p = std::get_if<Problem>(&m)) {
        failed = *p;
        return std::nullopt;
      }
      // The member index's entry (members_repository.hpp), for the next look-up by any gateway.
      index_member(d.app.redis, tenant_id, *parsed, std::get<Member>(m).id);
      return std::get<Member>(m).id;
    });
    if (!id) return *failed;
    return *id;
  };
  auto found = resolve(false);
  if (!may_enroll || !std::holds_alternative<Problem>(found) || std::get<Problem>(found).code != Code::member_not_found)
    return found;
  auto t = d.tenants.get(tenant_id);
  if (!t || !t->auto_enroll) return found;
  return resolve(true);
}

// Sends the command `build` makes for the member `ref` names (send_command). The member comes from the
// in-process cache; else, on an I/O thread, from the member index in Redis without blocking the thread
// (members_repository.hpp); else, or when the index has no entry, from member_id_of on a worker (MySQL, and
// the entry is written). Nothing has any effect before the member is known.
using BuildCommand = std::function<wallet::Command(const std::string& member_id)>;
struct MemberCommand {
  std::shared_ptr<Deps> d;
  std::string tenant_id;
  std::string ref;
  bool may_enroll;
  MovingRequest m;
  BuildCommand build;

  // The member from the cache or MySQL (may block), then the command.
  HttpResponse by_mysql() const {
    auto id = member_id_of(*d, tenant_id, ref, may_enroll);
    if (auto* p = std::get_if<Problem>(&id)) return m.fail(*p);
    return send_command(d, m, build(std::get<std::string>(id)));
  }
};

HttpResponse send_to_member(MemberCommand mc) {
  Deps& d = *mc.d;
  auto cache_key = mc.tenant_id + '\n' + mc.ref;
  if (auto id = d.app.lookups.members.find(cache_key)) return send_command(mc.d, std::move(mc.m), mc.build(*id));
  auto* redis = async_redis_here(d);
  if (!redis) return mc.by_mysql();
  auto parsed = parse_member_ref(mc.ref);
  if (auto* p = std::get_if<Problem>(&parsed)) return mc.m.fail(*p);
  auto key = member_index_key(mc.tenant_id, std::get<MemberRef>(parsed));
  redis->command({"GET", std::move(key)}, [mc = std::move(mc), cache_key = std::move(cache_key)](
                                               std::optional<RedisReply> reply) {
    const auto& m = mc.m;
    try {
      if (reply && reply->type == RedisReply::Type::string) {
        mc.d->app.lookups.members.put(cache_key, reply->str);
        return m.answer(send_command(mc.d, m, mc.build(reply->str)));
      }
      finish_on_worker(m.responder, m.route, m.request_id, [mc](RequestContext&) { return mc.by_mysql(); });
    } catch (const std::exception& e) {
      m.internal_error(e);
    }
  });
  return HttpResponse::deferred_response();
}

// The caller of a command: its tenant and, for a partner, the partner, both cached (at most a second old).
// Nothing here decides what the command does: the wallet applies it with the tenant and partner as they are
// in its own transaction and refuses there a partner that is suspended by then (the router has already
// refused a key whose partner was suspended a second ago).
std::variant<Caller, Problem> load_caller(RequestContext& ctx, Deps& d) {
  Caller c;
  auto t = cached_tenant(d, ctx.principal.tenant_id);
  if (!t) return problem(Code::unauthorized, "unknown tenant");
  c.tenant = *t;
  if (ctx.principal.kind == Principal::Kind::partner) {
    const auto& tid = ctx.principal.tenant_id;
    const auto& pid = ctx.principal.partner_id;
    auto p = d.app.lookups.partners.get(
        tid + '\n' + pid, [dp = &d, tid, pid] { return dp->partners.get(tid, pid); }, HttpServer::post_to_workers);
    if (!p) return problem(Code::unauthorized, "unknown partner");
    c.partner = *p;
  }
  return c;
}

wallet::Command base_command(const Caller& c, const std::string& member_id, CommandType type) {
  wallet::Command cmd;
  cmd.tenant_id = c.tenant.id;
  cmd.member_id = member_id;
  cmd.type = type;
  cmd.tenant = wallet::settings_of(c.tenant);
  if (c.partner) cmd.partner = wallet::snapshot_of(*c.partner);
  return cmd;
}

// Looks up an earn or redemption by id within the tenant; a partner sees only its own (404 otherwise).
std::optional<std::string> owner_member(Deps& d, const Principal& who, const char* table, const std::string& id) {
  return d.app.mysql.run([&](sql::Connection& c) -> std::optional<std::string> {
    auto st = prepare(c, fmt::format("SELECT member_id, partner_id FROM {} WHERE tenant_id = ? AND id = ?", table));
    st->setString(1, who.tenant_id);
    st->setString(2, id);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    if (!rs->next()) return std::nullopt;
    if (who.kind == Principal::Kind::partner && rs->getString(2) != who.partner_id) return std::nullopt;
    return std::string(rs->getString(1));
  });
}

// What a Redis reply to a GET of a redemption's owner entry (wallet::redis_redemption_owner_key) says for `who`:
// nullopt when it holds no owner (missing, or not an owner's value: MySQL decides); else the member's id, or ""
// when the redemption is another partner's (a partner acts on and sees only its own: 404, as if there were none).
std::optional<std::string> member_by_owner_entry(const Principal& who, const std::optional<RedisReply>& reply) {
  if (!reply || reply->type != RedisReply::Type::string) return std::nullopt;
  auto owner = wallet::parse_redemption_owner(reply->str);
  if (!owner) return std::nullopt;
  Metrics::global().add(R"(emtiaz_gateway_redemption_owner_lookups_total{source="redis"})");
  if (who.kind == Principal::Kind::partner && owner->partner_id != who.partner_id) return std::string();
  return std::move(owner->member_id);
}

// The redemption's member that `who` may see, from MySQL (owner_member), counted.
std::optional<std::string> redemption_member_by_mysql(Deps& d, const Principal& who, const std::string& id) {
  Metrics::global().add(R"(emtiaz_gateway_redemption_owner_lookups_total{source="mysql"})");
  return owner_member(d, who, "redemptions", id);
}

// The same where the caller may block (a worker): the owner entry through the blocking Redis pool, else MySQL.
std::optional<std::string> redemption_member(Deps& d, const Principal& who, const std::string& id) {
  std::optional<RedisReply> reply;
  try {
    reply = d.app.redis.command({"GET", wallet::redis_redemption_owner_key(who.tenant_id, id)});
  } catch (const std::exception& e) {
    spdlog::debug("redis read failed, falling back to MySQL: {}", e.what());
  }
  if (auto member = member_by_owner_entry(who, reply)) {
    if (member->empty()) return std::nullopt;
    return member;
  }
  return redemption_member_by_mysql(d, who, id);
}

// Sends the command `build` makes for the member who owns the redemption `id` (send_command), when the caller may
// act on it (a partner only on its own; another's is 404, as if it did not exist). On an I/O thread the owner comes
// from the entry the wallet writes to Redis when it commits the authorization, asked without blocking the thread;
// a redemption without one (its hold ended over an hour ago, Redis restarted) is looked up in MySQL on a worker.
// Nothing has any effect before.
struct RedemptionCommand {
  std::shared_ptr<Deps> d;
  Principal who;
  std::string id;
  MovingRequest m;
  BuildCommand build;

  HttpResponse send_to(const std::optional<std::string>& member) const {
    if (!member || member->empty()) return m.fail(problem(Code::not_found, "no such redemption"));
    return send_command(d, m, build(*member));
  }
};

HttpResponse send_to_redemption_owner(RedemptionCommand rc) {
  auto* redis = async_redis_here(*rc.d);
  if (!redis) return rc.send_to(redemption_member(*rc.d, rc.who, rc.id));
  auto key = wallet::redis_redemption_owner_key(rc.who.tenant_id, rc.id);
  redis->command({"GET", std::move(key)}, [rc = std::move(rc)](std::optional<RedisReply> reply) {
    const auto& m = rc.m;
    try {
      if (auto member = member_by_owner_entry(rc.who, reply)) return m.answer(rc.send_to(member));
      finish_on_worker(m.responder, m.route, m.request_id,
                       [rc](RequestContext&) { return rc.send_to(redemption_member_by_mysql(*rc.d, rc.who, rc.id)); });
    } catch (const std::exception& e) {
      m.internal_error(e);
    }
  });
  return HttpResponse::deferred_response();
}

// The member's points state as the wallet last wrote it to Redis; nullopt when Redis misses or is down.
std::optional<wallet::WalletState> cached_state(Deps& d, const std::string& tenant_id, const std::string& member_id) {
  try {
    auto r = d.app.redis.command({"GET", wallet::redis_state_key(tenant_id, member_id)});
    if (r.type == RedisReply::Type::string) {
      if (auto s = wallet::cached_state_from_text(r.str)) return s;  // the wallet's own text, without a tree
      auto j = nlohmann::json::parse(r.str, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.contains("state")) {
        auto s = wallet::state_from_json(j.at("state"));
        s.version = j.value("version", 0);
        return s;
      }
    }
  } catch (const std::exception& e) {
    spdlog::debug("redis read failed, falling back to MySQL: {}", e.what());
  }
  return std::nullopt;
}

// The member's balance as of `now` from the view the wallet stored beside the state (Redis' answer to a GET
// of wallet::redis_balance_key), when that view still holds at `now` (nothing timed has happened since).
std::optional<points::Balance> balance_from_view(const RedisReply& r, points::Instant now) {
  if (r.type != RedisReply::Type::string) return std::nullopt;
  auto v = wallet::balance_view_from_text(r.str);  // the wallet's own text, without a tree
  if (!v) v = wallet::balance_view_from_json(nlohmann::json::parse(r.str, nullptr, false));
  if (v && v->holds_at(now)) return v->balance;
  return std::nullopt;
}

// The same, read with a blocking GET; nullopt also when Redis misses or is down.
std::optional<points::Balance> cached_balance(Deps& d, const std::string& tenant_id, const std::string& member_id,
                                              points::Instant now) {
  try {
    return balance_from_view(d.app.redis.command({"GET", wallet::redis_balance_key(tenant_id, member_id)}), now);
  } catch (const std::exception& e) {
    spdlog::debug("redis read failed, falling back: {}", e.what());
  }
  return std::nullopt;
}

// The member's points state as committed in MySQL (an empty state for a member with none yet).
wallet::WalletState stored_state(Deps& d, const std::string& tenant_id, const std::string& member_id) {
  return d.app.mysql.run([&](sql::Connection& c) {
    auto st = prepare(c, "SELECT version, state, cold_lots FROM member_states WHERE tenant_id = ? AND member_id = ?");
    st->setString(1, tenant_id);
    st->setString(2, member_id);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    wallet::WalletState s;
    if (rs->next()) {
      s = wallet::read_stored_state(std::string(rs->getString(2)),
                                    rs->isNull(3) ? std::nullopt : std::optional<std::string>(rs->getString(3)));
      s.version = rs->getInt64(1);
    }
    return s;
  });
}

// A balance read once its member is known (GET /v1/members/{member}/balance).
struct BalanceRead {
  std::string tenant_id;
  std::string tz;         // the tenant's time zone, for the times shown
  std::string ref;        // the member as the caller named it
  std::string member_id;  // resolved (the same as ref for a member id)
  bool by_id = false;     // ref is a member id, not yet known to be the tenant's
  points::Instant now;
};

// The answer to a balance read: the balance as the contract shows it, times in the tenant's zone.
HttpResponse balance_answer(const BalanceRead& read, const points::Balance& balance) {
  return HttpResponse::json(200, wallet::balance_text(read.member_id, balance, read.tz));
}

// After a balance read that had to take the member's state from MySQL: the view of what it found, so that
// the member's next read is one GET on an I/O thread. The wallet writes a view only when it changes a state,
// so without this a member with no points yet (enrolled, never earned) — or one whose keys expired or were
// lost — costs every read a worker, a Redis miss and a MySQL query. `NX`: a view the wallet wrote meanwhile
// (after a commit this read did not see) is never replaced; one it writes later replaces this one, as any of
// its writes does; and when the wallet could not write a view, it deletes the key before its next write
// (WalletService::update_cache), this one included. The view carries the state's version, as the wallet's
// do (the audit compares them). Best effort: if it fails, the next read only takes the same way again.
void leave_view(Deps& d, const BalanceRead& read, const points::BalanceView& view, std::int64_t version) {
  try {
    d.app.redis.command({"SET", wallet::redis_balance_key(read.tenant_id, read.member_id),
                         wallet::balance_view_text(view, version), "NX", "EX",
                         wallet::kMemberCacheTtlSeconds});
  } catch (const std::exception& e) {
    spdlog::debug("could not leave a balance view in redis: {}", e.what());
  }
}

// The balance when the wallet's view did not answer: the state from Redis, else MySQL (may block). A phone or
// card the member index did not have (member_id empty) is resolved first, and its view asked for then.
HttpResponse balance_beyond_view(Deps& d, const RequestContext& ctx, BalanceRead read) {
  if (read.member_id.empty()) {
    auto m = member_id_of(d, read.tenant_id, read.ref, false);
    if (auto* p = std::get_if<Problem>(&m)) return fail(ctx, *p);
    read.member_id = std::get<std::string>(m);
    if (auto b = cached_balance(d, read.tenant_id, read.member_id, read.now))
      return balance_answer(read, *b);
  }
  if (auto s = cached_state(d, read.tenant_id, read.member_id))
    return balance_answer(read, points::balance_at(s->points, read.now));
  if (read.by_id) {
    auto m = member_id_of(d, read.tenant_id, read.ref, false);
    if (auto* p = std::get_if<Problem>(&m)) return fail(ctx, *p);
  }
  auto state = stored_state(d, read.tenant_id, read.member_id);
  // The view's balance is the answer (points::balance_view is balance_at with valid_until): the state is
  // advanced to now once, for both.
  const auto view = points::balance_view(state.points, read.now);
  leave_view(d, read, view, state.version);
  return balance_answer(read, view.balance);
}

// Answers a balance read from Redis' reply to the GET of the wallet's view, on the I/O thread that asked: at
// once from a view that holds, else on a worker the rest of the way (balance_beyond_view).
void answer_balance(const std::shared_ptr<Deps>& d, const HttpResponder& responder, const BalanceRead& read,
                    const std::string& route, const std::string& request_id, const std::optional<RedisReply>& reply) {
  if (auto b = reply ? balance_from_view(*reply, read.now) : std::nullopt) {
    auto r = balance_answer(read, *b);
    r.route = route;
    return responder(std::move(r));
  }
  finish_on_worker(responder, route, request_id,
                   [d, read](RequestContext& c) { return balance_beyond_view(*d, c, read); });
}

// Asks this I/O thread's Redis for the member's balance view and answers from its reply (answer_balance).
void ask_view(const std::shared_ptr<Deps>& d, AsyncRedis& redis, const HttpResponder& responder,
              const BalanceRead& read, const std::string& route, const std::string& request_id) {
  redis.command({"GET", wallet::redis_balance_key(read.tenant_id, read.member_id)},
                [d, responder, read, route, request_id](std::optional<RedisReply> reply) {
                  answer_balance(d, responder, read, route, request_id, reply);
                });
}

// A redemption the wallet archived once it was finished (wallet/archive.hpp); nullopt when there is none.
std::optional<wallet::ArchivedRedemption> archived_redemption(Deps& d, const std::string& tenant_id,
                                                              const std::string& member_id, const std::string& id) {
  return d.app.mysql.run([&](sql::Connection& c) -> std::optional<wallet::ArchivedRedemption> {
    auto st = prepare(c, "SELECT kind, receipt_id, record FROM member_archive WHERE tenant_id = ? AND member_id = ? "
                         "AND id = ?");
    st->setString(1, tenant_id);
    st->setString(2, member_id);
    st->setString(3, id);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    if (!rs->next()) return std::nullopt;
    wallet::ArchiveRow row;
    row.id = id;
    row.kind = rs->getString(1);
    row.receipt_id = rs->isNull(2) ? std::string() : std::string(rs->getString(2));
    row.record = rs->getString(3);
    return wallet::archived_redemption(row);
  });
}

// The member's points state: Redis first, MySQL when Redis misses or is down (Redis is only a cache).
wallet::WalletState load_state(Deps& d, const std::string& tenant_id, const std::string& member_id) {
  if (auto s = cached_state(d, tenant_id, member_id)) return *s;
  return stored_state(d, tenant_id, member_id);
}

template <typename T>
bool take(std::variant<T, Problem>& v, T& out, std::optional<Problem>& err) {
  if (auto* p = std::get_if<Problem>(&v)) {
    err = *p;
    return false;
  }
  out = std::get<T>(std::move(v));
  return true;
}

}  // namespace

void register_points_routes(Router& router, App& app) {
  auto d = std::make_shared<Deps>(app);

  // Parses the body and loads the caller; returns a response on failure.
  auto prologue = [d](RequestContext& ctx, nlohmann::json& body, Caller& caller) -> std::optional<HttpResponse> {
    auto parsed = parse_object(ctx.req.body(), true);
    std::optional<Problem> err;
    if (!take(parsed, body, err)) return fail(ctx, *err);
    auto c = load_caller(ctx, *d);
    if (!take(c, caller, err)) return fail(ctx, *err);
    return std::nullopt;
  };

  // Earns, authorizations and adjustments are tried on the I/O thread (inline_ok): with the tenant and partner in
  // the in-process caches they need only Redis (the member index unless the member is cached, then the
  // reservation), both asked without blocking the thread, and a produce; then they wait for the wallet without
  // any thread. A tenant or partner cache miss needs MySQL, which throws WouldBlock before any effect (the rate
  // limit's count aside, which the router counts once), and the request goes to a worker instead; a member the
  // index does not have goes to a worker from Redis' reply (send_to_member).
  // The redemption actions are tried inline too: their redemption's owner comes from Redis
  // (send_to_redemption_owner). A purchase refund goes inline to the member its earn's id names
  // (wallet/earn_ids.hpp; the wallet refunds only an earn of that member's, made by this partner); an earn id that
  // names none (made before that form) needs MySQL (owner_member), and such a refund moves to a worker.
  router.add({"POST", "/v1/earn", kPartner, [d, prologue](RequestContext& ctx) {
                nlohmann::json body;
                Caller caller;
                if (auto r = prologue(ctx, body, caller)) return *r;
                Reader in{body, {}};
                auto member = in.string("member", true);
                auto amount = in.amount("amount_irr", true);
                auto receipt = in.string("receipt_id", true);
                auto category = in.string("category", false, 100);
                auto occurred = in.string("occurred_at", false, 64);
                if (!in.ok()) return fail(ctx, *in.err);
                if (occurred && !parse_rfc3339(*occurred)) return fail(ctx, invalid_field("occurred_at", "must be an RFC 3339 time with offset"));
                auto build = [caller, amount, receipt, category, occurred](const std::string& member_id) {
                  auto cmd = base_command(caller, member_id, CommandType::earn);
                  cmd.args = {{"amount_irr", *amount}, {"receipt_id", *receipt}};
                  if (category) cmd.args["category"] = *category;
                  if (occurred) cmd.args["occurred_at"] = *occurred;
                  return cmd;
                };
                return send_to_member({d, caller.tenant.id, *member, /*may_enroll=*/true, moving_request(ctx, body), build});
              },
              /*inline_ok=*/true});

  router.add({"POST", "/v1/earn/{id}/refund", kPartner, [d, prologue](RequestContext& ctx) {
                nlohmann::json body;
                Caller caller;
                if (auto r = prologue(ctx, body, caller)) return *r;
                Reader in{body, {}};
                auto amount = in.amount("amount_irr", true);
                if (!in.ok()) return fail(ctx, *in.err);
                const auto& earn_id = ctx.params["id"];
                auto member = wallet::member_of_earn_id(earn_id);
                if (member) {
                  Metrics::global().add(R"(emtiaz_gateway_earn_owner_lookups_total{source="id"})");
                } else {
                  member = owner_member(*d, ctx.principal, "earns", earn_id);  // on a worker (WouldBlock inline)
                  Metrics::global().add(R"(emtiaz_gateway_earn_owner_lookups_total{source="mysql"})");
                }
                if (!member) return fail(ctx, problem(Code::not_found, "no such earn"));
                auto cmd = base_command(caller, *member, CommandType::purchase_refund);
                cmd.args = {{"earn_id", earn_id}, {"amount_irr", *amount}};
                return send_command(d, moving_request(ctx, body), std::move(cmd));
              },
              /*inline_ok=*/true});

  router.add({"POST", "/v1/redemptions", kPartner, [d, prologue](RequestContext& ctx) {
                nlohmann::json body;
                Caller caller;
                if (auto r = prologue(ctx, body, caller)) return *r;
                Reader in{body, {}};
                auto member = in.string("member", true);
                auto pts = in.amount("points", false);
                auto amount = in.amount("amount_irr", false);
                auto receipt = in.string("receipt_id", true);
                auto capture = in.boolean("capture", false);
                if (!in.ok()) return fail(ctx, *in.err);
                if (pts.has_value() == amount.has_value())
                  return fail(ctx, invalid_field(pts ? "amount_irr" : "points", "send exactly one of points and amount_irr"));
                auto build = [caller, pts, amount, receipt, capture](const std::string& member_id) {
                  auto cmd = base_command(caller, member_id, CommandType::authorize);
                  cmd.args = {{"receipt_id", *receipt}, {"capture", capture.value_or(false)}};
                  if (pts) cmd.args["points"] = *pts;
                  if (amount) cmd.args["amount_irr"] = *amount;
                  return cmd;
                };
                return send_to_member({d, caller.tenant.id, *member, false, moving_request(ctx, body), build});
              },
              /*inline_ok=*/true});

  auto redemption_action = [d, prologue](CommandType type, bool takes_points) {
    return [d, prologue, type, takes_points](RequestContext& ctx) {
      nlohmann::json body;
      Caller caller;
      if (auto r = prologue(ctx, body, caller)) return *r;
      Reader in{body, {}};
      std::optional<std::int64_t> pts;
      if (takes_points) pts = in.amount("points", false);
      if (!in.ok()) return fail(ctx, *in.err);
      auto build = [caller, type, pts, id = ctx.params["id"]](const std::string& member_id) {
        auto cmd = base_command(caller, member_id, type);
        cmd.args = {{"redemption_id", id}};
        if (pts) cmd.args["points"] = *pts;
        return cmd;
      };
      return send_to_redemption_owner({d, ctx.principal, ctx.params["id"], moving_request(ctx, body), build});
    };
  };
  router.add({"POST", "/v1/redemptions/{id}/capture", kPartner, redemption_action(CommandType::capture, true),
              /*inline_ok=*/true});
  router.add({"POST", "/v1/redemptions/{id}/void", kPartner, redemption_action(CommandType::void_redemption, false),
              /*inline_ok=*/true});
  router.add({"POST", "/v1/redemptions/{id}/refund", kPartner,
              redemption_action(CommandType::redemption_refund, true), /*inline_ok=*/true});

  router.add({"POST", "/v1/adjustments", kOperator, [d, prologue](RequestContext& ctx) {
                nlohmann::json body;
                Caller caller;
                if (auto r = prologue(ctx, body, caller)) return *r;
                Reader in{body, {}};
                auto member = in.string("member", true);
                std::optional<std::int64_t> pts;
                auto it = body.find("points");
                if (it == body.end() || it->is_null()) {
                  return fail(ctx, invalid_field("points", "is required"));
                } else if (!it->is_number()) {
                  return fail(ctx, invalid_field("points", "must be an integer"));
                } else if (!it->is_number_integer()) {
                  Problem p{Code::invalid_amount, "points: must be a non-zero integer"};
                  p.extra["field"] = "points";
                  return fail(ctx, p);
                } else {
                  pts = it->get<std::int64_t>();
                  if (*pts == 0 || *pts > kMaxAmount || *pts < -kMaxAmount) {
                    Problem p{Code::invalid_amount, "points: must be non-zero and at most 10^15 in size"};
                    p.extra["field"] = "points";
                    return fail(ctx, p);
                  }
                }
                auto reason = in.string("reason", true, 500);
                if (!in.ok()) return fail(ctx, *in.err);
                auto build = [caller, pts, reason](const std::string& member_id) {
                  auto cmd = base_command(caller, member_id, CommandType::adjust);
                  cmd.args = {{"points", *pts}, {"reason", *reason}};
                  return cmd;
                };
                return send_to_member({d, caller.tenant.id, *member, false, moving_request(ctx, body), build});
              },
              /*inline_ok=*/true});

  router.add({"GET", "/v1/members/{member}/balance", kPartner | kOperator, [d](RequestContext& ctx) {
                auto t = cached_tenant(*d, ctx.principal.tenant_id);
                if (!t) return fail(ctx, problem(Code::not_found, "no such tenant"));
                // First the wallet's precomputed view (small; exact until the member's next timed change),
                // then the state (computed as of now), from Redis, else MySQL. A phone or card is resolved
                // first; a member id is used as it is, because a view or state the wallet wrote under
                // (tenant, id) proves the member is the tenant's — it is checked only when Redis has neither.
                BalanceRead read{t->id, t->timezone, ctx.params["member"], {}, false, now_utc()};
                read.by_id = read.ref.rfind("mem_", 0) == 0;
                read.member_id = read.ref;
                // On an I/O thread Redis is asked without blocking it, and the request is answered when Redis
                // replies (answer_balance): a phone or card not in the in-process cache first through the
                // member index (members_repository.hpp), then the view.
                auto* redis = async_redis_here(*d);
                auto responder = redis ? ctx.req.responder() : HttpResponder();
                if (!read.by_id) {
                  auto cache_key = t->id + '\n' + read.ref;
                  if (auto id = d->app.lookups.members.find(cache_key)) {
                    read.member_id = *id;
                  } else if (responder) {
                    auto parsed = parse_member_ref(read.ref);
                    if (auto* p = std::get_if<Problem>(&parsed)) return fail(ctx, *p);
                    read.member_id.clear();  // unresolved: a worker resolves it if the index cannot
                    redis->command({"GET", member_index_key(t->id, std::get<MemberRef>(parsed))},
                                   [d, responder, read, cache_key, route = ctx.route, request_id = ctx.req.request_id](
                                       std::optional<RedisReply> reply) mutable {
                                     auto* here = async_redis_here(*d);
                                     if (here && reply && reply->type == RedisReply::Type::string) {
                                       d->app.lookups.members.put(cache_key, reply->str);
                                       read.member_id = reply->str;
                                       return ask_view(d, *here, responder, read, route, request_id);
                                     }
                                     answer_balance(d, responder, read, route, request_id, std::nullopt);
                                   });
                    return HttpResponse::deferred_response();
                  } else {
                    auto m = member_id_of(*d, t->id, read.ref, false);
                    if (auto* p = std::get_if<Problem>(&m)) return fail(ctx, *p);
                    read.member_id = std::get<std::string>(m);
                  }
                }
                if (responder) {
                  ask_view(d, *redis, responder, read, ctx.route, ctx.req.request_id);
                  return HttpResponse::deferred_response();
                }
                if (auto b = cached_balance(*d, read.tenant_id, read.member_id, read.now))
                  return balance_answer(read, *b);
                return balance_beyond_view(*d, ctx, read);
              },
              /*inline_ok=*/true});

  router.add({"GET", "/v1/redemptions/{id}", kPartner | kOperator, [d](RequestContext& ctx) {
                auto t = cached_tenant(*d, ctx.principal.tenant_id);
                if (!t) return fail(ctx, problem(Code::not_found, "no such tenant"));
                auto member = redemption_member(*d, ctx.principal, ctx.params["id"]);
                if (!member) return fail(ctx, problem(Code::not_found, "no such redemption"));
                auto state = load_state(*d, t->id, *member);
                auto now = now_utc();
                wallet::WalletState view = state;
                (void)points::advance(view.points, now);
                const auto* r = points::find_redemption(view.points, ctx.params["id"]);
                std::optional<wallet::ArchivedRedemption> finished;
                if (!r) {  // a finished redemption has left the state for the archive
                  finished = archived_redemption(*d, t->id, *member, ctx.params["id"]);
                  if (!finished) return fail(ctx, problem(Code::not_found, "no such redemption"));
                  r = &finished->redemption;
                  view.redemption_receipts[r->id] = finished->receipt_id;
                }
                return json_response(200, wallet::redemption_json(*member, view, *r, now, t->timezone));
              }});

  router.add({"GET", "/v1/members/{member}/transactions", kPartner | kOperator, [d](RequestContext& ctx) {
                auto params = parse_list_params(ctx.req, "txn");
                if (auto* p = std::get_if<Problem>(&params)) return fail(ctx, *p);
                auto lp = std::get<ListParams>(params);
                auto t = cached_tenant(*d, ctx.principal.tenant_id);
                if (!t) return fail(ctx, problem(Code::not_found, "no such tenant"));
                auto m = member_id_of(*d, t->id, ctx.params["member"], false);
                if (auto* p = std::get_if<Problem>(&m)) return fail(ctx, *p);
                const auto& member_id = std::get<std::string>(m);
                const bool is_partner = ctx.principal.kind == Principal::Kind::partner;
                return d->app.mysql.run([&](sql::Connection& c) {
                  auto st = prepare(c,
                                    "SELECT t.id, t.txn_id, t.type, t.points, t.partner_id, p.name, t.receipt_id, t.reason, "
                                    "t.earn_id, t.redemption_id, t.at FROM ledger_transactions t LEFT JOIN partners p ON "
                                    "p.tenant_id = t.tenant_id AND p.id = t.partner_id WHERE t.tenant_id = ? AND "
                                    "t.member_id = ? AND t.id < ? ORDER BY t.id DESC LIMIT ?");
                  st->setString(1, t->id);
                  st->setString(2, member_id);
                  st->setInt64(3, lp.position.value_or(std::numeric_limits<std::int64_t>::max()));
                  st->setInt(4, lp.limit + 1);
                  std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
                  nlohmann::json items = nlohmann::json::array();
                  std::int64_t last = 0;
                  int n = 0;
                  bool more = false;
                  while (rs->next()) {
                    if (n == lp.limit) {
                      more = true;
                      break;
                    }
                    ++n;
                    last = rs->getInt64(1);
                    auto str = [&](int i) -> nlohmann::json {
                      return rs->isNull(i) ? nlohmann::json(nullptr) : nlohmann::json(std::string(rs->getString(i)));
                    };
                    auto partner = str(5);
                    bool own = !is_partner || (partner.is_string() && partner.get<std::string>() == ctx.principal.partner_id);
                    // Filled field by field: a braced list builds a two-element array per field first.
                    nlohmann::json item(nlohmann::json::value_t::object);
                    item["id"] = std::string(rs->getString(2));
                    item["type"] = std::string(rs->getString(3));
                    item["points"] = rs->getInt64(4);
                    item["at"] = format_rfc3339(parse_sql_time(rs->getString(11)), t->timezone, TimePrecision::micros);
                    item["partner_id"] = std::move(partner);
                    item["partner_name"] = str(6);
                    item["receipt_id"] = own ? str(7) : nlohmann::json(nullptr);
                    item["reason"] = str(8);
                    item["earn_id"] = str(9);
                    item["redemption_id"] = str(10);
                    items.push_back(std::move(item));
                  }
                  // Moved, not copied: an initializer list copies what it is given (a whole page, again).
                  nlohmann::json out = {{"items", std::move(items)},
                                        {"next_cursor", more ? nlohmann::json(encode_cursor("txn", last)) : nlohmann::json(nullptr)}};
                  return json_response(200, out);
                });
              }});
}

}  // namespace emtiaz::gateway
