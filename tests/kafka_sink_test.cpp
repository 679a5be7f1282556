// The Kafka destination against librdkafka's mock cluster (tests/kafka_mock_cluster, in a
// process of its own), with kcat reading the topic back: keys and values of a whole pipeline's
// window results; a broker taken down and brought back mid-run, a slow broker, a broker
// answering errors and records the producer refuses: retries happen and
// delivered + dead-lettered == produced, with every delivered record on the topic.

#include "host/kafka_sink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <thread>

#include "child_process.h"
#include "host/executor.h"
#include "kafka_mock_cluster.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using std::chrono::milliseconds;
using testing::ChildProcess;
using testing::MockCluster;
using testing::ScratchFolder;

const char* const kKcat = "/usr/bin/kcat";
constexpr auto kPatience = milliseconds(20000);

/// Reads the whole topic with kcat: one "key<TAB>value" per message.
std::vector<std::string> read_topic(const std::string& bootstrap, const std::string& topic) {
  ChildProcess kcat({kKcat, "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-f", "%k\t%s\n"});
  std::vector<std::string> messages;
  while (auto line = kcat.read_line(kPatience)) messages.push_back(*line);
  return messages;
}

/// A window result line of window "w" grouped by sensor_id, unique by seq.
std::string result_line(std::uint64_t seq, std::size_t padding = 0) {
  return "{\"window\":\"w\",\"start\":\"2026-11-29T04:00:00.000Z\",\"sensor_id\":" +
         std::to_string(seq % 7) + ",\"count\":1,\"seq\":" + std::to_string(seq) +
         (padding > 0 ? ",\"pad\":\"" + std::string(padding, 'x') + "\"" : "") + "}";
}

std::string expected_key(std::uint64_t seq) {
  std::string key = "[";
  key += std::to_string(seq % 7);
  key += ']';
  return key;
}

KafkaSinkConfig sink_config(const std::string& bootstrap, const std::string& topic,
                            std::vector<std::pair<std::string, std::string>> properties = {}) {
  KafkaSinkConfig config;
  config.brokers = {bootstrap};
  config.topic = topic;
  config.key_fields = {{"w", {"sensor_id"}}};
  // Failures show within a second, and a broker that comes back is found again quickly.
  properties.emplace_back("message.timeout.ms", "1000");
  properties.emplace_back("reconnect.backoff.max.ms", "200");
  for (const auto& [key, value] : properties) {
    config.properties.push_back({key, value, "config.properties." + key, {}});
  }
  return config;
}

DeliveryConfig delivery_config(const ScratchFolder& scratch) {
  DeliveryConfig delivery;
  delivery.batch_records = 50;
  delivery.batch_interval_ns = 20'000'000;
  delivery.max_attempts = 100;
  delivery.initial_backoff_ns = 100'000'000;
  delivery.max_backoff_ns = 500'000'000;
  delivery.drain_timeout_ns = 30'000'000'000;
  delivery.dead_letter_path = scratch.file("dead-letters.jsonl");
  return delivery;
}

/// Checks that every delivered record is on the topic once at least, with its key.
void expect_on_topic(const std::vector<std::string>& messages, std::uint64_t count,
                     const std::set<std::uint64_t>& not_delivered = {}) {
  std::map<std::string, std::string> key_of_value;
  for (const auto& message : messages) {
    const std::size_t tab = message.find('\t');
    ASSERT_NE(tab, std::string::npos) << message;
    key_of_value[message.substr(tab + 1)] = message.substr(0, tab);
  }
  EXPECT_EQ(key_of_value.size(), count - not_delivered.size());
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    if (not_delivered.count(seq) > 0) continue;
    auto found = key_of_value.find(result_line(seq));
    ASSERT_NE(found, key_of_value.end()) << "record " << seq << " is not on the topic";
    EXPECT_EQ(found->second, expected_key(seq));
  }
}

class KafkaSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kKcat, X_OK) != 0) GTEST_SKIP() << "kcat is not installed";
  }
};

