#include "kernels/cuda_check.cuh"
#include "kernels/device.h"

namespace ldh::device {

std::vector<DeviceInfo> list_devices(std::string& why_none) {
  std::vector<DeviceInfo> devices;
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    why_none = std::string("CUDA runtime: ") + cudaGetErrorString(status);
    cudaGetLastError();
    return devices;
  }
  if (count == 0) {
    why_none = "the CUDA runtime reports no devices";
    return devices;
  }
  for (int index = 0; index < count; ++index) {
    cudaDeviceProp properties{};
    if (cudaGetDeviceProperties(&properties, index) != cudaSuccess) continue;
    DeviceInfo info;
    info.index = index;
    info.name = properties.name;
    info.compute_major = properties.major;
    info.compute_minor = properties.minor;
    info.total_memory = properties.totalGlobalMem;
    info.multiprocessors = properties.multiProcessorCount;
    if (cudaSetDevice(index) == cudaSuccess) {
      std::size_t free_bytes = 0, total_bytes = 0;
      if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) info.free_memory = free_bytes;
    }
    devices.push_back(info);
  }
  if (devices.empty()) why_none = "no device answered cudaGetDeviceProperties";
  return devices;
}

std::string built_architectures() {
#ifdef LDH_CUDA_ARCHITECTURES
  return LDH_CUDA_ARCHITECTURES;
#else
  return "unknown";
#endif
}

void* allocate_pinned(std::size_t bytes) {
  void* pointer = nullptr;
  LDH_CUDA_TRY(cudaHostAlloc(&pointer, bytes, cudaHostAllocDefault));
  return pointer;
}

void free_pinned(void* pointer) noexcept {
  cudaFreeHost(pointer);
}

std::string select_device(int device) {
  LDH_CUDA_TRY(cudaSetDevice(device));
  cudaDeviceProp properties{};
  LDH_CUDA_TRY(cudaGetDeviceProperties(&properties, device));
  return "GPU " + std::to_string(device) + " (" + properties.name + ")";
}

}  // namespace ldh::device
