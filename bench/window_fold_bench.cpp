// The device path of windows, on the host and on a device: folding 4 Mi rows of sensor-like
// readings (three measures, every fold part on: sums, squares, trend, extremes, first/last)
// over 10 000 keys and five one-minute panes into partials, and sorting the values of exact
// percentiles of one emission step (30 000 groups of 60 values: a minute of 10 000 sensors
// and three measures). Device figures are wall time per call including the copies in and out,
// so they are what the window engine waits for; they are skipped without a device.

#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "pipeline/percentile.h"
#include "pipeline/value_sort.h"
#include "pipeline/window_partial.h"

#if LDH_HAVE_CUDA
#include "kernels/device.h"
#include "kernels/value_sort.h"
#include "kernels/window_aggregate.h"
#endif

namespace ldh {
namespace {

constexpr std::uint32_t kRows = 4u << 20;
constexpr std::uint32_t kKeys = 10'000;
constexpr std::uint32_t kMeasures = 3;

/// Readings of kKeys sensors, each about once a second over five minutes.
const FoldRows& readings() {
  static const FoldRows rows = [] {
    FoldRows made;
    std::mt19937_64 random(7);
    made.key_fields = 1;
    made.measures = kMeasures;
    made.times.resize(kRows);
    made.hashes.resize(kRows);
    made.keys.resize(kRows);
    made.key_valid.assign(kRows, 1);
    made.values.resize(std::size_t{kRows} * kMeasures);
    made.valid.assign(std::size_t{kRows} * kMeasures, 1);
    const std::int64_t base = 1'795'910'400'000'000'000;
    for (std::uint32_t i = 0; i < kRows; ++i) {
      const std::uint64_t key = random() % kKeys;
      made.times[i] = base + static_cast<std::int64_t>(i) * 300'000'000'000 / kRows;
      made.keys[i] = key;
      made.hashes[i] = (key + 1) * 0x9e3779b97f4a7c15ULL;
      for (std::uint32_t m = 0; m < kMeasures; ++m) {
        made.values[std::size_t{m} * kRows + i] =
            20 + 10 * m + std::uniform_real_distribution<double>(-5, 5)(random);
      }
    }
    return made;
  }();
  return rows;
}

void run_fold(benchmark::State& state, PaneAggregator& aggregator) {
  const FoldRows& rows = readings();
  const FoldPlan plan =
      make_fold_plan(rows.times.front(), rows.times.back(), std::int64_t{60'000'000'000});
  const FoldNeeds needs{true, true, true, true, true};
  PanePartials partials;
  for (auto _ : state) {
    aggregator.fold(rows.view(), plan, needs, partials);
    benchmark::DoNotOptimize(partials.partials.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows);
  state.counters["partials"] = static_cast<double>(partials.partials.size());
}

/// 30 000 groups of 60 canonical readings.
const std::vector<double>& step_values() {
  static const std::vector<double> values = [] {
    std::vector<double> made(30'000 * 60);
    std::mt19937_64 random(9);
    for (double& x : made)
      x = canonical_value(std::uniform_real_distribution<double>(15, 35)(random));
    return made;
  }();
  return values;
}

void run_sort(benchmark::State& state, ValueSorter& sorter) {
  std::vector<std::uint32_t> offsets;
  for (std::uint32_t g = 0; g <= 30'000; ++g) offsets.push_back(g * 60);
  std::vector<double> values;
  for (auto _ : state) {
    state.PauseTiming();
    values = step_values();
    state.ResumeTiming();
    sorter.sort_groups(values, offsets);
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(step_values().size()));
}

void BM_SortValuesHost(benchmark::State& state) {
  auto sorter = make_host_value_sorter();
  run_sort(state, *sorter);
}
BENCHMARK(BM_SortValuesHost)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FoldHost(benchmark::State& state) {
  auto aggregator = make_host_pane_aggregator();
  run_fold(state, *aggregator);
}
BENCHMARK(BM_FoldHost)->Unit(benchmark::kMillisecond)->UseRealTime();

#if LDH_HAVE_CUDA
void BM_FoldDevice(benchmark::State& state) {
  std::string why;
  if (device::list_devices(why).empty()) {
    state.SkipWithError(("no CUDA device: " + why).c_str());
    return;
  }
  auto aggregator = make_device_pane_aggregator(0);
  run_fold(state, *aggregator);
}
BENCHMARK(BM_FoldDevice)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SortValuesDevice(benchmark::State& state) {
  std::string why;
  if (device::list_devices(why).empty()) {
    state.SkipWithError(("no CUDA device: " + why).c_str());
    return;
  }
  auto sorter = make_device_value_sorter(0);
  run_sort(state, *sorter);
}
BENCHMARK(BM_SortValuesDevice)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

}  // namespace
}  // namespace ldh

BENCHMARK_MAIN();
