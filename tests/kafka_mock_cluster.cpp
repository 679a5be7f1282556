// Hosts librdkafka's built-in mock Kafka cluster for the Kafka source tests, in a process of its
// own so that independent clients (kcat, ldh consumers) reach it over TCP like a real cluster.
//
//   kafka_mock_cluster [--brokers N] [--until-signal] [--rtt MS] [--produce-errors N:CODE]
//                      TOPIC:PARTITIONS...
//
// Creates the cluster and the topics, prints the bootstrap address (host:port,...) on one line
// of stdout, and serves until stdin closes or SIGTERM/SIGINT arrives (with --until-signal, only
// a signal ends it, for parents that give it no stdin). For the sink tests' failures: SIGUSR1
// takes every broker down (connections cut and refused) and prints "DOWN", SIGUSR2 brings them
// back and prints "UP"; --rtt delays every broker's responses; --produce-errors answers the
// first N Produce requests with Kafka error CODE.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

// The Kafka protocol's ProduceRequest key.
constexpr std::int16_t kProduceApiKey = 0;

volatile std::sig_atomic_t quit = 0;
// 1: take the brokers down, 2: bring them up; set by SIGUSR1 / SIGUSR2, served by serve().
volatile std::sig_atomic_t broker_change = 0;

void on_signal(int) {
  quit = 1;
}

void on_broker_signal(int number) {
  broker_change = number == SIGUSR1 ? 1 : 2;
}

int usage() {
  std::fputs(
      "usage: kafka_mock_cluster [--brokers N] [--until-signal] [--rtt MS] "
      "[--produce-errors N:CODE] TOPIC:PARTITIONS...\n",
      stderr);
  return 2;
}

/// Takes brokers down or up when a signal asked for it, and says so on stdout.
void change_brokers(rd_kafka_mock_cluster_t* cluster, int brokers) {
  const int change = broker_change;
  if (change == 0) return;
  broker_change = 0;
  for (int id = 1; id <= brokers; ++id) {
    if (change == 1) {
      rd_kafka_mock_broker_set_down(cluster, id);
    } else {
      rd_kafka_mock_broker_set_up(cluster, id);
    }
  }
  std::printf("%s\n", change == 1 ? "DOWN" : "UP");
  std::fflush(stdout);
}

/// Waits until stdin reaches its end (or fails, unless `until_signal`) or a signal asks to quit.
void serve(rd_kafka_mock_cluster_t* cluster, int brokers, bool until_signal) {
  char buffer[256];
  while (quit == 0) {
    change_brokers(cluster, brokers);
    if (until_signal) {
      ::poll(nullptr, 0, 100);
      continue;
    }
    pollfd ready{STDIN_FILENO, POLLIN, 0};
    int polled = ::poll(&ready, 1, 100);
    if (polled < 0 && errno != EINTR) return;
    if (polled <= 0) continue;
    ssize_t got = ::read(STDIN_FILENO, buffer, sizeof(buffer));
    if (got == 0 || (got < 0 && errno != EINTR)) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  bool until_signal = false;
  int rtt_ms = 0;
  int produce_errors = 0;
  int produce_error_code = 0;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--brokers" && i + 1 < argc) {
      brokers = std::atoi(argv[++i]);
      if (brokers < 1) return usage();
      continue;
    }
    if (argument == "--until-signal") {
      until_signal = true;
      continue;
    }
    if (argument == "--rtt" && i + 1 < argc) {
      rtt_ms = std::atoi(argv[++i]);
      if (rtt_ms < 0) return usage();
      continue;
    }
    if (argument == "--produce-errors" && i + 1 < argc) {
      if (std::sscanf(argv[++i], "%d:%d", &produce_errors, &produce_error_code) != 2 ||
          produce_errors < 0) {
        return usage();
      }
      continue;
    }
    auto colon = argument.rfind(':');
    if (colon == std::string::npos || colon == 0) return usage();
    int partitions = std::atoi(argument.c_str() + colon + 1);
    if (partitions < 1) return usage();
    topics.emplace_back(argument.substr(0, colon), partitions);
  }

  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  struct sigaction broker_action {};
  broker_action.sa_handler = on_broker_signal;
  sigaction(SIGUSR1, &broker_action, nullptr);
  sigaction(SIGUSR2, &broker_action, nullptr);

  char reason[512];
  rd_kafka_conf_t* settings = rd_kafka_conf_new();
  // The handle only carries the cluster; keep its own chatter quiet.
  rd_kafka_conf_set(settings, "log_level", "3", reason, sizeof(reason));
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, settings, reason, sizeof(reason));
  if (handle == nullptr) {
    std::fprintf(stderr, "kafka_mock_cluster: %s\n", reason);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, brokers);
  if (cluster == nullptr) {
    std::fputs("kafka_mock_cluster: cannot create the mock cluster\n", stderr);
    rd_kafka_destroy(handle);
    return 1;
  }
  for (const auto& [topic, partitions] : topics) {
    rd_kafka_resp_err_t error =
        rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, std::min(brokers, 3));
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "kafka_mock_cluster: cannot create topic %s: %s\n", topic.c_str(),
                   rd_kafka_err2str(error));
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(handle);
      return 1;
    }
  }
  for (int id = 1; id <= brokers && rtt_ms > 0; ++id) {
    rd_kafka_mock_broker_set_rtt(cluster, id, rtt_ms);
  }
  if (produce_errors > 0) {
    std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(produce_errors),
                                            static_cast<rd_kafka_resp_err_t>(produce_error_code));
    rd_kafka_mock_push_request_errors_array(cluster, kProduceApiKey, errors.size(), errors.data());
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);
  serve(cluster, brokers, until_signal);
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(handle);
  return 0;
}
