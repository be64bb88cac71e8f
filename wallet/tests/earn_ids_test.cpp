// An earn's id names its member (wallet/earn_ids.hpp): what new_earn_id makes, member_of_earn_id reads back,
// for every member id the network makes or the benchmark seeds; any other id names no member.
#include "wallet/earn_ids.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/ids.hpp"

namespace emtiaz::wallet {
namespace {

TEST(EarnIds, NameTheirMember) {
  for (const std::string& member : {new_id("mem"), new_id("mem"), std::string("mem_bench2x000000123456"),
                                    std::string("mem_a"), std::string("mem_") + std::string(24, 'z')}) {
    const auto id = new_earn_id(member);
    EXPECT_EQ(id.size(), kEarnIdBytes) << id;
    EXPECT_EQ(id.rfind("ern_", 0), 0u) << id;
    EXPECT_EQ(member_of_earn_id(id), member) << id;
  }
}

TEST(EarnIds, AreDistinctForOneMember) {
  const auto member = new_id("mem");
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(new_earn_id(member));
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(EarnIds, AMemberIdOfAnotherFormGetsAPlainIdThatNamesNoOne) {
  for (const std::string& member : {std::string("mem_") + std::string(25, 'a'), std::string("mem_pre-1"),
                                    std::string("mem_"), std::string("member_1"), std::string("")}) {
    const auto id = new_earn_id(member);
    EXPECT_EQ(id.rfind("ern_", 0), 0u) << id;
    EXPECT_EQ(id.size(), 28u) << id;  // new_id's form
    EXPECT_EQ(member_of_earn_id(id), std::nullopt) << member << " -> " << id;
  }
}

TEST(EarnIds, OtherIdsNameNoMember) {
  for (const char* id : {"", "ern_", "ern_abc", "ern_3kTqAbCdEfGhIjKlMnOpQrSt",  // new_id("ern")
                         "ern_s0m0000000001j3",                                  // the benchmark's seeded earns
                         "ern_abcdefghij_member",                                // random part too short
                         "ern_abcdefghijk_",                                     // no member
                         "ern_abcdefghijk_mem-1",                                // not base62
                         "ern_abcdefghijk_abcdefghijklmnopqrstuvwxy",            // member part too long
                         "ern_abcdefghijkl_abcdefghijklmnopqrstuvwx",            // 41 bytes
                         "red_abcdefghijklmn_abcdefghijklmnopqrstuvw", "lot_abcdefghijk_abc"}) {
    EXPECT_EQ(member_of_earn_id(id), std::nullopt) << id;
  }
  EXPECT_EQ(member_of_earn_id("ern_abcdefghijk_abcdefghijklmnopqrstuvwx"), "mem_abcdefghijklmnopqrstuvwx");
}

}  // namespace
}  // namespace emtiaz::wallet
