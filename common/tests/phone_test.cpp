#include "common/phone.hpp"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumberutil.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace emtiaz {
namespace {

TEST(Phone, AcceptsEveryWrittenFormOfAMobileNumber) {
  const char* forms[] = {
      "09121234567",        "+989121234567",      "989121234567",     "00989121234567",
      "0912 123 4567",      "0912-123-4567",      "+98 912 123 45 67", "(0912) 123-4567",
      "  09121234567  ",    "+98-912-123-4567",   "0098 912 123 4567",
  };
  for (const char* form : forms) {
    EXPECT_EQ(normalize_iranian_mobile(form), std::optional<std::string>("+989121234567")) << form;
  }
}

TEST(Phone, AcceptsPersianAndArabicIndicDigits) {
  EXPECT_EQ(normalize_iranian_mobile("۰۹۱۲۱۲۳۴۵۶۷"), std::optional<std::string>("+989121234567"));
  EXPECT_EQ(normalize_iranian_mobile("٠٩١٢١٢٣٤٥٦٧"), std::optional<std::string>("+989121234567"));
  EXPECT_EQ(normalize_iranian_mobile("+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷"), std::optional<std::string>("+989121234567"));
  EXPECT_EQ(normalize_iranian_mobile("۰۰۹۸۹۱۲-۱۲۳-۴۵۶۷"), std::optional<std::string>("+989121234567"));
  // Mixed scripts within one number (seen in copy-pasted text).
  EXPECT_EQ(normalize_iranian_mobile("09۱۲١٢٣4567"), std::optional<std::string>("+989121234567"));
}

// The two plain forms ("+989" and 9 digits, "09" and 9 digits) skip libphonenumber's Parse: each must answer
// exactly as the same number written another way (a space after the country code takes the general path),
// for every three-digit operator prefix 900..999, valid or not.
TEST(Phone, TheCanonicalFormAnswersAsEveryOtherForm) {
  int accepted = 0, refused = 0;
  for (int prefix = 900; prefix <= 999; ++prefix) {
    for (const char* rest : {"1234567", "0000000", "9999999", "5550123"}) {
      const std::string national = std::to_string(prefix) + rest;
      const auto canonical = normalize_iranian_mobile("+98" + national);
      const auto spaced = normalize_iranian_mobile("+98 " + national);
      EXPECT_EQ(canonical, spaced) << national;
      EXPECT_EQ(normalize_iranian_mobile("0" + national), spaced) << national;
      EXPECT_EQ(normalize_iranian_mobile("0 " + national), spaced) << national;
      if (canonical) {
        EXPECT_EQ(*canonical, "+98" + national);
        ++accepted;
      } else {
        ++refused;
      }
    }
  }
  // Both answers occur, so the comparison above tested both paths.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 10);
}

TEST(Phone, OtherOperatorsPrefixes) {
  EXPECT_EQ(normalize_iranian_mobile("09351234567"), std::optional<std::string>("+989351234567"));  // Irancell
  EXPECT_EQ(normalize_iranian_mobile("09191234567"), std::optional<std::string>("+989191234567"));  // MCI
  EXPECT_EQ(normalize_iranian_mobile("09211234567"), std::optional<std::string>("+989211234567"));  // RighTel
}

TEST(Phone, RejectsLandlines) {
  EXPECT_EQ(normalize_iranian_mobile("02112345678"), std::nullopt);  // Tehran: valid, but FIXED_LINE
  EXPECT_EQ(normalize_iranian_mobile("+982112345678"), std::nullopt);
  EXPECT_EQ(normalize_iranian_mobile("03132345678"), std::nullopt);  // Isfahan
}

TEST(Phone, RejectsOtherCountries) {
  EXPECT_EQ(normalize_iranian_mobile("+16502530000"), std::nullopt);
  EXPECT_EQ(normalize_iranian_mobile("+447911123456"), std::nullopt);  // a UK mobile
  EXPECT_EQ(normalize_iranian_mobile("0044 7911 123456"), std::nullopt);
}

TEST(Phone, RejectsGarbageWithoutCrashing) {
  const std::string cases[] = {
      "",
      " ",
      "+",
      "++989121234567",
      "98+9121234567",
      "abc",
      "0912ABC4567",  // libphonenumber would map letters to keypad digits; we do not
      "0912123456",   // one digit short
      "091212345678",  // one digit long
      "0912123456789012345",
      "tel:+989121234567",
      "0912_123_4567",
      "09121234567#",
      "09121234567 ext. 12",
      std::string("0912\0" "1234567", 12),
      "\xDB",            // truncated Persian digit
      "\xDB\xB0\xDB",    // truncated again
      "\xD9\xA0\xFF\xFF",
      "\xF0\x9F\x98\x80",  // an emoji
      std::string(1000, '9'),
      std::string(65, ' ') + "09121234567",
      "۰۹۱۲۱۲۳۴۵۶۷۸۹۰",
  };
  for (const auto& input : cases) {
    EXPECT_EQ(normalize_iranian_mobile(input), std::nullopt) << input;
  }
}

TEST(Phone, IsThreadSafe) {
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&good, t] {
      for (int i = 0; i < 300; ++i) {
        const auto r = normalize_iranian_mobile((t % 2 == 0) ? "0912 123 4567" : "۰۹۱۲۱۲۳۴۵۶۷");
        if (r == std::optional<std::string>("+989121234567")) ++good;
        EXPECT_EQ(normalize_iranian_mobile("02112345678"), std::nullopt);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 8 * 300);
}


// normalize_iranian_mobile asks libphonenumber only for the number's type: for country code 98 a MOBILE type
// implies IsValidNumber. Swept against both asked directly, over every prefix of four digits with numbers of
// several lengths (mobile, landline, too short, too long).
TEST(Phone, TheMobileTypeAloneAnswersAsValidityAndTypeTogether) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  int accepted = 0, refused = 0;
  for (int prefix = 1000; prefix <= 9999; prefix += 1) {
    for (const char* rest : {"123456", "000000", "98765", "1234567"}) {
      const std::string national = std::to_string(prefix) + rest;
      PhoneNumber n;
      n.set_country_code(98);
      n.set_national_number(std::stoull(national));
      const bool expected = util.IsValidNumber(n) && util.GetNumberType(n) == PhoneNumberUtil::MOBILE;
      const auto got = normalize_iranian_mobile("+98" + national);
      EXPECT_EQ(got.has_value(), expected) << national;
      (got ? accepted : refused) += 1;
    }
  }
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace emtiaz
