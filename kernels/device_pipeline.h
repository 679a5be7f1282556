#pragma once

// The stateless part of a pipeline on a device: binary decode, filters and transforms over
// batches of packed records, with results copied back into a host EventBatch. This header has
// no CUDA types, so g++-built code can drive a BatchProcessor and tests can run the per-row
// functions on the host; make_device_pipeline exists only in builds with LDH_HAVE_CUDA.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/binary_decode.h"
#include "kernels/filter.h"
#include "pipeline/batch.h"
#include "pipeline/expression_program.h"
#include "pipeline/host_device.h"

namespace ldh {

/// Where a transform operation takes its value from (pipeline/transform.h CompiledTransform).
enum class DeviceTransformKind : std::uint8_t { expression, constant, now, cast };

/// One transform operation; trivially copyable. Casts from or to strings need the dictionary
/// and never reach a device.
struct DeviceTransform {
  DeviceTransformKind kind = DeviceTransformKind::expression;
  std::int32_t target_slot = -1;
  DataType target_type = DataType::float64;
  /// add-field on an existing field: write only where it is null.
  bool fill_missing_only = false;
  DeviceProgram expression;
  double constant = 0;
  std::int32_t cast_slot = -1;
};

/// One plan operator: a filter stage or transforms[first_transform, + transform_count).
struct DeviceStage {
  bool filter = false;
  DeviceFilterStage rules;
  std::uint32_t first_transform = 0;
  std::uint32_t transform_count = 0;
};

/// The plan's operators flattened into arrays a device can hold: one entry in `stages` per
/// operator, in plan order.
struct StageImage {
  std::vector<Instruction> code;
  std::vector<double> numbers;  // expression constants and in/not_in sets
  std::vector<DeviceFilterRule> rules;
  std::vector<DeviceTransform> transforms;
  std::vector<DeviceStage> stages;

  /// Points at this image's host arrays.
  StageTables host_tables() const {
    return {code.data(), numbers.data(), rules.data(), transforms.data()};
  }
};

/// Applies one transform operation to row `row`, as pipeline/transform.cpp does for a batch.
LDH_HOST_DEVICE inline void transform_row(const DeviceTransform& operation,
                                          const StageTables& tables, const ColumnView* columns,
                                          std::size_t row, double now_ms,
                                          std::int64_t processing_time_ns) {
  const ColumnView& target = columns[operation.target_slot];
  std::uint8_t* validity = target.validity;
  const bool writable = !operation.fill_missing_only || validity == nullptr || validity[row] == 0;
  bool ok = true;
  switch (operation.kind) {
    case DeviceTransformKind::expression: {
      if (!writable) return;
      const Instruction* code = tables.code + operation.expression.code_offset;
      const int count = static_cast<int>(operation.expression.code_count);
      const double value =
          run_program(code, count, tables.numbers + operation.expression.constants_offset, columns,
                      row, now_ms);
      const bool valid = row_is_valid(code, count, columns, row);
      if (operation.target_type == DataType::float64 && !operation.fill_missing_only) {
        static_cast<double*>(target.data)[row] = value;
        if (validity != nullptr) validity[row] = valid ? 1 : 0;
        return;
      }
      ok = valid && store_number(value, operation.target_type, target.data, row);
      break;
    }
    case DeviceTransformKind::constant:
      if (!writable) return;
      ok = store_number(operation.constant, operation.target_type, target.data, row);
      break;
    case DeviceTransformKind::now:
      if (!writable) return;
      static_cast<std::int64_t*>(target.data)[row] = processing_time_ns;
      break;
    case DeviceTransformKind::cast: {
      const ColumnView& source = columns[operation.cast_slot];
      if (source.validity != nullptr && source.validity[row] == 0) {
        ok = false;
      } else if (source.type == DataType::timestamp &&
                 operation.target_type == DataType::timestamp) {
        static_cast<std::int64_t*>(target.data)[row] =
            static_cast<const std::int64_t*>(source.data)[row];
      } else {
        ok = store_number(read_as_number(source, row), operation.target_type, target.data, row);
      }
      break;
    }
  }
  if (validity != nullptr) validity[row] = ok ? 1 : 0;
}

/// Applies a transform stage's operations, in order, to row `row`.
LDH_HOST_DEVICE inline void transform_stage_row(const DeviceStage& stage, const StageTables& tables,
                                                const ColumnView* columns, std::size_t row,
                                                double now_ms, std::int64_t processing_time_ns) {
  for (std::uint32_t i = 0; i < stage.transform_count; ++i) {
    transform_row(tables.transforms[stage.first_transform + i], tables, columns, row, now_ms,
                  processing_time_ns);
  }
}

/// Host buffers (pinned for a device) that receive one batch's input.
struct BatchStaging {
  unsigned char* records = nullptr;    // capacity * record_size bytes, records back to back
  std::int32_t* string_ids = nullptr;  // capacity * string_count ids, -1 for a bad slot
};

/// What collect() reports besides the rows.
struct BatchOutcome {
  /// Rows per selection code before compaction; codes[0] counts records the decoder rejected.
  SelectionCounts counts{};
  /// Rows (record order in the batch) the decoder rejected.
  std::vector<std::uint32_t> dead_rows;
  std::int64_t processing_time_ns = 0;
};

/// Runs decode, filters and transforms over batches of packed records, keeping up to lanes()
/// batches in flight so the copy of one overlaps the kernels of another. Used from one thread.
class BatchProcessor {
 public:
  virtual ~BatchProcessor() = default;
  /// Records per batch at most.
  virtual std::size_t capacity() const = 0;
  /// Batches in flight at most.
  virtual std::size_t lanes() const = 0;
  virtual std::size_t in_flight() const = 0;
  /// Returns the input buffers of the next batch; needs in_flight() < lanes().
  virtual BatchStaging staging() = 0;
  /// Starts the batch whose `records` records were written to staging().
  virtual void submit(std::size_t records, std::int64_t processing_time_ns) = 0;
  /// Waits for the oldest batch in flight and writes its kept rows, in record order, into
  /// `batch` (live rows only, or also filter-rejected ones when the spec keeps them).
  virtual void collect(EventBatch& batch, BatchOutcome& outcome) = 0;
};

/// Everything a device pipeline needs to know about a plan.
struct DevicePipelineSpec {
  int device = 0;
  std::size_t capacity = 65536;
  std::size_t lanes = 2;
  BinaryDecodeLayout layout;
  std::vector<SlotSpec> slots;
  StageImage stages;
  /// Brings back rows a filter rejected too (a reject file wants them).
  bool keep_rejected = false;
};

/// Creates the CUDA implementation on spec.device: per lane a non-blocking stream, pinned
/// staging and device buffers from the pools in kernels/memory_pool.h. Throws DeviceError when
/// a CUDA call fails or the device memory budget is spent. Defined only with LDH_HAVE_CUDA.
std::unique_ptr<BatchProcessor> make_device_pipeline(const DevicePipelineSpec& spec);

/// Measures pinned host-to-device copy bandwidth on `device` in GB/s (the median of `repeats`
/// copies of `bytes`, timed with CUDA events): the ceiling for a pipeline fed from host memory,
/// which `ldh bench --backend gpu` compares itself with. Defined only with LDH_HAVE_CUDA.
double pinned_copy_bandwidth(int device, std::size_t bytes, int repeats);

}  // namespace ldh
