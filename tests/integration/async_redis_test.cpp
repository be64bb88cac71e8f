// The asynchronous Redis client (common/async_redis.hpp) against the suite's Redis: a burst of pipelined
// commands each gets its own reply, in order; and against what is not a working Redis (nothing listening, a
// listener that never answers, a wrong password) every command gets nullopt, within the timeout, and the
// next second's commands at once.
#include "common/async_redis.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/crypto.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// What the callbacks of a run were given, and when.
struct Answer {
  bool called = false;
  std::optional<RedisReply> reply;
  Clock::duration after{};
};

// Issues `commands` from the io_context's own thread, all at once, and runs it until every callback was
// called (or 10 s passed).
std::vector<Answer> run_all(const RedisConfig& config, const std::vector<std::vector<std::string>>& commands,
                            std::chrono::milliseconds timeout = 1000ms) {
  asio::io_context ioc;
  auto redis = std::make_shared<AsyncRedis>(ioc, config, timeout);
  std::vector<Answer> answers(commands.size());
  size_t left = commands.size();
  const auto started = Clock::now();
  asio::post(ioc, [&] {
    for (size_t i = 0; i < commands.size(); ++i)
      redis->command(commands[i], [&, i](std::optional<RedisReply> r) {
        EXPECT_FALSE(answers[i].called) << "command " << i << " answered twice";
        answers[i] = {true, std::move(r), Clock::now() - started};
        if (--left == 0) ioc.stop();
      });
  });
  ioc.run_for(10s);
  return answers;
}

TEST(AsyncRedis, APipelinedBurstGetsEachReplyInOrder) {
  const auto config = suite_env().redis();
  const std::string prefix = "test:async:" + random_token("", 8) + ":";
  constexpr int kKeys = 2000;
  // SET k_i v_i, GET k_i, GET of a key never set, INCRBY c_i i: four kinds of reply interleaved.
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < kKeys; ++i) {
    const auto k = prefix + std::to_string(i);
    commands.push_back({"SET", k, "v" + std::to_string(i * 7), "EX", "60"});
    commands.push_back({"GET", k});
    commands.push_back({"GET", k + ":missing"});
    commands.push_back({"INCRBY", k + ":n", std::to_string(i)});
    commands.push_back({"EXPIRE", k + ":n", "60"});
  }
  const auto answers = run_all(config, commands);
  for (int i = 0; i < kKeys; ++i) {
    const auto& set = answers[5 * i];
    const auto& get = answers[5 * i + 1];
    const auto& missing = answers[5 * i + 2];
    const auto& incr = answers[5 * i + 3];
    ASSERT_TRUE(set.called && get.called && missing.called && incr.called) << "key " << i;
    ASSERT_TRUE(set.reply && get.reply && missing.reply && incr.reply) << "key " << i;
    EXPECT_EQ(set.reply->type, RedisReply::Type::status) << i;
    EXPECT_EQ(set.reply->str, "OK") << i;
    EXPECT_EQ(get.reply->type, RedisReply::Type::string) << i;
    EXPECT_EQ(get.reply->str, "v" + std::to_string(i * 7)) << i;
    EXPECT_TRUE(missing.reply->is_nil()) << i;
    EXPECT_EQ(incr.reply->type, RedisReply::Type::integer) << i;
    EXPECT_EQ(incr.reply->integer, i) << i;
  }
  // A command Redis refuses is a reply too (an error), not a failure of the connection.
  const auto refused = run_all(config, {{"NOSUCHCOMMAND"}, {"GET", prefix + "0"}});
  ASSERT_TRUE(refused[0].reply && refused[1].reply);
  EXPECT_TRUE(refused[0].reply->is_error());
  EXPECT_EQ(refused[1].reply->str, "v0");
}

