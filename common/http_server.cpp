#include "common/http_server.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <unordered_set>

#include "common/blocking.hpp"
#include "common/crypto.hpp"
#include "common/metrics.hpp"
#include "common/send_now.hpp"
#include "common/service.hpp"

namespace emtiaz {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  auto it = raw.find(beast::string_view(name.data(), name.size()));
  if (it == raw.end()) return std::nullopt;
  return std::string(it->value());
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::deferred_response() {
  HttpResponse r;
  r.deferred = true;
  return r;
}

HttpResponse HttpResponse::from_problem(const Problem& p, std::string_view request_id) {
  HttpResponse r;
  r.status = http_status(p.code);
  r.content_type = "application/problem+json";
  r.body = render_problem(p, request_id);
  return r;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int h = hex(in[i + 1]), l = hex(in[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      out.push_back(static_cast<char>(h * 16 + l));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

// Set on each I/O thread of a server (HttpServer::this_thread_io_context, post_to_workers, Session).
thread_local HttpServer::Impl* this_thread_server = nullptr;
thread_local asio::io_context* this_thread_context = nullptr;
// Handlers running inline (on_read's try_inline) on this thread: a responder answered meanwhile posts its write.
thread_local int this_thread_inline_handlers = 0;

std::string new_request_id() { return random_token("req_", 12); }

HttpResponse overloaded(const std::string& request_id) {
  auto r = HttpResponse::from_problem(problem(Code::not_ready, "the server is overloaded; retry shortly"), request_id);
  r.headers.emplace_back("Retry-After", "1");
  r.route = "overloaded";
  return r;
}

// Runs a handler with the request's id in every log line it writes; an exception escaping it is a 500.
// WouldBlock is not a std::exception and passes through (the inline path hands such a request to a worker).
template <typename Fn>
auto run_handler(const HttpRequest& req, Fn&& fn) -> decltype(fn()) {
  struct ClearLogId {
    ~ClearLogId() { set_log_request_id({}); }
  } clear;
  set_log_request_id(req.request_id);
  try {
    return fn();
  } catch (const std::exception& e) {
    spdlog::error("request_id={} unhandled exception: {}", req.request_id, e.what());
    return HttpResponse::from_problem(problem(Code::internal, "internal error"), req.request_id);
  }
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

class Session;

// The responders a server has made that have not answered yet. stop() detaches them (drops the connections
// they hold) once no I/O thread runs and while the I/O contexts still exist, so that a responder outliving
// the server (held by a waiter that is answered during shutdown, say) neither posts to a destroyed I/O
// context nor destroys a connection after it. One mutex per server guards the connection of every responder:
// it is taken briefly, twice per deferred request.
struct ResponderRegistry {
  std::mutex mu;
  bool closed = false;                             // the server has stopped: new responders answer nothing
  std::unordered_set<HttpResponder::State*> live;  // exactly the responders whose `session` is set
};

}  // namespace

// A responder's shared state (common/http_server.hpp, HttpResponder).
struct HttpResponder::State {
  std::shared_ptr<ResponderRegistry> registry;
  std::shared_ptr<Session> session;  // guarded by registry->mu; reset once answered, withdrawn or detached
  std::string request_id;
  unsigned version = 11;
  bool keep_alive = false;
  std::chrono::steady_clock::time_point started;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State();

  // Hands `resp` to the connection's I/O thread; false when the request was answered (or withdrawn, or
  // detached by stop()) already.
  bool answer(HttpResponse resp);
};

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  HttpServerOptions options;
  HttpHandler handler;
  InlineHandler try_inline;
  // One event loop per I/O thread, each connection on one of them (round robin): a connection's reads,
  // writes and timers never wake another I/O thread. With one io_context shared by all I/O threads, Asio hands
  // work between them (one waits in epoll, the others on a condition variable) — about nine thread switches
  // per proxied request on the I/O threads alone, each ~10-30 µs on this virtual machine.
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  size_t next_ioc = 0;  // only touched by the accept handler, on iocs[0]
  asio::thread_pool workers;
  std::vector<std::thread> io_threads;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> queued{0};   // posted to the workers and not started yet
  std::atomic<size_t> running{0};  // started by a worker and not finished
  std::atomic<bool> stopped{false};
  std::shared_ptr<ResponderRegistry> responders = std::make_shared<ResponderRegistry>();

  Impl(HttpServerOptions o, HttpHandler h, InlineHandler i)
      : options(std::move(o)), handler(std::move(h)), try_inline(std::move(i)),
        workers(static_cast<size_t>(options.worker_threads)) {
    // Concurrency hint 1: one thread runs each loop (others may still post to it: the workers' responses).
    for (int k = 0; k < std::max(1, options.io_threads); ++k) iocs.push_back(std::make_unique<asio::io_context>(1));
    acceptor.emplace(*iocs.front());
  }

  // The I/O contexts go first, while everything a connection touches in its destructor still exists: destroying
  // an I/O context destroys the handlers still queued in it, and with them the connections they hold.
  ~Impl() {
    acceptor.reset();
    work.clear();
    iocs.clear();
  }

  void accept();
  // After the I/O threads and workers have ended: see ResponderRegistry.
  void detach_responders();
};

namespace {

class Session final : public std::enable_shared_from_this<Session>, public HttpResponder::Source {
 public:
  Session(tcp::socket socket, asio::io_context& ioc, HttpServer::Impl* server)
      : socket_(std::move(socket)), timer_(ioc), ioc_(&ioc), server_(server) {}

  ~Session() { server_->connections.fetch_sub(1); }

  void start() {
    beast::error_code ignored;
    socket_.non_blocking(true, ignored);  // writes are tried at once (write()); Asio's own operations are unaffected
    // A response's last bytes go out without waiting for the client's acknowledgement of the ones before
    // (Nagle's algorithm against a delayed ACK can hold them for 40 ms when a response took two writes).
    socket_.set_option(tcp::no_delay(true), ignored);
    read();
  }

  // Called by a handler (HttpRequest::responder()) while this session waits for its answer.
  HttpResponder make_responder(const HttpRequest& req) override {
    auto state = std::make_shared<HttpResponder::State>();
    state->registry = server_->responders;
    state->request_id = req.request_id;
    state->version = req.raw.version();
    state->keep_alive = req.raw.keep_alive();
    state->started = std::chrono::steady_clock::now();
    std::lock_guard lock(state->registry->mu);
    if (!state->registry->closed) {
      state->session = shared_from_this();
      state->registry->live.insert(state.get());
    }
    return HttpResponder(std::move(state));
  }

 private:
  friend struct emtiaz::HttpResponder::State;
  using Clock = std::chrono::steady_clock;

  // What the connection's deadline (deadline_) is for, and so what happens when it passes.
  enum class Wait {
    none,     // a handler has the request: no deadline
    request,  // the rest of a request: cancel the read, answer 408 if part of one came
    idle,     // a keep-alive connection's next request: cancel the read, close quietly
    write,    // a response the client is not taking: close
    linger,   // the client's last bytes after our shutdown (close()): close
  };

  // A request's way through one I/O thread, in the common case, without a handler posted to the I/O context
  // between its steps: the bytes are parsed as soon as they are read (parse_buffered), a response is written
  // with a non-blocking send before any asynchronous write is started, and deadlines do not cancel and re-arm
  // a timer per request (set_deadline). Each posted handler costs the I/O thread a pass of Asio's queue with an
  // epoll_wait of its own; a balance read went through seven of them (docs/performance-log.md, eleventh session).

  // When the connection's deadline is passed, on_deadline acts on what it was for. One timer per connection
  // is armed at a deadline and, when it fires early (the deadline moved later meanwhile), armed again for the
  // new one: moving a deadline later costs nothing, only moving it earlier than the armed expiry re-arms.
  void set_deadline(Wait what, std::chrono::milliseconds after) {
    waiting_for_ = what;
    deadline_ = Clock::now() + after;
    if (timer_armed_ && timer_at_ <= deadline_) return;
    arm_timer();
  }

  void clear_deadline() { waiting_for_ = Wait::none; }

  void arm_timer() {
    timer_armed_ = true;
    timer_at_ = deadline_;
    timer_.expires_at(deadline_);  // cancels a wait still pending (its handler sees operation_aborted)
    // A weak reference: an armed timer does not keep a closed connection (and its place under max_connections)
    // alive until it fires; the timer is cancelled when the connection is destroyed.
    timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (ec) return;  // re-armed (a newer wait is pending) or destroyed
      if (auto self = weak.lock()) self->on_deadline();
    });
  }

  void on_deadline() {
    timer_armed_ = false;
    if (waiting_for_ == Wait::none) return;
    if (Clock::now() < deadline_) return arm_timer();
    const Wait what = std::exchange(waiting_for_, Wait::none);
    beast::error_code ignored;
    if (what == Wait::request || what == Wait::idle) {
      timed_out_ = true;
      socket_.cancel(ignored);  // the read ends with operation_aborted; on_read answers 408 or closes
    } else {
      socket_.close(ignored);
    }
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.header_limit_bytes));
    parser_->body_limit(server_->options.body_limit_bytes);
    timed_out_ = false;
    // A request already read whole (pipelined behind the previous one) is served from the buffer.
    if (buffer_.size() > 0 && parse_buffered()) return;
    // A request must arrive whole within read_timeout of its first byte: a client trickling its headers
    // (or body) more slowly is cut off, whatever else it sends meanwhile. The first request of a
    // connection has read_timeout from the accept; later ones may take idle_timeout to begin (keep-alive),
    // and then read_timeout again. The read is cancelled rather than the socket closed, so that a 408 can
    // still be written.
    if (first_ || buffer_.size() > 0) set_deadline(Wait::request, server_->options.read_timeout);
    else set_deadline(Wait::idle, server_->options.idle_timeout);
    first_ = false;
    read_some();
  }

