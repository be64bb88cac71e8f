#include "clearing/clearing_consumer.hpp"

#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "common/metrics.hpp"
#include "common/sql_util.hpp"

namespace emtiaz::clearing {
namespace {

struct Batch {
  std::map<std::int32_t, Position> pos;
  std::set<std::int32_t> dirty;
  BulkInsert rows{"clearing_events",
                  {"part", "seq", "idx", "tenant_id", "type", "points", "issuer", "issue_price_irr", "fee_bps",
                   "partner_id", "redeem_value_irr", "earn_id", "at_us"}};
  std::int64_t applied = 0;
};

// Reads (and locks until the commit) the positions of every partition the batch touches, in one query;
// a partition seen for the first time gets its row first (rows are never deleted).
void load_positions(sql::Connection& c, Batch& b, const std::set<std::int32_t>& parts) {
  static std::mutex known_mu;
  static std::set<std::int32_t> known;  // partitions whose row exists
  std::string list;
  std::string missing;
  {
    std::lock_guard lock(known_mu);
    for (auto part : parts) {
      list += (list.empty() ? "" : ",") + std::to_string(part);
      if (!known.count(part)) missing += std::string(missing.empty() ? "" : ",") + "(" + std::to_string(part) + ",0,0)";
    }
  }
  if (list.empty()) return;
  std::unique_ptr<sql::Statement> st(c.createStatement());
  if (!missing.empty()) st->execute("INSERT IGNORE INTO clearing_positions (part, applied_seq, watermark_us) VALUES " + missing);
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery(
      "SELECT part, applied_seq, watermark_us FROM clearing_positions WHERE part IN (" + list + ") FOR UPDATE"));
  while (rs->next()) {
    Position p;
    p.applied_seq = rs->getInt64(2);
    p.watermark_us = rs->getInt64(3);
    b.pos[rs->getInt(1)] = p;
  }
  std::lock_guard lock(known_mu);
  for (const auto& [part, p] : b.pos) known.insert(part);
}

void apply_event(Batch& b, Position& p, std::int32_t part, std::int64_t seq, const nlohmann::json& ev) {
  const std::string tenant = ev.value("tenant_id", "");
  std::int32_t idx = 0;
  for (const auto& e : ev.value("entries", nlohmann::json::array())) {
    b.rows.add({static_cast<std::int64_t>(part), seq, static_cast<std::int64_t>(idx++), tenant,
                e.value("type", ""), e.value("points", std::int64_t{0}), e.value("issuer", ""),
                e.value("issue_price_irr", std::int64_t{0}), e.value("fee_bps", std::int64_t{0}),
                e.value("partner_id", ""), e.value("redeem_value_irr", std::int64_t{0}), e.value("earn_id", ""),
                e.value("at", std::int64_t{0})});
  }
  p.applied_seq = seq;
  b.dirty.insert(part);
  ++b.applied;
}

// Applies the outbox's events of `part` in (applied_seq, up_to) that never reached us through Kafka.
void fill_gap(sql::Connection& c, Batch& b, Position& p, std::int32_t part, std::int64_t up_to) {
  auto st = prepare(c, "SELECT seq, payload FROM outbox WHERE part = ? AND seq > ? AND seq < ? ORDER BY seq");
  st->setInt(1, part);
  st->setInt64(2, p.applied_seq);
  st->setInt64(3, up_to);
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
  std::int64_t filled = 0;
  while (rs->next()) {
    auto seq = rs->getInt64(1);
    if (seq != p.applied_seq + 1) break;  // the outbox itself has a hole: stop at it
    auto ev = nlohmann::json::parse(std::string(rs->getString(2)), nullptr, false);
    if (ev.is_discarded()) break;
    apply_event(b, p, part, seq, ev);
    ++filled;
  }
  if (filled > 0) {
    spdlog::warn("clearing: filled {} events of partition {} from the outbox", filled, part);
    Metrics::global().add("emtiaz_clearing_gap_filled_total", static_cast<double>(filled));
  }
}

}  // namespace

