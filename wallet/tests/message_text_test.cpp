// The wallet's messages written without JSON trees — the reply to a command, the reservation's stored outcome, the
// ledger event, any string in them — are the trees' dumps byte for byte; a reply read without a tree is the tree's
// reading, or left to the tree, for any text.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "wallet/command.hpp"
#include "wallet/views.hpp"

namespace emtiaz::wallet {
namespace {

struct Strings {
  std::mt19937_64 rng;
  const std::vector<std::string> pieces = {"a", "Z", "9", "_", "-", ":", "{", "}", " ", "\"", "\\", "\n", "\t", "\r",
                                           "\b", "\f", std::string(1, '\0'), "\x01", "\x1f", "\x7f", "/", "~",
                                           "کافه", "۱۲", "😀", "\xff", "\xc3", "\xed\xa0\x80"};
  std::int64_t pick(std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); }
  // Mostly ASCII (what the wallet writes), sometimes anything.
  std::string text(int max, bool ascii_only = false) {
    std::string s;
    const auto last = static_cast<std::int64_t>(pieces.size()) - (ascii_only || pick(0, 3) ? 7 : 1);
    for (auto n = pick(0, max); n > 0; --n) s += pieces[static_cast<size_t>(pick(0, last))];
    return s;
  }
};

TEST(JsonString, IsTheTreesDumpByteForByte) {
  for (int c = 0; c < 256; ++c) {
    const std::string s = "x" + std::string(1, static_cast<char>(c)) + "y";
    std::string out = "[";
    append_json_string(out, s);
    ASSERT_EQ(out, "[" + dump_json(nlohmann::json(s))) << c;
    // The ASCII writer writes the same or, for a byte above 0x7f, nothing at all.
    std::string ascii = "[";
    ASSERT_EQ(append_ascii_json_string(ascii, s), c < 0x80) << c;
    ASSERT_EQ(ascii, c < 0x80 ? out : std::string("[")) << c;
  }
  Strings g{std::mt19937_64(31)};
  for (int i = 0; i < 5000; ++i) {
    const auto s = g.text(12);
    std::string out;
    append_json_string(out, s);
    ASSERT_EQ(out, dump_json(nlohmann::json(s))) << i;
  }
}

TEST(ReplyText, DumpIsTheTreesDumpAndReadsBackAsTheTreeDoes) {
  Strings g{std::mt19937_64(32)};
  auto same = [](const std::optional<Reply>& a, const std::optional<Reply>& b) {
    return a.has_value() == b.has_value() &&
           (!a || (a->command_id == b->command_id && a->status == b->status && a->body == b->body &&
                   a->replayed == b->replayed && a->reservation_done == b->reservation_done));
  };
  auto slow = [](const std::string& text) -> std::optional<Reply> {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return Reply::from_json(j);
  };
  const std::string mutations = "0123456789-,[]{}\"\\ ntrufalseu:";
  int read_fast = 0;
  for (int i = 0; i < 5000; ++i) {
    const auto ascii = i % 2 == 0;
    Reply r{g.text(6, ascii), static_cast<int>(g.pick(100, 599)), g.text(60, ascii), g.pick(0, 1) == 1,
            g.pick(0, 1) == 1};
    if (i % 7 == 0) r.status = static_cast<int>(g.pick(0, 2'000'000'000));
    const auto text = r.dump();
    ASSERT_EQ(text, dump_json(r.to_json())) << i;
    const auto fast = Reply::from_text(text);
    if (fast) ++read_fast;
    if (ascii) {
      ASSERT_TRUE(fast.has_value()) << text;  // the wallet's replies are read without the tree
    }
    ASSERT_TRUE(!fast || same(fast, r)) << text;
    ASSERT_TRUE(same(Reply::parse(text), slow(text))) << text;
    if (ascii) {
      ASSERT_TRUE(same(Reply::parse(text), r)) << text;  // (invalid UTF-8 comes back replaced)
    }
    // Damaged or reshaped copies: the same answer as the tree's.
    const auto size = static_cast<std::int64_t>(text.size());
    const std::string cut = text.substr(0, static_cast<size_t>(g.pick(0, size - 1)));
    ASSERT_TRUE(same(Reply::parse(cut), slow(cut))) << cut;
    std::string changed = text;
    changed[static_cast<size_t>(g.pick(0, size - 1))] =
        mutations[static_cast<size_t>(g.pick(0, static_cast<std::int64_t>(mutations.size()) - 1))];
    ASSERT_TRUE(same(Reply::parse(changed), slow(changed))) << changed;
    std::string spaced = text;
    spaced.insert(static_cast<size_t>(g.pick(1, size - 1)), " ");
    ASSERT_TRUE(same(Reply::parse(spaced), slow(spaced))) << spaced;
  }
  EXPECT_GT(read_fast, 2500);
  // Escapes the tree reads and Reply::dump never writes: the same answer.
  for (const char* text : {R"({"body":"\u0041\/\u00e9","command_id":"c","replayed":false,"status":201})",
                           R"({"body":"\ud83d\ude00","command_id":"c","replayed":true,"status":201})",
                           R"({"body":"x","command_id":"c","replayed":false,"status":2.5})",
                           R"({"body":"x","command_id":"c","replayed":false,"status":0201})",
                           R"({"body":"x","command_id":"c","replayed":false,"reservation_done":false,"status":201})",
                           R"({"body":"x","command_id":"c","status":201})"}) {
    ASSERT_TRUE(same(Reply::parse(text), slow(text))) << text;
  }
}

TEST(ReservationText, IsTheTreesDumpByteForByte) {
  Strings g{std::mt19937_64(33)};
  for (int i = 0; i < 3000; ++i) {
    const auto fp = g.text(8), body = g.text(60);
    const auto status = static_cast<int>(g.pick(-5, 999));
    std::string tree;
    try {
      tree = nlohmann::json{{"fp", fp}, {"state", "done"}, {"status", status}, {"body", body}}.dump();
    } catch (const nlohmann::json::exception&) {
      EXPECT_THROW(reservation_done_value(fp, status, body), nlohmann::json::exception) << i;  // invalid UTF-8: as before
      continue;
    }
    ASSERT_EQ(reservation_done_value(fp, status, body), tree) << i;
  }
}

TEST(LedgerEventText, IsTheTreesDumpByteForByte) {
  Strings g{std::mt19937_64(34)};
  auto number = [&] { return g.pick(-1'000'000'000'000'000, 1'000'000'000'000'000); };
  for (int i = 0; i < 2000; ++i) {
    const auto tenant = g.text(5), member = g.text(5), command = g.text(8);
    const auto committed = number();
    const auto part = static_cast<std::int32_t>(g.pick(0, 255));
    const auto seq = g.pick(1, 1'000'000'000'000);
    nlohmann::json entries = nlohmann::json::array();
    std::string text_entries;
    for (auto n = g.pick(1, 4); n > 0; --n) {
      const auto type = g.text(3), lot = g.text(5), issuer = g.text(5), partner = g.text(5), redemption = g.text(5),
                 earn = g.text(5);
      const auto points = number(), price = number(), fee = number(), value = number(), at = number();
      // The entry as the wallet built it with a tree before.
      entries.push_back({{"type", type},
                         {"points", points},
                         {"lot_id", lot},
                         {"issuer", issuer},
                         {"issue_price_irr", price},
                         {"fee_bps", fee},
                         {"partner_id", partner},
                         {"redemption_id", redemption},
                         {"redeem_value_irr", value},
                         {"earn_id", earn},
                         {"at", at}});
      if (!text_entries.empty()) text_entries += ',';
      append_ledger_entry(text_entries, {type, points, lot, issuer, price, fee, partner, redemption, value, earn, at});
    }
    nlohmann::json payload = {{"kind", "ledger"},     {"tenant_id", tenant},        {"member_id", member},
                              {"command_id", command}, {"committed_at", committed}, {"entries", entries}};
    payload["part"] = part;
    payload["seq"] = seq;
    ASSERT_EQ(ledger_event_text({tenant, member, command, committed, text_entries, part, seq}), dump_json(payload)) << i;
  }
}

}  // namespace
}  // namespace emtiaz::wallet