  void read_some() {
    socket_.async_read_some(buffer_.prepare(read_size()), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->buffer_.commit(n);
      if (ec == asio::error::eof) {
        // The client closed: a request begun and not finished (what was read is parsed already) is a partial
        // message, answered 400 to a half-closed socket as Beast's read would; between requests it is the end
        // of the stream.
        ec = self->parser_->got_some() ? http::error::partial_message : http::error::end_of_stream;
      }
      if (ec) return self->on_read(ec);
      if (self->parse_buffered()) return;
      if (self->waiting_for_ != Wait::request) self->set_deadline(Wait::request, self->server_->options.read_timeout);
      self->read_some();
    });
  }

  // How much to read next: a few KiB for a request's head (most requests are that whole), up to 64 KiB at a
  // time for the rest of a larger body.
  std::size_t read_size() const {
    if (parser_->is_header_done())
      if (auto left = parser_->content_length_remaining())
        return static_cast<std::size_t>(std::clamp<std::uint64_t>(*left, kReadBytes, kMaxReadBytes));
    return kReadBytes;
  }

  // Feeds the buffered bytes to the parser. True when that ended the read (a whole request, or a bad one) and
  // on_read has taken it from there; false when more bytes are needed.
  bool parse_buffered() {
    beast::error_code ec;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      const auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec || used == 0) break;
    }
    if (!ec && !parser_->is_done()) return false;
    on_read(ec);
    return true;
  }

  void on_read(beast::error_code ec) {
    clear_deadline();
    if (timed_out_ && ec) ec = beast::error::timeout;
    if (ec == beast::error::timeout && (buffer_.size() > 0 || parser_->got_some())) {
      // Part of a request came, too slowly: say so (408) and close. An idle connection is just closed.
      auto rid = new_request_id();
      auto resp = HttpResponse::from_problem(
          problem(Code::request_timeout, fmt::format("the request did not arrive within {} ms",
                                                     server_->options.read_timeout.count())),
          rid);
      Metrics::global().observe_request("invalid_http", resp.status, 0);
      buffer_.clear();
      return write(std::move(resp), rid, 11, /*keep_alive=*/false);
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return close();
    }
    if (ec) {
      Problem p = problem(Code::malformed_json, "the HTTP request could not be parsed");
      if (ec == http::error::body_limit) {
        p = problem(Code::payload_too_large, fmt::format("request bodies are limited to {} bytes",
                                                          server_->options.body_limit_bytes));
      } else if (ec == http::error::header_limit) {
        p = problem(Code::header_too_large, fmt::format("request headers are limited to {} bytes",
                                                         server_->options.header_limit_bytes));
      } else {
        p.detail = fmt::format("bad HTTP request: {}", ec.message());
      }
      auto rid = new_request_id();
      auto resp = HttpResponse::from_problem(p, rid);
      if (p.code == Code::malformed_json) resp.status = 400;
      Metrics::global().observe_request("invalid_http", resp.status, 0);
      return write(std::move(resp), rid, 11, /*keep_alive=*/false);
    }
    auto req = std::make_shared<HttpRequest>();
    req->raw = parser_->release();
    req->responder_source = this;
    auto rid_header = req->header("X-Request-Id");
    req->request_id = rid_header && acceptable_request_id(*rid_header) ? *rid_header : new_request_id();
    const unsigned version = req->raw.version();
    const bool keep_alive = req->raw.keep_alive();
    HttpResponse early;
    const bool answered = prepare(*req, early);
    if (answered || server_->try_inline) {
      auto started = std::chrono::steady_clock::now();
      std::optional<HttpResponse> resp;
      if (answered) {
        resp = std::move(early);
      } else {
        struct InHandler {
          InHandler() { ++this_thread_inline_handlers; }
          ~InHandler() { --this_thread_inline_handlers; }
        } in_handler;
        try {
          resp = run_handler(*req, [&] { return server_->try_inline(*req); });
        } catch (const WouldBlock&) {
          resp.reset();  // a worker answers it
        }
      }
      if (resp) return finish(*req, std::move(*resp), started, version, keep_alive, /*on_io_thread=*/true);
    }
    const auto& opts = server_->options;
    // The waiting room is what the busy workers leave waiting: requests posted while workers are idle are not
    // waiting for a worker, only for one to wake (a burst of 24 on a loaded 2-core machine left more than 8
    // posted and not started for a moment, with 128 workers idle, and was shed).
    if (opts.max_queued && server_->queued.load() + server_->running.load() >=
                               static_cast<size_t>(std::max(0, opts.worker_threads)) + opts.max_queued)
      return finish(*req, overloaded(req->request_id), std::chrono::steady_clock::now(), version, keep_alive, true);
    server_->queued.fetch_add(1);
    const auto enqueued = std::chrono::steady_clock::now();
    asio::post(server_->workers, [self = shared_from_this(), req, version, keep_alive, enqueued] {
      self->server_->running.fetch_add(1);
      self->server_->queued.fetch_sub(1);
      struct Done {
        std::atomic<size_t>& running;
        ~Done() { running.fetch_sub(1); }
      } done{self->server_->running};
      auto started = std::chrono::steady_clock::now();
      const auto max_wait = self->server_->options.max_queue_wait;
      // A request that waited too long is not run: its client has likely given up; nothing is done.
      HttpResponse resp = max_wait.count() > 0 && started - enqueued > max_wait
                              ? overloaded(req->request_id)
                              : run_handler(*req, [&] { return self->server_->handler(*req); });
      self->finish(*req, std::move(resp), started, version, keep_alive, /*on_io_thread=*/false);
    });
  }

  // The end of a handler's turn, on the thread that ran it. A deferred answer is its responder's to give (the
  // connection reads nothing meanwhile); any other response is written now, unless a responder the handler
  // took has answered already (then that answer stands: a request is answered once).
  void finish(HttpRequest& req, HttpResponse resp, std::chrono::steady_clock::time_point started, unsigned version,
              bool keep_alive, bool on_io_thread) {
    if (resp.deferred) {
      if (req.responder_made) return;
      spdlog::error("request_id={} {}: the handler deferred its answer without taking a responder", req.request_id,
                    resp.route);
      auto route = resp.route;
      resp = HttpResponse::from_problem(problem(Code::internal, "internal error"), req.request_id);
      resp.route = route;
    } else if (!req.responder_made.withdraw()) {
      spdlog::error("request_id={} {}: answered by its responder and by its handler; the responder's answer stands",
                    req.request_id, resp.route);
      return;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Metrics::global().observe_request(resp.route, resp.status, secs);
    if (on_io_thread) return write(std::move(resp), req.request_id, version, keep_alive);
    asio::dispatch(socket_.get_executor(),
                   [self = shared_from_this(), resp = std::move(resp), rid = req.request_id, version, keep_alive]() mutable {
                     self->write(std::move(resp), rid, version, keep_alive);
                   });
  }

  // Splits the target into a decoded path and query. Returns true when it already produced a response.
  bool prepare(HttpRequest& req, HttpResponse& resp) {
    std::string_view target(req.raw.target().data(), req.raw.target().size());
    auto qpos = target.find('?');
    auto path = percent_decode(target.substr(0, qpos));
    if (!path) {
      resp = HttpResponse::from_problem(invalid_field("path", "bad percent-encoding"), req.request_id);
      return true;
    }
    req.path = std::move(*path);
    if (qpos != std::string_view::npos) {
      std::string_view q = target.substr(qpos + 1);
      while (!q.empty()) {
        auto amp = q.find('&');
        auto part = q.substr(0, amp);
        auto eq = part.find('=');
        auto k = percent_decode(part.substr(0, eq), true);
        auto v = percent_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
        if (!k || !v) {
          resp = HttpResponse::from_problem(invalid_field("query", "bad percent-encoding"), req.request_id);
          return true;
        }
        if (!k->empty()) req.query[*k] = *v;
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
      }
    }
    return false;
  }

  // True on this connection's I/O thread while no handler runs inline on it (of this connection or another:
  // a write here may go on to read and run the connection's next request, which must not run inside a
  // handler that is still on the stack).
  bool writable_here() const { return this_thread_context == ioc_ && this_thread_inline_handlers == 0; }

  void write(HttpResponse resp, const std::string& request_id, unsigned version, bool keep_alive) {
    http::response<http::string_body> res(static_cast<http::status>(resp.status), version);
    res.set(http::field::server, "emtiaz");
    res.set(http::field::content_type, resp.content_type);
    res.set("X-Request-Id", request_id);
    for (auto& [k, v] : resp.headers) res.set(k, v);
    res.body() = std::move(resp.body);
    res.keep_alive(keep_alive && !server_->stopped.load());
    res.prepare_payload();
    keep_open_ = res.keep_alive();
    out_.clear();
    beast::error_code ec;
    http::response_serializer<http::string_body> sr(res);
    while (!ec && !sr.is_done()) {
      sr.next(ec, [&](beast::error_code&, const auto& buffers) {
        for (auto b : beast::buffers_range_ref(buffers)) out_.append(static_cast<const char*>(b.data()), b.size());
        sr.consume(beast::buffer_bytes(buffers));
      });
    }
    if (ec) return close();
    // Sent at once when the socket takes it all (common/send_now.hpp: a response is small, and the client is
    // waiting for it); what it does not take goes out asynchronously, within read_timeout.
    if (!send_now(socket_, out_)) return close();
    if (out_.empty()) return written();
    set_deadline(Wait::write, server_->options.read_timeout);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code e, std::size_t) {
                        self->clear_deadline();
                        if (e) return self->close();
                        self->written();
                      });
  }

  void written() {
    if (!keep_open_) return close();
    // The next request, if the client pipelined it, is served from the buffer on this stack; a long run of
    // them goes back through the I/O context now and then, so that the stack stays bounded.
    if (buffer_.size() > 0 && ++pipelined_ % 16 == 0)
      return asio::post(socket_.get_executor(), [self = shared_from_this()] { self->read(); });
    read();
  }

  // Ends the connection without losing what was just written: closing a socket that still has unread
  // input (a refused request's remaining headers or body) makes the kernel send a reset, which can destroy
  // the response before the client reads it. So: stop sending, then read and discard what the client still
  // sends for a short while (until it closes, or kLingerTime), and only then close.
  void close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    set_deadline(Wait::linger, kLingerTime);
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->drain();
    });
  }

  static constexpr std::size_t kReadBytes = 4096;
  static constexpr std::uint64_t kMaxReadBytes = 64 << 10;
  static constexpr std::chrono::seconds kLingerTime{2};

  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::io_context* ioc_;  // the I/O context (and so the thread) this connection's handlers run on
  Wait waiting_for_ = Wait::none;
  Clock::time_point deadline_{};
  bool timer_armed_ = false;
  Clock::time_point timer_at_{};  // when the armed timer fires
  bool timed_out_ = false;
  bool keep_open_ = false;   // the response being written keeps the connection open
  unsigned pipelined_ = 0;
  std::string out_;          // the response being written
  beast::flat_buffer buffer_;
  std::array<char, 4096> discard_{};
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpServer::Impl* server_;
  bool first_ = true;
};

}  // namespace

