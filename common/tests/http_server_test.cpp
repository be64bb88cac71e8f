// The HTTP server's deferred answers (HttpResponder): a handler that returns HttpResponse::deferred_response()
// and answers later from another thread, on the worker path and on the inline (I/O thread) path; answers keep
// the order of pipelined requests; a responder answers once; a responder dropped unanswered answers 500; a
// handler that defers without a responder answers 500; a responder that outlives the server is harmless; and
// each deferred answer is counted in the request metric. Overload is shed only past the busy workers and the
// waiting room. No server but the one the test starts.
#include "common/http_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.hpp"

namespace emtiaz {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

// Runs queued jobs on one thread of its own, after an optional delay: the stand-in for the command client's
// reply reader, which answers deferred requests from a thread that is neither an I/O thread nor a worker.
class Answerer {
 public:
  Answerer() : thread_([this] { run(); }) {}
  ~Answerer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void later(std::chrono::milliseconds delay, std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back({std::chrono::steady_clock::now() + delay, std::move(job)});
    }
    cv_.notify_all();
  }

 private:
  struct Job {
    std::chrono::steady_clock::time_point at;
    std::function<void()> fn;
  };
  void run() {
    std::unique_lock lock(mu_);
    while (!stop_ || !jobs_.empty()) {
      if (jobs_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto it = std::min_element(jobs_.begin(), jobs_.end(), [](const Job& a, const Job& b) { return a.at < b.at; });
      if (std::chrono::steady_clock::now() < it->at) {
        cv_.wait_until(lock, it->at);
        continue;
      }
      auto fn = std::move(it->fn);
      jobs_.erase(it);
      lock.unlock();
      fn();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

// Routes of the test server, by path:
//   /now                 answers at once
//   /later?ms=N&body=B   answers B after N ms from the Answerer's thread
//   /twice               answers "first" through the responder, then "second" (ignored)
//   /dropped             takes a responder and drops it unanswered
//   /no-responder        defers without taking a responder
//   /kept                takes a responder and keeps it in `kept` (never answered while the server runs)
//   /block?ms=N          holds the thread that runs it for N ms, then answers
struct TestServer {
  Answerer answerer;
  std::mutex kept_mu;
  std::vector<HttpResponder> kept;

  HttpResponse handle(HttpRequest& req) {
    auto text = [](int status, std::string body, std::string route) {
      HttpResponse r;
      r.status = status;
      r.content_type = "text/plain";
      r.body = std::move(body);
      r.route = std::move(route);
      return r;
    };
    if (req.path == "/now") return text(200, "now", "GET /now");
    if (req.path == "/later") {
      auto responder = req.responder();
      const auto ms = std::chrono::milliseconds(std::stoi(req.query["ms"]));
      answerer.later(ms, [responder, body = req.query["body"], text] { responder(text(201, body, "GET /later")); });
      return HttpResponse::deferred_response();
    }
    if (req.path == "/twice") {
      auto responder = req.responder();
      answerer.later(0ms, [responder, text] {
        responder(text(200, "first", "GET /twice"));
        responder(text(200, "second", "GET /twice"));
      });
      return HttpResponse::deferred_response();
    }
    if (req.path == "/dropped") {
      auto responder = req.responder();
      answerer.later(10ms, [responder] {});  // the last copy dies on the answerer's thread, unanswered
      return HttpResponse::deferred_response();
    }
    if (req.path == "/no-responder") return HttpResponse::deferred_response();
    if (req.path == "/kept") {
      std::lock_guard lock(kept_mu);
      kept.push_back(req.responder());
      return HttpResponse::deferred_response();
    }
    if (req.path == "/block") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(req.query["ms"])));
      return text(200, "blocked", "GET /block");
    }
    return text(404, "no", "unmatched");
  }
};

// One keep-alive connection speaking raw HTTP/1.1.
class Connection {
 public:
  explicit Connection(unsigned short port) : socket_(ioc_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  // Writes the requests back to back (pipelined), in one write.
  void send(const std::vector<std::string>& targets) {
    std::string wire;
    for (const auto& t : targets) wire += "GET " + t + " HTTP/1.1\r\nHost: test\r\n\r\n";
    asio::write(socket_, asio::buffer(wire));
  }
  http::response<http::string_body> receive() {
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res);
    return res;
  }
  http::response<http::string_body> get(const std::string& target) {
    send({target});
    return receive();
  }

