#include "pipeline/window_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "pipeline/percentile.h"
#include "pipeline/window_state.h"

namespace ldh {
namespace {

std::vector<MetricConfig> metrics(const std::vector<MetricConfig::Kind>& kinds) {
  std::vector<MetricConfig> result;
  for (auto kind : kinds) {
    MetricConfig metric;
    metric.kind = kind;
    metric.quantile = 0.9;
    result.push_back(metric);
  }
  return result;
}

TEST(SortValues, GivesWhatSortForPercentilesGives) {
  const double specials[] = {0.0,
                             -0.0,
                             1.0,
                             -1.0,
                             1e300,
                             -1e300,
                             5e-324,
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(),
                             -std::numeric_limits<double>::quiet_NaN()};
  std::mt19937_64 random(11);
  for (int trial = 0; trial < 20'000; ++trial) {
    // Mostly the sizes one network sorts; every tenth trial merges several.
    std::vector<double> values(random() % (trial % 10 == 0 ? 3000 : 150));
    for (double& x : values) {
      const auto kind = random() % 10;
      if (kind < 3) {
        x = specials[random() % std::size(specials)];
      } else if (kind < 6) {
        x = static_cast<double>(static_cast<int>(random() % 7) - 3);
      } else {
        const std::uint64_t bits = random();
        std::memcpy(&x, &bits, sizeof x);
      }
      if (trial % 2 == 0 && x != x) x = 2.5;  // half the trials without NaN
    }
    std::vector<double> expected = values;
    sort_for_percentiles(expected);
    std::vector<double> canonical;
    for (double x : values) canonical.push_back(canonical_value(x));
    // Whatever this CPU has (a sorting network with AVX-512), and the portable sorts.
    std::vector<double> sorted;
    // Bits, not ==: NaN and -0.0 must come out as sort_for_percentiles leaves them.
    const auto same_bits = [&] {
      return std::equal(sorted.begin(), sorted.end(), expected.begin(), expected.end(),
                        [](double a, double b) { return math::to_bits(a) == math::to_bits(b); });
    };
    sort_values(canonical, sorted);
    ASSERT_TRUE(same_bits()) << "trial " << trial;
    sort_values_portable(canonical, sorted);
    ASSERT_TRUE(same_bits()) << "trial " << trial << " (portable)";
  }
}

TEST(StateLayout, RecordsHoldOnlyWhatTheMetricsNeed) {
  using Kind = MetricConfig::Kind;
  const StateLayout counts(needs_for(metrics({Kind::count}), false, 0.01), 3);
  const StateLayout moments(needs_for(metrics({Kind::avg, Kind::stddev}), false, 0.01), 3);
  EXPECT_EQ(counts.record_bytes(), 8u + 3 * 8u);
  EXPECT_LT(counts.record_bytes(), moments.record_bytes());
}

TEST(StateLayout, AddingOrMergingInAnyOrderGivesTheSameMetrics) {
  using Kind = MetricConfig::Kind;
  const std::vector<MetricConfig> all =
      metrics({Kind::count, Kind::sum, Kind::avg, Kind::min, Kind::max, Kind::variance,
               Kind::stddev_pop, Kind::trend, Kind::first, Kind::last, Kind::approx_percentile});
  const StateLayout layout(needs_for(all, false, 0.01), 1);
  std::mt19937_64 random(3);
  std::vector<std::pair<double, std::int64_t>> events;
  for (int i = 0; i < 500; ++i) {
    const double value =
        i % 50 == 0 ? 1e9 + i * 1e-7 : (static_cast<double>(random() % 20000) - 10000) / 7;
    events.emplace_back(value, static_cast<std::int64_t>(random() % 60'000'000'000));
  }
  auto metrics_of = [&](const std::byte* record) {
    std::vector<std::optional<double>> result;
    for (const auto& metric : all) result.push_back(layout.value(record, 0, metric, {}));
    return result;
  };
  // One record in order; the same events shuffled into three records, merged in another order,
  // the later ones with bases 20 s and 40 s after the first.
  OwnedRecord whole = make_record(layout);
  for (const auto& [value, time] : events) {
    ++StateLayout::events(whole.get());
    layout.add(whole.get(), 0, value, time);
  }
  std::shuffle(events.begin(), events.end(), random);
  std::vector<OwnedRecord> parts;
  for (int p = 0; p < 3; ++p) parts.push_back(make_record(layout));
  for (const auto& [value, time] : events) {
    const std::int64_t part = std::min<std::int64_t>(time / 20'000'000'000, 2);
    ++StateLayout::events(parts[part].get());
    layout.add(parts[part].get(), 0, value, time - part * 20'000'000'000);
  }
  OwnedRecord merged = make_record(layout);
  for (int p : {2, 0, 1}) layout.merge(merged.get(), parts[p].get(), p * 20'000'000'000LL);
  EXPECT_EQ(StateLayout::events(merged.get()), events.size());
  const auto expected = metrics_of(whole.get());
  const auto actual = metrics_of(merged.get());
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_TRUE(expected[i].has_value()) << all[i].name;
    ASSERT_TRUE(actual[i].has_value()) << all[i].name;
    EXPECT_EQ(std::memcmp(&*actual[i], &*expected[i], sizeof(double)), 0) << "metric " << i;
  }
}

TEST(StateLayout, SumsAndExtremesDerivedFromKeptValuesAreTheSameBits) {
  using Kind = MetricConfig::Kind;
  const std::vector<MetricConfig> all =
      metrics({Kind::count, Kind::sum, Kind::avg, Kind::min, Kind::max, Kind::variance,
               Kind::variance_pop, Kind::stddev, Kind::stddev_pop, Kind::percentile});
  MeasureNeeds stored_needs = needs_for(all, true, 0.01);
  MeasureNeeds derived_needs = stored_needs;
  derived_needs.derive_from_values = true;
  const StateLayout stored(stored_needs, 1);
  const StateLayout derived(derived_needs, 1);
  ASSERT_TRUE(derived.derives_from_values());
  ASSERT_FALSE(stored.derives_from_values());
  EXPECT_LT(derived.record_bytes(), stored.record_bytes());
  std::mt19937_64 random(11);
  const double specials[] = {-0.0,
                             0.0,
                             1e300,
                             -1e300,
                             1e-300,
                             std::numeric_limits<double>::denorm_min(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(),
                             1e9 + 1e-7};
  for (int round = 0; round < 400; ++round) {
    const int count = 1 + static_cast<int>(random() % 70);
    OwnedRecord a = make_record(stored);
    OwnedRecord b = make_record(derived);
    std::vector<double> kept;
    for (int i = 0; i < count; ++i) {
      double x = (static_cast<double>(random() % 20000) - 10000) / 7;
      // Specials in some rounds only, so most rounds have finite sums.
      if (round % 4 == 0 && random() % 5 == 0) x = specials[random() % std::size(specials)];
      ++StateLayout::events(a.get());
      ++StateLayout::events(b.get());
      stored.add(a.get(), 0, x, 0);
      derived.add(b.get(), 0, x, 0);
      kept.push_back(canonical_value(x));
    }
    std::vector<double> sorted;
    sort_values(kept, sorted);
    DerivedMeasure measure;
    const bool squares = round % 2 == 0;  // without: only what needs no sum of squares
    // From the kept values as they come (a deferred result) or sorted.
    if (round % 3 == 0) {
      measure.compute(kept, false, squares);
    } else {
      measure.compute(sorted, true, squares);
    }
    for (const auto& metric : all) {
      if (!squares && (metric.kind == Kind::variance || metric.kind == Kind::variance_pop ||
                       metric.kind == Kind::stddev || metric.kind == Kind::stddev_pop)) {
        continue;
      }
      const auto expected = stored.value(a.get(), 0, metric, sorted);
      const auto actual = derived.value(b.get(), 0, metric, sorted, &measure);
      ASSERT_EQ(expected.has_value(), actual.has_value()) << "round " << round;
      if (expected) {
        ASSERT_EQ(std::memcmp(&*expected, &*actual, sizeof(double)), 0)
            << "round " << round << " metric " << static_cast<int>(metric.kind) << ": " << *expected
            << " vs " << *actual;
      }
    }
  }
}

}  // namespace
}  // namespace ldh

namespace ldh {
namespace {

// Values of one narrow exponent range are summed as integers (sensor readings), wider ranges
// value by value: either way the exact sums equal the one-by-one Moments.
TEST(DerivedMeasure, SumsEqualMomentsAddedOneByOneAtEveryExponentSpread) {
  std::mt19937_64 random(29);
  for (int round = 0; round < 600; ++round) {
    const int spread = round % 40;  // binades between the smallest and largest magnitude
    const int base = static_cast<int>(random() % 2000) - 1000;
    // Up to past one run's 1024 values of a binade.
    const std::size_t count = 1 + random() % (round % 10 == 0 ? 3000 : 200);
    std::vector<double> values;
    Moments expected;
    for (std::size_t i = 0; i < count; ++i) {
      // Mantissas from all 53 bits, signs mixed, zeros now and then.
      const double mantissa = 1.0 + static_cast<double>(random() >> 12) * 0x1.0p-52;
      double x = std::ldexp(mantissa, base + static_cast<int>(random() % (spread + 1)));
      if (random() % 2 == 0) x = -x;
      if (random() % 17 == 0) x = 0.0;
      values.push_back(canonical_value(x));
      expected.add(values.back());
    }
    if (round % 3 == 0) {
      // The extremes of the range, so the spread is exactly `spread`.
      values.push_back(std::ldexp(1.0, base));
      values.push_back(-std::ldexp(1.9999999999999998, base + spread));
      expected.add(values[values.size() - 2]);
      expected.add(values.back());
    }
    std::vector<double> sorted;
    sort_values(values, sorted);
    const auto [low, high] = std::minmax_element(
        values.begin(), values.end(), [](double a, double b) { return sort_key(a) < sort_key(b); });
    for (bool in_order : {false, true}) {
      DerivedMeasure measure;
      measure.compute(in_order ? sorted : values, in_order, true);
      EXPECT_TRUE(measure.moments.sum == expected.sum) << "round " << round;
      EXPECT_TRUE(measure.moments.sum_of_squares == expected.sum_of_squares) << "round " << round;
      EXPECT_EQ(measure.moments.count, values.size());
      EXPECT_EQ(measure.min_key, sort_key(*low));
      EXPECT_EQ(measure.max_key, sort_key(*high));
    }
  }
}

}  // namespace
}  // namespace ldh
