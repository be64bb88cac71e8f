// emtiaz-loadgen: an open-loop HTTP load generator for the Emtiaz gateway (and the bare server).
//
// Requests are scheduled at a fixed arrival rate (request i at start + i/rate) whatever the server does, and
// each request's latency is measured from its *scheduled* send time, so a slow server cannot hide its
// slowness by making the generator send less (coordinated omission). Requests wait in a queue for a free
// keep-alive connection; that wait counts in their latency. Prints one JSON line with the result.
//
//   emtiaz-loadgen --url http://127.0.0.1:8080 --op earn --rate 500 --duration 10 --connections 64
//                  --keys keys.txt [--members-mode random|warm|seq] [--warm N] [--members-from N] [--amount IRR]
//                  [--ids-in FILE] [--ids-out FILE] [--timeout-ms 30000] [--drain 10]
//                  [--warmup SECONDS] [--trace FILE]
//
// --warmup: first send that long at the same rate on the same connections, and count only what follows.
// --members-from N: the warm and seq modes take their --warm members from index N on instead of from 0 (the
// benchmark's accumulating members are a range of their own, apart from the funded ones).
// --trace: one line per counted request (scheduled time, latency, status), for bench/slow_requests.py.
//
// keys.txt: one line per partner: `API_KEY MEMBER_COUNT` (members of the partner's tenant are the phones
// 0912 followed by a 7-digit index below MEMBER_COUNT). Ops: earn, authorize, capture, balance,
// transactions, refund, bare. --ids-out writes `KEY_INDEX ID` per successful earn/authorize; capture and
// refund read such a file (--ids-in), one id per request.
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "bench/histogram.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string op = "balance";
  double rate = 100;
  double duration = 10;
  int connections = 64;
  std::string keys_file;
  std::string members_mode = "random";
  long warm = 1000;
  long members_from = 0;
  long long amount = 1'000'000;
  std::string ids_in, ids_out;
  // One line per answered request, for finding when the slow ones happened: the scheduled send time (µs of
  // the Unix epoch), the latency (µs) and the status (0: no answer). The sleeper's wake-ups later than 10 ms
  // are written too, as `sleeper <epoch µs> <late µs>`, so that a pause of the machine can be told apart.
  std::string trace;
  // Seconds sent at the step's rate on the same connections before the measured window, and not counted: a
  // step starts on fresh connections and idle servers, and its first ~100 ms (256 connections' first requests,
  // threads waking) are not the steady state the step is about (docs/performance-log.md, sixteenth session).
  double warmup = 0;
  int timeout_ms = 30000;
  double drain = 10;
  std::string label;
};

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

struct Key {
  std::string token;
  long members = 0;
};

struct Work {
  Clock::time_point scheduled;
  std::uint64_t seq = 0;
};

struct Stats {
  emtiaz::bench::Histogram ok_hist;
  emtiaz::bench::Histogram all_hist;
  // How late each request was handed to a connection against its schedule: the generator's own lateness
  // (its timer, its thread busy with answers) plus any wait for a free connection. What a latency holds
  // beyond this was spent on the wire and in the server.
  emtiaz::bench::Histogram lag_hist;
  // How late the generator's own timer ran against the time it was set for: its thread not getting a core
  // (or busy with answers). Lag beyond this was a wait for a free connection.
  emtiaz::bench::Histogram tick_late_hist;
  std::uint64_t sent = 0, ok = 0;
  std::map<std::string, std::uint64_t> errors;
  Clock::time_point last_done;
};

// Microseconds from `from` to `to`, never negative (what the histograms record).
std::int64_t micros(Clock::time_point from, Clock::time_point to) {
  return std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(to - from).count());
}

// A histogram's figure (microseconds) in milliseconds, as the JSON line reports it.
double ms(std::uint64_t us) { return static_cast<double>(us) / 1000.0; }