 private:
  asio::io_context ioc_;
  asio::ip::tcp::socket socket_;
  beast::flat_buffer buffer_;
};

double requests_counted(const std::string& route, int status) {
  const auto text = Metrics::global().render();
  const std::regex line("emtiaz_http_requests_total\\{route=\"" + route + "\",status=\"" + std::to_string(status) +
                        "\"\\} ([0-9.e+]+)");
  std::smatch m;
  return std::regex_search(text, m, line) ? std::stod(m[1]) : 0;
}

struct Fixture : ::testing::Test {
  // inline_too: the same routes are also tried on the I/O thread (try_inline), as the gateway's are.
  void start(bool inline_too, int workers = 2, size_t max_queued = 0) {
    HttpServerOptions opts;
    opts.worker_threads = workers;
    opts.max_queued = max_queued;
    opts.io_threads = 1;
    server = std::make_unique<HttpServer>(
        opts, [this](HttpRequest& req) { return routes.handle(req); },
        inline_too ? InlineHandler([this](HttpRequest& req) -> std::optional<HttpResponse> { return routes.handle(req); })
                   : InlineHandler{});
    port = server->start();
  }
  void TearDown() override {
    if (server) server->stop();
  }
  TestServer routes;
  std::unique_ptr<HttpServer> server;
  unsigned short port = 0;
};

class DeferredAnswers : public Fixture, public ::testing::WithParamInterface<bool> {};

TEST_P(DeferredAnswers, AnsweredLaterFromAnotherThreadOnAKeepAliveConnection) {
  start(GetParam());
  Connection c(port);
  const double before = requests_counted("GET /later", 201);
  for (int i = 0; i < 3; ++i) {
    auto started = std::chrono::steady_clock::now();
    auto res = c.get("/later?ms=30&body=b" + std::to_string(i));
    EXPECT_EQ(res.result_int(), 201);
    EXPECT_EQ(res.body(), "b" + std::to_string(i));
    EXPECT_TRUE(res.keep_alive());
    EXPECT_FALSE(std::string(res["X-Request-Id"]).empty());
    EXPECT_GE(std::chrono::steady_clock::now() - started, 30ms);
  }
  EXPECT_EQ(c.get("/now").body(), "now");
  EXPECT_EQ(requests_counted("GET /later", 201), before + 3);
}

TEST_P(DeferredAnswers, PipelinedRequestsAreAnsweredInOrder) {
  start(GetParam());
  Connection c(port);
  // The first is answered last of all if the connection read ahead; it must still come first.
  c.send({"/later?ms=150&body=slow", "/now", "/later?ms=1&body=fast", "/now"});
  EXPECT_EQ(c.receive().body(), "slow");
  EXPECT_EQ(c.receive().body(), "now");
  EXPECT_EQ(c.receive().body(), "fast");
  EXPECT_EQ(c.receive().body(), "now");
}

TEST_P(DeferredAnswers, ManyConnectionsWaitAtOnceWithoutHoldingWorkers) {
  start(GetParam());
  // 2 workers, 20 requests of 200 ms each at once: answered in about 200 ms, not 2 s, because no thread waits.
  constexpr int kConnections = 20;
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < kConnections; ++i) conns.push_back(std::make_unique<Connection>(port));
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kConnections; ++i) conns[i]->send({"/later?ms=200&body=c" + std::to_string(i)});
  for (int i = 0; i < kConnections; ++i) EXPECT_EQ(conns[i]->receive().body(), "c" + std::to_string(i));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
}

TEST_P(DeferredAnswers, TheFirstAnswerWinsAndTheConnectionGoesOn) {
  start(GetParam());
  Connection c(port);
  auto res = c.get("/twice");
  EXPECT_EQ(res.body(), "first");
  EXPECT_EQ(c.get("/now").body(), "now");  // the ignored second answer did not reach the wire
}

