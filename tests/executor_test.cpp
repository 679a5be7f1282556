#include "host/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using testing::run_pipeline;

const std::string kSensorPipeline = R"yaml(
input:
  sources: [{type: generator}]
)yaml" + testing::sensor_format("json") +
                                    R"yaml(processing:
  pipeline:
    - name: validation
      type: filter
      config:
        rules:
          - {field: temperature, operator: range, value: [-50, 150]}
          - {field: humidity, operator: range, value: [0, 100]}
    - name: enrichment
      type: transform
      config:
        operations:
          - {type: calculate, field: heat_index, formula: "heat_index(temperature, humidity)"}
          - {type: calculate, field: muggy, formula: "dew_point(temperature, humidity) > 15"}
          - {type: drop, field: pressure}
output:
  destinations: [{type: stdout}]
)yaml";

std::string generate(Format format, std::uint64_t events, double bad_share, std::uint64_t seed) {
  Config config = parse_config(kSensorPipeline, "test.yaml");
  GeneratorConfig generator;
  generator.events = events;
  generator.sensors = 37;
  generator.jitter_ns = 3'000'000'000;
  generator.bad_share = bad_share;
  generator.seed = seed;
  generator.frame_records = 50;
  SensorGenerator sensors(generator, config.format.schema);
  auto encoder = make_encoder(format, config.format.schema, generator.frame_records);
  std::string bytes;
  sensors.generate(*encoder, events, bytes);
  encoder->flush(bytes);
  return bytes;
}

TEST(Executor, AccountsForEveryRecord) {
  const std::uint64_t events = 5000;
  for (Format format : {Format::json, Format::binary, Format::protobuf}) {
    SCOPED_TRACE(std::string(to_string(format)));
    auto output = run_pipeline(kSensorPipeline, generate(format, events, 0.02, 5), format);
    const RunSummary& summary = output.summary;
    EXPECT_GT(summary.dead_letters.total(), 0u);
    EXPECT_EQ(summary.rows_decoded + summary.dead_letters.total(), events);
    ASSERT_EQ(summary.stages.size(), 2u);
    EXPECT_EQ(summary.stages[0].rows_in, summary.rows_decoded);
    EXPECT_GT(summary.stages[0].rejected, 0u);  // the generator's faulty spikes
    EXPECT_EQ(summary.rows_emitted + summary.stages[0].rejected, summary.rows_decoded);
    std::size_t lines = std::count(output.results.begin(), output.results.end(), '\n');
    EXPECT_EQ(lines, summary.rows_emitted);
    std::size_t dead_lines =
        std::count(output.dead_letters.begin(), output.dead_letters.end(), '\n');
    EXPECT_EQ(dead_lines, summary.dead_letters.total());
    EXPECT_NE(output.dead_letters.find("\"offset\":"), std::string::npos);
  }
}

TEST(Executor, OutputIsIdenticalForAnyThreadCountAndBatchSize) {
  for (Format format : {Format::json, Format::binary, Format::protobuf}) {
    SCOPED_TRACE(std::string(to_string(format)));
    std::string input = generate(format, 3000, 0.01, 11);
    auto reference = run_pipeline(kSensorPipeline, input, format, 1, 65536);
    ASSERT_FALSE(reference.results.empty());
    for (unsigned threads : {1u, 2u, 3u}) {
      for (std::size_t batch : {1u, 7u, 100u, 4096u}) {
        auto output = run_pipeline(kSensorPipeline, input, format, threads, batch);
        EXPECT_EQ(output.results, reference.results) << threads << " threads, batch " << batch;
        EXPECT_EQ(output.dead_letters, reference.dead_letters)
            << threads << " threads, batch " << batch;
      }
    }
  }
}

