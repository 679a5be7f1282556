#pragma once

// Runs tests/kafka_mock_cluster (librdkafka's mock cluster in a process of its own, so kcat and
// ldh reach it over TCP like a real cluster) for one test, and stops it at the end.

#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "child_process.h"

namespace ldh::testing {

class MockCluster {
 public:
  /// Starts the cluster with `topics` ("name:partitions") and extra program `options`; an
  /// empty bootstrap() says it did not start.
  explicit MockCluster(const std::vector<std::string>& topics,
                       const std::vector<std::string>& options = {}) {
    std::vector<std::string> argv = {LDH_KAFKA_MOCK_CLUSTER, "--until-signal"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), topics.begin(), topics.end());
    process_ = std::make_unique<ChildProcess>(argv);
    if (const auto line = process_->read_line(kPatience)) bootstrap_ = *line;
  }

  const std::string& bootstrap() const { return bootstrap_; }

  /// Cuts every broker's connections and refuses new ones until up().
  bool down() { return signal(SIGUSR1, "DOWN"); }
  bool up() { return signal(SIGUSR2, "UP"); }

 private:
  static constexpr std::chrono::milliseconds kPatience{20000};

  bool signal(int number, const std::string& answer) {
    ::kill(process_->pid(), number);
    const auto line = process_->read_line(kPatience);
    return line && *line == answer;
  }

  std::unique_ptr<ChildProcess> process_;
  std::string bootstrap_;
};

}  // namespace ldh::testing
