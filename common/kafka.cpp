#include "common/kafka.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "common/metrics.hpp"

namespace emtiaz {

std::int32_t partition_for(std::string_view key, int partitions) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across processes and builds
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<std::int32_t>(h % static_cast<std::uint64_t>(partitions));
}

std::string kafka_bootstrap(const KafkaConfig& config) {
  if (config.bootstrap && !config.bootstrap->empty()) return *config.bootstrap;
  if (!config.bootstrap_file) return {};
  std::ifstream in(*config.bootstrap_file);
  std::string s;
  std::getline(in, s);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

namespace {

void set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(fmt::format("kafka config {}={}: {}", key, value, err));
}

void log_cb(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= 3) spdlog::warn("kafka {}: {}", fac, buf);
}

}  // namespace

// Reaches into KafkaDelivery for the delivery callback.
struct KafkaDeliveryAccess {
  static void settle(KafkaDelivery& d, bool failed) {
    {
      std::lock_guard lock(d.mu_);
      if (failed) ++d.failed_;
      --d.remaining_;
    }
    d.cv_.notify_all();
  }
};

namespace {

void dr_cb(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) Metrics::global().add("emtiaz_kafka_delivery_failures_total");
  auto* holder = static_cast<std::shared_ptr<KafkaDelivery>*>(m->_private);
  if (!holder) return;
  KafkaDeliveryAccess::settle(**holder, m->err != RD_KAFKA_RESP_ERR_NO_ERROR);
  delete holder;
}

}  // namespace

struct KafkaProducer::Handle {
  rd_kafka_t* rk = nullptr;
  ~Handle() {
    if (!rk) return;
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);  // runs the purged messages' delivery callbacks (they report failure)
    rd_kafka_destroy(rk);
  }
};

KafkaProducer::KafkaProducer(KafkaConfig config, std::string client_id, double linger_ms, Reports reports)
    : config_(std::move(config)), client_id_(std::move(client_id)), linger_ms_(linger_ms), reports_(reports) {
  maintainer_ = std::thread([this] { maintain(); });
}

KafkaProducer::~KafkaProducer() {
  stop_ = true;
  if (maintainer_.joinable()) maintainer_.join();
  std::lock_guard lock(mu_);
  if (handle_ && handle_->rk) rd_kafka_flush(handle_->rk, 2000);
  handle_.reset();
}

std::shared_ptr<KafkaProducer::Handle> KafkaProducer::handle() {
  std::lock_guard lock(mu_);
  if (handle_) return handle_;
  auto bootstrap = kafka_bootstrap(config_);
  if (bootstrap.empty()) return nullptr;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "client.id", client_id_);
  set(conf, "linger.ms", fmt::format("{}", linger_ms_));
  set(conf, "enable.idempotence", "true");
  set(conf, "acks", "all");
  set(conf, "message.timeout.ms", "10000");
  set(conf, "socket.timeout.ms", "3000");
  set(conf, "reconnect.backoff.max.ms", "1000");
  set(conf, "queue.buffering.max.messages", "1000000");
  if (reports_ == Reports::failures_only) set(conf, "delivery.report.only.error", "true");
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    spdlog::error("kafka producer: {}", err);
    return nullptr;
  }
  handle_ = std::make_shared<Handle>();
  handle_->rk = rk;
  bootstrap_ = bootstrap;
  return handle_;
}