// Runs on the thread that answers, any thread; the write itself runs on the connection's I/O thread.
bool HttpResponder::State::answer(HttpResponse resp) {
  std::unique_lock lock(registry->mu);
  if (!session) return false;
  std::shared_ptr<Session> s = std::move(session);
  session.reset();
  registry->live.erase(this);
  // Counted before the write, like an answer a handler returns: a client that has its answer finds it counted.
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Metrics::global().observe_request(resp.route, resp.status, secs);
  // On the connection's own I/O thread, outside a handler it runs inline (an asynchronous Redis reply, say), the
  // write runs here, after the mutex is released (the write may read and start the next request, whose handler
  // may take a responder). Elsewhere it is posted (never run here: the handler may still be on the stack) and
  // while the registry's mutex is held: stop() takes that mutex after the I/O threads have ended and before the
  // I/O contexts may be destroyed. The connection moves into the handler, so that no reference to it is left
  // on this thread to outlive them.
  if (s->writable_here()) {
    lock.unlock();
    s->write(std::move(resp), request_id, version, keep_alive);
    return true;
  }
  auto ex = s->socket_.get_executor();
  asio::post(ex, [s = std::move(s), resp = std::move(resp), rid = request_id, version = version,
                  keep_alive = keep_alive]() mutable { s->write(std::move(resp), rid, version, keep_alive); });
  return true;
}

