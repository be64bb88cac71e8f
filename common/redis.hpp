#pragma once
// Redis through hiredis (synchronous), behind a bounded connection pool with deadlines. Redis is only the
// hot state: every caller must cope with RedisUnavailable by falling back to MySQL.
#include <hiredis/hiredis.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace emtiaz {

struct RedisUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A reply copied out of hiredis' structure, so that it outlives the connection.
struct RedisReply {
  enum class Type { nil, string, integer, array, status, error } type = Type::nil;
  std::string str;
  long long integer = 0;
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
};

// hiredis' reply as a RedisReply (nil for nullptr).
RedisReply copy_redis_reply(const redisReply* r);
// The RESP bytes of one command, as it goes on the wire.
std::string format_redis_command(const std::vector<std::string>& argv);

class RedisPool {
 public:
  explicit RedisPool(RedisConfig config, size_t size = 16);
  ~RedisPool();

  RedisReply command(const std::vector<std::string>& argv);
  // Sends all commands in one round trip and returns their replies in order.
  std::vector<RedisReply> pipeline(const std::vector<std::vector<std::string>>& commands);
  bool ping();

 private:
  struct Deleter {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  using Conn = std::unique_ptr<redisContext, Deleter>;
  Conn connect();
  Conn acquire();
  void release(Conn c);
  std::vector<RedisReply> exec(const std::vector<std::vector<std::string>>& commands);

  RedisConfig config_;
  size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Conn> idle_;
  size_t open_ = 0;
};

}  // namespace emtiaz
