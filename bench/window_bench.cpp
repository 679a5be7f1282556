// Measures the window engine alone on prepared rows: WindowEngine::add over the built-in sensor
// pipeline's windows (tumbling 1 m avg/max/min/stddev/p50/p95/p99 over three measures, sliding
// 5 m/1 m trend, grouped by sensor_id, an alert), with events from 100, 10 000 or 1 M sensors one
// second apart, and result rows formatted as in a run. Reports the state bytes per active
// (key, window) pair at the end of the input.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "host/default_config.h"
#include "pipeline/config.h"
#include "pipeline/plan.h"
#include "pipeline/string_dictionary.h"
#include "pipeline/window.h"

namespace {

constexpr std::int64_t kStart = 1'795'000'000'000'000'000;
constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::size_t kBatchRows = 65'536;

/// Cuts `events` sensor readings into batches of rows shaped for `engine`: sensor i reports every
/// second, staggered across the second, with temperatures around 25 °C in hundredths.
std::vector<ldh::WindowRows> sensor_rows(const ldh::WindowEngine& engine, std::size_t events,
                                         std::uint32_t sensors) {
  std::vector<ldh::WindowRows> batches;
  std::uint64_t random = 42;
  auto next_unit = [&random] {
    random = random * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(random >> 11) * 0x1p-53;
  };
  for (std::size_t first = 0; first < events; first += kBatchRows) {
    ldh::WindowRows& rows = batches.emplace_back();
    const std::size_t count = std::min(kBatchRows, events - first);
    rows.keys.assign(engine.key_fields().size(), {});
    rows.key_valid.assign(engine.key_fields().size(), {});
    rows.measures.assign(engine.measure_fields().size(), {});
    rows.measure_valid.assign(engine.measure_fields().size(), {});
    for (std::size_t i = first; i < first + count; ++i) {
      const std::uint32_t sensor = static_cast<std::uint32_t>(i % sensors);
      const std::int64_t round = static_cast<std::int64_t>(i / sensors);
      rows.times.push_back(kStart + round * kSecond + sensor * (kSecond / sensors));
      for (std::size_t k = 0; k < rows.keys.size(); ++k) {
        rows.keys[k].push_back(sensor);
        rows.key_valid[k].push_back(1);
      }
      for (std::size_t m = 0; m < rows.measures.size(); ++m) {
        const std::string& name = engine.measure_fields()[m].name;
        double value = 0;
        if (name == "humidity") {
          value = static_cast<float>(40.0 + 30.0 * next_unit());
        } else {
          value = static_cast<double>(static_cast<int>((18.0 + 14.0 * next_unit()) * 100)) / 100;
        }
        rows.measures[m].push_back(value);
        rows.measure_valid[m].push_back(1);
      }
    }
  }
  return batches;
}

void run_sensor_windows(benchmark::State& state, std::size_t events, std::uint32_t sensors,
                        std::size_t partitions) {
  const ldh::Config config = ldh::parse_config(ldh::kDefaultConfigText, ldh::kDefaultConfigName);
  ldh::StringDictionary strings;
  const ldh::Plan plan(config, strings);
  std::vector<ldh::WindowRows> batches;
  {
    const ldh::WindowEngine shape(config, plan, strings, 1);
    batches = sensor_rows(shape, events, sensors);
    for (auto& rows : batches) shape.hash_keys(rows);
  }
  double bytes_per_state = 0;
  std::size_t output_bytes = 0;
  for (auto _ : state) {
    // The executor's workers hand the engine rows with their keys hashed, to keep.
    state.PauseTiming();
    std::vector<ldh::WindowRows> copies = batches;
    state.ResumeTiming();
    ldh::WindowEngine engine(config, plan, strings, 1, partitions);
    ldh::WindowOutput output;
    // As the executor does: large watermark steps hand their text over as they go.
    output.drain = [&](const ldh::WindowOutput& text) { output_bytes += text.results.size(); };
    for (auto& rows : copies) {
      engine.add(std::move(rows), output);
      output_bytes += output.results.size();
      output.results.clear();
      output.alerts.clear();
    }
    bytes_per_state = static_cast<double>(engine.state_bytes()) /
                      static_cast<double>(std::max<std::size_t>(1, engine.active_states()));
    engine.finish(output);
    output_bytes += output.results.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
  state.counters["bytes_per_state"] = bytes_per_state;
  state.counters["output_MB"] =
      static_cast<double>(output_bytes) / 1e6 / static_cast<double>(state.iterations());
}

void BM_SensorWindows10kSensors(benchmark::State& state) {
  run_sensor_windows(state, 2'000'000, 10'000, static_cast<std::size_t>(state.range(0)));
}
BENCHMARK(BM_SensorWindows10kSensors)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("partitions")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_SensorWindows1MSensors(benchmark::State& state) {
  run_sensor_windows(state, 2'000'000, 1'000'000, static_cast<std::size_t>(state.range(0)));
}
BENCHMARK(BM_SensorWindows1MSensors)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("partitions")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_SensorWindows100Sensors(benchmark::State& state) {
  run_sensor_windows(state, 2'000'000, 100, static_cast<std::size_t>(state.range(0)));
}
BENCHMARK(BM_SensorWindows100Sensors)
    ->Arg(1)
    ->ArgName("partitions")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