// The machine's own hiccups during the step: a thread of its own that sleeps 1 ms at a time and records how
// late it woke. It uses almost no CPU, so its lateness is what any light thread on the machine saw: the run
// queue when the cores are busy, and pauses of the whole (virtual) machine, which no server can answer through.
class Sleeper {
 public:
  Sleeper()
      : thread_([this] {
          while (!stop_.load(std::memory_order_relaxed)) {
            const auto due = Clock::now() + std::chrono::milliseconds(1);
            std::this_thread::sleep_until(due);
            const auto us = micros(due, Clock::now());
            if (!recording_.load(std::memory_order_relaxed)) continue;
            hist_.record(us);
            if (us > 10'000) {
              ++over_10ms_;
              std::lock_guard lock(late_mu_);
              late_.emplace_back(due, us);
            }
          }
        }) {}
  ~Sleeper() { stop(); }
  Sleeper(const Sleeper&) = delete;
  Sleeper& operator=(const Sleeper&) = delete;

  // Whether wake-ups count (not during the generator's warm-up).
  void set_recording(bool on) { recording_ = on; }

  // The wake-ups later than 10 ms so far: when each was due, and how late (µs).
  std::vector<std::pair<Clock::time_point, std::int64_t>> late_wakeups() {
    std::lock_guard lock(late_mu_);
    return late_;
  }

  // Stops the thread; the figures are final afterwards.
  nlohmann::json stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return {{"sleeper_late_p99_ms", ms(hist_.percentile(0.99))},
            {"sleeper_late_max_ms", ms(hist_.max())},
            {"sleeper_late_over_10ms", over_10ms_}};
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> recording_{true};
  emtiaz::bench::Histogram hist_;
  std::mutex late_mu_;
  std::vector<std::pair<Clock::time_point, std::int64_t>> late_;  // wake-ups later than 10 ms: when, how late
  std::uint64_t over_10ms_ = 0;
  std::thread thread_;  // last: starts once the rest is built
};

class Generator;

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(Generator& g, asio::io_context& ioc) : g_(g), stream_(ioc) {}
  void start_connect();
  void send(Work w);
  bool idle() const { return ready_ && !busy_; }
  // Called from the generator's tick: a request outstanding longer than the timeout fails (the socket is
  // closed, which aborts its pending read). One sweep replaces a timer per read and write, whose re-arming
  // (timerfd_settime) cost the generator more CPU than the requests themselves.
  void check_timeout(Clock::time_point now, std::chrono::milliseconds timeout) {
    if (busy_ && now - sent_at_ > timeout) {
      timed_out_ = true;
      beast::error_code ignored;
      stream_.close(ignored);
    }
  }

 private:
  void on_response(beast::error_code ec);
  void fail(const std::string& what);
  void write_request();

  Generator& g_;
  tcp::socket stream_;
  Clock::time_point sent_at_{};
  bool timed_out_ = false;
  bool resent_ = false;  // this request is already on its second connection
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  Work work_;
  std::string ref_;  // the key index of the id used/produced
  int key_index_ = 0;
  bool ready_ = false, busy_ = false;
};

