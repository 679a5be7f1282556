// The host's share of the device path, measurable without a device: DeviceChunkRunner over the
// demo's binary frames with a processor that does no work, so what is timed is what the host
// does per batch around a GPU (indexing frames, staging records into the transfer buffer,
// resolving string slots to dictionary ids, handing rows on). On an H200 the device pipeline
// ran at 125.1 M events/s without the string fields and 26.3 M with them (docs/performance.md),
// which this isolates.

#include <benchmark/benchmark.h>

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "demo_frames.h"
#include "host/device_runtime.h"
#include "pipeline/memory.h"

namespace ldh {
namespace {

/// Takes batches and hands each back with every row kept and the columns untouched: a device
/// that costs the host nothing.
class IdleProcessor final : public BatchProcessor {
 public:
  IdleProcessor(std::size_t capacity, std::size_t record_size, std::size_t string_count)
      : capacity_(capacity),
        records_(2 * capacity * record_size),
        string_ids_(2 * capacity * string_count + 1),
        record_size_(record_size),
        string_count_(string_count) {}

  std::size_t capacity() const override { return capacity_; }
  std::size_t lanes() const override { return 2; }
  std::size_t in_flight() const override { return in_flight_.size(); }
  BatchStaging staging() override {
    const std::size_t lane = next_ % 2;
    return {records_.data() + lane * capacity_ * record_size_,
            string_ids_.data() + lane * capacity_ * string_count_};
  }
  void submit(std::size_t records, std::int64_t processing_time_ns) override {
    in_flight_.push_back({records, processing_time_ns});
    ++next_;
  }
  void collect(EventBatch& batch, BatchOutcome& outcome) override {
    const auto [records, processing_time_ns] = in_flight_.front();
    in_flight_.pop_front();
    batch.clear();
    batch.resize(records);
    outcome = BatchOutcome{};
    outcome.counts.codes[kLive] = records;
    outcome.processing_time_ns = processing_time_ns;
  }

 private:
  struct Submitted {
    std::size_t records;
    std::int64_t processing_time_ns;
  };
  std::size_t capacity_;
  std::vector<unsigned char> records_;
  std::vector<std::int32_t> string_ids_;
  std::size_t record_size_;
  std::size_t string_count_;
  std::deque<Submitted> in_flight_;
  std::size_t next_ = 0;
};

/// 4 M demo events cut into 64 Ki-record chunks; range(0) = 1 with the demo's two string
/// fields, 0 with them left out of the schema.
void BM_DeviceRunnerHostShare(benchmark::State& state) {
  constexpr std::uint64_t kEvents = 4'000'000;
  constexpr std::size_t kChunkRecords = 65536;
  DemoFrames frames;
  try {
    frames = make_demo_frames(kEvents, kChunkRecords, state.range(0) != 0);
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
    return;
  }
  StringDictionary strings;
  Plan plan(frames.config, strings);
  std::size_t string_count = 0;
  for (const Field& field : plan.schema().fields) string_count += field.type == DataType::string;
  DeviceChunkRunner runner(plan, true, strings,
                           std::make_unique<IdleProcessor>(
                               kChunkRecords, plan.schema().binary_record_size(), string_count));
  EventBatch batch(plan.slots(), kChunkRecords, page_aligned_memory());
  const auto bytes = frames.bytes();
  std::vector<DeadLetter> letters;
  std::uint64_t handed_on = 0;
  for (auto _ : state) {
    for (const auto& [offset, length] : frames.chunks) {
      letters.clear();
      runner.run(bytes.subspan(offset, length), offset, 0, batch, letters,
                 [&](EventBatch& rows, std::uint64_t) { handed_on += rows.size(); });
    }
  }
  if (handed_on != kEvents * state.iterations()) state.SkipWithError("rows went missing");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frames.input.size()));
}
BENCHMARK(BM_DeviceRunnerHostShare)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ldh

BENCHMARK_MAIN();
