// Measures the column-at-a-time expression evaluator (and, for contrast, the per-row
// interpreter that CUDA kernels run) in events/s over 64 Ki-row batches.

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "pipeline/expression.h"
#include "pipeline/memory.h"

namespace {

constexpr std::size_t kRows = 64 * 1024;

/// Holds a batch of sensor readings: temperature (C), humidity (%), pressure (hPa), sensor_id.
struct SensorBatch {
  SensorBatch()
      : batch({{ldh::DataType::float64, false},
               {ldh::DataType::float64, false},
               {ldh::DataType::float32, false},
               {ldh::DataType::int32, false}},
              kRows, ldh::page_aligned_memory()) {
    batch.resize(kRows);
    std::mt19937_64 random(42);
    std::uniform_real_distribution<double> temperature(-10.0, 45.0);
    std::uniform_real_distribution<double> humidity(0.0, 100.0);
    std::uniform_real_distribution<float> pressure(950.0f, 1050.0f);
    for (std::size_t row = 0; row < kRows; ++row) {
      batch.column(0).data<double>()[row] = temperature(random);
      batch.column(1).data<double>()[row] = humidity(random);
      batch.column(2).data<float>()[row] = pressure(random);
      batch.column(3).data<std::int32_t>()[row] = static_cast<std::int32_t>(row % 1000);
    }
  }

  ldh::CompiledExpression compile(const std::string& text) {
    const std::vector<std::string> names{"temperature", "humidity", "pressure", "sensor_id"};
    auto resolver = [&](std::string_view name) -> std::optional<ldh::ExpressionField> {
      for (std::size_t slot = 0; slot < names.size(); ++slot) {
        if (names[slot] == name) {
          return ldh::ExpressionField{static_cast<int>(slot), batch.column(slot).type(), false};
        }
      }
      return std::nullopt;
    };
    return ldh::compile_expression(text, resolver, strings);
  }

  /// Bytes of input the expression reads per row.
  std::size_t input_bytes(const ldh::CompiledExpression& expression) {
    std::size_t bytes = 0;
    for (int slot : expression.input_slots) {
      bytes += ldh::storage_width(batch.column(static_cast<std::size_t>(slot)).type());
    }
    return bytes;
  }

  ldh::StringDictionary strings;
  ldh::EventBatch batch;
};

const char* const kHeatIndex = "heat_index(temperature, humidity)";
const char* const kComparison = "temperature > 100";
const char* const kMixed =
    "if(humidity > 50, dew_point(temperature, humidity), temperature * 1.8 + 32) + "
    "clamp(pressure / 10, 90, 110) - abs(sensor_id % 7)";
const char* const kDewPoint = "dew_point(temperature, humidity)";

void run_columns(benchmark::State& state, const char* text) {
  SensorBatch sensors;
  const ldh::CompiledExpression expression = sensors.compile(text);
  const ldh::EventBatchView view = sensors.batch.view();
  std::vector<double> out(kRows);
  std::vector<std::uint8_t> valid(kRows);
  for (auto _ : state) {
    ldh::evaluate(expression, view, 0.0, out.data(), valid.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const auto rows =
      static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kRows);
  state.SetItemsProcessed(rows);
  state.SetBytesProcessed(rows * static_cast<std::int64_t>(sensors.input_bytes(expression)));
}

void run_rows(benchmark::State& state, const char* text) {
  SensorBatch sensors;
  const ldh::CompiledExpression expression = sensors.compile(text);
  const ldh::EventBatchView view = sensors.batch.view();
  std::vector<double> out(kRows);
  const int count = static_cast<int>(expression.code.size());
  for (auto _ : state) {
    for (std::size_t row = 0; row < kRows; ++row) {
      out[row] = ldh::run_program(expression.code.data(), count, expression.constants.data(),
                                  view.columns.data(), row, 0.0);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const auto rows =
      static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kRows);
  state.SetItemsProcessed(rows);
  state.SetBytesProcessed(rows * static_cast<std::int64_t>(sensors.input_bytes(expression)));
}

void BM_HeatIndexColumns(benchmark::State& state) {
  run_columns(state, kHeatIndex);
}
void BM_ComparisonColumns(benchmark::State& state) {
  run_columns(state, kComparison);
}
void BM_MixedColumns(benchmark::State& state) {
  run_columns(state, kMixed);
}
void BM_DewPointColumns(benchmark::State& state) {
  run_columns(state, kDewPoint);
}
void BM_HeatIndexRowInterpreter(benchmark::State& state) {
  run_rows(state, kHeatIndex);
}
void BM_MixedRowInterpreter(benchmark::State& state) {
  run_rows(state, kMixed);
}

BENCHMARK(BM_HeatIndexColumns);
BENCHMARK(BM_ComparisonColumns);
BENCHMARK(BM_MixedColumns);
BENCHMARK(BM_DewPointColumns);
BENCHMARK(BM_HeatIndexRowInterpreter);
BENCHMARK(BM_MixedRowInterpreter);

}  // namespace

BENCHMARK_MAIN();