// A command issued while others are in flight is held and goes out with the next reply's read (with every
// other command issued meanwhile): commands from separate handlers, and from the callbacks of earlier ones,
// each still get their own reply, in the order issued, and none is left unsent when the replies stop.
TEST(AsyncRedis, CommandsIssuedWhileOthersAreInFlightAreEachAnswered) {
  const auto config = suite_env().redis();
  const std::string key = "test:async:" + random_token("", 8) + ":n";
  asio::io_context ioc;
  auto redis = std::make_shared<AsyncRedis>(ioc, config, 2000ms);
  constexpr int kPosts = 300;
  std::vector<std::int64_t> counted;         // INCR replies, in the order the callbacks ran
  std::vector<std::int64_t> chained;         // the value a callback's own GET saw
  std::vector<std::int64_t> at_chain_issue;  // the INCR value when that GET was issued
  int failed = 0;
  int left = kPosts + kPosts / 2;
  auto finish = [&] {
    if (--left == 0) ioc.stop();
  };
  // Connected first (commands issued while connecting all go out together when it is up).
  std::optional<RedisReply> pong;
  redis->command({"PING"}, [&](std::optional<RedisReply> r) { pong = std::move(r); });
  while (!pong && ioc.run_one_for(2s) > 0) {
  }
  ASSERT_TRUE(pong);
  for (int i = 0; i < kPosts; ++i) {
    // Each its own handler: after the first, the others find a command in flight and are held.
    asio::post(ioc, [&] {
      redis->command({"INCR", key}, [&](std::optional<RedisReply> r) {
        if (!r || r->type != RedisReply::Type::integer) {
          ++failed;
          return;
        }
        counted.push_back(r->integer);
        // Every other callback issues a command of its own (the first does not: the held INCRs must go out
        // with the reply's read, not only when a callback writes).
        if (r->integer % 2 == 0) {
          at_chain_issue.push_back(r->integer);
          redis->command({"GET", key}, [&](std::optional<RedisReply> g) {
            if (!g || g->type != RedisReply::Type::string) ++failed;
            else chained.push_back(std::stoll(g->str));
            finish();
          });
        }
        finish();
      });
    });
  }
  ioc.run_for(20s);
  EXPECT_EQ(failed, 0);
  ASSERT_EQ(left, 0) << "commands left unanswered";
  ASSERT_EQ(counted.size(), static_cast<size_t>(kPosts));
  for (int i = 0; i < kPosts; ++i) EXPECT_EQ(counted[i], i + 1) << "the INCRs were answered out of order";
  ASSERT_EQ(chained.size(), static_cast<size_t>(kPosts / 2));
  for (size_t i = 0; i < chained.size(); ++i) {
    EXPECT_GE(chained[i], at_chain_issue[i]) << i;  // a GET sees at least the INCR that issued it
    if (i > 0) {
      EXPECT_GE(chained[i], chained[i - 1]) << i;
    }
  }
  EXPECT_EQ(chained.back(), kPosts);
}

TEST(AsyncRedis, NothingListeningAnswersNulloptAndTheNextSecondAtOnce) {
  // A port that was just free: nothing listens on it.
  asio::io_context probe;
  asio::ip::tcp::acceptor a(probe, {asio::ip::make_address("127.0.0.1"), 0});
  RedisConfig config;
  config.host = "127.0.0.1";
  config.port = a.local_endpoint().port();
  a.close();

  asio::io_context ioc;
  auto redis = std::make_shared<AsyncRedis>(ioc, config, 1000ms);
  int answered = 0, empty = 0;
  bool second_at_once = false;
  asio::post(ioc, [&] {
    for (int i = 0; i < 10; ++i)
      redis->command({"GET", "k"}, [&](std::optional<RedisReply> r) {
        ++answered;
        if (!r) ++empty;
        if (answered == 10) {
          // Within the second after the failure: answered before command() returns.
          bool called = false;
          redis->command({"GET", "k"}, [&](std::optional<RedisReply> again) { called = !again; });
          second_at_once = called;
          ioc.stop();
        }
      });
  });
  const auto started = Clock::now();
  ioc.run_for(5s);
  EXPECT_EQ(answered, 10);
  EXPECT_EQ(empty, 10);
  EXPECT_TRUE(second_at_once);
  EXPECT_LT(Clock::now() - started, 900ms) << "a refused connection is known at once, not after the timeout";
}

TEST(AsyncRedis, AServerThatNeverAnswersTimesOut) {
  // Accepts connections and reads nothing: every command waits for a reply that never comes.
  asio::io_context ioc;
  asio::ip::tcp::acceptor silent(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket accepted(ioc);
  silent.async_accept(accepted, [](const boost::system::error_code&) {});
  RedisConfig config;
  config.host = "127.0.0.1";
  config.port = silent.local_endpoint().port();
  auto redis = std::make_shared<AsyncRedis>(ioc, config, 300ms);
  std::vector<Answer> answers(5);
  int left = 5;
  const auto started = Clock::now();
  asio::post(ioc, [&] {
    for (int i = 0; i < 5; ++i)
      redis->command({"GET", "k" + std::to_string(i)}, [&, i](std::optional<RedisReply> r) {
        answers[i] = {true, std::move(r), Clock::now() - started};
        if (--left == 0) ioc.stop();
      });
  });
  ioc.run_for(5s);
  for (const auto& a : answers) {
    ASSERT_TRUE(a.called);
    EXPECT_FALSE(a.reply);
    EXPECT_GE(a.after, 300ms) << "answered before the timeout";
    EXPECT_LT(a.after, 2s);
  }
}

TEST(AsyncRedis, AWrongPasswordAnswersNullopt) {
  auto config = suite_env().redis();
  if (config.password.empty()) GTEST_SKIP() << "the suite's Redis has no password";
  config.password += "-wrong";
  const auto answers = run_all(config, {{"GET", "k"}, {"SET", "test:async:never", "1"}});
  for (const auto& a : answers) {
    ASSERT_TRUE(a.called);
    EXPECT_FALSE(a.reply) << "a connection whose AUTH failed answered a command";
  }
  // And the right password works (the failure above was the password's).
  const auto right = run_all(suite_env().redis(), {{"GET", "test:async:never"}});
  ASSERT_TRUE(right[0].reply);
  EXPECT_TRUE(right[0].reply->is_nil()) << "the command after the failed AUTH was run";
}

}  // namespace
}  // namespace emtiaz::tests
