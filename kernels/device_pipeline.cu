#include "kernels/device_pipeline.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <string>
#include <utility>

#include "kernels/cuda_check.cuh"
#include "kernels/launch.cuh"
#include "kernels/memory_pool.h"
#include "kernels/stream.cuh"

namespace ldh {
namespace {

__global__ void transform_rows(DeviceStage stage, StageTables tables, EventBatchDeviceView batch,
                               std::size_t count, double now_ms, std::int64_t processing_time_ns) {
  for (std::size_t row = first_row(); row < count; row += row_stride()) {
    transform_stage_row(stage, tables, batch.columns, row, now_ms, processing_time_ns);
  }
}

void launch_transform_stage(const DeviceStage& stage, const StageTables& tables,
                            const EventBatchDeviceView& batch, std::size_t count, double now_ms,
                            std::int64_t processing_time_ns, cudaStream_t stream) {
  if (count == 0 || stage.transform_count == 0) return;
  transform_rows<<<row_blocks(count), kRowThreads, 0, stream>>>(stage, tables, batch, count, now_ms,
                                                                processing_time_ns);
  LDH_CUDA_CHECK_LAUNCH();
}

/// What a batch's compaction leaves for the host, copied back in one transfer.
struct BatchTotals {
  SelectionCounts counts;
  long long selected;
};

/// Reserves one column set (values, validity for nullable slots, selection) in `layout`.
struct ColumnOffsets {
  std::vector<std::size_t> values;
  std::vector<std::size_t> validity;  // SIZE_MAX for slots without nulls
  std::size_t selection = 0;
};

ColumnOffsets reserve_columns(ArenaLayout& layout, const std::vector<SlotSpec>& slots,
                              std::size_t capacity) {
  ColumnOffsets offsets;
  for (const SlotSpec& slot : slots) {
    offsets.values.push_back(layout.reserve(capacity * storage_width(slot.type)));
    offsets.validity.push_back(slot.nullable ? layout.reserve(capacity) : SIZE_MAX);
  }
  offsets.selection = layout.reserve(capacity);
  return offsets;
}

EventBatchDeviceView columns_at(const PooledBlock& block, const ColumnOffsets& offsets,
                                const std::vector<SlotSpec>& slots, std::size_t capacity) {
  EventBatchDeviceView view{};
  for (std::size_t slot = 0; slot < slots.size(); ++slot) {
    view.columns[slot].type = slots[slot].type;
    view.columns[slot].data = block.at<void>(offsets.values[slot]);
    view.columns[slot].validity = offsets.validity[slot] == SIZE_MAX
                                      ? nullptr
                                      : block.at<std::uint8_t>(offsets.validity[slot]);
  }
  view.selection = block.at<std::uint8_t>(offsets.selection);
  view.slot_count = static_cast<std::uint32_t>(slots.size());
  view.size = static_cast<std::uint32_t>(capacity);
  return view;
}

/// One batch in flight: its stream, device buffers and pinned staging.
struct Lane {
  Stream stream;
  Event totals_ready;  // the kept-row count and selection counts are in host_totals
  Event rows_ready;    // the kept rows are in the host batch
  PooledBlock device;
  PooledBlock pinned;
  unsigned char* records = nullptr;
  std::int32_t* string_ids = nullptr;
  EventBatchDeviceView decoded{};
  EventBatchDeviceView kept{};
  CompactionBuffers compaction;
  BatchTotals* totals = nullptr;
  BatchStaging staging;
  BatchTotals* host_totals = nullptr;
  std::uint8_t* host_selection = nullptr;
  std::size_t records_count = 0;
  std::int64_t processing_time_ns = 0;
};

class DevicePipeline final : public BatchProcessor {
 public:
  explicit DevicePipeline(const DevicePipelineSpec& spec) : spec_(spec), capacity_(spec.capacity) {
    LDH_EXPECTS(capacity_ > 0 && capacity_ < (std::size_t{1} << 31),
                "device batch capacity out of range");
    LDH_EXPECTS(spec.lanes >= 1, "a device pipeline needs a lane");
    LDH_EXPECTS(spec.slots.size() <= kMaxSlots, "too many column slots for a device batch");
    LDH_CUDA_TRY(cudaSetDevice(spec.device));
    upload_stages();
    const std::size_t scratch = compaction_scratch_bytes(capacity_);
    for (std::size_t i = 0; i < spec.lanes; ++i) lanes_.push_back(make_lane(scratch));
  }

