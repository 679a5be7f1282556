// Checks the exact percentiles: the total order of sort_key, the pinned type-7 formula and
// DuckDB's quantile_disc against a plain sort-based reference and against numbers numpy and
// DuckDB document, NaN/-0.0/infinity handling, and metric-name parsing.

#include "pipeline/percentile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {

using ldh::continuous_percentile;
using ldh::discrete_percentile;
using ldh::PercentileKind;
using ldh::math::from_bits;
using ldh::math::to_bits;

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

std::vector<double> sorted(std::vector<double> values) {
  ldh::sort_for_percentiles(values);
  return values;
}

double cont(const std::vector<double>& values, double fraction) {
  const std::vector<double> s = sorted(values);
  return continuous_percentile(s.data(), s.size(), fraction);
}

double disc(const std::vector<double>& values, double fraction) {
  const std::vector<double> s = sorted(values);
  return discrete_percentile(s.data(), s.size(), fraction);
}

TEST(PercentileTest, SortKeyIsTheTotalOrder) {
  const std::vector<double> ordered = {-kInfinity, -1e308, -1.0, -5e-324, 0.0,
                                       5e-324,     1e-300, 1.0,  1e308,   kInfinity};
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    EXPECT_LT(ldh::sort_key(ordered[i]), ldh::sort_key(ordered[i + 1])) << ordered[i];
  }
  EXPECT_LT(ldh::sort_key(kInfinity), ldh::sort_key(kNan));
  EXPECT_EQ(ldh::sort_key(-0.0), ldh::sort_key(0.0));
  EXPECT_EQ(ldh::sort_key(-kNan), ldh::sort_key(kNan));
  EXPECT_EQ(ldh::sort_key(from_bits(0x7ff0000000000123ULL)), ldh::sort_key(kNan));
  for (const double x : ordered) {
    EXPECT_EQ(to_bits(ldh::value_of_sort_key(ldh::sort_key(x))), to_bits(x));
  }
  EXPECT_EQ(to_bits(ldh::value_of_sort_key(ldh::sort_key(-0.0))), 0u);
  EXPECT_EQ(to_bits(ldh::value_of_sort_key(ldh::sort_key(-kNan))), ldh::math::kCanonicalNanBits);
}

