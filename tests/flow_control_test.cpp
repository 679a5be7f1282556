// Flow control: the token bucket and per-source budgets, then whole runs fed twice as fast as
// a slow sink drains them (block loses nothing, drop counts exactly what it sheds, memory stays
// under the limits), and live sources: arrival order and acknowledgements that wait for windows.

#include "host/flow_control.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "host/executor.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

TEST(TokenBucketTest, PassesTheBurstThenPacesAtTheRate) {
  const auto start = Clock::now();
  TokenBucket bucket(1000, 100, start);
  EXPECT_EQ(bucket.take(100, start), Clock::duration::zero());
  // 50 more with no time passed: a debt of 50 tokens, 50 ms at 1000/s.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.take(50, start)).count(), 50);
  // 100 ms later the debt is paid and 50 tokens came back.
  EXPECT_EQ(bucket.take(50, start + milliseconds(100)), Clock::duration::zero());
  // Never more than the burst, however long it waited.
  EXPECT_EQ(bucket.take(100, start + std::chrono::hours(1)), Clock::duration::zero());
  EXPECT_GT(bucket.take(1, start + std::chrono::hours(1)), Clock::duration::zero());
}

TEST(TokenBucketTest, ZeroRateNeverWaits) {
  TokenBucket bucket(0, 0, Clock::now());
  EXPECT_EQ(bucket.take(1'000'000'000, Clock::now()), Clock::duration::zero());
}

TEST(SourceBudgetTest, BlockWaitsDropShedsAndAnEmptyBudgetAlwaysAdmits) {
  BufferConfig config;
  config.max_events = 100;
  config.max_bytes = 1000;
  SourceBudget block(config);
  EXPECT_EQ(block.decide(500, 50), SourceBudget::Decision::admit);  // nothing in flight
  block.admit(500, 50);
  EXPECT_EQ(block.decide(1, 1), SourceBudget::Decision::wait);
  block.release(500, 50);
  EXPECT_EQ(block.decide(60, 600), SourceBudget::Decision::admit);
  block.admit(60, 600);
  EXPECT_EQ(block.decide(40, 400), SourceBudget::Decision::admit);
  EXPECT_EQ(block.decide(41, 10), SourceBudget::Decision::wait);   // events over
  EXPECT_EQ(block.decide(10, 401), SourceBudget::Decision::wait);  // bytes over
  EXPECT_EQ(block.counters().peak_events, 500u);

  config.overflow = OverflowPolicy::drop;
  SourceBudget drop(config);
  drop.admit(100, 10);
  EXPECT_EQ(drop.decide(1, 1), SourceBudget::Decision::drop);
}

TEST(SourceBudgetTest, ResizeDoublesUpToItsCapThenWaits) {
  BufferConfig config;
  config.overflow = OverflowPolicy::resize;
  config.max_events = 100;
  config.max_bytes = 1 << 20;
  config.resize_max_events = 300;
  config.resize_max_bytes = 1 << 20;
  SourceBudget budget(config);
  budget.admit(100, 10);
  EXPECT_EQ(budget.decide(100, 10), SourceBudget::Decision::admit);
  EXPECT_EQ(budget.max_events(), 200u);
  budget.admit(100, 10);
  EXPECT_EQ(budget.decide(100, 10), SourceBudget::Decision::admit);
  EXPECT_EQ(budget.max_events(), 300u);
  budget.admit(100, 10);
  EXPECT_EQ(budget.decide(1, 1), SourceBudget::Decision::wait);
  EXPECT_EQ(budget.counters().resizes, 2u);
}

/// Drains slowly: sleeps for every chunk it is given, so the pipeline sustains only
/// `events_per_second` events of `events_per_chunk`-event chunks.
class SlowSink final : public Sink {
 public:
  SlowSink(std::string& out, milliseconds per_write) : out_(out), per_write_(per_write) {}
  void write(std::string_view text) override {
    std::this_thread::sleep_for(per_write_);
    out_.append(text);
  }
  void flush() override {}
  std::string describe() const override { return "slow"; }

 private:
  std::string& out_;
  milliseconds per_write_;
};

// A generator paced at 20 000 events/s cuts 200-event chunks every 10 ms; the sink takes 20 ms a
// chunk: the feed runs at twice what the pipeline sustains.
Config overloaded_config(const std::string& policy, std::uint64_t max_events) {
  const std::string text = R"yaml(
input:
  sources:
    - type: generator
      events: 8000
      sensors: 10
      rate: 20000
      seed: 7
  format:
    type: binary
    schema:
      eventTime: timestamp
      fields:
        - {name: timestamp, type: timestamp, unit: ms}
        - {name: sensor_id, type: int32}
        - {name: temperature, type: float64}
  buffer:
    policy: {overflow: )yaml" +
                           policy + R"yaml(}
    limits: {maxEvents: )yaml" +
                           std::to_string(max_events) +
                           R"yaml(, maxBytes: 1000000, resizeMaxEvents: 1200}
output:
  destinations:
    - type: jsonl
      path: out.jsonl
)yaml";
  return parse_config(text, "overload.yaml");
}

RunSummary run_overloaded(const Config& config, std::string& out) {
  RunOptions options;
  options.side_files = false;
  Executor executor(config, options);
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<SlowSink>(out, milliseconds(20)));
  return executor.run(executor.make_sources(), std::move(sinks));
}

