#pragma once
// The networks integration tests run against.
//
// - The suite's shared network: started by scripts/test.sh (netctl.sh up var/test-PID --ports free), whose
//   env file is named by EMTIAZ_TEST_ENV. Tests must not stop its servers.
// - PrivateNetwork: a whole network of the test's own (its own MariaDB, Redis, broker and services on free
//   ports, in a fresh folder), for tests that stop, kill or restart parts. Started in the constructor,
//   destroyed (stopped and deleted) in the destructor.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mysql.hpp"
#include "common/redis.hpp"
#include "tests/support/http_client.hpp"

namespace emtiaz::tests {

// KEY=value lines, as netctl.sh writes DIR/env.
class NetworkEnv {
 public:
  NetworkEnv() = default;
  static NetworkEnv load(const std::string& path);  // throws std::runtime_error

  // The value; throws std::runtime_error naming the key when it is missing.
  const std::string& at(const std::string& key) const;
  std::string get(const std::string& key, const std::string& fallback = {}) const;
  const std::map<std::string, std::string>& values() const { return values_; }

  std::string url() const { return at("EMTIAZ_URL"); }
  std::string admin_token() const { return at("EMTIAZ_ADMIN_TOKEN"); }
  std::string wallet_admin_url() const { return at("EMTIAZ_WALLET_ADMIN_URL"); }
  std::string clearing_admin_url() const { return at("EMTIAZ_CLEARING_ADMIN_URL"); }

  // The network's MySQL (as its services' user) and Redis, for tests that look at or change what they hold.
  MysqlConfig mysql() const;
  RedisConfig redis() const;

  HttpClient gateway() const { return HttpClient(url()); }
  HttpClient wallet_admin() const { return HttpClient(wallet_admin_url()); }
  HttpClient clearing_admin() const { return HttpClient(clearing_admin_url()); }

 private:
  std::map<std::string, std::string> values_;
};

// The suite's shared network (EMTIAZ_TEST_ENV); throws with a hint to use scripts/test.sh when it is unset.
const NetworkEnv& suite_env();

// The path of scripts/netctl.sh (EMTIAZ_NETCTL, else found from this source file's location).
std::string netctl_path();

// `s` as one word for the shell (single-quoted, a quote inside written as '\'').
std::string shell_quote(const std::string& s);

// Runs a shell command; returns its exit status and appends its stdout+stderr to *output when given.
int run_shell(const std::string& command, std::string* output = nullptr);

// The shell command that runs emtiaz-audit (from EMTIAZ_BUILD_DIR, else `build`) against the network whose env file
// is `env_file`: every tenant, or only `tenant_id`.
std::string audit_command(const std::string& env_file, const std::string& tenant_id = {});

class PrivateNetwork {
 public:
  // Starts a network in a fresh folder (under EMTIAZ_TEST_TMPDIR, else /tmp). Throws std::runtime_error
  // with netctl's output when it does not come up.
  PrivateNetwork();
  ~PrivateNetwork();
  PrivateNetwork(const PrivateNetwork&) = delete;
  PrivateNetwork& operator=(const PrivateNetwork&) = delete;

  // part: mariadb, redis, broker, wallet, clearing, gateway. Each throws with netctl's output on failure.
  void stop(const std::string& part);
  void start(const std::string& part);
  void kill(const std::string& part);
  void down();
  void up();  // the same folder: same ports, same data, same secrets

  const std::string& dir() const { return dir_; }
  const NetworkEnv& env() const { return env_; }
  std::string url() const { return env_.url(); }
  std::string admin_token() const { return env_.admin_token(); }
  HttpClient gateway() const { return env_.gateway(); }
  HttpClient wallet_admin() const { return env_.wallet_admin(); }
  HttpClient clearing_admin() const { return env_.clearing_admin(); }

  // The last lines of DIR/logs/PART.log, for failure messages.
  std::string log_tail(const std::string& part, int lines = 30) const;

 private:
  void netctl(const std::string& args);
  std::string dir_;
  NetworkEnv env_;
};

// A PrivateNetwork, or null with why it did not come up in `error`: for a test body or a suite's set-up, which then
// reports it (ASSERT_TRUE(net) << error) instead of letting the exception end the test binary.
std::unique_ptr<PrivateNetwork> start_private_network(std::string& error);

// The network's MariaDB through the command-line clients, with the env file's EMTIAZ_MYSQL_* credentials.
// mysql_batch runs `sql` and prints tab-separated rows without column names; mysql_dump prints every row of
// every table of the database as INSERT statements (mariadb-dump, data only, one row a statement, binary
// columns as escaped text), for tests that check what the database holds. Both return the client's exit
// status and append its output (stdout and stderr) to *output.
int mysql_batch(const NetworkEnv& env, const std::string& sql, std::string* output);
// The rows `sql` gives through mysql_batch, each split at its tabs; none (and a test failure naming the query and
// the client's output) when the client fails.
std::optional<std::vector<std::vector<std::string>>> mysql_rows(const NetworkEnv& env, const std::string& sql);
int mysql_dump(const NetworkEnv& env, std::string* output);

// The network's Redis through redis-cli, with the env file's port and password (passed in the environment, not
// on the command line): runs `args` (each word quoted), returns its exit status and appends its output to *output.
int redis_cli(const NetworkEnv& env, const std::vector<std::string>& args, std::string* output);

// Polls `condition` every `interval` until it is true or `timeout` has passed; returns its last value.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100));

}  // namespace emtiaz::tests
