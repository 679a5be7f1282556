// Checks that the CUDA expression kernel returns the CPU evaluator's results byte for byte, on
// random data full of NaNs, infinities, signed zeros, huge and tiny values, and random sizes.

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "pipeline/expression.h"
#include "pipeline/memory.h"

#if LDH_HAVE_CUDA
#include "kernels/device.h"
#include "kernels/expression.h"
#endif

namespace {

#if LDH_HAVE_CUDA

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

struct FieldSpec {
  const char* name;
  ldh::DataType type;
  bool nullable;
};

const std::vector<FieldSpec> kFields{
    {"temperature", ldh::DataType::float64, false}, {"humidity", ldh::DataType::float64, true},
    {"pressure", ldh::DataType::float32, false},    {"sensor_id", ldh::DataType::int32, false},
    {"count", ldh::DataType::int64, false},         {"active", ldh::DataType::boolean, true},
    {"location", ldh::DataType::string, false},     {"timestamp", ldh::DataType::timestamp, false},
};

/// Draws doubles that exercise every corner as well as ordinary readings.
double random_double(std::mt19937_64& random) {
  static const double kSpecial[] = {kNan,  -kNan,  kInfinity, -kInfinity, 0.0,    -0.0,
                                    1e308, -1e308, 1e-300,    -1e-310,    5e-324, 1.0,
                                    -1.0,  80.0,   95.0,      13.0,       85.0,   112.0};
  switch (random() % 4) {
    case 0:
      return kSpecial[random() % (sizeof(kSpecial) / sizeof(kSpecial[0]))];
    case 1:
      return std::uniform_real_distribution<double>(-1e6, 1e6)(random);
    default:
      return std::uniform_real_distribution<double>(-20.0, 120.0)(random);
  }
}

const std::vector<std::string> kExpressions{
    "heat_index(temperature, humidity)",
    "dew_point(temperature, humidity)",
    "temperature > 100",
    "temperature != humidity || !active",
    "exp(temperature / 10) + log(abs(humidity)) - pow(abs(pressure), 0.37)",
    "pow(temperature, humidity)",
    "pow(-temperature, round(humidity))",
    "exp(temperature)",
    "log(temperature)",
    "sqrt(temperature) + floor(humidity) * ceil(pressure) - round(temperature / 3)",
    "temperature % humidity",
    "min(temperature, humidity) + max(pressure, -temperature)",
    "clamp(temperature, -10, humidity)",
    "if(active, temperature * 1.8 + 32, -humidity)",
    "if(temperature, humidity, pressure)",
    "location == 'north' && count > sensor_id",
    "timestamp - now() > 1000 * temperature",
    "if(humidity > 50, dew_point(temperature, humidity), temperature * 1.8 + 32) + "
    "clamp(pressure / 10, 90, 110) - abs(sensor_id % 7)",
    "heat_index(exp(temperature / 100), pow(humidity, 0.5) * 10)",
    "-(temperature / 0) + count / 3",
};

TEST(ExpressionGpuTest, DeviceMatchesCpuByteForByte) {
  std::string why_none;
  if (ldh::device::list_devices(why_none).empty()) GTEST_SKIP() << "no CUDA device: " << why_none;

  const auto resolver = [](std::string_view name) -> std::optional<ldh::ExpressionField> {
    for (std::size_t slot = 0; slot < kFields.size(); ++slot) {
      if (name == kFields[slot].name) {
        return ldh::ExpressionField{static_cast<int>(slot), kFields[slot].type,
                                    kFields[slot].nullable};
      }
    }
    return std::nullopt;
  };
  ldh::StringDictionary strings;
  const std::int32_t location_ids[] = {strings.intern("north"), strings.intern("south"),
                                       strings.intern("east")};
  std::vector<ldh::SlotSpec> slots;
  for (const auto& field : kFields) slots.push_back({field.type, field.nullable});

  std::mt19937_64 random(20261129);
  for (int round = 0; round < 6; ++round) {
    const std::size_t rows = 1 + random() % 200'000;
    ldh::EventBatch batch(slots, rows, ldh::page_aligned_memory());
    batch.resize(rows);
    for (std::size_t row = 0; row < rows; ++row) {
      batch.column(0).data<double>()[row] = random_double(random);
      batch.column(1).data<double>()[row] = random_double(random);
      batch.column(1).validity()[row] = random() % 5 != 0;
      batch.column(2).data<float>()[row] = static_cast<float>(random_double(random));
      batch.column(3).data<std::int32_t>()[row] = static_cast<std::int32_t>(random());
      batch.column(4).data<std::int64_t>()[row] = static_cast<std::int64_t>(random());
      batch.column(5).data<std::uint8_t>()[row] = random() % 2;
      batch.column(5).validity()[row] = random() % 7 != 0;
      batch.column(6).data<std::int32_t>()[row] = location_ids[random() % 3];
      batch.column(7).data<std::int64_t>()[row] = static_cast<std::int64_t>(random());
    }
    const ldh::EventBatchView view = batch.view();
    const double now_ms = 1'764'000'000'000.0 + static_cast<double>(random() % 1000);
    for (const std::string& text : kExpressions) {
      const ldh::CompiledExpression expression = ldh::compile_expression(text, resolver, strings);
      std::vector<double> cpu(rows);
      std::vector<double> gpu(rows);
      std::vector<std::uint8_t> cpu_valid(rows);
      std::vector<std::uint8_t> gpu_valid(rows, 9);
      ldh::evaluate(expression, view, now_ms, cpu.data(), cpu_valid.data());
      ldh::evaluate_on_device(expression, view, now_ms, gpu.data(), gpu_valid.data());
      if (std::memcmp(cpu.data(), gpu.data(), rows * sizeof(double)) != 0) {
        for (std::size_t row = 0; row < rows; ++row) {
          ASSERT_EQ(ldh::math::to_bits(cpu[row]), ldh::math::to_bits(gpu[row]))
              << text << " at row " << row << ": cpu " << cpu[row] << ", gpu " << gpu[row];
        }
      }
      EXPECT_EQ(std::memcmp(cpu_valid.data(), gpu_valid.data(), rows), 0) << text;
      // Without a validity output the values are the same.
      std::fill(gpu.begin(), gpu.end(), 0.0);
      ldh::evaluate_on_device(expression, view, now_ms, gpu.data(), nullptr);
      EXPECT_EQ(std::memcmp(cpu.data(), gpu.data(), rows * sizeof(double)), 0) << text;
    }
  }
}

TEST(ExpressionGpuTest, EmptyBatchIsANoOp) {
  std::string why_none;
  if (ldh::device::list_devices(why_none).empty()) GTEST_SKIP() << "no CUDA device: " << why_none;
  ldh::StringDictionary strings;
  const auto resolver = [](std::string_view) -> std::optional<ldh::ExpressionField> {
    return ldh::ExpressionField{0, ldh::DataType::float64, false};
  };
  const ldh::CompiledExpression expression = ldh::compile_expression("x + 1", resolver, strings);
  ldh::EventBatch batch({{ldh::DataType::float64, false}}, 4, ldh::page_aligned_memory());
  double out = 5.0;
  ldh::evaluate_on_device(expression, batch.view(), 0.0, &out, nullptr);
  EXPECT_EQ(out, 5.0);
}

#else

TEST(ExpressionGpuTest, DeviceMatchesCpuByteForByte) {
  GTEST_SKIP() << "this build has no CUDA backend";
}

#endif

}  // namespace