class Generator {
 public:
  Generator(Options o, asio::io_context& ioc) : o_(std::move(o)), ioc_(ioc), timer_(ioc), rng_(std::random_device{}()) {
    run_id_ = std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 100000000000LL);
    if (!o_.keys_file.empty()) {
      std::ifstream in(o_.keys_file);
      Key k;
      while (in >> k.token >> k.members) keys_.push_back(k);
      if (keys_.empty()) throw std::runtime_error("no keys in " + o_.keys_file);
    }
    if (!o_.ids_in.empty()) {
      std::ifstream in(o_.ids_in);
      int ki;
      std::string id;
      while (in >> ki >> id) ids_.push_back({ki, id});
    }
    if (!o_.ids_out.empty()) ids_out_.open(o_.ids_out, std::ios::app);
    if (!o_.trace.empty()) trace_.open(o_.trace, std::ios::trunc);
    auto results = tcp::resolver(ioc_).resolve(o_.host, o_.port);
    endpoint_ = results.begin()->endpoint();
  }

  void start() {
    for (int i = 0; i < o_.connections; ++i) {
      auto c = std::make_shared<Conn>(*this, ioc_);
      conns_.push_back(c);
      c->start_connect();
    }
    // Give the connections a moment to be established before the clock starts.
    timer_.expires_after(std::chrono::milliseconds(300));
    timer_.async_wait([this](beast::error_code) {
      start_ = Clock::now();
      measured_from_ = start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * o_.warmup));
      stats_.last_done = measured_from_;
      if (sleeper_ && o_.warmup > 0) sleeper_->set_recording(false);
      tick();
    });
  }

  void tick() {
    auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const bool measuring = elapsed >= o_.warmup;
    if (measuring && sleeper_ && o_.warmup > 0) sleeper_->set_recording(true);
    if (measuring && wake_at_ != Clock::time_point{}) stats_.tick_late_hist.record(micros(wake_at_, now));
    const double span = o_.warmup + o_.duration;  // the warm-up, then the measured step
    const double horizon = std::min(elapsed, span);
    // Request i is scheduled at i / rate, so by `horizon` requests 0 .. floor(horizon * rate) are due — one
    // more than floor(horizon * rate), which is what this once counted: every request then left one
    // inter-arrival interval after its scheduled time, and that interval (50 ms at 20/s, 0.5 ms at 2,000/s)
    // was added to every latency. The step sends ceil(duration * rate) requests in all.
    const auto total = static_cast<std::uint64_t>(std::ceil(span * o_.rate));
    const auto due = std::min(total, static_cast<std::uint64_t>(std::floor(horizon * o_.rate)) + 1);
    while (scheduled_ < due) {
      if (exhausted()) break;
      Work w;
      w.seq = scheduled_;
      w.scheduled = start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * static_cast<double>(scheduled_) / o_.rate));
      ++scheduled_;
      queue_.push_back(w);
    }
    dispatch();
    for (auto& c : conns_) c->check_timeout(now, std::chrono::milliseconds(o_.timeout_ms));
    const bool finished_sending = elapsed >= span || exhausted();
    if (finished_sending && queue_.empty() && in_flight_ == 0) return finish();
    if (finished_sending && elapsed >= span + o_.drain) return finish();
    // Wake at the next request's due time, but at most every 200 us (what is due by then is sent together;
    // its latency still counts from its scheduled time) and at least every 1 ms (to notice the end of the
    // step and sweep timeouts).
    auto wake = now + std::chrono::milliseconds(1);
    if (!finished_sending) {
      auto next_due = start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * static_cast<double>(scheduled_) / o_.rate));
      wake = std::min(wake, std::max(now + std::chrono::microseconds(200), next_due));
    }
    wake_at_ = wake;
    timer_.expires_at(wake);
    timer_.async_wait([this](beast::error_code) { tick(); });
  }

  // Whether a request was scheduled in the measured window (not in the warm-up).
  bool measured(const Work& w) const { return w.scheduled >= measured_from_; }

  // The id a 2xx answer names, for a later step (--ids-out).
  void write_id(int key_index, const std::string& body) {
    auto p = body.find("\"id\":\"");
    if (p == std::string::npos) return;
    auto e = body.find('"', p + 6);
    ids_out_ << key_index << ' ' << body.substr(p + 6, e - p - 6) << '\n';
  }

  bool exhausted() const {
    return (o_.op == "capture" || o_.op == "refund") && scheduled_ >= ids_.size();
  }

  void dispatch() {
    if (queue_.empty()) return;
    const auto now = Clock::now();
    for (auto& c : conns_) {
      if (queue_.empty()) return;
      if (!c->idle()) continue;
      auto w = queue_.front();
      queue_.pop_front();
      if (measured(w)) stats_.lag_hist.record(micros(w.scheduled, now));
      ++in_flight_;
      ++stats_.sent;
      c->send(w);
    }
  }

  void done(const Work& w, int status, const std::string& body, int key_index, const std::string& error) {
    --in_flight_;
    if (!measured(w)) {  // a warm-up request: its ids are still usable, nothing else counts
      if (ids_out_.is_open() && error.empty() && status >= 200 && status < 300) write_id(key_index, body);
      return dispatch();
    }
    auto now = Clock::now();
    const auto us = micros(w.scheduled, now);
    stats_.all_hist.record(us);
    stats_.last_done = now;
    if (trace_.is_open()) trace_ << epoch_us(w.scheduled) << ' ' << us << ' ' << (error.empty() ? status : 0) << '\n';
    if (error.empty() && status >= 200 && status < 300) {
      ++stats_.ok;
      stats_.ok_hist.record(us);
      if (ids_out_.is_open()) write_id(key_index, body);
    } else if (!error.empty()) {
      ++stats_.errors[error];
    } else {
      std::string code;
      auto p = body.find("\"code\":\"");
      if (p != std::string::npos) code = ":" + body.substr(p + 8, body.find('"', p + 8) - p - 8);
      ++stats_.errors[std::to_string(status) + code];
    }
    dispatch();
  }

  // Fills the request for work item w; returns the key index used.
  int build(const Work& w, http::request<http::string_body>& req) {
    req = {};
    req.version(11);
    req.keep_alive(true);
    req.set(http::field::host, o_.host);
    const std::string tag = run_id_ + "-" + std::to_string(w.seq);
    int ki = 0;
    if (!keys_.empty()) {
      ki = static_cast<int>(rng_() % keys_.size());
      if (o_.members_mode == "seq") ki = static_cast<int>(w.seq % keys_.size());
      if (o_.op == "capture" || o_.op == "refund") ki = ids_[w.seq].first;
      req.set(http::field::authorization, "Bearer " + keys_[static_cast<size_t>(ki)].token);
    }
    auto member = [&] {
      const auto& k = keys_[static_cast<size_t>(ki)];
      long n = k.members;
      long idx;
      const long from = std::min(o_.members_from, n - 1), span = std::min(o_.warm, n - from);
      if (o_.members_mode == "warm") idx = from + static_cast<long>(rng_() % static_cast<unsigned long>(span));
      else if (o_.members_mode == "seq") idx = from + static_cast<long>((w.seq / keys_.size()) % static_cast<unsigned long>(span));
      else idx = static_cast<long>(rng_() % static_cast<unsigned long>(n));
      char buf[32];
      std::snprintf(buf, sizeof buf, "phone:0912%07ld", idx);
      return std::string(buf);
    };
    auto post = [&](std::string target, nlohmann::json body) {
      req.method(http::verb::post);
      req.target(target);
      req.set(http::field::content_type, "application/json");
      req.set("Idempotency-Key", "bk-" + tag);
      req.body() = body.dump();
      req.prepare_payload();
    };
    auto get = [&](std::string target) {
      req.method(http::verb::get);
      req.target(target);
    };
    if (o_.op == "earn") {
      post("/v1/earn", {{"member", member()}, {"amount_irr", o_.amount}, {"receipt_id", "rc-" + tag}});
    } else if (o_.op == "authorize") {
      post("/v1/redemptions", {{"member", member()}, {"points", 1}, {"receipt_id", "rd-" + tag}});
    } else if (o_.op == "capture") {
      post("/v1/redemptions/" + ids_[w.seq].second + "/capture", nlohmann::json::object());
    } else if (o_.op == "refund") {
      post("/v1/earn/" + ids_[w.seq].second + "/refund", {{"amount_irr", o_.amount}});
    } else if (o_.op == "balance") {
      get("/v1/members/" + member() + "/balance");
    } else if (o_.op == "transactions") {
      get("/v1/members/" + member() + "/transactions?limit=20");
    } else if (o_.op == "bare") {
      get("/v1/bare");
    } else {
      throw std::runtime_error("unknown op " + o_.op);
    }
    return ki;
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    const std::uint64_t unfinished = (scheduled_ - stats_.sent) + in_flight_;
    if (unfinished) stats_.errors["unfinished"] += unfinished;
    // The scheduled span (shorter than the step when capture/refund ran out of ids), or until the last answer.
    const std::uint64_t measured_scheduled = scheduled_ - std::min(scheduled_, warmup_requests());
    const double window = std::max(static_cast<double>(measured_scheduled) / o_.rate,
                                   std::chrono::duration<double>(stats_.last_done - measured_from_).count());
    const auto& h = stats_.ok ? stats_.ok_hist : stats_.all_hist;
    nlohmann::json out = {{"label", o_.label},
                          {"op", o_.op},
                          {"offered", o_.rate},
                          {"duration", o_.duration},
                          {"warmup_s", o_.warmup},
                          {"connections", o_.connections},
                          {"ran_out_of_ids", exhausted()},
                          {"scheduled", measured_scheduled},
                          {"sent", stats_.sent - std::min(stats_.sent, warmup_requests())},
                          {"ok", stats_.ok},
                          {"achieved", static_cast<double>(stats_.ok) / window},
                          {"window_s", window},
                          {"p50_ms", ms(h.percentile(0.50))},
                          {"p99_ms", ms(h.percentile(0.99))},
                          {"p999_ms", ms(h.percentile(0.999))},
                          {"max_ms", ms(h.max())},
                          {"mean_ms", h.mean() / 1000.0},
                          {"errors", stats_.errors},
                          {"send_lag_p50_ms", ms(stats_.lag_hist.percentile(0.50))},
                          {"send_lag_p99_ms", ms(stats_.lag_hist.percentile(0.99))},
                          {"send_lag_p999_ms", ms(stats_.lag_hist.percentile(0.999))},
                          {"tick_late_p99_ms", ms(stats_.tick_late_hist.percentile(0.99))},
                          {"tick_late_max_ms", ms(stats_.tick_late_hist.max())},
                          {"loadgen_cpu_s", self_cpu_seconds()}};
    if (sleeper_ && trace_.is_open())
      for (const auto& [due, late] : sleeper_->late_wakeups()) trace_ << "sleeper " << epoch_us(due) << ' ' << late << '\n';
    trace_.close();
    if (sleeper_) out.update(sleeper_->stop());
    std::cout << out.dump() << std::endl;
    ids_out_.close();
    ioc_.stop();
  }

  void watch_machine_with(Sleeper* s) { sleeper_ = s; }
  const Options& options() const { return o_; }
  const tcp::endpoint& endpoint() const { return endpoint_; }
  void connection_ready() { dispatch(); }

 private:
  Sleeper* sleeper_ = nullptr;
  Options o_;
  asio::io_context& ioc_;
  asio::steady_timer timer_;
  Clock::time_point wake_at_{};  // when the timer was last set to fire
  std::mt19937_64 rng_;
  std::string run_id_;
  tcp::endpoint endpoint_;
  std::vector<Key> keys_;
  std::vector<std::pair<int, std::string>> ids_;
  std::ofstream ids_out_;
  std::ofstream trace_;
  // A steady-clock instant as microseconds of the Unix epoch (for lining a trace up with the servers' logs).
  const Clock::time_point steady_origin_ = Clock::now();
  const std::chrono::system_clock::time_point system_origin_ = std::chrono::system_clock::now();
  std::int64_t epoch_us(Clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               (system_origin_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - steady_origin_))
                   .time_since_epoch())
        .count();
  }
  std::vector<std::shared_ptr<Conn>> conns_;
  std::deque<Work> queue_;
  Clock::time_point start_;
  std::uint64_t scheduled_ = 0, in_flight_ = 0;
  Clock::time_point measured_from_;  // start_ + the warm-up: requests scheduled before it are not counted
  // Requests scheduled in the warm-up: those at i / rate < warmup.
  std::uint64_t warmup_requests() const { return static_cast<std::uint64_t>(std::ceil(o_.warmup * o_.rate)); }
  Stats stats_;
  bool finished_ = false;
  friend class Conn;
};

