#pragma once

// Rows for folding tests, shared by the host test and the device parity test: adversarial
// values (huge and tiny magnitudes, cancellation, -0.0, NaN, infinities, subnormals, nulls),
// several panes, and keys whose hashes can be made to collide.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/window_partial.h"
#include "run_pipeline.h"

namespace ldh::testing {

struct FoldCase {
  FoldRows rows;
  FoldPlan plan;
  FoldNeeds needs{true, true, true, true, true, true, DDSketchMapping(0.02), true};
};

/// Returns a value drawn from the adversarial mix; `wild` lets in the huge, tiny and special
/// ones (sums of such rows are wide or non-finite).
inline double adversarial_value(std::mt19937_64& random, bool wild) {
  const auto pick = random() % (wild ? 12 : 5);
  const double noise = std::uniform_real_distribution<double>(-1, 1)(random);
  switch (pick) {
    case 0:
      return 20 + noise;
    case 1:
      return 1e9 + noise * 1e-6;  // cancellation in variance
    case 2:
      return -0.0;
    case 3:
      return std::ldexp(noise, static_cast<int>(random() % 40));
    case 4:
      return static_cast<double>(static_cast<int>(random() % 7) - 3);  // duplicates
    case 5:
      return 1e300 * noise;
    case 6:
      return 1e-300 * noise;
    case 7:
      return std::numeric_limits<double>::denorm_min() * static_cast<double>(random() % 9);
    case 8:
      return 1e200;  // its square is beyond the double range
    case 9:
      return std::numeric_limits<double>::quiet_NaN();
    case 10:
      return std::numeric_limits<double>::infinity();
    default:
      return -std::numeric_limits<double>::infinity();
  }
}

/// Makes `count` rows over `keys` keys and `measures` measures, spread over about `panes` panes
/// of one minute. Two key fields: keys 2j and 2j + 1 share the first word and differ only in
/// the second being null or a valid 0 (or a word); with `collide`, all keys share one hash so
/// that only the key words and their validity tell them apart.
inline FoldCase make_fold_case(std::uint64_t seed, std::uint32_t count, std::uint32_t keys,
                               std::uint32_t measures, int panes, bool collide, bool wild) {
  std::mt19937_64 random(seed);
  FoldCase fold;
  FoldRows& rows = fold.rows;
  rows.key_fields = 2;
  rows.measures = measures;
  rows.times.resize(count);
  rows.hashes.resize(count);
  rows.keys.assign(std::size_t{count} * 2, 0);
  rows.key_valid.assign(std::size_t{count} * 2, 0);
  rows.values.assign(std::size_t{count} * measures, 0);
  rows.valid.assign(std::size_t{count} * measures, 0);
  constexpr std::int64_t kMinute = 60'000'000'000;
  const std::int64_t base = 1'795'910'400'000'000'000;  // 2026-11-29T00:00:00Z
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  std::int64_t last = std::numeric_limits<std::int64_t>::min();
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto key = static_cast<std::uint32_t>(random() % keys);
    // Times repeat within a key now and then (ties for first/last and trend).
    rows.times[i] = base + static_cast<std::int64_t>(random() % (panes * kMinute / 1000)) * 1000;
    first = std::min(first, rows.times[i]);
    last = std::max(last, rows.times[i]);
    rows.hashes[i] = collide ? 0x9e3779b97f4a7c15ULL : (key + 1) * 0x9e3779b97f4a7c15ULL;
    rows.keys[i] = key / 2;
    rows.key_valid[i] = 1;
    const bool second_null = key % 2 == 0;
    rows.keys[count + i] = second_null || key % 4 == 1 ? 0 : key * 7;
    rows.key_valid[count + i] = second_null ? 0 : 1;
    for (std::uint32_t m = 0; m < measures; ++m) {
      const bool valid = random() % 13 != 0;
      rows.valid[std::size_t{m} * count + i] = valid ? 1 : 0;
      rows.values[std::size_t{m} * count + i] = valid ? adversarial_value(random, wild) : 0.0;
    }
  }
  fold.plan = make_fold_plan(first, last, kMinute);
  return fold;
}

inline void expect_same_sum(const exact::PartialSum& a, const exact::PartialSum& b) {
  EXPECT_EQ(a.wide, b.wide);
  EXPECT_EQ(a.flags, b.flags);
  EXPECT_EQ(a.low_digit, b.low_digit);
  EXPECT_EQ(a.high_digit, b.high_digit);
  for (int k = 0; k < exact::PartialSum::kLimbs; ++k) EXPECT_EQ(a.limbs[k], b.limbs[k]);
}

