#pragma once
// Redis commands sent from an I/O thread without blocking it. One AsyncRedis lives on one io_context and is
// used only from that context's thread: commands are written on one connection, those issued while a write
// is under way go out together in the next write (pipelined), and the replies, which Redis sends in order,
// are handed to their callbacks on the same thread. A read that waited on a blocking GET held its I/O thread
// for the round trip and cost two context switches; here the thread serves other connections meanwhile.
//
// Redis is only the hot state: a callback gets nullopt when Redis could not answer (down, refused, slower
// than the timeout), and the caller then takes its other way (MySQL). After a failure the connection is
// dropped, every waiting command is answered nullopt, and for the next second commands are answered nullopt
// at once rather than each waiting for a connect that is likely to fail; then one connect is tried again.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/redis.hpp"

namespace emtiaz {

class AsyncRedis : public std::enable_shared_from_this<AsyncRedis> {
 public:
  // nullopt: no reply (see above). Called on the io_context's thread; must not block.
  using Callback = std::function<void(std::optional<RedisReply>)>;

  AsyncRedis(boost::asio::io_context& ioc, RedisConfig config, std::chrono::milliseconds timeout);
  ~AsyncRedis();
  AsyncRedis(const AsyncRedis&) = delete;
  AsyncRedis& operator=(const AsyncRedis&) = delete;

  // Sends one command; `done` gets its reply (or nullopt). Only on the io_context's thread. The callback may
  // be called before command() returns (when Redis is known to be unavailable).
  void command(const std::vector<std::string>& argv, Callback done);

  boost::asio::io_context& context() { return ioc_; }

 private:
  enum class State { idle, connecting, ready, resting };
  struct Waiting {
    Callback done;
    std::chrono::steady_clock::time_point deadline;
    bool internal = false;  // AUTH: its reply decides whether the connection is usable
  };

  void connect();
  void start_write();
  void start_read();
  void arm_timer();
  void fail_all(const char* why);

  boost::asio::io_context& ioc_;
  RedisConfig config_;
  std::chrono::milliseconds timeout_;
  State state_ = State::idle;
  std::chrono::steady_clock::time_point rest_until_{};
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::string out_;      // commands not yet handed to a write
  std::string writing_;  // the bytes of the write under way
  bool write_busy_ = false;
  size_t unsent_ = 0;     // commands in out_
  size_t in_flight_ = 0;  // commands written (or being written) and not answered yet
  // A command is held while others are in flight (see command()) unless this much is already held.
  static constexpr size_t kHoldBytes = 16 * 1024;
  std::vector<char> in_;
  struct ReaderFree {
    void operator()(redisReader* r) const { redisReaderFree(r); }
  };
  std::unique_ptr<redisReader, ReaderFree> reader_;
  std::deque<Waiting> waiting_;  // in the order their commands were written
  std::uint64_t generation_ = 0; // bumped whenever the connection is dropped: stale completions do nothing
};

}  // namespace emtiaz