std::uint64_t count_lines(const std::string& text) {
  return static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(FlowControlTest, BlockAtTwiceTheSustainableRateLosesNothing) {
  std::string out;
  const RunSummary summary = run_overloaded(overloaded_config("block", 600), out);
  EXPECT_EQ(summary.rows_decoded, 8000u);
  EXPECT_EQ(summary.rows_dropped, 0u);
  EXPECT_EQ(count_lines(out), 8000u);
  ASSERT_EQ(summary.sources.size(), 1u);
  const FlowCounters& flow = summary.sources[0].flow;
  EXPECT_GT(flow.time_blocked.count(), 0);
  EXPECT_LE(flow.peak_events, 600u);
  EXPECT_LE(flow.peak_bytes, 1'000'000u);
}

TEST(FlowControlTest, DropAtTwiceTheSustainableRateCountsEveryShedEvent) {
  std::string out;
  const RunSummary summary = run_overloaded(overloaded_config("drop", 600), out);
  EXPECT_GT(summary.rows_dropped, 0u);
  EXPECT_EQ(summary.rows_decoded + summary.rows_dropped, 8000u);
  EXPECT_EQ(count_lines(out), summary.rows_decoded);
  const FlowCounters& flow = summary.sources[0].flow;
  EXPECT_EQ(flow.events_dropped, summary.rows_dropped);
  EXPECT_GT(flow.chunks_dropped, 0u);
  EXPECT_LE(flow.peak_events, 600u);
}

TEST(FlowControlTest, ResizeGrowsToItsCapThenBlocks) {
  std::string out;
  const RunSummary summary = run_overloaded(overloaded_config("resize", 200), out);
  EXPECT_EQ(summary.rows_decoded, 8000u);
  EXPECT_EQ(summary.rows_dropped, 0u);
  const FlowCounters& flow = summary.sources[0].flow;
  EXPECT_GT(flow.resizes, 0u);
  EXPECT_LE(flow.peak_events, 1200u);
}

TEST(FlowControlTest, ThrottleHoldsASourceToItsRate) {
  Config config = overloaded_config("block", 1000);
  config.sources[0].generator.rate = 0;  // as fast as it can
  config.sources[0].throttle = {.rate = 40000, .burst = 1000};
  std::string out;
  RunOptions options;
  options.side_files = false;
  Executor executor(config, options);
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<testing::StringSink>(out));
  const RunSummary summary = executor.run(executor.make_sources(), std::move(sinks));
  EXPECT_EQ(summary.rows_decoded, 8000u);
  EXPECT_GT(summary.sources[0].flow.time_throttled.count(), 0);
}

/// What a LiveSource saw: the last acknowledged token, and for each wait whether the token
/// arrived in time. Shared, as the executor destroys its sources when the run ends.
struct AckRecord {
  std::mutex mutex;
  std::condition_variable acknowledged;
  std::uint64_t acked = 0;
  std::vector<bool> waits;
};

/// A live source: JSON chunks handed out one by one, each with an ack token; it records what
/// the executor acknowledged, and can wait in next() until a token is acknowledged.
class LiveSource final : public Source {
 public:
  struct Step {
    std::string json;            // the chunk's lines
    std::uint64_t wait_for = 0;  // before handing it out, wait (up to `patience`) for this ack
    milliseconds patience{0};
  };

  LiveSource(std::vector<Step> steps, std::shared_ptr<AckRecord> record)
      : steps_(std::move(steps)), record_(std::move(record)) {}

  bool next(RawChunk& chunk) override {
    if (position_ == steps_.size()) return false;
    const Step& step = steps_[position_];
    if (step.wait_for != 0) {
      std::unique_lock lock(record_->mutex);
      const bool arrived = record_->acknowledged.wait_for(
          lock, step.patience, [&] { return record_->acked >= step.wait_for; });
      record_->waits.push_back(arrived);
    }
    auto block = std::make_shared<std::string>(step.json);
    chunk.source_index = 0;
    chunk.stream_offset = offset_;
    chunk.bytes = {reinterpret_cast<const std::byte*>(block->data()), block->size()};
    chunk.records = static_cast<std::uint64_t>(std::count(block->begin(), block->end(), '\n'));
    chunk.ack_token = ++position_;
    offset_ += block->size();
    chunk.block = std::move(block);
    return true;
  }
  Format format() const override { return Format::json; }
  const std::string& name() const override { return name_; }
  std::uint64_t bytes_read() const override { return offset_; }
  bool replayable() const override { return false; }
  void acknowledge(std::uint64_t token) override {
    std::lock_guard lock(record_->mutex);
    EXPECT_GE(token, record_->acked) << "acknowledgements go backwards";
    record_->acked = token;
    record_->acknowledged.notify_all();
  }

