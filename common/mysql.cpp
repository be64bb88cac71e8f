#include "common/mysql.hpp"

#include "common/blocking.hpp"

#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <fmt/format.h>
#include <mysql_driver.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>
#include <unordered_map>

#include "common/migrations_embedded.hpp"
#include "common/sql_util.hpp"

namespace emtiaz {
namespace {

sql::mysql::MySQL_Driver* driver() {
  // The first call is not thread-safe in Connector/C++ 1.1: a function-local static makes it so.
  static sql::mysql::MySQL_Driver* d = sql::mysql::get_mysql_driver_instance();
  return d;
}

void thread_init() {
  struct Guard {
    Guard() { driver()->threadInit(); }
    ~Guard() { driver()->threadEnd(); }
  };
  thread_local Guard guard;
}

bool is_connection_error(int code) {
  // CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR, CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_SERVER_LOST_EXTENDED,
  // ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, and connector-level failures that carry code 0.
  return code == 0 || code == 2002 || code == 2003 || code == 2006 || code == 2013 || code == 2055 ||
         code == 1040 || code == 1053 || code == 2026;
}

// The prepared statements of each pooled connection, by SQL text. A connection is used by one lease at a
// time, so only the registry itself needs the lock.
struct StatementCache {
  std::unordered_map<std::string, std::unique_ptr<sql::PreparedStatement>> by_sql;
};
constexpr std::size_t kStatementsPerConnection = 64;  // SQL built with varying IN lists must not grow it forever

std::mutex registry_mu;
std::unordered_map<const sql::Connection*, std::shared_ptr<StatementCache>> registry;

std::shared_ptr<StatementCache> cache_of(const sql::Connection* c) {
  std::lock_guard lock(registry_mu);
  auto it = registry.find(c);
  return it == registry.end() ? nullptr : it->second;
}

}  // namespace

void CloseConnection::operator()(sql::Connection* c) const {
  std::shared_ptr<StatementCache> cache;
  {
    std::lock_guard lock(registry_mu);
    if (auto it = registry.find(c); it != registry.end()) {
      cache = std::move(it->second);
      registry.erase(it);
    }
  }
  try {
    if (cache) cache->by_sql.clear();  // closes the statements while their connection still exists
  } catch (...) {
  }
  delete c;
}

MysqlPool::MysqlPool(MysqlConfig config, size_t size)
    : config_(std::move(config)), size_(size ? size : static_cast<size_t>(std::max(1, static_cast<int>(config_.pool_size)))) {
  driver();
}

MysqlPool::~MysqlPool() = default;

void MysqlPool::rethrow(const sql::SQLException& e) {
  int code = e.getErrorCode();
  if (is_connection_error(code)) throw MysqlUnavailable(fmt::format("mysql unavailable: {} ({})", e.what(), code));
  throw MysqlError(fmt::format("mysql error {}: {} [{}]", code, e.what(), e.getSQLStateCStr()), code);
}

ConnectionPtr MysqlPool::connect() {
  thread_init();
  sql::ConnectOptionsMap opts;
  opts["hostName"] = sql::SQLString(config_.host);
  opts["port"] = static_cast<int>(config_.port);
  opts["userName"] = sql::SQLString(config_.user);
  opts["password"] = sql::SQLString(config_.password);
  opts["schema"] = sql::SQLString(config_.database);
  opts["OPT_CONNECT_TIMEOUT"] = 2;
  opts["OPT_READ_TIMEOUT"] = 30;
  opts["OPT_WRITE_TIMEOUT"] = 30;
  opts["OPT_RECONNECT"] = false;
  opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  opts["characterSetResults"] = sql::SQLString("utf8mb4");
  if (multi_statements_) opts["CLIENT_MULTI_STATEMENTS"] = true;
  try {
    ConnectionPtr c(driver()->connect(opts));
    {
      std::unique_ptr<sql::Statement> st(c->createStatement());
      st->execute("SET NAMES utf8mb4 COLLATE utf8mb4_bin");
      st->execute("SET time_zone = '+00:00'");
      st->execute("SET SESSION tx_isolation = 'READ-COMMITTED'");
      // Text statements escape their strings with backslashes (sql_literal): a server configured with
      // NO_BACKSLASH_ESCAPES would read them otherwise, so the session drops that mode.
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT @@SESSION.sql_mode"));
      if (rs->next())
        if (auto modes = without_sql_mode(std::string(rs->getString(1)), "NO_BACKSLASH_ESCAPES")) {
          std::string set = "SET SESSION sql_mode = '";
          append_escaped(set, *modes);
          st->execute(set + "'");
        }
    }
    std::lock_guard lock(registry_mu);
    registry[c.get()] = std::make_shared<StatementCache>();
    return c;
  } catch (const sql::SQLException& e) {
    throw MysqlUnavailable(fmt::format("mysql unavailable at {}:{}: {}", config_.host, config_.port, e.what()));
  }
}

MysqlPool::Lease MysqlPool::acquire(std::chrono::milliseconds timeout) {
  if (blocking_forbidden()) throw WouldBlock{};  // on an I/O thread: the request moves to a worker
  thread_init();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  for (;;) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.front());
      idle_.pop_front();
      return Lease(this, std::move(c));
    }
    if (open_ < size_) {
      ++open_;
      lock.unlock();
      try {
        return Lease(this, connect());
      } catch (...) {
        lock.lock();
        --open_;
        cv_.notify_one();
        throw;
      }
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout)
      throw MysqlUnavailable("mysql: no connection available within the deadline");
  }
}

