// The balance view as stored in Redis: what the wallet writes is what the gateway reads back, and a text
// that is not such a view is refused rather than misread.
#include <gtest/gtest.h>

#include "wallet/views.hpp"

namespace emtiaz::wallet {
namespace {

points::Instant us(std::int64_t v) { return points::Instant{std::chrono::microseconds{v}}; }

TEST(BalanceViewJson, RoundTripsEveryField) {
  points::BalanceView v;
  v.at = us(1'700'000'000'123'456);
  v.valid_until = us(1'700'000'500'000'001);
  v.balance.available = -12;
  v.balance.pending = 30;
  v.balance.held = 7;
  v.balance.expiring = {{5, us(1'700'000'600'000'000)}, {9, us(1'700'000'700'000'000)}};
  auto j = balance_view_to_json(v, 42);
  EXPECT_EQ(j.at("version"), 42);
  auto back = balance_view_from_json(nlohmann::json::parse(dump_json(j)));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->balance, v.balance);
  EXPECT_EQ(back->at, v.at);
  EXPECT_EQ(back->valid_until, v.valid_until);

  v.valid_until.reset();  // nothing due: holds for ever
  back = balance_view_from_json(balance_view_to_json(v, 1));
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->valid_until.has_value());
  EXPECT_TRUE(back->holds_at(us(4'000'000'000'000'000)));
}

TEST(BalanceViewJson, RefusesWhatIsNotAView) {
  for (const char* text : {R"({})", R"([])", R"({"at":1,"available":1,"pending":0,"held":0,"expiring":[]})",
                           R"({"at":1,"valid_until":null,"available":1.5,"pending":0,"held":0,"expiring":[]})",
                           R"({"at":1,"valid_until":"x","available":1,"pending":0,"held":0,"expiring":[]})",
                           R"({"at":1,"valid_until":null,"available":1,"pending":0,"held":0,"expiring":[[1]]})",
                           R"({"version":3,"state":{"points":{}}})"}) {
    EXPECT_FALSE(balance_view_from_json(nlohmann::json::parse(text)).has_value()) << text;
  }
}

}  // namespace
}  // namespace emtiaz::wallet