  DevicePipeline(const DevicePipeline&) = delete;
  DevicePipeline& operator=(const DevicePipeline&) = delete;

  ~DevicePipeline() override {
    // Pooled blocks go back for reuse only once nothing in flight still touches them.
    for (auto& lane : lanes_) cudaStreamSynchronize(lane->stream.get());
  }

  std::size_t capacity() const override { return capacity_; }
  std::size_t lanes() const override { return lanes_.size(); }
  std::size_t in_flight() const override { return in_flight_.size(); }

  BatchStaging staging() override {
    LDH_EXPECTS(in_flight_.size() < lanes_.size(), "every lane is in flight");
    return lanes_[next_]->staging;
  }

  void submit(std::size_t records, std::int64_t processing_time_ns) override {
    LDH_EXPECTS(in_flight_.size() < lanes_.size(), "every lane is in flight");
    LDH_EXPECTS(records <= capacity_, "batch larger than the device capacity");
    Lane& lane = *lanes_[next_];
    const cudaStream_t stream = lane.stream.get();
    lane.records_count = records;
    lane.processing_time_ns = processing_time_ns;
    const BinaryDecodeLayout& layout = spec_.layout;
    if (records > 0) {
      LDH_CUDA_TRY(cudaMemcpyAsync(lane.records, lane.staging.records, records * layout.record_size,
                                   cudaMemcpyHostToDevice, stream));
      if (layout.string_count > 0) {
        LDH_CUDA_TRY(cudaMemcpyAsync(lane.string_ids, lane.staging.string_ids,
                                     records * layout.string_count * sizeof(std::int32_t),
                                     cudaMemcpyHostToDevice, stream));
      }
    }
    launch_binary_decode(layout, lane.records, lane.string_ids, records, lane.decoded, stream);
    const double now_ms = timestamp_milliseconds(processing_time_ns);
    for (const DeviceStage& stage : spec_.stages.stages) {
      if (stage.filter) {
        launch_filter_stage(stage.rules, tables_, lane.decoded, records, now_ms, stream);
      } else {
        launch_transform_stage(stage, tables_, lane.decoded, records, now_ms, processing_time_ns,
                               stream);
      }
    }
    launch_compaction(lane.decoded, lane.kept, records, spec_.keep_rejected, lane.compaction,
                      stream);
    LDH_CUDA_TRY(cudaMemcpyAsync(lane.host_totals, lane.totals, sizeof(BatchTotals),
                                 cudaMemcpyDeviceToHost, stream));
    LDH_CUDA_TRY(cudaEventRecord(lane.totals_ready.get(), stream));
    in_flight_.push_back(next_);
    next_ = (next_ + 1) % lanes_.size();
  }

