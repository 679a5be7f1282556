#pragma once

// Host-only view of the CUDA runtime: no CUDA types, so g++-built code can include it.

#include <cstddef>
#include <string>
#include <vector>

namespace ldh::device {

/// Describes one CUDA device.
struct DeviceInfo {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  std::size_t total_memory = 0;
  std::size_t free_memory = 0;
  int multiprocessors = 0;
};

/// Lists usable devices; on failure `why_none` says why (no driver, no device, ...).
std::vector<DeviceInfo> list_devices(std::string& why_none);

/// Returns the architectures this build carries code for, e.g. "sm_80 sm_90 compute_90".
std::string built_architectures();

/// Makes `device` current on the calling thread and returns "GPU <index> (<name>)"; throws
/// DeviceError when it does not answer.
std::string select_device(int device);

/// Allocates page-locked host memory (cudaHostAlloc); throws DeviceError on failure.
void* allocate_pinned(std::size_t bytes);
void free_pinned(void* pointer) noexcept;

}  // namespace ldh::device
