#include "kernels/value_sort.h"

#include <algorithm>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <string>

#include "kernels/cuda_check.cuh"
#include "kernels/device.h"
#include "kernels/launch.cuh"
#include "kernels/memory_pool.h"
#include "kernels/stream.cuh"
#include "pipeline/percentile.h"

namespace ldh {
namespace {

__global__ void to_sort_keys(const double* values, std::size_t count, std::uint64_t* keys) {
  for (std::size_t i = first_row(); i < count; i += row_stride()) keys[i] = sort_key(values[i]);
}

__global__ void to_values(const std::uint64_t* keys, std::size_t count, double* values) {
  for (std::size_t i = first_row(); i < count; i += row_stride()) {
    values[i] = value_of_sort_key(keys[i]);
  }
}

class DeviceValueSorter final : public ValueSorter {
 public:
  explicit DeviceValueSorter(int device) : device_(device) {
    name_ = device::select_device(device);
    stream_ = std::make_unique<Stream>();
  }

  void sort_groups(std::vector<double>& values,
                   const std::vector<std::uint32_t>& offsets) override {
    const std::size_t count = values.size();
    if (count == 0 || offsets.size() < 2) return;
    const auto groups = static_cast<int>(offsets.size() - 1);
    LDH_CUDA_TRY(cudaSetDevice(device_));
    reserve(count, offsets.size());
    cudaStream_t stream = stream_->get();
    auto* device_values = block_.at<double>(values_);
    auto* keys_in = block_.at<std::uint64_t>(keys_[0]);
    auto* keys_out = block_.at<std::uint64_t>(keys_[1]);
    auto* device_offsets = block_.at<std::uint32_t>(offsets_);
    LDH_CUDA_TRY(cudaMemcpyAsync(device_values, values.data(), count * sizeof(double),
                                 cudaMemcpyHostToDevice, stream));
    LDH_CUDA_TRY(cudaMemcpyAsync(device_offsets, offsets.data(),
                                 offsets.size() * sizeof(std::uint32_t), cudaMemcpyHostToDevice,
                                 stream));
    to_sort_keys<<<row_blocks(count), kRowThreads, 0, stream>>>(device_values, count, keys_in);
    LDH_CUDA_CHECK_LAUNCH();
    std::size_t bytes = scratch_bytes_;
    LDH_CUDA_TRY(cub::DeviceSegmentedRadixSort::SortKeys(
        block_.at<void>(scratch_), bytes, keys_in, keys_out, static_cast<int>(count), groups,
        device_offsets, device_offsets + 1, 0, 64, stream));
    to_values<<<row_blocks(count), kRowThreads, 0, stream>>>(keys_out, count, device_values);
    LDH_CUDA_CHECK_LAUNCH();
    LDH_CUDA_TRY(cudaMemcpyAsync(values.data(), device_values, count * sizeof(double),
                                 cudaMemcpyDeviceToHost, stream));
    LDH_CUDA_TRY(cudaStreamSynchronize(stream));
  }

  std::string describe() const override { return name_; }

 private:
  /// Lays the buffers out again, in a larger block, for more values or groups than before.
  void reserve(std::size_t count, std::size_t offsets) {
    if (count <= capacity_ && offsets <= offset_capacity_) return;
    std::size_t capacity = std::max<std::size_t>(capacity_, 1 << 16);
    while (capacity < count) capacity *= 2;
    std::size_t offset_capacity = std::max<std::size_t>(offset_capacity_, 1 << 12);
    while (offset_capacity < offsets) offset_capacity *= 2;
    ArenaLayout layout;
    values_ = layout.reserve(capacity * sizeof(double));
    keys_[0] = layout.reserve(capacity * sizeof(std::uint64_t));
    keys_[1] = layout.reserve(capacity * sizeof(std::uint64_t));
    offsets_ = layout.reserve(offset_capacity * sizeof(std::uint32_t));
    std::size_t bytes = 0;
    LDH_CUDA_TRY(cub::DeviceSegmentedRadixSort::SortKeys(
        nullptr, bytes, static_cast<const std::uint64_t*>(nullptr),
        static_cast<std::uint64_t*>(nullptr), static_cast<int>(capacity),
        static_cast<int>(offset_capacity - 1), static_cast<const std::uint32_t*>(nullptr),
        static_cast<const std::uint32_t*>(nullptr)));
    scratch_bytes_ = bytes;
    scratch_ = layout.reserve(bytes);
    block_ = PooledBlock(device_memory_pool(device_), layout.size());
    capacity_ = capacity;
    offset_capacity_ = offset_capacity;
  }

  int device_;
  std::string name_;
  std::unique_ptr<Stream> stream_;
  PooledBlock block_;
  std::size_t capacity_ = 0;
  std::size_t offset_capacity_ = 0;
  std::size_t values_ = 0;
  std::size_t keys_[2] = {0, 0};
  std::size_t offsets_ = 0;
  std::size_t scratch_ = 0;
  std::size_t scratch_bytes_ = 0;
};

}  // namespace

std::unique_ptr<ValueSorter> make_device_value_sorter(int device) {
  return std::make_unique<DeviceValueSorter>(device);
}

}  // namespace ldh
