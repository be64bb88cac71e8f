#include "common/redis.hpp"

#include "common/blocking.hpp"

#include <fmt/format.h>

#include <new>

namespace emtiaz {

RedisReply copy_redis_reply(const redisReply* r) {
  RedisReply out;
  if (!r) return out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_redis_reply(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::nil;
  }
  return out;
}

std::string format_redis_command(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* raw = nullptr;
  const int n = redisFormatCommandArgv(&raw, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  if (n < 0 || !raw) throw std::bad_alloc();
  std::string out(raw, static_cast<size_t>(n));
  redisFreeCommand(raw);
  return out;
}

RedisPool::RedisPool(RedisConfig config, size_t size) : config_(std::move(config)), size_(size) {}
RedisPool::~RedisPool() = default;

RedisPool::Conn RedisPool::connect() {
  timeval tv{1, 0};
  Conn c(redisConnectWithTimeout(config_.host.c_str(), static_cast<int>(config_.port), tv));
  if (!c || c->err) {
    throw RedisUnavailable(fmt::format("redis unavailable at {}:{}: {}", config_.host, config_.port,
                                       c ? c->errstr : "allocation failed"));
  }
  timeval op{2, 0};
  redisSetTimeout(c.get(), op);
  if (!config_.password.empty()) {
    auto* r = static_cast<redisReply*>(redisCommand(c.get(), "AUTH %b", config_.password.data(), config_.password.size()));
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    if (!ok) throw RedisUnavailable("redis: authentication failed");
  }
  return c;
}

RedisPool::Conn RedisPool::acquire() {
  std::unique_lock lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.front());
      idle_.pop_front();
      return c;
    }
    // On an I/O thread (common/blocking.hpp) a short Redis command is fine, waiting for a connection is not.
    if (open_ >= size_ && blocking_forbidden()) throw WouldBlock{};
    if (open_ < size_) {
      ++open_;
      lock.unlock();
      try {
        return connect();
      } catch (...) {
        lock.lock();
        --open_;
        cv_.notify_one();
        throw;
      }
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout)
      throw RedisUnavailable("redis: no connection available within the deadline");
  }
}

void RedisPool::release(Conn c) {
  std::lock_guard lock(mu_);
  if (c) {
    idle_.push_back(std::move(c));
  } else {
    --open_;
  }
  cv_.notify_one();
}

std::vector<RedisReply> RedisPool::exec(const std::vector<std::vector<std::string>>& commands) {
  auto c = acquire();
  for (const auto& argv : commands) {
    const auto wire = format_redis_command(argv);
    redisAppendFormattedCommand(c.get(), wire.data(), wire.size());
  }
  std::vector<RedisReply> out;
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c.get(), &raw) != REDIS_OK || !raw) {
      std::string err = c->errstr;
      release(nullptr);  // the connection is in an unknown state: drop it
      throw RedisUnavailable("redis: " + err);
    }
    auto* r = static_cast<redisReply*>(raw);
    out.push_back(copy_redis_reply(r));
    freeReplyObject(r);
  }
  release(std::move(c));
  return out;
}

RedisReply RedisPool::command(const std::vector<std::string>& argv) { return exec({argv}).front(); }

std::vector<RedisReply> RedisPool::pipeline(const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return {};
  return exec(commands);
}

bool RedisPool::ping() {
  try {
    auto r = command({"PING"});
    return !r.is_error();
  } catch (const RedisUnavailable&) {
    return false;
  }
}

}  // namespace emtiaz
