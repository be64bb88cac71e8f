// The HTTP server's deferred answers (HttpResponder): a handler that returns HttpResponse::deferred_response()
// and answers later from another thread, on the worker path and on the inline (I/O thread) path; answers keep
// the order of pipelined requests; a responder answers once; a responder dropped unanswered answers 500; a
// handler that defers without a responder answers 500; a responder that outlives the server is harmless; and
// each deferred answer is counted in the request metric; an answer given on the connection's own I/O thread
// after its handler returned is written there, in order among the others; a hundred pipelined requests come back
// in order. Overload is shed only past the busy workers and the waiting room. A response larger than the socket
// takes at once arrives whole, and so does a request body of most of the limit; a client that does not take
// its response is cut off after the read timeout. No server but the one the test starts.
#include "common/http_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/tests/metric_value.hpp"

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
//   /here?ms=N&body=B    answers B after N ms from the I/O thread that read the request, when the handler runs
//                        there (inline), outside the handler (the way an asynchronous Redis reply answers a
//                        balance read); from the Answerer's thread otherwise
//   /big?kb=N            answers N KiB at once (more than a socket takes: the rest goes out asynchronously)
//   /size                answers "<body size>:<bytes that differ from the pattern 'a' + i % 26>"
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
    if (req.path == "/here") {
      auto responder = req.responder();
      const auto ms = std::chrono::milliseconds(std::stoi(req.query["ms"]));
      auto answer = [responder, body = req.query["body"], text] { responder(text(201, body, "GET /here")); };
      if (auto* ioc = HttpServer::this_thread_io_context()) {
        if (ms.count() == 0) {
          asio::post(*ioc, answer);
        } else {
          auto timer = std::make_shared<asio::steady_timer>(*ioc, ms);
          timer->async_wait([timer, answer](const boost::system::error_code&) { answer(); });
        }
      } else {
        answerer.later(ms, answer);
      }
      return HttpResponse::deferred_response();
    }
    if (req.path == "/big") {
      std::string body(static_cast<size_t>(std::stoi(req.query["kb"])) << 10, 'x');
      for (size_t i = 0; i < body.size(); i += 4096) body[i] = static_cast<char>('a' + (i / 4096) % 26);
      return text(200, std::move(body), "GET /big");
    }
    if (req.path == "/size") {
      size_t wrong = 0;
      for (size_t i = 0; i < req.body().size(); ++i) wrong += req.body()[i] != static_cast<char>('a' + i % 26);
      return text(200, std::to_string(req.body().size()) + ":" + std::to_string(wrong), "POST /size");
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
  return metric_value("emtiaz_http_requests_total{route=\"" + route + "\",status=\"" + std::to_string(status) + "\"}");
}

