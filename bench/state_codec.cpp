// What a member's state costs the wallet by its size: the state is parsed from MySQL or Redis and serialised
// again by every command that changes it (wallet/wallet_service.cpp), and it grows with the member's history
// (every captured redemption stays in it: docs/performance-log.md, thirteenth session). For states of 5 lots and
// N captured redemptions, prints one JSON line per N: the text's bytes and the median microseconds to write it
// and to read it back, both as the wallet does it (wallet::state_text and wallet::read_state_text, without a
// tree) and through nlohmann's tree (what the wallet did until the twenty-first session, and what it still does
// for a text that is not its own). CPU only; no server.
//
// Then, for a member who earns and never spends (one lot per earn, all of them holding points), what a command
// writes and reads once the wallet stores the quiet lots apart (wallet/cold_lots.hpp), against one column
// holding them all: one JSON line per lot count, averaged over the next 64 earns of a member with that many.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "points/points_json.hpp"
#include "wallet/applier.hpp"
#include "wallet/cold_lots.hpp"
#include "wallet/views.hpp"

using namespace emtiaz::points;
using Clock = std::chrono::steady_clock;

namespace {

// An id like the services' (a prefix and 24 base62 characters), distinct per n.
std::string id(const char* prefix, int n) {
  static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out = std::string(prefix) + "_";
  unsigned long long x = 0x9E3779B97F4A7C15ull * static_cast<unsigned long long>(n + 1);
  for (int i = 0; i < 24; ++i) {
    out += digits[x % 62];
    x = x / 62 + 0x2545F4914F6CDD1Dull * static_cast<unsigned long long>(i + 1);
  }
  return out;
}

MemberState state_with(int redemptions) {
  MemberState s;
  const auto t0 = from_micros(1796407620722461);
  for (int i = 0; i < 5; ++i) {
    Lot l;
    l.id = id("lot", i);
    l.issuer = id("prt", i % 3);
    l.issue_price_irr = 1000;
    l.fee_bps = 150;
    l.earn_id = id("ern", i);
    l.amount_irr = 10'000'000;
    l.points = 100'000;
    l.remaining = 100'000 - redemptions;
    l.created_at = l.available_at = t0;
    l.expires_at = t0 + std::chrono::hours(24 * 365);
    l.seq = i + 1;
    s.lots.push_back(l);
  }
  for (int i = 0; i < redemptions; ++i) {
    Redemption r;
    r.id = id("red", 1000 + i);
    r.partner_id = id("prt", 10 + i % 20);
    r.redeem_value_irr = 900;
    r.status = RedemptionStatus::captured;
    r.points = r.points_captured = 1;
    r.created_at = t0 + std::chrono::seconds(i);
    r.expires_at = r.created_at + std::chrono::minutes(15);
    r.seq = 6 + i;
    r.allocations.push_back({s.lots[static_cast<std::size_t>(i % 5)].id, 0, 1, 0});
    s.redemptions.push_back(r);
  }
  s.next_seq = 6 + redemptions;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

// An earn command of 10,000,000 IRR at one partner, points valid for ten years.
emtiaz::wallet::Command earn(int i) {
  emtiaz::wallet::Command c;
  c.command_id = "cmd";
  c.tenant_id = "ten_1";
  c.member_id = "mem_1";
  c.type = emtiaz::wallet::CommandType::earn;
  c.tenant.timezone = "Asia/Tehran";
  c.tenant.points_ttl = emtiaz::IsoDuration{.seconds = 10 * 365 * 86400};
  c.tenant.hold_ttl = emtiaz::IsoDuration{.seconds = 900};
  c.partner = emtiaz::wallet::PartnerSnapshot{id("prt", i % 7), "partner", 1000, 900, 150, 100};
  c.args = {{"amount_irr", 10'000'000}, {"receipt_id", id("rcp", i)}};
  return c;
}

void cold_lots_rows() {
  namespace w = emtiaz::wallet;
  const auto t0 = from_micros(1796407620722461);
  for (int lots : {8, 48, 100, 365, 730}) {
    w::WalletState s;
    std::string state;
    std::optional<std::string> cold;
    std::optional<w::ColdSummary> summary;  // what the cold lots hold, stored with them (migration 011)
    std::vector<w::StoredLot> cold_read;
    auto store = [&](double& us, std::size_t& written) {
      const auto a = Clock::now();
      auto texts = w::stored_texts(s, cold_read);
      us += std::chrono::duration<double, std::micro>(Clock::now() - a).count();
      state = std::move(texts.state);
      written += state.size();
      if (texts.write_cold) {
        cold = std::move(texts.cold_lots);
        summary = texts.cold_summary;
        written += cold ? cold->size() : 0;
      }
    };
    double ignored_us = 0;
    std::size_t ignored_bytes = 0;
    int n = 0;
    for (; n < lots; ++n) {
      if (w::apply_command(s, earn(n), t0 + std::chrono::seconds(n), false).status != 201) std::exit(1);
      store(ignored_us, ignored_bytes);
      s = w::read_stored_state(state, cold, &cold_read);
    }
    // The next 64 earns: split (stored as the wallet stores it) against whole (one column, as before).
    const int rounds = 64;
    double split_write_us = 0, split_read_us = 0, whole_write_us = 0, whole_read_us = 0, earn_read_us = 0;
    std::size_t split_written = 0, split_read = 0, whole_bytes = 0, earn_read = 0;
    for (int k = 0; k < rounds; ++k, ++n) {
      if (w::apply_command(s, earn(n), t0 + std::chrono::seconds(n), false).status != 201) std::exit(1);
      store(split_write_us, split_written);
      auto a = Clock::now();
      const auto whole = w::state_text(s);
      auto b = Clock::now();
      whole_write_us += std::chrono::duration<double, std::micro>(b - a).count();
      whole_bytes += whole.size();
      a = Clock::now();
      const auto back_whole = w::read_state_text(whole);
      b = Clock::now();
      whole_read_us += std::chrono::duration<double, std::micro>(b - a).count();
      // As a batch of one earn reads it (WalletService::commit_units_on): the cold lots left unread when their
      // summary is all the earn needs (wallet::cold_lots_may_stay_unread), else read and merged.
      const auto next = t0 + std::chrono::seconds(n + 1);
      a = Clock::now();
      auto for_earn = w::read_state_text(state);
      const bool unread = cold && summary && w::cold_lots_may_stay_unread(for_earn.points, *summary, 1, next) &&
                          w::add_cold_stand_in(for_earn.points, *summary);
      if (cold && !unread) w::merge_cold_lots(for_earn, *cold);
      b = Clock::now();
      earn_read_us += std::chrono::duration<double, std::micro>(b - a).count();
      earn_read += state.size() + (cold && !unread ? cold->size() : 0);
      a = Clock::now();
      s = w::read_stored_state(state, cold, &cold_read);
      b = Clock::now();
      split_read_us += std::chrono::duration<double, std::micro>(b - a).count();
      split_read += state.size() + (cold ? cold->size() : 0);
      if (back_whole.points.lots.size() != s.points.lots.size()) std::exit(1);  // the same state both ways
      if (emtiaz::points::balance_at(for_earn.points, next) != emtiaz::points::balance_at(s.points, next))
        std::exit(1);  // and the same balance, the stand-in's included
    }
    std::printf(
        "{\"kind\":\"cold_lots\",\"lots\":%d,\"whole_bytes\":%.0f,\"split_written_bytes\":%.0f,"
        "\"split_read_bytes\":%.0f,\"whole_write_us\":%.2f,\"split_write_us\":%.2f,\"whole_read_us\":%.2f,"
        "\"split_read_us\":%.2f,\"earn_read_bytes\":%.0f,\"earn_read_us\":%.2f}\n",
        lots, double(whole_bytes) / rounds, double(split_written) / rounds, double(split_read) / rounds,
        whole_write_us / rounds, split_write_us / rounds, whole_read_us / rounds, split_read_us / rounds,
        double(earn_read) / rounds, earn_read_us / rounds);
  }
}

int main() {
  for (int n : {0, 10, 40, 100, 365}) {
    const auto state = state_with(n);
    std::string text;
    std::vector<double> dump_us, parse_us, text_dump_us, text_parse_us;
    emtiaz::wallet::WalletState wallet_state;
    wallet_state.points = state;
    const int rounds = n >= 100 ? 200 : 1000;
    for (int i = 0; i < rounds; ++i) {
      const auto a = Clock::now();
      nlohmann::json j = state;
      text = j.dump();
      const auto b = Clock::now();
      MemberState back = nlohmann::json::parse(text).get<MemberState>();
      const auto c = Clock::now();
      if (back.redemptions.size() != state.redemptions.size()) return 1;
      dump_us.push_back(std::chrono::duration<double, std::micro>(b - a).count());
      parse_us.push_back(std::chrono::duration<double, std::micro>(c - b).count());
      const auto d = Clock::now();
      const auto wallet_text = emtiaz::wallet::state_text(wallet_state);
      const auto e = Clock::now();
      const auto wallet_back = emtiaz::wallet::read_state_text(wallet_text);
      const auto f = Clock::now();
      if (wallet_back.points.redemptions.size() != state.redemptions.size() ||
          !emtiaz::wallet::state_from_text(wallet_text))
        return 1;  // read without the tree, or this measures the wrong thing
      text_dump_us.push_back(std::chrono::duration<double, std::micro>(e - d).count());
      text_parse_us.push_back(std::chrono::duration<double, std::micro>(f - e).count());
    }
    std::printf(
        "{\"kind\":\"state_codec\",\"lots\":5,\"redemptions\":%d,\"bytes\":%zu,\"dump_us\":%.1f,\"parse_us\":%.1f,"
        "\"text_dump_us\":%.2f,\"text_parse_us\":%.2f}\n",
        n, text.size(), median(dump_us), median(parse_us), median(text_dump_us), median(text_parse_us));
  }
  cold_lots_rows();
  return 0;
}
