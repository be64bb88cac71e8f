// The messages between the gateway and the wallet: what one side writes is what the other reads back, and a
// message from an older peer (without the newer fields) still reads.
#include <gtest/gtest.h>

#include "wallet/command.hpp"

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

}  // namespace
}  // namespace emtiaz::wallet
