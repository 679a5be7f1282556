// Measures what a window result costs per kept value: sorting the values of one (window, key,
// measure) for exact percentiles (the AVX-512 network where the CPU has one, and the portable
// counting / comparison sorts) and deriving exact sums and sums of squares from them
// (DerivedMeasure, from sorted or unsorted values), at the sizes a minute of readings gives.

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "pipeline/percentile.h"
#include "pipeline/window_metrics.h"

namespace {

constexpr std::size_t kGroups = 4096;

/// `kGroups` groups of `size` canonical temperatures with two decimals.
std::vector<std::vector<double>> groups(std::size_t size) {
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> temperature(15.0, 35.0);
  std::vector<std::vector<double>> result(kGroups, std::vector<double>(size));
  for (auto& group : result) {
    for (double& x : group) x = ldh::canonical_value(std::round(temperature(random) * 100) / 100);
  }
  return result;
}

template <void (*Sort)(std::span<const double>, std::vector<double>&)>
void run_sort(benchmark::State& state) {
  const auto input = groups(static_cast<std::size_t>(state.range(0)));
  std::vector<double> sorted;
  std::size_t group = 0;
  for (auto _ : state) {
    Sort(input[group], sorted);
    benchmark::DoNotOptimize(sorted.data());
    group = (group + 1) % kGroups;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

void BM_SortValues(benchmark::State& state) {
  run_sort<ldh::sort_values>(state);
}
BENCHMARK(BM_SortValues)->Arg(8)->Arg(30)->Arg(60)->Arg(120)->Arg(300);

void BM_SortValuesPortable(benchmark::State& state) {
  run_sort<ldh::sort_values_portable>(state);
}
BENCHMARK(BM_SortValuesPortable)->Arg(8)->Arg(30)->Arg(60)->Arg(120)->Arg(300);

void BM_DerivedMeasure(benchmark::State& state) {
  const bool sorted = state.range(1) != 0;
  auto input = groups(static_cast<std::size_t>(state.range(0)));
  if (sorted) {
    std::vector<double> out;
    for (auto& group : input) {
      ldh::sort_values(group, out);
      group = out;
    }
  }
  ldh::DerivedMeasure measure;
  std::size_t group = 0;
  for (auto _ : state) {
    measure.compute(input[group], sorted, true);
    benchmark::DoNotOptimize(measure.max_key);
    group = (group + 1) % kGroups;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * state.range(0)));
}
BENCHMARK(BM_DerivedMeasure)->ArgsProduct({{60, 300}, {0, 1}})->ArgNames({"values", "sorted"});

}  // namespace

BENCHMARK_MAIN();
