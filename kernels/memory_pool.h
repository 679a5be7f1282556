#pragma once

// Memory for device pipelines: arenas laid out once per lane, carved from blocks that pools
// keep for reuse, so repeated runs (benchmarks, tests) do not pay cudaMalloc/cudaHostAlloc again
// and the device memory a process holds has one documented bound. The bookkeeping is plain C++
// (tested without a GPU); device_memory_pool and pinned_memory_pool exist only with CUDA.

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "pipeline/error.h"

namespace ldh {

/// Lays out the sub-buffers of one allocation: each reserve() returns an offset aligned for
/// any column type and for cub's scratch.
class ArenaLayout {
 public:
  static constexpr std::size_t kAlignment = 256;

  /// Returns the offset of `bytes` new bytes.
  std::size_t reserve(std::size_t bytes) {
    const std::size_t offset = (size_ + kAlignment - 1) / kAlignment * kAlignment;
    size_ = offset + bytes;
    return offset;
  }
  /// Returns the bytes the whole arena needs.
  std::size_t size() const { return size_; }

 private:
  std::size_t size_ = 0;
};

/// Lends blocks of memory and keeps returned ones for reuse, holding at most `limit` bytes
/// (lent and cached together). Thread-safe. The allocate and release functions do the actual
/// memory calls (cudaMalloc/cudaFree, cudaHostAlloc/cudaFreeHost, or a test's own).
class BlockPool {
 public:
  using Allocate = std::function<void*(std::size_t bytes)>;
  using Release = std::function<void(void* block)>;

  BlockPool(std::string name, std::size_t limit, Allocate allocate, Release release)
      : name_(std::move(name)),
        limit_(limit),
        allocate_(std::move(allocate)),
        release_(std::move(release)) {}
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;
  ~BlockPool() {
    for (auto& [bytes, block] : cached_) release_(block);
  }

  /// Lends a block of at least `bytes`: the smallest cached block that fits without wasting
  /// more than its half, else a new one. Frees cached blocks first when a new one would pass
  /// the limit; throws DeviceError when even that is not enough.
  void* acquire(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    auto fit = cached_.lower_bound(bytes);
    if (fit != cached_.end() && fit->first / 2 <= bytes) {
      void* block = fit->second;
      lent_.emplace(block, fit->first);
      lent_bytes_ += fit->first;
      cached_.erase(fit);
      ++reuses_;
      return block;
    }
    if (held_bytes_ + bytes > limit_) {
      for (auto& [size, block] : cached_) {
        release_(block);
        held_bytes_ -= size;
      }
      cached_.clear();
    }
    if (held_bytes_ + bytes > limit_) {
      throw DeviceError(name_ + ": " + std::to_string(bytes >> 20) + " MiB more would pass the " +
                        std::to_string(limit_ >> 20) + " MiB limit (" +
                        std::to_string(held_bytes_ >> 20) +
                        " MiB in use); lower --batch-size or --threads");
    }
    void* block = allocate_(bytes);
    held_bytes_ += bytes;
    lent_bytes_ += bytes;
    peak_bytes_ = std::max(peak_bytes_, held_bytes_);
    lent_.emplace(block, bytes);
    return block;
  }

  /// Takes back a block acquire() lent, for reuse.
  void give_back(void* block) {
    std::lock_guard lock(mutex_);
    auto found = lent_.find(block);
    LDH_EXPECTS(found != lent_.end(), "a block this pool did not lend was given back");
    lent_bytes_ -= found->second;
    cached_.emplace(found->second, block);
    lent_.erase(found);
  }

  const std::string& name() const { return name_; }
  std::size_t limit() const { return limit_; }
  /// Bytes allocated: lent plus cached.
  std::size_t held_bytes() const {
    std::lock_guard lock(mutex_);
    return held_bytes_;
  }
  std::size_t lent_bytes() const {
    std::lock_guard lock(mutex_);
    return lent_bytes_;
  }
  std::size_t peak_bytes() const {
    std::lock_guard lock(mutex_);
    return peak_bytes_;
  }
  /// Counts acquisitions served from the cache.
  std::size_t reuses() const {
    std::lock_guard lock(mutex_);
    return reuses_;
  }

 private:
  std::string name_;
  std::size_t limit_;
  Allocate allocate_;
  Release release_;
  mutable std::mutex mutex_;
  std::multimap<std::size_t, void*> cached_;  // by size, for best fit
  std::unordered_map<void*, std::size_t> lent_;
  std::size_t held_bytes_ = 0;
  std::size_t lent_bytes_ = 0;
  std::size_t peak_bytes_ = 0;
  std::size_t reuses_ = 0;
};

/// Borrows one block from a pool for its lifetime.
class PooledBlock {
 public:
  PooledBlock() = default;
  PooledBlock(BlockPool& pool, std::size_t bytes)
      : pool_(&pool), data_(bytes > 0 ? pool.acquire(bytes) : nullptr) {}
  PooledBlock(const PooledBlock&) = delete;
  PooledBlock& operator=(const PooledBlock&) = delete;
  PooledBlock(PooledBlock&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), data_(std::exchange(other.data_, nullptr)) {}
  PooledBlock& operator=(PooledBlock&& other) noexcept {
    std::swap(pool_, other.pool_);
    std::swap(data_, other.data_);
    return *this;
  }
  ~PooledBlock() {
    if (data_ != nullptr) pool_->give_back(data_);
  }

  /// Returns the address `offset` bytes into the block (an ArenaLayout offset).
  template <typename T>
  T* at(std::size_t offset) const {
    return reinterpret_cast<T*>(static_cast<char*>(data_) + offset);
  }

 private:
  BlockPool* pool_ = nullptr;
  void* data_ = nullptr;
};

/// Returns the pool of device memory on `device` (cudaMalloc), limited to three quarters of the
/// device's memory; it lives as long as the process. Defined only with LDH_HAVE_CUDA.
BlockPool& device_memory_pool(int device);

/// Returns the pool of pinned host memory (cudaHostAlloc) for staging buffers, limited to a
/// quarter of the machine's memory. Defined only with LDH_HAVE_CUDA.
BlockPool& pinned_memory_pool();

}  // namespace ldh
