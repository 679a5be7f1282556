// The host side of the device pipeline, without a GPU: frame indexing, batch scheduling, string
// resolution, dead letters, stage counters and memory-pool accounting, plus the per-row decode,
// filter and transform functions the kernels run, driven here by a host BatchProcessor and
// compared byte for byte with the CPU path.

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "device_pipeline_test_support.h"
#include "host/executor.h"
#include "kernels/memory_pool.h"
#include "pipeline/transform.h"

namespace ldh {
namespace {

using testing::device_pipelines;
using testing::expect_same_texts;
using testing::run_on_cpu;
using testing::run_on_device;
using testing::schema_yaml;
using testing::StreamWriter;

/// Runs batches through the same per-row functions as the kernels, stage by stage over whole
/// batches like the kernel launches, then compacts as the device does.
class HostBatchProcessor final : public BatchProcessor {
 public:
  explicit HostBatchProcessor(const DevicePipelineSpec& spec) : spec_(spec) {
    for (std::size_t i = 0; i < spec.lanes; ++i) lanes_.push_back(std::make_unique<Lane>(spec));
  }

  std::size_t capacity() const override { return spec_.capacity; }
  std::size_t lanes() const override { return lanes_.size(); }
  std::size_t in_flight() const override { return in_flight_.size(); }

  BatchStaging staging() override {
    EXPECT_LT(in_flight_.size(), lanes_.size());
    Lane& lane = *lanes_[next_];
    return {lane.records.data(), lane.string_ids.data()};
  }

  void submit(std::size_t records, std::int64_t processing_time_ns) override {
    Lane& lane = *lanes_[next_];
    lane.count = records;
    lane.processing_time_ns = processing_time_ns;
    EventBatchView view = lane.decoded.view();
    const BinaryDecodeLayout& layout = spec_.layout;
    for (std::size_t row = 0; row < records; ++row) {
      const bool good = decode_binary_record(layout, lane.records.data() + row * layout.record_size,
                                             lane.string_ids.data() + row * layout.string_count,
                                             view.columns.data(), row);
      view.selection[row] = good ? kLive : 0;
    }
    const StageTables tables = spec_.stages.host_tables();
    const double now_ms = timestamp_milliseconds(processing_time_ns);
    for (const DeviceStage& stage : spec_.stages.stages) {
      for (std::size_t row = 0; row < records; ++row) {
        if (stage.filter) {
          filter_row(stage.rules, tables, view.columns.data(), view.selection, row, now_ms);
        } else {
          transform_stage_row(stage, tables, view.columns.data(), row, now_ms, processing_time_ns);
        }
      }
    }
    in_flight_.push_back(next_);
    next_ = (next_ + 1) % lanes_.size();
  }

  void collect(EventBatch& batch, BatchOutcome& outcome) override {
    Lane& lane = *lanes_[in_flight_.front()];
    in_flight_.pop_front();
    const std::uint8_t* selection = lane.decoded.selection();
    outcome = BatchOutcome{};
    outcome.processing_time_ns = lane.processing_time_ns;
    batch.clear();
    for (std::size_t row = 0; row < lane.count; ++row) {
      ++outcome.counts.codes[selection[row]];
      if (selection[row] == 0) outcome.dead_rows.push_back(static_cast<std::uint32_t>(row));
      if (!row_is_kept(selection[row], spec_.keep_rejected)) continue;
      const std::size_t to = batch.size();
      batch.resize(to + 1);
      for (std::size_t slot = 0; slot < spec_.slots.size(); ++slot) {
        const Column& from = lane.decoded.column(slot);
        Column& into = batch.column(slot);
        const std::size_t width = storage_width(from.type());
        std::memcpy(into.data<char>() + to * width, from.data<char>() + row * width, width);
        if (from.nullable()) into.validity()[to] = from.validity()[row];
      }
      batch.selection()[to] = selection[row];
    }
  }

 private:
  struct Lane {
    explicit Lane(const DevicePipelineSpec& spec)
        : records(spec.capacity * spec.layout.record_size),
          string_ids(spec.capacity * spec.layout.string_count + 1),
          decoded(spec.slots, spec.capacity, page_aligned_memory()) {
      decoded.resize(spec.capacity);
    }
    std::vector<unsigned char> records;
    std::vector<std::int32_t> string_ids;
    EventBatch decoded;
    std::size_t count = 0;
    std::int64_t processing_time_ns = 0;
  };

