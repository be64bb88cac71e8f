#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace emtiaz {

// Lower-case hex SHA-256 of `data` (64 characters). Used to store API keys and tokens by hash.
std::string sha256_hex(std::string_view data);

// `count` characters drawn uniformly from [0-9A-Za-z] with OpenSSL's CSPRNG (RAND_bytes, rejection sampling,
// so no character is more likely than another).
std::string random_base62(std::size_t count);

// `prefix` followed by a base62 string carrying at least `random_bytes` bytes of entropy
// (ceil(random_bytes * 8 / log2(62)) characters: 32 bytes -> 43 characters). URL- and header-safe.
// Example: random_token("emz_live_", 32).
std::string random_token(std::string_view prefix, std::size_t random_bytes);

// Compares in time that depends only on the lengths, never on where the contents differ (CRYPTO_memcmp).
// Strings of different lengths are unequal; the length itself is not treated as secret.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace emtiaz
