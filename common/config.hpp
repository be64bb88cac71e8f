#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace emtiaz {

// Bad start-up configuration. what() is one line naming the key and its environment variable, e.g.
//   config: mysql.port (EMTIAZ_MYSQL_PORT) must be an integer in 1..65535, got "abc"
// Services print it and exit non-zero.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "mysql.host" -> "EMTIAZ_MYSQL_HOST"; "http_port" -> "EMTIAZ_HTTP_PORT".
std::string config_env_name(std::string_view key);

// Key/value configuration from an optional YAML file overridden by EMTIAZ_* environment variables.
//
// YAML maps are flattened to dotted keys ("mysql: {host: db}" is "mysql.host"); a null value counts as
// absent. The variable for a key is config_env_name(key); an empty variable counts as unset (so
// `EMTIAZ_X=` in a compose file does not override the YAML with ""). Values are read once, at start-up, from one
// thread: the getters record which keys were asked for (see unused_yaml_keys).
class ConfigSource {
 public:
  // Reads `yaml_path` (if given) and takes the environment from `env`. A missing or malformed YAML file,
  // or a YAML sequence where a value is expected, throws ConfigError.
  static ConfigSource load(const std::optional<std::string>& yaml_path, const std::map<std::string, std::string>& env);

  // The real process: the environment from `environ`, the YAML file named by EMTIAZ_CONFIG if set.
  static ConfigSource from_process_environment();

  // The effective raw value: environment first, then YAML.
  std::optional<std::string> find(std::string_view key) const;

  // Typed getters. A key that is absent with no default throws ConfigError ("... is required"); a value that
  // does not parse or is out of range throws ConfigError naming the key, the variable, the rule and the value.
  std::string get_string(std::string_view key, const std::optional<std::string>& default_value = std::nullopt) const;
  std::optional<std::string> get_optional_string(std::string_view key) const;
  std::int64_t get_int(std::string_view key, std::int64_t min, std::int64_t max,
                       std::optional<std::int64_t> default_value = std::nullopt) const;
  // true/false, yes/no, on/off, 1/0 (case-insensitive).
  bool get_bool(std::string_view key, std::optional<bool> default_value = std::nullopt) const;
  // Milliseconds: a bare integer ("2500"), an integer with a unit ("250ms", "10s", "5m", "1h") or an ISO 8601
  // time duration ("PT10S", "PT1M30S"; no years, months or days).
  std::int64_t get_duration_ms(std::string_view key, std::int64_t min_ms, std::int64_t max_ms,
                               std::optional<std::int64_t> default_value = std::nullopt) const;

  // A secret (password, token): only from the variable itself or from the file named by <variable>_FILE
  // (trailing newlines stripped) — never from YAML, where finding it throws ConfigError, as does setting both
  // the variable and the _FILE variable, or a _FILE that cannot be read. nullopt when neither is set.
  std::optional<std::string> get_secret(std::string_view key) const;

  // YAML keys that no getter has asked for so far (typos, keys of another service), for a start-up warning.
  std::vector<std::string> unused_yaml_keys() const;

  // Where the YAML came from ("" when there is none), for messages.
  const std::string& yaml_path() const { return yaml_path_; }

 private:
  std::string yaml_path_;
  std::map<std::string, std::string, std::less<>> yaml_;
  std::map<std::string, std::string, std::less<>> env_;
  mutable std::set<std::string, std::less<>> asked_;
};

enum class Mode { local, production };
std::string_view format_mode(Mode mode);

struct MysqlConfig {
  std::string host = "127.0.0.1";  // mysql.host
  int port = 3306;                 // mysql.port
  std::string user;                // mysql.user (required)
  std::string password;            // EMTIAZ_MYSQL_PASSWORD[_FILE] (secret; empty if unset)
  std::string database;            // mysql.database (required)
  int pool_size = 8;               // mysql.pool_size, 1..256
};

struct RedisConfig {
  std::string host = "127.0.0.1";  // redis.host
  int port = 6379;                 // redis.port
  std::string password;            // EMTIAZ_REDIS_PASSWORD[_FILE] (secret; empty = no AUTH)
};

