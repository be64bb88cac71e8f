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

// Closes a pooled connection: its cached prepared statements first (see Prepared), then the connection.
struct CloseConnection {
  void operator()(sql::Connection* c) const;
};
using ConnectionPtr = std::unique_ptr<sql::Connection, CloseConnection>;

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
    Lease(MysqlPool* pool, ConnectionPtr conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease();
    sql::Connection* operator->() { return conn_.get(); }
    sql::Connection& operator*() { return *conn_; }
    void discard() { conn_.reset(); }

   private:
    MysqlPool* pool_;
    ConnectionPtr conn_;
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
  ConnectionPtr connect();
  void release(ConnectionPtr conn);

  MysqlConfig config_;
  size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ConnectionPtr> idle_;
  size_t open_ = 0;
  std::atomic<bool> multi_statements_{false};
};

// Applies the embedded migrations (migrations/NNN_name.sql) that are not yet recorded in
// schema_migrations, in order, under a named lock so that services starting together apply each once.
void apply_migrations(MysqlPool& pool);

// Start-up: applies the migrations, waiting up to a minute for MySQL to come up (services may start
// before it). Logs and returns false when it never could.
bool apply_migrations_at_start(MysqlPool& pool);

// A prepared statement of one connection. Statements of a pooled connection are kept with it and reused
// (one round trip per use instead of prepare + execute + close, and no parsing on the server); others are
// owned by this handle. Its parameters start cleared. Use it while the lease of its connection is held,
// and let a result set of it go before executing the same SQL again on the same connection.
class Prepared {
 public:
  Prepared() = default;
  Prepared(Prepared&&) = default;
  Prepared& operator=(Prepared&&) = default;
  sql::PreparedStatement* operator->() const { return statement_; }
  sql::PreparedStatement& operator*() const { return *statement_; }
  sql::PreparedStatement* get() const { return statement_; }

 private:
  friend Prepared prepare(sql::Connection& c, const std::string& sql);
  sql::PreparedStatement* statement_ = nullptr;
  std::unique_ptr<sql::PreparedStatement> owned_;
};

// A prepared statement with positional binding (see Prepared).
Prepared prepare(sql::Connection& c, const std::string& sql);

}  // namespace emtiaz
