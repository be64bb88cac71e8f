// The messages between the gateway and the wallet: what one side writes is what the other reads back, and a
// message from an older peer (without the newer fields) still reads.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "wallet/command.hpp"
#include "wallet/views.hpp"

namespace emtiaz::wallet {
namespace {

TEST(CommandJson, TheReservationTravelsAndIsOptional) {
  Command c;
  c.command_id = "c1";
  c.body_hash = "h1";
  c.gateway = "gw";
  c.reply_partition = 3;
  c.tenant_id = "ten_1";
  c.member_id = "mem_1";
  c.partner = PartnerSnapshot{"prt_1", "Cafe", 1000, 900, 150, 100};
  c.args = {{"amount_irr", 5000}};
  c.reservation = std::string(kReservationKeyPrefix) + "{partner:ten_1:prt_1}:abc";
  auto back = Command::from_json(nlohmann::json::parse(c.to_json().dump()));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->reservation, c.reservation);
  EXPECT_EQ(back->partner->id, "prt_1");
  EXPECT_EQ(back->args, c.args);

  auto older = c.to_json();
  older.erase("reservation");
  back = Command::from_json(older);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->reservation, "");
}

TEST(ReplyJson, ReservationDoneTravelsAndDefaultsToFalse) {
  Reply r{"c1", 201, R"({"id":"ern_1"})", false, true};
  auto back = Reply::from_json(nlohmann::json::parse(r.to_json().dump()));
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->reservation_done);
  EXPECT_EQ(back->body, r.body);

  r.reservation_done = false;  // an older wallet never says it: the gateway completes the reservation itself
  auto j = r.to_json();
  EXPECT_FALSE(j.contains("reservation_done"));
  back = Reply::from_json(j);
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->reservation_done);
}

TEST(ReservationValue, IsWhatTheGatewayReadsForAReplay) {
  auto v = nlohmann::json::parse(reservation_done_value("fp1", 422, R"({"code":"insufficient_points"})"));
  EXPECT_EQ(v.at("fp"), "fp1");
  EXPECT_EQ(v.at("state"), "done");
  EXPECT_EQ(v.at("status"), 422);
  EXPECT_EQ(v.at("body"), R"({"code":"insufficient_points"})");
}


// Command::dump writes the message without building a tree: it must be dump_json(to_json()) byte for byte,
// for any strings (quotes, backslashes, control bytes, Persian, invalid UTF-8), with or without a partner and a
// reservation, any tenant settings and arguments, every type.
TEST(CommandJson, DumpIsTheTreesDumpByteForByte) {
  std::mt19937 rng(1205);
  const std::vector<std::string> pieces = {"a", "Z", "9", "_", "-", ":", "{", "}", " ", "\"", "\\", "\n",
                                           std::string(1, '\0'), "\x1f", "\x7f", "کافه", "۱۲", "😀",
                                           "\xff", "\xc3", "/", "~"};
  auto text = [&](int max) {
    std::string s;
    for (int n = std::uniform_int_distribution<int>(0, max)(rng); n > 0; --n)
      s += pieces[std::uniform_int_distribution<size_t>(0, pieces.size() - 1)(rng)];
    return s;
  };
  auto number = [&] { return std::uniform_int_distribution<std::int64_t>(-5, 1'000'000'000'000)(rng); };
  const CommandType types[] = {CommandType::earn,    CommandType::purchase_refund, CommandType::authorize,
                               CommandType::capture, CommandType::void_redemption, CommandType::redemption_refund,
                               CommandType::adjust};
  for (int i = 0; i < 2000; ++i) {
    Command c;
    c.command_id = text(8);
    c.body_hash = text(8);
    c.request_id = text(4);
    c.gateway = text(4);
    c.reply_partition = static_cast<std::int32_t>(number() % 64);
    c.tenant_id = text(6);
    c.member_id = text(6);
    c.type = types[i % 7];
    c.tenant.timezone = i % 3 ? "Asia/Tehran" : text(5);
    c.tenant.calendar = i % 2 ? Calendar::jalali : Calendar::gregorian;
    c.tenant.points_ttl = IsoDuration{.months = static_cast<int>(i % 25)};
    c.tenant.pending_period = IsoDuration{.days = static_cast<int>(i % 4)};
    c.tenant.hold_ttl = IsoDuration{.minutes = static_cast<int>(i % 90)};
    if (i % 4) c.partner = PartnerSnapshot{text(6), text(6), number(), number(), number() % 10000, number() % 1000};
    if (i % 3) c.reservation = text(10);
    c.args = {{"amount_irr", number()}, {text(3), text(5)}, {"items", {1, "x", nullptr}}};
    ASSERT_EQ(c.dump(), dump_json(c.to_json())) << i;
  }
}

}  // namespace
}  // namespace emtiaz::wallet
