#include "gateway/command_client.hpp"

#include <spdlog/spdlog.h>

#include "common/ids.hpp"
#include "common/metrics.hpp"
#include "wallet/views.hpp"

namespace emtiaz::gateway {

CommandClient::CommandClient(KafkaConfig config, KafkaProducer& producer)
    : config_(std::move(config)), producer_(producer), instance_id_(new_id("gw")) {
  reply_partition_ = partition_for(instance_id_, config_.partitions);
  reader_ = std::thread([this] { read_replies(); });
}

CommandClient::~CommandClient() {
  stop_ = true;
  if (reader_.joinable()) reader_.join();
}

void CommandClient::read_replies() {
  // Replies are read from the end of this gateway's reply partition, outside any consumer group: a reply
  // that arrives while no gateway waits is not needed (the retry asks the wallet again, which replays).
  KafkaConsumer consumer(config_, "emtiaz-gateway-" + instance_id_, {config_.replies_topic},
                         KafkaConsumer::Mode::assign_all_from_end, 1, {reply_partition_});
  while (!stop_) {
    auto msgs = consumer.poll(512, std::chrono::milliseconds(100));
    for (const auto& m : msgs) {
      auto j = nlohmann::json::parse(m.value, nullptr, false);
      if (j.is_discarded()) continue;
      auto reply = wallet::Reply::from_json(j);
      if (!reply) continue;
      std::lock_guard lock(mu_);
      auto [begin, end] = waiters_.equal_range(reply->command_id);
      for (auto it = begin; it != end; ++it) {
        std::lock_guard wl(it->second->mu);
        it->second->reply = *reply;
        it->second->cv.notify_all();
      }
    }
  }
}

std::optional<wallet::Reply> CommandClient::call(wallet::Command cmd, std::chrono::milliseconds timeout) {
  cmd.gateway = instance_id_;
  cmd.reply_partition = reply_partition_;
  auto waiter = std::make_shared<Waiter>();
  std::multimap<std::string, std::shared_ptr<Waiter>>::iterator slot;
  {
    std::lock_guard lock(mu_);
    slot = waiters_.emplace(cmd.command_id, waiter);
  }
  auto key = wallet::member_key(cmd.tenant_id, cmd.member_id);
  KafkaOutMessage msg{config_.commands_topic, partition_for(key, config_.partitions), key,
                      wallet::dump_json(cmd.to_json())};
  auto started = std::chrono::steady_clock::now();
  std::optional<wallet::Reply> result;
  if (producer_.produce(msg)) {
    std::unique_lock wl(waiter->mu);
    waiter->cv.wait_for(wl, timeout, [&] { return waiter->reply.has_value(); });
    result = waiter->reply;
  }
  {
    std::lock_guard lock(mu_);
    waiters_.erase(slot);
  }
  Metrics::global().observe("emtiaz_gateway_command_seconds",
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (!result) Metrics::global().add("emtiaz_gateway_command_timeouts_total");
  return result;
}

}  // namespace emtiaz::gateway