void MysqlPool::release(ConnectionPtr conn) {
  std::lock_guard lock(mu_);
  if (conn && !conn->isClosed()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  cv_.notify_one();
}

MysqlPool::Lease::~Lease() {
  if (!pool_) return;
  if (conn_) {
    pool_->release(std::move(conn_));
  } else {
    pool_->release(nullptr);
  }
}

bool MysqlPool::ping(std::chrono::milliseconds timeout) {
  try {
    auto lease = acquire(timeout);
    try {
      std::unique_ptr<sql::Statement> st(lease->createStatement());
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT 1"));
      return rs->next();
    } catch (const sql::SQLException&) {
      lease.discard();
      return false;
    }
  } catch (const std::exception&) {
    return false;
  }
}

Prepared prepare(sql::Connection& c, const std::string& sql) {
  Prepared p;
  auto cache = cache_of(&c);
  if (cache) {
    if (auto it = cache->by_sql.find(sql); it != cache->by_sql.end()) {
      it->second->clearParameters();
      p.statement_ = it->second.get();
      return p;
    }
    if (cache->by_sql.size() < kStatementsPerConnection) {
      std::unique_ptr<sql::PreparedStatement> st(c.prepareStatement(sql));
      p.statement_ = st.get();
      cache->by_sql.emplace(sql, std::move(st));
      return p;
    }
  }
  p.owned_.reset(c.prepareStatement(sql));
  p.statement_ = p.owned_.get();
  return p;
}

namespace {

std::vector<std::string> split_statements(std::string_view script) {
  // Migrations are plain DDL/DML: a statement ends with ';' at the end of a line.
  std::vector<std::string> out;
  std::string cur;
  size_t pos = 0;
  while (pos <= script.size()) {
    auto nl = script.find('\n', pos);
    auto line = script.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? script.size() + 1 : nl + 1;
    auto trimmed = line;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.remove_suffix(1);
    auto first = trimmed.find_first_not_of(" \t");
    if (first != std::string_view::npos && trimmed.substr(first, 2) == "--") continue;
    cur.append(line);
    cur.push_back('\n');
    if (!trimmed.empty() && trimmed.back() == ';') {
      cur.erase(cur.find_last_of(';'));
      out.push_back(cur);
      cur.clear();
    }
  }
  if (cur.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(cur);
  return out;
}

}  // namespace

void apply_migrations(MysqlPool& pool) {
  pool.run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    {
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT GET_LOCK('emtiaz_migrations', 60)"));
      if (!rs->next() || rs->getInt(1) != 1) throw MysqlUnavailable("could not take the migration lock in 60 s");
    }
    try {
      st->execute(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, name VARCHAR(200) NOT "
          "NULL, applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB");
      for (const auto& m : embedded_migrations()) {
        auto check = prepare(c, "SELECT 1 FROM schema_migrations WHERE version = ?");
        check->setInt(1, m.version);
        std::unique_ptr<sql::ResultSet> rs(check->executeQuery());
        if (rs->next()) continue;
        spdlog::info("applying migration {:03d} {}", m.version, m.name);
        for (const auto& stmt : split_statements(m.sql)) st->execute(stmt);
        auto ins = prepare(c, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)");
        ins->setInt(1, m.version);
        ins->setString(2, std::string(m.name));
        ins->execute();
      }
    } catch (...) {
      st->execute("DO RELEASE_LOCK('emtiaz_migrations')");
      throw;
    }
    st->execute("DO RELEASE_LOCK('emtiaz_migrations')");
  });
}

bool apply_migrations_at_start(MysqlPool& pool) {
  for (int attempt = 0;; ++attempt) {
    try {
      apply_migrations(pool);
      return true;
    } catch (const std::exception& e) {
      if (attempt >= 60) {
        spdlog::critical("migrations failed: {}", e.what());
        return false;
      }
      spdlog::warn("waiting for MySQL to apply migrations: {}", e.what());
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
}

}  // namespace emtiaz
