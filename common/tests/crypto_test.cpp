#include "common/crypto.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace emtiaz {
namespace {

bool is_base62(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string_view("a\0b", 3)), sha256_hex(std::string("a\0b", 3)));
  EXPECT_NE(sha256_hex(std::string_view("a\0b", 3)), sha256_hex("a"));
  EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(RandomToken, HasThePrefixAndEnoughBase62Characters) {
  const std::string token = random_token("emz_live_", 32);
  ASSERT_TRUE(token.starts_with("emz_live_"));
  const std::string_view body = std::string_view(token).substr(9);
  EXPECT_EQ(body.size(), 43u);  // ceil(256 / log2(62))
  EXPECT_TRUE(is_base62(body));
  EXPECT_EQ(random_token("", 16).size(), 22u);
  EXPECT_EQ(random_token("x_", 0), "x_");
  EXPECT_EQ(random_token("", 1).size(), 2u);
}

TEST(RandomToken, DoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) EXPECT_TRUE(seen.insert(random_token("t_", 16)).second);
}

// Random bytes come from a per-thread pool (common/crypto.cpp): threads never share bytes, and a forked child
// does not hand out what its parent's pool had left.
TEST(RandomToken, ThreadsAndAForkedChildGetBytesOfTheirOwn) {
  (void)random_token("", 16);  // this thread's pool is filled
  std::vector<std::vector<std::string>> by_thread(4);
  {
    std::vector<std::thread> threads;
    for (auto& out : by_thread)
      threads.emplace_back([&out] {
        for (int i = 0; i < 2'000; ++i) out.push_back(random_token("", 16));
      });
    for (auto& t : threads) t.join();
  }
  std::set<std::string> seen;
  for (const auto& tokens : by_thread)
    for (const auto& t : tokens) EXPECT_TRUE(seen.insert(t).second);

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const auto t = random_token("", 16);
    _exit(write(pipe_fds[1], t.data(), t.size()) == static_cast<ssize_t>(t.size()) ? 0 : 1);
  }
  const auto parents = random_token("", 16);
  close(pipe_fds[1]);
  std::string childs(64, '\0');
  const auto n = read(pipe_fds[0], childs.data(), childs.size());
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_EQ(n, static_cast<ssize_t>(parents.size()));
  childs.resize(static_cast<size_t>(n));
  EXPECT_NE(childs, parents);
}

TEST(RandomBase62, IsRoughlyUniform) {
  const std::string sample = random_base62(62'000);
  ASSERT_EQ(sample.size(), 62'000u);
  ASSERT_TRUE(is_base62(sample));
  std::map<char, int> counts;
  for (char c : sample) ++counts[c];
  EXPECT_EQ(counts.size(), 62u);
  // Expected 1000 each; a standard deviation is ~31, so this only fails on a real bias.
  for (const auto& [c, n] : counts) {
    EXPECT_GT(n, 800) << c;
    EXPECT_LT(n, 1200) << c;
  }
  EXPECT_EQ(random_base62(0), "");
}

TEST(ConstantTimeEqual, ComparesContentsAndLengths) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret "));
  EXPECT_FALSE(constant_time_equal("secret", ""));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_FALSE(constant_time_equal("Secret", "secret"));
  EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  const std::string long_a(4096, 'a');
  std::string long_b = long_a;
  EXPECT_TRUE(constant_time_equal(long_a, long_b));
  long_b.back() = 'b';
  EXPECT_FALSE(constant_time_equal(long_a, long_b));
}

}  // namespace
}  // namespace emtiaz