TEST_P(DeferredAnswers, AResponderDroppedUnansweredAnswers500) {
  start(GetParam());
  Connection c(port);
  const double before = requests_counted("unanswered", 500);
  auto res = c.get("/dropped");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(std::string(res[http::field::content_type]), "application/problem+json");
  EXPECT_EQ(c.get("/now").body(), "now");
  EXPECT_EQ(requests_counted("unanswered", 500), before + 1);
}

TEST_P(DeferredAnswers, DeferringWithoutAResponderAnswers500) {
  start(GetParam());
  Connection c(port);
  EXPECT_EQ(c.get("/no-responder").result_int(), 500);
  EXPECT_EQ(c.get("/now").body(), "now");
}

TEST_P(DeferredAnswers, AResponderThatOutlivesTheServerAnswersNothing) {
  start(GetParam());
  {
    Connection c(port);
    c.send({"/kept"});
    ASSERT_TRUE([&] {
      for (int i = 0; i < 200; ++i) {
        {
          std::lock_guard lock(routes.kept_mu);
          if (!routes.kept.empty()) return true;
        }
        std::this_thread::sleep_for(5ms);
      }
      return false;
    }());
    server->stop();
    server.reset();  // the I/O contexts are gone; the responder still holds its request
  }
  std::lock_guard lock(routes.kept_mu);
  for (auto& r : routes.kept) {
    HttpResponse late;
    late.body = "too late";
    r(late);  // must neither write nor crash
  }
  routes.kept.clear();
}

INSTANTIATE_TEST_SUITE_P(WorkerAndInline, DeferredAnswers, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Inline" : "Worker"; });

// Sends one request on each of n new connections at once and returns the answers, in order.
std::vector<http::response<http::string_body>> burst(unsigned short port, int n, const std::string& target) {
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < n; ++i) conns.push_back(std::make_unique<Connection>(port));
  for (auto& c : conns) c->send({target});
  std::vector<http::response<http::string_body>> out;
  for (auto& c : conns) out.push_back(c->receive());
  return out;
}

using Shedding = Fixture;

// A burst smaller than the workers is not waiting for a worker, only for one to wake: none of it is shed,
// however many are posted and not yet started for a moment (with a waiting room of one, a burst of 48 used to
// be shed in part on a busy machine).
TEST_F(Shedding, ABurstTheIdleWorkersCanTakeIsNotShed) {
  start(false, /*workers=*/64, /*max_queued=*/1);
  for (int round = 0; round < 5; ++round) {
    const auto answers = burst(port, 48, "/block?ms=50");
    for (const auto& a : answers) ASSERT_EQ(a.result_int(), 200) << "round " << round << ": " << a.body();
  }
}

// Past every worker busy and the waiting room full, a request is answered 503 not_ready with Retry-After at
// once: 4 workers held 500 ms each and a waiting room of 2 take 6 of a burst of 10.
TEST_F(Shedding, PastTheBusyWorkersAndTheWaitingRoomRequestsAreShedAtOnce) {
  start(false, /*workers=*/4, /*max_queued=*/2);
  const auto started = std::chrono::steady_clock::now();
  const auto answers = burst(port, 10, "/block?ms=500");
  int served = 0, shed = 0;
  for (const auto& a : answers) {
    if (a.result_int() == 200) {
      ++served;
      continue;
    }
    EXPECT_EQ(a.result_int(), 503) << a.body();
    EXPECT_EQ(std::string(a[http::field::retry_after]), "1");
    EXPECT_NE(a.body().find("\"not_ready\""), std::string::npos) << a.body();
    ++shed;
  }
  EXPECT_EQ(served, 6);
  EXPECT_EQ(shed, 4);
  // The six served took two rounds of the four workers; nothing waited for a third.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
}

TEST(HttpResponder, AnEmptyResponderDoesNothing) {
  HttpRequest req;  // no server read it: it has no responder
  auto responder = req.responder();
  EXPECT_FALSE(responder);
  responder(HttpResponse::json(200, "{}"));
  EXPECT_TRUE(responder.withdraw());
}

}  // namespace
}  // namespace emtiaz