TEST(Executor, TheSameEventsInEveryFormatGiveTheSameOutput) {
  auto json = run_pipeline(kSensorPipeline, generate(Format::json, 4000, 0, 3), Format::json);
  auto binary = run_pipeline(kSensorPipeline, generate(Format::binary, 4000, 0, 3), Format::binary);
  auto protobuf =
      run_pipeline(kSensorPipeline, generate(Format::protobuf, 4000, 0, 3), Format::protobuf);
  ASSERT_FALSE(json.results.empty());
  EXPECT_EQ(json.results, binary.results);
  EXPECT_EQ(json.results, protobuf.results);
}

TEST(Executor, ABrokenProtobufLengthPrefixEndsTheStreamTheSameWayOnAnyThreadCount) {
  std::string input = generate(Format::protobuf, 2000, 0, 21);
  std::string broken = input + std::string(11, '\xFF') + generate(Format::protobuf, 500, 0, 22);
  auto reference = run_pipeline(kSensorPipeline, broken, Format::protobuf, 1, 65536);
  EXPECT_EQ(reference.summary.rows_decoded, 2000u);
  EXPECT_EQ(reference.summary.dead_letters.total(), 1u);
  EXPECT_NE(reference.dead_letters.find("the rest of the stream is skipped"), std::string::npos);
  for (unsigned threads : {2u, 3u}) {
    for (std::size_t batch : {1u, 64u, 1000u}) {
      auto output = run_pipeline(kSensorPipeline, broken, Format::protobuf, threads, batch);
      EXPECT_EQ(output.results, reference.results) << threads << " threads, batch " << batch;
      EXPECT_EQ(output.summary.dead_letters.total(), 1u) << threads << " threads, batch " << batch;
    }
  }
}

TEST(Executor, SeveralSourcesInterleaveTheSameWayOnEveryRun) {
  std::string yaml = kSensorPipeline;
  yaml.replace(yaml.find("  sources: [{type: generator}]"),
               std::string("  sources: [{type: generator}]").size(),
               "  sources:\n"
               "    - {type: generator, format: json, events: 3000, sensors: 11, seed: 1, jitter: "
               "2s, badRecords: 0.01}\n"
               "    - {type: generator, format: binary, events: 5000, sensors: 7, seed: 2, jitter: "
               "2s, badRecords: 0.01}\n"
               "    - {type: generator, format: protobuf, events: 1000, sensors: 5, seed: 3, "
               "badRecords: 0.01}");
  yaml.replace(yaml.find("output:"), 0,
               "  watermark: {maxOutOfOrderness: 1s}\n"
               "  groupBy: [sensor_id]\n"
               "  windows: [{type: tumbling, size: 10s, metrics: [count, avg]}]\n");
  Config config = parse_config(yaml, "test.yaml");
  auto run = [&](unsigned threads, std::size_t batch) {
    testing::ScratchFolder scratch;
    RunOptions options;
    options.threads = threads;
    options.batch_size = batch;
    options.chunk_records = 700;
    options.dead_letter_path = scratch.file("dead.jsonl");
    Executor executor(config, options);
    std::string results;
    std::vector<std::unique_ptr<Sink>> sinks;
    sinks.push_back(std::make_unique<testing::StringSink>(results));
    RunSummary summary = executor.run(executor.make_sources(), std::move(sinks));
    EXPECT_EQ(summary.rows_decoded + summary.dead_letters.total(), 9000u);
    return results + testing::read_file(scratch.file("dead.jsonl"));
  };
  std::string reference = run(1, 65536);
  EXPECT_NE(reference.find("\"window\":\"tumbling\""), std::string::npos);
  for (auto [threads, batch] : {std::pair{2u, std::size_t{1}}, std::pair{3u, std::size_t{64}},
                                std::pair{2u, std::size_t{5000}}}) {
    EXPECT_EQ(run(threads, batch), reference) << threads << " threads, batch " << batch;
  }
}

