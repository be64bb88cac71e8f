// emtiaz-kafka-echo: a bare Kafka request/reply echo through a broker, with the client settings the
// services use (producer linger.ms=0, acks=all, idempotence; consumers fetch.wait.max.ms = --fetch-wait-ms, the
// services' kafka.fetch_wait_ms, default 1). A client
// produces a request to a request topic; an echo thread (playing the wallet) consumes it and produces it
// to a reply topic; the client's consumer (playing the gateway) receives it. Measures the round trip
// sequentially (one at a time) and with N requests in flight. librdkafka C API.
//
//   emtiaz-kafka-echo --bootstrap-file FILE [--sequential 1000] [--inflight 256] [--duration 10] [--fetch-wait-ms 1]
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/histogram.hpp"

using Clock = std::chrono::steady_clock;

namespace {

void set(rd_kafka_conf_t* conf, const char* k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(std::string("conf ") + k + ": " + err);
}

rd_kafka_t* make_producer(const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "linger.ms", "0");
  set(conf, "enable.idempotence", "true");
  set(conf, "acks", "all");
  set(conf, "message.timeout.ms", "10000");
  set(conf, "socket.timeout.ms", "3000");
  set(conf, "queue.buffering.max.messages", "1000000");
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(std::string("producer: ") + err);
  return rk;
}

rd_kafka_t* make_consumer(const std::string& bootstrap, const std::string& group, int fetch_wait_ms) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "group.id", group);
  set(conf, "enable.auto.commit", "false");
  set(conf, "auto.offset.reset", "latest");
  set(conf, "fetch.wait.max.ms", std::to_string(fetch_wait_ms));
  set(conf, "fetch.error.backoff.ms", "10");
  set(conf, "socket.timeout.ms", "3000");
  set(conf, "enable.partition.eof", "false");
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(std::string("consumer: ") + err);
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

int partitions_of(rd_kafka_t* rk, const std::string& topic) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    int n = 0;
    if (rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) n = md->topics[0].partition_cnt;
      rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(t);
    if (n > 0) return n;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("topic " + topic + " did not appear");
}

