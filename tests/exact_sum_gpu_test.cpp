// Checks that the device reproduces the CPU's exact aggregates bit for bit: groups of
// adversarial values are summed on the GPU with integer atomics in whatever order the hardware
// picks, finalised with the shared cores, and compared with Moments / TrendSums on the CPU;
// sort keys, DDSketch buckets and percentiles are compared too.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "pipeline/ddsketch.h"
#include "pipeline/moments.h"
#include "pipeline/percentile.h"

#if LDH_HAVE_CUDA
#include "kernels/device.h"

#include "kernels/exact_sum_check.h"
#endif

namespace {

#if LDH_HAVE_CUDA

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

/// Draws values of every kind: readings, huge and tiny, subnormals, specials, cancellation.
double random_value(std::mt19937_64& random, int group) {
  static const double kSpecial[] = {1e300, -1e300, 1e-300, 5e-324, -2e-310, 1e154, 0.0, -0.0};
  if (group % 7 == 6 && random() % 50 == 0) {
    const double specials[] = {kNan, kInfinity, -kInfinity};
    return specials[random() % 3];
  }
  switch (group % 4) {
    case 0:
      return std::round(std::uniform_real_distribution<double>(-15, 45)(random) * 100) / 100;
    case 1:
      return 1e9 + std::uniform_real_distribution<double>(-1e-3, 1e-3)(random);
    case 2:
      return kSpecial[random() % std::size(kSpecial)];
    default: {
      double x = ldh::math::from_bits(random());
      while (!std::isfinite(x)) x = ldh::math::from_bits(random());
      return x;
    }
  }
}

bool device_available(std::string& why_none) {
  return !ldh::device::list_devices(why_none).empty();
}

TEST(ExactSumGpuTest, DeviceAggregatesMatchCpuBitForBit) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  std::mt19937_64 random(20261129);
  for (int round = 0; round < 4; ++round) {
    const std::size_t group_count = 1 + random() % 300;
    const std::size_t count = 1 + random() % 400'000;
    std::vector<double> values(count);
    std::vector<std::int64_t> times(count);
    std::vector<std::uint32_t> groups(count);
    std::vector<ldh::Moments> moments(group_count);
    std::vector<ldh::TrendSums> trends(group_count);
    for (std::size_t i = 0; i < count; ++i) {
      groups[i] = static_cast<std::uint32_t>(random() % group_count);
      values[i] = random_value(random, static_cast<int>(groups[i]));
      times[i] = groups[i] % 5 == 0 ? 1'000 : static_cast<std::int64_t>(random() % 300'000'000'000);
      moments[groups[i]].add(values[i]);
      trends[groups[i]].add(times[i], values[i]);
    }
    std::vector<double> results(5 * group_count);
    std::vector<std::uint8_t> valid(5 * group_count);
    ldh::exact_moments_on_device(values.data(), times.data(), groups.data(), count, group_count,
                                 results.data(), valid.data());
    for (std::size_t g = 0; g < group_count; ++g) {
      if (moments[g].count == 0) continue;
      const std::optional<double> cpu[5] = {
          moments[g].sum.to_double(), ldh::average(moments[g]), ldh::sample_variance(moments[g]),
          ldh::sample_standard_deviation(moments[g]), ldh::trend(moments[g], trends[g])};
      for (int metric = 0; metric < 5; ++metric) {
        ASSERT_EQ(valid[5 * g + metric] != 0, cpu[metric].has_value())
            << "group " << g << " metric " << metric;
        if (!cpu[metric]) continue;
        EXPECT_EQ(ldh::math::to_bits(results[5 * g + metric]),
                  ldh::math::to_bits(ldh::math::canonical(*cpu[metric])))
            << "group " << g << " metric " << metric << ": gpu " << results[5 * g + metric]
            << ", cpu " << *cpu[metric];
      }
    }
  }
}

TEST(ExactSumGpuTest, SortKeysBucketsAndPercentilesMatchCpu) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  std::mt19937_64 random(7);
  const std::size_t count = 200'000;
  std::vector<double> values(count);
  for (std::size_t i = 0; i < count; ++i) values[i] = random_value(random, static_cast<int>(i % 7));
  std::vector<double> sorted = values;
  ldh::sort_for_percentiles(sorted);
  const std::vector<double> fractions = {0.0, 0.001, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0};
  std::vector<std::uint64_t> keys(count);
  std::vector<int> buckets(count);
  std::vector<double> representatives(count);
  std::vector<double> continuous(fractions.size());
  std::vector<double> discrete(fractions.size());
  ldh::percentile_parts_on_device(values.data(), count, 0.01, keys.data(), buckets.data(),
                                  representatives.data(), sorted.data(), sorted.size(),
                                  fractions.data(), fractions.size(), continuous.data(),
                                  discrete.data());
  const ldh::DDSketchMapping mapping(0.01);
  for (std::size_t i = 0; i < count; ++i) {
    ASSERT_EQ(keys[i], ldh::sort_key(values[i])) << values[i];
    const double magnitude = std::abs(values[i]);
    if (std::isfinite(magnitude) && magnitude > 0) {
      ASSERT_EQ(buckets[i], mapping.index(magnitude)) << values[i];
      ASSERT_EQ(ldh::math::to_bits(representatives[i]),
                ldh::math::to_bits(mapping.representative(buckets[i])));
    }
  }
  for (std::size_t f = 0; f < fractions.size(); ++f) {
    EXPECT_EQ(ldh::math::to_bits(continuous[f]),
              ldh::math::to_bits(ldh::continuous_percentile(sorted.data(), count, fractions[f])));
    EXPECT_EQ(ldh::math::to_bits(discrete[f]),
              ldh::math::to_bits(ldh::discrete_percentile(sorted.data(), count, fractions[f])));
  }
}

#else

TEST(ExactSumGpuTest, DeviceAggregatesMatchCpuBitForBit) {
  GTEST_SKIP() << "this build has no CUDA backend";
}

#endif

}  // namespace
