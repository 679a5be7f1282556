#include "ingest/kafka_source.h"
#include "kafka_mock_cluster.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "decoder_test_support.h"
#include "host/executor.h"
#include "kafka_mock_cluster.h"
#include "run_pipeline.h"

extern char** environ;

namespace ldh {
namespace {

using testing::decode_stream;
using testing::MockCluster;
using testing::ScratchFolder;
using Clock = std::chrono::steady_clock;

constexpr const char* kKcat = "kcat";
constexpr auto kPatience = std::chrono::seconds(25);

/// Tells whether `program` is on PATH.
bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string folders = path != nullptr ? path : "";
  std::size_t start = 0;
  while (start <= folders.size()) {
    std::size_t end = folders.find(':', start);
    if (end == std::string::npos) end = folders.size();
    std::string candidate = folders.substr(start, end - start) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

/// Runs a program to its end and returns its exit status (-1 when it could not start).
int run_program(const std::vector<std::string>& arguments) {
  std::vector<char*> argv;
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  pid_t child;
  if (::posix_spawnp(&child, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Events of sensor_schema() with unique timestamps (the id the tests count events by).
struct Events {
  explicit Events(std::size_t count, std::uint64_t seed = 1)
      : rows(testing::sensor_rows(count, seed)) {}
  std::vector<std::vector<FieldValue>> rows;

  std::string id(std::size_t i) const { return std::to_string(std::get<std::int64_t>(rows[i][0])); }
};

/// Produces messages with kcat, the independent producer: JSON lines through -l (each line one
/// message, its newline dropped), or one file per message otherwise.
class Producer {
 public:
  Producer(std::string bootstrap, std::string topic)
      : bootstrap_(std::move(bootstrap)), topic_(std::move(topic)) {}

  /// Sends events [first, first + count) of `events` to `partition`, `per_message` records in
  /// each message; records where each event went.
  void send(const Events& events, std::size_t first, std::size_t count, std::int32_t partition,
            Format format, std::size_t per_message = 1) {
    const Schema schema = sensor_schema();
    std::vector<std::string> arguments = {kKcat, "-P",   "-b", bootstrap_,
                                          "-t",  topic_, "-p", std::to_string(partition)};
    if (format == Format::json) {
      std::string lines;
      for (std::size_t i = first; i < first + count; ++i) {
        lines += testing::encode_rows(format, schema, {events.rows[i]});
      }
      const std::string path = scratch_.file("lines-" + std::to_string(files_++));
      std::ofstream(path, std::ios::binary) << lines;
      arguments.insert(arguments.end(), {"-l", path});
    } else {
      for (std::size_t i = first; i < first + count; i += per_message) {
        std::vector<std::vector<FieldValue>> rows(
            events.rows.begin() + static_cast<std::ptrdiff_t>(i),
            events.rows.begin() +
                static_cast<std::ptrdiff_t>(std::min(first + count, i + per_message)));
        std::string message = testing::encode_rows(format, schema, rows);
        if (format == Format::protobuf) message.erase(0, varint_size(message));
        const std::string path = scratch_.file("message-" + std::to_string(files_++));
        std::ofstream(path, std::ios::binary) << message;
        arguments.push_back(path);
      }
    }
    for (std::size_t i = first; i < first + count; ++i) partition_of[events.id(i)] = partition;
    ASSERT_EQ(run_program(arguments), 0) << "kcat -P failed for partition " << partition;
  }

  /// The partition each event was sent to, by id.
  std::map<std::string, std::int32_t> partition_of;

 private:
  static std::size_t varint_size(const std::string& bytes) {
    std::size_t size = 0;
    while (static_cast<unsigned char>(bytes[size]) & 0x80) ++size;
    return size + 1;
  }

  std::string bootstrap_;
  std::string topic_;
  ScratchFolder scratch_;
  std::size_t files_ = 0;
};

struct ConsumerSettings {
  std::string group;
  std::string topic;
  Format format = Format::json;
  std::vector<std::pair<std::string, std::string>> properties;
  std::uint64_t events = 0;
  std::int64_t end_after_idle_ns = 0;
  bool auto_commit = false;
  std::size_t chunk_records = 100;
};

SourceConfig source_config(const std::string& bootstrap, const ConsumerSettings& settings) {
  SourceConfig config;
  config.name = "kafka-" + settings.group;
  config.type = SourceType::kafka;
  config.format = settings.format;
  config.kafka.brokers = {bootstrap};
  config.kafka.topics = {settings.topic};
  config.kafka.group = settings.group;
  config.kafka.auto_commit = settings.auto_commit;
  config.kafka.events = settings.events;
  config.kafka.end_after_idle_ns = settings.end_after_idle_ns;
  // Read what was produced before the group first committed, and notice a member that left
  // within seconds.
  std::vector<std::pair<std::string, std::string>> properties = {{"auto.offset.reset", "earliest"},
                                                                 {"session.timeout.ms", "6000"},
                                                                 {"heartbeat.interval.ms", "500"},
                                                                 {"fetch.wait.max.ms", "20"}};
  properties.insert(properties.end(), settings.properties.begin(), settings.properties.end());
  for (const auto& [key, value] : properties) {
    config.kafka.properties.push_back(
        {key, value, "input.sources[0].config.properties." + key, {}});
  }
  return config;
}

/// One chunk as a test consumer saw it.
struct SeenChunk {
  std::vector<std::string> ids;
  std::int32_t partition = -1;
  std::uint32_t stream = 0;
  std::uint64_t token = 0;
  bool acknowledged = false;
};

/// A Kafka source read on a thread of its own, as the executor's source thread reads it; every
/// chunk is decoded, checked and, unless the test holds acknowledgements back, acknowledged.
class Consumer {
 public:
  Consumer(const std::string& bootstrap, const ConsumerSettings& settings) {
    SourceOptions options;
    options.chunk_records = settings.chunk_records;
    options.stop = &stop_;
    format_ = settings.format;
    source_ = std::make_unique<KafkaSource>(source_config(bootstrap, settings), 0, sensor_schema(),
                                            options);
  }

  ~Consumer() { leave(); }

  /// Starts reading; with `hold`, the first chunk that arrives after hold_back() is kept
  /// unacknowledged and ends the reading.
  void start() {
    thread_ = std::thread([this] {
      RawChunk chunk;
      while (source_->next(chunk)) {
        if (chunk.bytes.empty() && !source_->chunk_info(chunk.ack_token)) {
          // An assigned or revoked partition's announcement: no bytes, nothing to commit.
          if (chunk.stream == 0 || chunk.records != 0) ++mismatched_chunks_;
          ++(chunk.stream_ends ? stream_ends_ : stream_starts_);
          source_->acknowledge(chunk.ack_token);
          continue;
        }
        SeenChunk seen;
        seen.token = chunk.ack_token;
        seen.stream = chunk.stream;
        auto info = source_->chunk_info(chunk.ack_token);
        if (info) seen.partition = info->partition;
        std::string_view bytes(reinterpret_cast<const char*>(chunk.bytes.data()),
                               chunk.bytes.size());
        auto decoded = decode_stream(format_, sensor_schema(), bytes);
        dead_letters_ += decoded.dead_letters.size();
        for (const auto& row : decoded.rows) seen.ids.push_back(row[0]);
        if (!info || info->records != seen.ids.size()) ++mismatched_chunks_;
        const bool hold = hold_.load();
        seen.acknowledged = !hold;
        if (!hold) source_->acknowledge(chunk.ack_token);
        {
          std::lock_guard lock(mutex_);
          chunks_.push_back(std::move(seen));
        }
        if (hold && !chunks_.back().ids.empty()) break;
      }
      done_ = true;
    });
  }

  void hold_back() { hold_ = true; }
  bool done() const { return done_.load(); }

  /// Stops reading and leaves the group (committing what was acknowledged).
  void leave() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (source_) final_counters_ = source_->counters();
    source_.reset();
  }

  KafkaSource& source() { return *source_; }
  KafkaSourceStatistics counters() const { return source_ ? source_->counters() : final_counters_; }
  std::vector<SeenChunk> chunks() const {
    std::lock_guard lock(mutex_);
    return chunks_;
  }
  std::size_t dead_letters() const { return dead_letters_; }
  std::size_t mismatched_chunks() const { return mismatched_chunks_; }
  std::size_t stream_starts() const { return stream_starts_; }
  std::size_t stream_ends() const { return stream_ends_; }

 private:
  Format format_ = Format::json;
  std::atomic<bool> stop_{false};
  std::atomic<bool> hold_{false};
  std::atomic<bool> done_{false};
  std::unique_ptr<KafkaSource> source_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<SeenChunk> chunks_;
  std::size_t dead_letters_ = 0;
  std::size_t mismatched_chunks_ = 0;
  std::atomic<std::size_t> stream_starts_{0};
  std::atomic<std::size_t> stream_ends_{0};
  KafkaSourceStatistics final_counters_;
};

/// Waits until `condition` holds or kPatience passes; returns whether it held.
bool eventually(const std::function<bool()>& condition) {
  const auto deadline = Clock::now() + kPatience;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

/// Counts how often each id was seen by `consumers`.
std::map<std::string, int> sightings(const std::vector<const Consumer*>& consumers) {
  std::map<std::string, int> counts;
  for (const Consumer* consumer : consumers) {
    for (const auto& chunk : consumer->chunks()) {
      for (const auto& id : chunk.ids) ++counts[id];
    }
  }
  return counts;
}

bool covers(const std::map<std::string, int>& counts, const Events& events, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (counts.count(events.id(i)) == 0) return false;
  }
  return true;
}

class KafkaSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!on_path(kKcat)) GTEST_SKIP() << "kcat is not installed (Debian package kcat)";
  }
};

TEST_F(KafkaSourceTest, OneConsumerReadsEveryEventOnceInEachFormat) {
  struct Case {
    Format format;
    std::string topic;
    std::int32_t partitions;
    std::size_t per_partition;
    std::size_t per_message;
  };
  const std::vector<Case> cases = {{Format::json, "json-events", 4, 300, 1},
                                   {Format::binary, "binary-events", 3, 350, 7},
                                   {Format::protobuf, "protobuf-events", 2, 200, 1}};
  MockCluster cluster({"json-events:4", "binary-events:3", "protobuf-events:2"});
  ASSERT_FALSE(cluster.bootstrap().empty()) << "the mock cluster did not start";
  std::vector<std::unique_ptr<Producer>> producers;
  std::vector<Events> events;
  for (const auto& test : cases) {
    const std::size_t total = test.per_partition * static_cast<std::size_t>(test.partitions);
    events.emplace_back(total, static_cast<std::uint64_t>(test.partitions));
    producers.push_back(std::make_unique<Producer>(cluster.bootstrap(), test.topic));
    for (std::int32_t p = 0; p < test.partitions; ++p) {
      producers.back()->send(events.back(), static_cast<std::size_t>(p) * test.per_partition,
                             test.per_partition, p, test.format, test.per_message);
    }
  }
  // The three formats are read at the same time, each by its own group.
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (const auto& test : cases) {
    ConsumerSettings settings;
    settings.group = "once-" + test.topic;
    settings.topic = test.topic;
    settings.format = test.format;
    settings.events = test.per_partition * static_cast<std::size_t>(test.partitions);
    consumers.push_back(std::make_unique<Consumer>(cluster.bootstrap(), settings));
    consumers.back()->start();
  }
  for (std::size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE(std::string(to_string(cases[c].format)));
    Consumer& consumer = *consumers[c];
    ASSERT_TRUE(eventually([&] { return consumer.done(); })) << "the source did not end";
    const auto counts = sightings({&consumer});
    EXPECT_EQ(counts.size(), events[c].rows.size());
    for (const auto& [id, count] : counts) EXPECT_EQ(count, 1) << "event " << id;
    EXPECT_TRUE(covers(counts, events[c], events[c].rows.size()));
    EXPECT_EQ(consumer.dead_letters(), 0u);
    EXPECT_EQ(consumer.mismatched_chunks(), 0u);
    // Every chunk holds events of the one partition it names, and each partition is a stream
    // of its own.
    std::set<std::int32_t> partitions;
    std::map<std::int32_t, std::set<std::uint32_t>> streams;
    for (const auto& chunk : consumer.chunks()) {
      partitions.insert(chunk.partition);
      streams[chunk.partition].insert(chunk.stream);
      for (const auto& id : chunk.ids) {
        EXPECT_EQ(producers[c]->partition_of.at(id), chunk.partition) << "event " << id;
      }
    }
    EXPECT_EQ(partitions.size(), static_cast<std::size_t>(cases[c].partitions));
    std::set<std::uint32_t> distinct;
    for (const auto& [partition, ids] : streams) {
      ASSERT_EQ(ids.size(), 1u) << "partition " << partition;
      EXPECT_GE(*ids.begin(), 1u);
      distinct.insert(*ids.begin());
    }
    EXPECT_EQ(distinct.size(), partitions.size());
    EXPECT_EQ(consumer.stream_starts(), partitions.size());
    EXPECT_EQ(consumer.stream_ends(), 0u);
    const KafkaSourceStatistics statistics = consumer.source().counters();
    const std::size_t messages =
        events[c].rows.size() / cases[c].per_message +
        (events[c].rows.size() % cases[c].per_message != 0 ? cases[c].partitions : 0);
    EXPECT_EQ(statistics.messages, messages);
    EXPECT_EQ(statistics.records, events[c].rows.size());
    EXPECT_EQ(statistics.chunks, consumer.chunks().size());
    EXPECT_EQ(statistics.redelivered, 0u);
    EXPECT_EQ(statistics.unacknowledged_chunks, 0u);
    EXPECT_GE(statistics.rebalances, 1u);
    EXPECT_GE(statistics.commits, 1u);
    EXPECT_FALSE(consumer.source().replayable());
    std::vector<SourceCounter> counters;
    consumer.source().statistics(counters);
    EXPECT_FALSE(counters.empty());
  }
}

class KafkaGroupTest : public KafkaSourceTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(KafkaGroupTest, TwoConsumersShareTheTopicAndOneLeavesMidStream) {
  constexpr std::int32_t kPartitions = 4;
  constexpr std::size_t kPerPhase = 200;  // events per partition in each phase
  MockCluster cluster({"shared:4"});
  ASSERT_FALSE(cluster.bootstrap().empty()) << "the mock cluster did not start";
  Events events(2 * kPerPhase * kPartitions, 7);
  Producer producer(cluster.bootstrap(), "shared");
  ConsumerSettings settings;
  settings.group = std::string("shared-") + GetParam();
  settings.topic = "shared";
  settings.chunk_records = 50;
  settings.properties = {{"partition.assignment.strategy", GetParam()}};
  Consumer leaving(cluster.bootstrap(), settings);
  Consumer staying(cluster.bootstrap(), settings);
  leaving.start();
  staying.start();
  ASSERT_TRUE(eventually([&] {
    return leaving.source().counters().assigned_partitions > 0 &&
           staying.source().counters().assigned_partitions > 0;
  })) << "the two consumers did not both get partitions";

