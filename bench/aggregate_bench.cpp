// Measures the exact aggregation core on sensor-like data: ExactSum add / add_product /
// add_scaled_integer per second (one accumulator, and spread over 10 000 keys), merges,
// rounding, the moment and trend finalisers, exact percentile selection and DDSketch adds.
// A plain double sum is the baseline.

#include <benchmark/benchmark.h>

#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include "pipeline/ddsketch.h"
#include "pipeline/exact_sum.h"
#include "pipeline/moments.h"
#include "pipeline/percentile.h"

namespace {

constexpr std::size_t kValues = 1 << 20;
constexpr std::size_t kKeys = 10'000;

/// Temperatures in C with two decimals, as a sensor reports them.
const std::vector<double>& readings() {
  static const std::vector<double> values = [] {
    std::mt19937_64 random(42);
    std::uniform_real_distribution<double> temperature(-10.0, 45.0);
    std::vector<double> result(kValues);
    for (double& x : result) x = std::round(temperature(random) * 100) / 100;
    return result;
  }();
  return values;
}

/// Event times within a five-minute window, in ns.
const std::vector<std::int64_t>& times() {
  static const std::vector<std::int64_t> values = [] {
    std::mt19937_64 random(43);
    std::vector<std::int64_t> result(kValues);
    for (std::int64_t& t : result) t = static_cast<std::int64_t>(random() % 300'000'000'000);
    return result;
  }();
  return values;
}

/// Key of each event, uniformly over kKeys.
const std::vector<std::uint32_t>& keys() {
  static const std::vector<std::uint32_t> values = [] {
    std::mt19937_64 random(44);
    std::vector<std::uint32_t> result(kValues);
    for (std::uint32_t& k : result) k = static_cast<std::uint32_t>(random() % kKeys);
    return result;
  }();
  return values;
}

void BM_DoubleSumBaseline(benchmark::State& state) {
  const std::vector<double>& values = readings();
  for (auto _ : state) {
    double sum = 0;
    for (const double x : values) sum += x;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kValues));
}
BENCHMARK(BM_DoubleSumBaseline);

void BM_ExactSumAdd(benchmark::State& state) {
  const std::vector<double>& values = readings();
  for (auto _ : state) {
    ldh::ExactSum sum;
    for (const double x : values) sum.add(x);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kValues));
}
BENCHMARK(BM_ExactSumAdd);

void BM_ExactSumAddProduct(benchmark::State& state) {
  const std::vector<double>& values = readings();
  for (auto _ : state) {
    ldh::ExactSum squares;
    for (const double x : values) squares.add_product(x, x);
    benchmark::DoNotOptimize(squares);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kValues));
}
BENCHMARK(BM_ExactSumAddProduct);

void BM_ExactSumAddScaledInteger(benchmark::State& state) {
  const std::vector<double>& values = readings();
  const std::vector<std::int64_t>& t = times();
  for (auto _ : state) {
    ldh::ExactSum products;
    for (std::size_t i = 0; i < kValues; ++i) products.add_scaled_integer(values[i], t[i]);
    benchmark::DoNotOptimize(products);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kValues));
}
BENCHMARK(BM_ExactSumAddScaledInteger);

void BM_DenseExactSumAdd(benchmark::State& state) {
  const std::vector<double>& values = readings();
  ldh::exact::DenseExactSum dense;
  for (auto _ : state) {
    dense.clear();
    for (const double x : values) dense.add(x);
    benchmark::DoNotOptimize(dense);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kValues));
}
BENCHMARK(BM_DenseExactSumAdd);

/// One ExactSum per key: the window engine's access pattern (random accumulator per event).
void BM_ExactSumAddManyKeys(benchmark::State& state) {
  const std::vector<double>& values = readings();
  const std::vector<std::uint32_t>& key = keys();
  std::vector<ldh::ExactSum> sums(kKeys);
  for (auto _ : state) {
    for (std::size_t i = 0; i < kValues; ++i) sums[key[i]].add(values[i]);
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kValues));
}
BENCHMARK(BM_ExactSumAddManyKeys);

/// count, sum and sum of squares per key, plus the trend sums.
void BM_MomentsAndTrendAddManyKeys(benchmark::State& state) {
  const std::vector<double>& values = readings();
  const std::vector<std::int64_t>& t = times();
  const std::vector<std::uint32_t>& key = keys();
  std::vector<ldh::Moments> moments(kKeys);
  std::vector<ldh::TrendSums> trends(kKeys);
  for (auto _ : state) {
    for (std::size_t i = 0; i < kValues; ++i) {
      moments[key[i]].add(values[i]);
      trends[key[i]].add(t[i], values[i]);
    }
    benchmark::DoNotOptimize(moments.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kValues));
}
BENCHMARK(BM_MomentsAndTrendAddManyKeys);

