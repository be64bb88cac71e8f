#include "wallet/applier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "common/errors.hpp"
#include "common/ids.hpp"
#include "points/points_json.hpp"
#include "wallet/earn_ids.hpp"

namespace emtiaz::wallet {
namespace {

using points::Movement;
using points::MovementType;

// The history type a movement shows as, and its sign for the member. nullopt: not shown.
std::optional<std::pair<std::string, int>> history_kind(const Movement& m, CommandType* cmd) {
  switch (m.type) {
    case MovementType::earn: return std::pair{std::string("earn"), +1};
    case MovementType::adjustment: return std::pair{std::string("adjustment"), +1};
    case MovementType::adjustment_debit: return std::pair{std::string("adjustment"), -1};
    case MovementType::clawback: return std::pair{std::string("purchase_refund"), -1};
    case MovementType::debt:
      return std::pair{std::string(cmd && *cmd == CommandType::adjust ? "adjustment" : "purchase_refund"), -1};
    case MovementType::debt_repayment: return std::pair{std::string("debt_repayment"), -1};
    case MovementType::hold: return std::pair{std::string("hold"), -1};
    case MovementType::capture: return std::pair{std::string("capture"), -1};
    case MovementType::release: return std::pair{std::string("release"), +1};
    case MovementType::hold_expiry: return std::pair{std::string("hold_expiry"), +1};
    case MovementType::redemption_refund: return std::pair{std::string("redemption_refund"), +1};
    case MovementType::lot_expiry: return std::pair{std::string("lot_expiry"), -1};
    case MovementType::pending_available: return std::nullopt;
  }
  return std::nullopt;
}

// Groups movements into history items: one per (type, moment, redemption, earn).
std::vector<HistoryItem> to_history(const std::vector<Movement>& movements, CommandType* cmd,
                                    const std::string& receipt_id, const std::string& reason) {
  std::vector<HistoryItem> items;
  std::map<std::tuple<std::string, std::int64_t, std::string, std::string>, size_t> index;
  for (const auto& m : movements) {
    auto kind = history_kind(m, cmd);
    if (!kind) continue;
    auto key = std::tuple{kind->first, points::to_micros(m.at), m.redemption_id, m.earn_id};
    auto it = index.find(key);
    if (it == index.end()) {
      HistoryItem item;
      item.txn_id = new_id("txn");
      item.type = kind->first;
      item.partner_id = m.partner_id;
      item.earn_id = m.earn_id;
      item.redemption_id = m.redemption_id;
      item.at = m.at;
      // Only the command's own movements carry its receipt and reason, not the time events before it.
      if (m.type != MovementType::lot_expiry && m.type != MovementType::hold_expiry &&
          m.type != MovementType::debt_repayment) {
        item.receipt_id = receipt_id;
        item.reason = reason;
      }
      it = index.emplace(key, items.size()).first;
      items.push_back(std::move(item));
    }
    items[it->second].points += kind->second * m.points;
  }
  return items;
}

Code to_code(points::Error e) {
  switch (e) {
    case points::Error::insufficient_points: return Code::insufficient_points;
    case points::Error::invalid_amount: return Code::invalid_amount;
    case points::Error::redemption_not_authorized: return Code::redemption_not_authorized;
    case points::Error::refund_exceeds_redemption: return Code::refund_exceeds_redemption;
    case points::Error::refund_exceeds_purchase: return Code::refund_exceeds_purchase;
    case points::Error::not_found: return Code::not_found;
    default: return Code::internal;
  }
}

std::string error_detail(points::Error e) {
  switch (e) {
    case points::Error::insufficient_points: return "the member does not have enough available points";
    case points::Error::invalid_amount:
      return "the amount is out of range for this operation, or the member's points would pass "
             "9,223,372,036,854,775,807";
    case points::Error::redemption_not_authorized: return "the redemption is no longer authorized";
    case points::Error::refund_exceeds_redemption: return "the refund exceeds the captured points not yet refunded";
    case points::Error::refund_exceeds_purchase: return "refunds of this purchase would exceed its amount";
    case points::Error::not_found: return "no such earn or redemption";
    default: return "internal error";
  }
}

void fail(Effect& e, const Command& cmd, Code code, std::string detail) {
  e.status = http_status(code);
  e.body = render_problem(problem(code, std::move(detail)), cmd.request_id);
}

// points × price_irr, the money a number of points is worth (what a partner is billed for an earn, a redemption's
// value_irr): false when the product overflows int64 or passes 10^15, which the wallet refuses like any amount.
bool worth_within_limit(std::int64_t points, std::int64_t price_irr) {
  std::int64_t worth = 0;
  return !__builtin_mul_overflow(points, price_irr, &worth) && worth <= points::kMaxAmount;
}

std::optional<std::int64_t> arg_int(const Command& cmd, const char* name) {
  auto it = cmd.args.find(name);
  if (it == cmd.args.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

}  // namespace

Effect apply_command(WalletState& state, const Command& cmd, points::Instant now, bool receipt_taken) {
  Effect e;
  const auto& tz = cmd.tenant.timezone;
  // Every clock of the ledger runs from the commit time, exactly (times are shown to the microsecond).
  const auto base = now;
  auto type = cmd.type;
  std::string receipt = arg_str(cmd, "receipt_id");
  std::string reason = arg_str(cmd, "reason");
  auto finish = [&](std::vector<Movement> movements) {
    e.movements = std::move(movements);
    e.history = to_history(e.movements, &type, receipt, reason);
  };

  switch (cmd.type) {
    case CommandType::earn: {
      if (receipt_taken) {
        finish(points::advance(state.points, now));
        fail(e, cmd, Code::duplicate_receipt, fmt::format("receipt {} was already used for an earn", receipt));
        return e;
      }
      auto amount = arg_int(cmd, "amount_irr").value_or(0);
      const auto& p = *cmd.partner;
      // ⌊amount × rate / 10000⌋ without overflow: split amount into whole ten-thousands and the rest.
      std::int64_t whole = 0, part = 0, pts = 0;
      bool overflow = __builtin_mul_overflow(amount / 10000, p.points_per_10k_irr, &whole) ||
                      __builtin_mul_overflow(amount % 10000, p.points_per_10k_irr, &part) ||
                      __builtin_add_overflow(whole, part / 10000, &pts);
      if (overflow || pts > points::kMaxAmount) {
        finish(points::advance(state.points, now));
        fail(e, cmd, Code::invalid_amount, "the earn would issue more than 10^15 points");
        return e;
      }
      // What it issues is money too (the partner's bill in settlement), bounded as a redemption's value is.
      if (!worth_within_limit(pts, p.issue_price_irr)) {
        finish(points::advance(state.points, now));
        fail(e, cmd, Code::invalid_amount, "the earn's points would be worth more than 10^15 IRR at the issue price");
        return e;
      }
      points::LotSpec spec;
      spec.id = new_id("lot");
      spec.issuer = p.id;
      spec.issue_price_irr = p.issue_price_irr;
      spec.fee_bps = p.fee_bps;
      spec.earn_id = new_earn_id(cmd.member_id);
      spec.amount_irr = amount;
      spec.points = pts;
      spec.available_at = add_duration(base, cmd.tenant.pending_period, tz, cmd.tenant.calendar);
      if (cmd.tenant.pending_period.is_zero()) spec.available_at = now;
      spec.expires_at = add_duration(base, cmd.tenant.points_ttl, tz, cmd.tenant.calendar);
      auto out = points::earn(state.points, now, spec);
      finish(std::move(out.movements));
      if (out.error) {
        fail(e, cmd, to_code(*out.error), error_detail(*out.error));
        return e;
      }
      e.earn = NewEarn{spec.earn_id, p.id, receipt, amount, spec.points};
      for (auto& h : e.history)
        if (h.type == "earn") h.earn_id = spec.earn_id;
      EarnAnswer answer{spec.earn_id, cmd.member_id, p.id, receipt, amount, spec.points, spec.available_at > now,
                        spec.available_at, spec.expires_at, now};
      if (auto it = cmd.args.find("occurred_at"); it != cmd.args.end()) answer.occurred_at = &*it;
      if (auto it = cmd.args.find("category"); it != cmd.args.end()) answer.category = &*it;
      e.status = 201;
      e.body = earn_text(answer, points::balance_at(state.points, now), tz);
      return e;
    }
    case CommandType::purchase_refund: {
      auto earn_id = arg_str(cmd, "earn_id");
      auto amount = arg_int(cmd, "amount_irr").value_or(0);
      // A partner refunds only its own earn's purchase (the gateway refuses another partner's first): 404.
      const auto* lot = points::find_earn_lot(state.points, earn_id);
      if (lot && cmd.partner && lot->issuer != cmd.partner->id) {
        finish(points::advance(state.points, now));
        fail(e, cmd, Code::not_found, "no such earn");
        return e;
      }
      auto out = points::refund_purchase(state.points, now, earn_id, amount);
      finish(std::move(out.movements));
      if (out.error) {
        // As the gateway answers an earn it cannot find (the member an earn id names holds no such earn).
        fail(e, cmd, to_code(*out.error),
             *out.error == points::Error::not_found ? std::string("no such earn") : error_detail(*out.error));
        return e;
      }
      auto id = new_id("rfd");
      for (auto& h : e.history)
        if (h.type == "purchase_refund") h.earn_id = earn_id;
      if (std::none_of(e.history.begin(), e.history.end(), [](auto& h) { return h.type == "purchase_refund"; })) {
        // A refund that claws nothing back still belongs in the member's history.
        HistoryItem h;
        h.txn_id = new_id("txn");
        h.type = "purchase_refund";
        h.partner_id = cmd.partner ? cmd.partner->id : "";
        h.earn_id = earn_id;
        h.at = now;
        e.history.push_back(h);
      }
      e.status = 201;
      e.body = purchase_refund_text({id, earn_id, amount, out.value, now}, cmd.member_id,
                                    points::balance_at(state.points, now), tz);
      return e;
    }
    case CommandType::authorize: {
      const auto& p = *cmd.partner;
      std::int64_t pts = 0;
      if (auto v = arg_int(cmd, "points")) {
        pts = *v;
      } else {
        auto amount = arg_int(cmd, "amount_irr").value_or(0);
        pts = p.redeem_value_irr > 0 ? (amount + p.redeem_value_irr - 1) / p.redeem_value_irr : 0;
      }
      // Its value is money, shown as value_irr and settled; bounded, the int64 product never overflows.
      if (!worth_within_limit(pts, p.redeem_value_irr)) {
        finish(points::advance(state.points, now));
        fail(e, cmd, Code::invalid_amount, "the redemption would be worth more than 10^15 IRR");
        return e;
      }
      points::RedemptionSpec spec;
      spec.id = new_id("red");
      spec.partner_id = p.id;
      spec.redeem_value_irr = p.redeem_value_irr;
      spec.points = pts;
      spec.hold_expires_at = add_duration(base, cmd.tenant.hold_ttl, tz, cmd.tenant.calendar);
      auto out = points::authorize(state.points, now, spec);
      std::vector<Movement> moves = std::move(out.movements);
      if (!out.error && cmd.args.value("capture", false)) {
        auto cap = points::capture(state.points, now, spec.id, std::nullopt);
        moves.insert(moves.end(), cap.movements.begin(), cap.movements.end());
      }
      finish(std::move(moves));
      if (out.error) {
        fail(e, cmd, to_code(*out.error), error_detail(*out.error));
        return e;
      }
      state.redemption_receipts[spec.id] = receipt;
      e.redemption = NewRedemption{spec.id, p.id, receipt, spec.hold_expires_at};
      const auto* r = points::find_redemption(state.points, spec.id);
      e.status = 201;
      e.body = redemption_answer_text(cmd.member_id, state, *r, now, tz);
      return e;
    }
    case CommandType::capture:
    case CommandType::void_redemption:
    case CommandType::redemption_refund: {
      auto id = arg_str(cmd, "redemption_id");
      std::optional<std::int64_t> pts = arg_int(cmd, "points");
      // A partner acts only on its own redemption. The gateway routes by the owner it looked up (Redis or
      // MySQL) and refuses another partner's there; the only writer refuses it again: 404, as if there were none
      // (so for a purchase refund, above).
      const auto* own = points::find_redemption(state.points, id);
      if (own && cmd.partner && own->partner_id != cmd.partner->id) {
        finish(points::advance(state.points, now));
        fail(e, cmd, Code::not_found, "no such redemption");
        return e;
      }
      points::Outcome<points::Redemption> out;
      if (cmd.type == CommandType::capture) out = points::capture(state.points, now, id, pts);
      if (cmd.type == CommandType::void_redemption) out = points::void_redemption(state.points, now, id);
      if (cmd.type == CommandType::redemption_refund) out = points::refund_redemption(state.points, now, id, pts);
      auto it = state.redemption_receipts.find(id);
      receipt = it == state.redemption_receipts.end() ? "" : it->second;
      finish(std::move(out.movements));
      if (out.error) {
        fail(e, cmd, to_code(*out.error), error_detail(*out.error));
        return e;
      }
      const auto* r = points::find_redemption(state.points, id);
      e.status = 200;
      e.body = redemption_answer_text(cmd.member_id, state, *r, now, tz);
      return e;
    }
    case CommandType::adjust: {
      auto pts = arg_int(cmd, "points").value_or(0);
      points::AdjustmentSpec spec;
      spec.id = new_id("lot");
      spec.points = pts;
      spec.expires_at = add_duration(base, cmd.tenant.points_ttl, tz, cmd.tenant.calendar);
      auto out = points::adjust(state.points, now, spec);
      finish(std::move(out.movements));
      if (out.error) {
        fail(e, cmd, to_code(*out.error), error_detail(*out.error));
        return e;
      }
      auto id = new_id("adj");
      nlohmann::json body = {{"id", id},
                             {"type", "adjustment"},
                             {"member_id", cmd.member_id},
                             {"points", pts},
                             {"reason", reason},
                             {"created_at", format_rfc3339(now, tz, TimePrecision::micros)},
                             {"balance", balance_json(cmd.member_id, state.points, now, tz)}};
      e.status = 201;
      e.body = dump_json(body);
      return e;
    }
  }
  fail(e, cmd, Code::internal, "unknown command");
  return e;
}

Effect apply_time(WalletState& state, points::Instant now) {
  Effect e;
  e.movements = points::advance(state.points, now);
  e.history = to_history(e.movements, nullptr, "", "");
  return e;
}

}  // namespace emtiaz::wallet
