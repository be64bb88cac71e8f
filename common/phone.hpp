#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace emtiaz {

// Normalises an Iranian mobile number to E.164 ("+989121234567").
//
// Accepted written forms: "09121234567", "+989121234567", "989121234567", "00989121234567", with spaces,
// dashes, dots or parentheses between the digits, in Latin, Persian (U+06F0..U+06F9) or Arabic-Indic
// (U+0660..U+0669) digits. Parsing and validation are libphonenumber's (region "IR"); the number must be
// valid and of type MOBILE, so a Tehran landline ("021...") gives std::nullopt. Letters, empty or overlong
// input, or anything else that is not a valid Iranian mobile number also give std::nullopt — never an
// exception. Thread-safe.
std::optional<std::string> normalize_iranian_mobile(std::string_view input);

}  // namespace emtiaz
