#include "common/config.hpp"

#include "common/crypto.hpp"
#include "common/time.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace emtiaz {
namespace {

constexpr std::string_view kEnvPrefix = "EMTIAZ_";

// Values are echoed in messages, which must stay one line and short.
std::string quoted(std::string_view value) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (char c : value) {
    if (shown++ == 64) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "mysql.port (EMTIAZ_MYSQL_PORT)"
std::string describe(std::string_view key) { return fmt::format("{} ({})", key, config_env_name(key)); }

std::optional<std::int64_t> parse_int(std::string_view text) {
  text = trim(text);
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (text[0] == 'P') {
    const auto d = parse_iso_duration(text);
    if (!d || d->years != 0 || d->months != 0 || d->days != 0) return std::nullopt;
    return (static_cast<std::int64_t>(d->hours) * 3600 + static_cast<std::int64_t>(d->minutes) * 60 + d->seconds) * 1000;
  }
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  const auto number = parse_int(text.substr(0, digits));
  if (digits == 0 || !number) return std::nullopt;
  const std::string_view unit = trim(text.substr(digits));
  if (unit.empty() || unit == "ms") return number;
  if (unit == "s") return checked_mul(*number, 1000);
  if (unit == "m") return checked_mul(*number, 60'000);
  if (unit == "h") return checked_mul(*number, 3'600'000);
  return std::nullopt;
}

void flatten(const YAML::Node& node, const std::string& prefix, const std::string& path,
             std::map<std::string, std::string, std::less<>>& out) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return;
    case YAML::NodeType::Scalar:
      if (prefix.empty()) throw ConfigError(fmt::format("config: {} must be a YAML mapping", path));
      out[prefix] = node.Scalar();
      return;
    case YAML::NodeType::Sequence:
      throw ConfigError(fmt::format("config: {} in {} is a list; a single value is expected",
                                    prefix.empty() ? std::string("the document") : prefix, path));
    case YAML::NodeType::Map:
      for (const auto& entry : node) {
        const std::string key = entry.first.Scalar();
        if (key.empty() || key.find('.') != std::string::npos) {
          throw ConfigError(fmt::format("config: bad key {} in {}", quoted(key), path));
        }
        flatten(entry.second, prefix.empty() ? key : prefix + "." + key, path, out);
      }
      return;
  }
}

std::string read_secret_file(const std::string& variable, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("config: {} names {}, which cannot be read", variable, quoted(file)));
  std::ostringstream content;
  content << in.rdbuf();
  std::string value = content.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

}  // namespace

std::string config_env_name(std::string_view key) {
  std::string out(kEnvPrefix);
  for (char c : key) {
    out += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

ConfigSource ConfigSource::load(const std::optional<std::string>& yaml_path,
                                const std::map<std::string, std::string>& env) {
  ConfigSource source;
  for (const auto& [name, value] : env) {
    if (!value.empty()) source.env_.emplace(name, value);
  }
  if (yaml_path) {
    source.yaml_path_ = *yaml_path;
    YAML::Node root;
    try {
      root = YAML::LoadFile(*yaml_path);
    } catch (const YAML::BadFile&) {
      throw ConfigError(fmt::format("config: cannot read the YAML file {} (EMTIAZ_CONFIG)", quoted(*yaml_path)));
    } catch (const YAML::Exception& e) {
      throw ConfigError(one_line(fmt::format("config: {} is not valid YAML: {}", *yaml_path, e.what())));
    }
    flatten(root, "", *yaml_path, source.yaml_);
  }
  return source;
}

ConfigSource ConfigSource::from_process_environment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || !text.starts_with(kEnvPrefix)) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  std::optional<std::string> yaml_path;
  if (auto it = env.find("EMTIAZ_CONFIG"); it != env.end() && !it->second.empty()) yaml_path = it->second;
  return load(yaml_path, env);
}

std::optional<std::string> ConfigSource::find(std::string_view key) const {
  asked_.emplace(key);
  if (auto it = env_.find(config_env_name(key)); it != env_.end()) return it->second;
  if (auto it = yaml_.find(key); it != yaml_.end() && !it->second.empty()) return it->second;
  return std::nullopt;
}

std::string ConfigSource::get_string(std::string_view key, const std::optional<std::string>& default_value) const {
  if (auto value = find(key)) return *value;
  if (default_value) return *default_value;
  throw ConfigError(fmt::format("config: {} is required", describe(key)));
}

std::optional<std::string> ConfigSource::get_optional_string(std::string_view key) const { return find(key); }

std::int64_t ConfigSource::get_int(std::string_view key, std::int64_t min, std::int64_t max,
                                   std::optional<std::int64_t> default_value) const {
  const auto text = find(key);
  if (!text) {
    if (default_value) return *default_value;
    throw ConfigError(fmt::format("config: {} is required (an integer in {}..{})", describe(key), min, max));
  }
  const auto value = parse_int(*text);
  if (!value || *value < min || *value > max) {
    throw ConfigError(fmt::format("config: {} must be an integer in {}..{}, got {}", describe(key), min, max, quoted(*text)));
  }
  return *value;
}

