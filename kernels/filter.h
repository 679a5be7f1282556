#pragma once

// Filter stages in the form a kernel runs them, written once for the host and the device (the
// same functions run in g++-built tests). Each rule matches pipeline/filter.cpp's semantics bit
// for bit: values read as expressions read them, a null value fails every rule but `exists`, a
// NaN fails every comparison. No CUDA types outside __CUDACC__.

#include <cstddef>
#include <cstdint>

#include "pipeline/batch.h"
#include "pipeline/config.h"
#include "pipeline/expression_program.h"
#include "pipeline/filter_set.h"
#include "pipeline/host_device.h"
#include "pipeline/number_conversion.h"

namespace ldh {

struct DeviceTransform;

/// Places one compiled expression in a stage image: code[code_offset, code_offset + count) and
/// constants from numbers[constants_offset].
struct DeviceProgram {
  std::uint32_t code_offset = 0;
  std::uint32_t code_count = 0;
  std::uint32_t constants_offset = 0;
};

/// One filter rule; trivially copyable.
struct DeviceFilterRule {
  FilterOperator op = FilterOperator::eq;
  std::int32_t slot = -1;        // the field's column (not used by condition)
  double low = 0;                // range low; the value of eq/ne/gt/ge/lt/le
  double high = 0;               // range high
  std::uint32_t set_offset = 0;  // in / not_in: sorted members at numbers[set_offset]
  std::uint32_t set_size = 0;
  DeviceProgram condition;  // op == condition
};

/// One filter stage: rules[first_rule, first_rule + rule_count) combined by `combine`.
struct DeviceFilterStage {
  std::uint32_t first_rule = 0;
  std::uint32_t rule_count = 0;
  FilterCombine combine = FilterCombine::all;
  std::uint8_t reject_code = kRejectedBase;
};

/// Points at a stage image's arrays (host or device memory); trivially copyable.
struct StageTables {
  const Instruction* code = nullptr;
  const double* numbers = nullptr;
  const DeviceFilterRule* rules = nullptr;
  const DeviceTransform* transforms = nullptr;
};

/// Tells whether row `row` passes one rule.
LDH_HOST_DEVICE inline bool filter_rule_passes(const DeviceFilterRule& rule,
                                               const StageTables& tables, const ColumnView* columns,
                                               std::size_t row, double now_ms) {
  if (rule.op == FilterOperator::condition) {
    const Instruction* code = tables.code + rule.condition.code_offset;
    const int count = static_cast<int>(rule.condition.code_count);
    const double value = run_program(code, count, tables.numbers + rule.condition.constants_offset,
                                     columns, row, now_ms);
    return row_is_valid(code, count, columns, row) && value != 0 && value == value;
  }
  const ColumnView& column = columns[rule.slot];
  if (column.validity != nullptr && column.validity[row] == 0) return false;
  const double x = read_as_number(column, row);
  switch (rule.op) {
    case FilterOperator::range:
      return x >= rule.low && x <= rule.high;
    case FilterOperator::eq:
      return x == rule.low;
    case FilterOperator::ne:
      return x != rule.low && x == x;
    case FilterOperator::gt:
      return x > rule.low;
    case FilterOperator::ge:
      return x >= rule.low;
    case FilterOperator::lt:
      return x < rule.low;
    case FilterOperator::le:
      return x <= rule.low;
    case FilterOperator::in:
      return set_contains(tables.numbers + rule.set_offset, rule.set_size, x);
    case FilterOperator::not_in:
      return !set_contains(tables.numbers + rule.set_offset, rule.set_size, x) && x == x;
    case FilterOperator::exists:
      return true;
    case FilterOperator::condition:
      break;
  }
  return false;
}

/// Applies a filter stage to row `row`: a live row that fails becomes `reject_code`; rows
/// already rejected (or dead) keep their code.
LDH_HOST_DEVICE inline void filter_row(const DeviceFilterStage& stage, const StageTables& tables,
                                       const ColumnView* columns, std::uint8_t* selection,
                                       std::size_t row, double now_ms) {
  if (selection[row] != kLive) return;
  const bool all = stage.combine == FilterCombine::all;
  bool pass = all;
  for (std::uint32_t i = 0; i < stage.rule_count; ++i) {
    const bool result =
        filter_rule_passes(tables.rules[stage.first_rule + i], tables, columns, row, now_ms);
    pass = all ? (pass && result) : (pass || result);
  }
  if (!pass) selection[row] = stage.reject_code;
}

/// Counts rows per selection code (codes[0]: records the decoder rejected).
struct SelectionCounts {
  std::uint32_t codes[256];
};

/// Tells whether a row with selection `code` comes back to the host: live rows, plus rows a
/// filter rejected when reject files want them; never dead records.
LDH_HOST_DEVICE LDH_FORCE_INLINE bool row_is_kept(std::uint8_t code, bool keep_rejected) {
  return keep_rejected ? code != 0 : code == kLive;
}

}  // namespace ldh

#if defined(__CUDACC__)
#include <cuda_runtime.h>

namespace ldh {

/// Runs one filter stage over `count` rows of `batch`. Asynchronous on `stream`.
void launch_filter_stage(const DeviceFilterStage& stage, const StageTables& tables,
                         const EventBatchDeviceView& batch, std::size_t count, double now_ms,
                         cudaStream_t stream);

/// Device buffers the compaction of one batch uses, sized for `capacity` rows.
struct CompactionBuffers {
  std::uint8_t* flags = nullptr;      // capacity bytes
  std::uint32_t* rows = nullptr;      // capacity row indices
  long long* selected = nullptr;      // one count
  SelectionCounts* counts = nullptr;  // one histogram
  void* temporary = nullptr;          // cub's scratch
  std::size_t temporary_bytes = 0;
};

/// Returns the scratch bytes cub::DeviceSelect::Flagged needs for `capacity` rows.
std::size_t compaction_scratch_bytes(std::size_t capacity);

/// Counts selection codes, then gathers the kept rows (row_is_kept) of `from` in order into
/// `to` with cub::DeviceSelect::Flagged; `buffers.selected` receives how many. Asynchronous.
void launch_compaction(const EventBatchDeviceView& from, const EventBatchDeviceView& to,
                       std::size_t count, bool keep_rejected, const CompactionBuffers& buffers,
                       cudaStream_t stream);

}  // namespace ldh
#endif
