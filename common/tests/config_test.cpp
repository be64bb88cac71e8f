#include "common/config.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <unistd.h>

namespace emtiaz {
namespace {

namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;

// A scratch folder per test, removed afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("emtiaz_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& content) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  // The smallest environment every service accepts.
  static Env minimal_env() {
    return {{"EMTIAZ_MYSQL_USER", "emtiaz"}, {"EMTIAZ_MYSQL_DATABASE", "emtiaz"}, {"EMTIAZ_KAFKA_BOOTSTRAP", "127.0.0.1:9092"}};
  }
  static Env with(Env env, const std::string& key, const std::string& value) {
    env[key] = value;
    return env;
  }
  static Env without(Env env, const std::string& key) {
    env.erase(key);
    return env;
  }

  fs::path dir_;
};

// Runs `f`, expects a ConfigError, checks it is one line that contains `needle`, and returns it.
std::string config_error(const std::function<void()>& f, const std::string& needle = "") {
  try {
    f();
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_TRUE(message.starts_with("config: ")) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << "'" << message << "' lacks '" << needle << "'";
    return message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ConfigError, got " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected ConfigError, nothing thrown";
  return "";
}

TEST(ConfigEnvName, MapsKeysToVariables) {
  EXPECT_EQ(config_env_name("mysql.host"), "EMTIAZ_MYSQL_HOST");
  EXPECT_EQ(config_env_name("http_port"), "EMTIAZ_HTTP_PORT");
  EXPECT_EQ(config_env_name("kafka.bootstrap_file"), "EMTIAZ_KAFKA_BOOTSTRAP_FILE");
  EXPECT_EQ(config_env_name("gateway.request_timeout_ms"), "EMTIAZ_GATEWAY_REQUEST_TIMEOUT_MS");
}

TEST_F(ConfigTest, DefaultsFromAMinimalEnvironment) {
  const CommonConfig c = load_common_config(ConfigSource::load(std::nullopt, minimal_env()));
  EXPECT_EQ(c.mode, Mode::production);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.admin_port, 0);
  EXPECT_EQ(c.port_file, std::nullopt);
  EXPECT_EQ(c.mysql.host, "127.0.0.1");
  EXPECT_EQ(c.mysql.port, 3306);
  EXPECT_EQ(c.mysql.user, "emtiaz");
  EXPECT_EQ(c.mysql.password, "");
  EXPECT_EQ(c.mysql.database, "emtiaz");
  EXPECT_EQ(c.mysql.pool_size, 8);
  EXPECT_EQ(c.redis.host, "127.0.0.1");
  EXPECT_EQ(c.redis.port, 6379);
  EXPECT_EQ(c.redis.password, "");
  EXPECT_EQ(c.kafka.bootstrap, std::optional<std::string>("127.0.0.1:9092"));
  EXPECT_EQ(c.kafka.bootstrap_file, std::nullopt);
  EXPECT_EQ(c.kafka.commands_topic, "emtiaz.commands");
  EXPECT_EQ(c.kafka.replies_topic, "emtiaz.replies");
  EXPECT_EQ(c.kafka.ledger_topic, "emtiaz.ledger");
  EXPECT_EQ(c.kafka.partitions, 16);
  EXPECT_EQ(c.kafka.fetch_wait_ms, 1);
}

TEST_F(ConfigTest, ReadsYamlAndTheEnvironmentOverridesIt) {
  const std::string yaml = write("emtiaz.yaml", R"(
mode: local
log_level: debug
admin_port: 9100
port_file: /tmp/port
mysql:
  host: db.yaml
  port: 3307
  user: yaml_user
  database: yaml_db
  pool_size: 4
redis:
  host: redis.yaml
  port: 6380
kafka:
  bootstrap_file: /var/run/bootstrap
  partitions: 4
  fetch_wait_ms: 100
)");
  const Env env = {{"EMTIAZ_MYSQL_HOST", "db.env"}, {"EMTIAZ_REDIS_PORT", "6381"}, {"EMTIAZ_MYSQL_USER", ""}};
  const CommonConfig c = load_common_config(ConfigSource::load(yaml, env));
  EXPECT_EQ(c.mode, Mode::local);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.admin_port, 9100);
  EXPECT_EQ(c.port_file, std::optional<std::string>("/tmp/port"));
  EXPECT_EQ(c.mysql.host, "db.env");    // the environment wins
  EXPECT_EQ(c.mysql.port, 3307);
  EXPECT_EQ(c.mysql.user, "yaml_user");  // an empty variable does not override
  EXPECT_EQ(c.mysql.database, "yaml_db");
  EXPECT_EQ(c.mysql.pool_size, 4);
  EXPECT_EQ(c.redis.host, "redis.yaml");
  EXPECT_EQ(c.redis.port, 6381);
  EXPECT_EQ(c.kafka.bootstrap, std::nullopt);
  EXPECT_EQ(c.kafka.bootstrap_file, std::optional<std::string>("/var/run/bootstrap"));
  EXPECT_EQ(c.kafka.partitions, 4);
  EXPECT_EQ(c.kafka.fetch_wait_ms, 100);
}

