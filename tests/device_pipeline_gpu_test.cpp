// Checks the CUDA pipeline (binary decode, filters with CUB compaction, transforms through the
// shared expression program) against the CPU path byte for byte: random streams with NaN, -0.0,
// 1e300 next to 1e-300, integer extremes and bad records, batches of one record up to a million,
// through the runner and through the executor (with windows on the CPU). Skips without a device.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "device_pipeline_test_support.h"
#include "host/executor.h"
#include "run_pipeline.h"

#if LDH_HAVE_CUDA
#include "kernels/device.h"
#include "kernels/memory_pool.h"
#endif

namespace ldh {
namespace {

#if LDH_HAVE_CUDA

using testing::device_pipelines;
using testing::expect_same_texts;
using testing::run_on_cpu;
using testing::run_on_device;
using testing::schema_yaml;
using testing::StreamWriter;

bool device_available(std::string& why_none) {
  return !device::list_devices(why_none).empty();
}

std::unique_ptr<BatchProcessor> cuda_processor(const DevicePipelineSpec& spec) {
  return make_device_pipeline(spec);
}

Config pipeline_config(std::size_t pipeline, const std::string& unit, const std::string& folder) {
  return parse_config(
      testing::with_reject_folder(schema_yaml(unit) + device_pipelines()[pipeline], folder),
      "device.yaml");
}

TEST(DevicePipelineGpu, MatchesTheCpuPathByteForByte) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  std::uint64_t seed = 101;
  for (std::size_t p = 0; p < device_pipelines().size(); ++p) {
    for (const char* unit : {"s", "ms", "ns"}) {
      const Config config = pipeline_config(p, unit, "rejects");
      for (double bad_share : {0.0, 0.03}) {
        ++seed;
        StreamWriter writer(config.format.schema, seed);
        const std::string small = writer.write(400, bad_share);
        const std::string large = writer.write(60'000, bad_share);
        const testing::RunTexts small_cpu = run_on_cpu(config, small, 97, 1000);
        const testing::RunTexts large_cpu = run_on_cpu(config, large, 65536, 65536);
        for (std::size_t capacity : {1, 3}) {
          SCOPED_TRACE("pipeline " + std::to_string(p) + ", unit " + unit + ", seed " +
                       std::to_string(seed) + ", capacity " + std::to_string(capacity));
          expect_same_texts(small_cpu,
                            run_on_device(config, small, capacity, 1000, cuda_processor));
        }
        for (std::size_t capacity : {1000, 4096, 65536}) {
          SCOPED_TRACE("pipeline " + std::to_string(p) + ", unit " + unit + ", seed " +
                       std::to_string(seed) + ", capacity " + std::to_string(capacity));
          expect_same_texts(large_cpu,
                            run_on_device(config, large, capacity, 65536, cuda_processor));
        }
      }
    }
  }
}

/// A short run of every pipeline, small enough for compute-sanitizer's memcheck and racecheck.
TEST(DevicePipelineGpu, ShortRunForSanitizers) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  for (std::size_t p = 0; p < device_pipelines().size(); ++p) {
    const Config config = pipeline_config(p, "ms", "rejects");
    StreamWriter writer(config.format.schema, 40 + p);
    const std::string input = writer.write(3000, 0.03);
    const testing::RunTexts cpu = run_on_cpu(config, input, 512, 1000);
    for (std::size_t capacity : {3, 1000}) {
      SCOPED_TRACE("pipeline " + std::to_string(p) + ", capacity " + std::to_string(capacity));
      expect_same_texts(cpu, run_on_device(config, input, capacity, 1000, cuda_processor));
    }
  }
}

TEST(DevicePipelineGpu, HugeBatchMatches) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  const Config config = pipeline_config(1, "ms", "rejects");
  StreamWriter writer(config.format.schema, 7);
  const std::string input = writer.write(1 << 20, 0.01);
  expect_same_texts(run_on_cpu(config, input, 65536, 1 << 21),
                    run_on_device(config, input, 1 << 20, 1 << 21, cuda_processor));
}