TEST(Executor, WritesRejectsToTheirSink) {
  testing::ScratchFolder scratch;
  std::string yaml = std::string(kSensorPipeline);
  yaml.replace(yaml.find("        rules:"), 0,
               "        rejects: " + scratch.file("rejects.jsonl") + "\n");
  auto output = run_pipeline(yaml, generate(Format::binary, 5000, 0, 9), Format::binary, 2, 333);
  std::string rejects = testing::read_file(scratch.file("rejects.jsonl"));
  std::size_t lines = std::count(rejects.begin(), rejects.end(), '\n');
  EXPECT_EQ(lines, output.summary.stages[0].rejected);
  EXPECT_GT(lines, 0u);
  // Rejected rows are printed with the fields visible at the filter (pressure not yet dropped).
  EXPECT_NE(rejects.find("\"pressure\":"), std::string::npos);
}

TEST(Executor, PrintsValuesInShortestRoundTripForm) {
  const char* yaml = R"yaml(
input:
  sources: [{type: generator}]
  format:
    type: json
    schema:
      fields:
        - {name: when, type: timestamp, unit: us}
        - {name: x, type: float64}
        - {name: y, type: float32}
        - {name: name, type: string}
        - {name: flag, type: bool, required: false}
output:
  destinations: [{type: stdout}]
)yaml";
  std::string input =
      "{\"when\": 1795000000123456, \"x\": 0.1, \"y\": 0.1, \"name\": \"a\\\"b\\u00e9\", \"flag\": "
      "true}\n"
      "{\"when\": 0, \"x\": 1e300, \"y\": 3.4028234e38, \"name\": \"\"}\n";
  auto output = run_pipeline(yaml, input, Format::json);
  EXPECT_EQ(output.results,
            "{\"when\":\"2026-11-18T11:06:40.123456Z\",\"x\":0.1,\"y\":0.1,\"name\":"
            "\"a\\\"b\xC3\xA9\",\"flag\":true}\n"
            "{\"when\":\"1970-01-01T00:00:00.000000Z\",\"x\":1e+300,\"y\":3.4028235e+38,\"name\":"
            "\"\",\"flag\":null}\n");
}

/// Fails on its third write, as a full disk or a closed pipe would.
class FailingSink final : public Sink {
 public:
  void write(std::string_view) override {
    if (++writes_ == 3) throw UserError("disk full");
  }
  void flush() override {}
  std::string describe() const override { return "failing"; }

 private:
  int writes_ = 0;
};

TEST(Executor, ASinkFailingMidRunStopsTheRunWithItsError) {
  Config config = parse_config(kSensorPipeline, "test.yaml");
  RunOptions options;
  options.threads = 2;
  options.chunk_records = 100;
  Executor executor(config, options);
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(
      make_memory_source("input", Format::binary, executor.plan().schema(),
                         std::make_shared<std::string>(generate(Format::binary, 20000, 0, 1)), 0,
                         executor.source_options()));
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<FailingSink>());
  EXPECT_THROW(executor.run(std::move(sources), std::move(sinks)), UserError);
}

TEST(Executor, StopsAnEndlessSourceWhenAsked) {
  std::string yaml = kSensorPipeline;
  yaml.replace(yaml.find("  sources: [{type: generator}]"),
               std::string("  sources: [{type: generator}]").size(),
               "  sources: [{type: generator, events: 0, sensors: 10}]");
  Config config = parse_config(yaml, "test.yaml");
  std::atomic<bool> stop{false};
  RunOptions options;
  options.threads = 2;
  options.stop = &stop;
  Executor executor(config, options);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
  });
  std::string results;
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<testing::StringSink>(results));
  RunSummary summary = executor.run(executor.make_sources(), std::move(sinks));
  stopper.join();
  EXPECT_GT(summary.rows_decoded, 0u);
  EXPECT_EQ(static_cast<std::uint64_t>(std::count(results.begin(), results.end(), '\n')),
            summary.rows_emitted);
}

TEST(Executor, ReportsAnUnwritableSinkWithoutHanging) {
  Config config = parse_config(kSensorPipeline, "test.yaml");
  config.destinations = {{SinkType::jsonl, "/proc/ldh-cannot-write/out.jsonl", {}}};
  RunOptions options;
  options.threads = 2;
  Executor executor(config, options);
  EXPECT_THROW(executor.make_sinks(), UserError);
}

}  // namespace
}  // namespace ldh
