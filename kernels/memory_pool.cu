#include "kernels/memory_pool.h"

#include <unistd.h>

#include <memory>

#include "kernels/cuda_check.cuh"

namespace ldh {

BlockPool& device_memory_pool(int device) {
  static std::mutex mutex;
  // Pools live as long as the process: freeing device memory during static destruction races
  // the CUDA runtime's own teardown.
  static auto* pools = new std::map<int, std::unique_ptr<BlockPool>>();
  std::lock_guard lock(mutex);
  auto& pool = (*pools)[device];
  if (!pool) {
    cudaDeviceProp properties{};
    LDH_CUDA_TRY(cudaGetDeviceProperties(&properties, device));
    pool = std::make_unique<BlockPool>(
        "device " + std::to_string(device) + " memory pool", properties.totalGlobalMem / 4 * 3,
        [device](std::size_t bytes) {
          void* block = nullptr;
          LDH_CUDA_TRY(cudaSetDevice(device));
          LDH_CUDA_TRY(cudaMalloc(&block, bytes));
          return block;
        },
        [](void* block) { cudaFree(block); });
  }
  return *pool;
}

BlockPool& pinned_memory_pool() {
  static auto* pool = new BlockPool(
      "pinned host memory pool",
      static_cast<std::size_t>(sysconf(_SC_PHYS_PAGES)) *
          static_cast<std::size_t>(sysconf(_SC_PAGE_SIZE)) / 4,
      [](std::size_t bytes) {
        void* block = nullptr;
        LDH_CUDA_TRY(cudaHostAlloc(&block, bytes, cudaHostAllocDefault));
        return block;
      },
      [](void* block) { cudaFreeHost(block); });
  return *pool;
}

}  // namespace ldh