  DevicePipelineSpec spec_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::deque<std::size_t> in_flight_;
  std::size_t next_ = 0;
};

std::unique_ptr<BatchProcessor> host_processor(const DevicePipelineSpec& spec) {
  return std::make_unique<HostBatchProcessor>(spec);
}

TEST(DevicePipeline, HostRunOfTheKernelFunctionsMatchesTheCpuPathByteForByte) {
  const char* const units[] = {"s", "ms", "ns"};
  const std::size_t capacities[] = {1, 7, 1000, 65536};
  std::uint64_t seed = 11;
  for (std::size_t p = 0; p < device_pipelines().size(); ++p) {
    for (const char* unit : units) {
      const Config config = parse_config(
          testing::with_reject_folder(schema_yaml(unit) + device_pipelines()[p], "rejects"),
          "device.yaml");
      for (double bad_share : {0.0, 0.05}) {
        ++seed;
        StreamWriter writer(config.format.schema, seed);
        const std::string input = writer.write(3000 + seed % 1000, bad_share);
        const testing::RunTexts cpu = run_on_cpu(config, input, 777, 1000);
        for (std::size_t capacity : capacities) {
          SCOPED_TRACE("pipeline " + std::to_string(p) + ", unit " + unit + ", seed " +
                       std::to_string(seed) + ", capacity " + std::to_string(capacity));
          expect_same_texts(cpu, run_on_device(config, input, capacity, 1000, host_processor));
        }
        EXPECT_GT(cpu.rows_out, 0u);
      }
    }
  }
}

TEST(DevicePipeline, LiveRowsOnlyWhenNoRejectFileWantsThem) {
  std::string stages = device_pipelines()[0];
  // Without reject files the processor brings back live rows only.
  for (std::size_t at = stages.find("        rejects:"); at != std::string::npos;
       at = stages.find("        rejects:")) {
    stages.erase(at, stages.find('\n', at) + 1 - at);
  }
  const Config config = parse_config(schema_yaml("ms") + stages, "device.yaml");
  StreamWriter writer(config.format.schema, 5);
  const std::string input = writer.write(5000, 0.02);
  expect_same_texts(run_on_cpu(config, input, 65536, 65536),
                    run_on_device(config, input, 4096, 65536, host_processor));
}

TEST(DevicePipeline, EmptyAndDeadOnlyChunks) {
  const Config config = parse_config(schema_yaml("ms") + device_pipelines()[1], "device.yaml");
  StreamWriter writer(config.format.schema, 9);
  for (const std::string& input :
       {std::string(), std::string("LDH"), std::string("garbage that is no frame"),
        writer.write(50, 1.0), writer.write(0, 0.0)}) {
    expect_same_texts(run_on_cpu(config, input, 64, 1000),
                      run_on_device(config, input, 64, 1000, host_processor));
  }
}

TEST(DevicePipeline, ScheduleFillsBatchesInStreamOrder) {
  const std::vector<RecordRun> runs = {{24, 5}, {200, 0}, {300, 7}, {1000, 1}};
  const auto slices = schedule_device_batches(runs, 10, 4);
  ASSERT_EQ(slices.size(), 4u);
  EXPECT_EQ(slices[0].records, 4u);
  EXPECT_EQ(slices[1].records, 4u);
  EXPECT_EQ(slices[2].records, 4u);
  EXPECT_EQ(slices[3].records, 1u);
  ASSERT_EQ(slices[1].pieces.size(), 2u);
  EXPECT_EQ(slices[1].pieces[0].offset, 64u);  // the fifth record of the first run
  EXPECT_EQ(slices[1].pieces[0].count, 1u);
  EXPECT_EQ(slices[1].pieces[1].offset, 300u);
  EXPECT_EQ(slices[1].pieces[1].count, 3u);
  EXPECT_EQ(slices[2].pieces[0].offset, 330u);
  EXPECT_EQ(slices[3].pieces[0].offset, 1000u);
  EXPECT_TRUE(schedule_device_batches({}, 10, 4).empty());
}

TEST(DevicePipeline, FrameIndexSkipsWhatTheCpuDecoderDeadLetters) {
  const Config config = parse_config(schema_yaml("ms") + device_pipelines()[2], "device.yaml");
  const Schema& schema = config.format.schema;
  std::string stream = "junk";
  FrameHeader header;
  header.schema_id = schema.id;
  header.record_count = 2;
  header.record_size = static_cast<std::uint32_t>(schema.binary_record_size());
  append_frame_header(stream, header);
  stream.append(2 * schema.binary_record_size(), '\0');
  header.schema_id ^= 7;
  append_frame_header(stream, header);
  stream.append(2 * schema.binary_record_size(), '\0');
  header.schema_id = schema.id;
  append_frame_header(stream, header);
  stream.append(schema.binary_record_size(), '\0');  // cut after one record
  std::vector<DeadLetter> letters;
  StringDictionary strings;
  DecodeTarget target;
  target.strings = &strings;
  target.dead_letters = &letters;
  const auto runs = index_binary_chunk(std::as_bytes(std::span(stream.data(), stream.size())), 100,
                                       schema, target);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].offset, 4u + kFrameHeaderBytes);
  EXPECT_EQ(runs[0].count, 2u);
  ASSERT_EQ(letters.size(), 3u);
  EXPECT_EQ(letters[0].reason, DeadLetterReason::malformed);
  EXPECT_EQ(letters[0].offset, 100u);
  EXPECT_EQ(letters[1].reason, DeadLetterReason::schema_mismatch);
  EXPECT_EQ(letters[2].reason, DeadLetterReason::truncated);
}

