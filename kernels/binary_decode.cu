#include "kernels/binary_decode.h"

#include "kernels/cuda_check.cuh"
#include "kernels/launch.cuh"

namespace ldh {
namespace {

__global__ void decode_records(BinaryDecodeLayout layout, const unsigned char* records,
                               const std::int32_t* string_ids, std::size_t count,
                               EventBatchDeviceView batch) {
  for (std::size_t row = first_row(); row < count; row += row_stride()) {
    const bool good =
        decode_binary_record(layout, records + row * layout.record_size,
                             string_ids + row * layout.string_count, batch.columns, row);
    batch.selection[row] = good ? kLive : 0;
  }
}

}  // namespace

void launch_binary_decode(const BinaryDecodeLayout& layout, const unsigned char* records,
                          const std::int32_t* string_ids, std::size_t count,
                          const EventBatchDeviceView& batch, cudaStream_t stream) {
  if (count == 0) return;
  decode_records<<<row_blocks(count), kRowThreads, 0, stream>>>(layout, records, string_ids, count,
                                                                batch);
  LDH_CUDA_CHECK_LAUNCH();
}

}  // namespace ldh
