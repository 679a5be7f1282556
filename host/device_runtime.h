#pragma once

// The host's half of running a pipeline's stateless stages on a device. The host checks frame
// headers exactly as the CPU binary decoder does and packs the records of good frames back to
// back into pinned staging; it resolves string slots through the run's one StringDictionary
// (so ids never come from anywhere else); it writes a dead letter for each record the device
// rejects with the CPU decoder's own reason and words; and it keeps the plan's stage counters.
// Everything here is plain C++ and runs in builds without CUDA; only make_device_chunk_runner
// needs a device.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ingest/decoder.h"
#include "ingest/string_cache.h"
#include "kernels/device_pipeline.h"
#include "pipeline/plan.h"
#include "pipeline/value_sort.h"
#include "pipeline/window_partial.h"

namespace ldh {

/// Whole records of one frame that matches the schema: `count` records from byte `offset`.
struct RecordRun {
  std::size_t offset = 0;
  std::size_t count = 0;
};

/// Walks the frames of a binary chunk the way the CPU decoder does and returns the runs of
/// records to decode; frames that cannot be decoded (garbage, truncated, another schema) are
/// dead-lettered into target.dead_letters, in stream order, with the CPU decoder's words.
std::vector<RecordRun> index_binary_chunk(std::span<const std::byte> chunk,
                                          std::uint64_t chunk_offset, const Schema& schema,
                                          const DecodeTarget& target);

/// The records of one device batch: pieces of runs, in stream order.
struct DeviceBatchSlice {
  std::vector<RecordRun> pieces;
  std::size_t records = 0;
};

/// Cuts runs of `record_size`-byte records into batches of at most `capacity` records,
/// filling each batch before the next.
std::vector<DeviceBatchSlice> schedule_device_batches(const std::vector<RecordRun>& runs,
                                                      std::size_t record_size,
                                                      std::size_t capacity);

/// Describes `schema`'s binary records to the decode kernel; field i goes to field_slots[i].
BinaryDecodeLayout make_binary_decode_layout(const Schema& schema, bool validate,
                                             const std::vector<int>& field_slots);

/// Says whether a plan's operators can run on a device, and in which form.
struct DeviceStagePlan {
  bool supported = false;
  std::string why_not;  // when not supported
  StageImage stages;
};

/// Flattens the plan's filters and transforms into a StageImage; casts between strings and
/// other types need the dictionary, so a plan with one stays on the CPU.
DeviceStagePlan plan_device_stages(const Plan& plan);

/// Adds one batch to the plan's operator counters as the CPU stages would: `counts` holds the
/// rows that ended the batch with each selection code (code 0, dead records, not counted).
void add_stage_counters(const Plan& plan, const SelectionCounts& counts);

/// Resolves binary string slots to dictionary ids with the CPU decoder's checks (NUL padding;
/// UTF-8 when validating) and the same cache of recently seen slots.
class StringSlotResolver {
 public:
  StringSlotResolver(bool validate, StringDictionary& strings);
  /// Returns the id of the slot's text, or -1 when the slot fails a check. A slot seen
  /// recently is a cache hit, inline; others are checked and interned.
  std::int32_t resolve(const char* slot, std::uint32_t width) {
    const std::int32_t id = cache_.find(slot, width);
    return id >= 0 ? id : resolve_missing(slot, width);
  }

 private:
  std::int32_t resolve_missing(const char* slot, std::uint32_t width);

  bool validate_;
  StringDictionary& strings_;
  StringCache cache_;
};

/// Writes the dead letter of a record the device rejected by running the CPU decoder on it
/// alone, so the reason and the words are the CPU's by construction.
class DeadRecordWriter {
 public:
  DeadRecordWriter(const Schema& schema, bool validate);
  /// Appends the dead letter of the record at `offset` in `chunk` to target.dead_letters;
  /// throws LogicError when the CPU decoder accepts the record.
  void write(std::span<const std::byte> chunk, std::uint64_t chunk_offset, std::size_t offset,
             const DecodeTarget& target);

 private:
  std::unique_ptr<Decoder> decoder_;
  EventBatch scratch_;
  std::string frame_;
  std::uint32_t schema_id_;
  std::uint32_t record_size_;
};

/// Runs the decode, filters and transforms of binary chunks through a BatchProcessor (a device
/// pipeline), with up to processor.lanes() batches of a chunk in flight. One per worker thread.
class DeviceChunkRunner {
 public:
  /// Receives each batch of result rows in stream order, with the rows the device decoded for
  /// it (the batch itself holds only the kept rows).
  using Consumer = std::function<void(EventBatch& batch, std::uint64_t rows_decoded)>;

  DeviceChunkRunner(const Plan& plan, bool validate, StringDictionary& strings,
                    std::unique_ptr<BatchProcessor> processor);

  /// Decodes `chunk` and applies the plan's stages, handing results to `consume` through
  /// `batch` and appending dead letters (frames and records, in stream order).
  void run(std::span<const std::byte> chunk, std::uint64_t chunk_offset, std::uint32_t source_index,
           EventBatch& batch, std::vector<DeadLetter>& dead_letters, const Consumer& consume);

 private:
  struct StringField {
    std::uint32_t offset;
    std::uint32_t width;
  };
  void stage(std::span<const std::byte> chunk, const DeviceBatchSlice& slice,
             const BatchStaging& staging);
  void finish_oldest(std::span<const std::byte> chunk, std::uint64_t chunk_offset,
                     std::uint32_t source_index, EventBatch& batch, const Consumer& consume);

  const Plan& plan_;
  StringDictionary& strings_;
  std::unique_ptr<BatchProcessor> processor_;
  std::size_t record_size_;
  std::vector<StringField> string_fields_;
  StringSlotResolver resolver_;
  DeadRecordWriter dead_records_;
  std::deque<const DeviceBatchSlice*> in_flight_;
  BatchOutcome outcome_;
  std::vector<DeadLetter> frame_letters_;
  std::vector<DeadLetter> record_letters_;
};

/// Creates a runner whose processor is a CUDA pipeline on `device` with `capacity` records per
/// batch and two lanes. Throws DeviceError in a build without CUDA or when the device fails.
std::unique_ptr<DeviceChunkRunner> make_device_chunk_runner(const Plan& plan,
                                                            const StageImage& stages, bool validate,
                                                            StringDictionary& strings, int device,
                                                            std::size_t capacity,
                                                            bool keep_rejected);

/// Returns what folds window rows into partials: CUDA device `device` when >= 0 (throws
/// DeviceError in a build without CUDA or when the device fails), else the host.
std::unique_ptr<PaneAggregator> make_pane_aggregator(int device);

/// Returns what sorts the values of exact percentiles in bulk: CUDA device `device` when >= 0
/// (throws DeviceError in a build without CUDA or when the device fails), else the host.
std::unique_ptr<ValueSorter> make_value_sorter(int device);

}  // namespace ldh