  // Phase 1: both consume and acknowledge everything.
  const std::size_t phase = kPerPhase * kPartitions;
  for (std::int32_t p = 0; p < kPartitions; ++p) {
    producer.send(events, static_cast<std::size_t>(p) * kPerPhase, kPerPhase, p, Format::json);
  }
  ASSERT_TRUE(eventually([&] { return covers(sightings({&leaving, &staying}), events, phase); }));
  // Phase 2: one consumer keeps its next chunk unacknowledged, then leaves the group.
  leaving.hold_back();
  for (std::int32_t p = 0; p < kPartitions; ++p) {
    producer.send(events, phase + static_cast<std::size_t>(p) * kPerPhase, kPerPhase, p,
                  Format::json);
  }
  ASSERT_TRUE(eventually([&] { return leaving.done(); })) << "no chunk reached the leaving one";
  leaving.leave();
  ASSERT_TRUE(eventually([&] {
    return covers(sightings({&leaving, &staying}), events, 2 * phase);
  })) << "the remaining consumer did not take over every partition";
  staying.leave();

  std::set<std::string> unacknowledged;
  for (const auto& chunk : leaving.chunks()) {
    if (!chunk.acknowledged) unacknowledged.insert(chunk.ids.begin(), chunk.ids.end());
  }
  EXPECT_FALSE(unacknowledged.empty());
  // Every event was counted. The events of the chunk that was never acknowledged are the only
  // ones both consumers saw: the other one read them again from the committed offsets.
  const auto counts = sightings({&leaving, &staying});
  EXPECT_EQ(counts.size(), events.rows.size());
  const auto leaving_counts = sightings({&leaving});
  const auto staying_counts = sightings({&staying});
  std::set<std::string> seen_by_both;
  for (const auto& [id, count] : leaving_counts) {
    if (staying_counts.count(id) != 0) seen_by_both.insert(id);
  }
  EXPECT_EQ(seen_by_both, unacknowledged);
  // A consumer that reads its own events again (an eager rebalance gave it a partition back
  // from offsets the rebalancing group refused to commit) reports each one as redelivered.
  for (const auto* consumer : {&leaving, &staying}) {
    std::uint64_t again = 0;
    for (const auto& [id, count] : sightings({consumer}))
      again += static_cast<std::uint64_t>(count - 1);
    EXPECT_EQ(again, consumer->counters().redelivered);
  }
  EXPECT_EQ(leaving.dead_letters() + staying.dead_letters(), 0u);
  EXPECT_EQ(leaving.mismatched_chunks() + staying.mismatched_chunks(), 0u);
  // Every partition the remaining consumer got is announced; an eager rebalance revokes all of
  // them first (each ends its stream), a cooperative one only adds the leaving one's.
  EXPECT_GE(staying.stream_starts(), static_cast<std::size_t>(kPartitions));
  if (std::string(GetParam()) == "range") {
    EXPECT_GT(staying.stream_ends(), 0u);
  } else {
    EXPECT_EQ(staying.stream_ends(), 0u);
  }
}

std::string protocol_name(const ::testing::TestParamInfo<const char*>& parameter) {
  return std::string(parameter.param) == "range" ? "Eager" : "Cooperative";
}

INSTANTIATE_TEST_SUITE_P(Protocols, KafkaGroupTest,
                         ::testing::Values("range", "cooperative-sticky"), protocol_name);

/// Reads the offsets `group` committed for partitions 0..count-1 of `topic`.
std::vector<std::int64_t> committed_offsets(const std::string& bootstrap, const std::string& group,
                                            const std::string& topic, std::int32_t count) {
  char reason[512];
  rd_kafka_conf_t* settings = rd_kafka_conf_new();
  rd_kafka_conf_set(settings, "bootstrap.servers", bootstrap.c_str(), reason, sizeof(reason));
  rd_kafka_conf_set(settings, "group.id", group.c_str(), reason, sizeof(reason));
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_CONSUMER, settings, reason, sizeof(reason));
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(count), RD_KAFKA_OFFSET_INVALID);
  if (handle == nullptr) return offsets;
  rd_kafka_topic_partition_list_t* partitions = rd_kafka_topic_partition_list_new(count);
  for (std::int32_t p = 0; p < count; ++p) {
    rd_kafka_topic_partition_list_add(partitions, topic.c_str(), p);
  }
  if (rd_kafka_committed(handle, partitions, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < partitions->cnt; ++i) {
      offsets[static_cast<std::size_t>(partitions->elems[i].partition)] =
          partitions->elems[i].offset;
    }
  }
  rd_kafka_topic_partition_list_destroy(partitions);
  rd_kafka_destroy(handle);
  return offsets;
}