TEST_F(ConfigTest, MalformedIntegerNamesKeyVariableRuleAndValue) {
  const auto message = config_error(
      [] { load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_MYSQL_PORT", "abc"))); });
  EXPECT_EQ(message, R"(config: mysql.port (EMTIAZ_MYSQL_PORT) must be an integer in 1..65535, got "abc")");
  for (const char* bad : {"70000", "0", "-1", "3306x", "33.06", "0x10", "99999999999999999999999"}) {
    config_error([&] { load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_MYSQL_PORT", bad))); },
                 "mysql.port (EMTIAZ_MYSQL_PORT) must be an integer in 1..65535");
  }
  // A value with a newline is still reported on one line.
  config_error([] { load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_REDIS_PORT", "1\n2"))); },
               R"(got "1\x0a2")");
}

TEST_F(ConfigTest, OutOfRangeFromYaml) {
  const std::string yaml = write("c.yaml", "mysql:\n  pool_size: 1000\n");
  config_error([&] { load_common_config(ConfigSource::load(yaml, minimal_env())); },
               R"(mysql.pool_size (EMTIAZ_MYSQL_POOL_SIZE) must be an integer in 1..256, got "1000")");
  config_error([] { load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_KAFKA_FETCH_WAIT_MS", "0"))); },
               R"(kafka.fetch_wait_ms (EMTIAZ_KAFKA_FETCH_WAIT_MS) must be an integer in 1..1000, got "0")");
}

TEST_F(ConfigTest, MissingRequiredValues) {
  config_error([] { load_common_config(ConfigSource::load(std::nullopt, without(minimal_env(), "EMTIAZ_MYSQL_USER"))); },
               "config: mysql.user (EMTIAZ_MYSQL_USER) is required");
  config_error([] { load_common_config(ConfigSource::load(std::nullopt, without(minimal_env(), "EMTIAZ_MYSQL_DATABASE"))); },
               "config: mysql.database (EMTIAZ_MYSQL_DATABASE) is required");
}

TEST_F(ConfigTest, KafkaNeedsExactlyOneBootstrapSource) {
  config_error([] { load_common_config(ConfigSource::load(std::nullopt, without(minimal_env(), "EMTIAZ_KAFKA_BOOTSTRAP"))); },
               "neither is set");
  config_error(
      [] {
        load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_KAFKA_BOOTSTRAP_FILE", "/x")));
      },
      "both are set");
}

TEST_F(ConfigTest, UnknownModeAndLogLevel) {
  config_error([] { load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_MODE", "staging"))); },
               R"(config: mode (EMTIAZ_MODE) must be local or production, got "staging")");
  config_error([] { load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_MODE", "LOCAL"))); },
               "mode (EMTIAZ_MODE)");
  config_error([] { load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_LOG_LEVEL", "loud"))); },
               "log_level (EMTIAZ_LOG_LEVEL)");
  EXPECT_EQ(load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_LOG_LEVEL", "WARN"))).log_level,
            "warn");
}

TEST_F(ConfigTest, SecretsInYamlAreRejected) {
  const std::string yaml = write("s.yaml", "mysql:\n  password: hunter2\n");
  const auto message = config_error([&] { load_common_config(ConfigSource::load(yaml, minimal_env())); },
                                    "mysql.password is a secret and must not be in the YAML file");
  EXPECT_NE(message.find("EMTIAZ_MYSQL_PASSWORD_FILE"), std::string::npos);
  EXPECT_EQ(message.find("hunter2"), std::string::npos);  // never echo a secret

  const std::string redis_yaml = write("r.yaml", "redis:\n  password: x\n");
  config_error([&] { load_common_config(ConfigSource::load(redis_yaml, minimal_env())); }, "redis.password");

  const std::string token_yaml = write("t.yaml", "admin_token: abc\n");
  config_error([&] { load_gateway_config(ConfigSource::load(token_yaml, with(minimal_env(), "EMTIAZ_MODE", "local"))); },
               "admin_token is a secret");
}

TEST_F(ConfigTest, SecretsFromTheEnvironmentOrAFile) {
  EXPECT_EQ(load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_MYSQL_PASSWORD", "pw"))).mysql.password,
            "pw");
  const std::string file = write("mysql_password", "from-file\n");
  EXPECT_EQ(
      load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_MYSQL_PASSWORD_FILE", file))).mysql.password,
      "from-file");
  const std::string redis_file = write("redis_password", "r3d1s");
  EXPECT_EQ(
      load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_REDIS_PASSWORD_FILE", redis_file))).redis.password,
      "r3d1s");

  Env both = with(with(minimal_env(), "EMTIAZ_MYSQL_PASSWORD", "pw"), "EMTIAZ_MYSQL_PASSWORD_FILE", file);
  config_error([&] { load_common_config(ConfigSource::load(std::nullopt, both)); },
               "EMTIAZ_MYSQL_PASSWORD and EMTIAZ_MYSQL_PASSWORD_FILE are both set");
  const std::string missing = (dir_ / "nope").string();
  config_error(
      [&] { load_common_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_MYSQL_PASSWORD_FILE", missing))); },
      "EMTIAZ_MYSQL_PASSWORD_FILE names");
}

TEST_F(ConfigTest, YamlProblems) {
  config_error([&] { ConfigSource::load((dir_ / "missing.yaml").string(), {}); }, "cannot read the YAML file");
  const std::string broken = write("broken.yaml", "mysql: [unclosed\n  host: x\n");
  config_error([&] { ConfigSource::load(broken, {}); }, "is not valid YAML");
  const std::string list = write("list.yaml", "mysql:\n  host: [a, b]\n");
  config_error([&] { ConfigSource::load(list, {}); }, "mysql.host in");
  const std::string scalar = write("scalar.yaml", "just a string\n");
  config_error([&] { ConfigSource::load(scalar, {}); }, "must be a YAML mapping");
  // An empty file or a null value is simply no configuration.
  const std::string empty = write("empty.yaml", "");
  EXPECT_EQ(load_common_config(ConfigSource::load(empty, minimal_env())).mysql.host, "127.0.0.1");
  const std::string nulls = write("nulls.yaml", "mysql:\n  host: ~\nredis:\n");
  EXPECT_EQ(load_common_config(ConfigSource::load(nulls, minimal_env())).mysql.host, "127.0.0.1");
}

TEST_F(ConfigTest, UnusedYamlKeysAreReported) {
  const std::string yaml = write("typo.yaml", "mysql:\n  hots: db\n  port: 3306\n");
  const ConfigSource source = ConfigSource::load(yaml, minimal_env());
  load_common_config(source);
  EXPECT_EQ(source.unused_yaml_keys(), std::vector<std::string>{"mysql.hots"});
}

TEST_F(ConfigTest, TypedGetters) {
  const std::string yaml = write("g.yaml", "a:\n  flag: yes\n  off: Off\n  n: 42\n  d1: 10s\n  d2: PT1M30S\n  d3: 250ms\n  d4: 1500\n");
  const ConfigSource s = ConfigSource::load(yaml, {{"EMTIAZ_A_BAD", "maybe"}, {"EMTIAZ_A_DBAD", "P1D"}, {"EMTIAZ_A_S", "text"}});
  EXPECT_TRUE(s.get_bool("a.flag"));
  EXPECT_FALSE(s.get_bool("a.off"));
  EXPECT_TRUE(s.get_bool("a.absent", true));
  config_error([&] { s.get_bool("a.bad"); }, R"(a.bad (EMTIAZ_A_BAD) must be true or false, got "maybe")");
  config_error([&] { s.get_bool("a.absent"); }, "a.absent (EMTIAZ_A_ABSENT) is required");
  EXPECT_EQ(s.get_int("a.n", 0, 100), 42);
  EXPECT_EQ(s.get_int("a.absent", 0, 100, 7), 7);
  config_error([&] { s.get_int("a.n", 0, 10); }, "must be an integer in 0..10, got \"42\"");
  EXPECT_EQ(s.get_duration_ms("a.d1", 0, 1'000'000), 10'000);
  EXPECT_EQ(s.get_duration_ms("a.d2", 0, 1'000'000), 90'000);
  EXPECT_EQ(s.get_duration_ms("a.d3", 0, 1'000'000), 250);
  EXPECT_EQ(s.get_duration_ms("a.d4", 0, 1'000'000), 1'500);
  EXPECT_EQ(s.get_duration_ms("a.absent", 0, 1'000'000, 5), 5);
  config_error([&] { s.get_duration_ms("a.dbad", 0, 1'000'000); }, "a.dbad (EMTIAZ_A_DBAD) must be a duration");
  config_error([&] { s.get_duration_ms("a.d1", 0, 1'000); }, "in 0..1000 ms");
  config_error([&] { s.get_duration_ms("a.s", 0, 1'000); }, R"(got "text")");
  EXPECT_EQ(s.get_string("a.s"), "text");
  EXPECT_EQ(s.get_string("a.absent", std::string("dflt")), "dflt");
  EXPECT_EQ(s.get_optional_string("a.absent"), std::nullopt);
  EXPECT_EQ(s.get_secret("a.absent"), std::nullopt);
}

TEST_F(ConfigTest, GatewayDefaults) {
  const GatewayConfig g =
      load_gateway_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_ADMIN_TOKEN", "adm_token_1")));
  EXPECT_EQ(g.admin_token, "adm_token_1");
  EXPECT_FALSE(g.admin_token_generated);
  EXPECT_EQ(g.http_port, 8080);
  EXPECT_EQ(g.request_timeout_ms, 10'000);
  EXPECT_EQ(g.command_timeout_ms, 5'000);
  EXPECT_EQ(g.body_limit_bytes, 1 << 20);
  EXPECT_EQ(g.header_limit_bytes, 8 << 10);
  EXPECT_EQ(g.max_connections, 10'000);
  EXPECT_GE(g.threads, 1);
  EXPECT_EQ(g.queue_limit, 512);
  EXPECT_EQ(g.queue_wait_ms, 2'000);
  EXPECT_EQ(g.mysql.user, "emtiaz");
}

TEST_F(ConfigTest, GatewayOverrides) {
  Env env = with(minimal_env(), "EMTIAZ_ADMIN_TOKEN", "t");
  env["EMTIAZ_HTTP_PORT"] = "0";
  env["EMTIAZ_GATEWAY_REQUEST_TIMEOUT_MS"] = "20s";
  env["EMTIAZ_GATEWAY_COMMAND_TIMEOUT_MS"] = "1500";
  env["EMTIAZ_GATEWAY_THREADS"] = "3";
  env["EMTIAZ_GATEWAY_BODY_LIMIT_BYTES"] = "2048";
  env["EMTIAZ_GATEWAY_QUEUE_LIMIT"] = "64";
  env["EMTIAZ_GATEWAY_QUEUE_WAIT_MS"] = "1500ms";
  const GatewayConfig g = load_gateway_config(ConfigSource::load(std::nullopt, env));
  EXPECT_EQ(g.queue_limit, 64);
  EXPECT_EQ(g.queue_wait_ms, 1'500);
  EXPECT_EQ(g.http_port, 0);
  EXPECT_EQ(g.request_timeout_ms, 20'000);
  EXPECT_EQ(g.command_timeout_ms, 1'500);
  EXPECT_EQ(g.threads, 3);
  EXPECT_EQ(g.body_limit_bytes, 2048);

  env["EMTIAZ_GATEWAY_COMMAND_TIMEOUT_MS"] = "30000";
  config_error([&] { load_gateway_config(ConfigSource::load(std::nullopt, env)); },
               "gateway.command_timeout_ms (EMTIAZ_GATEWAY_COMMAND_TIMEOUT_MS) must not exceed");
  env["EMTIAZ_GATEWAY_COMMAND_TIMEOUT_MS"] = "1000";
  env["EMTIAZ_HTTP_PORT"] = "65536";
  config_error([&] { load_gateway_config(ConfigSource::load(std::nullopt, env)); }, "http_port (EMTIAZ_HTTP_PORT)");
}

TEST_F(ConfigTest, GatewayAdminToken) {
  // Outside local mode the token is required.
  config_error([] { load_gateway_config(ConfigSource::load(std::nullopt, minimal_env())); },
               "EMTIAZ_ADMIN_TOKEN is required outside local mode");
  config_error([] { load_gateway_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_MODE", "production"))); },
               "EMTIAZ_ADMIN_TOKEN is required outside local mode");
  // Local mode generates one and says so.
  const GatewayConfig local =
      load_gateway_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_MODE", "local")));
  EXPECT_TRUE(local.admin_token_generated);
  EXPECT_TRUE(local.admin_token.starts_with("emz_admin_"));
  EXPECT_GE(local.admin_token.size(), 40u);
  // Given tokens are used, from the variable or a file.
  const std::string file = write("admin_token", "file-token\n");
  const GatewayConfig from_file = load_gateway_config(
      ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_ADMIN_TOKEN_FILE", file)));
  EXPECT_EQ(from_file.admin_token, "file-token");
  EXPECT_FALSE(from_file.admin_token_generated);
  config_error(
      [] { load_gateway_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_ADMIN_TOKEN", "two words"))); },
      "EMTIAZ_ADMIN_TOKEN must be visible ASCII");
  // An empty variable counts as unset: outside local mode that is refused (never an empty admin token).
  config_error(
      [] {
        load_gateway_config(ConfigSource::load(
            std::nullopt, with(with(minimal_env(), "EMTIAZ_MODE", "production"), "EMTIAZ_ADMIN_TOKEN", "")));
      },
      "EMTIAZ_ADMIN_TOKEN is required outside local mode");
  // An empty token file is refused in every mode.
  const std::string empty_file = write("empty_admin_token", "\n");
  for (const char* mode : {"production", "local"}) {
    config_error(
        [&] {
          load_gateway_config(ConfigSource::load(std::nullopt, with(with(minimal_env(), "EMTIAZ_MODE", mode),
                                                                    "EMTIAZ_ADMIN_TOKEN_FILE", empty_file)));
        },
        "EMTIAZ_ADMIN_TOKEN");
  }
}

TEST_F(ConfigTest, WalletAndClearing) {
  const WalletConfig w = load_wallet_config(ConfigSource::load(std::nullopt, minimal_env()));
  EXPECT_EQ(w.batch_size_max, 256);
  EXPECT_EQ(w.batch_wait_ms, 2);
  EXPECT_EQ(w.timer_interval_ms, 200);
  EXPECT_EQ(w.watermark_interval_ms, 500);
  EXPECT_EQ(w.appliers, 2);
  EXPECT_EQ(w.admin_port, 0);

  const std::string yaml = write("w.yaml", "admin_port: 9200\nwallet:\n  batch_size_max: 64\n  batch_wait_ms: 0\n");
  const WalletConfig w2 = load_wallet_config(ConfigSource::load(yaml, with(minimal_env(), "EMTIAZ_WALLET_TIMER_INTERVAL_MS", "1s")));
  EXPECT_EQ(w2.admin_port, 9200);
  EXPECT_EQ(w2.batch_size_max, 64);
  EXPECT_EQ(w2.batch_wait_ms, 0);
  EXPECT_EQ(w2.timer_interval_ms, 1000);
  EXPECT_EQ(load_wallet_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_WALLET_APPLIERS", "1"))).appliers, 1);
  config_error([] { load_wallet_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_WALLET_APPLIERS", "17"))); },
               "wallet.appliers (EMTIAZ_WALLET_APPLIERS) must be an integer in 1..16");
  config_error([] { load_wallet_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_WALLET_BATCH_SIZE_MAX", "0"))); },
               "wallet.batch_size_max (EMTIAZ_WALLET_BATCH_SIZE_MAX) must be an integer in 1..10000");

  const ClearingConfig c = load_clearing_config(ConfigSource::load(std::nullopt, with(minimal_env(), "EMTIAZ_ADMIN_PORT", "9300")));
  EXPECT_EQ(c.admin_port, 9300);
  // Wallet and clearing need no admin token, whatever the mode.
  EXPECT_NO_THROW(load_clearing_config(ConfigSource::load(std::nullopt, minimal_env())));
}

TEST_F(ConfigTest, FromTheProcessEnvironment) {
  // Keys no real deployment sets, so that EMTIAZ_* variables of the surrounding test run cannot interfere.
  const std::string yaml = write("p.yaml", "unit_test_only:\n  name: from-yaml\n  port: 1\n");
  ::setenv("EMTIAZ_CONFIG", yaml.c_str(), 1);
  ::setenv("EMTIAZ_UNIT_TEST_ONLY_PORT", "4406", 1);
  const ConfigSource source = ConfigSource::from_process_environment();
  ::unsetenv("EMTIAZ_CONFIG");
  ::unsetenv("EMTIAZ_UNIT_TEST_ONLY_PORT");
  EXPECT_EQ(source.get_string("unit_test_only.name"), "from-yaml");
  EXPECT_EQ(source.get_int("unit_test_only.port", 1, 65535), 4406);
  EXPECT_EQ(source.yaml_path(), yaml);
}

}  // namespace
}  // namespace emtiaz
