#include "kernels/filter.h"

#include <thrust/iterator/counting_iterator.h>

#include <cub/device/device_select.cuh>

#include "kernels/cuda_check.cuh"
#include "kernels/launch.cuh"

namespace ldh {
namespace {

__global__ void filter_rows(DeviceFilterStage stage, StageTables tables, EventBatchDeviceView batch,
                            std::size_t count, double now_ms) {
  for (std::size_t row = first_row(); row < count; row += row_stride()) {
    filter_row(stage, tables, batch.columns, batch.selection, row, now_ms);
  }
}

/// Flags the rows to keep and counts selection codes: per block in shared memory, then one
/// integer atomic per code and block, so the counts do not depend on the schedule.
__global__ void mark_kept_rows(const std::uint8_t* selection, std::size_t count, bool keep_rejected,
                               std::uint8_t* flags, SelectionCounts* counts) {
  __shared__ unsigned int block_counts[256];
  for (unsigned int code = threadIdx.x; code < 256; code += blockDim.x) block_counts[code] = 0;
  __syncthreads();
  for (std::size_t row = first_row(); row < count; row += row_stride()) {
    const std::uint8_t code = selection[row];
    atomicAdd(&block_counts[code], 1u);
    flags[row] = row_is_kept(code, keep_rejected) ? 1 : 0;
  }
  __syncthreads();
  for (unsigned int code = threadIdx.x; code < 256; code += blockDim.x) {
    if (block_counts[code] != 0) atomicAdd(&counts->codes[code], block_counts[code]);
  }
}

__device__ void copy_value(const ColumnView& from, const ColumnView& to, std::size_t source,
                           std::size_t row) {
  switch (from.type) {
    case DataType::boolean:
      static_cast<std::uint8_t*>(to.data)[row] =
          static_cast<const std::uint8_t*>(from.data)[source];
      break;
    case DataType::int32:
    case DataType::float32:
    case DataType::string:
      static_cast<std::uint32_t*>(to.data)[row] =
          static_cast<const std::uint32_t*>(from.data)[source];
      break;
    case DataType::int64:
    case DataType::float64:
    case DataType::timestamp:
      static_cast<std::uint64_t*>(to.data)[row] =
          static_cast<const std::uint64_t*>(from.data)[source];
      break;
  }
  if (to.validity != nullptr) to.validity[row] = from.validity[source];
}

/// Copies the selected rows, in order, into `to`; threads past the selected count do nothing.
__global__ void gather_rows(EventBatchDeviceView from, EventBatchDeviceView to,
                            const std::uint32_t* rows, const long long* selected) {
  const std::size_t kept = static_cast<std::size_t>(*selected);
  for (std::size_t row = first_row(); row < kept; row += row_stride()) {
    const std::size_t source = rows[row];
    for (std::uint32_t slot = 0; slot < from.slot_count; ++slot) {
      copy_value(from.columns[slot], to.columns[slot], source, row);
    }
    to.selection[row] = from.selection[source];
  }
}

}  // namespace

void launch_filter_stage(const DeviceFilterStage& stage, const StageTables& tables,
                         const EventBatchDeviceView& batch, std::size_t count, double now_ms,
                         cudaStream_t stream) {
  if (count == 0) return;
  filter_rows<<<row_blocks(count), kRowThreads, 0, stream>>>(stage, tables, batch, count, now_ms);
  LDH_CUDA_CHECK_LAUNCH();
}

std::size_t compaction_scratch_bytes(std::size_t capacity) {
  std::size_t bytes = 0;
  LDH_CUDA_TRY(cub::DeviceSelect::Flagged(
      nullptr, bytes, thrust::counting_iterator<std::uint32_t>(0),
      static_cast<const std::uint8_t*>(nullptr), static_cast<std::uint32_t*>(nullptr),
      static_cast<long long*>(nullptr), static_cast<std::int64_t>(capacity)));
  return bytes;
}

void launch_compaction(const EventBatchDeviceView& from, const EventBatchDeviceView& to,
                       std::size_t count, bool keep_rejected, const CompactionBuffers& buffers,
                       cudaStream_t stream) {
  LDH_CUDA_TRY(cudaMemsetAsync(buffers.counts, 0, sizeof(SelectionCounts), stream));
  LDH_CUDA_TRY(cudaMemsetAsync(buffers.selected, 0, sizeof(long long), stream));
  if (count == 0) return;
  const unsigned int blocks = row_blocks(count);
  mark_kept_rows<<<blocks, kRowThreads, 0, stream>>>(from.selection, count, keep_rejected,
                                                     buffers.flags, buffers.counts);
  LDH_CUDA_CHECK_LAUNCH();
  std::size_t scratch = buffers.temporary_bytes;
  // The same iterator types as compaction_scratch_bytes, so the scratch size fits.
  LDH_CUDA_TRY(cub::DeviceSelect::Flagged(
      buffers.temporary, scratch, thrust::counting_iterator<std::uint32_t>(0),
      static_cast<const std::uint8_t*>(buffers.flags), buffers.rows, buffers.selected,
      static_cast<std::int64_t>(count), stream));
  LDH_CUDA_CHECK_LAUNCH();
  gather_rows<<<blocks, kRowThreads, 0, stream>>>(from, to, buffers.rows, buffers.selected);
  LDH_CUDA_CHECK_LAUNCH();
}

}  // namespace ldh