struct Fixture : ::testing::Test {
  // inline_too: the same routes are also tried on the I/O thread (try_inline), as the gateway's are.
  void start(bool inline_too, int workers = 2, size_t max_queued = 0,
             std::chrono::milliseconds read_timeout = std::chrono::milliseconds(30000)) {
    HttpServerOptions opts;
    opts.read_timeout = read_timeout;
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

// Answered on the connection's own I/O thread after its handler returned (written there at once, not posted):
// on a keep-alive connection, one after another, and pipelined among answers from elsewhere, in order.
TEST_P(DeferredAnswers, AnsweredLaterOnTheIOThreadThatReadTheRequest) {
  start(GetParam());
  Connection c(port);
  const double before = requests_counted("GET /here", 201);
  for (int i = 0; i < 3; ++i) {
    auto res = c.get("/here?ms=" + std::to_string(i * 10) + "&body=h" + std::to_string(i));
    EXPECT_EQ(res.result_int(), 201);
    EXPECT_EQ(res.body(), "h" + std::to_string(i));
    EXPECT_TRUE(res.keep_alive());
  }
  c.send({"/here?ms=50&body=slow", "/now", "/later?ms=1&body=fast", "/here?ms=0&body=at-once", "/now"});
  EXPECT_EQ(c.receive().body(), "slow");
  EXPECT_EQ(c.receive().body(), "now");
  EXPECT_EQ(c.receive().body(), "fast");
  EXPECT_EQ(c.receive().body(), "at-once");
  EXPECT_EQ(c.receive().body(), "now");
  EXPECT_EQ(requests_counted("GET /here", 201), before + 5);
}

// A long run of pipelined requests, answered at once and deferred alike, comes back whole and in order (the
// connection serves what it has buffered without going back to the I/O context each time, and still now and
// then does, so that its stack stays bounded).
TEST_P(DeferredAnswers, AHundredPipelinedRequestsAreAnsweredInOrder) {
  start(GetParam());
  Connection c(port);
  std::vector<std::string> targets;
  for (int i = 0; i < 100; ++i)
    targets.push_back(i % 3 == 0 ? "/here?ms=0&body=p" + std::to_string(i)
                                 : i % 3 == 1 ? "/now" : "/later?ms=0&body=p" + std::to_string(i));
  c.send(targets);
  for (int i = 0; i < 100; ++i) {
    auto res = c.receive();
    EXPECT_EQ(res.body(), i % 3 == 1 ? std::string("now") : "p" + std::to_string(i)) << "answer " << i;
  }
  EXPECT_EQ(c.get("/now").body(), "now");
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

namespace emtiaz {
namespace {

using LargeResponses = Fixture;

// A response larger than the socket takes at once is finished asynchronously, whole, and the keep-alive
// connection goes on.
TEST_F(LargeResponses, AResponseTheSocketCannotTakeAtOnceArrivesWhole) {
  start(true);
  Connection c(port);
  for (int kb : {1, 16 << 10}) {
    auto res = c.get("/big?kb=" + std::to_string(kb));
    ASSERT_EQ(res.result_int(), 200);
    ASSERT_EQ(res.body().size(), static_cast<size_t>(kb) << 10);
    for (size_t i = 0; i < res.body().size(); i += 4096)
      ASSERT_EQ(res.body()[i], static_cast<char>('a' + (i / 4096) % 26)) << "at byte " << i;
  }
  EXPECT_EQ(c.get("/now").body(), "now");
}

// A request body of most of the 1 MiB limit arrives whole and in order (read in chunks sized for the rest of the
// body), and the keep-alive connection goes on.
TEST_F(LargeResponses, ALargeRequestBodyArrivesWhole) {
  start(true);
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  std::string body(900 << 10, ' ');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  const std::string head = "POST /size HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  asio::write(s, asio::buffer(head + body));
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), std::to_string(body.size()) + ":0");
  asio::write(s, asio::buffer(std::string("GET /now HTTP/1.1\r\nHost: test\r\n\r\n")));
  http::response<http::string_body> again;
  http::read(s, buf, again);
  EXPECT_EQ(again.body(), "now");
}

// A client that does not take its response is cut off once read_timeout has passed: the connection is
// closed, and what the client then reads ends before the body does.
TEST_F(LargeResponses, AClientThatDoesNotReadItsResponseIsCutOffAfterTheReadTimeout) {
  start(true, 2, 0, std::chrono::milliseconds(300));
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string req = "GET /big?kb=65536 HTTP/1.1\r\nHost: test\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::this_thread::sleep_for(1500ms);  // well past the read timeout, reading nothing
  std::size_t got = 0;
  std::array<char, 1 << 16> buf{};
  boost::system::error_code ec;
  while (!ec) got += s.read_some(asio::buffer(buf), ec);
  EXPECT_LT(got, std::size_t{64} << 20) << ec.message();
  // The server is still there for others.
  Connection c(port);
  EXPECT_EQ(c.get("/now").body(), "now");
}

}  // namespace
}  // namespace emtiaz
