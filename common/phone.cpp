#include "common/phone.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <string>

namespace emtiaz {
namespace {

// Generous: the longest legitimate form is "+98 912 123 4567" in two-byte digits with separators.
constexpr std::size_t kMaxInputBytes = 64;

// Rewrites the input to ASCII digits, keeping a single leading '+', and dropping the separators people
// type. Anything else (letters, which libphonenumber would otherwise map to keypad digits, control
// characters, a '+' in the middle) makes the input unacceptable.
std::optional<std::string> to_ascii_digits(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c >= '0' && c <= '9') {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '\t') {
      ++i;
    } else if (c == '+') {
      if (!out.empty()) return std::nullopt;
      out.push_back('+');
      ++i;
    } else if ((c == 0xDB || c == 0xD9) && i + 1 < in.size()) {
      // Persian digits are U+06F0..U+06F9 = DB B0..DB B9; Arabic-Indic U+0660..U+0669 = D9 A0..D9 A9.
      const auto c2 = static_cast<unsigned char>(in[i + 1]);
      if (c == 0xDB && c2 >= 0xB0 && c2 <= 0xB9) {
        out.push_back(static_cast<char>('0' + (c2 - 0xB0)));
      } else if (c == 0xD9 && c2 >= 0xA0 && c2 <= 0xA9) {
        out.push_back(static_cast<char>('0' + (c2 - 0xA0)));
      } else {
        return std::nullopt;
      }
      i += 2;
    } else if (c == 0xC2 && i + 1 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0xA0) {
      i += 2;  // no-break space, common in copied text
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// The national number (10 digits starting with 9) of the two forms almost every mobile number arrives in:
// "+989" and 9 digits (E.164, how members are stored) and "09" and 9 digits (how it is dialled in Iran);
// empty for any other form.
std::string_view plain_national_number(std::string_view s) {
  std::string_view national;
  if (s.size() == 13 && s.substr(0, 4) == "+989") national = s.substr(3);
  else if (s.size() == 11 && s.substr(0, 2) == "09") national = s.substr(1);
  else return {};
  for (char c : national)
    if (c < '0' || c > '9') return {};
  return national;
}

}  // namespace

std::optional<std::string> normalize_iranian_mobile(std::string_view input) {
  if (input.empty() || input.size() > kMaxInputBytes) return std::nullopt;
  auto ascii = to_ascii_digits(input);
  if (!ascii || ascii->empty() || *ascii == "+") return std::nullopt;

  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (auto national = plain_national_number(*ascii); !national.empty()) {
    // What Parse makes of these two forms (country code 98, the national number without its leading 0),
    // without Parse's dozen regular expressions, which were a tenth of the gateway's CPU per earn. The checks
    // below are the same for every form.
    number.set_country_code(98);
    number.set_national_number(std::stoull(std::string(national)));
  } else if (util.Parse(*ascii, "IR", &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  if (number.country_code() != 98) return std::nullopt;
  // A valid number is one whose type is known: for country code 98 (one region, IR) IsValidNumber is
  // GetNumberType(number) != UNKNOWN, over the same regular expressions, so MOBILE alone says both (asking
  // both ran them twice: 3 % of the gateway's CPU per earn to a member not in its cache).
  if (util.GetNumberType(number) != PhoneNumberUtil::MOBILE) return std::nullopt;
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

}  // namespace emtiaz
