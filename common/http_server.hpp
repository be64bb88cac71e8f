#pragma once
// The HTTP/1.1 server shared by the gateway and the services' admin ports. Sessions own sockets,
// timeouts and size limits; the application sees only `handle(request) -> response` (conventions.md #5).
// Handlers run on a worker pool so that they may block on MySQL or wait for a wallet reply without
// stalling the I/O threads.
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

struct HttpRequest {
  boost::beast::http::request<boost::beast::http::string_body> raw;
  std::string path;                           // percent-decoded path without the query string
  std::map<std::string, std::string> query;   // percent-decoded query parameters
  std::string request_id;
  bool limits_counted = false;  // the rate limit already counted this request (tried on an I/O thread first)

  std::string_view method() const { auto m = raw.method_string(); return {m.data(), m.size()}; }
  std::optional<std::string> header(std::string_view name) const;
  const std::string& body() const { return raw.body(); }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string route = "unmatched";  // the metrics label: a route template, never a raw path

  static HttpResponse json(int status, std::string body);
  static HttpResponse from_problem(const Problem& p, std::string_view request_id);
};

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
  size_t max_queued = 0;                          // requests waiting for a worker
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

  struct Impl;  // public only so that the session type in the .cpp can name it

 private:
  std::unique_ptr<Impl> impl_;
};

// Percent-decodes a path or query component as bytes (UTF-8 passes through). nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space = false);

}  // namespace emtiaz