HttpResponder::State::~State() {
  if (!registry) return;
  {
    std::lock_guard lock(registry->mu);
    if (!session) return;
  }
  // Unanswered: a bug in the handler that took this responder. An error answer frees the connection.
  auto resp = HttpResponse::from_problem(problem(Code::internal, "internal error"), request_id);
  resp.route = "unanswered";
  if (answer(std::move(resp)))
    spdlog::error("request_id={} a deferred request's responder was dropped unanswered: answered 500", request_id);
}

void HttpResponder::operator()(HttpResponse resp) const {
  if (!state_) return;
  if (!state_->answer(std::move(resp)))
    spdlog::debug("request_id={} answered already (or the server stopped): this answer is dropped", state_->request_id);
}

bool HttpResponder::withdraw() const {
  if (!state_) return true;
  std::lock_guard lock(state_->registry->mu);
  if (!state_->session) return false;
  state_->session.reset();
  state_->registry->live.erase(state_.get());
  return true;
}

HttpResponder HttpRequest::responder() {
  if (!responder_made && responder_source) responder_made = responder_source->make_responder(*this);
  return responder_made;
}

void HttpServer::Impl::detach_responders() {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(responders->mu);
    responders->closed = true;
    for (auto* state : responders->live) sessions.push_back(std::move(state->session));
    responders->live.clear();
  }
  // The connections that waited for a deferred answer close here, while their I/O context still exists.
}