/// Expects two aggregators' partials to be the same field by field (structs have padding).
inline void expect_same_partials(const PanePartials& a, const PanePartials& b) {
  ASSERT_EQ(a.order, b.order);
  ASSERT_EQ(a.partials.size(), b.partials.size());
  for (std::size_t i = 0; i < a.partials.size(); ++i) {
    EXPECT_EQ(a.partials[i].pane_start, b.partials[i].pane_start);
    EXPECT_EQ(a.partials[i].first, b.partials[i].first);
    EXPECT_EQ(a.partials[i].count, b.partials[i].count);
  }
  ASSERT_EQ(a.measures.size(), b.measures.size());
  for (std::size_t i = 0; i < a.measures.size(); ++i) {
    const MeasurePartial& x = a.measures[i];
    const MeasurePartial& y = b.measures[i];
    EXPECT_EQ(x.count, y.count);
    expect_same_sum(x.sum, y.sum);
    expect_same_sum(x.squares, y.squares);
    expect_same_sum(x.time_products, y.time_products);
    for (int w = 0; w < 2; ++w) EXPECT_EQ(x.times[w], y.times[w]);
    for (int w = 0; w < 3; ++w) EXPECT_EQ(x.time_squares[w], y.time_squares[w]);
    EXPECT_EQ(x.min_key, y.min_key);
    EXPECT_EQ(x.max_key, y.max_key);
    EXPECT_EQ(x.first_time, y.first_time);
    EXPECT_EQ(x.first_key, y.first_key);
    EXPECT_EQ(x.last_time, y.last_time);
    EXPECT_EQ(x.last_key, y.last_key);
    if (::testing::Test::HasFailure()) FAIL() << "partial measure " << i << " differs";
  }
  EXPECT_EQ(a.sorted_values.size(), b.sorted_values.size());
  EXPECT_EQ(std::memcmp(a.sorted_values.data(), b.sorted_values.data(),
                        std::min(a.sorted_values.size(), b.sorted_values.size()) * sizeof(double)),
            0)
      << "sorted values differ";
  EXPECT_EQ(a.sorted_valid, b.sorted_valid);
  ASSERT_EQ(a.sketch_runs.size(), b.sketch_runs.size());
  for (std::size_t i = 0; i < a.sketch_runs.size(); ++i) {
    EXPECT_EQ(a.sketch_runs[i].code, b.sketch_runs[i].code);
    EXPECT_EQ(a.sketch_runs[i].slot, b.sketch_runs[i].slot);
    EXPECT_EQ(a.sketch_runs[i].count, b.sketch_runs[i].count);
    if (::testing::Test::HasFailure()) FAIL() << "sketch run " << i << " differs";
  }
}

/// Returns the input section of a pipeline over fold_engine_input()'s events {ts (ms), k
/// (string), g (int32, nullable), v, w (float64)}.
inline std::string fold_engine_input_section() {
  return json_input(R"yaml(        - {name: ts, type: timestamp, unit: ms}
        - {name: k, type: string}
        - {name: g, type: int32, required: false}
        - {name: v, type: float64, required: false}
        - {name: w, type: float64, required: false}
)yaml",
                    "ts");
}

/// A pipeline over fold_engine_input()'s events with every kind of window and metric,
/// lateness, and an alert.
inline std::string fold_engine_config() {
  return fold_engine_input_section() +
         R"yaml(processing:
  watermark: {maxOutOfOrderness: 4s, allowedLateness: 10s}
  groupBy: [k, g]
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [count, sum, avg, min, max, stddev, variance_pop, p50, p99.9, p95_disc, approx_p90, trend, first, last]}
    - {type: sliding, size: 2m, slide: 20s, metrics: [avg, stddev, trend, median, stddev_pop]}
    - {type: session, gap: 15s, metrics: [count, sum, p75]}
    - {name: tiny, type: tumbling, size: 1s, metrics: [sum, max], measures: [w]}
output:
  destinations: [{type: stdout}]
  alerts:
    conditions:
      - {metric: v, operator: gt, value: 1000, window: minute}
)yaml";
}

/// Returns `events` JSON lines for fold_engine_config(): mostly in order, some late within the
/// lateness, some beyond it; round 1 cancellation-prone values, round 2 many keys, every round
/// nulls, -0.0 and sums spanning 1e-300 to 1e300.
inline std::string fold_engine_input(int round, int events) {
  std::mt19937_64 random(23 + round);
  std::ostringstream input;
  input.precision(17);
  const std::int64_t base = 1'795'910'400'000;
  for (int i = 0; i < events; ++i) {
    std::int64_t ms = base + i * 53;
    if (i % 37 == 0) ms -= 9'000;
    if (i % 101 == 0) ms -= 60'000;
    input << "{\"ts\":" << ms << ",\"k\":\"key" << random() % (round == 2 ? 900 : 9) << "\"";
    if (random() % 5 != 0) input << ",\"g\":" << random() % 3;
    if (random() % 11 != 0) {
      const double v = round == 1 ? 1e9 + static_cast<double>(random() % 1000) * 1e-7
                                  : static_cast<double>(random() % 20000) / 10.0 - 500;
      input << ",\"v\":" << (i % 41 == 0 ? -0.0 : v);
    }
    if (random() % 7 != 0) input << ",\"w\":" << (i % 89 == 0 ? 1e300 : 1e-300 * (i % 13));
    input << "}\n";
  }
  return input.str();
}

}  // namespace ldh::testing