void KafkaProducer::maintain() {
  auto last_check = std::chrono::steady_clock::now();
  while (!stop_) {
    std::shared_ptr<Handle> h;
    {
      std::lock_guard lock(mu_);
      h = handle_;
    }
    if (h) {
      rd_kafka_poll(h->rk, 20);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (std::chrono::steady_clock::now() - last_check > std::chrono::milliseconds(500)) {
      last_check = std::chrono::steady_clock::now();
      auto now_bootstrap = kafka_bootstrap(config_);
      std::lock_guard lock(mu_);
      if (handle_ && !now_bootstrap.empty() && now_bootstrap != bootstrap_) {
        spdlog::warn("kafka bootstrap changed ({} -> {}): rebuilding the producer", bootstrap_, now_bootstrap);
        handle_.reset();  // the next use builds a handle on the new bootstrap list
      }
    }
  }
}

bool KafkaProducer::produce(const KafkaOutMessage& msg) {
  auto h = handle();
  if (!h) return false;
  auto err = rd_kafka_producev(h->rk, RD_KAFKA_V_TOPIC(msg.topic.c_str()), RD_KAFKA_V_PARTITION(msg.partition),
                               RD_KAFKA_V_KEY(msg.key.data(), msg.key.size()),
                               RD_KAFKA_V_VALUE(const_cast<char*>(msg.value.data()), msg.value.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

bool KafkaDelivery::settled() const {
  std::lock_guard lock(mu_);
  return remaining_ == 0;
}

bool KafkaDelivery::delivered() const {
  std::lock_guard lock(mu_);
  return remaining_ == 0 && failed_ == 0;
}

bool KafkaDelivery::wait(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  bool done = cv_.wait_for(lock, timeout, [&] { return remaining_ == 0; });
  return done && failed_ == 0;
}

std::shared_ptr<KafkaDelivery> KafkaProducer::produce_async(const std::vector<KafkaOutMessage>& msgs) {
  // Without a report of each success the delivery would never settle.
  if (reports_ != Reports::every_delivery)
    throw std::logic_error("produce_async needs a producer that reports every delivery");
  auto delivery = std::make_shared<KafkaDelivery>();
  delivery->remaining_ = msgs.size();
  auto h = handle();
  for (const auto& msg : msgs) {
    if (!h) {
      KafkaDeliveryAccess::settle(*delivery, true);
      continue;
    }
    auto* holder = new std::shared_ptr<KafkaDelivery>(delivery);
    auto err = rd_kafka_producev(h->rk, RD_KAFKA_V_TOPIC(msg.topic.c_str()), RD_KAFKA_V_PARTITION(msg.partition),
                                 RD_KAFKA_V_KEY(msg.key.data(), msg.key.size()),
                                 RD_KAFKA_V_VALUE(const_cast<char*>(msg.value.data()), msg.value.size()),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(holder), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      delete holder;
      KafkaDeliveryAccess::settle(*delivery, true);
    }
  }
  return delivery;
}

bool KafkaProducer::produce_and_wait(const std::vector<KafkaOutMessage>& msgs, std::chrono::milliseconds timeout) {
  if (msgs.empty()) return true;
  return produce_async(msgs)->wait(timeout);
}

bool KafkaProducer::ready(std::chrono::milliseconds timeout) {
  auto h = handle();
  if (!h) return false;
  const struct rd_kafka_metadata* md = nullptr;
  auto err = rd_kafka_metadata(h->rk, 0, nullptr, &md, static_cast<int>(timeout.count()));
  if (md) rd_kafka_metadata_destroy(md);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

KafkaConsumer::KafkaConsumer(KafkaConfig config, std::string group_id, std::vector<std::string> topics, Mode mode,
                             int fetch_wait_ms, std::vector<std::int32_t> partitions)
    : config_(std::move(config)),
      group_id_(std::move(group_id)),
      topics_(std::move(topics)),
      mode_(mode),
      fetch_wait_ms_(std::max(1, fetch_wait_ms)),
      partitions_(std::move(partitions)) {}

KafkaConsumer::~KafkaConsumer() { destroy(true); }

void KafkaConsumer::destroy(bool leave_group) {
  if (!rk_) return;
  if (leave_group && mode_ == Mode::group) {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  } else {
    // The cluster this handle knew is gone (its bootstrap changed): leaving the group or committing would
    // wait on a coordinator that no longer exists (rd_kafka_consumer_close can block for a long time then).
    rd_kafka_destroy_flags(rk_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
  rk_ = nullptr;
  std::lock_guard lock(assignment_mu_);
  assignment_.clear();
  ++generation_;
}

void KafkaConsumer::rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                                 void* opaque) {
  auto* self = static_cast<KafkaConsumer*>(opaque);
  std::vector<std::int32_t> assigned;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, parts);
    for (int i = 0; i < parts->cnt; ++i) assigned.push_back(parts->elems[i].partition);
  } else {
    rd_kafka_assign(rk, nullptr);
  }
  std::lock_guard lock(self->assignment_mu_);
  self->assignment_ = std::move(assigned);
  ++self->generation_;
}

void KafkaConsumer::build() {
  auto bootstrap = kafka_bootstrap(config_);
  if (bootstrap.empty()) return;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "group.id", group_id_);
  set(conf, "enable.auto.commit", "false");
  set(conf, "auto.offset.reset", mode_ == Mode::group ? "earliest" : "latest");
  set(conf, "fetch.wait.max.ms", std::to_string(fetch_wait_ms_));
  set(conf, "fetch.error.backoff.ms", "10");
  set(conf, "session.timeout.ms", "6000");
  set(conf, "heartbeat.interval.ms", "500");
  set(conf, "socket.timeout.ms", "3000");
  set(conf, "reconnect.backoff.max.ms", "1000");
  set(conf, "enable.partition.eof", "false");
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_opaque(conf, this);
  if (mode_ == Mode::group) rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    spdlog::error("kafka consumer: {}", err);
    return;
  }
  bootstrap_ = bootstrap;
  rd_kafka_poll_set_consumer(rk_);
  if (mode_ == Mode::group) {
    auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(topics_.size()));
    for (const auto& t : topics_) rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
  } else {
    // Not assigned yet: the end of each partition is looked up first (position_at_end, from poll) and assigned
    // as an explicit offset. Assigned as RD_KAFKA_OFFSET_END, it would be looked up at the first fetch, and a
    // message written before that (a reply to a command sent as soon as the handle existed) would be skipped.
    unpositioned_ = true;
  }
}

bool KafkaConsumer::position_at_end(std::chrono::milliseconds timeout) {
  std::vector<std::int32_t> parts = partitions_;
  if (parts.empty())
    for (std::int32_t p = 0; p < config_.partitions; ++p) parts.push_back(p);
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(parts.size() * topics_.size()));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& t : topics_)
    for (auto p : parts) {
      // A short wait each time (the owner's loop has deadlines of its own to look at); the handle stays
      // connected between tries, so once the broker answers this is one quick round trip.
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      std::int64_t low = 0, high = 0;
      auto err = rd_kafka_query_watermark_offsets(rk_, t.c_str(), p, &low, &high,
                                                  static_cast<int>(std::max<long>(1, left.count())));
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(list);
        return false;
      }
      rd_kafka_topic_partition_list_add(list, t.c_str(), p)->offset = high;
    }
  rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  unpositioned_ = false;
  std::lock_guard lock(assignment_mu_);
  assignment_ = parts;
  ++generation_;
  return true;
}