void HttpServer::Impl::accept() {
  auto& peer = *iocs[next_ioc++ % iocs.size()];
  acceptor->async_accept(peer, [this, &peer](beast::error_code ec, tcp::socket socket) {
    if (stopped.load()) return;
    if (!ec) {
      if (connections.fetch_add(1) >= options.max_connections) {
        connections.fetch_sub(1);
        beast::error_code ignored;
        socket.close(ignored);  // over the connection limit: refuse rather than queue without bound
      } else {
        std::make_shared<Session>(std::move(socket), peer, this)->start();
      }
    }
    accept();
  });
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler, InlineHandler try_inline)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(try_inline))) {}

HttpServer::~HttpServer() { stop(); }

unsigned short HttpServer::start() {
  auto& im = *impl_;
  tcp::endpoint ep(asio::ip::make_address(im.options.bind_address), im.options.port);
  im.acceptor->open(ep.protocol());
  im.acceptor->set_option(asio::socket_base::reuse_address(true));
  im.acceptor->bind(ep);
  im.acceptor->listen(asio::socket_base::max_listen_connections);
  for (auto& ioc : im.iocs) im.work.push_back(asio::make_work_guard(*ioc));
  im.accept();
  for (auto& ioc : im.iocs)
    im.io_threads.emplace_back([server = &im, ctx = ioc.get()] {
      this_thread_server = server;
      this_thread_context = ctx;
      ctx->run();
    });
  return im.acceptor->local_endpoint().port();
}

asio::io_context* HttpServer::this_thread_io_context() { return this_thread_context; }

bool HttpServer::post_to_workers(std::function<void()> work) {
  if (!this_thread_server || this_thread_server->stopped.load()) return false;
  asio::post(this_thread_server->workers, std::move(work));
  return true;
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  auto& im = *impl_;
  asio::post(*im.iocs.front(), [&im] {
    beast::error_code ec;
    im.acceptor->close(ec);
  });
  im.work.clear();
  for (auto& ioc : im.iocs) ioc->stop();
  for (auto& t : im.io_threads)
    if (t.joinable()) t.join();
  im.workers.join();
  im.detach_responders();
}

}  // namespace emtiaz