void assign_all(rd_kafka_t* rk, const std::string& topic, int n) {
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(n);
  for (int p = 0; p < n; ++p) rd_kafka_topic_partition_list_add(l, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
  rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
}

void produce(rd_kafka_t* rk, const std::string& topic, int partition, const std::string& key, const std::string& value) {
  for (;;) {
    auto err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                                 RD_KAFKA_V_KEY(key.data(), key.size()),
                                 RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) throw std::runtime_error(rd_kafka_err2str(err));
    rd_kafka_poll(rk, 1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap_file;
  int sequential = 1000, inflight = 256, fetch_wait_ms = 1;
  double duration = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--bootstrap-file") bootstrap_file = v;
    else if (a == "--sequential") sequential = std::stoi(v);
    else if (a == "--inflight") inflight = std::stoi(v);
    else if (a == "--duration") duration = std::stod(v);
    else if (a == "--fetch-wait-ms") fetch_wait_ms = std::stoi(v);
  }
  try {
    std::string bootstrap;
    std::ifstream(bootstrap_file) >> bootstrap;
    if (bootstrap.empty()) throw std::runtime_error("no bootstrap list in " + bootstrap_file);
    const std::string tag = std::to_string(Clock::now().time_since_epoch().count());
    const std::string req_topic = "bench.echo.req." + tag, rep_topic = "bench.echo.rep." + tag;

    rd_kafka_t* client = make_producer(bootstrap);
    rd_kafka_t* echo_producer = make_producer(bootstrap);
    // Touch both topics so that the broker creates them, then learn their partitions.
    produce(client, req_topic, RD_KAFKA_PARTITION_UA, "init", "init");
    produce(client, rep_topic, RD_KAFKA_PARTITION_UA, "init", "init");
    rd_kafka_flush(client, 5000);
    const int req_parts = partitions_of(client, req_topic), rep_parts = partitions_of(client, rep_topic);

    rd_kafka_t* echo_consumer = make_consumer(bootstrap, "bench-echo-" + tag, fetch_wait_ms);
    rd_kafka_t* reply_consumer = make_consumer(bootstrap, "bench-client-" + tag, fetch_wait_ms);
    assign_all(echo_consumer, req_topic, req_parts);
    assign_all(reply_consumer, rep_topic, rep_parts);

    std::atomic<bool> stop{false};
    // The echo: what the wallet does minus the wallet's work.
    std::thread echo([&] {
      while (!stop) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(echo_consumer, 50);
        if (!m) {
          rd_kafka_poll(echo_producer, 0);
          continue;
        }
        if (!m->err) {
          std::string value(static_cast<const char*>(m->payload), m->len);
          auto sep = value.find('|');
          int reply_part = sep == std::string::npos ? 0 : std::stoi(value.substr(0, sep)) % rep_parts;
          std::string key(static_cast<const char*>(m->key), m->key_len);
          produce(echo_producer, rep_topic, reply_part, key, value);
        }
        rd_kafka_message_destroy(m);
        rd_kafka_poll(echo_producer, 0);
      }
    });

    // Requests in flight: id -> send time; replies wake the sender.
    std::mutex mu;
    std::condition_variable cv;
    std::unordered_map<std::uint64_t, Clock::time_point> sent;
    emtiaz::bench::Histogram seq_hist, par_hist;
    emtiaz::bench::Histogram* current = &seq_hist;
    std::uint64_t received = 0;
    std::thread replies([&] {
      while (!stop) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(reply_consumer, 50);
        if (!m) continue;
        if (!m->err && m->len > 0) {
          std::string value(static_cast<const char*>(m->payload), m->len);
          auto sep = value.find('|');
          if (sep != std::string::npos && value.compare(0, sep, "init") != 0) {
            auto id = std::stoull(value.substr(sep + 1));
            auto now = Clock::now();
            std::lock_guard lk(mu);
            auto it = sent.find(id);
            if (it != sent.end()) {
              current->record(std::chrono::duration_cast<std::chrono::microseconds>(now - it->second).count());
              sent.erase(it);
              ++received;
            }
          }
        }
        rd_kafka_message_destroy(m);
        cv.notify_all();
      }
    });

    std::uint64_t next_id = 0;
    auto send_one = [&] {
      std::uint64_t id;
      {
        std::lock_guard lk(mu);
        id = next_id++;
        sent[id] = Clock::now();
      }
      const std::string key = "t:member-" + std::to_string(id % 100000);
      produce(client, req_topic, RD_KAFKA_PARTITION_UA, key, std::to_string(id % static_cast<std::uint64_t>(rep_parts)) + "|" + std::to_string(id));
      rd_kafka_poll(client, 0);
    };

    // Warm up until one round trip works (the consumers' END offsets are resolved by then).
    auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      send_one();
      std::unique_lock lk(mu);
      if (cv.wait_for(lk, std::chrono::seconds(1), [&] { return received > 0; })) break;
      if (Clock::now() > deadline) throw std::runtime_error("no echo came back within 30 s");
    }
    {
      std::lock_guard lk(mu);
      sent.clear();
      seq_hist = {};
      received = 0;
    }

    // Sequential round trips.
    auto t0 = Clock::now();
    for (int i = 0; i < sequential; ++i) {
      send_one();
      std::unique_lock lk(mu);
      if (!cv.wait_for(lk, std::chrono::seconds(10), [&] { return sent.empty(); }))
        throw std::runtime_error("a sequential round trip took more than 10 s");
    }
    double seq_secs = std::chrono::duration<double>(Clock::now() - t0).count();

    // N in flight for `duration` seconds: a reply frees a slot for the next request.
    {
      std::lock_guard lk(mu);
      current = &par_hist;
      received = 0;
    }
    auto t1 = Clock::now();
    auto end = t1 + std::chrono::duration<double>(duration);
    while (Clock::now() < end) {
      size_t n;
      {
        std::unique_lock lk(mu);
        cv.wait_for(lk, std::chrono::milliseconds(5), [&] { return sent.size() < static_cast<size_t>(inflight); });
        n = sent.size();
      }
      for (size_t k = n; k < static_cast<size_t>(inflight); ++k) send_one();
    }
    std::uint64_t done;
    {
      std::lock_guard lk(mu);
      done = received;
    }
    double par_secs = std::chrono::duration<double>(Clock::now() - t1).count();
    stop = true;
    echo.join();
    replies.join();

    std::cout << "{\"sequential\":{\"round_trips\":" << seq_hist.count() << ",\"rate\":" << static_cast<double>(seq_hist.count()) / seq_secs
              << ",\"p50_ms\":" << static_cast<double>(seq_hist.percentile(0.5)) / 1000.0
              << ",\"p99_ms\":" << static_cast<double>(seq_hist.percentile(0.99)) / 1000.0
              << ",\"mean_ms\":" << seq_hist.mean() / 1000.0 << "},\"inflight\":{\"n\":" << inflight
              << ",\"round_trips\":" << done << ",\"rate\":" << static_cast<double>(done) / par_secs
              << ",\"p50_ms\":" << static_cast<double>(par_hist.percentile(0.5)) / 1000.0
              << ",\"p99_ms\":" << static_cast<double>(par_hist.percentile(0.99)) / 1000.0 << "}}" << std::endl;
    rd_kafka_consumer_close(echo_consumer);
    rd_kafka_consumer_close(reply_consumer);
    rd_kafka_destroy(echo_consumer);
    rd_kafka_destroy(reply_consumer);
    rd_kafka_flush(client, 2000);
    rd_kafka_flush(echo_producer, 2000);
    rd_kafka_destroy(client);
    rd_kafka_destroy(echo_producer);
  } catch (const std::exception& e) {
    std::cerr << "emtiaz-kafka-echo: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
