// emtiaz-devbroker: librdkafka's mock cluster (a real Kafka-protocol broker, in memory) on loopback, for the
// local network and the tests. Its brokers bind ephemeral ports, so it writes its bootstrap list to a file
// that the services read (EMTIAZ_KAFKA_BOOTSTRAP_FILE); it creates the topics with the partition counts the
// services expect (the mock has no CreateTopics API and would auto-create topics with 4 partitions).
//
//   emtiaz-devbroker [--bootstrap-file PATH] [--topics NAME:PARTITIONS,...] [--brokers N]
//
// Runs until SIGINT/SIGTERM, then removes the bootstrap file and exits 0.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

constexpr std::string_view kDefaultTopics = "emtiaz.commands:16,emtiaz.replies:16,emtiaz.ledger:16";

struct TopicSpec {
    std::string name;
    int partitions = 0;
};

struct Options {
    std::string bootstrap_file;
    std::vector<TopicSpec> topics;
    int brokers = 1;
};

void usage(std::ostream& out) {
    out << "usage: emtiaz-devbroker [--bootstrap-file PATH] [--topics NAME:PARTITIONS,...] [--brokers N]\n"
           "  --bootstrap-file PATH  write the bootstrap list here (atomically) once the cluster is up\n"
           "  --topics LIST          topics to create (default "
        << kDefaultTopics
        << ")\n"
           "  --brokers N            number of mock brokers (default 1)\n";
}

int parse_positive(std::string_view text, std::string_view what) {
    if (text.empty() || text.size() > 6) {
        throw std::invalid_argument("invalid " + std::string(what) + ": '" + std::string(text) + "'");
    }
    int value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            throw std::invalid_argument("invalid " + std::string(what) + ": '" + std::string(text) + "'");
        }
        value = value * 10 + (c - '0');
    }
    if (value <= 0) {
        throw std::invalid_argument(std::string(what) + " must be positive");
    }
    return value;
}

std::vector<TopicSpec> parse_topics(std::string_view list) {
    std::vector<TopicSpec> topics;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (item.empty()) {
            continue;
        }
        const auto colon = item.rfind(':');
        if (colon == std::string_view::npos || colon == 0) {
            throw std::invalid_argument("topic '" + std::string(item) + "' is not NAME:PARTITIONS");
        }
        topics.push_back({std::string(item.substr(0, colon)), parse_positive(item.substr(colon + 1), "partitions")});
    }
    return topics;
}

// Returns nullopt when the program should exit successfully (--help).
std::optional<Options> parse_args(int argc, char** argv) {
    Options options;
    options.topics = parse_topics(kDefaultTopics);
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&](std::string_view name) -> std::string_view {
            const std::string prefix = std::string(name) + "=";
            if (arg.starts_with(prefix)) {
                return arg.substr(prefix.size());
            }
            if (i + 1 >= argc) {
                throw std::invalid_argument(std::string(name) + " needs a value");
            }
            return argv[++i];
        };
        auto is = [&](std::string_view name) { return arg == name || arg.starts_with(std::string(name) + "="); };
        if (arg == "-h" || arg == "--help") {
            usage(std::cout);
            return std::nullopt;
        } else if (is("--bootstrap-file")) {
            options.bootstrap_file = std::string(value("--bootstrap-file"));
        } else if (is("--topics")) {
            options.topics = parse_topics(value("--topics"));
        } else if (is("--brokers")) {
            options.brokers = parse_positive(value("--brokers"), "--brokers");
        } else {
            throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
        }
    }
    return options;
}

// Write via a temporary file in the same folder and rename(2), so a reader never sees a partial list.
void write_atomically(const std::string& path, const std::string& content) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
        }
        out << content << '\n';
        out.flush();
        if (!out) {
            throw std::runtime_error("cannot write " + tmp);
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(err));
    }
}