TEST(DevicePipeline, DeadRecordWriterRefusesAGoodRecord) {
  const Config config = parse_config(schema_yaml("ms") + device_pipelines()[2], "device.yaml");
  const Schema& schema = config.format.schema;
  std::string stream;
  FrameHeader header;
  header.schema_id = schema.id;
  header.record_count = 1;
  header.record_size = static_cast<std::uint32_t>(schema.binary_record_size());
  append_frame_header(stream, header);
  stream.append(schema.binary_record_size(), '\0');
  StringDictionary strings;
  std::vector<DeadLetter> letters;
  DecodeTarget target;
  target.strings = &strings;
  target.dead_letters = &letters;
  DeadRecordWriter writer(schema, true);
  const auto bytes = std::as_bytes(std::span(stream.data(), stream.size()));
  EXPECT_THROW(writer.write(bytes, 0, kFrameHeaderBytes, target), LogicError);
  stream[kFrameHeaderBytes + schema.binary_offset(6)] = 7;  // `active` is a bool
  writer.write(std::as_bytes(std::span(stream.data(), stream.size())), 1000, kFrameHeaderBytes,
               target);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].offset, 1000u + kFrameHeaderBytes);
  EXPECT_EQ(letters[0].reason, DeadLetterReason::wrong_type);
  EXPECT_EQ(letters[0].record.size(), schema.binary_record_size());
}

TEST(DevicePipeline, StringCastsStayOnTheCpu) {
  const Config config = parse_config(schema_yaml("ms") + R"yaml(
    - name: text
      type: transform
      config:
        operations:
          - {type: cast, field: id, to: string}
)yaml",
                                     "device.yaml");
  StringDictionary strings;
  Plan plan(config, strings);
  const DeviceStagePlan stages = plan_device_stages(plan);
  EXPECT_FALSE(stages.supported);
  EXPECT_NE(stages.why_not.find("stage 'text'"), std::string::npos) << stages.why_not;
  EXPECT_NE(stages.why_not.find("dictionary"), std::string::npos) << stages.why_not;
}

