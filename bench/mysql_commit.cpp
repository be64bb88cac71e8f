// emtiaz-mysql-commit: the rate of durable single-row INSERT + COMMIT on a MariaDB server, from T threads
// (one connection each, autocommit), for D seconds. Prints the server's durability settings and one JSON
// line per thread count.
//
//   emtiaz-mysql-commit --host 127.0.0.1 --port P --user U --password PW --database DB --duration 5 --threads 1,8,32
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/histogram.hpp"

namespace {

struct Options {
  std::string host = "127.0.0.1", port = "3306", user, password, database;
  double duration = 5;
  std::vector<int> threads{1, 8};
};

std::unique_ptr<sql::Connection> connect(const Options& o) {
  auto* d = sql::mysql::get_mysql_driver_instance();
  std::unique_ptr<sql::Connection> c(d->connect("tcp://" + o.host + ":" + o.port, o.user, o.password));
  c->setSchema(o.database);
  c->setAutoCommit(true);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = v;
    else if (a == "--user") o.user = v;
    else if (a == "--password") o.password = v;
    else if (a == "--database") o.database = v;
    else if (a == "--duration") o.duration = std::stod(v);
    else if (a == "--threads") {
      o.threads.clear();
      std::stringstream ss(v);
      std::string t;
      while (std::getline(ss, t, ',')) o.threads.push_back(std::stoi(t));
    }
  }
  try {
    auto c = connect(o);
    std::unique_ptr<sql::Statement> st(c->createStatement());
    {
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery(
          "SELECT @@innodb_flush_log_at_trx_commit, @@sync_binlog, @@log_bin, @@version"));
      rs->next();
      std::cout << "{\"variables\":{\"innodb_flush_log_at_trx_commit\":\"" << rs->getString(1) << "\",\"sync_binlog\":\""
                << rs->getString(2) << "\",\"log_bin\":\"" << rs->getString(3) << "\",\"version\":\"" << rs->getString(4)
                << "\"}}" << std::endl;
    }
    st->execute("CREATE TABLE IF NOT EXISTS bench_commits (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                "worker INT NOT NULL, v VARCHAR(64) NOT NULL, at DATETIME(6) NOT NULL) ENGINE=InnoDB");
    for (int n : o.threads) {
      std::atomic<bool> stop{false};
      std::vector<emtiaz::bench::Histogram> hists(static_cast<size_t>(n));
      std::vector<std::thread> ts;
      std::atomic<int> failures{0};
      auto t0 = std::chrono::steady_clock::now();
      for (int w = 0; w < n; ++w) {
        ts.emplace_back([&, w] {
          try {
            auto conn = connect(o);
            std::unique_ptr<sql::PreparedStatement> ins(
                conn->prepareStatement("INSERT INTO bench_commits (worker, v, at) VALUES (?, ?, NOW(6))"));
            while (!stop) {
              auto a = std::chrono::steady_clock::now();
              ins->setInt(1, w);
              ins->setString(2, "a small durable row");
              ins->executeUpdate();  // autocommit: one durable transaction per row
              hists[static_cast<size_t>(w)].record(
                  std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - a).count());
            }
          } catch (const std::exception& e) {
            ++failures;
            std::cerr << "worker " << w << ": " << e.what() << "\n";
          }
        });
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
      stop = true;
      for (auto& t : ts) t.join();
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      emtiaz::bench::Histogram all;
      for (auto& h : hists) all.merge(h);
      std::cout << "{\"threads\":" << n << ",\"commits\":" << all.count()
                << ",\"rate\":" << static_cast<double>(all.count()) / secs
                << ",\"p50_ms\":" << static_cast<double>(all.percentile(0.5)) / 1000.0
                << ",\"p99_ms\":" << static_cast<double>(all.percentile(0.99)) / 1000.0 << ",\"failures\":" << failures
                << "}" << std::endl;
    }
    st->execute("DROP TABLE bench_commits");
  } catch (const std::exception& e) {
    std::cerr << "emtiaz-mysql-commit: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