TEST(ResultKeyerTest, KeysAreTheGroupByValuesAsAJsonArray) {
  ResultKeyer keyer({{"minute", {"sensor_id", "location"}}, {"all", {}}});
  std::string key;
  ASSERT_TRUE(keyer.key_of(
      R"({"window":"minute","start":"s","end":"e","sensor_id":14,"location":"north \"7\"","count":3})",
      key));
  EXPECT_EQ(key, R"([14,"north \"7\""])");
  // Alerts carry the window and its group-by fields too.
  ASSERT_TRUE(keyer.key_of(
      R"({"alert":"t gt 1","window":"minute","location":null,"sensor_id":-2,"value":3})", key));
  EXPECT_EQ(key, "[-2,null]");
  EXPECT_FALSE(keyer.key_of(R"({"window":"all","count":3})", key));  // no group-by fields
  EXPECT_TRUE(key.empty());
  EXPECT_FALSE(keyer.key_of(R"({"window":"hour","sensor_id":1})", key));    // unknown window
  EXPECT_FALSE(keyer.key_of(R"({"sensor_id":1,"temperature":2})", key));    // an event
  EXPECT_FALSE(keyer.key_of(R"({"window":"minute","sensor_id":1})", key));  // location missing
  EXPECT_FALSE(keyer.key_of("not json", key));
}

TEST_F(KafkaSinkTest, PipelineResultsAreOnTheTopicKeyedByGroup) {
  MockCluster cluster({"results:3"});
  ASSERT_FALSE(cluster.bootstrap().empty());
  ScratchFolder scratch;
  const std::string yaml = R"(input:
  sources:
    - {name: sensors, type: generator, events: 3000, sensors: 10, interval: 1s, seed: 7}
)" + testing::sensor_format("json") +
                           R"(processing:
  groupBy: [sensor_id, location]
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [avg, max]}
output:
  batching: {size: 20, timeout: 50ms}
  destinations:
    - type: kafka
      topic: results
      format: json
      config: {brokers: [")" +
                           cluster.bootstrap() +
                           R"("]}
      deadLetter: )" + scratch.file("kafka-dead.jsonl") +
                           R"(
    - {type: jsonl, path: )" +
                           scratch.file("results.jsonl") +
                           R"(}
)";
  const Config config = parse_config(yaml, scratch.file("run.yaml"));
  ASSERT_EQ(config.destinations[0].delivery.batch_records, 20u);
  RunOptions options;
  options.dead_letter_path = scratch.file("dead.jsonl");
  Executor executor(config, options);
  const RunSummary summary = executor.run(executor.make_sources(), executor.make_sinks());
  std::map<std::string, std::uint64_t> counted;
  for (const auto& counter : summary.sinks[0].counters) counted[counter.name] = counter.value;

  const std::string results = testing::read_file(scratch.file("results.jsonl"));
  std::vector<std::string> expected;
  const std::regex group(R"re("sensor_id":(-?\d+),"location":("[^"]*"))re");
  std::size_t start = 0;
  while (start < results.size()) {
    const std::size_t newline = results.find('\n', start);
    const std::string row = results.substr(start, newline - start);
    start = newline + 1;
    std::smatch match;
    ASSERT_TRUE(std::regex_search(row, match, group)) << row;
    std::string message = "[";
    message.append(match[1].str()).append(",").append(match[2].str()).append("]\t");
    expected.push_back(message + row);
  }
  ASSERT_EQ(expected.size(), 60u);  // 10 sensors, 6 minutes
  EXPECT_EQ(counted["produced"], expected.size());
  EXPECT_EQ(counted["delivered"], expected.size());
  EXPECT_EQ(counted["dead_lettered"], 0u);
  EXPECT_GE(counted["batches"], 3u);  // 60 rows in batches of at most 20

  std::vector<std::string> on_topic = read_topic(cluster.bootstrap(), "results");
  std::sort(on_topic.begin(), on_topic.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(on_topic, expected);
}

