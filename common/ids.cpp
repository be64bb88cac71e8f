#include "common/ids.hpp"

#include "common/crypto.hpp"

#include <stdexcept>

#include <openssl/rand.h>

namespace emtiaz {
namespace {

constexpr std::size_t kIdRandomChars = 24;
constexpr std::size_t kCardDigits = 16;

// Luhn check digit for `payload` (digits only), i.e. the digit that makes payload+digit valid.
int luhn_check_digit(std::string_view payload) {
  int sum = 0;
  // Walking from the right, the digit next to the (future) check digit is doubled.
  bool doubled = true;
  for (auto it = payload.rbegin(); it != payload.rend(); ++it) {
    int d = *it - '0';
    if (doubled) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    doubled = !doubled;
  }
  return (10 - sum % 10) % 10;
}

// Uniform random decimal digits in [lo, 9] by rejection sampling.
char random_digit(char lo) {
  const int span = '9' - lo + 1;
  const int limit = 256 - 256 % span;
  for (;;) {
    unsigned char b = 0;
    if (RAND_bytes(&b, 1) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
    if (b < limit) return static_cast<char>(lo + b % span);
  }
}

}  // namespace

std::string new_id(std::string_view prefix) {
  std::string out(prefix);
  if (!out.empty() && out.back() != '_') out.push_back('_');
  out += random_base62(kIdRandomChars);
  return out;
}

std::string new_card_number() {
  std::string out;
  out.reserve(kCardDigits);
  out.push_back(random_digit('1'));
  while (out.size() < kCardDigits - 1) out.push_back(random_digit('0'));
  out.push_back(static_cast<char>('0' + luhn_check_digit(out)));
  return out;
}

bool is_valid_card_number(std::string_view number) {
  if (number.size() != kCardDigits || number[0] < '1' || number[0] > '9') return false;
  for (char c : number) {
    if (c < '0' || c > '9') return false;
  }
  return luhn_check_digit(number.substr(0, kCardDigits - 1)) == number.back() - '0';
}

}  // namespace emtiaz
