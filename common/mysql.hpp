#pragma once
// MySQL (MariaDB) access through Connector/C++ 1.1: a bounded connection pool with deadlines, and the
// migration runner. Third-party exceptions are caught here and turned into MysqlUnavailable (the server
// is unreachable: retry later) or MysqlError (the statement failed: a programmer or data error).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "common/config.hpp"

namespace emtiaz {

struct MysqlUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct MysqlError : std::runtime_error {
  MysqlError(const std::string& what, int code) : std::runtime_error(what), error_code(code) {}
  int error_code;
};

inline constexpr int kMysqlDuplicateKey = 1062;

class MysqlPool {
 public:
  explicit MysqlPool(MysqlConfig config, size_t size = 0);
  // Connections opened from now on accept several statements in one text query (CLIENT_MULTI_STATEMENTS),
  // for callers that send a batch's statements in one round trip. Every value in such text must be escaped
  // (sql_literal); prepared statements are unaffected.
  void enable_multi_statements() { multi_statements_ = true; }
  ~MysqlPool();

  class Lease {
   public:
    Lease(MysqlPool* pool, std::unique_ptr<sql::Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease();
    sql::Connection* operator->() { return conn_.get(); }
    sql::Connection& operator*() { return *conn_; }
    void discard() { conn_.reset(); }

   private:
    MysqlPool* pool_;
    std::unique_ptr<sql::Connection> conn_;
  };

  // Hands out a connection within `timeout`, opening a new one when the pool has room. Throws
  // MysqlUnavailable when none can be had in time.
  Lease acquire(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  // Runs `fn(connection)`; translates connector exceptions; a connection that failed is not returned to
  // the pool. `fn` may run several statements; transactions are the caller's.
  template <typename Fn>
  auto run(Fn&& fn) -> decltype(fn(std::declval<sql::Connection&>())) {
    auto lease = acquire();
    try {
      return fn(*lease);
    } catch (const sql::SQLException& e) {
      lease.discard();
      rethrow(e);
      throw;  // unreachable
    }
  }

  // Runs `fn` inside a transaction (commit on return, rollback on exception).
  template <typename Fn>
  auto transaction(Fn&& fn) -> decltype(fn(std::declval<sql::Connection&>())) {
    return run([&](sql::Connection& c) {
      c.setAutoCommit(false);
      try {
        if constexpr (std::is_void_v<decltype(fn(c))>) {
          fn(c);
          c.commit();
          c.setAutoCommit(true);
        } else {
          auto r = fn(c);
          c.commit();
          c.setAutoCommit(true);
          return r;
        }
      } catch (...) {
        try {
          c.rollback();
          c.setAutoCommit(true);
        } catch (...) {
        }
        throw;
      }
    });
  }

  bool ping(std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
  [[noreturn]] static void rethrow(const sql::SQLException& e);

 private:
  std::unique_ptr<sql::Connection> connect();
  void release(std::unique_ptr<sql::Connection> conn);

  MysqlConfig config_;
  size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<sql::Connection>> idle_;
  size_t open_ = 0;
  std::atomic<bool> multi_statements_{false};
};

// Applies the embedded migrations (migrations/NNN_name.sql) that are not yet recorded in
// schema_migrations, in order, under a named lock so that services starting together apply each once.
void apply_migrations(MysqlPool& pool);

// Start-up: applies the migrations, waiting up to a minute for MySQL to come up (services may start
// before it). Logs and returns false when it never could.
bool apply_migrations_at_start(MysqlPool& pool);

// Convenience: a prepared statement with positional string/int binding.
std::unique_ptr<sql::PreparedStatement> prepare(sql::Connection& c, const std::string& sql);

}  // namespace emtiaz