std::vector<KafkaMessage> KafkaConsumer::poll(size_t max, std::chrono::milliseconds wait) {
  auto now = std::chrono::steady_clock::now();
  if (now - last_check_ > std::chrono::milliseconds(500)) {
    last_check_ = now;
    auto b = kafka_bootstrap(config_);
    if (rk_ && !b.empty() && b != bootstrap_) {
      spdlog::warn("kafka bootstrap changed ({} -> {}): rebuilding the consumer", bootstrap_, b);
      destroy(false);
      ++cluster_changes_;
    }
    if (!rk_) build();
  }
  std::vector<KafkaMessage> out;
  if (!rk_) {
    std::this_thread::sleep_for(wait);
    return out;
  }
  if (unpositioned_ && !position_at_end(wait)) return out;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (out.size() < max) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int timeout_ms = out.empty() ? static_cast<int>(std::max<long>(0, left.count())) : 0;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, timeout_ms);
    if (!m) break;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::debug("kafka consume: {}", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      if (out.empty() && std::chrono::steady_clock::now() < deadline) continue;
      break;
    }
    KafkaMessage km;
    km.topic = rd_kafka_topic_name(m->rkt);
    km.partition = m->partition;
    km.offset = m->offset;
    if (m->key) km.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) km.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_timestamp_type_t timestamp_type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    km.timestamp_ms = rd_kafka_message_timestamp(m, &timestamp_type);
    rd_kafka_message_destroy(m);
    out.push_back(std::move(km));
  }
  return out;
}

bool KafkaConsumer::commit(const std::vector<KafkaMessage>& processed) {
  if (!rk_ || processed.empty()) return true;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next;
  for (const auto& m : processed) {
    auto& o = next[{m.topic, m.partition}];
    o = std::max(o, m.offset + 1);
  }
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(next.size()));
  for (const auto& [tp, off] : next) rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)->offset = off;
  // Asynchronous: a command's effect is already recorded in MySQL, so a lost offset commit only costs a
  // redelivery, which the wallet's command record answers.
  auto err = rd_kafka_commit(rk_, list, 1);
  rd_kafka_topic_partition_list_destroy(list);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

std::vector<std::int32_t> KafkaConsumer::assignment() const {
  std::lock_guard lock(assignment_mu_);
  return assignment_;
}

}  // namespace emtiaz