 private:
  std::vector<Step> steps_;
  std::shared_ptr<AckRecord> record_;
  std::size_t position_ = 0;
  std::uint64_t offset_ = 0;
  std::string name_ = "live";
};

/// Runs `config` on one LiveSource made of `steps`; returns what it recorded.
std::shared_ptr<AckRecord> run_live(const Config& config, std::vector<LiveSource::Step> steps,
                                    std::string& out, RunSummary& summary) {
  RunOptions options;
  options.side_files = false;
  Executor executor(config, options);
  auto record = std::make_shared<AckRecord>();
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::make_unique<LiveSource>(std::move(steps), record));
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<testing::StringSink>(out));
  summary = executor.run(std::move(sources), std::move(sinks));
  return record;
}

const char* const kWindowedLive = R"yaml(
input:
  sources:
    - {type: generator, events: 1}
  format:
    type: json
    schema:
      eventTime: time
      fields:
        - {name: time, type: timestamp, unit: s}
        - {name: value, type: float64}
processing:
  watermark: {maxOutOfOrderness: 0s}
  windows:
    - {type: tumbling, size: 1m, metrics: [sum]}
output:
  destinations:
    - {type: jsonl, path: out.jsonl}
)yaml";

TEST(LiveSourceTest, AcknowledgesAChunkOnlyOnceItsWindowsAreEmitted) {
  // Chunk 1 falls in the window [0, 60 s); chunk 3 (70 s) moves the watermark past its end.
  std::vector<LiveSource::Step> steps = {
      {R"({"time": 1, "value": 1})"
       "\n"
       R"({"time": 10, "value": 2})"
       "\n"},
      {R"({"time": 20, "value": 3})"
       "\n",
       1, milliseconds(300)},  // window open: no ack
      {R"({"time": 70, "value": 4})"
       "\n"},
      {R"({"time": 71, "value": 5})"
       "\n",
       2, milliseconds(20000)},  // window emitted: acked
  };
  std::string out;
  RunSummary summary;
  auto record = run_live(parse_config(kWindowedLive, "live.yaml"), std::move(steps), out, summary);
  EXPECT_EQ(summary.rows_decoded, 5u);
  EXPECT_EQ(record->waits, (std::vector<bool>{false, true}));
  EXPECT_EQ(record->acked, 4u);  // the end of input emitted everything
  EXPECT_EQ(count_lines(out), 2u);
}

TEST(LiveSourceTest, AcknowledgesStatelessChunksAsSoonAsTheyAreWritten) {
  Config config = parse_config(kWindowedLive, "live.yaml");
  config.windows.clear();
  std::vector<LiveSource::Step> steps = {
      {R"({"time": 1, "value": 1})"
       "\n"},
      {R"({"time": 2, "value": 2})"
       "\n",
       1, milliseconds(20000)},
  };
  std::string out;
  RunSummary summary;
  auto record = run_live(config, std::move(steps), out, summary);
  EXPECT_EQ(record->waits, (std::vector<bool>{true}));
  EXPECT_EQ(record->acked, 2u);
  EXPECT_EQ(count_lines(out), 2u);
}

/// A destination that holds everything undelivered until the test lets it go.
class HoldingSink final : public Sink {
 public:
  explicit HoldingSink(std::atomic<bool>& released) : released_(released) {}
  void write(std::string_view text) override {
    produced_ += static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
  }
  void flush() override {}
  std::string describe() const override { return "holding"; }
  std::uint64_t produced() const override { return produced_; }
  std::uint64_t settled_through() const override { return released_ ? produced_.load() : 0; }

 private:
  std::atomic<bool>& released_;
  std::atomic<std::uint64_t> produced_{0};
};

TEST(LiveSourceTest, AcknowledgesOnlyWhatTheDestinationsDelivered) {
  Config config = parse_config(kWindowedLive, "live.yaml");
  config.windows.clear();
  std::vector<LiveSource::Step> steps = {
      {R"({"time": 1, "value": 1})"
       "\n"},
      {R"({"time": 2, "value": 2})"
       "\n",
       1, milliseconds(300)},  // held: no ack
      {R"({"time": 3, "value": 3})"
       "\n",
       2, milliseconds(20000)},  // released: acked
  };
  std::atomic<bool> released{false};
  std::thread releaser([&] {
    std::this_thread::sleep_for(milliseconds(600));
    released = true;
  });
  RunOptions options;
  options.side_files = false;
  Executor executor(config, options);
  auto record = std::make_shared<AckRecord>();
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::make_unique<LiveSource>(std::move(steps), record));
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<HoldingSink>(released));
  executor.run(std::move(sources), std::move(sinks));
  releaser.join();
  EXPECT_EQ(record->waits, (std::vector<bool>{false, true}));
  EXPECT_EQ(record->acked, 3u);
}

}  // namespace
}  // namespace ldh
