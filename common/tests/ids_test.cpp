#include "common/ids.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace emtiaz {
namespace {

TEST(NewId, IsPrefixUnderscoreAnd24Base62Characters) {
  const std::regex shape("^mem_[0-9A-Za-z]{24}$");
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(std::regex_match(new_id("mem"), shape));
  EXPECT_TRUE(std::regex_match(new_id("mem_"), shape));  // no double underscore
  EXPECT_TRUE(std::regex_match(new_id(""), std::regex("^[0-9A-Za-z]{24}$")));
}

TEST(NewId, IsUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 20'000; ++i) EXPECT_TRUE(seen.insert(new_id("tnt")).second);
}

TEST(CardNumber, NewNumbersAreSixteenDigitsNonZeroFirstAndLuhnValid) {
  std::set<char> first_digits;
  std::set<std::string> seen;
  for (int i = 0; i < 5'000; ++i) {
    const std::string card = new_card_number();
    ASSERT_EQ(card.size(), 16u) << card;
    ASSERT_NE(card[0], '0') << card;
    ASSERT_TRUE(is_valid_card_number(card)) << card;
    first_digits.insert(card[0]);
    seen.insert(card);
  }
  EXPECT_EQ(first_digits.size(), 9u);
  EXPECT_EQ(seen.size(), 5'000u);
}

TEST(CardNumber, KnownLuhnVectors) {
  EXPECT_TRUE(is_valid_card_number("4111111111111111"));
  EXPECT_TRUE(is_valid_card_number("5555555555554444"));
  EXPECT_FALSE(is_valid_card_number("4111111111111112"));
  EXPECT_FALSE(is_valid_card_number("5555555555554445"));
}

TEST(CardNumber, RejectsMalformedNumbers) {
  EXPECT_FALSE(is_valid_card_number(""));
  EXPECT_FALSE(is_valid_card_number("0000000000000000"));  // Luhn-valid, but the first digit is 0
  EXPECT_FALSE(is_valid_card_number("411111111111111"));   // 15 digits
  EXPECT_FALSE(is_valid_card_number("41111111111111111"));  // 17 digits
  EXPECT_FALSE(is_valid_card_number("4111 1111 1111 1111"));
  EXPECT_FALSE(is_valid_card_number("4111-1111-1111-1111"));
  EXPECT_FALSE(is_valid_card_number("411111111111111a"));
  EXPECT_FALSE(is_valid_card_number("۴۱۱۱۱۱۱۱۱۱۱۱۱۱۱۱"));
  EXPECT_FALSE(is_valid_card_number(std::string_view("4111111111111\0" "11", 16)));
}

TEST(CardNumber, DetectsEverySingleDigitError) {
  const std::string card = new_card_number();
  for (std::size_t i = 0; i < card.size(); ++i) {
    for (char d = '0'; d <= '9'; ++d) {
      if (d == card[i]) continue;
      std::string changed = card;
      changed[i] = d;
      EXPECT_FALSE(is_valid_card_number(changed)) << changed;
    }
  }
}

}  // namespace
}  // namespace emtiaz
