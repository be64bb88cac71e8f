#include "gateway/command_client.hpp"

#include <spdlog/spdlog.h>

#include <vector>

#include "common/ids.hpp"
#include "common/metrics.hpp"
#include "wallet/views.hpp"

namespace emtiaz::gateway {

CommandClient::Slot::~Slot() {
  if (client_) client_->in_flight_.fetch_sub(1);
}

CommandClient::CommandClient(KafkaConfig config, KafkaProducer& producer, size_t in_flight_max)
    : config_(std::move(config)), producer_(producer), instance_id_(new_id("gw")), in_flight_max_(in_flight_max) {
  reply_partition_ = partition_for(instance_id_, config_.partitions);
  reader_ = std::thread([this] { read_replies(); });
}

CommandClient::~CommandClient() {
  stop_ = true;
  if (reader_.joinable()) reader_.join();
  std::vector<Completion> left;
  {
    std::lock_guard lock(mu_);
    while (!waiters_.empty()) left.push_back({take(waiters_.begin()->first), std::nullopt});
  }
  for (auto& c : left) complete(std::move(c));
}

CommandClient::Waiter CommandClient::take(std::uint64_t ticket) {
  auto it = waiters_.find(ticket);
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  deadlines_.erase({w.deadline, ticket});
  auto [begin, end] = by_command_.equal_range(w.command_id);
  for (auto b = begin; b != end; ++b) {
    if (b->second == ticket) {
      by_command_.erase(b);
      break;
    }
  }
  return w;
}

void CommandClient::complete(Completion c) {
  Metrics::global().observe("emtiaz_gateway_command_seconds",
                            std::chrono::duration<double>(Clock::now() - c.waiter.started).count());
  if (!c.reply) Metrics::global().add("emtiaz_gateway_command_timeouts_total");
  try {
    c.waiter.done(std::move(c.reply));
  } catch (const std::exception& e) {
    // The reader thread must survive a callback's bug: every other waiter depends on it.
    spdlog::error("command {}: the reply callback failed: {}", c.waiter.command_id, e.what());
  } catch (...) {
    spdlog::error("command {}: the reply callback failed", c.waiter.command_id);
  }
}

void CommandClient::read_replies() {
  // Replies are read from the end of this gateway's reply partition, outside any consumer group: a reply
  // that arrives while no gateway waits is not needed (the retry asks the wallet again, which replays).
  KafkaConsumer consumer(config_, "emtiaz-gateway-" + instance_id_, {config_.replies_topic},
                         KafkaConsumer::Mode::assign_all_from_end, config_.fetch_wait_ms, {reply_partition_});
  std::vector<wallet::Reply> replies;
  std::vector<Completion> ready;
  while (!stop_) {
    // A short wait: the deadlines are looked at between polls, so this bounds how late a timeout is answered.
    auto msgs = consumer.poll(512, kReplyPollWait);
    replies_ready_ = !consumer.assignment().empty();
    replies.clear();
    for (const auto& m : msgs) {
      if (auto reply = wallet::Reply::parse(m.value)) replies.push_back(std::move(*reply));
    }
    ready.clear();
    {
      std::lock_guard lock(mu_);
      for (auto& reply : replies) {
        auto [begin, end] = by_command_.equal_range(reply.command_id);
        std::vector<std::uint64_t> tickets;
        for (auto it = begin; it != end; ++it) tickets.push_back(it->second);
        for (auto ticket : tickets) ready.push_back({take(ticket), reply});
      }
      const auto now = Clock::now();
      while (!deadlines_.empty() && deadlines_.begin()->first <= now)
        ready.push_back({take(deadlines_.begin()->second), std::nullopt});
    }
    // Outside the lock: a callback may take its time (a short Redis call) without stopping call_async.
    for (auto& c : ready) complete(std::move(c));
  }
}

std::optional<CommandClient::Slot> CommandClient::try_slot() {
  if (in_flight_.fetch_add(1) >= in_flight_max_) {
    in_flight_.fetch_sub(1);
    Metrics::global().add("emtiaz_gateway_commands_shed_total");
    return std::nullopt;
  }
  return Slot(this);
}

void CommandClient::call_async(Slot slot, wallet::Command cmd, std::chrono::milliseconds timeout, ReplyCallback done) {
  cmd.gateway = instance_id_;
  cmd.reply_partition = reply_partition_;
  const auto started = Clock::now();
  std::uint64_t ticket = 0;
  {
    // Registered before the produce: the reply can come back before producev returns.
    std::lock_guard lock(mu_);
    ticket = next_ticket_++;
    const auto deadline = started + timeout;
    waiters_.emplace(ticket, Waiter{cmd.command_id, started, deadline, std::move(done), std::move(slot)});
    by_command_.emplace(cmd.command_id, ticket);
    deadlines_.emplace(deadline, ticket);
  }
  auto key = wallet::member_key(cmd.tenant_id, cmd.member_id);
  KafkaOutMessage msg{config_.commands_topic, partition_for(key, config_.partitions), key,
                      cmd.dump()};
  if (producer_.produce(msg)) return;
  // Not sent: the outcome is known to be "nothing happened", but it is answered like a timeout (nullopt) so
  // that the caller has one path for "retry with the same key". Its deadline is moved to now rather than
  // answered here, so that `done` never runs inside call_async: the reader answers it on its next turn.
  spdlog::warn("command {}: could not be produced to {}", cmd.command_id, config_.commands_topic);
  std::lock_guard lock(mu_);
  auto it = waiters_.find(ticket);
  if (it == waiters_.end()) return;  // answered already (a reply to an earlier send of the same command id)
  deadlines_.erase({it->second.deadline, ticket});
  it->second.deadline = Clock::time_point::min();
  deadlines_.emplace(it->second.deadline, ticket);
}

}  // namespace emtiaz::gateway
