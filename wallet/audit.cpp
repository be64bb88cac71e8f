#include "wallet/audit.hpp"

#include <cppconn/resultset.h>
#include <fmt/format.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>

#include "points/conservation.hpp"
#include "points/points_json.hpp"
#include "wallet/stored_state.hpp"
#include "wallet/views.hpp"
#include "wallet/wallet_service.hpp"

namespace emtiaz::wallet {
namespace {

// A tenant's sums: each member's holdings fit int64 (points::holdings_fit), a tenant's over all its members and its
// whole ledger need not, and an audit that wrapped would report a difference that is not there, or hide one.
// 128 bits hold 2^64 entries of the largest amount.
__extension__ typedef __int128 Sum;

std::string sum_text(Sum v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  std::string digits;
  for (; v != 0; v /= 10) digits.insert(digits.begin(), static_cast<char>('0' + (negative ? -(v % 10) : v % 10)));
  return negative ? "-" + digits : digits;
}

// SUM() of a BIGINT column: MariaDB answers a DECIMAL of up to 41 digits, whole.
Sum sum_of(const std::string& text) {
  std::size_t i = text.empty() || text[0] != '-' ? 0 : 1;
  if (i == text.size() || text.size() - i > 38) throw std::runtime_error("a ledger sum out of range: " + text);
  Sum v = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') throw std::runtime_error("a ledger sum is not a whole number: " + text);
    v = v * 10 + (text[i] - '0');
  }
  return text[0] == '-' ? -v : v;
}

// Per issuer, from the ledger: what went into its lots and what left them.
struct IssuerLedger {
  Sum issued = 0, clawed_back = 0, captured = 0, refunded = 0, expired = 0;
  Sum left() const { return issued - clawed_back - captured + refunded - expired; }
};

}  // namespace