TEST_F(KafkaSourceTest, AcknowledgedOffsetsAreCommittedAndTheNextConsumerStartsThere) {
  constexpr std::int32_t kPartitions = 2;
  constexpr std::size_t kPerPartition = 300;
  const std::size_t total = kPerPartition * kPartitions;
  MockCluster cluster({"commits:2"});
  ASSERT_FALSE(cluster.bootstrap().empty()) << "the mock cluster did not start";
  Events events(total, 3);
  Producer producer(cluster.bootstrap(), "commits");
  for (std::int32_t p = 0; p < kPartitions; ++p) {
    producer.send(events, static_cast<std::size_t>(p) * kPerPartition, kPerPartition, p,
                  Format::json);
  }
  for (bool auto_commit : {false, true}) {
    SCOPED_TRACE(auto_commit ? "autoCommit: true" : "autoCommit: false");
    ConsumerSettings settings;
    settings.group = auto_commit ? "commits-auto" : "commits";
    settings.topic = "commits";
    settings.chunk_records = 40;
    settings.auto_commit = auto_commit;
    if (auto_commit) settings.properties = {{"auto.commit.interval.ms", "100"}};
    SourceOptions options;
    options.chunk_records = settings.chunk_records;
    settings.events = total;
    auto first = std::make_unique<KafkaSource>(source_config(cluster.bootstrap(), settings), 0,
                                               sensor_schema(), options);
    // Read everything, then acknowledge the chunks up to the one that passes a third of it.
    std::vector<std::pair<std::uint64_t, KafkaChunkInfo>> chunks;
    RawChunk chunk;
    while (first->next(chunk)) {
      // Chunks that only announce a partition carry no offsets.
      if (auto info = first->chunk_info(chunk.ack_token)) {
        chunks.emplace_back(chunk.ack_token, *info);
      }
    }
    std::uint64_t records = 0;
    std::size_t last = 0;
    while (records < total / 3) records += chunks[last++].second.records;
    std::vector<std::int64_t> expected(kPartitions, RD_KAFKA_OFFSET_INVALID);
    std::set<std::string> acknowledged;
    for (std::size_t i = 0; i < last; ++i) {
      const KafkaChunkInfo& info = chunks[i].second;
      expected[static_cast<std::size_t>(info.partition)] = info.next_offset;
      for (std::int64_t offset = info.first_offset; offset < info.next_offset; ++offset) {
        acknowledged.insert(events.id(static_cast<std::size_t>(info.partition) * kPerPartition +
                                      static_cast<std::size_t>(offset)));
      }
    }
    first->acknowledge(chunks[last - 1].first);
    EXPECT_FALSE(first->chunk_info(chunks[last - 1].first).has_value());
    EXPECT_TRUE(first->chunk_info(chunks[last].first).has_value());
    EXPECT_EQ(first->counters().unacknowledged_chunks, chunks.size() - last);
    // The commit happens while the consumer is still in the group, not only when it leaves.
    EXPECT_TRUE(eventually([&] {
      return committed_offsets(cluster.bootstrap(), settings.group, "commits", kPartitions) ==
             expected;
    })) << "committed offsets never matched the acknowledged chunks";

    // The next member of the group starts right after the acknowledged chunks.
    settings.events = total - acknowledged.size();
    settings.end_after_idle_ns = 1'500'000'000;
    first.reset();
    Consumer second(cluster.bootstrap(), settings);
    second.start();
    ASSERT_TRUE(eventually([&] { return second.done(); }));
    const auto counts = sightings({&second});
    EXPECT_EQ(counts.size(), total - acknowledged.size());
    for (const auto& [id, count] : counts) {
      EXPECT_EQ(count, 1) << "event " << id;
      EXPECT_EQ(acknowledged.count(id), 0u) << "acknowledged event " << id << " read again";
    }
  }
}

