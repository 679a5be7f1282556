#include "kernels/expression.h"

#include <cstddef>
#include <string>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "kernels/device_buffer.cuh"

namespace ldh {
namespace {

__global__ void evaluate_rows(const Instruction* code, int count, const double* constants,
                              const ColumnView* columns, std::size_t rows, double now_ms,
                              double* out, std::uint8_t* valid) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t row = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       row < rows; row += stride) {
    out[row] = run_program(code, count, constants, columns, row, now_ms);
    if (valid != nullptr) valid[row] = row_is_valid(code, count, columns, row) ? 1 : 0;
  }
}

void require_device() {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw DeviceError(std::string("no usable CUDA device: ") + cudaGetErrorString(status));
  }
  if (devices == 0) throw DeviceError("no usable CUDA device: the runtime reports none");
}

}  // namespace

void evaluate_on_device(const CompiledExpression& expression, const EventBatchView& host_batch,
                        double now_ms, double* out, std::uint8_t* valid) {
  LDH_EXPECTS(!expression.code.empty(), "evaluating an empty program");
  LDH_EXPECTS(expression.stack_depth >= 1 && expression.stack_depth <= kMaxStackDepth,
              "program stack depth out of range");
  require_device();
  const std::size_t rows = host_batch.size;
  if (rows == 0) return;

  // Device copies of the columns the program reads; the other slots stay empty.
  std::vector<ColumnView> columns(host_batch.columns.size(),
                                  ColumnView{DataType::float64, nullptr, nullptr});
  std::vector<DeviceBuffer> buffers;
  buffers.reserve(2 * expression.input_slots.size());
  for (int slot : expression.input_slots) {
    LDH_EXPECTS(slot >= 0 && static_cast<std::size_t>(slot) < host_batch.columns.size(),
                "expression reads a slot the batch lacks");
    const ColumnView& host = host_batch.columns[slot];
    columns[slot].type = host.type;
    buffers.emplace_back(rows * storage_width(host.type));
    buffers.back().upload(host.data);
    columns[slot].data = buffers.back().data();
    if (host.validity != nullptr) {
      buffers.emplace_back(rows);
      buffers.back().upload(host.validity);
      columns[slot].validity = static_cast<std::uint8_t*>(buffers.back().data());
    }
  }

  DeviceBuffer device_columns(columns.size() * sizeof(ColumnView));
  device_columns.upload(columns.data());
  DeviceBuffer device_code(expression.code.size() * sizeof(Instruction));
  device_code.upload(expression.code.data());
  DeviceBuffer device_constants(expression.constants.size() * sizeof(double));
  device_constants.upload(expression.constants.data());
  DeviceBuffer device_out(rows * sizeof(double));
  DeviceBuffer device_valid(valid != nullptr ? rows : 0);

  constexpr int kThreads = 256;
  const std::size_t wanted_blocks = (rows + kThreads - 1) / kThreads;
  const int blocks = static_cast<int>(wanted_blocks < 65535 ? wanted_blocks : 65535);
  evaluate_rows<<<blocks, kThreads>>>(
      static_cast<const Instruction*>(device_code.data()), static_cast<int>(expression.code.size()),
      static_cast<const double*>(device_constants.data()),
      static_cast<const ColumnView*>(device_columns.data()), rows, now_ms,
      static_cast<double*>(device_out.data()), static_cast<std::uint8_t*>(device_valid.data()));
  LDH_CUDA_CHECK_LAUNCH();
  LDH_CUDA_TRY(cudaDeviceSynchronize());
  device_out.download(out);
  if (valid != nullptr) device_valid.download(valid);
}

}  // namespace ldh
