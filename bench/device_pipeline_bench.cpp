// Device pipeline throughput on one worker: pinned host-to-device copies (the PCIe ceiling), then
// the sensor pipeline of examples/sensors.yaml (decode, validation filter, heat index and dew
// point) from binary frames in host memory to result batches back in host memory. Inputs are
// larger than the GPU's L2. Times come from CUDA events; skipped without a device.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#if LDH_HAVE_CUDA
#include <cuda_runtime.h>

#include "demo_frames.h"
#include "host/device_runtime.h"
#include "host/memory.h"
#include "kernels/device.h"
#endif

namespace ldh {
namespace {

#if LDH_HAVE_CUDA

/// Skips the benchmark (returns false) unless a device answers and a CUDA call succeeds.
bool check(benchmark::State& state, cudaError_t status) {
  if (status == cudaSuccess) return true;
  state.SkipWithError(cudaGetErrorString(status));
  return false;
}

bool device_ready(benchmark::State& state) {
  std::string why;
  if (device::list_devices(why).empty()) {
    state.SkipWithError(("no usable CUDA device: " + why).c_str());
    return false;
  }
  return check(state, cudaSetDevice(0));
}

/// Times `work` between two CUDA events on the default stream; `work` returns once its device
/// work is complete, so the span covers host staging, copies and kernels.
template <typename Work>
bool time_with_events(benchmark::State& state, Work work) {
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  if (!check(state, cudaEventCreate(&start)) || !check(state, cudaEventCreate(&stop))) return false;
  bool ok = check(state, cudaEventRecord(start)) && work() && check(state, cudaEventRecord(stop)) &&
            check(state, cudaEventSynchronize(stop));
  float milliseconds = 0;
  ok = ok && check(state, cudaEventElapsedTime(&milliseconds, start, stop));
  if (ok) state.SetIterationTime(milliseconds / 1e3);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ok;
}

/// Pinned host-to-device bandwidth: the ceiling of any pipeline fed from host memory.
void BM_PinnedHostToDevice(benchmark::State& state) {
  if (!device_ready(state)) return;
  const auto bytes = static_cast<std::size_t>(state.range(0));
  void* host = nullptr;
  void* device = nullptr;
  cudaStream_t stream = nullptr;
  if (!check(state, cudaHostAlloc(&host, bytes, cudaHostAllocDefault)) ||
      !check(state, cudaMalloc(&device, bytes)) ||
      !check(state, cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking))) {
    return;
  }
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  for (auto _ : state) {
    float milliseconds = 0;
    if (!check(state, cudaEventRecord(start, stream)) ||
        !check(state, cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream)) ||
        !check(state, cudaEventRecord(stop, stream)) || !check(state, cudaEventSynchronize(stop)) ||
        !check(state, cudaEventElapsedTime(&milliseconds, start, stop))) {
      break;
    }
    state.SetIterationTime(milliseconds / 1e3);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["H2D_GB/s"] = benchmark::Counter(static_cast<double>(bytes) * 1e-9,
                                                  benchmark::Counter::kIsIterationInvariantRate);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaStreamDestroy(stream);
  cudaFree(device);
  cudaFreeHost(host);
}
BENCHMARK(BM_PinnedHostToDevice)
    ->Arg(64 << 20)
    ->Arg(256 << 20)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

/// The sensor pipeline's stateless stages on the device, 4 M events (192 MB of frames) per
/// iteration, cut into chunks as sources cut them (64 Ki records, or one batch when batches are
/// larger); range(0) = records per batch, range(1) = 1 with the string fields, 0 without them.
void BM_SensorPipelineOnDevice(benchmark::State& state) {
  if (!device_ready(state)) return;
  constexpr std::uint64_t kEvents = 4'000'000;
  const auto capacity = static_cast<std::size_t>(state.range(0));
  DemoFrames frames;
  try {
    frames = make_demo_frames(kEvents, std::max<std::size_t>(capacity, 65536), state.range(1) != 0);
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
    return;
  }
  StringDictionary strings;
  Plan plan(frames.config, strings);
  const DeviceStagePlan stages = plan_device_stages(plan);
  std::unique_ptr<DeviceChunkRunner> runner;
  try {
    runner = make_device_chunk_runner(plan, stages.stages, true, strings, 0, capacity, false);
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
    return;
  }
  // Pinned, as in ldh run: results copy back without a staging pass through pageable memory.
  EventBatch batch(plan.slots(), capacity, batch_memory());
  const auto bytes = frames.bytes();
  std::vector<DeadLetter> letters;
  std::uint64_t emitted = 0;
  for (auto _ : state) {
    const bool ok = time_with_events(state, [&] {
      for (const auto& [offset, length] : frames.chunks) {
        letters.clear();
        runner->run(bytes.subspan(offset, length), offset, 0, batch, letters,
                    [&](EventBatch& rows, std::uint64_t) { emitted += rows.size(); });
      }
      return true;
    });
    if (!ok) break;
  }
  benchmark::DoNotOptimize(emitted);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frames.input.size()));
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(kEvents),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SensorPipelineOnDevice)
    ->Args({1 << 20, 1})
    ->Args({65536, 1})
    ->Args({16384, 1})
    ->Args({65536, 0})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

#else

void BM_DevicePipelineNeedsCuda(benchmark::State& state) {
  state.SkipWithError("this build has no CUDA backend");
  for (auto _ : state) {
  }
}
BENCHMARK(BM_DevicePipelineNeedsCuda);

#endif

}  // namespace
}  // namespace ldh

BENCHMARK_MAIN();
