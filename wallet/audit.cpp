#include "wallet/audit.hpp"

#include <cppconn/resultset.h>
#include <fmt/format.h>

#include <map>

#include "points/conservation.hpp"
#include "wallet/views.hpp"
#include "wallet/wallet_service.hpp"

namespace emtiaz::wallet {
namespace {

// Per issuer, from the ledger: what went into its lots and what left them.
struct IssuerLedger {
  std::int64_t issued = 0, clawed_back = 0, captured = 0, refunded = 0, expired = 0;
  std::int64_t left() const { return issued - clawed_back - captured + refunded - expired; }
};

}  // namespace

AuditReport audit_tenant(MysqlPool& mysql, RedisPool* redis, const std::string& tenant_id) {
  AuditReport report;
  report.tenant_id = tenant_id;
  std::map<std::string, IssuerLedger> ledger;
  std::int64_t debt_created = 0, debt_repaid = 0;
  std::map<std::string, std::pair<std::int64_t, std::string>> states;  // member -> (version, state json)
  mysql.run([&](sql::Connection& c) {
    auto st = prepare(c, "SELECT issuer, type, SUM(points), COUNT(*) FROM ledger_entries WHERE tenant_id = ? GROUP BY issuer, type");
    st->setString(1, tenant_id);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    while (rs->next()) {
      std::string issuer = rs->getString(1), type = rs->getString(2);
      std::int64_t pts = rs->getInt64(3);
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
    auto ms = prepare(c, "SELECT member_id, version, state FROM member_states WHERE tenant_id = ?");
    ms->setString(1, tenant_id);
    std::unique_ptr<sql::ResultSet> mr(ms->executeQuery());
    while (mr->next()) states[mr->getString(1)] = {mr->getInt64(2), mr->getString(3)};
  });
  report.members = static_cast<std::int64_t>(states.size());

  // The states as committed (not advanced: the ledger holds exactly the movements applied to them).
  std::map<std::string, std::int64_t> in_lots;
  std::int64_t debt_outstanding = 0;
  for (const auto& [member, vs] : states) {
    auto s = state_from_json(nlohmann::json::parse(vs.second));
    for (const auto& [issuer, pts] : points::points_in_lots(s.points)) in_lots[issuer] += pts;
    debt_outstanding += s.points.debt;
  }
  std::int64_t total_ledger = 0, total_lots = 0;
  std::set<std::string> issuers;
  for (auto& [i, _] : ledger) issuers.insert(i);
  for (auto& [i, _] : in_lots) issuers.insert(i);
  issuers.erase("");
  for (const auto& i : issuers) {
    auto l = ledger[i].left();
    auto s = in_lots[i];
    total_ledger += l;
    total_lots += s;
    if (l != s)
      report.differences.push_back(fmt::format("issuer {}: ledger leaves {} points in its lots, member states hold {}", i, l, s));
  }
  if (debt_created - debt_repaid != debt_outstanding)
    report.differences.push_back(fmt::format("debt: ledger says {} outstanding ({} created, {} repaid), member states hold {}",
                                             debt_created - debt_repaid, debt_created, debt_repaid, debt_outstanding));
  (void)total_ledger;
  (void)total_lots;

  if (redis) {
    for (const auto& [member, vs] : states) {
      try {
        auto r = redis->command({"GET", redis_state_key(tenant_id, member)});
        if (r.type != RedisReply::Type::string) continue;  // not cached: readers use MySQL
        auto j = nlohmann::json::parse(r.str);
        auto cached = dump_json(j.at("state"));
        auto stored = dump_json(nlohmann::json::parse(vs.second));
        if (j.value("version", std::int64_t{-1}) != vs.first || cached != stored)
          report.differences.push_back(fmt::format("member {}: Redis holds version {}, MySQL version {}{}", member,
                                                   j.value("version", std::int64_t{-1}), vs.first,
                                                   cached != stored ? " (states differ)" : ""));
      } catch (const std::exception& e) {
        report.differences.push_back(fmt::format("member {}: Redis could not be read: {}", member, e.what()));
        break;
      }
    }
  }
  return report;
}

}  // namespace emtiaz::wallet