void Conn::start_connect() {
  ready_ = false;
  timed_out_ = false;
  stream_.async_connect(g_.endpoint(), [self = shared_from_this()](beast::error_code ec) {
    if (ec) {
      beast::error_code ignored;
      self->stream_.close(ignored);
      auto t = std::make_shared<asio::steady_timer>(self->stream_.get_executor(), std::chrono::milliseconds(200));
      t->async_wait([self, t](beast::error_code) { self->start_connect(); });
      return;
    }
    self->stream_.set_option(tcp::no_delay(true));
    self->ready_ = true;
    self->g_.connection_ready();
  });
}

void Conn::send(Work w) {
  busy_ = true;
  work_ = w;
  key_index_ = g_.build(w, req_);
  sent_at_ = Clock::now();
  write_request();
}

void Conn::write_request() {
  res_ = {};
  http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) return self->fail("write:" + ec.message());
    http::async_read(self->stream_, self->buf_, self->res_,
                     [self](beast::error_code ec2, std::size_t) { self->on_response(ec2); });
  });
}

void Conn::on_response(beast::error_code ec) {
  if (ec) return fail(timed_out_ ? std::string("timeout") : "read:" + ec.message());
  busy_ = false;
  resent_ = false;
  const bool keep = res_.keep_alive();
  auto status = static_cast<int>(res_.result_int());
  std::string body = std::move(res_.body());
  if (!keep) {
    beast::error_code ignored;
    stream_.close(ignored);
    start_connect();
  }
  g_.done(work_, status, body, key_index_, "");
}

