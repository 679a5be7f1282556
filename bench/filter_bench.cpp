// Filter and derived-field throughput on one core: the validation filter and heat_index stage of
// examples/sensors.yaml over batches already in columns.

#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>

#include "pipeline/batch.h"
#include "pipeline/config.h"
#include "pipeline/plan.h"

namespace ldh {
namespace {

constexpr std::size_t kRows = 1 << 16;

std::string config_text(const std::string& stages) {
  return R"yaml(
input:
  sources: [{type: generator}]
  format:
    type: binary
    schema:
      fields:
        - {name: temperature, type: float64}
        - {name: humidity, type: float32}
processing:
  pipeline:
)yaml" + stages +
         R"yaml(
output:
  destinations: [{type: stdout}]
)yaml";
}

const char* const kFilter = R"yaml(
    - name: validation
      type: filter
      config:
        rules:
          - {field: temperature, operator: range, value: [-50, 150]}
          - {field: humidity, operator: range, value: [0, 100]}
)yaml";

const char* const kHeatIndex = R"yaml(
    - name: enrichment
      type: transform
      config:
        operations:
          - {type: calculate, field: heat_index, formula: "heat_index(temperature, humidity)"}
)yaml";

/// Runs `stages` over a 64 Ki-row batch of plausible readings, resetting the selection each time.
void run_stages(benchmark::State& state, const std::string& stages) {
  Config config = parse_config(config_text(stages), "bench.yaml");
  StringDictionary strings;
  Plan plan(config, strings);
  EventBatch batch(plan.slots(), kRows, page_aligned_memory());
  batch.resize(kRows);
  double* temperature = batch.column(plan.input_slots()[0]).data<double>();
  float* humidity = batch.column(plan.input_slots()[1]).data<float>();
  std::uint64_t seed = 42;
  for (std::size_t row = 0; row < kRows; ++row) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    temperature[row] = -10.0 + static_cast<double>(seed >> 40) / (1 << 24) * 50.0;
    humidity[row] = static_cast<float>(static_cast<double>((seed >> 8) & 0xffff) / 65536.0 * 100.0);
    if (row % 500 == 0) temperature[row] = 185.0;
  }
  for (auto _ : state) {
    std::memset(batch.selection(), kLive, kRows);
    plan.apply(batch);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRows));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kRows * 12));
}

void Filter(benchmark::State& state) {
  run_stages(state, kFilter);
}
void HeatIndex(benchmark::State& state) {
  run_stages(state, kHeatIndex);
}
void FilterAndHeatIndex(benchmark::State& state) {
  run_stages(state, std::string(kFilter) + kHeatIndex);
}

BENCHMARK(Filter);
BENCHMARK(HeatIndex);
BENCHMARK(FilterAndHeatIndex);

}  // namespace
}  // namespace ldh

BENCHMARK_MAIN();
