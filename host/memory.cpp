#include "host/memory.h"

#include "host/device.h"

#ifdef LDH_HAVE_CUDA
#include "kernels/device.h"
#endif

namespace ldh {

namespace {

#ifdef LDH_HAVE_CUDA
class PinnedMemory final : public HostMemoryResource {
 public:
  void* allocate(std::size_t bytes) override { return device::allocate_pinned(bytes ? bytes : 1); }
  void deallocate(void* pointer, std::size_t) noexcept override { device::free_pinned(pointer); }
  bool pinned() const override { return true; }
  std::string_view name() const override { return "pinned (cudaHostAlloc)"; }
};
#endif

struct Choice {
  HostMemoryResource* memory;
  std::string why;
};

Choice choose() {
  const DeviceSurvey& survey = survey_devices();
#ifdef LDH_HAVE_CUDA
  if (!survey.devices.empty()) {
    static PinnedMemory pinned;
    return {&pinned, "pinned host memory: a CUDA device is usable"};
  }
#endif
  return {&page_aligned_memory(), "page-aligned host memory: " + survey.why_none};
}

}  // namespace

HostMemoryResource& batch_memory(std::string* why) {
  static const Choice choice = choose();
  if (why != nullptr) *why = choice.why;
  return *choice.memory;
}

}  // namespace ldh
