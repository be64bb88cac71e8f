#include "common/async_redis.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "common/send_now.hpp"

namespace emtiaz {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kRest = std::chrono::seconds(1);  // after a failure, commands are answered nullopt this long
constexpr size_t kReadChunk = 16 << 10;

}  // namespace

AsyncRedis::AsyncRedis(asio::io_context& ioc, RedisConfig config, std::chrono::milliseconds timeout)
    : ioc_(ioc), config_(std::move(config)), timeout_(timeout), resolver_(ioc), socket_(ioc), timer_(ioc) {}

AsyncRedis::~AsyncRedis() = default;

void AsyncRedis::command(const std::vector<std::string>& argv, Callback done) {
  if (state_ == State::resting) {
    if (Clock::now() < rest_until_) {
      done(std::nullopt);
      return;
    }
    state_ = State::idle;
  }
  out_ += format_redis_command(argv);
  ++unsent_;
  waiting_.push_back({std::move(done), Clock::now() + timeout_, false});
  if (state_ == State::idle) {
    connect();
  } else if (state_ == State::ready && (in_flight_ == 0 || out_.size() >= kHoldBytes)) {
    // With commands in flight, this one waits for their replies and goes out with the others issued meanwhile
    // (start_read flushes): one write and one read for several on both sides, where each of them was a send,
    // a Redis read and write, and a receive. It waits at most one round trip Redis makes anyway.
    start_write();
  }
  arm_timer();
}

void AsyncRedis::connect() {
  state_ = State::connecting;
  if (!config_.password.empty()) {
    // AUTH goes first on the wire and first among the waiting: nothing was written on this connection yet.
    out_.insert(0, format_redis_command({"AUTH", config_.password}));
    ++unsent_;
    waiting_.push_front({{}, Clock::now() + timeout_, true});
  }
  const auto gen = generation_;
  auto on_connected = [self = shared_from_this(), gen](const boost::system::error_code& ec) {
    if (gen != self->generation_) return;
    if (ec) return self->fail_all("cannot connect");
    boost::system::error_code ignore;
    self->socket_.set_option(tcp::no_delay(true), ignore);
    self->socket_.non_blocking(true, ignore);  // start_write tries a write at once
    self->reader_.reset(redisReaderCreate());
    self->state_ = State::ready;
    self->start_read();
    self->start_write();
  };
  boost::system::error_code parse_error;
  const auto address = asio::ip::make_address(config_.host, parse_error);
  if (!parse_error) {
    socket_.async_connect(tcp::endpoint(address, static_cast<unsigned short>(config_.port)), std::move(on_connected));
    return;
  }
  resolver_.async_resolve(config_.host, std::to_string(config_.port),
                          [self = shared_from_this(), gen, on_connected](const boost::system::error_code& ec,
                                                                         tcp::resolver::results_type results) {
                            if (gen != self->generation_) return;
                            if (ec) return self->fail_all("cannot resolve the host");
                            asio::async_connect(self->socket_, results,
                                                [on_connected](const boost::system::error_code& e, const tcp::endpoint&) {
                                                  on_connected(e);
                                                });
                          });
}

void AsyncRedis::start_write() {
  if (write_busy_ || out_.empty() || state_ != State::ready) return;
  // Sent at once when the socket takes it (common/send_now.hpp); the rest asynchronously.
  if (!send_now(socket_, out_)) return fail_all("write failed");
  in_flight_ += unsent_;  // answered in order whether sent now or by the write below
  unsent_ = 0;
  if (out_.empty()) return;
  writing_.swap(out_);
  out_.clear();
  write_busy_ = true;
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this(), gen = generation_](const boost::system::error_code& ec, size_t) {
                      if (gen != self->generation_) return;
                      self->write_busy_ = false;
                      if (ec) return self->fail_all("write failed");
                      self->start_write();
                    });
}

void AsyncRedis::start_read() {
  in_.resize(kReadChunk);
  socket_.async_read_some(asio::buffer(in_), [self = shared_from_this(), gen = generation_](
                                                 const boost::system::error_code& ec, size_t n) {
    if (gen != self->generation_) return;
    if (ec) return self->fail_all(ec == asio::error::eof ? "connection closed" : "read failed");
    if (redisReaderFeed(self->reader_.get(), self->in_.data(), n) != REDIS_OK) return self->fail_all("bad reply");
    // The commands held while others were in flight go out first: Redis works on them while the callbacks run.
    self->start_write();
    if (gen != self->generation_) return;
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(self->reader_.get(), &raw) != REDIS_OK) return self->fail_all("bad reply");
      if (!raw) break;
      RedisReply reply = copy_redis_reply(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (self->waiting_.empty()) return self->fail_all("a reply nobody asked for");
      Waiting w = std::move(self->waiting_.front());
      self->waiting_.pop_front();
      if (self->in_flight_ > 0) --self->in_flight_;
      if (w.internal) {
        if (reply.is_error()) return self->fail_all("authentication failed");
        continue;
      }
      w.done(std::move(reply));
      if (gen != self->generation_) return;  // the callback's own command found the connection dropped
    }
    // What the callbacks issued goes out now if nothing is left in flight to carry it with the next reply.
    if (self->in_flight_ == 0) {
      self->start_write();
      if (gen != self->generation_) return;
    }
    self->start_read();
  });
}

void AsyncRedis::arm_timer() {
  if (timer_armed_ || waiting_.empty()) return;
  timer_armed_ = true;
  timer_.expires_at(waiting_.front().deadline);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
    self->timer_armed_ = false;
    if (!self->waiting_.empty() && self->waiting_.front().deadline <= Clock::now())
      self->fail_all("no reply within the timeout");
    self->arm_timer();
  });
}

void AsyncRedis::fail_all(const char* why) {
  ++generation_;
  boost::system::error_code ignore;
  socket_.close(ignore);
  resolver_.cancel();
  reader_.reset();
  out_.clear();
  writing_.clear();
  write_busy_ = false;
  unsent_ = 0;
  in_flight_ = 0;
  state_ = State::resting;
  rest_until_ = Clock::now() + kRest;
  spdlog::warn("redis (asynchronous reads) at {}:{}: {}; the readers take their other way for a second",
               config_.host, config_.port, why);
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& w : waiting)
    if (!w.internal && w.done) w.done(std::nullopt);
}

}  // namespace emtiaz
