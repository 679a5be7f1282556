#include "pipeline/memory.h"

#include <cstdlib>
#include <new>
#include <utility>

namespace ldh {

namespace {
constexpr std::size_t kPageSize = 4096;

class PageAlignedMemory final : public HostMemoryResource {
 public:
  void* allocate(std::size_t bytes) override {
    std::size_t rounded = (bytes + kPageSize - 1) / kPageSize * kPageSize;
    if (rounded == 0) rounded = kPageSize;
    void* pointer = std::aligned_alloc(kPageSize, rounded);
    if (pointer == nullptr) throw std::bad_alloc();
    return pointer;
  }
  void deallocate(void* pointer, std::size_t) noexcept override { std::free(pointer); }
  bool pinned() const override { return false; }
  std::string_view name() const override { return "page-aligned"; }
};
}  // namespace

HostMemoryResource& page_aligned_memory() {
  static PageAlignedMemory memory;
  return memory;
}

Buffer::Buffer(std::size_t bytes, HostMemoryResource& memory)
    : data_(memory.allocate(bytes)), size_(bytes), memory_(&memory) {}

Buffer::Buffer(Buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      memory_(std::exchange(other.memory_, nullptr)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    memory_ = std::exchange(other.memory_, nullptr);
  }
  return *this;
}

Buffer::~Buffer() {
  release();
}

void Buffer::release() noexcept {
  if (data_ != nullptr) memory_->deallocate(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace ldh
