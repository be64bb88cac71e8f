#include "clearing/settlement_repository.hpp"

#include <cppconn/resultset.h>
#include <spdlog/spdlog.h>

#include <limits>
#include <memory>
#include <thread>

#include "clearing/settlement.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "common/sql_util.hpp"
#include "common/time.hpp"

namespace emtiaz::clearing {
namespace {

Instant from_us(std::int64_t us) { return Instant(std::chrono::microseconds(us)); }

std::string format_time(std::int64_t us, const std::string& tz) {
  return format_rfc3339(from_us(us), tz, TimePrecision::micros);
}

StoredSettlement read_row(sql::ResultSet& rs) {
  StoredSettlement s;
  s.seq = rs.getInt64("seq");
  s.id = rs.getString("id");
  s.tenant_id = rs.getString("tenant_id");
  s.from_us = rs.getInt64("from_us");
  s.to_us = rs.getInt64("to_us");
  s.checksum = rs.getString("checksum");
  s.body = rs.getString("body");
  s.csv = rs.getString("csv");
  return s;
}

constexpr const char* kColumns = "seq, id, tenant_id, from_us, to_us, checksum, body, csv";

}  // namespace

std::optional<CloseError> SettlementRepository::check_rules(sql::Connection& c, const std::string& tenant_id,
                                                             std::int64_t from, std::int64_t to) {
  {
    auto st = prepare(c, "SELECT 1 FROM settlements WHERE tenant_id = ? AND from_us < ? AND to_us > ? LIMIT 1");
    st->setString(1, tenant_id);
    st->setInt64(2, to);
    st->setInt64(3, from);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    if (rs->next()) return CloseError::overlaps;
  }
  std::optional<std::int64_t> last_to;
  {
    auto st = prepare(c, "SELECT MAX(to_us) FROM settlements WHERE tenant_id = ?");
    st->setString(1, tenant_id);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    if (rs->next() && !rs->isNull(1)) last_to = rs->getInt64(1);
  }
  if (last_to) return from == *last_to ? std::nullopt : std::optional(CloseError::gap);
  // The first settlement starts at or before the tenant's first ledger event (the wallet's own record).
  auto st = prepare(c, "SELECT MIN(at) FROM ledger_entries WHERE tenant_id = ?");
  st->setString(1, tenant_id);
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
  if (rs->next() && !rs->isNull(1)) {
    auto first = parse_sql_time(rs->getString(1)).time_since_epoch().count();
    if (from > first) return CloseError::gap;
  }
  return std::nullopt;
}

std::optional<CloseError> SettlementRepository::check_rules(const std::string& tenant_id, std::int64_t from,
                                                             std::int64_t to) {
  return pool_.run([&](sql::Connection& c) { return check_rules(c, tenant_id, from, to); });
}

bool SettlementRepository::caught_up(std::int64_t to) {
  return pool_.run([&](sql::Connection& c) {
    auto st = prepare(c, "SELECT COUNT(*) FROM clearing_positions WHERE part < ? AND watermark_us >= ?");
    st->setInt(1, partitions_);
    st->setInt64(2, to);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    return rs->next() && rs->getInt64(1) >= partitions_;
  });
}

bool SettlementRepository::wait_caught_up(std::int64_t to, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (caught_up(to)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::variant<StoredSettlement, CloseError> SettlementRepository::close(const std::string& tenant_id,
                                                                        const std::string& timezone,
                                                                        std::int64_t from, std::int64_t to) {
  return pool_.transaction([&](sql::Connection& c) -> std::variant<StoredSettlement, CloseError> {
    {
      // One closing at a time per tenant: the rules are re-checked under the lock.
      auto st = prepare(c, "SELECT id FROM tenants WHERE id = ? FOR UPDATE");
      st->setString(1, tenant_id);
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    }
    if (auto err = check_rules(c, tenant_id, from, to)) return *err;

    std::vector<PartnerInfo> partners;
    {
      auto st = prepare(c, "SELECT id, name FROM partners WHERE tenant_id = ? AND created_at < ? ORDER BY seq");
      st->setString(1, tenant_id);
      st->setString(2, sql_time(from_us(to)));
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
      while (rs->next()) partners.push_back({rs->getString(1), rs->getString(2)});
    }
    // One range scan of the tenant's entries (clearing_events is clustered by (tenant_id, at_us)), summed
    // while it is read: a period of millions of entries never becomes millions of objects. Movements that
    // settle nothing are left in the table.
    const auto read_start = std::chrono::steady_clock::now();
    EventSummer summer;
    {
      // A plain statement (its string escaped by sql_literal), streamed: rows are fetched as they are read
      // (mysql_use_result) rather than stored first, which would hold the whole period's rows in the gateway
      // before the first is summed (~170 MB at a peak for a year of 1M entries). Connector/C++ streams only
      // plain statements: a prepared one refuses setResultSetType.
      std::string sql = "SELECT type, issuer, partner_id, issue_price_irr, fee_bps, redeem_value_irr, points, "
                        "earn_id <> '' FROM clearing_events WHERE tenant_id = ";
      sql_literal(c, tenant_id, sql);
      sql += " AND at_us >= " + std::to_string(from) + " AND at_us < " + std::to_string(to) +
             " AND type NOT IN ('hold', 'release', 'hold_expiry', 'pending_available')";
      std::unique_ptr<sql::Statement> st(c.createStatement());
      st->setResultSetType(sql::ResultSet::TYPE_FORWARD_ONLY);
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery(sql));
      while (rs->next()) {
        const sql::SQLString type = rs->getString(1), issuer = rs->getString(2), partner = rs->getString(3);
        summer.add(type.asStdString(), issuer.asStdString(), partner.asStdString(), rs->getInt64(4), rs->getInt64(5),
                   rs->getInt64(6), rs->getInt64(7), rs->getInt(8) != 0);
      }
    }
    const auto read_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - read_start);
    const auto events = summer.events();
    Figures figures;
    try {
      figures = compute(partners, events);
    } catch (const FiguresOutOfRange& e) {
      spdlog::warn("settlement of tenant {} over [{}, {}) not closed: {}", tenant_id, from, to, e.what());
      return CloseError::figures_out_of_range;  // nothing written
    }
    auto closed = now_utc();
    Header h{new_id("stl"), tenant_id, format_time(from, timezone), format_time(to, timezone),
             format_rfc3339(closed, timezone, TimePrecision::seconds)};
    StoredSettlement s;
    s.id = h.id;
    s.tenant_id = tenant_id;
    s.from_us = from;
    s.to_us = to;
    s.csv = render_csv(figures);
    s.checksum = sha256_hex(s.csv);
    s.body = to_json(h, s.checksum, figures).dump();
    BulkInsert ins("settlements", {"tenant_id", "id", "from_us", "to_us", "closed_at", "checksum", "body", "csv"});
    ins.add({tenant_id, s.id, from, to, sql_time(closed), s.checksum, s.body, s.csv});
    ins.execute(c);
    spdlog::info("settlement {} of tenant {}: {} settling ledger entries read and summed in {} ms, closed in {} ms",
                 s.id, tenant_id, summer.added(), read_ms.count(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - read_start).count());
    return s;
  });
}

std::optional<StoredSettlement> SettlementRepository::get(const std::string& tenant_id, const std::string& id) {
  return pool_.run([&](sql::Connection& c) -> std::optional<StoredSettlement> {
    auto st = prepare(c, std::string("SELECT ") + kColumns + " FROM settlements WHERE tenant_id = ? AND id = ?");
    st->setString(1, tenant_id);
    st->setString(2, id);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    if (!rs->next()) return std::nullopt;
    return read_row(*rs);
  });
}

SettlementPage SettlementRepository::list(const std::string& tenant_id, int limit,
                                          std::optional<std::int64_t> before_seq) {
  return pool_.run([&](sql::Connection& c) {
    auto st = prepare(c, std::string("SELECT ") + kColumns +
                             " FROM settlements WHERE tenant_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?");
    st->setString(1, tenant_id);
    st->setInt64(2, before_seq.value_or(std::numeric_limits<std::int64_t>::max()));
    st->setInt(3, limit + 1);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    SettlementPage page;
    while (rs->next()) page.items.push_back(read_row(*rs));
    if (static_cast<int>(page.items.size()) > limit) {
      page.items.resize(static_cast<size_t>(limit));
      page.next_before_seq = page.items.back().seq;
    }
    return page;
  });
}

}  // namespace emtiaz::clearing
