// The suite network's dev broker, seen by a real librdkafka client: the bootstrap file names it, the topics
// exist with the partition counts the services expect, and a message goes through (produce, consume).
#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using RdKafka = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

std::string read_bootstrap() {
  const auto path = suite_env().at("EMTIAZ_KAFKA_BOOTSTRAP_FILE");
  std::ifstream in(path);
  std::string bootstrap;
  std::getline(in, bootstrap);
  return bootstrap;
}

RdKafka make_client(rd_kafka_type_t type, const std::map<std::string, std::string>& settings) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      ADD_FAILURE() << key << ": " << errstr;
      return nullptr;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    ADD_FAILURE() << "rd_kafka_new: " << errstr;
  }
  return RdKafka(rk);
}

TEST(DevBrokerTest, TopicsHaveTheExpectedPartitions) {
  const auto bootstrap = read_bootstrap();
  ASSERT_FALSE(bootstrap.empty()) << "the bootstrap file is empty";
  auto rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}});
  ASSERT_TRUE(rk);
  const struct rd_kafka_metadata* md = nullptr;
  ASSERT_EQ(rd_kafka_metadata(rk.get(), 1, nullptr, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::map<std::string, int> partitions;
  for (int i = 0; i < md->topic_cnt; ++i) partitions[md->topics[i].topic] = md->topics[i].partition_cnt;
  EXPECT_GE(md->broker_cnt, 1);
  rd_kafka_metadata_destroy(md);
  for (const char* topic : {"emtiaz.commands", "emtiaz.replies", "emtiaz.ledger"}) {
    ASSERT_TRUE(partitions.contains(topic)) << topic << " is missing";
    EXPECT_EQ(partitions[topic], 16) << topic;
  }
}

TEST(DevBrokerTest, MessageGoesThrough) {
  const auto bootstrap = read_bootstrap();
  // A topic of this test's own, so that the services' consumers never see the message.
  const std::string topic = "emtiaz.test.devbroker." + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  const std::string payload = "hello from the devbroker test";

  auto producer = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap},
                                                  {"enable.idempotence", "true"},
                                                  {"linger.ms", "0"}});
  ASSERT_TRUE(producer);
  ASSERT_EQ(rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_flush(producer.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

  auto consumer = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                  {"group.id", topic + ".group"},
                                                  {"auto.offset.reset", "earliest"},
                                                  {"fetch.wait.max.ms", "10"}});
  ASSERT_TRUE(consumer);
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(assignment, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  ASSERT_EQ(rd_kafka_assign(consumer.get(), assignment), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(assignment);

  std::string received;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (received.empty() && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(consumer.get(), 200);
    if (msg == nullptr) continue;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      received.assign(static_cast<const char*>(msg->payload), msg->len);
    }
    rd_kafka_message_destroy(msg);
  }
  rd_kafka_consumer_close(consumer.get());
  EXPECT_EQ(received, payload);
}

}  // namespace
}  // namespace emtiaz::tests
