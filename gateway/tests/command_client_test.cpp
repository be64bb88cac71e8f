// The command client's waiting without threads, against a broker that is not there (the Kafka handles connect
// lazily and never reach 127.0.0.1:1): a command without a reply is answered nullopt on the reader thread,
// never inside call_async, within kReplyPollWait of its deadline, and counted as a timeout; the slots bound the
// commands in flight and are freed once a command is answered; a callback that throws does not stop the
// reader; and destroying the client answers every command still waiting.
#include "gateway/command_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "common/tests/metric_value.hpp"

namespace emtiaz::gateway {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

KafkaConfig unreachable() {
  KafkaConfig k;
  k.bootstrap = "127.0.0.1:1";
  return k;
}

wallet::Command command(const std::string& id) {
  wallet::Command c;
  c.command_id = id;
  c.tenant_id = "ten_test";
  c.member_id = "mem_test";
  c.type = wallet::CommandType::earn;
  return c;
}

// One callback's outcome, waited for by the test.
struct Outcome {
  std::mutex mu;
  std::condition_variable cv;
  bool called = false;
  int calls = 0;
  std::optional<wallet::Reply> reply;
  std::thread::id thread;
  Clock::time_point at;

  CommandClient::ReplyCallback callback() {
    return [this](std::optional<wallet::Reply> r) {
      std::lock_guard lock(mu);
      called = true;
      ++calls;
      reply = std::move(r);
      thread = std::this_thread::get_id();
      at = Clock::now();
      cv.notify_all();
    };
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return called; });
  }
};

TEST(CommandClient, AnUnansweredCommandGetsNulloptOnTheReaderThreadNearItsDeadline) {
  KafkaProducer producer(unreachable(), "command-client-test");
  CommandClient client(unreachable(), producer, 8);
  const double timeouts_before = metric_value("emtiaz_gateway_command_timeouts_total");
  Outcome out;
  auto slot = client.try_slot();
  ASSERT_TRUE(slot);
  const auto started = Clock::now();
  client.call_async(std::move(*slot), command("cmd-timeout"), 150ms, out.callback());
  {
    std::lock_guard lock(out.mu);
    EXPECT_FALSE(out.called) << "the callback must not run inside call_async";
  }
  ASSERT_TRUE(out.wait(5s));
  std::lock_guard lock(out.mu);
  EXPECT_FALSE(out.reply.has_value());
  EXPECT_NE(out.thread, std::this_thread::get_id());
  EXPECT_GE(out.at - started, 150ms);
  // The reader looks at deadlines between polls of kReplyPollWait; the rest is slack for a loaded machine.
  EXPECT_LT(out.at - started, 150ms + CommandClient::kReplyPollWait + 500ms);
  EXPECT_EQ(metric_value("emtiaz_gateway_command_timeouts_total"), timeouts_before + 1);
}

TEST(CommandClient, SlotsBoundTheCommandsInFlightAndAreFreedOnceAnswered) {
  KafkaProducer producer(unreachable(), "command-client-test");
  CommandClient client(unreachable(), producer, 2);
  auto a = client.try_slot();
  auto b = client.try_slot();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(client.try_slot()) << "a third slot past the bound of two";
  a.reset();  // a slot never used is freed when it is destroyed
  auto c = client.try_slot();
  ASSERT_TRUE(c);
  EXPECT_FALSE(client.try_slot());

  Outcome out;
  client.call_async(std::move(*c), command("cmd-slot"), 50ms, out.callback());
  c.reset();  // moved from: the waiter holds the slot now
  EXPECT_FALSE(client.try_slot()) << "the waiting command holds its slot";
  ASSERT_TRUE(out.wait(5s));
  // Freed just after the callback returns.
  bool freed = false;
  for (int i = 0; i < 100 && !freed; ++i) {
    if (auto s = client.try_slot()) {
      freed = true;
    } else {
      std::this_thread::sleep_for(5ms);
    }
  }
  EXPECT_TRUE(freed);
}

TEST(CommandClient, AThrowingCallbackDoesNotStopTheReader) {
  KafkaProducer producer(unreachable(), "command-client-test");
  CommandClient client(unreachable(), producer, 8);
  std::atomic<int> thrown{0};
  client.call_async(*client.try_slot(), command("cmd-throws"), 20ms, [&](std::optional<wallet::Reply>) {
    ++thrown;
    throw std::runtime_error("a bug in a callback");
  });
  Outcome after;
  client.call_async(*client.try_slot(), command("cmd-after"), 200ms, after.callback());
  ASSERT_TRUE(after.wait(5s));
  EXPECT_EQ(thrown.load(), 1);
  std::lock_guard lock(after.mu);
  EXPECT_EQ(after.calls, 1);
  EXPECT_FALSE(after.reply.has_value());
}

TEST(CommandClient, DestroyingTheClientAnswersEveryWaitingCommand) {
  KafkaProducer producer(unreachable(), "command-client-test");
  Outcome first, second;
  {
    CommandClient client(unreachable(), producer, 8);
    client.call_async(*client.try_slot(), command("cmd-pending-1"), 60s, first.callback());
    client.call_async(*client.try_slot(), command("cmd-pending-2"), 60s, second.callback());
  }
  for (auto* o : {&first, &second}) {
    ASSERT_TRUE(o->wait(0ms)) << "answered by the destructor";
    std::lock_guard lock(o->mu);
    EXPECT_EQ(o->calls, 1);
    EXPECT_FALSE(o->reply.has_value());
  }
}

// The gateway's producer (failures_only) gets no report of a success, so a delivery it waited for would never
// settle: produce_async refuses it before producing anything.
TEST(CommandClient, AProducerReportingOnlyFailuresRefusesToWaitForDeliveries) {
  KafkaProducer quiet(unreachable(), "command-client-test", 0, KafkaProducer::Reports::failures_only);
  KafkaOutMessage msg{"emtiaz.commands", 0, "k", "{}"};
  EXPECT_THROW(quiet.produce_async({msg}), std::logic_error);
}

}  // namespace
}  // namespace emtiaz::gateway
