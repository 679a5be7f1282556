#pragma once

#include <cstddef>
#include <string_view>

namespace ldh {

/// Supplies host memory for batches. Implementations return page-aligned blocks; the pinned one
/// (host/) uses cudaHostAlloc so batches can be copied to a GPU asynchronously.
class HostMemoryResource {
 public:
  virtual ~HostMemoryResource() = default;
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* pointer, std::size_t bytes) noexcept = 0;
  /// Tells whether blocks are page-locked (pinned) for DMA.
  virtual bool pinned() const = 0;
  virtual std::string_view name() const = 0;
};

/// Returns the process-wide page-aligned (unpinned) resource.
HostMemoryResource& page_aligned_memory();

/// Owns one block from a HostMemoryResource.
class Buffer {
 public:
  Buffer() = default;
  Buffer(std::size_t bytes, HostMemoryResource& memory);
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();

  void* data() { return data_; }
  const void* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t size_ = 0;
  HostMemoryResource* memory_ = nullptr;
};

}  // namespace ldh