// librdkafka's own log lines (the hosting handle has no bootstrap servers, which it would otherwise report).
void log_callback(const rd_kafka_t*, int level, const char* facility, const char* message) {
    if (level <= 4) {
        std::fprintf(stderr, "emtiaz-devbroker: rdkafka %s: %s\n", facility, message);
    }
}

class Broker {
public:
    explicit Broker(const Options& options) {
        char errstr[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set_log_cb(conf, log_callback);
        // The handle only hosts the cluster; keep it quiet and idle.
        if (rd_kafka_conf_set(conf, "client.id", "emtiaz-devbroker", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error(errstr);
        }
        rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);  // takes conf on success
        if (rk_ == nullptr) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error(std::string("rd_kafka_new: ") + errstr);
        }
        cluster_ = rd_kafka_mock_cluster_new(rk_, options.brokers);
        if (cluster_ == nullptr) {
            throw std::runtime_error("rd_kafka_mock_cluster_new failed");
        }
        // One thread per topic: each call waits for the mock cluster's thread, which (in 2.0.2) serves a second
        // request from the same caller only after its 1 s poll interval; concurrent requests are served at once.
        const int replication = options.brokers < 3 ? options.brokers : 3;
        std::vector<rd_kafka_resp_err_t> results(options.topics.size(), RD_KAFKA_RESP_ERR_NO_ERROR);
        {
            std::vector<std::jthread> creators;
            for (std::size_t i = 0; i < options.topics.size(); ++i) {
                creators.emplace_back([this, &options, &results, replication, i] {
                    const auto& topic = options.topics[i];
                    results[i] = rd_kafka_mock_topic_create(cluster_, topic.name.c_str(), topic.partitions, replication);
                });
            }
        }
        for (std::size_t i = 0; i < options.topics.size(); ++i) {
            if (results[i] != RD_KAFKA_RESP_ERR_NO_ERROR) {
                throw std::runtime_error("cannot create topic " + options.topics[i].name + ": " +
                                         rd_kafka_err2str(results[i]));
            }
        }
        bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    }

    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    ~Broker() {
        if (cluster_ != nullptr) {
            rd_kafka_mock_cluster_destroy(cluster_);
        }
        if (rk_ != nullptr) {
            rd_kafka_destroy(rk_);
        }
    }

    const std::string& bootstraps() const { return bootstraps_; }

private:
    rd_kafka_t* rk_ = nullptr;
    rd_kafka_mock_cluster_t* cluster_ = nullptr;
    std::string bootstraps_;
};

}  // namespace

int main(int argc, char** argv) {
    std::optional<Options> options;
    try {
        options = parse_args(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "emtiaz-devbroker: " << e.what() << '\n';
        usage(std::cerr);
        return 2;
    }
    if (!options) {
        return 0;
    }

    // Block the stop signals before librdkafka starts its threads (they inherit the mask); the main thread
    // waits for them synchronously.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    try {
        Broker broker(*options);
        if (!options->bootstrap_file.empty()) {
            write_atomically(options->bootstrap_file, broker.bootstraps());
        }
        std::string topics;
        for (const auto& topic : options->topics) {
            topics += (topics.empty() ? "" : ",") + topic.name + ":" + std::to_string(topic.partitions);
        }
        std::cout << "emtiaz-devbroker: ready bootstrap=" << broker.bootstraps() << " brokers=" << options->brokers
                  << " topics=" << topics << " pid=" << ::getpid()
                  << (options->bootstrap_file.empty() ? "" : " file=" + options->bootstrap_file) << std::endl;

        int signal_number = 0;
        while (sigwait(&stop_signals, &signal_number) != 0) {
        }
        std::cout << "emtiaz-devbroker: stopping on signal " << signal_number << std::endl;
        if (!options->bootstrap_file.empty()) {
            std::remove(options->bootstrap_file.c_str());
        }
        // Everything lives in memory and goes with the process; destroying the mock cluster would only wait
        // for its thread's 1 s poll interval.
        std::_Exit(0);
    } catch (const std::exception& e) {
        std::cerr << "emtiaz-devbroker: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