bool ConfigSource::get_bool(std::string_view key, std::optional<bool> default_value) const {
  const auto text = find(key);
  if (!text) {
    if (default_value) return *default_value;
    throw ConfigError(fmt::format("config: {} is required (true or false)", describe(key)));
  }
  const std::string v = lower(trim(*text));
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  throw ConfigError(fmt::format("config: {} must be true or false, got {}", describe(key), quoted(*text)));
}

std::int64_t ConfigSource::get_duration_ms(std::string_view key, std::int64_t min_ms, std::int64_t max_ms,
                                           std::optional<std::int64_t> default_value) const {
  const auto text = find(key);
  if (!text) {
    if (default_value) return *default_value;
    throw ConfigError(fmt::format("config: {} is required (a duration in {}..{} ms)", describe(key), min_ms, max_ms));
  }
  const auto value = parse_duration_ms(*text);
  if (!value || *value < min_ms || *value > max_ms) {
    throw ConfigError(fmt::format(
        "config: {} must be a duration in {}..{} ms (e.g. 2500, 250ms, 10s, PT10S), got {}", describe(key), min_ms,
        max_ms, quoted(*text)));
  }
  return *value;
}

std::optional<std::string> ConfigSource::get_secret(std::string_view key) const {
  asked_.emplace(key);
  const std::string variable = config_env_name(key);
  const std::string file_variable = variable + "_FILE";
  if (yaml_.contains(key)) {
    throw ConfigError(fmt::format("config: {} is a secret and must not be in the YAML file {}; set {} or {}", key,
                                  yaml_path_, variable, file_variable));
  }
  const auto direct = env_.find(variable);
  const auto file = env_.find(file_variable);
  if (direct != env_.end() && file != env_.end()) {
    throw ConfigError(fmt::format("config: {} and {} are both set; set only one", variable, file_variable));
  }
  if (direct != env_.end()) return direct->second;
  if (file != env_.end()) return read_secret_file(file_variable, file->second);
  return std::nullopt;
}

std::vector<std::string> ConfigSource::unused_yaml_keys() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : yaml_) {
    if (!asked_.contains(key)) out.push_back(key);
  }
  return out;
}

std::string_view format_mode(Mode mode) { return mode == Mode::local ? "local" : "production"; }

CommonConfig load_common_config(const ConfigSource& source) {
  CommonConfig c;

  const std::string mode = source.get_string("mode", "production");
  if (mode == "local") {
    c.mode = Mode::local;
  } else if (mode == "production") {
    c.mode = Mode::production;
  } else {
    throw ConfigError(fmt::format("config: {} must be local or production, got {}", describe("mode"), quoted(mode)));
  }

  c.log_level = lower(source.get_string("log_level", "info"));
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), c.log_level) == std::end(kLevels)) {
    throw ConfigError(fmt::format("config: {} must be one of trace, debug, info, warn, error, critical, off, got {}",
                                  describe("log_level"), quoted(c.log_level)));
  }
  c.admin_port = static_cast<int>(source.get_int("admin_port", 0, 65535, 0));
  c.port_file = source.get_optional_string("port_file");

  c.mysql.host = source.get_string("mysql.host", c.mysql.host);
  c.mysql.port = static_cast<int>(source.get_int("mysql.port", 1, 65535, c.mysql.port));
  c.mysql.user = source.get_string("mysql.user");
  c.mysql.password = source.get_secret("mysql.password").value_or("");
  c.mysql.database = source.get_string("mysql.database");
  c.mysql.pool_size = static_cast<int>(source.get_int("mysql.pool_size", 1, 256, c.mysql.pool_size));

  c.redis.host = source.get_string("redis.host", c.redis.host);
  c.redis.port = static_cast<int>(source.get_int("redis.port", 1, 65535, c.redis.port));
  c.redis.password = source.get_secret("redis.password").value_or("");

  c.kafka.bootstrap = source.get_optional_string("kafka.bootstrap");
  c.kafka.bootstrap_file = source.get_optional_string("kafka.bootstrap_file");
  if (c.kafka.bootstrap.has_value() == c.kafka.bootstrap_file.has_value()) {
    throw ConfigError(fmt::format("config: set exactly one of {} and {} ({})", describe("kafka.bootstrap"),
                                  describe("kafka.bootstrap_file"),
                                  c.kafka.bootstrap ? "both are set" : "neither is set"));
  }
  c.kafka.commands_topic = source.get_string("kafka.commands_topic", c.kafka.commands_topic);
  c.kafka.replies_topic = source.get_string("kafka.replies_topic", c.kafka.replies_topic);
  c.kafka.ledger_topic = source.get_string("kafka.ledger_topic", c.kafka.ledger_topic);
  c.kafka.partitions = static_cast<int>(source.get_int("kafka.partitions", 1, 1024, c.kafka.partitions));
  c.kafka.fetch_wait_ms = static_cast<int>(source.get_int("kafka.fetch_wait_ms", 1, 1000, c.kafka.fetch_wait_ms));
  return c;
}