/// Builds per-key Moments and TrendSums over the readings.
struct KeyedMoments {
  KeyedMoments() : moments(kKeys), trends(kKeys) {
    for (std::size_t i = 0; i < kValues; ++i) {
      moments[keys()[i]].add(readings()[i]);
      trends[keys()[i]].add(times()[i], readings()[i]);
    }
  }
  std::vector<ldh::Moments> moments;
  std::vector<ldh::TrendSums> trends;
};

const KeyedMoments& keyed() {
  static const KeyedMoments value;
  return value;
}

void BM_ExactSumMerge(benchmark::State& state) {
  const KeyedMoments& data = keyed();
  for (auto _ : state) {
    ldh::ExactSum total;
    for (const ldh::Moments& m : data.moments) total.merge(m.sum_of_squares);
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kKeys));
}
BENCHMARK(BM_ExactSumMerge);

void BM_ExactSumToDouble(benchmark::State& state) {
  const KeyedMoments& data = keyed();
  for (auto _ : state) {
    for (const ldh::Moments& m : data.moments) benchmark::DoNotOptimize(m.sum.to_double());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kKeys));
}
BENCHMARK(BM_ExactSumToDouble);

void BM_FinaliseAverageVarianceStddev(benchmark::State& state) {
  const KeyedMoments& data = keyed();
  for (auto _ : state) {
    for (const ldh::Moments& m : data.moments) {
      benchmark::DoNotOptimize(ldh::average(m));
      benchmark::DoNotOptimize(ldh::sample_variance(m));
      benchmark::DoNotOptimize(ldh::sample_standard_deviation(m));
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kKeys));
}
BENCHMARK(BM_FinaliseAverageVarianceStddev);

/// One finaliser alone over every key's moments.
template <std::optional<double> (*Finaliser)(const ldh::Moments&)>
void finalise_each(benchmark::State& state) {
  const KeyedMoments& data = keyed();
  for (auto _ : state) {
    for (const ldh::Moments& m : data.moments) benchmark::DoNotOptimize(Finaliser(m));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kKeys));
}

void BM_FinaliseAverage(benchmark::State& state) {
  finalise_each<ldh::average>(state);
}
BENCHMARK(BM_FinaliseAverage);

void BM_FinaliseSampleVariance(benchmark::State& state) {
  finalise_each<ldh::sample_variance>(state);
}
BENCHMARK(BM_FinaliseSampleVariance);

void BM_FinaliseSampleStandardDeviation(benchmark::State& state) {
  finalise_each<ldh::sample_standard_deviation>(state);
}
BENCHMARK(BM_FinaliseSampleStandardDeviation);

void BM_FinaliseTrend(benchmark::State& state) {
  const KeyedMoments& data = keyed();
  for (auto _ : state) {
    for (std::size_t k = 0; k < kKeys; ++k) {
      benchmark::DoNotOptimize(ldh::trend(data.moments[k], data.trends[k]));
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kKeys));
}
BENCHMARK(BM_FinaliseTrend);

/// Sorts one window's values and answers p50, p95, p99; the argument is the window's size.
void BM_PercentileSelect(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const std::vector<double>& values = readings();
  const std::vector<ldh::PercentileMetric> metrics = {*ldh::parse_percentile_metric("p50"),
                                                      *ldh::parse_percentile_metric("p95"),
                                                      *ldh::parse_percentile_metric("p99")};
  std::vector<double> window(size);
  std::size_t start = 0;
  for (auto _ : state) {
    std::copy(values.begin() + static_cast<std::ptrdiff_t>(start),
              values.begin() + static_cast<std::ptrdiff_t>(start + size), window.begin());
    benchmark::DoNotOptimize(ldh::exact_percentiles(window, metrics));
    start = (start + size) % (kValues - size);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * size));
}
BENCHMARK(BM_PercentileSelect)->Arg(60)->Arg(1000)->Arg(100'000);

void BM_DDSketchAdd(benchmark::State& state) {
  const std::vector<double>& values = readings();
  for (auto _ : state) {
    ldh::DDSketch sketch;
    for (const double x : values) sketch.add(x);
    benchmark::DoNotOptimize(sketch);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kValues));
}
BENCHMARK(BM_DDSketchAdd);

}  // namespace

BENCHMARK_MAIN();
