// Checks DDSketch: every bucket's value is within the relative accuracy of the magnitudes it
// holds, quantiles stay within the bound of the exact lower-rank quantile on several
// distributions (uniform, lognormal, bimodal, negatives, zeros), the sketch does not depend on
// order or merge splits, and memory stays bounded when buckets collapse.

#include "pipeline/ddsketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "pipeline/error.h"
#include "pipeline/percentile.h"

namespace {

using ldh::DDSketch;
using ldh::DDSketchMapping;

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

/// Tells whether `approximate` is within relative error `accuracy` (plus rounding) of `exact`.
::testing::AssertionResult within(double approximate, double exact, double accuracy) {
  if (exact == approximate) return ::testing::AssertionSuccess();
  if (std::abs(approximate - exact) <= accuracy * (1 + 1e-9) * std::abs(exact)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << approximate << " vs exact " << exact << " (error "
                                       << std::abs(approximate - exact) / std::abs(exact) << ")";
}

TEST(DDSketchTest, EveryBucketValueIsWithinTheAccuracy) {
  std::mt19937_64 random(59);
  for (const double accuracy : {0.01, 0.05, 0.001, 0.5}) {
    const DDSketchMapping mapping(accuracy);
    for (int i = 0; i < 200'000; ++i) {
      // Normal magnitudes of every exponent.
      const double x = std::ldexp(std::uniform_real_distribution<double>(1, 2)(random),
                                  static_cast<int>(random() % 2046) - 1022);
      ASSERT_TRUE(within(mapping.representative(mapping.index(x)), x, accuracy)) << x;
    }
    for (const double x : {std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                           1.0, 2.0, 0.5, 1e-300, 1e300}) {
      EXPECT_TRUE(within(mapping.representative(mapping.index(x)), x, accuracy)) << x;
    }
  }
}

TEST(DDSketchTest, IndexIsMonotone) {
  const DDSketchMapping mapping(0.01);
  std::mt19937_64 random(61);
  std::vector<double> values;
  for (int i = 0; i < 100'000; ++i) {
    values.push_back(ldh::math::from_bits(random() & 0x7fefffffffffffffULL));
  }
  values.push_back(std::numeric_limits<double>::denorm_min());
  std::sort(values.begin(), values.end());
  for (std::size_t i = 0; i + 1 < values.size(); ++i) {
    if (values[i] == 0) continue;
    ASSERT_LE(mapping.index(values[i]), mapping.index(values[i + 1])) << values[i];
  }
}

std::vector<std::vector<double>> distributions() {
  std::mt19937_64 random(67);
  std::vector<std::vector<double>> sets;
  std::vector<double> uniform;
  for (int i = 0; i < 20'000; ++i)
    uniform.push_back(std::uniform_real_distribution<double>(0, 100)(random));
  sets.push_back(uniform);
  std::vector<double> lognormal;
  for (int i = 0; i < 20'000; ++i)
    lognormal.push_back(std::lognormal_distribution<double>(0, 2)(random));
  sets.push_back(lognormal);
  std::vector<double> bimodal;
  for (int i = 0; i < 20'000; ++i) {
    bimodal.push_back(i % 2 ? std::normal_distribution<double>(10, 1)(random)
                            : std::normal_distribution<double>(1000, 50)(random));
  }
  sets.push_back(bimodal);
  std::vector<double> signed_values;
  for (int i = 0; i < 20'000; ++i) {
    signed_values.push_back(std::uniform_real_distribution<double>(-100, 100)(random));
  }
  sets.push_back(signed_values);
  std::vector<double> zeros;
  for (int i = 0; i < 20'000; ++i) {
    zeros.push_back(i % 3 == 0 ? (i % 2 ? -0.0 : 0.0)
                               : std::normal_distribution<double>(0, 20)(random));
  }
  sets.push_back(zeros);
  std::vector<double> temperatures;
  for (int i = 0; i < 5'000; ++i) {
    temperatures.push_back(
        std::round(std::uniform_real_distribution<double>(-15, 45)(random) * 100) / 100);
  }
  sets.push_back(temperatures);
  sets.push_back({42.0});
  return sets;
}

TEST(DDSketchTest, QuantilesStayWithinTheBound) {
  const double fractions[] = {0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0};
  for (const double accuracy : {0.01, 0.02}) {
    for (std::vector<double> values : distributions()) {
      DDSketch sketch{DDSketchMapping(accuracy)};
      for (const double x : values) sketch.add(x);
      EXPECT_EQ(sketch.count(), values.size());
      ldh::sort_for_percentiles(values);
      for (const double p : fractions) {
        // DDSketch's rank p * (n - 1) picks the element at floor of it.
        const auto rank = static_cast<std::size_t>(std::floor(p * double(values.size() - 1)));
        EXPECT_TRUE(within(sketch.quantile(p), values[rank], accuracy)) << "p " << p;
      }
    }
  }
}

TEST(DDSketchTest, SpecialValuesHaveTheirPlaces) {
  DDSketch sketch;
  for (const double x : {-kInfinity, -2.0, 0.0, -0.0, 3.0, kInfinity, kNan}) sketch.add(x);
  EXPECT_EQ(sketch.count(), 7u);
  EXPECT_EQ(sketch.quantile(0.0), -kInfinity);
  EXPECT_TRUE(within(sketch.quantile(1.0 / 6), -2.0, 0.01));
  EXPECT_EQ(sketch.quantile(2.0 / 6), 0.0);
  EXPECT_EQ(sketch.quantile(3.0 / 6), 0.0);
  EXPECT_TRUE(within(sketch.quantile(4.0 / 6), 3.0, 0.01));
  EXPECT_EQ(sketch.quantile(5.0 / 6), kInfinity);
  EXPECT_TRUE(std::isnan(sketch.quantile(1.0)));
  DDSketch tiny;
  tiny.add(5e-324);
  tiny.add(-1e-310);
  EXPECT_EQ(tiny.count(), 2u);
  EXPECT_GT(tiny.quantile(1.0), 0.0);
  EXPECT_LT(tiny.quantile(0.0), 0.0);
}

TEST(DDSketchTest, OrderAndMergesGiveEqualSketches) {
  std::mt19937_64 random(71);
  for (std::vector<double> values : distributions()) {
    DDSketch reference{DDSketchMapping(0.01), 64};  // small, so collapsing takes part
    for (const double x : values) reference.add(x);
    for (int round = 0; round < 3; ++round) {
      std::shuffle(values.begin(), values.end(), random);
      const std::size_t parts = 1 + random() % 7;
      std::vector<DDSketch> partial(parts, DDSketch{DDSketchMapping(0.01), 64});
      for (const double x : values) partial[random() % parts].add(x);
      DDSketch merged{DDSketchMapping(0.01), 64};
      for (const DDSketch& part : partial) merged.merge(part);
      EXPECT_TRUE(merged == reference);
      EXPECT_EQ(ldh::math::to_bits(merged.quantile(0.5)),
                ldh::math::to_bits(reference.quantile(0.5)));
    }
  }
}

TEST(DDSketchTest, CollapsingBoundsMemoryAndKeepsTheHighQuantiles) {
  std::mt19937_64 random(73);
  constexpr int kBuckets = 100;
  DDSketch sketch{DDSketchMapping(0.01), kBuckets};
  std::vector<double> values;
  for (int i = 0; i < 50'000; ++i) {
    const double x = std::exp(std::uniform_real_distribution<double>(-30, 30)(random));
    values.push_back(x);
    values.push_back(-x);
    sketch.add(x);
    sketch.add(-x);
  }
  EXPECT_LE(sketch.memory_bytes(), sizeof(DDSketch) + 2 * kBuckets * sizeof(std::uint64_t));
  std::sort(values.begin(), values.end());
  // The largest magnitudes keep their buckets: the extremes stay accurate.
  for (const double p : {0.0, 0.001, 0.999, 1.0}) {
    const auto rank = static_cast<std::size_t>(std::floor(p * double(values.size() - 1)));
    EXPECT_TRUE(within(sketch.quantile(p), values[rank], 0.01)) << p;
  }
}

TEST(DDSketchTest, RejectsBadSettings) {
  EXPECT_THROW(DDSketchMapping(0.0), ldh::UserError);
  EXPECT_THROW(DDSketchMapping(0.9), ldh::UserError);
  EXPECT_THROW(DDSketch(DDSketchMapping(), 0), ldh::UserError);
  DDSketch a{DDSketchMapping(0.01)};
  const DDSketch b{DDSketchMapping(0.02)};
  EXPECT_THROW(a.merge(b), ldh::LogicError);
}

}  // namespace
