#include "tests/support/network.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <sys/wait.h>

namespace emtiaz::tests {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

}  // namespace

NetworkEnv NetworkEnv::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the network env file " + path);
  NetworkEnv env;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with("export ")) line.erase(0, 7);
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    env.values_[line.substr(0, eq)] = value;
  }
  return env;
}

const std::string& NetworkEnv::at(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::runtime_error("the network env has no " + key);
  return it->second;
}

std::string NetworkEnv::get(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

MysqlConfig NetworkEnv::mysql() const {
  MysqlConfig c;
  c.host = get("EMTIAZ_MYSQL_HOST", "127.0.0.1");
  c.port = std::stoi(at("EMTIAZ_MYSQL_PORT"));
  c.user = at("EMTIAZ_MYSQL_USER");
  c.password = at("EMTIAZ_MYSQL_PASSWORD");
  c.database = at("EMTIAZ_MYSQL_DATABASE");
  return c;
}

RedisConfig NetworkEnv::redis() const {
  RedisConfig c;
  c.host = at("EMTIAZ_REDIS_HOST");
  c.port = std::stoi(at("EMTIAZ_REDIS_PORT"));
  c.password = get("EMTIAZ_REDIS_PASSWORD");
  return c;
}

const NetworkEnv& suite_env() {
  static const NetworkEnv env = [] {
    const char* path = std::getenv("EMTIAZ_TEST_ENV");
    if (path == nullptr || *path == '\0') {
      throw std::runtime_error(
          "EMTIAZ_TEST_ENV is not set: run the integration tests through scripts/test.sh (or start a network with "
          "scripts/netctl.sh up DIR --ports free and export EMTIAZ_TEST_ENV=DIR/env)");
    }
    return NetworkEnv::load(path);
  }();
  return env;
}

std::string netctl_path() {
  std::string path = env_or("EMTIAZ_NETCTL", "");
  if (!path.empty()) return path;
  // tests/support/network.cpp -> the repository's scripts/netctl.sh
  return (fs::path(__FILE__).parent_path().parent_path().parent_path() / "scripts" / "netctl.sh").string();
}

std::string audit_command(const std::string& env_file, const std::string& tenant_id) {
  const std::string dir = env_or("EMTIAZ_BUILD_DIR", "");
  return "set -a; . " + shell_quote(env_file) + "; set +a; " +
         shell_quote((dir.empty() ? std::string("build") : dir) + "/wallet/emtiaz-audit") +
         (tenant_id.empty() ? "" : " " + shell_quote(tenant_id));
}

int run_shell(const std::string& command, std::string* output) {
  const std::string full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed for: " + command);
  std::array<char, 4096> chunk{};
  std::size_t n = 0;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) {
    if (output != nullptr) output->append(chunk.data(), n);
  }
  const int status = ::pclose(pipe);
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

namespace {

std::string mysql_client_options(const NetworkEnv& env) {
  return " -h " + shell_quote(env.get("EMTIAZ_MYSQL_HOST", "127.0.0.1")) + " -P " +
         shell_quote(env.at("EMTIAZ_MYSQL_PORT")) + " -u " + shell_quote(env.at("EMTIAZ_MYSQL_USER")) + " ";
}

}  // namespace

int mysql_batch(const NetworkEnv& env, const std::string& sql, std::string* output) {
  return run_shell("MYSQL_PWD=" + shell_quote(env.at("EMTIAZ_MYSQL_PASSWORD")) +
                       " mariadb --batch --skip-column-names" + mysql_client_options(env) +
                       shell_quote(env.at("EMTIAZ_MYSQL_DATABASE")) + " -e " + shell_quote(sql),
                   output);
}

std::optional<std::vector<std::vector<std::string>>> mysql_rows(const NetworkEnv& env, const std::string& sql) {
  std::string out;
  if (mysql_batch(env, sql, &out) != 0) {
    ADD_FAILURE() << "mysql: " << sql << ": " << out;
    return std::nullopt;
  }
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::size_t pos = 0;
    while (true) {
      const auto tab = line.find('\t', pos);
      cells.push_back(line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos));
      if (tab == std::string::npos) break;
      pos = tab + 1;
    }
    rows.push_back(std::move(cells));
  }
  return rows;
}

int mysql_dump(const NetworkEnv& env, std::string* output) {
  return run_shell("MYSQL_PWD=" + shell_quote(env.at("EMTIAZ_MYSQL_PASSWORD")) +
                       " mariadb-dump --no-create-info --skip-extended-insert --single-transaction"
                       " --skip-lock-tables --no-tablespaces --skip-triggers" +
                       mysql_client_options(env) + shell_quote(env.at("EMTIAZ_MYSQL_DATABASE")),
                   output);
}

int redis_cli(const NetworkEnv& env, const std::vector<std::string>& args, std::string* output) {
  std::string cmd = "REDISCLI_AUTH=" + shell_quote(env.get("EMTIAZ_REDIS_PASSWORD")) + " redis-cli -h " +
                    shell_quote(env.get("EMTIAZ_REDIS_HOST", "127.0.0.1")) + " -p " +
                    shell_quote(env.at("EMTIAZ_REDIS_PORT"));
  for (const auto& a : args) cmd += " " + shell_quote(a);
  return run_shell(cmd, output);
}

std::unique_ptr<PrivateNetwork> start_private_network(std::string& error) {
  try {
    return std::make_unique<PrivateNetwork>();
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
}

PrivateNetwork::PrivateNetwork() {
  const fs::path base = env_or("EMTIAZ_TEST_TMPDIR", "/tmp");
  fs::create_directories(base);
  std::string templ = (base / "net-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed under " + base.string());
  dir_ = templ;
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  try {
    netctl("up " + shell_quote(dir_) + " --ports free");
    env_ = NetworkEnv::load(dir_ + "/env");
  } catch (...) {
    run_shell(shell_quote(netctl_path()) + " destroy " + shell_quote(dir_));
    throw;
  }
}

PrivateNetwork::~PrivateNetwork() {
  std::string output;
  if (run_shell(shell_quote(netctl_path()) + " destroy " + shell_quote(dir_), &output) != 0) {
    std::fprintf(stderr, "PrivateNetwork: destroying %s failed:\n%s\n", dir_.c_str(), output.c_str());
  }
}

void PrivateNetwork::netctl(const std::string& args) {
  std::string output;
  const std::string command = shell_quote(netctl_path()) + " " + args;
  const int rc = run_shell(command, &output);
  if (rc != 0) {
    throw std::runtime_error("netctl.sh " + args + " failed (exit " + std::to_string(rc) + "):\n" + output);
  }
}

void PrivateNetwork::stop(const std::string& part) { netctl("stop " + shell_quote(dir_) + " " + shell_quote(part)); }
void PrivateNetwork::start(const std::string& part) {
  netctl("start " + shell_quote(dir_) + " " + shell_quote(part));
}
void PrivateNetwork::kill(const std::string& part) { netctl("kill " + shell_quote(dir_) + " " + shell_quote(part)); }
void PrivateNetwork::down() { netctl("down " + shell_quote(dir_)); }
void PrivateNetwork::up() {
  netctl("up " + shell_quote(dir_));
  env_ = NetworkEnv::load(dir_ + "/env");
}

std::string PrivateNetwork::log_tail(const std::string& part, int lines) const {
  std::string output;
  run_shell("tail -n " + std::to_string(lines) + " " + shell_quote(dir_ + "/logs/" + part + ".log"), &output);
  return output;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace emtiaz::tests