  void collect(EventBatch& batch, BatchOutcome& outcome) override {
    LDH_EXPECTS(!in_flight_.empty(), "collect without a batch in flight");
    LDH_EXPECTS(batch.capacity() >= capacity_ && batch.slot_count() == spec_.slots.size(),
                "host batch does not match the device pipeline");
    Lane& lane = *lanes_[in_flight_.front()];
    in_flight_.pop_front();
    const cudaStream_t stream = lane.stream.get();
    LDH_CUDA_TRY(cudaEventSynchronize(lane.totals_ready.get()));
    const auto kept = static_cast<std::size_t>(lane.host_totals->selected);
    LDH_EXPECTS(kept <= lane.records_count, "compaction kept more rows than it was given");
    batch.clear();
    batch.resize(kept);
    if (kept > 0) {
      for (std::size_t slot = 0; slot < spec_.slots.size(); ++slot) {
        Column& column = batch.column(slot);
        const ColumnView& from = lane.kept.columns[slot];
        LDH_EXPECTS(column.type() == from.type && column.nullable() == (from.validity != nullptr),
                    "host batch slot differs from the device's");
        LDH_CUDA_TRY(cudaMemcpyAsync(column.data<void>(), from.data,
                                     kept * storage_width(from.type), cudaMemcpyDeviceToHost,
                                     stream));
        if (from.validity != nullptr) {
          LDH_CUDA_TRY(cudaMemcpyAsync(column.validity(), from.validity, kept,
                                       cudaMemcpyDeviceToHost, stream));
        }
      }
      LDH_CUDA_TRY(cudaMemcpyAsync(batch.selection(), lane.kept.selection, kept,
                                   cudaMemcpyDeviceToHost, stream));
    }
    const bool any_dead = lane.host_totals->counts.codes[0] != 0;
    if (any_dead) {
      LDH_CUDA_TRY(cudaMemcpyAsync(lane.host_selection, lane.decoded.selection, lane.records_count,
                                   cudaMemcpyDeviceToHost, stream));
    }
    LDH_CUDA_TRY(cudaEventRecord(lane.rows_ready.get(), stream));
    LDH_CUDA_TRY(cudaEventSynchronize(lane.rows_ready.get()));
    outcome.counts = lane.host_totals->counts;
    outcome.processing_time_ns = lane.processing_time_ns;
    outcome.dead_rows.clear();
    if (any_dead) {
      for (std::size_t row = 0; row < lane.records_count; ++row) {
        if (lane.host_selection[row] == 0)
          outcome.dead_rows.push_back(static_cast<std::uint32_t>(row));
      }
    }
  }

 private:
  /// Copies the stage image's arrays to the device once; every lane reads them.
  void upload_stages() {
    const StageImage& image = spec_.stages;
    ArenaLayout layout;
    const std::size_t code = layout.reserve(image.code.size() * sizeof(Instruction));
    const std::size_t numbers = layout.reserve(image.numbers.size() * sizeof(double));
    const std::size_t rules = layout.reserve(image.rules.size() * sizeof(DeviceFilterRule));
    const std::size_t transforms =
        layout.reserve(image.transforms.size() * sizeof(DeviceTransform));
    stage_block_ = PooledBlock(device_memory_pool(spec_.device), layout.size());
    auto upload = [&](std::size_t offset, const void* host, std::size_t bytes) {
      if (bytes > 0) {
        LDH_CUDA_TRY(
            cudaMemcpy(stage_block_.at<void>(offset), host, bytes, cudaMemcpyHostToDevice));
      }
    };
    upload(code, image.code.data(), image.code.size() * sizeof(Instruction));
    upload(numbers, image.numbers.data(), image.numbers.size() * sizeof(double));
    upload(rules, image.rules.data(), image.rules.size() * sizeof(DeviceFilterRule));
    upload(transforms, image.transforms.data(), image.transforms.size() * sizeof(DeviceTransform));
    tables_.code = stage_block_.at<const Instruction>(code);
    tables_.numbers = stage_block_.at<const double>(numbers);
    tables_.rules = stage_block_.at<const DeviceFilterRule>(rules);
    tables_.transforms = stage_block_.at<const DeviceTransform>(transforms);
  }

