#include "wallet/wallet_service.hpp"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "common/errors.hpp"
#include "common/metrics.hpp"
#include "common/sql_util.hpp"
#include "points/points_json.hpp"
#include "wallet/archive.hpp"
#include "wallet/cold_lots.hpp"
#include "wallet/stored_state.hpp"

namespace emtiaz::wallet {
namespace {

constexpr size_t kTimerBatch = 200;

using TenantRows = std::map<std::string, tenants::Tenant>;
using PartnerRows = std::map<std::pair<std::string, std::string>, partners::Partner>;  // (tenant, partner)

// Gives the command its tenant's and partner's settings as they are in this batch's transaction (the gateway's
// copy may be a second old), or the problem that refuses it before it is applied. A refusal is not recorded
// (the gateway used to answer these itself, before sending): a retry with the same key after the partner is
// reactivated is applied.
std::optional<Problem> use_control_plane(Command& cmd, const TenantRows& tenant_rows, const PartnerRows& partner_rows) {
  auto t = tenant_rows.find(cmd.tenant_id);
  if (t == tenant_rows.end()) return problem(Code::unauthorized, "unknown tenant");
  cmd.tenant = settings_of(t->second);
  if (!cmd.partner) return std::nullopt;
  auto p = partner_rows.find({cmd.tenant_id, cmd.partner->id});
  if (p == partner_rows.end()) return problem(Code::unauthorized, "unknown partner");
  if (p->second.status != "active") return problem(Code::partner_suspended, "this partner is suspended");
  cmd.partner = snapshot_of(p->second);
  if (cmd.type == CommandType::authorize && cmd.args.contains("amount_irr") && cmd.partner->redeem_value_irr <= 0)
    return problem(Code::invalid_amount, "this partner has no redeem value: redeem by points");
  return std::nullopt;
}

// Appends `(v1,v2,…)`, escaped, to a list of row constructors for `(a, b, …) IN (list)`.
void add_row_key(sql::Connection& c, std::string& list, std::initializer_list<const std::string*> values) {
  list += list.empty() ? "(" : ",(";
  bool first = true;
  for (const auto* v : values) {
    if (!first) list += ',';
    first = false;
    sql_literal(c, *v, list);
  }
  list += ')';
}

// An optional text column: NULL when empty.
SqlValue nullable(const std::string& s) { return s.empty() ? SqlValue(nullptr) : SqlValue(s); }

}  // namespace

std::string redis_state_key(const std::string& tenant_id, const std::string& member_id) {
  return fmt::format("emtiaz:{{t:{}:{}}}:state", tenant_id, member_id);
}

std::string redis_balance_key(const std::string& tenant_id, const std::string& member_id) {
  return fmt::format("emtiaz:{{t:{}:{}}}:balance", tenant_id, member_id);
}

std::string redis_redemption_owner_key(const std::string& tenant_id, const std::string& redemption_id) {
  return fmt::format("emtiaz:{{r:{}:{}}}:owner", tenant_id, redemption_id);
}

std::string redemption_owner_value(const std::string& member_id, const std::string& partner_id) {
  return member_id + ' ' + partner_id;
}

std::optional<RedemptionOwner> parse_redemption_owner(std::string_view value) {
  auto space = value.find(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == value.size() ||
      value.find(' ', space + 1) != std::string_view::npos)
    return std::nullopt;
  return RedemptionOwner{std::string(value.substr(0, space)), std::string(value.substr(space + 1))};
}

std::int64_t redemption_owner_ttl_seconds(Instant hold_expires_at, Instant now) {
  constexpr std::int64_t kDay = 86400, kHour = 3600;
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(hold_expires_at - now).count();
  return std::clamp<std::int64_t>(left, 0, kDay) + kHour;
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
  std::string state_text;  // the state's text (JSON), stored deflated in MySQL and copied to Redis: written once
  std::size_t stored_size = 0;    // the length of member_states.state as read: its slot (wallet/stored_state.hpp)
  std::vector<StoredLot> cold;    // the lots read from member_states.cold_lots (wallet/cold_lots.hpp), by seq
  bool cold_apart = false;        // after this batch some of its lots are stored apart: Redis gets no state copy
  std::map<std::string, std::string> restored;  // id -> record as read from member_archive in this batch
  std::vector<ArchiveRow> archive;               // finished records to write to member_archive
  std::vector<NewRedemption> redemptions;        // authorized in this batch: their owners go to Redis
  // Why its stored state (or its cold lots) cannot be read, if it cannot: a damaged row. Its commands are answered
  // `500 internal` with no effect and nothing of it is written, and the rest of the batch commits (mark_unreadable).
  std::string unreadable;
};

// A member row the batch cannot read (a damaged or truncated value, text that is not a state) is the same on
// every attempt: retrying the batch would stop its partition for good. The member is set apart instead; its
// commands are not recorded, so a retry with the same key after the row is repaired is applied. Counted every time;
// logged once a minute per member, since its timers ask again every timer_interval_ms while it is due.
void WalletService::mark_unreadable(Unit& u, const std::exception& e) {
  u.unreadable = e.what();
  Metrics::global().add("emtiaz_wallet_unreadable_states_total");
  const auto now = std::chrono::steady_clock::now();
  auto [it, first] = unreadable_logged_.try_emplace({u.tenant_id, u.member_id}, now);
  if (!first && now - it->second < std::chrono::minutes(1)) return;
  it->second = now;
  spdlog::error("member {} of tenant {}: its stored state cannot be read ({}); its commands are answered 500 with "
                "no effect until the row is repaired", u.member_id, u.tenant_id, u.unreadable);
}

// Whether a batch may leave the unit's cold lots unread (wallet/cold_lots.hpp): their summary is stored (a row
// split before migration 011 has none until its next split), and every command is an earn.
bool WalletService::may_leave_cold_unread(const Unit& u, const std::optional<ColdSummary>& summary, Instant now) {
  if (!summary || u.time_only || u.commands.empty()) return false;
  for (const auto* p : u.commands)
    if (p->cmd.type != CommandType::earn) return false;
  return cold_lots_may_stay_unread(u.state.points, *summary, u.commands.size(), now);
}

// It changed, or its commands were all answered from the record (a retry after the wallet died between its
// COMMIT and its Redis update, or after a COMMIT whose answer was lost), when Redis may still hold the state from
// before that commit.
bool WalletService::writes_cache(const Unit& u) {
  return u.unreadable.empty() && (u.changed || (u.exists && !u.commands.empty()));
}

WalletService::WalletService(WalletConfig config, MysqlPool& mysql, RedisPool& redis, KafkaProducer& producer)
    : config_(std::move(config)), mysql_(mysql), redis_(redis), producer_(producer) {
  consumer_ = std::make_unique<KafkaConsumer>(config_.kafka, "emtiaz-wallet",
                                              std::vector<std::string>{config_.kafka.commands_topic},
                                              KafkaConsumer::Mode::group, config_.kafka.fetch_wait_ms);
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
      owns_partition_zero_ = owned_.count(0) > 0;
      backlog_ = true;
      spdlog::info("wallet owns partitions [{}]", fmt::join(owned_, ","));
    }
    if (consumer_->cluster_changes() != cluster_changes_) {
      // The broker came back without its data: everything not known to be consumed is published again.
      // Consumers deduplicate by the wallet's per-partition sequence.
      cluster_changes_ = consumer_->cluster_changes();
      spdlog::warn("broker changed: republishing the outbox of owned partitions");
      inflight_.clear();
      delivered_.clear();
      outbox_reset_pending_ = true;
    }
    try {
      if (!msgs.empty()) process_commands(msgs);
      if (outbox_reset_pending_) {
        mysql_.run([&](sql::Connection& c) {
          // Republish from the oldest sequence clearing has not applied (clearing skips what it has).
          std::unique_ptr<sql::Statement> st(c.createStatement());
          st->execute("UPDATE wallet_partitions w LEFT JOIN clearing_positions c ON c.part = w.part "
                      "SET w.published_seq = LEAST(w.published_seq, COALESCE(c.applied_seq, 0))");
        });
        outbox_reset_pending_ = false;
        backlog_ = true;
      }
      reap_deliveries();
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
        record_published();
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
  const auto received = now_utc();
  for (const auto& m : msgs) {
    // A command whose record may have been pruned (command_pruner.hpp) could be applied twice: such a message can
    // only be a redelivery after an outage of about the retention, long after its client's deadline, and is
    // skipped unanswered (nobody waits for it; a retry is a new message).
    if (!within_command_retention(m.timestamp_ms, received, config_.command_retention_hours)) {
      spdlog::error("skipping a command produced before the command retention at {}:{}", m.partition, m.offset);
      Metrics::global().add("emtiaz_wallet_expired_commands_total");
      continue;
    }
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
  const auto started = std::chrono::steady_clock::now();
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  if (!units.empty()) {
    // The batch is retried until it commits: its commands' offsets are committed only after that. (A member whose
    // row cannot be read, the same on every attempt, is set apart inside the batch instead: mark_unreadable.)
    for (int attempt = 0;; ++attempt) {
      try {
        commit_units(units, now_utc());
        break;
      } catch (const std::exception& e) {
        spdlog::warn("wallet batch attempt {} failed: {}", attempt + 1, e.what());
        Metrics::global().add("emtiaz_wallet_batch_retries_total");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1000, 50 * (attempt + 1))));
    }
    Metrics::global().observe("emtiaz_wallet_batch_commit_seconds", seconds_since(started));
    update_cache(units);
    // Answer first: the batch is durable in MySQL, and its ledger events are in the outbox whatever happens
    // to their publication below.
    for (auto& p : pending) {
      if (!p->reply) continue;
      KafkaOutMessage out{config_.kafka.replies_topic, p->cmd.reply_partition, p->cmd.command_id,
                          p->reply->dump()};
      producer_.produce(out);
    }
    publish_events(units);
  }
  consumer_->commit(msgs);
  Metrics::global().add("emtiaz_wallet_commands_total", static_cast<double>(pending.size()));
  Metrics::global().add("emtiaz_wallet_batches_total");
  Metrics::global().observe("emtiaz_wallet_batch_seconds", seconds_since(started));
}