/// Runs the executor over `input` on the device or the CPU and returns everything it wrote.
std::string run_executor(const std::string& yaml, const std::string& input, int device,
                         unsigned threads, std::size_t batch_size, bool fold_windows = false) {
  testing::ScratchFolder scratch;
  const Config config =
      parse_config(testing::with_reject_folder(yaml, scratch.path().string()), "device.yaml");
  RunOptions options;
  options.threads = threads;
  options.batch_size = batch_size;
  options.device = device;
  options.fold_windows = fold_windows;
  options.dead_letter_path = scratch.file("dead.jsonl");
  Executor executor(config, options);
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(make_memory_source("input", Format::binary, executor.plan().schema(),
                                       std::make_shared<std::string>(input), 0,
                                       executor.source_options()));
  std::string results;
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<testing::StringSink>(results));
  const RunSummary summary = executor.run(std::move(sources), std::move(sinks));
  std::string everything = "results:\n" + results;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(scratch.path())) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    everything += file.filename().string() + ":\n" + testing::read_file(file.string());
  }
  everything += "decoded " + std::to_string(summary.rows_decoded) + ", emitted " +
                std::to_string(summary.rows_emitted) + "\n";
  for (const auto& stage : summary.stages) {
    everything += stage.name + " " + std::to_string(stage.rows_in) + " " +
                  std::to_string(stage.rejected) + "\n";
  }
  return everything;
}

TEST(DevicePipelineGpu, ExecutorOutputIsTheCpuBackendsWithAndWithoutWindows) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  const std::string windows = R"yaml(
  groupBy: [id]
  watermark: {maxOutOfOrderness: 5s, allowedLateness: 30s}
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [count, avg, min, max, p50], measures: [temperature]}
)yaml";
  for (std::size_t p = 0; p < device_pipelines().size(); ++p) {
    std::string yaml = schema_yaml("ms") + device_pipelines()[p];
    StreamWriter writer(
        parse_config(testing::with_reject_folder(yaml, "r"), "d.yaml").format.schema, 300 + p);
    const std::string input = writer.write(200'000, 0.01);
    std::string windowed = yaml;
    windowed.insert(windowed.find("    schema:\n") + 12, "      eventTime: ts\n");
    windowed += windows;
    for (const std::string& text : {yaml, windowed}) {
      const std::string cpu = run_executor(text, input, -1, 2, 65536);
      for (unsigned threads : {1u, 4u}) {
        for (std::size_t batch_size : {4096, 65536}) {
          // Windows add rows on the CPU under auto and fold on the device under --backend gpu.
          for (bool fold : {false, true}) {
            SCOPED_TRACE("pipeline " + std::to_string(p) + ", threads " + std::to_string(threads) +
                         ", batch " + std::to_string(batch_size) + (fold ? ", folded" : ""));
            EXPECT_TRUE(cpu == run_executor(text, input, 0, threads, batch_size, fold));
          }
        }
      }
    }
  }
}

TEST(DevicePipelineGpu, PoolsReuseBlocksAcrossPipelines) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  const Config config = pipeline_config(0, "ms", "rejects");
  StringDictionary strings;
  Plan plan(config, strings);
  DevicePipelineSpec spec;
  spec.capacity = 8192;
  spec.layout = make_binary_decode_layout(plan.schema(), true, plan.input_slots());
  spec.slots = plan.slots();
  spec.stages = plan_device_stages(plan).stages;
  make_device_pipeline(spec).reset();
  const std::size_t held = device_memory_pool(0).held_bytes();
  const std::size_t reuses = device_memory_pool(0).reuses();
  make_device_pipeline(spec).reset();
  EXPECT_EQ(device_memory_pool(0).held_bytes(), held);
  EXPECT_GT(device_memory_pool(0).reuses(), reuses);
  EXPECT_EQ(device_memory_pool(0).lent_bytes(), 0u);
}

TEST(DevicePipelineGpu, ABatchTooLargeForTheDeviceFailsClearly) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  const Config config = pipeline_config(0, "ms", "rejects");
  StringDictionary strings;
  Plan plan(config, strings);
  DevicePipelineSpec spec;
  spec.capacity = std::size_t{1} << 30;
  spec.layout = make_binary_decode_layout(plan.schema(), true, plan.input_slots());
  spec.slots = plan.slots();
  spec.stages = plan_device_stages(plan).stages;
  EXPECT_THROW(make_device_pipeline(spec), DeviceError);
}

#else

TEST(DevicePipelineGpu, NeedsTheCudaBackend) {
  GTEST_SKIP() << "this build has no CUDA backend";
}

#endif

}  // namespace
}  // namespace ldh