GatewayConfig load_gateway_config(const ConfigSource& source) {
  GatewayConfig g;
  static_cast<CommonConfig&>(g) = load_common_config(source);
  g.http_port = static_cast<int>(source.get_int("http_port", 0, 65535, g.http_port));

  if (auto token = source.get_secret("admin_token")) {
    // The token travels in "Authorization: Bearer <token>": anything but visible ASCII would never match.
    const bool printable = std::all_of(token->begin(), token->end(), [](char ch) { return ch > 0x20 && ch < 0x7F; });
    if (!printable) {
      throw ConfigError("config: EMTIAZ_ADMIN_TOKEN must be visible ASCII characters only (no spaces)");
    }
    // Set but empty (EMTIAZ_ADMIN_TOKEN= or an empty file) is a mistake, never "no admin token".
    if (token->empty()) throw ConfigError("config: EMTIAZ_ADMIN_TOKEN is set but empty; set a token or unset it");
    g.admin_token = *token;
  } else if (g.mode == Mode::local) {
    g.admin_token = random_token("emz_admin_", 32);
    g.admin_token_generated = true;
  } else {
    throw ConfigError(fmt::format(
        "config: EMTIAZ_ADMIN_TOKEN is required outside local mode (mode is {}); set it or EMTIAZ_ADMIN_TOKEN_FILE",
        format_mode(g.mode)));
  }

  g.request_timeout_ms = source.get_duration_ms("gateway.request_timeout_ms", 1, 600'000, g.request_timeout_ms);
  g.command_timeout_ms = source.get_duration_ms("gateway.command_timeout_ms", 1, 600'000, g.command_timeout_ms);
  if (g.command_timeout_ms > g.request_timeout_ms) {
    throw ConfigError(fmt::format("config: {} must not exceed gateway.request_timeout_ms ({} ms), got {} ms",
                                  describe("gateway.command_timeout_ms"), g.request_timeout_ms, g.command_timeout_ms));
  }
  g.body_limit_bytes = source.get_int("gateway.body_limit_bytes", 1024, std::int64_t{64} << 20, g.body_limit_bytes);
  g.header_limit_bytes = source.get_int("gateway.header_limit_bytes", 1024, std::int64_t{1} << 20, g.header_limit_bytes);
  g.max_connections = static_cast<int>(source.get_int("gateway.max_connections", 1, 1'000'000, g.max_connections));
  // Two I/O threads per core: an earn tried on an I/O thread waits there for its Redis reservation, and while
  // one thread waits another serves (when balance reads waited likewise for their GET, reads at 10,000/s
  // offered on 2 cores: 9,957/s answered with 4 threads, p50 258 ms of queueing at 9,000/s with 2; they no
  // longer wait, common/async_redis.hpp; docs/performance-log.md, fifth session).
  const int hardware = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  g.threads = static_cast<int>(source.get_int("gateway.threads", 1, 1024, 2 * hardware));
  g.queue_limit = static_cast<int>(source.get_int("gateway.queue_limit", 1, 1'000'000, g.queue_limit));
  g.queue_wait_ms = source.get_duration_ms("gateway.queue_wait_ms", 1, 600'000, g.queue_wait_ms);
  return g;
}

WalletConfig load_wallet_config(const ConfigSource& source) {
  WalletConfig w;
  static_cast<CommonConfig&>(w) = load_common_config(source);
  w.batch_size_max = static_cast<int>(source.get_int("wallet.batch_size_max", 1, 10'000, w.batch_size_max));
  w.batch_wait_ms = source.get_duration_ms("wallet.batch_wait_ms", 0, 1'000, w.batch_wait_ms);
  w.timer_interval_ms = source.get_duration_ms("wallet.timer_interval_ms", 1, 60'000, w.timer_interval_ms);
  w.watermark_interval_ms = source.get_duration_ms("wallet.watermark_interval_ms", 1, 60'000, w.watermark_interval_ms);
  w.appliers = static_cast<int>(source.get_int("wallet.appliers", 1, 16, w.appliers));
  w.command_retention_hours =
      source.get_int("wallet.command_retention_hours", 25, 24 * 3650, w.command_retention_hours);
  w.outbox_retention_hours = source.get_int("wallet.outbox_retention_hours", 1, 24 * 3650, w.outbox_retention_hours);
  return w;
}

ClearingConfig load_clearing_config(const ConfigSource& source) {
  ClearingConfig c;
  static_cast<CommonConfig&>(c) = load_common_config(source);
  return c;
}

}  // namespace emtiaz