void Conn::fail(const std::string& what) {
  beast::error_code ignored;
  stream_.close(ignored);
  buf_.clear();
  if (!timed_out_ && !resent_) {
    // Most often a keep-alive connection that the server closed while it sat unused (its first-request or
    // idle deadline passed): do what any HTTP client does and send the request again, once, on a new
    // connection. Its latency still counts from its scheduled time; every POST carries an Idempotency-Key,
    // so a resend cannot act twice.
    resent_ = true;
    stream_.async_connect(g_.endpoint(), [self = shared_from_this(), what](beast::error_code ec) {
      if (ec) return self->fail(what + " (and the resend could not connect: " + ec.message() + ")");
      self->stream_.set_option(tcp::no_delay(true));
      self->write_request();
    });
    return;
  }
  busy_ = false;
  resent_ = false;
  start_connect();
  g_.done(work_, 0, "", key_index_, what);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
      return argv[++i];
    };
    if (a == "--url") {
      auto u = next();
      auto p = u.find("://");
      if (p != std::string::npos) u = u.substr(p + 3);
      auto c = u.find(':');
      o.host = u.substr(0, c);
      o.port = c == std::string::npos ? "80" : u.substr(c + 1);
      if (auto s = o.port.find('/'); s != std::string::npos) o.port = o.port.substr(0, s);
    } else if (a == "--op") o.op = next();
    else if (a == "--rate") o.rate = std::stod(next());
    else if (a == "--duration") o.duration = std::stod(next());
    else if (a == "--connections") o.connections = std::stoi(next());
    else if (a == "--keys") o.keys_file = next();
    else if (a == "--members-mode") o.members_mode = next();
    else if (a == "--warm") o.warm = std::stol(next());
    else if (a == "--members-from") o.members_from = std::stol(next());
    else if (a == "--amount") o.amount = std::stoll(next());
    else if (a == "--ids-in") o.ids_in = next();
    else if (a == "--ids-out") o.ids_out = next();
    else if (a == "--timeout-ms") o.timeout_ms = std::stoi(next());
    else if (a == "--drain") o.drain = std::stod(next());
    else if (a == "--label") o.label = next();
    else if (a == "--trace") o.trace = next();
    else if (a == "--warmup") o.warmup = std::stod(next());
    else throw std::runtime_error("unknown option " + a);
  }
  if (o.rate <= 0 || o.duration <= 0 || o.connections <= 0) throw std::runtime_error("rate, duration, connections must be > 0");
  if (o.warmup < 0) throw std::runtime_error("warmup must be >= 0");
  if (o.warm <= 0 || o.members_from < 0) throw std::runtime_error("warm must be > 0 and members-from >= 0");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto o = parse(argc, argv);
    asio::io_context ioc(1);  // one thread: no locking inside Asio
    Generator g(o, ioc);
    Sleeper sleeper;
    g.watch_machine_with(&sleeper);
    g.start();
    ioc.run();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "emtiaz-loadgen: " << e.what() << "\n";
    return 2;
  }
}