struct KafkaConfig {
  // Exactly one of the two: a fixed list (production) or a file holding it (the dev broker writes it, and it
  // is re-read when the broker is lost).
  std::optional<std::string> bootstrap;       // kafka.bootstrap
  std::optional<std::string> bootstrap_file;  // kafka.bootstrap_file
  std::string commands_topic = "emtiaz.commands";
  std::string replies_topic = "emtiaz.replies";
  std::string ledger_topic = "emtiaz.ledger";
  int partitions = 16;  // kafka.partitions, 1..1024
  // kafka.fetch_wait_ms, 1..1000: how long the broker may hold a fetch that found nothing (fetch.wait.max.ms)
  // for the wallet's appliers and the gateway's reply reader. A broker that answers a held fetch as soon as
  // data arrives (Kafka; the benchmark's patched dev broker) should get a long wait: it costs no latency and
  // spares the idle polling. librdkafka's stock mock (the dev broker of up.sh and the tests) holds it for the
  // whole wait whatever arrives, so there the default of 1 ms keeps a command's round trip short.
  int fetch_wait_ms = 1;
};

struct CommonConfig {
  Mode mode = Mode::production;         // mode: "local" | "production" (default production: fail safe)
  std::string log_level = "info";       // log_level: trace|debug|info|warn|error|critical|off
  int admin_port = 0;                   // admin_port (wallet/clearing health/ready/metrics; 0 = any)
  std::optional<std::string> port_file;  // port_file
  MysqlConfig mysql;
  RedisConfig redis;
  KafkaConfig kafka;
};

struct GatewayConfig : CommonConfig {
  int http_port = 8080;                      // http_port, 0..65535 (0 = any free port)
  std::string admin_token;                   // EMTIAZ_ADMIN_TOKEN[_FILE] (secret)
  bool admin_token_generated = false;        // local mode without a token: one was generated; print it
  std::int64_t request_timeout_ms = 10000;   // gateway.request_timeout_ms
  std::int64_t command_timeout_ms = 5000;    // gateway.command_timeout_ms
  std::int64_t body_limit_bytes = 1 << 20;   // gateway.body_limit_bytes
  std::int64_t header_limit_bytes = 8 << 10; // gateway.header_limit_bytes
  int max_connections = 10000;               // gateway.max_connections
  int threads = 1;                           // gateway.threads: I/O threads (default: twice the cores)
  int queue_limit = 512;                     // gateway.queue_limit: requests waiting for a worker, at most
  std::int64_t queue_wait_ms = 2000;         // gateway.queue_wait_ms: a request that waited longer is shed
};

struct WalletConfig : CommonConfig {
  int batch_size_max = 256;                  // wallet.batch_size_max
  std::int64_t batch_wait_ms = 2;            // wallet.batch_wait_ms
  std::int64_t timer_interval_ms = 200;      // wallet.timer_interval_ms
  std::int64_t watermark_interval_ms = 500;  // wallet.watermark_interval_ms
  // wallet.command_retention_hours: how long the record of an applied command (its exact response, what a
  // retry is answered with) is kept before it is pruned. The contract keeps an Idempotency-Key at least 24
  // hours (api.md); a command older than this is not applied at all (it would no longer be recognised).
  std::int64_t command_retention_hours = 168;
  // wallet.outbox_retention_hours: how long a ledger event stays in the outbox after it was published and applied
  // by clearing (wallet/command_pruner.hpp); an event not yet both stays however old. Its record is the ledger
  // (`ledger_entries`, kept for ever): this is how long an operator can still see how it travelled.
  std::int64_t outbox_retention_hours = 168;
  // wallet.appliers: members of the wallet's consumer group in this process, each with its own share of the
  // partitions, thread and MySQL transaction (as that many wallet processes would be). One applier applies
  // its batches one after another (read, apply, write, commit, Redis, replies), so its batch time bounds the
  // command rate; two let one batch's commit overlap another's work.
  int appliers = 2;
};

struct ClearingConfig : CommonConfig {};

CommonConfig load_common_config(const ConfigSource& source);
GatewayConfig load_gateway_config(const ConfigSource& source);
WalletConfig load_wallet_config(const ConfigSource& source);
ClearingConfig load_clearing_config(const ConfigSource& source);

}  // namespace emtiaz