void WalletService::commit_units(std::vector<Unit>& units, Instant now) {
  // Two round trips to MySQL per batch: one text query that starts the transaction and reads (and locks)
  // everything the batch needs, one that writes everything and commits (the wallet's connections accept
  // multi-statements; every value is escaped by sql_literal). On any error the transaction is rolled back
  // (or the connection dropped, which rolls it back) and the caller retries the batch.
  mysql_.run([&](sql::Connection& c) {
    try {
      commit_units_on(c, units, now);
    } catch (...) {
      try {
        std::unique_ptr<sql::Statement> st(c.createStatement());
        st->execute("ROLLBACK");
      } catch (const sql::SQLException&) {
        throw;  // this one: the pool then drops the connection, which rolls back for us
      }
      throw;
    }
  });
}

void WalletService::commit_units_on(sql::Connection& c, std::vector<Unit>& units, Instant now) {
  // 1. What is already known: applied commands, member states and used receipts, and the control plane.
  for (auto& u : units) {
    u.state = WalletState{};
    u.exists = false;
    u.changed = false;
    u.events.clear();
    u.state_text.clear();
    u.stored_size = 0;
    u.cold.clear();
    u.cold_apart = false;
    u.restored.clear();
    u.archive.clear();
    u.redemptions.clear();
    u.unreadable.clear();
    for (auto* p : u.commands) p->reply.reset();
  }
  // One query: START TRANSACTION, then one SELECT per kind for the whole batch, whatever its tenants (row
  // constructors `(tenant_id, …) IN ((…), …)`, a range scan of each primary or unique key): the applied-command
  // records (exactly once), the tenants and partners as they are now, the member states (locked until the
  // commit: a second wallet that lost these partitions in a rebalance but has not noticed yet waits here and
  // then reads what this batch wrote), the earn receipts already used, and the partitions' sequence counters
  // (locked: the outbox's sequences are handed out in commit order). MariaDB's cost here is per statement
  // (parse, optimise, a thread wake-up) far more than per row: one query per kind and tenant was 5 statements
  // per tenant in every batch.
  enum class Read { records, tenants, partners, states, receipts, positions };
  std::vector<Read> reads;  // what each result set is
  std::vector<std::string> sql{"START TRANSACTION"};
  std::set<std::int32_t> parts;
  std::set<std::string> tenant_ids;
  std::set<std::pair<std::string, std::string>> partner_keys;
  std::string command_keys, member_keys, receipt_keys;  // ('tenant','…'),… : whole keys of each index
  for (auto& u : units) {
    parts.insert(u.part);
    tenant_ids.insert(u.tenant_id);
    add_row_key(c, member_keys, {&u.tenant_id, &u.member_id});
    for (auto* p : u.commands) {
      add_row_key(c, command_keys, {&u.tenant_id, &p->cmd.command_id});
      if (!p->cmd.partner) continue;
      partner_keys.insert({u.tenant_id, p->cmd.partner->id});
      if (p->cmd.type == CommandType::earn) {
        const std::string receipt = p->cmd.args.value("receipt_id", "");
        add_row_key(c, receipt_keys, {&u.tenant_id, &p->cmd.partner->id, &receipt});
      }
    }
  }
  if (!command_keys.empty()) {
    sql.push_back("SELECT tenant_id, command_id, body_hash, status, response FROM wallet_commands WHERE "
                  "(tenant_id, command_id) IN (" + command_keys + ")");
    reads.push_back(Read::records);
    // The control plane as it is now: the commands are applied with these rows, not the gateway's copies.
    sql.push_back(std::string(tenants::tenant_select_sql()) + "WHERE id IN (" +
                  sql_literal_list(c, {tenant_ids.begin(), tenant_ids.end()}) + ")");
    reads.push_back(Read::tenants);
    if (!partner_keys.empty()) {
      std::string keys;
      for (const auto& [t, pid] : partner_keys) add_row_key(c, keys, {&t, &pid});
      sql.push_back(std::string(partners::partner_select_sql()) + "WHERE (tenant_id, id) IN (" + keys + ")");
      reads.push_back(Read::partners);
    }
  }
  // Not the cold lots themselves: whether there are any, and what they hold (below, step 1b).
  sql.push_back("SELECT tenant_id, member_id, version, state, cold_lots IS NOT NULL, cold_points, cold_first_expiry, "
                "cold_first_seq FROM member_states WHERE (tenant_id, member_id) IN (" + member_keys + ") FOR UPDATE");
  reads.push_back(Read::states);
  if (!receipt_keys.empty()) {
    sql.push_back("SELECT tenant_id, partner_id, receipt_id FROM earns WHERE (tenant_id, partner_id, receipt_id) IN (" +
                  receipt_keys + ")");
    reads.push_back(Read::receipts);
  }
  std::string part_list;
  for (auto p : parts) part_list += (part_list.empty() ? "" : ",") + std::to_string(p);
  // The counters are locked by an UPDATE that changes nothing, then read: `SELECT … FOR UPDATE` of an `IN` list
  // of partitions also locked the row after the list's last one (measured: another applier's partition 8
  // behind this one's 0-7), so two appliers of one wallet waited for each other's commits. In READ COMMITTED
  // an UPDATE skips rows that do not match without waiting for their locks (a semi-consistent read); the
  // plain SELECT after it reads the rows this transaction now holds.
  const std::string lock_positions = "UPDATE wallet_partitions SET next_seq = next_seq WHERE part IN (" + part_list + ")";
  const std::string read_positions = "SELECT part, next_seq FROM wallet_partitions WHERE part IN (" + part_list + ")";
  sql.push_back(lock_positions);  // no result set
  sql.push_back(read_positions);
  reads.push_back(Read::positions);

  // (tenant, command_id) -> (hash, status, body; none when the record cannot be read)
  std::map<std::pair<std::string, std::string>, std::tuple<std::string, int, std::optional<std::string>>> records;
  std::set<std::tuple<std::string, std::string, std::string>> receipts;  // (tenant, partner, receipt)
  std::map<std::int32_t, std::int64_t> next;                             // part -> next outbox sequence
  TenantRows tenant_rows;
  PartnerRows partner_rows;
  std::vector<Unit*> cold_to_read;  // members whose cold lots this batch reads (step 1b)
  std::size_t cold_unread = 0;      // members whose cold lots it leaves unread (wallet/cold_lots.hpp)
  auto results = execute_multi(c, sql);
  if (results.size() != reads.size()) throw std::runtime_error("wallet batch: unexpected number of result sets");
  for (size_t i = 0; i < results.size(); ++i) {
    auto& rs = results[i];
    switch (reads[i]) {
      case Read::records:
        while (rs->next()) {
          // The outcome as it was answered: deflated since migration 013, the JSON text before it. A value that
          // cannot be read leaves the body empty, and a retry of that command is refused (below).
          std::optional<std::string> body;
          try {
            body = decode_stored_text(std::string(rs->getString(5)));
          } catch (const std::bad_alloc&) {
            throw;  // not the record's fault: the batch is retried, as for a member state
          } catch (const std::exception& e) {
            spdlog::error("the stored outcome of command {} of tenant {} cannot be read ({}): a retry of it is "
                          "refused until the record is repaired", std::string(rs->getString(2)),
                          std::string(rs->getString(1)), e.what());
            Metrics::global().add("emtiaz_wallet_unreadable_records_total");
          }
          records[{rs->getString(1), rs->getString(2)}] = {rs->getString(3), rs->getInt(4), std::move(body)};
        }
        break;
      case Read::states: {
        struct Row {
          std::int64_t version;
          std::string state;
          bool cold;
          std::optional<ColdSummary> summary;
        };
        std::map<std::pair<std::string, std::string>, Row> loaded;
        while (rs->next()) {
          std::optional<ColdSummary> summary;
          if (!rs->isNull(6) && !rs->isNull(7) && !rs->isNull(8))
            summary = ColdSummary{rs->getInt64(6), points::from_micros(rs->getInt64(7)), rs->getUInt64(8)};
          loaded[{rs->getString(1), rs->getString(2)}] = {rs->getInt64(3), rs->getString(4), rs->getBoolean(5),
                                                          summary};
        }
        for (auto& u : units) {
          auto it = loaded.find({u.tenant_id, u.member_id});
          if (it == loaded.end()) continue;
          u.exists = true;
          try {
            u.state = read_state_text(it->second.state);
          } catch (const std::bad_alloc&) {
            throw;
          } catch (const std::exception& e) {
            mark_unreadable(u, e);
            continue;
          }
          u.stored_size = it->second.state.size();
          u.state.version = it->second.version;
          if (it->second.cold) {
            if (may_leave_cold_unread(u, it->second.summary, now) &&
                add_cold_stand_in(u.state.points, *it->second.summary)) {
              u.cold_apart = true;
              ++cold_unread;
            } else {
              cold_to_read.push_back(&u);
            }
          }
        }
        break;
      }
      case Read::receipts:
        while (rs->next()) receipts.insert({rs->getString(1), rs->getString(2), rs->getString(3)});
        break;
      case Read::positions:
        while (rs->next()) next[rs->getInt(1)] = rs->getInt64(2);
        break;
      case Read::tenants:
        while (rs->next()) {
          auto row = tenants::tenant_from_row(*rs);
          tenant_rows.emplace(row.id, std::move(row));
        }
        break;
      case Read::partners:
        while (rs->next()) {
          auto row = partners::partner_from_row(*rs);
          partner_rows.emplace(std::pair{row.tenant_id, row.id}, std::move(row));
        }
        break;
    }
  }
  if (next.size() != parts.size()) {  // a partition's first batch ever: create its counter, then lock it
    BulkInsert init("wallet_partitions", {"part", "next_seq", "published_seq", "watermark"},
                    "ON DUPLICATE KEY UPDATE part = part");
    for (auto p : parts)
      if (!next.count(p))
        init.add({static_cast<std::int64_t>(p), std::int64_t{1}, std::int64_t{0}, std::string("1970-01-01 00:00:00")});
    init.execute(c);
    auto results = execute_multi(c, {lock_positions, read_positions});
    while (results.at(0)->next()) next[results[0]->getInt(1)] = results[0]->getInt64(2);
  }

  // 1b. The cold lots of the members whose commands need them (one query, rows this transaction has locked).
  if (!cold_to_read.empty()) {
    std::string keys;
    for (auto* u : cold_to_read) add_row_key(c, keys, {&u->tenant_id, &u->member_id});
    std::map<std::pair<std::string, std::string>, std::string> texts;
    auto rs = execute_multi(c, {"SELECT tenant_id, member_id, cold_lots FROM member_states WHERE "
                                "(tenant_id, member_id) IN (" + keys + ") AND cold_lots IS NOT NULL"});
    while (rs.at(0)->next()) texts[{rs[0]->getString(1), rs[0]->getString(2)}] = rs[0]->getString(3);
    for (auto* u : cold_to_read) {
      auto it = texts.find({u->tenant_id, u->member_id});
      if (it == texts.end()) {
        mark_unreadable(*u, std::runtime_error("its cold lots are gone"));
        continue;
      }
      try {
        merge_cold_lots(u->state, it->second, &u->cold);
      } catch (const std::bad_alloc&) {
        throw;
      } catch (const std::exception& e) {
        mark_unreadable(*u, e);
        continue;
      }
      u->cold_apart = !u->cold.empty();
    }
  }
  // Members with cold lots in this batch, by whether it read them.
  auto& metrics = Metrics::global();
  metrics.add(R"(emtiaz_wallet_cold_lots_members_total{read="yes"})", static_cast<double>(cold_to_read.size()));
  metrics.add(R"(emtiaz_wallet_cold_lots_members_total{read="no"})", static_cast<double>(cold_unread));

  load_archived(c, units);

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
  struct Event {
    Unit* unit;
    std::string command_id;
    std::string entries;  // the entries' objects, comma-separated
  };
  std::map<std::int32_t, std::vector<Event>> events_by_part;

  auto record_effect = [&](Unit& u, const Effect& e, const std::string& command_id) {
    if (e.movements.empty() && e.history.empty()) return;
    u.changed = true;
    std::string entries;
    std::string txn = e.history.empty() ? std::string("txn_time") : e.history.front().txn_id;
    for (const auto& m : e.movements) {
      if (m.type == points::MovementType::pending_available) continue;
      const auto* lot = m.lot_id.empty() ? nullptr : points::find_lot(u.state.points, m.lot_id);
      const auto* red = m.redemption_id.empty() ? nullptr : points::find_redemption(u.state.points, m.redemption_id);
      std::int64_t price = lot ? lot->issue_price_irr : 0, fee = lot ? lot->fee_bps : 0;
      std::int64_t value = red ? red->redeem_value_irr : 0;
      entry_rows.add({u.tenant_id, u.member_id, txn, std::string(points::to_string(m.type)), m.points, m.lot_id,
                      m.issuer, price, fee, m.partner_id, m.redemption_id, value, sql_time(m.at), committed});
      if (!entries.empty()) entries += ',';
      append_ledger_entry(entries, {points::to_string(m.type), m.points, m.lot_id, m.issuer, price, fee, m.partner_id,
                                    m.redemption_id, value, m.earn_id, points::to_micros(m.at)});
    }
    for (const auto& h : e.history) {
      history_rows.add({u.tenant_id, u.member_id, h.txn_id, h.type, h.points, nullable(h.partner_id),
                        nullable(h.receipt_id), nullable(h.reason), nullable(h.earn_id), nullable(h.redemption_id),
                        sql_time(h.at)});
    }
    if (!entries.empty()) events_by_part[u.part].push_back({&u, command_id, std::move(entries)});
  };

  std::map<std::string, const Effect*> applied_here;  // command_id -> effect, for duplicates within a batch
  std::vector<std::unique_ptr<Effect>> effects;
  // Finished records leave the state once the unit's commands are applied (their movements are recorded
  // with the lots' and redemptions' prices by then); a record restored for this batch and leaving unchanged
  // is not written again.
  auto archive_finished_records = [&](Unit& u) {
    for (auto& row : archive_finished(u.state)) {
      auto it = u.restored.find(row.id);
      if (it != u.restored.end() && it->second == row.record) continue;
      u.archive.push_back(std::move(row));
    }
    if (!u.archive.empty()) u.changed = true;  // the state lost them: rewritten even if no command changed it
  };
  for (auto& u : units) {
    if (!u.unreadable.empty()) {
      const auto refused = problem(Code::internal, "this member's stored state cannot be read; nothing was applied");
      for (auto* p : u.commands)
        p->reply = Reply{p->cmd.command_id, http_status(refused.code), render_problem(refused, p->cmd.request_id),
                         false};
      continue;
    }
    if (u.time_only) {
      auto e = apply_time(u.state, now);
      record_effect(u, e, "");
      if (!u.changed && u.exists) u.changed = true;  // rewrite next_due even if nothing moved
      archive_finished_records(u);
      continue;
    }
    for (auto* p : u.commands) {
      if (auto refused = use_control_plane(p->cmd, tenant_rows, partner_rows)) {
        p->reply = Reply{p->cmd.command_id, http_status(refused->code), render_problem(*refused, p->cmd.request_id), false};
        continue;
      }
      const auto& cmd = p->cmd;
      auto rec = records.find({u.tenant_id, cmd.command_id});
      if (rec != records.end()) {
        auto& [hash, status, body] = rec->second;
        if (hash != cmd.body_hash) {
          p->reply = Reply{cmd.command_id, 409,
                           render_problem(problem(Code::idempotency_key_reused,
                                                  "this Idempotency-Key was used with another request"),
                                          cmd.request_id),
                           false};
        } else if (!body) {
          // Applied once already, so never again; but what it answered is lost: a problem, not a guess.
          const auto lost = problem(Code::internal,
                                    "this request was applied before and its stored outcome cannot be read; it was "
                                    "not applied again");
          p->reply = Reply{cmd.command_id, http_status(lost.code), render_problem(lost, cmd.request_id), false};
        } else {
          p->reply = Reply{cmd.command_id, status, *body, true};
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
      cmd_rows.add({u.tenant_id, cmd.command_id, cmd.body_hash, static_cast<std::int64_t>(e->status),
                    SqlBytes{deflate_text(e->body)}, committed});
      if (e->earn)
        earn_rows.add({u.tenant_id, e->earn->id, u.member_id, e->earn->partner_id, e->earn->receipt_id,
                       e->earn->amount_irr, e->earn->points, cmd.command_id, committed});
      if (e->redemption) {
        redemption_rows.add({u.tenant_id, e->redemption->id, u.member_id, e->redemption->partner_id,
                             e->redemption->receipt_id, committed});
        u.redemptions.push_back(*e->redemption);
      }
      p->reply = Reply{cmd.command_id, e->status, e->body, false};
      applied_here[cmd.command_id] = e.get();
      effects.push_back(std::move(e));
    }
    archive_finished_records(u);
  }

  // 3. Sequence the batch's events per partition (the wallet's own positions, which survive a broker that
  //    lost its data), then write everything.
  BulkInsert outbox("outbox", {"part", "seq", "tenant_id", "payload", "created_at"});
  BulkInsert positions("wallet_partitions", {"part", "next_seq", "published_seq", "watermark"},
                       "ON DUPLICATE KEY UPDATE next_seq = VALUES(next_seq)");
  for (auto& [part, evs] : events_by_part) {
    auto& seq = next.at(part);
    for (auto& [u, command_id, entries] : evs) {
      auto text = ledger_event_text({u->tenant_id, u->member_id, command_id, points::to_micros(now), entries, part, seq});
      outbox.add({static_cast<std::int64_t>(part), seq, u->tenant_id, text, committed});
      u->events.emplace_back(seq, std::move(text));
      ++seq;
    }
    positions.add({static_cast<std::int64_t>(part), seq, std::int64_t{0}, std::string("1970-01-01 00:00:00")});
  }

  // 4. Member states: rows read above are locked by this transaction, so they are rewritten in bulk; a new
  //    member's row is a plain INSERT, so that a second writer's row is a duplicate-key error (the batch is
  //    retried and then reads it) rather than something to overwrite.
  //    The cold lots (wallet/cold_lots.hpp) are in the statement only for the members whose split changed.
  BulkInsert updates("member_states", {"tenant_id", "member_id", "part", "version", "state", "next_due", "updated_at"},
                     "ON DUPLICATE KEY UPDATE version = VALUES(version), state = VALUES(state), "
                     "next_due = VALUES(next_due), updated_at = VALUES(updated_at)");
  BulkInsert cold_updates("member_states",
                          {"tenant_id", "member_id", "part", "version", "state", "cold_lots", "cold_points",
                           "cold_first_expiry", "cold_first_seq", "next_due", "updated_at"},
                          "ON DUPLICATE KEY UPDATE version = VALUES(version), state = VALUES(state), "
                          "cold_lots = VALUES(cold_lots), cold_points = VALUES(cold_points), "
                          "cold_first_expiry = VALUES(cold_first_expiry), cold_first_seq = VALUES(cold_first_seq), "
                          "next_due = VALUES(next_due), updated_at = VALUES(updated_at)");
  BulkInsert inserts("member_states", {"tenant_id", "member_id", "part", "version", "state", "cold_lots",
                                       "cold_points", "cold_first_expiry", "cold_first_seq", "next_due", "updated_at"});
  BulkInsert archive_rows("member_archive",
                          {"tenant_id", "member_id", "id", "kind", "earn_id", "receipt_id", "record", "archived_at"},
                          "ON DUPLICATE KEY UPDATE record = VALUES(record), receipt_id = VALUES(receipt_id), "
                          "archived_at = VALUES(archived_at)");
  for (auto& u : units) {
    // A member the batch found no row for and leaves holding nothing (its commands were all refused: a first
    // redemption without points, a refund of an earn it never had — the member an earn id names,
    // wallet/earn_ids.hpp, may not exist) gets no row and no Redis entry either: a refused command has no effect.
    if (!u.unreadable.empty()) continue;
    const auto& held = u.state.points;
    if (!u.exists && u.archive.empty() && held.lots.empty() && held.redemptions.empty() && held.debt == 0)
      u.changed = false;
    for (auto& row : u.archive)
      archive_rows.add({u.tenant_id, u.member_id, row.id, row.kind, nullable(row.earn_id), nullable(row.receipt_id),
                        row.record, committed});
    if (!u.changed) continue;
    auto due = points::next_due(u.state.points);
    SqlValue due_v = due ? SqlValue(sql_time(*due)) : SqlValue(nullptr);
    u.state.version += 1;
    auto stored = stored_texts(u.state, u.cold);
    u.cold_apart = stored.apart;
    u.state_text = std::move(stored.state);
    // As X'…' (common/sql_util.hpp: a deflated value escaped cost MariaDB half as much again to read).
    SqlValue state_value = SqlBytes{encode_stored_state(u.state_text, u.stored_size)};
    const auto part = static_cast<std::int64_t>(u.part);
    if (u.exists && !stored.write_cold) {
      updates.add({u.tenant_id, u.member_id, part, u.state.version, std::move(state_value), due_v, committed});
    } else {
      SqlValue cold = stored.cold_lots ? SqlValue(std::move(*stored.cold_lots)) : SqlValue(nullptr);
      const auto& sum = stored.cold_summary;
      SqlValue cold_points = sum ? SqlValue(sum->points) : SqlValue(nullptr);
      SqlValue first_expiry = sum ? SqlValue(points::to_micros(sum->first_expiry)) : SqlValue(nullptr);
      SqlValue first_seq = sum ? SqlValue(static_cast<std::int64_t>(sum->first_seq)) : SqlValue(nullptr);
      (u.exists ? cold_updates : inserts)
          .add({u.tenant_id, u.member_id, part, u.state.version, std::move(state_value), std::move(cold),
                std::move(cold_points), std::move(first_expiry), std::move(first_seq), due_v, committed});
    }
  }

  // 5. Everything in one query, ending with the COMMIT.
  std::vector<std::string> writes;
  for (const BulkInsert* b : {&outbox, &positions, &cmd_rows, &entry_rows, &history_rows, &earn_rows,
                              &redemption_rows, &archive_rows, &updates, &cold_updates, &inserts})
    for (auto& stmt : b->statements(c)) writes.push_back(std::move(stmt));
  writes.push_back("COMMIT");
  execute_multi(c, writes);
}

void WalletService::load_archived(sql::Connection& c, std::vector<Unit>& units) {
  // One query for the whole batch per round, only when a command names a record its state lacks (a refund
  // of a finished redemption or of an emptied earn, a capture or void of a finished redemption): the named
  // records first, then the lots the restored redemptions' points came from. The member rows are locked by
  // this transaction, so their archive rows cannot change under it.
  std::vector<ArchiveNeeds> needs(units.size());
  for (size_t i = 0; i < units.size(); ++i)
    if (units[i].unreadable.empty())
      for (auto* p : units[i].commands) add_needs(units[i].state, p->cmd, needs[i]);
  for (int round = 0; round < 2; ++round) {
    std::string id_keys, earn_keys;
    for (size_t i = 0; i < units.size(); ++i) {
      const auto& u = units[i];
      for (const auto& id : needs[i].ids) add_row_key(c, id_keys, {&u.tenant_id, &u.member_id, &id});
      for (const auto& id : needs[i].earn_ids) add_row_key(c, earn_keys, {&u.tenant_id, &u.member_id, &id});
    }
    if (id_keys.empty() && earn_keys.empty()) return;
    const std::string select =
        "SELECT tenant_id, member_id, id, kind, earn_id, receipt_id, record FROM member_archive WHERE ";
    std::vector<std::string> sql;
    if (!id_keys.empty()) sql.push_back(select + "(tenant_id, member_id, id) IN (" + id_keys + ")");
    if (!earn_keys.empty()) sql.push_back(select + "(tenant_id, member_id, earn_id) IN (" + earn_keys + ")");
    std::map<std::pair<std::string, std::string>, std::vector<ArchiveRow>> found;  // (tenant, member) -> rows
    for (auto& rs : execute_multi(c, sql))
      while (rs->next())
        found[{rs->getString(1), rs->getString(2)}].push_back(
            {rs->getString(3), rs->getString(4), rs->isNull(5) ? std::string() : std::string(rs->getString(5)),
             rs->isNull(6) ? std::string() : std::string(rs->getString(6)), rs->getString(7)});
    for (size_t i = 0; i < units.size(); ++i) {
      auto& u = units[i];
      auto it = found.find({u.tenant_id, u.member_id});
      needs[i] = {};
      if (it == found.end()) continue;
      restore(u.state, it->second);
      for (const auto& row : it->second) u.restored.emplace(row.id, row.record);
      needs[i] = lots_needed(u.state, it->second);
    }
  }
}

void WalletService::update_cache(std::vector<Unit>& units) {
  // Before the replies, so that a read after the reply sees the new balance (read-your-writes).
  std::vector<std::vector<std::string>> cmds;
  const auto now = now_utc();
  for (auto& u : units) {
    if (!writes_cache(u)) continue;  // a unit answered from the record writes the state it read as well
    if (u.cold_apart) {
      // A state with lots stored apart is not copied whole to every command's Redis write (that is the cost
      // the split takes away): its balance view below answers balance reads, and the rare reader that
      // needs the state itself (a read past the view's validity, a redemption's page) takes it from MySQL.
      cmds.push_back({"DEL", redis_state_key(u.tenant_id, u.member_id)});
    } else {
      // {"state": …, "version": …} as dump_json would write it, around the text already written to MySQL.
      if (u.state_text.empty()) u.state_text = state_text(u.state);
      std::string cached = R"({"state":)" + u.state_text + R"(,"version":)" + std::to_string(u.state.version) + "}";
      cmds.push_back(
          {"SET", redis_state_key(u.tenant_id, u.member_id), std::move(cached), "EX", kMemberCacheTtlSeconds});
    }
    // The balance as of now and until the state's next timed change: what a balance read needs, small.
    cmds.push_back({"SET", redis_balance_key(u.tenant_id, u.member_id),
                    balance_view_text(points::balance_view(u.state.points, now), u.state.version), "EX",
                    kMemberCacheTtlSeconds});
    // The owners of the redemptions it authorized: never changed, so not among the keys a failure leaves dirty.
    for (const auto& r : u.redemptions)
      cmds.push_back({"SET", redis_redemption_owner_key(u.tenant_id, r.id),
                      redemption_owner_value(u.member_id, r.partner_id), "EX",
                      std::to_string(redemption_owner_ttl_seconds(r.hold_expires_at, now))});
  }
  // The gateways' reservations of the commands with a stored outcome: completed here, before the replies, so
  // that a retry replays from Redis (the gateway would otherwise write each itself after the reply).
  std::vector<Reply*> completed;
  for (auto& u : units)
    for (auto* p : u.commands) {
      // Only a reservation key (a command names it; nothing else in Redis is the wallet's to overwrite).
      if (!p->reply || p->cmd.reservation.rfind(kReservationKeyPrefix, 0) != 0) continue;
      if (!is_stored_outcome(p->reply->status, p->reply->body)) continue;
      cmds.push_back({"SET", p->cmd.reservation,
                      reservation_done_value(p->cmd.body_hash, p->reply->status, p->reply->body), "EX",
                      kReservationKeepSeconds});
      completed.push_back(&*p->reply);
    }
  if (cmds.empty()) return;
  // One transaction (MULTI ... EXEC): a member's state and its balance view never disagree in Redis, even
  // when the wallet dies halfway through sending them (then neither is applied).
  cmds.insert(cmds.begin(), {"MULTI"});
  cmds.push_back({"EXEC"});
  // Two tries: a pooled connection that Redis dropped (a restart, an idle timeout, CLIENT KILL) fails once and
  // is replaced by a new one, and the second try writes the states before the replies leave. Writing them
  // again is harmless if the first try was applied after all: the same values, and only this applier writes
  // these members' keys. One try only while Redis is known to be away (keys left dirty by an earlier batch):
  // an outage does not cost every batch two connection attempts.
  const int tries = dirty_keys_.empty() ? 2 : 1;
  for (int attempt = 1;; ++attempt) {
    try {
      clean_dirty_keys();
      auto replies = redis_.pipeline(cmds);
      if (replies.empty() || replies.back().type != RedisReply::Type::array)
        throw std::runtime_error("the MULTI/EXEC of the batch's states was not applied");
      for (auto* r : completed) r->reservation_done = true;
      return;
    } catch (const std::exception& e) {
      if (attempt < tries) {
        spdlog::info("redis update failed ({}); trying once more on a new connection", e.what());
        continue;
      }
      mark_dirty(units, e.what());
      return;
    }
  }
}

void WalletService::mark_dirty(const std::vector<Unit>& units, const std::string& why) {
  // Readers fall back to MySQL; but a stale cached state must not survive the outage: the keys that were to be
  // written are remembered and deleted before anything else is written to Redis.
  spdlog::warn("redis update failed ({}); readers fall back to MySQL", why);
  for (const auto& u : units)
    if (writes_cache(u)) {
      dirty_keys_.insert(redis_state_key(u.tenant_id, u.member_id));
      dirty_keys_.insert(redis_balance_key(u.tenant_id, u.member_id));
    }
  Metrics::global().set("emtiaz_wallet_redis_dirty_keys", static_cast<double>(dirty_keys_.size()));
}

void WalletService::publish_events(std::vector<Unit>& units) {
  if (backlog_) return;  // they are in the outbox: published in order once the backlog is cleared
  std::vector<KafkaOutMessage> events;
  std::map<std::int32_t, std::int64_t> last;
  for (auto& u : units)
    for (auto& [seq, payload] : u.events) {
      events.push_back({config_.kafka.ledger_topic, u.part, member_key(u.tenant_id, u.member_id), payload});
      last[u.part] = std::max(last[u.part], seq);
    }
  if (events.empty()) return;
  // Not waited for: the next batch goes on while these are acknowledged (reap_deliveries). A failure
  // turns into a backlog, republished from the outbox; clearing skips what it has and fills holes from
  // the outbox, so neither a repeat nor a hole loses or doubles anything.
  inflight_.push_back({producer_.produce_async(events), std::move(last)});
  if (inflight_.size() > kMaxInflightBatches) inflight_.front().delivery->wait(std::chrono::milliseconds(5000));
}

void WalletService::reap_deliveries() {
  while (!inflight_.empty() && inflight_.front().delivery->settled()) {
    auto& front = inflight_.front();
    if (!front.delivery->delivered()) {
      spdlog::warn("ledger events were not delivered: republishing from the outbox");
      backlog_ = true;
      inflight_.clear();
      return;
    }
    for (auto& [part, seq] : front.last) delivered_[part] = std::max(delivered_[part], seq);
    inflight_.pop_front();
  }
}

void WalletService::record_published() {
  if (delivered_.empty()) return;
  BulkInsert positions("wallet_partitions", {"part", "next_seq", "published_seq", "watermark"},
                       "ON DUPLICATE KEY UPDATE published_seq = GREATEST(published_seq, VALUES(published_seq))");
  for (auto& [part, seq] : delivered_)
    positions.add({static_cast<std::int64_t>(part), seq + 1, seq, std::string("1970-01-01 00:00:00")});
  mysql_.run([&](sql::Connection& c) { positions.execute(c); });
  delivered_.clear();
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

bool within_command_retention(std::int64_t produced_ms, Instant now, std::int64_t retention_hours) {
  if (produced_ms < 0) return true;  // no timestamp: nothing to judge by
  // An hour's margin: the gateway that produced the message and this wallet may disagree on the time.
  const auto oldest = now - std::chrono::hours(retention_hours) + std::chrono::hours(1);
  return std::chrono::milliseconds(produced_ms) >= oldest.time_since_epoch();
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
    update_cache(units);
    publish_events(units);
    Metrics::global().add("emtiaz_wallet_timer_members_total", static_cast<double>(units.size()));
  }
  // Every time event due before t is committed (when the query did not hit its limit): the watermark of
  // every owned partition may pass t.
  if (units.size() < kTimerBatch && !backlog_) publish_watermarks(t);
}

void WalletService::publish_watermarks(Instant at) {
  std::vector<KafkaOutMessage> marks;
  std::map<std::int32_t, std::int64_t> next_seq;
  mysql_.run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT part, next_seq FROM wallet_partitions"));
    while (rs->next()) next_seq[rs->getInt(1)] = rs->getInt64(2);
  });
  for (auto part : owned_) {
    // A watermark says: every event of this partition up to `seq` is committed, and nothing before `at` is
    // still to come. Events still in flight in Kafka are already in the outbox: a consumer that sees the
    // watermark first takes them from there (and skips them when they arrive).
    auto it = next_seq.find(part);
    std::int64_t seq = it == next_seq.end() ? 0 : it->second - 1;
    nlohmann::json wm = {{"kind", "watermark"}, {"part", part}, {"seq", seq}, {"at", points::to_micros(at)}};
    marks.push_back({config_.kafka.ledger_topic, part, "watermark", dump_json(wm)});
  }
  for (auto& m : marks) producer_.produce(m);
}

}  // namespace emtiaz::wallet