TEST_F(KafkaSinkTest, BrokerDownMidRunIsRetriedAndNothingIsLost) {
  MockCluster cluster({"results:2"});
  ASSERT_FALSE(cluster.bootstrap().empty());
  ScratchFolder scratch;
  DeliverySink sink(std::make_unique<KafkaTransport>(sink_config(cluster.bootstrap(), "results")),
                    delivery_config(scratch));
  constexpr std::uint64_t kRecords = 2000;
  for (std::uint64_t seq = 0; seq < kRecords; ++seq) {
    sink.write(result_line(seq) + "\n");
    if (seq % 100 == 99) {
      sink.flush();
      std::this_thread::sleep_for(milliseconds(20));
    }
    if (seq == 600) {
      ASSERT_TRUE(cluster.down());
    }
    if (seq == 1400) {
      // Down for long enough that batches time out and are retried.
      std::this_thread::sleep_for(milliseconds(2000));
      ASSERT_TRUE(cluster.up());
    }
  }
  sink.finish();
  const DeliveryCounters counted = sink.counters();
  EXPECT_EQ(counted.produced, kRecords);
  EXPECT_EQ(counted.delivered + counted.dead_lettered, counted.produced);
  EXPECT_EQ(counted.dead_lettered, 0u);
  EXPECT_GT(counted.retried, 0u);
  // Retried records may be on the topic twice (at least once); each is there.
  const auto messages = read_topic(cluster.bootstrap(), "results");
  EXPECT_GE(messages.size(), kRecords);
  expect_on_topic(messages, kRecords);
}

TEST_F(KafkaSinkTest, SlowBrokerDeliversEverything) {
  MockCluster cluster({"results:1"}, {"--rtt", "100"});
  ASSERT_FALSE(cluster.bootstrap().empty());
  ScratchFolder scratch;
  DeliverySink sink(std::make_unique<KafkaTransport>(sink_config(cluster.bootstrap(), "results",
                                                                 {{"message.timeout.ms", "5000"}})),
                    delivery_config(scratch));
  constexpr std::uint64_t kRecords = 500;
  for (std::uint64_t seq = 0; seq < kRecords; ++seq) sink.write(result_line(seq) + "\n");
  sink.finish();
  const DeliveryCounters counted = sink.counters();
  EXPECT_EQ(counted.delivered, kRecords);
  EXPECT_EQ(counted.dead_lettered, 0u);
  expect_on_topic(read_topic(cluster.bootstrap(), "results"), kRecords);
}

TEST_F(KafkaSinkTest, BrokerErrorsAreRetriedAndRefusedRecordsAreDeadLettered) {
  // The first 5 Produce requests are answered NOT_LEADER_FOR_PARTITION (6), which librdkafka
  // retries; records over message.max.bytes are refused for good.
  MockCluster cluster({"results:1"}, {"--produce-errors", "5:6"});
  ASSERT_FALSE(cluster.bootstrap().empty());
  ScratchFolder scratch;
  DeliverySink sink(std::make_unique<KafkaTransport>(sink_config(cluster.bootstrap(), "results",
                                                                 {{"message.max.bytes", "2000"}})),
                    delivery_config(scratch));
  constexpr std::uint64_t kRecords = 300;
  std::set<std::uint64_t> too_large;
  for (std::uint64_t seq = 0; seq < kRecords; ++seq) {
    const bool large = seq % 50 == 7;
    if (large) too_large.insert(seq);
    sink.write(result_line(seq, large ? 3000 : 0) + "\n");
  }
  sink.finish();
  const DeliveryCounters counted = sink.counters();
  EXPECT_EQ(counted.produced, kRecords);
  EXPECT_EQ(counted.dead_lettered, too_large.size());
  EXPECT_EQ(counted.delivered + counted.dead_lettered, counted.produced);
  const std::string dead = testing::read_file(scratch.file("dead-letters.jsonl"));
  EXPECT_EQ(static_cast<std::size_t>(std::count(dead.begin(), dead.end(), '\n')), too_large.size());
  EXPECT_NE(dead.find("\"reason\":\"refused by the destination\""), std::string::npos) << dead;
  EXPECT_NE(dead.find("MSG_SIZE_TOO_LARGE"), std::string::npos) << dead;
  expect_on_topic(read_topic(cluster.bootstrap(), "results"), kRecords, too_large);
}

TEST_F(KafkaSinkTest, PropertiesLibrdkafkaRefusesAreConfigErrors) {
  auto config = sink_config("127.0.0.1:9", "results", {{"no.such.property", "1"}});
  try {
    KafkaTransport transport(config);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("config.properties.no.such.property"),
              std::string::npos)
        << error.what();
  }
  // Idempotence needs acks=all; librdkafka says so when the producer is made.
  config = sink_config("127.0.0.1:9", "results", {{"acks", "1"}});
  try {
    KafkaTransport transport(config);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("acks"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace ldh