/// Reads chunks until `count` records arrived or `limit` passed (then `stop` ends next()).
std::size_t read_records(KafkaSource& source, std::atomic<bool>& stop, std::size_t count,
                         std::chrono::milliseconds limit) {
  stop = false;
  std::atomic<bool> finished{false};
  std::thread timer([&] {
    const auto deadline = Clock::now() + limit;
    while (!finished && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop = true;
  });
  std::size_t records = 0;
  RawChunk chunk;
  while (records < count && source.next(chunk)) {
    records += chunk.records;
    source.acknowledge(chunk.ack_token);
  }
  finished = true;
  timer.join();
  stop = false;
  return records;
}

TEST_F(KafkaSourceTest, APausedSourceReceivesNothingUntilResumed) {
  MockCluster cluster({"paused:2"});
  ASSERT_FALSE(cluster.bootstrap().empty()) << "the mock cluster did not start";
  Events events(400, 9);
  Producer producer(cluster.bootstrap(), "paused");
  producer.send(events, 0, 100, 0, Format::json);
  producer.send(events, 100, 100, 1, Format::json);
  ConsumerSettings settings;
  settings.group = "paused";
  settings.topic = "paused";
  std::atomic<bool> stop{false};
  SourceOptions options;
  options.stop = &stop;
  KafkaSource source(source_config(cluster.bootstrap(), settings), 0, sensor_schema(), options);
  ASSERT_EQ(read_records(source, stop, 200, kPatience), 200u);
  source.set_paused(true);
  producer.send(events, 200, 100, 0, Format::json);
  producer.send(events, 300, 100, 1, Format::json);
  EXPECT_EQ(read_records(source, stop, 200, std::chrono::milliseconds(1500)), 0u);
  source.set_paused(false);
  EXPECT_EQ(read_records(source, stop, 200, kPatience), 200u);
  EXPECT_EQ(source.counters().records, 400u);
}

TEST_F(KafkaSourceTest, AnUnreachableBrokerIsCountedAndLoggedWithARateLimit) {
  ConsumerSettings settings;
  settings.group = "nobody";
  settings.topic = "nowhere";
  std::atomic<bool> stop{false};
  SourceOptions options;
  options.stop = &stop;
  // Port 9 (discard) has no Kafka broker: every connection attempt fails.
  KafkaSource source(source_config("127.0.0.1:9", settings), 0, sensor_schema(), options);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(read_records(source, stop, 1, std::chrono::milliseconds(2500)), 0u);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_GT(source.counters().errors, 0u);
  std::size_t lines = 0;
  for (std::size_t at = log.find("ldh: source 'kafka-nobody': kafka: "); at != std::string::npos;
       at = log.find("ldh: source 'kafka-nobody': kafka: ", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
}

TEST_F(KafkaSourceTest, PropertiesLibrdkafkaRejectsAreReportedAtTheirKeys) {
  const std::string yaml =
      "input:\n"
      "  sources:\n"
      "    - type: kafka\n"
      "      topic: sensor-data\n"
      "      config:\n"
      "        brokers: [\"127.0.0.1:9\"]\n"
      "        group: processor-group\n"
      "        autoCommit: false\n"
      "        properties:\n"
      "          auto.offset.reset: soonest\n"
      "          no.such.property: 1\n"
      "          fetch.wait.max.ms: 100\n"
      "  format:\n"
      "    type: json\n"
      "    schema:\n"
      "      fields: [{name: temperature, type: float64}]\n"
      "output:\n"
      "  destinations: [{type: stdout}]\n";
  const Config config = parse_config(yaml, "kafka.yaml");
  ASSERT_EQ(config.sources.size(), 1u);
  try {
    make_source(config.sources[0], 0, config.format.schema, SourceOptions{});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& error) {
    const auto& problems = error.diagnostics();
    ASSERT_EQ(problems.size(), 2u) << error.what();
    EXPECT_EQ(problems[0].where.to_string(), "kafka.yaml:10:11");
    EXPECT_EQ(
        problems[0].message.rfind("input.sources[0].config.properties.auto.offset.reset: ", 0), 0u)
        << problems[0].message;
    EXPECT_NE(problems[0].message.find("soonest"), std::string::npos) << problems[0].message;
    EXPECT_EQ(problems[1].where.to_string(), "kafka.yaml:11:11");
    EXPECT_NE(problems[1].message.find("No such configuration property"), std::string::npos)
        << problems[1].message;
  }
}

TEST_F(KafkaSourceTest, APipelineRunsEndToEndFromKafka) {
  constexpr std::int32_t kPartitions = 2;
  constexpr std::size_t kPerPartition = 400;
  MockCluster cluster({"pipeline:2"});
  ASSERT_FALSE(cluster.bootstrap().empty()) << "the mock cluster did not start";
  Events events(kPerPartition * kPartitions, 5);
  Producer producer(cluster.bootstrap(), "pipeline");
  for (std::int32_t p = 0; p < kPartitions; ++p) {
    producer.send(events, static_cast<std::size_t>(p) * kPerPartition, kPerPartition, p,
                  Format::binary, 10);
  }
  const std::string yaml =
      "input:\n"
      "  sources:\n"
      "    - type: kafka\n"
      "      name: sensors\n"
      "      topic: pipeline\n"
      "      events: " +
      std::to_string(events.rows.size()) +
      "\n"
      "      config:\n"
      "        brokers: \"" +
      cluster.bootstrap() +
      "\"\n"
      "        group: pipeline-group\n"
      "        autoCommit: false\n"
      "        properties: {auto.offset.reset: earliest, fetch.wait.max.ms: 20}\n"
      "  format:\n"
      "    type: binary\n"
      "    schema:\n"
      "      eventTime: timestamp\n"
      "      fields:\n"
      "        - {name: timestamp, type: timestamp, unit: ms}\n"
      "        - {name: sensor_id, type: int32}\n"
      "        - {name: location, type: string, size: 12}\n"
      "        - {name: type, type: string, size: 8}\n"
      "        - {name: temperature, type: float64}\n"
      "        - {name: humidity, type: float32}\n"
      "        - {name: pressure, type: float32}\n"
      "processing:\n"
      "  pipeline:\n"
      "    - name: validation\n"
      "      type: filter\n"
      "      config:\n"
      "        rules: [{field: temperature, operator: range, value: [-50, 150]}]\n"
      "output:\n"
      "  destinations: [{type: stdout}]\n";
  const Config config = parse_config(yaml, "kafka.yaml");
  ScratchFolder scratch;
  RunOptions options;
  options.threads = 2;
  options.dead_letter_path = scratch.file("dead.jsonl");
  Executor executor(config, options);
  std::string results;
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<testing::StringSink>(results));
  const RunSummary summary = executor.run(executor.make_sources(), std::move(sinks));
  EXPECT_EQ(summary.rows_decoded, events.rows.size());
  EXPECT_EQ(summary.dead_letters.total(), 0u);
  ASSERT_EQ(summary.stages.size(), 1u);
  EXPECT_EQ(summary.rows_emitted + summary.stages[0].rejected, summary.rows_decoded);
  EXPECT_EQ(static_cast<std::size_t>(std::count(results.begin(), results.end(), '\n')),
            summary.rows_emitted);
  // The executor acknowledged every chunk once its results were written: the group's committed
  // offsets are at the end of both partitions.
  ASSERT_EQ(summary.sources.size(), 1u);
  std::map<std::string, std::uint64_t> counters;
  for (const auto& counter : summary.sources[0].counters) counters[counter.name] = counter.value;
  EXPECT_EQ(counters["kafka_records"], events.rows.size());
  EXPECT_EQ(counters["kafka_unacknowledged_chunks"], 0u);
  EXPECT_GE(counters["kafka_commits"], 1u);
  EXPECT_EQ(committed_offsets(cluster.bootstrap(), "pipeline-group", "pipeline", kPartitions),
            (std::vector<std::int64_t>(kPartitions, kPerPartition / 10)));
}

}  // namespace
}  // namespace ldh
