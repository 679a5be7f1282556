#pragma once

#include <cuda_runtime.h>

#include <cstddef>

namespace ldh {

/// Threads per block of the row kernels (one row per thread, grid-stride loops).
inline constexpr int kRowThreads = 256;

/// Returns the blocks for `rows` rows: one row per thread, capped so huge batches loop instead.
inline unsigned int row_blocks(std::size_t rows) {
  const std::size_t wanted = (rows + kRowThreads - 1) / kRowThreads;
  return static_cast<unsigned int>(wanted < 65535 ? wanted : 65535);
}

/// Returns the first row of this thread and the stride of a grid-stride loop.
__device__ __forceinline__ std::size_t first_row() {
  return static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ std::size_t row_stride() {
  return static_cast<std::size_t>(gridDim.x) * blockDim.x;
}

}  // namespace ldh