AuditReport audit_tenant(MysqlPool& mysql, RedisPool* redis, const std::string& tenant_id) {
  AuditReport report;
  report.tenant_id = tenant_id;
  std::map<std::string, IssuerLedger> ledger;
  Sum debt_created = 0, debt_repaid = 0;
  std::map<std::string, Sum> in_lots;
  Sum debt_outstanding = 0;
  bool redis_broken = false;

  // The states as committed (not advanced: the ledger holds exactly the movements applied to them), read a
  // page at a time so that memory stays bounded for a million members; each page's Redis copies are read
  // with one MGET. Ledger sums and every page come from one consistent snapshot.
  auto check_page = [&](const std::vector<std::tuple<std::string, std::int64_t, nlohmann::json>>& page) {
    std::vector<WalletState> parsed;
    parsed.reserve(page.size());
    for (const auto& [member, version, state] : page) {
      const auto& s = parsed.emplace_back(state_from_json(state));
      for (const auto& [issuer, pts] : points::points_in_lots(s.points)) in_lots[issuer] += pts;
      debt_outstanding += s.points.debt;
    }
    if (!redis || redis_broken || page.empty()) return;
    // Per member, two keys: the cached state and the balance view (what balance reads use).
    std::vector<std::string> argv{"MGET"};
    for (const auto& row : page) {
      argv.push_back(redis_state_key(tenant_id, std::get<0>(row)));
      argv.push_back(redis_balance_key(tenant_id, std::get<0>(row)));
    }
    try {
      auto r = redis->command(argv);
      if (r.type != RedisReply::Type::array || r.elements.size() != 2 * page.size())
        throw std::runtime_error("MGET did not answer one value per key");
      for (size_t i = 0; i < page.size(); ++i) {
        const auto& [member, version, state] = page[i];
        const auto& e = r.elements[2 * i];
        if (e.type == RedisReply::Type::string) {  // not cached: readers use MySQL
          auto j = nlohmann::json::parse(e.str);
          const auto cached_version = j.value("version", std::int64_t{-1});
          const bool same_state = j.contains("state") && j.at("state") == state;
          if (cached_version != version || !same_state)
            report.differences.push_back(fmt::format("member {}: Redis holds version {}, MySQL version {}{}", member,
                                                     cached_version, version, same_state ? "" : " (states differ)"));
        }
        const auto& b = r.elements[2 * i + 1];
        if (b.type == RedisReply::Type::string) {
          // The view must be what the committed state gives at the view's own instant, and of its version.
          auto j = nlohmann::json::parse(b.str, nullptr, false);
          auto view = balance_view_from_json(j);
          const auto view_version = j.is_object() ? j.value("version", std::int64_t{-1}) : std::int64_t{-1};
          bool same = false;
          if (view) {
            auto expected = points::balance_view(parsed[i].points, view->at);
            same = expected.balance == view->balance && expected.valid_until == view->valid_until;
          }
          if (view_version != version || !same)
            report.differences.push_back(fmt::format("member {}: Redis balance view of version {}, MySQL version {}{}",
                                                     member, view_version, version,
                                                     same ? "" : " (the view differs from the state's balance)"));
        }
      }
    } catch (const std::exception& e) {
      report.differences.push_back(fmt::format("Redis could not be read: {}", e.what()));
      redis_broken = true;
    }
  };

  mysql.run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> tx(c.createStatement());
    tx->execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    auto st = prepare(c, "SELECT issuer, type, SUM(points), COUNT(*) FROM ledger_entries WHERE tenant_id = ? GROUP BY issuer, type");
    st->setString(1, tenant_id);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    while (rs->next()) {
      std::string issuer = rs->getString(1), type = rs->getString(2);
      const Sum pts = sum_of(rs->getString(3));
      report.ledger_entries += rs->getInt64(4);
      auto& l = ledger[issuer];
      if (type == "earn" || type == "adjustment") l.issued += pts;
      else if (type == "clawback" || type == "adjustment_debit") l.clawed_back += pts;
      else if (type == "debt_repayment") l.clawed_back += pts, debt_repaid += pts;
      else if (type == "capture") l.captured += pts;
      else if (type == "redemption_refund") l.refunded += pts;
      else if (type == "lot_expiry") l.expired += pts;
      else if (type == "debt") debt_created += pts;
    }
    auto ms = prepare(c, "SELECT member_id, version, state, cold_lots, cold_points, cold_first_expiry, cold_first_seq "
                         "FROM member_states WHERE tenant_id = ? AND member_id > ? ORDER BY member_id LIMIT 2000");
    std::string after;
    for (;;) {
      ms->setString(1, tenant_id);
      ms->setString(2, after);
      std::unique_ptr<sql::ResultSet> mr(ms->executeQuery());
      std::vector<std::tuple<std::string, std::int64_t, nlohmann::json>> page;
      while (mr->next()) {
        // A state with cold lots (wallet/cold_lots.hpp) is checked as the wallet sees it: the two merged.
        const std::string text = mr->getString(3);
        nlohmann::json state;
        std::optional<ColdSummary> held;  // what the cold lots hold, from the lots themselves
        try {
          if (mr->isNull(4)) {
            state = nlohmann::json::parse(decode_stored_text(text));  // deflated since migration 012
          } else {
            std::vector<StoredLot> cold;  // by seq, as the merged state's lots are
            const auto merged = read_stored_state(text, std::string(mr->getString(4)), &cold);
            std::vector<char> is_cold(merged.points.lots.size(), 0);
            auto c = cold.begin();
            for (std::size_t i = 0; i < is_cold.size() && c != cold.end(); ++i)
              if (merged.points.lots[i].seq == c->seq) is_cold[i] = 1, ++c;
            held = cold_summary(merged.points, is_cold);
            state = state_to_json(merged);
          }
        } catch (const std::bad_alloc&) {
          throw;
        } catch (const std::exception& e) {
          // Named, and the audit goes on: a damaged row is a difference to repair (the wallet refuses the member's
          // commands meanwhile), not a reason to stop checking the rest. Its lots are then missing from the sums.
          report.differences.push_back(fmt::format("member {}: its stored state cannot be read ({})",
                                                   std::string(mr->getString(1)), e.what()));
          continue;
        }
        // What the cold lots hold, as stored beside them (an earn may be applied knowing only that: migration 011).
        if (!mr->isNull(5) || !mr->isNull(6) || !mr->isNull(7)) {
          auto stored = [&](int i) { return mr->isNull(i) ? std::string("NULL") : std::string(mr->getString(i)); };
          auto shown = [](const ColdSummary& h) {
            return fmt::format("{}, {}, {}", h.points, points::to_micros(h.first_expiry), h.first_seq);
          };
          const auto beside = fmt::format("{}, {}, {}", stored(5), stored(6), stored(7));
          if (!held || shown(*held) != beside)
            report.differences.push_back(
                fmt::format("member {}: its cold lots hold (points, first expiry, its seq) {}; stored beside them: {}",
                            std::string(mr->getString(1)), held ? shown(*held) : "none", beside));
        }
        page.emplace_back(std::string(mr->getString(1)), mr->getInt64(2), std::move(state));
      }
      if (page.empty()) break;
      after = std::get<0>(page.back());
      report.members += static_cast<std::int64_t>(page.size());
      check_page(page);
    }
    tx->execute("COMMIT");
  });

  std::set<std::string> issuers;
  for (auto& [i, _] : ledger) issuers.insert(i);
  for (auto& [i, _] : in_lots) issuers.insert(i);
  issuers.erase("");
  for (const auto& i : issuers) {
    auto l = ledger[i].left();
    auto s = in_lots[i];
    if (l != s)
      report.differences.push_back(fmt::format("issuer {}: ledger leaves {} points in its lots, member states hold {}",
                                               i, sum_text(l), sum_text(s)));
  }
  if (debt_created - debt_repaid != debt_outstanding)
    report.differences.push_back(
        fmt::format("debt: ledger says {} outstanding ({} created, {} repaid), member states hold {}",
                    sum_text(debt_created - debt_repaid), sum_text(debt_created), sum_text(debt_repaid),
                    sum_text(debt_outstanding)));
  return report;
}

}  // namespace emtiaz::wallet