  std::unique_ptr<Lane> make_lane(std::size_t scratch_bytes) {
    auto lane = std::make_unique<Lane>();
    const BinaryDecodeLayout& decode = spec_.layout;
    const std::size_t record_bytes = capacity_ * decode.record_size;
    const std::size_t id_bytes = capacity_ * decode.string_count * sizeof(std::int32_t);

    ArenaLayout device;
    const std::size_t records = device.reserve(record_bytes);
    const std::size_t ids = device.reserve(id_bytes);
    const ColumnOffsets decoded = reserve_columns(device, spec_.slots, capacity_);
    const ColumnOffsets kept = reserve_columns(device, spec_.slots, capacity_);
    const std::size_t flags = device.reserve(capacity_);
    const std::size_t rows = device.reserve(capacity_ * sizeof(std::uint32_t));
    const std::size_t totals = device.reserve(sizeof(BatchTotals));
    const std::size_t scratch = device.reserve(scratch_bytes);
    lane->device = PooledBlock(device_memory_pool(spec_.device), device.size());

    ArenaLayout pinned;
    const std::size_t staged_records = pinned.reserve(record_bytes);
    const std::size_t staged_ids = pinned.reserve(id_bytes);
    const std::size_t host_totals = pinned.reserve(sizeof(BatchTotals));
    const std::size_t host_selection = pinned.reserve(capacity_);
    lane->pinned = PooledBlock(pinned_memory_pool(), pinned.size());

    lane->records = lane->device.at<unsigned char>(records);
    lane->string_ids = lane->device.at<std::int32_t>(ids);
    lane->decoded = columns_at(lane->device, decoded, spec_.slots, capacity_);
    lane->kept = columns_at(lane->device, kept, spec_.slots, capacity_);
    lane->totals = lane->device.at<BatchTotals>(totals);
    lane->compaction.flags = lane->device.at<std::uint8_t>(flags);
    lane->compaction.rows = lane->device.at<std::uint32_t>(rows);
    lane->compaction.selected = &lane->totals->selected;
    lane->compaction.counts = &lane->totals->counts;
    lane->compaction.temporary = lane->device.at<void>(scratch);
    lane->compaction.temporary_bytes = scratch_bytes;
    lane->staging.records = lane->pinned.at<unsigned char>(staged_records);
    lane->staging.string_ids = lane->pinned.at<std::int32_t>(staged_ids);
    lane->host_totals = lane->pinned.at<BatchTotals>(host_totals);
    lane->host_selection = lane->pinned.at<std::uint8_t>(host_selection);
    return lane;
  }

  DevicePipelineSpec spec_;
  std::size_t capacity_;
  PooledBlock stage_block_;
  StageTables tables_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::deque<std::size_t> in_flight_;
  std::size_t next_ = 0;
};

}  // namespace

std::unique_ptr<BatchProcessor> make_device_pipeline(const DevicePipelineSpec& spec) {
  return std::make_unique<DevicePipeline>(spec);
}

double pinned_copy_bandwidth(int device, std::size_t bytes, int repeats) {
  LDH_EXPECTS(bytes > 0 && repeats > 0, "a bandwidth measurement needs bytes and repeats");
  LDH_CUDA_TRY(cudaSetDevice(device));
  PooledBlock host(pinned_memory_pool(), bytes);
  PooledBlock target(device_memory_pool(device), bytes);
  std::memset(host.at<void>(0), 1, bytes);
  Stream stream;
  Event start(cudaEventDefault);
  Event stop(cudaEventDefault);
  std::vector<double> rates;
  for (int i = 0; i <= repeats; ++i) {
    LDH_CUDA_TRY(cudaEventRecord(start.get(), stream.get()));
    LDH_CUDA_TRY(cudaMemcpyAsync(target.at<void>(0), host.at<void>(0), bytes,
                                 cudaMemcpyHostToDevice, stream.get()));
    LDH_CUDA_TRY(cudaEventRecord(stop.get(), stream.get()));
    LDH_CUDA_TRY(cudaEventSynchronize(stop.get()));
    float milliseconds = 0;
    LDH_CUDA_TRY(cudaEventElapsedTime(&milliseconds, start.get(), stop.get()));
    // The first copy warms the path up and is not counted.
    if (i > 0 && milliseconds > 0) rates.push_back(static_cast<double>(bytes) / milliseconds / 1e6);
  }
  LDH_EXPECTS(!rates.empty(), "no copy was timed");
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace ldh
