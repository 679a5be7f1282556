// Several live sources in one pipeline, each holding the watermark back on its own: the product
// description's Kafka source plus WebSocket source, and one Kafka topic whose partitions are far
// apart in event time. Peers are real: librdkafka's mock cluster fed by kcat, and a
// python3-websockets server.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "child_process.h"
#include "host/executor.h"
#include "kafka_mock_cluster.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using std::chrono::milliseconds;
using testing::ChildProcess;
using testing::MockCluster;

constexpr std::int64_t kStart = 1'800'000'000'000;  // ms, a whole minute

bool have(const char* command) {
  return std::system(command) == 0;
}

/// One JSON reading of the test schema.
std::string reading(std::int64_t seq, std::int64_t time_ms, int sensor) {
  return "{\"seq\": " + std::to_string(seq) + ", \"time\": " + std::to_string(time_ms) +
         ", \"sensor_id\": " + std::to_string(sensor) + ", \"temperature\": 21.5}\n";
}

/// Writes `lines` to `partition` with kcat, one message per line.
void produce(const std::string& bootstrap, const std::string& topic, int partition,
             const std::string& lines, const testing::ScratchFolder& folder) {
  const std::string path = folder.file("partition-" + std::to_string(partition) + ".jsonl");
  std::ofstream(path, std::ios::binary) << lines;
  const std::string command = "kcat -P -b " + bootstrap + " -t " + topic + " -p " +
                              std::to_string(partition) + " -l " + path;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

std::string kafka_source(const std::string& bootstrap, const std::string& group,
                         std::uint64_t events) {
  return R"yaml(
    - type: kafka
      name: kafka
      topic: sensor-data
      config:
        brokers: [")yaml" +
         bootstrap + R"yaml("]
        group: )yaml" +
         group + R"yaml(
        autoCommit: false
        properties: {auto.offset.reset: earliest}
      events: )yaml" +
         std::to_string(events) + R"yaml(
      endAfterIdle: 20s
)yaml";
}

std::string pipeline(const std::string& sources) {
  return R"yaml(
input:
  sources:)yaml" +
         sources + R"yaml(
  format:
    type: json
    schema:
      eventTime: time
      fields:
        - {name: seq, type: int64}
        - {name: time, type: timestamp, unit: ms}
        - {name: sensor_id, type: int32}
        - {name: temperature, type: float64}
processing:
  watermark: {maxOutOfOrderness: 0s}
  groupBy: [sensor_id]
  windows:
    - {type: tumbling, size: 1m, metrics: [count]}
output:
  destinations:
    - {type: jsonl, path: out.jsonl}
)yaml";
}

/// Sums the `count` of every result row per window start.
std::map<std::string, std::uint64_t> counts_by_window(const std::string& results) {
  std::map<std::string, std::uint64_t> counts;
  std::size_t position = 0;
  while ((position = results.find("\"start\":\"", position)) != std::string::npos) {
    const std::string start = results.substr(position + 9, 24);
    const std::size_t count_at = results.find("\"count\":", position) + 8;
    counts[start] += std::stoull(results.substr(count_at));
    position = count_at;
  }
  return counts;
}

RunSummary run(const std::string& text, std::string& results) {
  const Config config = parse_config(text, "sources.yaml");
  RunOptions options;
  options.side_files = false;
  Executor executor(config, options);
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<testing::StringSink>(results));
  return executor.run(executor.make_sources(), std::move(sinks));
}

class MultiSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have("command -v kcat >/dev/null")) GTEST_SKIP() << "kcat is not installed";
  }
};

TEST_F(MultiSourceTest, KafkaPartitionsFarApartInEventTimeLoseNothing) {
  // Partition 0 holds minutes 10-11, partition 1 minutes 0-1: with one watermark for the
  // source, or one per partition only from its first rows, partition 1 would be late whenever
  // partition 0's first chunk came first.
  testing::ScratchFolder folder;
  MockCluster cluster({"sensor-data:2"});
  ASSERT_FALSE(cluster.bootstrap().empty()) << "the mock cluster did not start";
  std::string early;
  std::string late;
  for (int i = 0; i < 600; ++i) {
    early += reading(i, kStart + i * 200, i % 3);
    late += reading(1000 + i, kStart + 600'000 + i * 200, i % 3);
  }
  produce(cluster.bootstrap(), "sensor-data", 0, late, folder);
  produce(cluster.bootstrap(), "sensor-data", 1, early, folder);
  std::string results;
  const RunSummary summary =
      run(pipeline(kafka_source(cluster.bootstrap(), "partitions", 1200)), results);
  EXPECT_EQ(summary.rows_decoded, 1200u);
  EXPECT_EQ(summary.windows.late_dropped, 0u);
  const auto counts = counts_by_window(results);
  EXPECT_EQ(counts.at("2027-01-15T08:00:00.000Z"), 300u);
  EXPECT_EQ(counts.at("2027-01-15T08:01:00.000Z"), 300u);
  EXPECT_EQ(counts.at("2027-01-15T08:10:00.000Z"), 300u);
  EXPECT_EQ(counts.at("2027-01-15T08:11:00.000Z"), 300u);
}

TEST_F(MultiSourceTest, TheSeedsKafkaAndWebSocketSourcesEachHoldTheirOwnWatermark) {
  if (!have("/usr/bin/python3 -c 'import websockets' 2>/dev/null")) {
    GTEST_SKIP() << "python3-websockets is not installed";
  }
  // Kafka carries readings ten minutes older than the WebSocket feed's: each source's
  // watermark is its own, so neither makes the other's readings late.
  testing::ScratchFolder folder;
  MockCluster cluster({"sensor-data:1"});
  ASSERT_FALSE(cluster.bootstrap().empty()) << "the mock cluster did not start";
  std::string older;
  for (int i = 0; i < 500; ++i) older += reading(i, kStart - 600'000 + i * 100, i % 4);
  produce(cluster.bootstrap(), "sensor-data", 0, older, folder);
  ChildProcess feed({"/usr/bin/python3", std::string(LDH_SOURCE_DIR) + "/tests/websocket_server.py",
                     "--events", "800", "--per-message", "20"});
  const auto port = feed.read_line(milliseconds(20000));
  ASSERT_TRUE(port && port->starts_with("PORT "));
  const std::string websocket = R"yaml(
    - type: websocket
      name: feed
      endpoint: "ws://127.0.0.1:)yaml" +
                                port->substr(5) +
                                R"yaml(/feed"
      protocol: v1
      events: 800
      endAfterIdle: 20s
)yaml";
  std::string results;
  const RunSummary summary =
      run(pipeline(kafka_source(cluster.bootstrap(), "seed", 500) + websocket), results);
  EXPECT_EQ(summary.rows_decoded, 1300u);
  EXPECT_EQ(summary.windows.late_dropped, 0u);
  const auto counts = counts_by_window(results);
  EXPECT_EQ(counts.at("2027-01-15T07:50:00.000Z"), 500u);  // Kafka: 50 s from minute -10
  EXPECT_EQ(counts.at("2027-01-15T08:00:00.000Z"), 800u);  // WebSocket: 800 ms from minute 0
}

}  // namespace
}  // namespace ldh