TEST(PercentileTest, MatchesDocumentedNumpyAndDuckDbResults) {
  // numpy.percentile([[10, 7, 4], [3, 2, 1]], 50) == 3.5 (numpy's documentation).
  EXPECT_EQ(cont({10, 7, 4, 3, 2, 1}, 0.5), 3.5);
  // Per column of the same example: 6.5, 4.5, 2.5.
  EXPECT_EQ(cont({10, 3}, 0.5), 6.5);
  EXPECT_EQ(cont({7, 2}, 0.5), 4.5);
  EXPECT_EQ(cont({4, 1}, 0.5), 2.5);
  // Linear interpolation between closest ranks: 15, 20, 35, 40, 50 at 40% is 29.
  EXPECT_EQ(cont({15, 20, 35, 40, 50}, 0.4), 29.0);
  EXPECT_EQ(cont({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_EQ(cont({1, 2, 3, 4}, 0.0), 1.0);
  EXPECT_EQ(cont({1, 2, 3, 4}, 1.0), 4.0);
  // DuckDB's PERCENTILE_DISC documentation: [2, 8, 8, 40] at 0.6 is 8.
  EXPECT_EQ(disc({2, 8, 8, 40}, 0.6), 8.0);
  EXPECT_EQ(disc({2, 8, 8, 40}, 0.75), 8.0);
  EXPECT_EQ(disc({2, 8, 8, 40}, 0.76), 40.0);
  EXPECT_EQ(disc({2, 8, 8, 40}, 0.0), 2.0);
  EXPECT_EQ(disc({2, 8, 8, 40}, 1.0), 40.0);
  EXPECT_EQ(disc({1, 2, 3, 4}, 0.5), 2.0);
  EXPECT_EQ(disc({1, 2, 3, 4, 5}, 0.5), 3.0);
  // quantile_disc over range(10): 0.1 -> 0, 0.25 -> 2, 0.5 -> 4, 0.9 -> 8.
  std::vector<double> range(10);
  for (int i = 0; i < 10; ++i) range[i] = i;
  EXPECT_EQ(disc(range, 0.1), 0.0);
  EXPECT_EQ(disc(range, 0.25), 2.0);
  EXPECT_EQ(disc(range, 0.5), 4.0);
  EXPECT_EQ(disc(range, 0.9), 8.0);
  // Type 7 over range(10): 0.25 -> 2.25, 0.95 -> 8.55 (h = 8.549999999999999).
  EXPECT_EQ(cont(range, 0.25), 2.25);
  EXPECT_EQ(cont(range, 0.95), 8.0 + (9.0 * 0.95 - 8.0) * 1.0);
}

TEST(PercentileTest, NanSortsLastAndZerosAreCanonical) {
  EXPECT_EQ(cont({1.0, kNan, 3.0}, 0.5), 3.0);
  EXPECT_EQ(cont({1.0, kNan, 3.0}, 0.0), 1.0);
  EXPECT_EQ(to_bits(cont({1.0, kNan, 3.0}, 1.0)), ldh::math::kCanonicalNanBits);
  EXPECT_EQ(to_bits(cont({1.0, -kNan, 3.0}, 0.75)), ldh::math::kCanonicalNanBits);  // 3 to NaN
  EXPECT_EQ(to_bits(disc({kNan, -kNan}, 0.5)), ldh::math::kCanonicalNanBits);
  EXPECT_EQ(to_bits(cont({-0.0, -0.0}, 0.5)), 0u);
  EXPECT_EQ(to_bits(disc({-0.0, 1.0}, 0.0)), 0u);
  EXPECT_EQ(to_bits(cont({-1.0, -0.0, 1.0}, 0.5)), 0u);
}

TEST(PercentileTest, CanonicalValuesChangeOnlyNegativeZeroAndNans) {
  std::mt19937_64 random(41);
  for (int i = 0; i < 1'000'000; ++i) {
    const std::uint64_t bits = i % 2 == 0 ? random() : random() & 0x800fffffffffffffULL;
    const double x = from_bits(bits);  // every kind: NaNs with payloads, subnormals, both signs
    const std::uint64_t canonical = to_bits(ldh::canonical_value(x));
    if (std::isnan(x)) {
      ASSERT_EQ(canonical, ldh::math::kCanonicalNanBits);
    } else if (x == 0.0) {
      ASSERT_EQ(canonical, 0u);
    } else {
      ASSERT_EQ(canonical, bits);
    }
  }
  EXPECT_EQ(to_bits(ldh::canonical_value(-0.0)), 0u);
  EXPECT_EQ(to_bits(ldh::canonical_value(-std::numeric_limits<double>::infinity())),
            to_bits(-std::numeric_limits<double>::infinity()));
  EXPECT_EQ(to_bits(ldh::canonical_value(-std::numeric_limits<double>::denorm_min())),
            to_bits(-std::numeric_limits<double>::denorm_min()));
}

TEST(PercentileTest, InfinitiesAndOverflow) {
  EXPECT_EQ(cont({-kInfinity, 1.0, kInfinity}, 0.5), 1.0);
  EXPECT_EQ(cont({kInfinity, kInfinity}, 0.5), kInfinity);  // equal neighbours
  EXPECT_EQ(cont({1.0, kInfinity}, 0.5), kInfinity);
  EXPECT_TRUE(std::isnan(cont({-kInfinity, kInfinity}, 0.5)));
  // 1e308 - (-1e308) overflows, so the pinned formula gives +inf; documented.
  EXPECT_EQ(cont({-1e308, 1e308}, 0.5), kInfinity);
}

/// Computes the reference independently: a comparator sort and the formulas spelled out.
double reference(std::vector<double> values, double fraction, bool discrete) {
  for (double& x : values) {
    if (std::isnan(x)) x = kNan;
    if (x == 0) x = 0.0;
  }
  std::sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
    return a < b;
  });
  const std::size_t n = values.size();
  if (discrete) {
    // DuckDB: floored = floor(n - n*q); index = max(1, n - floored) - 1.
    const auto floored = static_cast<std::size_t>(std::floor(double(n) - double(n) * fraction));
    return values[std::max<std::size_t>(1, n - floored) - 1];
  }
  const double h = double(n - 1) * fraction;
  const double i = std::floor(h);
  const auto index = static_cast<std::size_t>(i);
  if (h == i || index + 1 == n) return values[index];
  if (values[index] == values[index + 1]) return values[index];
  const double result = values[index] + (h - i) * (values[index + 1] - values[index]);
  return std::isnan(result) ? kNan : result;
}

TEST(PercentileTest, MatchesTheSortReferenceOnRandomData) {
  std::mt19937_64 random(53);
  const double fractions[] = {0.0,  0.001, 0.01, 0.1,  0.25,  0.333, 0.5,
                              0.75, 0.9,   0.95, 0.99, 0.999, 1.0};
  for (int round = 0; round < 300; ++round) {
    const std::size_t n = 1 + random() % 300;
    std::vector<double> values(n);
    for (double& x : values) {
      switch (random() % 6) {
        case 0:
          x = from_bits(random());  // anything, NaN payloads included
          break;
        case 1:
          x = static_cast<double>(random() % 5);  // duplicates
          break;
        case 2:
          x = random() % 2 ? -0.0 : 0.0;
          break;
        default:
          x = std::uniform_real_distribution<double>(-50, 50)(random);
      }
    }
    const std::vector<double> s = sorted(values);
    for (std::size_t i = 0; i + 1 < n; ++i) EXPECT_LE(ldh::sort_key(s[i]), ldh::sort_key(s[i + 1]));
    for (const double p : fractions) {
      EXPECT_EQ(to_bits(continuous_percentile(s.data(), n, p)),
                to_bits(reference(values, p, false)))
          << "n " << n << " p " << p;
      EXPECT_EQ(to_bits(discrete_percentile(s.data(), n, p)), to_bits(reference(values, p, true)))
          << "n " << n << " p " << p;
    }
  }
}

TEST(PercentileTest, ParsesMetricNames) {
  struct Case {
    const char* text;
    double fraction;
    PercentileKind kind;
    const char* name;
  };
  const Case cases[] = {
      {"median", 0.5, PercentileKind::continuous, "median"},
      {"p50", 0.5, PercentileKind::continuous, "p50"},
      {"p95", 0.95, PercentileKind::continuous, "p95"},
      {"p99", 0.99, PercentileKind::continuous, "p99"},
      {"p99.9", 0.999, PercentileKind::continuous, "p99_9"},
      {"p99.99", 0.9999, PercentileKind::continuous, "p99_99"},
      {"p0", 0.0, PercentileKind::continuous, "p0"},
      {"p5", 0.05, PercentileKind::continuous, "p5"},
      {"p0.1", 0.001, PercentileKind::continuous, "p0_1"},
      {"p100", 1.0, PercentileKind::continuous, "p100"},
      {"p95_disc", 0.95, PercentileKind::discrete, "p95_disc"},
      {"p99.9_disc", 0.999, PercentileKind::discrete, "p99_9_disc"},
      {"approx_p99", 0.99, PercentileKind::approximate, "approx_p99"},
      {"approx_p99.9", 0.999, PercentileKind::approximate, "approx_p99_9"},
  };
  for (const Case& c : cases) {
    const auto metric = ldh::parse_percentile_metric(c.text);
    ASSERT_TRUE(metric.has_value()) << c.text;
    EXPECT_EQ(metric->fraction, c.fraction) << c.text;
    EXPECT_EQ(metric->kind, c.kind) << c.text;
    EXPECT_EQ(metric->name, c.name) << c.text;
  }
  for (const char* bad :
       {"p", "p101", "p100.5", "p05", "p99.90", "p-1", "pp5", "p99.", "p.5", "median_disc",
        "approx_median", "P95", "p95_disc_disc", "p 95", "avg", "p1000", "approx_p95_disc"}) {
    EXPECT_FALSE(ldh::parse_percentile_metric(bad).has_value()) << bad;
  }
}

TEST(PercentileTest, AnswersSeveralMetricsAtOnce) {
  std::vector<double> values = {5, 1, 4, 2, 3, kNan, -0.0};
  std::vector<ldh::PercentileMetric> metrics = {*ldh::parse_percentile_metric("median"),
                                                *ldh::parse_percentile_metric("p0"),
                                                *ldh::parse_percentile_metric("p50_disc")};
  const auto results = ldh::exact_percentiles(values, metrics);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(*results[0], 3.0);  // 0 1 2 3 4 5 NaN
  EXPECT_EQ(to_bits(*results[1]), 0u);
  EXPECT_EQ(*results[2], 3.0);
  std::vector<double> none;
  const auto empty = ldh::exact_percentiles(none, metrics);
  ASSERT_EQ(empty.size(), 3u);
  EXPECT_FALSE(empty[0].has_value());
}

}  // namespace
