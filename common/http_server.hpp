#pragma once
// The HTTP/1.1 server shared by the gateway and the services' admin ports. Sessions own sockets,
// timeouts and size limits; the application sees only `handle(request) -> response` (conventions.md #5).
// Handlers run on a worker pool so that they may block on MySQL without stalling the I/O threads. A handler
// that waits for something else (a wallet's reply over Kafka) need not hold a thread meanwhile: it returns
// HttpResponse::deferred_response() and answers later through its request's HttpResponder.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.hpp"

namespace emtiaz {

struct HttpRequest;
struct HttpResponse;

// Answers one request later, from any thread. A handler takes its request's responder
// (HttpRequest::responder()), returns HttpResponse::deferred_response() at once, and calls the responder with
// the answer when it has it; the write then runs on the connection's own I/O thread, and the request's metric
// is recorded as for an answer returned by the handler. The connection reads no further request until that
// answer is written, so answers keep the order of their requests (HTTP/1.1).
//
// Exactly once: the first answer is written, later ones are ignored. Copies share one answer. A responder
// whose last copy is destroyed unanswered (a bug) answers 500, so that a lost answer costs the client an error
// rather than a connection that hangs. Once the server has stopped, a responder answers nothing.
class HttpResponder {
 public:
  struct State;  // defined by the server (common/http_server.cpp)

  // What makes a request's responder: the server's connection that read the request.
  class Source {
   public:
    virtual HttpResponder make_responder(const HttpRequest& req) = 0;

   protected:
    ~Source() = default;
  };

  HttpResponder() = default;
  explicit HttpResponder(std::shared_ptr<State> state) : state_(std::move(state)) {}

  // Answers the request (the first call does; see above). Callable from any thread; does not block.
  void operator()(HttpResponse resp) const;
  // For the server: takes the answer away from this responder, which then answers nothing (the handler
  // answered by returning a response). False when the responder has answered already.
  bool withdraw() const;
  explicit operator bool() const { return state_ != nullptr; }

 private:
  std::shared_ptr<State> state_;
};

struct HttpRequest {
  boost::beast::http::request<boost::beast::http::string_body> raw;
  std::string path;                           // percent-decoded path without the query string
  std::map<std::string, std::string> query;   // percent-decoded query parameters
  std::string request_id;
  bool limits_counted = false;  // the rate limit already counted this request (tried on an I/O thread first)
  // Set by the server, and only valid while a handler runs: what responder() makes the responder with.
  HttpResponder::Source* responder_source = nullptr;
  // The responder responder() made, if any: the server withdraws it when the handler answers by returning.
  HttpResponder responder_made;

  std::string_view method() const { auto m = raw.method_string(); return {m.data(), m.size()}; }
  std::optional<std::string> header(std::string_view name) const;
  const std::string& body() const { return raw.body(); }
  // The way to answer this request later (HttpResponder): made by the first call, the same one after that
  // (also on the worker a request moves to from an I/O thread). Empty for a request no server read.
  HttpResponder responder();
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string route = "unmatched";  // the metrics label: a route template, never a raw path
  // Nothing to write now: the handler answers through its request's responder (HttpResponder).
  bool deferred = false;

  static HttpResponse json(int status, std::string body);
  static HttpResponse deferred_response();
  static HttpResponse from_problem(const Problem& p, std::string_view request_id);
};

// Either handler may answer later instead: it returns HttpResponse::deferred_response() (see HttpResponder).
using HttpHandler = std::function<HttpResponse(HttpRequest&)>;
// Tried on the I/O thread before a request goes to the worker pool: an answer, or nullopt to hand the request
// to a worker (it must then have had no effect but counting the rate limit; see common/blocking.hpp).
using InlineHandler = std::function<std::optional<HttpResponse>(HttpRequest&)>;

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  unsigned short port = 0;
  size_t body_limit_bytes = 1 << 20;
  size_t header_limit_bytes = 8 << 10;
  std::chrono::milliseconds read_timeout{30000};   // slow clients are cut off after this
  std::chrono::milliseconds idle_timeout{60000};   // keep-alive connections idle longer are closed
  size_t max_connections = 10000;
  int io_threads = 1;
  int worker_threads = 64;
  // Load shedding: past these, a request is answered 503 not_ready with Retry-After at once instead of
  // queueing without bound (an overloaded server that queues answers everything late; one that sheds keeps
  // answering what it can take on time, and the rest is retried). 0: no bound.
  size_t max_queued = 0;                          // requests waiting for a worker while every worker is busy
  std::chrono::milliseconds max_queue_wait{0};    // how long a request may wait for a worker
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler, InlineHandler try_inline = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, starts the I/O threads and returns the bound port. Throws on bind failure (start-up error).
  unsigned short start();
  void stop();

  // On one of a server's I/O threads (a handler tried inline, or a callback of a client living on that
  // thread's context): the thread's I/O context, for clients that wait beside the connections without
  // blocking (common/async_redis.hpp); nullptr on any other thread.
  static boost::asio::io_context* this_thread_io_context();
  // On one of a server's I/O threads: runs `work` on that server's workers, where it may block (a deferred
  // answer that turned out to need MySQL). False, and nothing runs, elsewhere or once the server stopped.
  static bool post_to_workers(std::function<void()> work);

  struct Impl;  // public only so that the session type in the .cpp can name it

 private:
  std::unique_ptr<Impl> impl_;
};

// Percent-decodes a path or query component as bytes (UTF-8 passes through). nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space = false);

}  // namespace emtiaz
