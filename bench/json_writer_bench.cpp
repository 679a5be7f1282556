// Measures printing result doubles as JSON numbers, in time per value (per_value):
// append_json_number (Dragonbox's digits, laid out as libstdc++ does) against std::to_chars, which
// it matches byte for byte and which it used before. Two kinds of sensor values:
//   - averages (readings:0): 16 or 17 significant digits, like 23.456789012345678;
//   - readings (readings:1): two decimals, like 23.45.
//
//   json_writer_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <charconv>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "pipeline/json_writer.h"

namespace {

constexpr std::size_t kValues = 4096;

/// Returns `kValues` averages (kind 0) or two-decimal readings (kind 1) between -10 and 50.
std::vector<double> sensor_values(std::int64_t kind) {
  std::mt19937_64 random(11);
  std::uniform_real_distribution<double> temperature(-10.0, 50.0);
  std::vector<double> values(kValues);
  for (double& x : values) {
    x = temperature(random);
    if (kind == 1) x = std::round(x * 100) / 100;
  }
  return values;
}

template <void (*Append)(std::string&, double)>
void run_append(benchmark::State& state) {
  const auto values = sensor_values(state.range(0));
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (double x : values) Append(out, x);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["per_value"] = benchmark::Counter(
      static_cast<double>(values.size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void append_to_chars(std::string& out, double value) {
  char buffer[64];
  out.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
}

void BM_AppendJsonNumber(benchmark::State& state) {
  run_append<ldh::append_json_number>(state);
}
BENCHMARK(BM_AppendJsonNumber)->ArgName("readings")->Arg(0)->Arg(1);

void BM_ToChars(benchmark::State& state) {
  run_append<append_to_chars>(state);
}
BENCHMARK(BM_ToChars)->ArgName("readings")->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