std::int64_t apply_ledger_messages(sql::Connection& c, const std::vector<std::string>& payloads) {
  Batch b;
  std::vector<nlohmann::json> messages;
  std::set<std::int32_t> parts;
  for (const auto& text : payloads) {
    auto msg = nlohmann::json::parse(text, nullptr, false);
    if (msg.is_discarded() || !msg.is_object() || !msg.contains("part") || !msg["part"].is_number_integer() ||
        !msg.contains("seq") || !msg["seq"].is_number_integer()) {
      spdlog::warn("clearing: skipping a malformed ledger message");
      continue;
    }
    parts.insert(msg["part"].get<std::int32_t>());
    messages.push_back(std::move(msg));
  }
  load_positions(c, b, parts);
  for (const auto& msg : messages) {
    const auto part = msg["part"].get<std::int32_t>();
    const auto seq = msg["seq"].get<std::int64_t>();
    const auto kind = msg.value("kind", "");
    auto& p = b.pos[part];
    if (kind == "ledger") {
      if (seq <= p.applied_seq) continue;  // a redelivery: already applied
      if (seq > p.applied_seq + 1) fill_gap(c, b, p, part, seq);
      if (seq != p.applied_seq + 1) {
        spdlog::warn("clearing: partition {} expects seq {} but got {}; waiting for the rest", part,
                     p.applied_seq + 1, seq);
        continue;
      }
      apply_event(b, p, part, seq, msg);
    } else if (kind == "watermark") {
      if (seq > p.applied_seq) fill_gap(c, b, p, part, seq + 1);
      if (seq > p.applied_seq) continue;  // not every event before it is here yet
      auto at = msg.value("at", std::int64_t{0});
      if (at > p.watermark_us) {
        p.watermark_us = at;
        b.dirty.insert(part);
      }
    }
  }
  b.rows.execute(c);
  if (!b.dirty.empty()) {
    // Every moved position in one statement (the rows exist and are locked: see load_positions).
    std::string values;
    for (auto part : b.dirty) {
      const auto& p = b.pos.at(part);
      values += fmt::format("{}({},{},{})", values.empty() ? "" : ",", part, p.applied_seq, p.watermark_us);
    }
    std::unique_ptr<sql::Statement> st(c.createStatement());
    st->execute("INSERT INTO clearing_positions (part, applied_seq, watermark_us) VALUES " + values +
                " ON DUPLICATE KEY UPDATE applied_seq = VALUES(applied_seq), watermark_us = VALUES(watermark_us)");
  }
  return b.applied;
}

ClearingConsumer::ClearingConsumer(KafkaConfig kafka, MysqlPool& mysql) : kafka_(std::move(kafka)), mysql_(mysql) {
  // 50 ms: clearing's latency only delays settlements (which wait for watermarks anyway), and the broker is
  // spared ~950 empty fetches a second.
  consumer_ = std::make_unique<KafkaConsumer>(kafka_, "emtiaz-clearing", std::vector<std::string>{kafka_.ledger_topic},
                                              KafkaConsumer::Mode::group,
                                              std::max(50, kafka_.fetch_wait_ms));
}

ClearingConsumer::~ClearingConsumer() = default;

namespace {
constexpr size_t kMaxBatch = 2000;
constexpr std::chrono::milliseconds kGatherPause{50};
}  // namespace

void ClearingConsumer::run(const std::atomic<bool>& stop) {
  while (!stop) {
    std::vector<KafkaMessage> msgs;
    try {
      msgs = consumer_->poll(kMaxBatch, std::chrono::milliseconds(100));
    } catch (const std::exception& e) {
      spdlog::warn("clearing poll: {}", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (msgs.empty()) continue;
    std::vector<std::string> payloads;
    payloads.reserve(msgs.size());
    for (auto& m : msgs) payloads.push_back(m.value);
    // The same batch is retried until it is stored: offsets move only after the MySQL commit.
    for (int attempt = 0; !stop; ++attempt) {
      try {
        auto n = mysql_.transaction([&](sql::Connection& c) { return apply_ledger_messages(c, payloads); });
        if (n > 0) Metrics::global().add("emtiaz_clearing_events_applied_total", static_cast<double>(n));
        break;
      } catch (const std::exception& e) {
        spdlog::warn("clearing: storing a batch of {} messages failed (attempt {}): {}", payloads.size(), attempt + 1,
                     e.what());
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2000, 100 * (attempt + 1))));
      }
    }
    if (stop) break;
    if (!consumer_->commit(msgs)) spdlog::debug("clearing: offset commit failed (harmless: positions are in MySQL)");
    // A batch that did not fill: pause before the next, so that events gather and clearing commits a few
    // times a second rather than once per event, whatever the broker's fetch wait (a broker that answers a
    // held fetch as soon as data arrives wakes clearing for every ledger event otherwise). Clearing's delay
    // only delays settlements, which wait for their watermarks anyway.
    if (msgs.size() < kMaxBatch && !stop) std::this_thread::sleep_for(kGatherPause);
  }
}

}  // namespace emtiaz::clearing
