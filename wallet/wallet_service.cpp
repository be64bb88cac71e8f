#include "wallet/wallet_service.hpp"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "common/errors.hpp"
#include "common/metrics.hpp"
#include "common/sql_util.hpp"
#include "points/points_json.hpp"

namespace emtiaz::wallet {
namespace {

constexpr size_t kTimerBatch = 200;

std::string placeholders(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += i ? ",?" : "?";
  return s;
}

struct Conflict : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

std::string redis_state_key(const std::string& tenant_id, const std::string& member_id) {
  return fmt::format("emtiaz:{{t:{}:{}}}:state", tenant_id, member_id);
}

struct WalletService::Pending {
  Command cmd;
  std::optional<Reply> reply;
};

struct WalletService::Unit {
  std::string tenant_id;
  std::string member_id;
  std::int32_t part = 0;
  std::vector<Pending*> commands;  // in partition order; empty for a timer-only unit
  bool time_only = false;
  // Filled by commit_units:
  WalletState state;
  bool exists = false;
  bool changed = false;
  std::vector<std::pair<std::int64_t, std::string>> events;  // (seq, payload) to publish
};

WalletService::WalletService(WalletConfig config, MysqlPool& mysql, RedisPool& redis, KafkaProducer& producer)
    : config_(std::move(config)), mysql_(mysql), redis_(redis), producer_(producer) {
  consumer_ = std::make_unique<KafkaConsumer>(config_.kafka, "emtiaz-wallet",
                                              std::vector<std::string>{config_.kafka.commands_topic},
                                              KafkaConsumer::Mode::group);
}

WalletService::~WalletService() = default;

void WalletService::run(const std::atomic<bool>& stop) {
  auto last_timer = std::chrono::steady_clock::now() - std::chrono::hours(1);
  while (!stop) {
    auto msgs = consumer_->poll(static_cast<size_t>(config_.batch_size_max), std::chrono::milliseconds(config_.batch_wait_ms + 20));
    if (consumer_->generation() != generation_) {
      generation_ = consumer_->generation();
      auto a = consumer_->assignment();
      owned_ = std::set<std::int32_t>(a.begin(), a.end());
      has_assignment_ = !owned_.empty();
      backlog_ = true;
      spdlog::info("wallet owns partitions [{}]", fmt::join(owned_, ","));
    }
    auto bootstrap = kafka_bootstrap(config_.kafka);
    if (!bootstrap_.empty() && bootstrap != bootstrap_) {
      // The broker came back without its data: everything not known to be consumed is published again.
      // Consumers deduplicate by the wallet's per-partition sequence.
      spdlog::warn("broker changed: republishing the outbox of owned partitions");
      try {
        mysql_.run([&](sql::Connection& c) {
          // Republish from the oldest sequence clearing has not applied (clearing skips what it has).
          std::unique_ptr<sql::Statement> st(c.createStatement());
          st->execute("UPDATE wallet_partitions w LEFT JOIN clearing_positions c ON c.part = w.part "
                      "SET w.published_seq = LEAST(w.published_seq, COALESCE(c.applied_seq, 0))");
        });
      } catch (const std::exception& e) {
        spdlog::warn("could not reset the outbox position: {}", e.what());
      }
      backlog_ = true;
    }
    bootstrap_ = bootstrap;
    try {
      if (!msgs.empty()) process_commands(msgs);
      auto now = std::chrono::steady_clock::now();
      if (backlog_) publish_outbox_backlog();
      if (!dirty_keys_.empty()) {
        try {
          clean_dirty_keys();
        } catch (const std::exception&) {
        }
      }
      if (now - last_timer >= std::chrono::milliseconds(config_.timer_interval_ms)) {
        last_timer = now;
        run_timers();
      }
    } catch (const std::exception& e) {
      spdlog::warn("wallet loop: {}", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

void WalletService::process_commands(const std::vector<KafkaMessage>& msgs) {
  std::vector<std::unique_ptr<Pending>> pending;
  std::vector<Unit> units;
  std::map<std::pair<std::string, std::string>, size_t> unit_of;
  for (const auto& m : msgs) {
    nlohmann::json j = nlohmann::json::parse(m.value, nullptr, false);
    auto cmd = j.is_discarded() ? std::nullopt : Command::from_json(j);
    if (!cmd) {
      spdlog::error("skipping a malformed command at {}:{}", m.partition, m.offset);
      Metrics::global().add("emtiaz_wallet_malformed_commands_total");
      continue;
    }
    auto p = std::make_unique<Pending>();
    p->cmd = std::move(*cmd);
    auto key = std::pair{p->cmd.tenant_id, p->cmd.member_id};
    auto it = unit_of.find(key);
    if (it == unit_of.end()) {
      Unit u;
      u.tenant_id = key.first;
      u.member_id = key.second;
      u.part = m.partition;
      it = unit_of.emplace(key, units.size()).first;
      units.push_back(std::move(u));
    }
    units[it->second].commands.push_back(p.get());
    pending.push_back(std::move(p));
  }
  if (!units.empty()) {
    // The batch is retried until it commits: its commands' offsets are committed only after that.
    for (int attempt = 0;; ++attempt) {
      try {
        if (commit_units(units, now_utc())) break;
      } catch (const std::exception& e) {
        spdlog::warn("wallet batch attempt {} failed: {}", attempt + 1, e.what());
        Metrics::global().add("emtiaz_wallet_batch_retries_total");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1000, 50 * (attempt + 1))));
    }
    after_commit(units);
    for (auto& p : pending) {
      if (!p->reply) continue;
      KafkaOutMessage out{config_.kafka.replies_topic, p->cmd.reply_partition, p->cmd.command_id,
                          dump_json(p->reply->to_json())};
      producer_.produce(out);
    }
  }
  consumer_->commit(msgs);
  Metrics::global().add("emtiaz_wallet_commands_total", static_cast<double>(pending.size()));
}

bool WalletService::commit_units(std::vector<Unit>& units, Instant now) {
  return mysql_.transaction([&](sql::Connection& c) {
    // 1. What is already known: applied commands, member states and used receipts, grouped by tenant.
    std::map<std::string, std::vector<Unit*>> by_tenant;
    for (auto& u : units) {
      u.state = WalletState{};
      u.exists = false;
      u.changed = false;
      u.events.clear();
      by_tenant[u.tenant_id].push_back(&u);
      for (auto* p : u.commands) p->reply.reset();
    }
    std::map<std::string, std::tuple<std::string, int, std::string>> records;  // command_id -> (hash, status, body)
    std::set<std::tuple<std::string, std::string, std::string>> receipts;     // (tenant, partner, receipt)
    for (auto& [tenant, us] : by_tenant) {
      std::vector<std::string> ids, members, receipt_ids;
      for (auto* u : us) {
        members.push_back(u->member_id);
        for (auto* p : u->commands) {
          ids.push_back(p->cmd.command_id);
          if (p->cmd.type == CommandType::earn) receipt_ids.push_back(p->cmd.args.value("receipt_id", ""));
        }
      }
      if (!ids.empty()) {
        auto st = prepare(c, "SELECT command_id, body_hash, status, response FROM wallet_commands WHERE tenant_id = ? AND "
                             "command_id IN (" + placeholders(ids.size()) + ")");
        st->setString(1, tenant);
        for (size_t i = 0; i < ids.size(); ++i) st->setString(static_cast<unsigned>(i + 2), ids[i]);
        std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
        while (rs->next())
          records[rs->getString(1)] = {rs->getString(2), rs->getInt(3), rs->getString(4)};
      }
      {
        auto st = prepare(c, "SELECT member_id, version, state FROM member_states WHERE tenant_id = ? AND member_id IN (" +
                                 placeholders(members.size()) + ")");
        st->setString(1, tenant);
        for (size_t i = 0; i < members.size(); ++i) st->setString(static_cast<unsigned>(i + 2), members[i]);
        std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
        std::map<std::string, std::pair<std::int64_t, std::string>> loaded;
        while (rs->next()) loaded[rs->getString(1)] = {rs->getInt64(2), rs->getString(3)};
        for (auto* u : us) {
          auto it = loaded.find(u->member_id);
          if (it == loaded.end()) continue;
          u->state = state_from_json(nlohmann::json::parse(it->second.second));
          u->state.version = it->second.first;
          u->exists = true;
        }
      }
      if (!receipt_ids.empty()) {
        auto st = prepare(c, "SELECT partner_id, receipt_id FROM earns WHERE tenant_id = ? AND receipt_id IN (" +
                                 placeholders(receipt_ids.size()) + ")");
        st->setString(1, tenant);
        for (size_t i = 0; i < receipt_ids.size(); ++i) st->setString(static_cast<unsigned>(i + 2), receipt_ids[i]);
        std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
        while (rs->next()) receipts.insert({tenant, rs->getString(1), rs->getString(2)});
      }
    }

    // 2. Apply, in order, per member.
    BulkInsert cmd_rows("wallet_commands", {"tenant_id", "command_id", "body_hash", "status", "response", "created_at"});
    BulkInsert entry_rows("ledger_entries", {"tenant_id", "member_id", "txn_id", "type", "points", "lot_id", "issuer",
                                             "issue_price_irr", "fee_bps", "partner_id", "redemption_id",
                                             "redeem_value_irr", "at", "committed_at"});
    BulkInsert history_rows("ledger_transactions", {"tenant_id", "member_id", "txn_id", "type", "points", "partner_id",
                                                    "receipt_id", "reason", "earn_id", "redemption_id", "at"});
    BulkInsert earn_rows("earns", {"tenant_id", "id", "member_id", "partner_id", "receipt_id", "amount_irr", "points",
                                   "command_id", "created_at"});
    BulkInsert redemption_rows("redemptions", {"tenant_id", "id", "member_id", "partner_id", "receipt_id", "created_at"});
    const auto committed = sql_time(now);
    std::map<std::int32_t, std::vector<std::pair<Unit*, nlohmann::json>>> events_by_part;

    auto record_effect = [&](Unit& u, const Effect& e, const std::string& command_id) {
      if (e.movements.empty() && e.history.empty()) return;
      u.changed = true;
      nlohmann::json entries = nlohmann::json::array();
      std::string txn = e.history.empty() ? std::string("txn_time") : e.history.front().txn_id;
      for (const auto& m : e.movements) {
        if (m.type == points::MovementType::pending_available) continue;
        const auto* lot = m.lot_id.empty() ? nullptr : points::find_lot(u.state.points, m.lot_id);
        const auto* red = m.redemption_id.empty() ? nullptr : points::find_redemption(u.state.points, m.redemption_id);
        std::int64_t price = lot ? lot->issue_price_irr : 0, fee = lot ? lot->fee_bps : 0;
        std::int64_t value = red ? red->redeem_value_irr : 0;
        entry_rows.add({u.tenant_id, u.member_id, txn, std::string(points::to_string(m.type)), m.points, m.lot_id,
                        m.issuer, price, fee, m.partner_id, m.redemption_id, value, sql_time(m.at), committed});
        entries.push_back({{"type", points::to_string(m.type)},
                           {"points", m.points},
                           {"lot_id", m.lot_id},
                           {"issuer", m.issuer},
                           {"issue_price_irr", price},
                           {"fee_bps", fee},
                           {"partner_id", m.partner_id},
                           {"redemption_id", m.redemption_id},
                           {"redeem_value_irr", value},
                           {"earn_id", m.earn_id},
                           {"at", points::to_micros(m.at)}});
      }
      for (const auto& h : e.history) {
        auto opt = [](const std::string& s) -> SqlValue { return s.empty() ? SqlValue(nullptr) : SqlValue(s); };
        history_rows.add({u.tenant_id, u.member_id, h.txn_id, h.type, h.points, opt(h.partner_id), opt(h.receipt_id),
                          opt(h.reason), opt(h.earn_id), opt(h.redemption_id), sql_time(h.at)});
      }
      if (!entries.empty()) {
        events_by_part[u.part].push_back({&u, {{"kind", "ledger"},
                                               {"tenant_id", u.tenant_id},
                                               {"member_id", u.member_id},
                                               {"command_id", command_id},
                                               {"committed_at", points::to_micros(now)},
                                               {"entries", entries}}});
      }
    };

    std::map<std::string, const Effect*> applied_here;  // command_id -> effect, for duplicates within a batch
    std::vector<std::unique_ptr<Effect>> effects;
    for (auto& u : units) {
      if (u.time_only) {
        auto e = apply_time(u.state, now);
        record_effect(u, e, "");
        if (!u.changed && u.exists) u.changed = true;  // rewrite next_due even if nothing moved
        continue;
      }
      for (auto* p : u.commands) {
        const auto& cmd = p->cmd;
        auto rec = records.find(cmd.command_id);
        if (rec != records.end()) {
          auto& [hash, status, body] = rec->second;
          if (hash != cmd.body_hash) {
            p->reply = Reply{cmd.command_id, 409,
                             render_problem(problem(Code::idempotency_key_reused,
                                                    "this Idempotency-Key was used with another request"),
                                            cmd.request_id),
                             false};
          } else {
            p->reply = Reply{cmd.command_id, status, body, true};
          }
          continue;
        }
        auto here = applied_here.find(cmd.command_id);
        if (here != applied_here.end()) {
          p->reply = Reply{cmd.command_id, here->second->status, here->second->body, true};
          continue;
        }
        bool taken = false;
        std::string receipt;
        if (cmd.type == CommandType::earn && cmd.partner) {
          receipt = cmd.args.value("receipt_id", "");
          taken = receipts.count({u.tenant_id, cmd.partner->id, receipt}) > 0;
        }
        auto e = std::make_unique<Effect>(apply_command(u.state, cmd, now, taken));
        if (e->earn) receipts.insert({u.tenant_id, cmd.partner->id, receipt});
        record_effect(u, *e, cmd.command_id);
        u.changed = true;
        cmd_rows.add({u.tenant_id, cmd.command_id, cmd.body_hash, static_cast<std::int64_t>(e->status), e->body,
                      committed});
        if (e->earn)
          earn_rows.add({u.tenant_id, e->earn->id, u.member_id, e->earn->partner_id, e->earn->receipt_id,
                         e->earn->amount_irr, e->earn->points, cmd.command_id, committed});
        if (e->redemption)
          redemption_rows.add({u.tenant_id, e->redemption->id, u.member_id, e->redemption->partner_id,
                               e->redemption->receipt_id, committed});
        p->reply = Reply{cmd.command_id, e->status, e->body, false};
        applied_here[cmd.command_id] = e.get();
        effects.push_back(std::move(e));
      }
    }

    // 3. Sequence the batch's events per partition (the wallet's own positions, which survive a broker that
    //    lost its data), then write everything.
    if (!events_by_part.empty()) {
      std::vector<std::int32_t> parts;
      for (auto& [p, _] : events_by_part) parts.push_back(p);
      BulkInsert init("wallet_partitions", {"part", "next_seq", "published_seq", "watermark"}, "ON DUPLICATE KEY UPDATE part = part");
      for (auto p : parts) init.add({static_cast<std::int64_t>(p), std::int64_t{1}, std::int64_t{0}, std::string("1970-01-01 00:00:00")});
      init.execute(c);
      std::string in;
      for (auto p : parts) in += (in.empty() ? "" : ",") + std::to_string(p);
      std::map<std::int32_t, std::int64_t> next;
      {
        std::unique_ptr<sql::Statement> st(c.createStatement());
        std::unique_ptr<sql::ResultSet> rs(
            st->executeQuery("SELECT part, next_seq FROM wallet_partitions WHERE part IN (" + in + ") FOR UPDATE"));
        while (rs->next()) next[rs->getInt(1)] = rs->getInt64(2);
      }
      BulkInsert outbox("outbox", {"part", "seq", "tenant_id", "payload", "created_at"});
      for (auto& [part, evs] : events_by_part) {
        for (auto& [u, payload] : evs) {
          auto seq = next[part]++;
          payload["part"] = part;
          payload["seq"] = seq;
          auto text = dump_json(payload);
          outbox.add({static_cast<std::int64_t>(part), seq, u->tenant_id, text, committed});
          u->events.emplace_back(seq, std::move(text));
        }
        auto st = prepare(c, "UPDATE wallet_partitions SET next_seq = ? WHERE part = ?");
        st->setInt64(1, next[part]);
        st->setInt(2, part);
        st->executeUpdate();
      }
      outbox.execute(c);
    }
    cmd_rows.execute(c);
    entry_rows.execute(c);
    history_rows.execute(c);
    earn_rows.execute(c);
    redemption_rows.execute(c);

    // 4. Member states, with an optimistic version check so that a second writer (a wallet that lost its
    //    partition in a rebalance) cannot overwrite a newer state: the batch is then retried.
    for (auto& u : units) {
      if (!u.changed) continue;
      auto due = points::next_due(u.state.points);
      SqlValue due_v = due ? SqlValue(sql_time(*due)) : SqlValue(nullptr);
      auto text = dump_json(state_to_json(u.state));
      if (u.exists) {
        auto st = prepare(c, "UPDATE member_states SET version = ?, state = ?, next_due = ?, updated_at = ? WHERE tenant_id = ? "
                             "AND member_id = ? AND version = ?");
        st->setInt64(1, u.state.version + 1);
        st->setString(2, text);
        if (due) st->setString(3, sql_time(*due)); else st->setNull(3, 0);
        st->setString(4, committed);
        st->setString(5, u.tenant_id);
        st->setString(6, u.member_id);
        st->setInt64(7, u.state.version);
        if (st->executeUpdate() != 1) throw Conflict("member state changed under this wallet: " + u.member_id);
      } else {
        BulkInsert ins("member_states", {"tenant_id", "member_id", "part", "version", "state", "next_due", "updated_at"});
        ins.add({u.tenant_id, u.member_id, static_cast<std::int64_t>(u.part), std::int64_t{1}, text, due_v, committed});
        ins.execute(c);
      }
      u.state.version += 1;
    }
    return true;
  });
}

void WalletService::after_commit(std::vector<Unit>& units) {
  // Redis first, so that a read after the reply sees the new balance (read-your-writes).
  std::vector<std::vector<std::string>> cmds;
  for (auto& u : units) {
    if (!u.changed) continue;
    nlohmann::json cached = {{"version", u.state.version}, {"state", state_to_json(u.state)}};
    cmds.push_back({"SET", redis_state_key(u.tenant_id, u.member_id), dump_json(cached), "EX", "604800"});
  }
  try {
    clean_dirty_keys();
    redis_.pipeline(cmds);
  } catch (const std::exception& e) {
    // Readers fall back to MySQL; but a stale cached state must not survive the outage: the keys are
    // remembered and deleted before anything else is written to Redis.
    spdlog::warn("redis update failed ({}); readers fall back to MySQL", e.what());
    for (auto& u : units)
      if (u.changed) dirty_keys_.insert(redis_state_key(u.tenant_id, u.member_id));
    Metrics::global().set("emtiaz_wallet_redis_dirty_keys", static_cast<double>(dirty_keys_.size()));
  }
  std::vector<KafkaOutMessage> events;
  std::map<std::int32_t, std::int64_t> last;
  for (auto& u : units)
    for (auto& [seq, payload] : u.events) {
      events.push_back({config_.kafka.ledger_topic, u.part, member_key(u.tenant_id, u.member_id), payload});
      last[u.part] = std::max(last[u.part], seq);
    }
  if (events.empty()) return;
  if (backlog_ || !producer_.produce_and_wait(events, std::chrono::milliseconds(5000))) {
    backlog_ = true;  // published later from the outbox, in order
    return;
  }
  try {
    mysql_.run([&](sql::Connection& c) {
      for (auto& [part, seq] : last) {
        auto st = prepare(c, "UPDATE wallet_partitions SET published_seq = GREATEST(published_seq, ?) WHERE part = ?");
        st->setInt64(1, seq);
        st->setInt(2, part);
        st->executeUpdate();
      }
    });
  } catch (const std::exception& e) {
    spdlog::warn("could not record the published position: {}", e.what());
    backlog_ = true;
  }
}

void WalletService::clean_dirty_keys() {
  if (dirty_keys_.empty()) return;
  std::vector<std::vector<std::string>> dels;
  for (const auto& k : dirty_keys_) dels.push_back({"DEL", k});
  redis_.pipeline(dels);  // throws while Redis is still away: the keys stay dirty
  dirty_keys_.clear();
  Metrics::global().set("emtiaz_wallet_redis_dirty_keys", 0);
}

void WalletService::publish_outbox_backlog() {
  if (owned_.empty()) return;
  std::string in;
  for (auto p : owned_) in += (in.empty() ? "" : ",") + std::to_string(p);
  for (;;) {
    std::vector<KafkaOutMessage> events;
    std::map<std::int32_t, std::int64_t> last;
    mysql_.run([&](sql::Connection& c) {
      std::unique_ptr<sql::Statement> st(c.createStatement());
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery(
          "SELECT o.part, o.seq, o.tenant_id, o.payload FROM outbox o JOIN wallet_partitions w ON w.part = o.part "
          "WHERE o.part IN (" + in + ") AND o.seq > w.published_seq ORDER BY o.part, o.seq LIMIT 2000"));
      while (rs->next()) {
        auto part = rs->getInt(1);
        events.push_back({config_.kafka.ledger_topic, part, rs->getString(3), rs->getString(4)});
        last[part] = rs->getInt64(2);
      }
    });
    if (events.empty()) {
      backlog_ = false;
      return;
    }
    if (!producer_.produce_and_wait(events, std::chrono::milliseconds(10000))) return;  // still backlogged
    mysql_.run([&](sql::Connection& c) {
      for (auto& [part, seq] : last) {
        auto st = prepare(c, "UPDATE wallet_partitions SET published_seq = GREATEST(published_seq, ?) WHERE part = ?");
        st->setInt64(1, seq);
        st->setInt(2, part);
        st->executeUpdate();
      }
    });
    Metrics::global().add("emtiaz_wallet_outbox_republished_total", static_cast<double>(events.size()));
  }
}

void WalletService::run_timers() {
  if (owned_.empty()) return;
  std::string in;
  for (auto p : owned_) in += (in.empty() ? "" : ",") + std::to_string(p);
  auto t = now_utc();
  std::vector<Unit> units;
  mysql_.run([&](sql::Connection& c) {
    auto st = prepare(c, "SELECT tenant_id, member_id, part FROM member_states WHERE part IN (" + in +
                             ") AND next_due IS NOT NULL AND next_due <= ? ORDER BY next_due LIMIT " +
                             std::to_string(kTimerBatch));
    st->setString(1, sql_time(t));
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    while (rs->next()) {
      Unit u;
      u.tenant_id = rs->getString(1);
      u.member_id = rs->getString(2);
      u.part = rs->getInt(3);
      u.time_only = true;
      units.push_back(std::move(u));
    }
  });
  if (!units.empty()) {
    commit_units(units, t);
    after_commit(units);
    Metrics::global().add("emtiaz_wallet_timer_members_total", static_cast<double>(units.size()));
  }
  // Every time event due before t is committed (when the query did not hit its limit): the watermark of
  // every owned partition may pass t.
  if (units.size() < kTimerBatch && !backlog_) publish_watermarks(t);
}

void WalletService::publish_watermarks(Instant at) {
  std::vector<KafkaOutMessage> marks;
  std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> positions;  // part -> (next_seq, published_seq)
  mysql_.run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT part, next_seq, published_seq FROM wallet_partitions"));
    while (rs->next()) positions[rs->getInt(1)] = {rs->getInt64(2), rs->getInt64(3)};
  });
  for (auto part : owned_) {
    auto it = positions.find(part);
    std::int64_t seq = 0;
    if (it != positions.end()) {
      // A watermark promises that every event before it has been published: not while a backlog remains.
      if (it->second.second != it->second.first - 1) continue;
      seq = it->second.second;
    }
    nlohmann::json wm = {{"kind", "watermark"}, {"part", part}, {"seq", seq}, {"at", points::to_micros(at)}};
    marks.push_back({config_.kafka.ledger_topic, part, "watermark", dump_json(wm)});
  }
  for (auto& m : marks) producer_.produce(m);
}

}  // namespace emtiaz::wallet
