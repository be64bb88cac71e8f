#include "common/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>

namespace emtiaz {
namespace {

constexpr std::string_view kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void rand_bytes(unsigned char* out, std::size_t n) {
  // RAND_bytes takes an int; ask in bounded chunks.
  while (n > 0) {
    const int chunk = static_cast<int>(n > 4096 ? 4096 : n);
    if (RAND_bytes(out, chunk) != 1) {
      // The CSPRNG failing is an environment fault we cannot recover from sensibly.
      throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    out += chunk;
    n -= static_cast<std::size_t>(chunk);
  }
}

// Bumped in a forked child: a pool filled before the fork must not hand the child the parent's bytes.
std::atomic<std::uint64_t> fork_generation{0};
[[maybe_unused]] const int fork_handler_installed = pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });

// Each thread takes its random bytes from a pool of 4 KiB filled by the CSPRNG: every RAND_bytes call costs
// a getpid system call (OpenSSL's fork check) and the DRBG's setup, and a request id was one call per request.
struct RandomPool {
  std::array<unsigned char, 4096> bytes{};
  std::size_t used = bytes.size();
  std::uint64_t generation = 0;

  void take(unsigned char* out, std::size_t n) {
    if (generation != fork_generation.load(std::memory_order_relaxed)) {
      generation = fork_generation.load(std::memory_order_relaxed);
      used = bytes.size();
    }
    while (n > 0) {
      if (used == bytes.size()) {
        rand_bytes(bytes.data(), bytes.size());
        used = 0;
      }
      const auto k = std::min(n, bytes.size() - used);
      std::memcpy(out, bytes.data() + used, k);
      OPENSSL_cleanse(bytes.data() + used, k);  // handed out once, then not kept
      used += k;
      out += k;
      n -= k;
    }
  }
};

void fill_random(unsigned char* out, std::size_t n) {
  if (n >= 4096) return rand_bytes(out, n);
  thread_local RandomPool pool;
  pool.take(out, n);
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL EVP_Digest(SHA-256) failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0F]);
  }
  return out;
}

std::string random_base62(std::size_t count) {
  std::string out;
  out.reserve(count);
  std::array<unsigned char, 64> buffer{};
  while (out.size() < count) {
    // What is still needed and a little more (about 3 % of bytes are rejected below).
    const auto n = std::min(buffer.size(), count - out.size() + 2);
    fill_random(buffer.data(), n);
    for (unsigned char b : std::span(buffer.data(), n)) {
      // 248 = 4 * 62: bytes at or above it would make the first characters more likely.
      if (b >= 248) continue;
      out.push_back(kBase62[b % 62]);
      if (out.size() == count) break;
    }
  }
  return out;
}

std::string random_token(std::string_view prefix, std::size_t random_bytes) {
  const auto chars = static_cast<std::size_t>(std::ceil(static_cast<double>(random_bytes) * 8.0 / std::log2(62.0)));
  std::string out(prefix);
  out += random_base62(chars);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace emtiaz
