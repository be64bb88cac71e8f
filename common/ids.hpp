#pragma once

#include <string>
#include <string_view>

namespace emtiaz {

// A new random identifier: `prefix`, an underscore (unless the prefix already ends with one) and 24 base62
// characters (~143 bits) from the CSPRNG: new_id("mem") == "mem_3kTq...". Ids are opaque to clients.
std::string new_id(std::string_view prefix);

// A new random membership card number: 16 ASCII digits, the first one non-zero, the last one the Luhn check
// digit of the other fifteen.
std::string new_card_number();

// True for exactly 16 ASCII digits, the first non-zero, that pass the Luhn check. No spaces or dashes.
bool is_valid_card_number(std::string_view number);

}  // namespace emtiaz
