#include "pipeline/window_partial.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <tuple>

#include "pipeline/plan.h"
#include "pipeline/window.h"
#include "pipeline/window_metrics.h"
#include "pipeline/window_state.h"
#include "run_pipeline.h"
#include "window_fold_test_support.h"

namespace ldh {
namespace {

using testing::make_fold_case;
using testing::run_pipeline;

std::vector<MetricConfig> every_row_metric() {
  using Kind = MetricConfig::Kind;
  std::vector<MetricConfig> metrics;
  for (Kind kind :
       {Kind::count, Kind::sum, Kind::avg, Kind::min, Kind::max, Kind::variance, Kind::variance_pop,
        Kind::stddev, Kind::stddev_pop, Kind::trend, Kind::first, Kind::last}) {
    MetricConfig metric;
    metric.kind = kind;
    metrics.push_back(metric);
  }
  MetricConfig sketch;
  sketch.kind = Kind::approx_percentile;
  sketch.quantile = 0.9;
  metrics.push_back(sketch);
  return metrics;
}

/// A (key words, key validity, pane start) identity for the states of the test.
using StateKey = std::tuple<std::uint64_t, std::uint64_t, std::uint8_t, std::int64_t>;

StateKey state_key(const FoldRows& rows, std::uint32_t i, std::int64_t pane) {
  const std::size_t n = rows.size();
  return {rows.keys[i], rows.keys[n + i], rows.key_valid[n + i], align_down(rows.times[i], pane)};
}

/// Says whether two metric values are the same bits (or both undefined).
bool same_bits(const std::optional<double>& a, const std::optional<double>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || std::memcmp(&*a, &*b, sizeof(double)) == 0;
}

TEST(WindowPartial, FoldedStatesGiveTheSameMetricBitsAsRowsAddedOneByOne) {
  const std::vector<MetricConfig> metrics = every_row_metric();
  const StateLayout layout(needs_for(metrics, false, 0.01), 2);
  auto aggregator = make_host_pane_aggregator();
  std::uint64_t seed = 1;
  std::size_t wide_sums = 0;
  for (bool wild : {false, true}) {
    for (bool collide : {false, true}) {
      for (std::uint32_t count : {1u, 7u, 300u, 5000u}) {
        for (std::uint32_t keys : {1u, 5u, 200u}) {
          ++seed;
          testing::FoldCase fold = make_fold_case(seed, count, keys, 2, 4, collide, wild);
          const FoldRows& rows = fold.rows;
          const FoldColumns columns = rows.view();
          std::map<StateKey, OwnedRecord> by_row;
          std::map<StateKey, OwnedRecord> by_fold;
          auto record_in = [&](std::map<StateKey, OwnedRecord>& states, const StateKey& key) {
            auto found = states.find(key);
            if (found == states.end()) found = states.emplace(key, make_record(layout)).first;
            return found->second.get();
          };
          for (std::uint32_t i = 0; i < count; ++i) {
            const StateKey key = state_key(rows, i, fold.plan.pane);
            std::byte* record = record_in(by_row, key);
            ++StateLayout::events(record);
            for (std::uint32_t m = 0; m < 2; ++m) {
              if (rows.valid[m * count + i] == 0) continue;
              layout.add(record, m, rows.values[m * count + i], rows.times[i] - std::get<3>(key));
            }
          }
          PanePartials partials;
          aggregator->fold(columns, fold.plan, layout.fold_needs(), partials);
          std::uint32_t covered = 0;
          for (std::size_t p = 0; p < partials.partials.size(); ++p) {
            const PanePartial& chunk = partials.partials[p];
            ASSERT_EQ(chunk.first, covered);
            ASSERT_GE(chunk.count, 1u);
            ASSERT_LE(chunk.count, kPartialRows);
            covered += chunk.count;
            const StateKey key = state_key(rows, partials.order[chunk.first], fold.plan.pane);
            ASSERT_EQ(std::get<3>(key), chunk.pane_start);
            for (std::uint32_t r = chunk.first; r < chunk.first + chunk.count; ++r) {
              ASSERT_EQ(state_key(rows, partials.order[r], fold.plan.pane), key)
                  << "a partial holds two keys or panes";
            }
            std::byte* record = record_in(by_fold, key);
            StateLayout::events(record) += chunk.count;
            for (std::uint32_t m = 0; m < 2; ++m) {
              const MeasurePartial& partial = partials.measures[p * 2 + m];
              wide_sums += partial.sum.wide + partial.squares.wide + partial.time_products.wide;
              std::vector<SketchRun> runs;
              for (const SketchRun& run : partials.sketch_runs) {
                if (run.slot == p * 2 + m) runs.push_back(run);
              }
              layout.add_partial(record, m, partials.measures[p * 2 + m], runs, columns,
                                 partials.order.data(), chunk);
            }
          }
          ASSERT_EQ(covered, count);
          ASSERT_EQ(by_row.size(), by_fold.size());
          for (const auto& [key, record] : by_row) {
            const std::byte* folded = by_fold.at(key).get();
            ASSERT_EQ(StateLayout::events(record.get()), StateLayout::events(folded));
            for (std::uint32_t m = 0; m < 2; ++m) {
              for (const MetricConfig& metric : metrics) {
                const auto expected = layout.value(record.get(), m, metric, {});
                const auto actual = layout.value(folded, m, metric, {});
                ASSERT_TRUE(same_bits(expected, actual))
                    << "seed " << seed << " metric " << static_cast<int>(metric.kind) << ": "
                    << expected.value_or(-1) << " vs " << actual.value_or(-1);
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(wide_sums, 0u) << "the wild values must take the rows' path for wide sums";
}

TEST(WindowPartial, SessionPartialsHoldOneKeyInTimeOrderWithoutGaps) {
  auto aggregator = make_host_pane_aggregator();
  constexpr std::int64_t kGap = 4'000'000'000;
  for (bool collide : {false, true}) {
    testing::FoldCase fold = make_fold_case(collide ? 77 : 78, 5000, 40, 1, 3, collide, false);
    PanePartials partials;
    aggregator->fold(fold.rows.view(), make_session_fold_plan(kGap), fold.needs, partials);
    const FoldRows& rows = fold.rows;
    const std::size_t n = rows.size();
    std::uint32_t covered = 0;
    for (const PanePartial& chunk : partials.partials) {
      ASSERT_EQ(chunk.first, covered);
      covered += chunk.count;
      ASSERT_EQ(chunk.pane_start, rows.times[partials.order[chunk.first]]);
      for (std::uint32_t p = chunk.first + 1; p < chunk.first + chunk.count; ++p) {
        const std::uint32_t row = partials.order[p];
        const std::uint32_t previous = partials.order[p - 1];
        ASSERT_EQ(rows.keys[row], rows.keys[previous]);
        ASSERT_EQ(rows.keys[n + row], rows.keys[n + previous]);
        ASSERT_GE(rows.times[row], rows.times[previous]);
        ASSERT_LE(rows.times[row] - rows.times[previous], kGap);
      }
    }
    ASSERT_EQ(covered, n);
  }
}

TEST(WindowPartial, PartialSumsAreExactAndWideOnlyBeyondTheirLimbs) {
  std::mt19937_64 random(5);
  // Plain values, squares and time-scaled values, as the fold makes them, up to a full chunk.
  enum class Kind { value, square, scaled };
  for (int round = 0; round < 3000; ++round) {
    const bool wild = round % 2 == 1;
    const auto kind = static_cast<Kind>(round / 2 % 3);
    const int terms = 1 + static_cast<int>(random() % kPartialRows);
    std::vector<std::pair<double, std::int64_t>> values;
    for (int i = 0; i < terms; ++i) {
      values.emplace_back(testing::adversarial_value(random, wild),
                          static_cast<std::int64_t>(random() % 60'000'000'000));
    }
    const auto term = [&](double x, std::int64_t t) {
      return kind == Kind::value    ? exact::term_of(x)
             : kind == Kind::square ? exact::product_term(x, x)
                                    : exact::scaled_integer_term(x, t);
    };
    exact::PartialSum partial;
    partial.clear();
    ExactSum direct;
    for (const auto& [x, t] : values) {
      if (exact::is_finite(x)) partial.bound(term(x, t));
    }
    partial.place();
    for (const auto& [x, t] : values) {
      if (kind == Kind::value) direct.add(x);
      if (kind == Kind::square) direct.add_product(x, x);
      if (kind == Kind::scaled) direct.add_scaled_integer(x, t);
      if (exact::is_finite(x)) {
        partial.add(term(x, t));
      } else {
        partial.flags |= exact::special_flag(kind == Kind::value    ? x
                                             : kind == Kind::square ? x * x
                                                                    : x * static_cast<double>(t));
      }
    }
    if (partial.wide != 0) {
      EXPECT_TRUE(wild) << "ordinary values never need more than the limbs";
      continue;
    }
    std::uint32_t digits[exact::PartialSum::kLimbs + 1];
    ExactSum folded;
    folded.add_partial(partial.to_number(digits), partial.flags);
    ASSERT_TRUE(folded == direct) << "round " << round;
    const double a = folded.to_double();
    const double b = direct.to_double();
    ASSERT_EQ(std::memcmp(&a, &b, sizeof a), 0);
  }
}

TEST(WindowPartial, TheEngineWritesTheSameBytesFoldedOrRowByRow) {
  const std::string yaml = testing::fold_engine_config();
  for (int round = 0; round < 3; ++round) {
    const std::string input = testing::fold_engine_input(round, 3000);
    const auto reference = run_pipeline(yaml, input, Format::json, 1, 65536, false);
    ASSERT_GT(reference.summary.windows.late_revised, 0u);
    ASSERT_GT(reference.summary.windows.late_dropped, 0u);
    for (auto [threads, batch] : {std::pair{1u, std::size_t{65536}}, std::pair{2u, std::size_t{5}},
                                  std::pair{3u, std::size_t{997}}}) {
      const auto folded = run_pipeline(yaml, input, Format::json, threads, batch, true);
      EXPECT_EQ(folded.results, reference.results)
          << "round " << round << ", " << threads << " threads, batch " << batch;
      EXPECT_EQ(folded.summary.windows.late_revised, reference.summary.windows.late_revised);
      EXPECT_EQ(folded.summary.windows_folded_on, "host");
      EXPECT_GT(folded.summary.windows.folded_rows, 0u);
      EXPECT_GT(folded.summary.windows.partials, 0u);
      EXPECT_LE(folded.summary.windows.partials, folded.summary.windows.folded_rows);
      EXPECT_EQ(reference.summary.windows.folds, 0u);
      EXPECT_EQ(folded.summary.windows.late_dropped, reference.summary.windows.late_dropped);
    }
  }
}

/// Returns a pipeline over events {ts (s), k (`key_type`), v (float64)} with `processing`.
std::string seconds_config(const std::string& key_type, const std::string& processing) {
  return testing::json_input(
             "        - {name: ts, type: timestamp, unit: s}\n"
             "        - {name: k, type: " +
                 key_type +
                 "}\n"
                 "        - {name: v, type: float64}\n",
             "ts") +
         "processing:" + processing + "output:\n  destinations: [{type: stdout}]\n";
}

/// Feeds the same rows to an engine that folds and one that does not, one row per add(), and
/// expects pending_from() never later when folding: a source must not commit a chunk whose
/// events a window not yet emitted may still hold. (Folding may be earlier: rows waiting to be
/// folded could reopen any session kept for lateness.)
TEST(WindowPartial, PendingFromIsNeverLaterFolded) {
  const std::string yaml = seconds_config("int32", R"yaml(
  watermark: {maxOutOfOrderness: 0s, allowedLateness: 30s}
  groupBy: [k]
  windows:
    - {type: session, gap: 10s, metrics: [count, sum]}
    - {type: tumbling, size: 20s, metrics: [avg]}
    - {type: sliding, size: 30s, slide: 10s, metrics: [count]}
)yaml");
  const Config config = parse_config(yaml, "test.yaml");
  StringDictionary strings;
  Plan plan(config, strings);
  WindowEngine plain(config, plan, strings, 1);
  WindowEngine folded(config, plan, strings, 1);
  folded.fold_with(make_host_pane_aggregator());
  // Key 1 at 50 s; key 2 at 62 s emits session [50 s, 60 s); key 1 at 55 s reopens it.
  std::vector<std::pair<std::int64_t, std::int32_t>> events = {{50, 1}, {62, 2}, {55, 1}};
  std::mt19937_64 random(3);
  for (int i = 0; i < 300; ++i) {
    events.emplace_back(70 + i + static_cast<std::int64_t>(random() % 40) - 30,
                        static_cast<std::int32_t>(random() % 4));
  }
  WindowOutput plain_output;
  WindowOutput folded_output;
  for (const auto& [seconds, key] : events) {
    WindowRows rows;
    rows.times = {seconds * 1'000'000'000};
    rows.keys.assign(plain.key_fields().size(), {static_cast<std::uint64_t>(key)});
    rows.key_valid.assign(plain.key_fields().size(), {1});
    rows.measures.assign(plain.measure_fields().size(), {1.0});
    rows.measure_valid.assign(plain.measure_fields().size(), {1});
    plain.add(rows, plain_output);
    folded.add(rows, folded_output);
    // Never later than the row path's exact answer, nor its quick one.
    ASSERT_LE(folded.pending_from(), plain.exact_pending_from())
        << "after the row at " << seconds << " s";
    ASSERT_LE(plain.pending_from(), plain.exact_pending_from())
        << "after the row at " << seconds << " s";
  }
  plain.finish(plain_output);
  folded.finish(folded_output);
  EXPECT_EQ(folded_output.results, plain_output.results);
  EXPECT_EQ(folded_output.late, plain_output.late);
}

TEST(WindowPartial, ALateSessionRowSeesTheFoldedRowsBeforeIt) {
  // Key a: 100 s, then 90 s (on time: its session ends at 100 s, past the watermark of 95 s),
  // key b moves the watermark to 99 s, then a's 85 s is not on time (its own session ends at
  // 95 s) but reaches the 90 s row's session: one session [85 s, 110 s) of three events, not a
  // revision of [85 s, 95 s).
  const std::string yaml = seconds_config("string", R"yaml(
  watermark: {maxOutOfOrderness: 5s, allowedLateness: 30s}
  groupBy: [k]
  windows:
    - {type: session, gap: 10s, metrics: [count, sum]}
)yaml");
  const std::string input =
      "{\"ts\":100,\"k\":\"a\",\"v\":1}\n{\"ts\":90,\"k\":\"a\",\"v\":2}\n"
      "{\"ts\":104,\"k\":\"b\",\"v\":3}\n{\"ts\":85,\"k\":\"a\",\"v\":4}\n";
  const auto reference = run_pipeline(yaml, input, Format::json, 1, 65536, false);
  EXPECT_NE(reference.results.find("\"count\":3"), std::string::npos) << reference.results;
  EXPECT_EQ(reference.summary.windows.late_revised, 0u);
  for (std::size_t batch : {1u, 2u, 3u, 4u}) {
    const auto folded = run_pipeline(yaml, input, Format::json, 1, batch, true);
    EXPECT_EQ(folded.results, reference.results) << "batch " << batch;
  }
}

}  // namespace
}  // namespace ldh