TEST(DevicePipeline, BackendNoteSaysWhatRunsWhere) {
  RunOptions options;
  options.device = 0;  // planning only: no CUDA call happens before run()
  const Config plain = parse_config(schema_yaml("ms") + device_pipelines()[1], "device.yaml");
  Executor executor(plain, options);
  EXPECT_EQ(executor.backend_note({Format::binary}),
            "binary input is decoded, filtered and transformed on the GPU");
  EXPECT_EQ(executor.backend_note({Format::binary, Format::json}),
            "binary input is decoded, filtered and transformed on the GPU; json input runs on the "
            "CPU");
  EXPECT_EQ(executor.backend_note({Format::protobuf}),
            "pipeline stages run on the CPU: the device decodes binary input only");
  std::string windowed = schema_yaml("ms") + device_pipelines()[1];
  windowed.insert(windowed.find("    schema:\n") + 12, "      eventTime: ts\n");
  windowed += R"yaml(
  windows:
    - {type: tumbling, size: 1m, metrics: [count, p50], measures: [temperature]}
)yaml";
  EXPECT_EQ(Executor(parse_config(windowed, "device.yaml"), options).backend_note({Format::json}),
            "pipeline stages run on the CPU: the device decodes binary input only; window rows are "
            "added on the CPU");
  options.fold_windows = true;
  EXPECT_EQ(Executor(parse_config(windowed, "device.yaml"), options).backend_note({Format::json}),
            "pipeline stages run on the CPU: the device decodes binary input only; window rows are "
            "folded and percentile values sorted on the GPU, window state stays on the CPU");
  options.device = -1;
  EXPECT_EQ(Executor(plain, options).backend_note({Format::binary}), "");
}

TEST(DevicePipeline, TimestampScalingMatchesOverflowBuiltin) {
  const std::int64_t counts[] = {0,
                                 1,
                                 -1,
                                 9'223'372'036,
                                 9'223'372'037,
                                 -9'223'372'036,
                                 -9'223'372'037,
                                 9'223'372'036'854,
                                 9'223'372'036'855,
                                 -9'223'372'036'854,
                                 -9'223'372'036'855,
                                 std::numeric_limits<std::int64_t>::max(),
                                 std::numeric_limits<std::int64_t>::min()};
  for (std::int64_t unit : {1LL, 1'000LL, 1'000'000LL, 1'000'000'000LL}) {
    for (std::int64_t count : counts) {
      std::int64_t expected = 0;
      std::int64_t scaled = 0;
      const bool overflow = __builtin_mul_overflow(count, unit, &expected);
      EXPECT_EQ(scale_timestamp(count, unit, &scaled), !overflow) << count << " * " << unit;
      if (!overflow) {
        EXPECT_EQ(scaled, expected);
      }
    }
  }
}

TEST(MemoryPool, ArenaOffsetsAreAligned) {
  ArenaLayout layout;
  EXPECT_EQ(layout.reserve(10), 0u);
  EXPECT_EQ(layout.reserve(1), 256u);
  EXPECT_EQ(layout.reserve(0), 512u);
  EXPECT_EQ(layout.reserve(300), 512u);
  EXPECT_EQ(layout.size(), 812u);
}

TEST(MemoryPool, BlocksAreReusedBestFitAndTheLimitHolds) {
  std::vector<std::unique_ptr<char[]>> memory;
  std::size_t allocations = 0;
  std::size_t releases = 0;
  BlockPool pool(
      "test pool", 1000,
      [&](std::size_t bytes) {
        ++allocations;
        memory.push_back(std::make_unique<char[]>(bytes));
        return static_cast<void*>(memory.back().get());
      },
      [&](void*) { ++releases; });
  void* big = pool.acquire(600);
  void* small = pool.acquire(100);
  EXPECT_EQ(pool.held_bytes(), 700u);
  EXPECT_EQ(pool.lent_bytes(), 700u);
  pool.give_back(big);
  pool.give_back(small);
  EXPECT_EQ(pool.lent_bytes(), 0u);
  EXPECT_EQ(pool.acquire(90), small);  // best fit
  EXPECT_EQ(pool.reuses(), 1u);
  void* other = pool.acquire(250);  // 600 would waste more than half: a new block
  EXPECT_NE(other, big);
  EXPECT_EQ(allocations, 3u);
  EXPECT_EQ(pool.held_bytes(), 950u);
  // Passing the limit first frees cached blocks, then fails clearly.
  void* more = pool.acquire(610);
  EXPECT_EQ(releases, 1u);
  EXPECT_EQ(pool.held_bytes(), 960u);
  EXPECT_THROW(pool.acquire(200), DeviceError);
  EXPECT_EQ(pool.peak_bytes(), 960u);
  EXPECT_THROW(pool.give_back(&releases), LogicError);
  {
    PooledBlock block(pool, 0);
    EXPECT_EQ(pool.lent_bytes(), 960u);
  }
  pool.give_back(more);
  pool.give_back(other);
  pool.give_back(small);
  EXPECT_EQ(pool.lent_bytes(), 0u);
}

}  // namespace
}  // namespace ldh
