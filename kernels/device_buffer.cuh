#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "kernels/cuda_check.cuh"

namespace ldh {

/// Owns one device allocation, so an exception thrown midway frees what was allocated.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes_ > 0) LDH_CUDA_TRY(cudaMalloc(&data_, bytes_));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept : data_(other.data_), bytes_(other.bytes_) {
    other.data_ = nullptr;
    other.bytes_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  ~DeviceBuffer() {
    if (data_ != nullptr) cudaFree(data_);
  }

  void* data() const { return data_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }

  /// Copies the buffer's size in bytes from host memory.
  void upload(const void* host) {
    if (bytes_ > 0) LDH_CUDA_TRY(cudaMemcpy(data_, host, bytes_, cudaMemcpyHostToDevice));
  }
  /// Copies the buffer's size in bytes to host memory.
  void download(void* host) const {
    if (bytes_ > 0) LDH_CUDA_TRY(cudaMemcpy(host, data_, bytes_, cudaMemcpyDeviceToHost));
  }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace ldh
