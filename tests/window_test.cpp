#include "pipeline/window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string_view>
#include <thread>
#include <tuple>

#include "pipeline/window_partial.h"
#include "run_pipeline.h"
#include "window_fold_test_support.h"

namespace ldh {
namespace {

using testing::run_pipeline;

/// A config over events {ts (ms), k (string), v (float64)} with the given processing section.
std::string window_config(const std::string& processing, const std::string& extra_output = "") {
  return testing::json_input(R"yaml(        - {name: ts, type: timestamp, unit: ms}
        - {name: k, type: string}
        - {name: v, type: float64, required: false, allowNaN: true}
)yaml",
                             "ts") +
         "processing:\n" + processing +
         R"yaml(
output:
  destinations: [{type: stdout}]
)yaml" + extra_output;
}

struct Event {
  std::int64_t ms;
  std::string key;
  std::optional<double> value;
};

/// Sorts `events` by event time.
void sort_by_time(std::vector<Event>& events) {
  std::sort(events.begin(), events.end(),
            [](const Event& a, const Event& b) { return a.ms < b.ms; });
}

std::string to_json(const std::vector<Event>& events) {
  std::ostringstream out;
  out.precision(17);
  for (const auto& event : events) {
    out << "{\"ts\":" << event.ms << ",\"k\":\"" << event.key << "\"";
    if (event.value) out << ",\"v\":" << *event.value;
    out << "}\n";
  }
  return out.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

constexpr std::int64_t kBase = 1'795'910'400'000;  // 2026-11-29T00:00:00Z in ms

/// Returns one row of source 0's `stream` at `milliseconds` for `engine`: value 1 in every
/// measure, the word `key` in every group-by field.
WindowRows one_row(const WindowEngine& engine, std::int64_t milliseconds, std::uint32_t stream = 0,
                   std::uint64_t key = 0) {
  WindowRows rows;
  rows.stream = stream;
  rows.times = {milliseconds * 1'000'000};
  rows.keys.assign(engine.key_fields().size(), {key});
  rows.key_valid.assign(engine.key_fields().size(), {1});
  rows.measures.assign(engine.measure_fields().size(), {1.0});
  rows.measure_valid.assign(engine.measure_fields().size(), {1});
  return rows;
}

TEST(Window, TumblingWindowsAlignToTheEpochAndIncludeOnlyTheirStart) {
  std::string config = window_config(R"yaml(
  groupBy: [k]
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [count, sum, min, max]}
)yaml");
  auto output = run_pipeline(config,
                             to_json({{kBase, "a", 1.0},
                                      {kBase + 59'999, "a", 2.0},
                                      {kBase + 60'000, "a", 4.0},
                                      {kBase + 180'000, "a", 8.0}}),
                             Format::json);
  EXPECT_EQ(
      output.results,
      "{\"window\":\"minute\",\"start\":\"2026-11-29T00:00:00.000Z\",\"end\":\"2026-11-29T00:01:00."
      "000Z\",\"k\":\"a\",\"count\":2,\"v_count\":2,\"v_sum\":3,\"v_min\":1,\"v_max\":2}\n"
      "{\"window\":\"minute\",\"start\":\"2026-11-29T00:01:00.000Z\",\"end\":\"2026-11-29T00:02:00."
      "000Z\",\"k\":\"a\",\"count\":1,\"v_count\":1,\"v_sum\":4,\"v_min\":4,\"v_max\":4}\n"
      "{\"window\":\"minute\",\"start\":\"2026-11-29T00:03:00.000Z\",\"end\":\"2026-11-29T00:04:00."
      "000Z\",\"k\":\"a\",\"count\":1,\"v_count\":1,\"v_sum\":8,\"v_min\":8,\"v_max\":8}\n");
}

TEST(Window, SlidingWindowsCoverEveryStartBeforeTheEvent) {
  std::string config = window_config(R"yaml(
  windows:
    - {type: sliding, size: 3m, slide: 1m, metrics: [count], measures: [v]}
)yaml");
  auto output = run_pipeline(config, to_json({{kBase + 150'000, "a", 1.0}}), Format::json);
  auto rows = lines(output.results);
  ASSERT_EQ(rows.size(), 3u) << output.results;
  // 00:02:30 lies in [00:00, 00:03), [00:01, 00:04) and [00:02, 00:05).
  EXPECT_NE(rows[0].find("\"start\":\"2026-11-29T00:00:00.000Z\""), std::string::npos);
  EXPECT_NE(rows[1].find("\"start\":\"2026-11-29T00:01:00.000Z\""), std::string::npos);
  EXPECT_NE(rows[2].find("\"start\":\"2026-11-29T00:02:00.000Z\""), std::string::npos);
}

TEST(Window, SessionsMergeWhenAnEventBridgesThem) {
  std::string config = window_config(R"yaml(
  watermark: {maxOutOfOrderness: 1m}
  groupBy: [k]
  windows:
    - {type: session, gap: 30s, metrics: [count, first, last]}
)yaml");
  // Sessions [0, 40s) and [50s, 80s) until the event at 35s bridges them.
  auto separate = run_pipeline(
      config, to_json({{kBase, "a", 1.0}, {kBase + 10'000, "a", 2.0}, {kBase + 50'000, "a", 3.0}}),
      Format::json);
  EXPECT_EQ(lines(separate.results).size(), 2u) << separate.results;
  auto bridged = run_pipeline(config,
                              to_json({{kBase, "a", 1.0},
                                       {kBase + 10'000, "a", 2.0},
                                       {kBase + 50'000, "a", 3.0},
                                       {kBase + 35'000, "a", 9.0}}),
                              Format::json);
  EXPECT_EQ(
      bridged.results,
      "{\"window\":\"session\",\"start\":\"2026-11-29T00:00:00.000Z\",\"end\":\"2026-11-29T00:01:"
      "20.000Z\",\"k\":\"a\",\"count\":4,\"v_count\":4,\"v_first\":1,\"v_last\":3}\n");
}

TEST(Window, LateEventsReviseWithinTheLatenessAndGoToTheLateSinkBeyondIt) {
  testing::ScratchFolder scratch;
  std::string config = window_config(R"yaml(
  watermark: {maxOutOfOrderness: 0s, allowedLateness: 30s}
  lateEvents: )yaml" + scratch.file("late.jsonl") +
                                     R"yaml(
  groupBy: [k]
  windows:
    - {type: tumbling, size: 1m, metrics: [count, sum]}
)yaml");
  auto output = run_pipeline(config,
                             to_json({{kBase + 1'000, "a", 1.0},
                                      {kBase + 61'000, "a", 2.0},  // closes [0, 1m)
                                      {kBase + 5'000, "a", 10.0},  // late, within 30 s: revision 1
                                      {kBase + 95'000, "a", 3.0},  // watermark 95 s
                                      {kBase + 6'000, "a", 100.0}}),  // 95 >= 60 + 30: too late
                             Format::json);
  // [0, 1m), its revision, and [1m, 2m) at the end of input; the too-late event is in none.
  auto rows = lines(output.results);
  ASSERT_EQ(rows.size(), 3u) << output.results;
  EXPECT_NE(rows[0].find("\"count\":1,\"v_count\":1,\"v_sum\":1}"), std::string::npos) << rows[0];
  EXPECT_NE(rows[1].find("\"count\":2,\"v_count\":2,\"v_sum\":11,\"revision\":1}"),
            std::string::npos)
      << rows[1];
  EXPECT_EQ(output.summary.windows.late_revised, 1u);
  EXPECT_EQ(output.summary.windows.late_dropped, 1u);
  std::string late = testing::read_file(scratch.file("late.jsonl"));
  EXPECT_NE(late.find("\"v\":100"), std::string::npos) << late;
}

TEST(Window, ASessionEndingAtTheEndOfTimeIsWrittenAtTheEndOfInput) {
  // Its end saturates at INT64_MAX nanoseconds, the watermark end of input brings.
  std::string config = window_config(R"yaml(
  groupBy: [k]
  windows:
    - {type: session, gap: 1m, metrics: [count]}
)yaml");
  auto output = run_pipeline(config, to_json({{kBase, "a", 1.0}, {9'223'372'036'800, "b", 2.0}}),
                             Format::json);
  auto rows = lines(output.results);
  ASSERT_EQ(rows.size(), 2u) << output.results;
  EXPECT_NE(rows[1].find("\"start\":\"2262-04-11T23:47:16.800Z\""), std::string::npos) << rows[1];
}

TEST(Window, EndOfInputFlushesEveryWindowAndEmptyWindowsStaySilent) {
  std::string config = window_config(R"yaml(
  watermark: {maxOutOfOrderness: 1h}
  windows:
    - {type: tumbling, size: 1m, metrics: [count]}
)yaml");
  auto output =
      run_pipeline(config, to_json({{kBase, "a", 1.0}, {kBase + 600'000, "b", 1.0}}), Format::json);
  auto rows = lines(output.results);
  ASSERT_EQ(rows.size(), 2u) << output.results;
  EXPECT_NE(rows[1].find("\"start\":\"2026-11-29T00:10:00.000Z\""), std::string::npos);
}

TEST(Window, UndefinedResultsAreNullAndSumsAreExact) {
  std::string config = window_config(R"yaml(
  windows:
    - {type: tumbling, size: 1m, metrics: [sum, avg, stddev, trend, p50]}
)yaml");
  auto single = run_pipeline(config, to_json({{kBase, "a", 2.5}}), Format::json);
  EXPECT_NE(single.results.find("\"v_sum\":2.5,\"v_avg\":2.5,\"v_stddev\":null,\"v_trend\":null,"
                                "\"v_p50\":2.5"),
            std::string::npos)
      << single.results;
  auto cancelling = run_pipeline(
      config, to_json({{kBase, "a", 1e300}, {kBase + 1, "a", 1.0}, {kBase + 2, "a", -1e300}}),
      Format::json);
  EXPECT_NE(cancelling.results.find("\"v_sum\":1,"), std::string::npos) << cancelling.results;
  auto nulls = run_pipeline(config, to_json({{kBase, "a", std::nullopt}}), Format::json);
  EXPECT_NE(nulls.results.find("\"count\":1,\"v_sum\":null"), std::string::npos) << nulls.results;
}

TEST(Window, ResultsAreOrderedByEndWindowStartAndKeyText) {
  std::string config = window_config(R"yaml(
  watermark: {maxOutOfOrderness: 1h}
  groupBy: [k]
  windows:
    - {name: a, type: tumbling, size: 1m, metrics: [count]}
    - {name: b, type: tumbling, size: 2m, metrics: [count]}
)yaml");
  // Key "zeta" arrives first, so its dictionary id is lower; output must still sort by text.
  auto output = run_pipeline(
      config,
      to_json({{kBase, "zeta", 1.0}, {kBase + 1, "alpha", 1.0}, {kBase + 70'000, "m", 1.0}}),
      Format::json);
  auto rows = lines(output.results);
  ASSERT_EQ(rows.size(), 6u) << output.results;
  EXPECT_NE(rows[0].find("\"window\":\"a\",\"start\":\"2026-11-29T00:00:00.000Z\""),
            std::string::npos);
  EXPECT_NE(rows[0].find("\"k\":\"alpha\""), std::string::npos);
  EXPECT_NE(rows[1].find("\"k\":\"zeta\""), std::string::npos);
  EXPECT_NE(rows[2].find("\"window\":\"a\",\"start\":\"2026-11-29T00:01:00.000Z\""),
            std::string::npos);
  EXPECT_NE(rows[3].find("\"window\":\"b\""), std::string::npos);
  EXPECT_NE(rows[3].find("\"k\":\"alpha\""), std::string::npos);
  EXPECT_NE(rows[4].find("\"k\":\"m\""), std::string::npos);
  EXPECT_NE(rows[5].find("\"k\":\"zeta\""), std::string::npos);
}

TEST(Window, TheSeedsAnalyticsWindowsRunAsWritten) {
  // The seed's analytics engine: no gap for the session window, so its size serves as the gap.
  std::string config = window_config(R"yaml(
  windows:
    types: ["tumbling", "sliding", "session"]
    default: {size: "1m", slide: "30s"}
  metrics:
    basic: ["count", "sum", "avg", "min", "max"]
    advanced: ["percentile", "stddev", "trend"]
  aggregations:
    dimensions: ["k"]
    measures: ["v"]
)yaml");
  Config parsed = parse_config(config, "seed.yaml");
  ASSERT_EQ(parsed.windows.size(), 3u);
  EXPECT_EQ(parsed.windows[2].gap_ns, 60'000'000'000);
  auto output = run_pipeline(
      config, to_json({{kBase, "a", 1.0}, {kBase + 20'000, "a", 3.0}, {kBase + 45'000, "a", 5.0}}),
      Format::json);
  auto rows = lines(output.results);
  // One tumbling minute, three sliding windows (starts -30 s, 0 s, 30 s), one session.
  EXPECT_EQ(rows.size(), 5u) << output.results;
  EXPECT_NE(output.results.find("\"v_p95\":"), std::string::npos);
  EXPECT_NE(output.results.find("\"v_trend\":"), std::string::npos);
}

TEST(Window, AlertsFireOnWindowResults) {
  std::string config = window_config(R"yaml(
  groupBy: [k]
  windows:
    - {name: five, type: sliding, size: 5m, slide: 1m, metrics: [avg]}
)yaml",
                                     R"yaml(
  alerts:
    conditions:
      - {metric: v, operator: gt, value: 100, window: 5m}
)yaml");
  auto output =
      run_pipeline(config, to_json({{kBase, "hot", 101.0}, {kBase, "cold", 20.0}}), Format::json);
  auto rows = lines(output.results);
  std::size_t alerts = std::count_if(rows.begin(), rows.end(), [](const std::string& row) {
    return row.find("\"alert\":\"v gt 100\"") != std::string::npos;
  });
  EXPECT_EQ(alerts, 5u) << output.results;  // one per 5-minute window holding the reading
  EXPECT_EQ(output.results.find("\"k\":\"cold\",\"metric\""), std::string::npos);
}

/// Shuffles events so that none becomes late: arrival order sorts by time plus a random delay
/// below half the allowed out-of-orderness.
std::vector<Event> shuffled(std::vector<Event> events, std::int64_t out_of_order_ms,
                            std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::pair<std::int64_t, Event>> keyed;
  for (auto& event : events) {
    keyed.push_back(
        {event.ms + static_cast<std::int64_t>(random() % (out_of_order_ms / 2)), event});
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Event> result;
  for (auto& [order, event] : keyed) result.push_back(event);
  return result;
}

TEST(Window, OutputIsIdenticalForAnyBatchingThreadsAndArrivalOrderWithinTheLateness) {
  std::string config = window_config(R"yaml(
  watermark: {maxOutOfOrderness: 10s, allowedLateness: 5s}
  groupBy: [k]
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [count, sum, avg, min, max, stddev, variance_pop, p50, p99.9, p95_disc, approx_p90, trend, first, last]}
    - {type: sliding, size: 2m, slide: 30s, metrics: [avg, stddev, trend, median]}
    - {type: session, gap: 20s, metrics: [count, sum, p75]}
)yaml");
  std::mt19937_64 random(17);
  std::vector<Event> events;
  const char* keys[] = {"a", "b", "c", "d", "e", "f", "g"};
  for (int i = 0; i < 4000; ++i) {
    std::int64_t ms = kBase + i * 97 + static_cast<std::int64_t>(random() % 50);
    double value = std::uniform_real_distribution<double>(-50, 150)(random);
    if (i % 97 == 0) value = 1e9 + value * 1e-7;  // cancellation-prone values
    if (i % 301 == 0) value = -0.0;
    std::optional<double> maybe = value;
    if (i % 211 == 0) maybe.reset();
    events.push_back({ms, keys[random() % 7], maybe});
  }
  sort_by_time(events);
  auto reference = run_pipeline(config, to_json(events), Format::json, 1, 65536);
  ASSERT_GT(lines(reference.results).size(), 100u);
  EXPECT_EQ(reference.summary.windows.late_dropped, 0u);
  EXPECT_EQ(reference.summary.windows.late_revised, 0u);
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    std::string input = to_json(shuffled(events, 10'000, seed));
    for (auto [threads, batch] : {std::pair{1u, std::size_t{1}}, std::pair{2u, std::size_t{7}},
                                  std::pair{3u, std::size_t{1000}}}) {
      auto output = run_pipeline(config, input, Format::json, threads, batch);
      EXPECT_EQ(output.results, reference.results)
          << "seed " << seed << ", " << threads << " threads, batch " << batch;
    }
  }
}

TEST(Window, ValuesKeptAsRowsGiveWhatAChainPerMeasureGives) {
  // A window whose records keep only counts keeps its values as rows, one slot per measure with
  // nulls marked; the same window with `first` keeps a chain per measure. Percentiles and what
  // derives from the values (min, max, avg, stddev) must not tell them apart, nulls, NaN and
  // -0.0 included: tumbling with three measures (rows unrolled), sliding with five (any width,
  // several panes), hundreds of keys per pane (more chunks than one block holds), on one
  // thread or several, in one batch or many.
  const std::string metrics = "count, min, max, avg, stddev, p50, p95_disc, median";
  const std::string sliding = "count, p50, p95_disc, median";
  const std::string config =
      testing::json_input(R"yaml(        - {name: ts, type: timestamp, unit: ms}
        - {name: k, type: string}
        - {name: x, type: float64, required: false, allowNaN: true}
        - {name: y, type: float64, required: false, allowNaN: true}
        - {name: z, type: float64, required: false, allowNaN: true}
        - {name: u, type: float64, required: false, allowNaN: true}
        - {name: w, type: float64, required: false, allowNaN: true}
)yaml",
                          "ts") +
      "processing:\n  watermark: {maxOutOfOrderness: 0s}\n  groupBy: [k]\n  windows:\n" +
      "    - {name: r3, type: tumbling, size: 10s, measures: [x, y, z], metrics: [" + metrics +
      "]}\n" + "    - {name: c3, type: tumbling, size: 10s, measures: [x, y, z], metrics: [" +
      metrics + ", first]}\n" +
      "    - {name: r5, type: sliding, size: 20s, slide: 10s, metrics: [" + sliding + "]}\n" +
      "    - {name: c5, type: sliding, size: 20s, slide: 10s, metrics: [" + sliding +
      ", first]}\n" + "output:\n  destinations: [{type: stdout}]\n";
  std::mt19937_64 random(29);
  std::ostringstream input;
  input.precision(17);
  for (int i = 0; i < 12000; ++i) {
    // Half the events on five busy keys, half on 600 others; key n never has x.
    std::string key = i % 50 == 0 ? "n" : std::string(1, "abcde"[random() % 5]);
    if (i % 2 == 1) key = 'q' + std::to_string(random() % 600);
    input << "{\"ts\":" << kBase + i * 20 << ",\"k\":\"" << key << "\"";
    for (const char* field : {"x", "y", "z", "u", "w"}) {
      const auto kind = random() % 10;
      if (kind == 0 || (key == "n" && field[0] == 'x')) continue;  // null
      input << ",\"" << field << "\":";
      if (kind == 1) {
        input << (random() % 2 == 0 ? "\"NaN\"" : "-0.0");
      } else {
        input << std::uniform_real_distribution<double>(-50, 150)(random);
      }
    }
    input << "}\n";
  }
  for (auto [threads, batch] : {std::pair{1u, std::size_t{65536}}, std::pair{2u, std::size_t{7}}}) {
    const auto output = run_pipeline(config, input.str(), Format::json, threads, batch);
    // Each window's rows without its name (and `first`), by window.
    std::map<std::string, std::vector<std::string>> by_window;
    const std::regex name(R"re(^\{"window":"([a-z0-9]+)")re");
    const std::regex first(R"(,"[a-z]_first":[^,}]*)");
    for (const std::string& line : lines(output.results)) {
      std::smatch match;
      ASSERT_TRUE(std::regex_search(line, match, name)) << line;
      by_window[match[1]].push_back(std::regex_replace(match.suffix().str(), first, ""));
    }
    ASSERT_GT(by_window["r3"].size(), 1000u);
    ASSERT_GT(by_window["r5"].size(), 1000u);
    EXPECT_EQ(by_window["r3"], by_window["c3"]) << threads << " threads, batch " << batch;
    EXPECT_EQ(by_window["r5"], by_window["c5"]) << threads << " threads, batch " << batch;
    EXPECT_NE(output.results.find("\"x_p50\":null"), std::string::npos) << "a key with no x";
  }
}

TEST(Window, WindowsGroupingByDifferentFieldsGiveTheSameBytesOnAnyThreadsAndBatches) {
  // Several key shapes (each shard then checks ownership per window) with late rows, revisions
  // and keys that leave the table while a batch is added.
  const std::string yaml = testing::fold_engine_input_section() +
                           R"yaml(processing:
  watermark: {maxOutOfOrderness: 4s, allowedLateness: 10s}
  groupBy: [k]
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [count, avg, stddev, p50, trend]}
    - {type: sliding, size: 2m, slide: 20s, groupBy: [k, g], metrics: [avg, median, last]}
    - {type: session, gap: 15s, metrics: [count, sum, p75]}
    - {name: tiny, type: tumbling, size: 1s, groupBy: [g], metrics: [sum, max], measures: [w]}
output:
  destinations: [{type: stdout}]
)yaml";
  for (int round = 0; round < 3; ++round) {
    const std::string input = testing::fold_engine_input(round, 3000);
    const auto reference = run_pipeline(yaml, input, Format::json, 1, 65536);
    ASSERT_GT(reference.summary.windows.late_revised, 0u);
    ASSERT_GT(reference.summary.windows.late_dropped, 0u);
    for (auto [threads, batch] :
         {std::pair{1u, std::size_t{1}}, std::pair{2u, std::size_t{5}},
          std::pair{3u, std::size_t{997}}, std::pair{2u, std::size_t{65536}}}) {
      const auto output = run_pipeline(yaml, input, Format::json, threads, batch);
      EXPECT_EQ(output.results, reference.results)
          << "round " << round << ", " << threads << " threads, batch " << batch;
      EXPECT_EQ(output.summary.windows.late_dropped, reference.summary.windows.late_dropped);
    }
  }
}

TEST(Window, BusySessionsTakeAStepOnlyNowAndThen) {
  // Every event extends its key's session; the earlier ends it passes are no longer due, so
  // they must not each make a watermark step (which waits for every shard).
  std::string config = window_config(R"yaml(
  watermark: {maxOutOfOrderness: 1s}
  groupBy: [k]
  windows:
    - {type: session, gap: 30s, metrics: [count, max]}
)yaml");
  std::vector<Event> events;
  const char* keys[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  for (int second = 0; second < 600; ++second) {
    for (int k = 0; k < 10; ++k) events.push_back({kBase + second * 1000 + k * 50, keys[k], 1.0});
  }
  const auto output = run_pipeline(config, to_json(events), Format::json, 2, 1000);
  EXPECT_EQ(lines(output.results).size(), 10u) << output.results;
  // About one step per gap, when the earliest end the engine knew of comes; thousands before.
  EXPECT_LE(output.summary.windows.steps, 40u);
}

TEST(Window, SessionKeysThatComeAndGoNeverMix) {
  // Each key reports for two seconds and falls silent: its sessions expire, its id goes back
  // to the key table, and later keys take it over. Every tenth key has a late event that
  // revises its session after the watermark passed it. A result carrying another key's state
  // would show a sum that is not count * the key's number. Alone, the session window is the
  // only holder of its keys' ids; beside a tumbling window on the same keys, the two share them.
  const std::string session = "    - {type: session, gap: 3s, metrics: [count, sum]}\n";
  const std::string tumbling = "    - {type: tumbling, size: 10s, metrics: [count]}\n";
  std::vector<Event> events;
  std::vector<Event> late;
  for (int key = 0; key < 200; ++key) {
    const std::string name = "key-" + std::to_string(key);
    for (int j = 0; j < 4; ++j) events.push_back({kBase + key * 2000 + j * 700, name, key});
    if (key % 10 == 0) late.push_back({kBase + key * 2000 + 100, name, key});
  }
  sort_by_time(events);
  // Each late event arrives after the events of three keys later.
  for (const Event& event : late) {
    const std::int64_t after = event.ms + 3 * 2000 + 2100;
    auto position =
        std::find_if(events.begin(), events.end(), [&](const Event& e) { return e.ms > after; });
    events.insert(position, event);
  }
  for (const std::string& windows : {session, session + tumbling}) {
    const std::string config = window_config(
        "  watermark: {maxOutOfOrderness: 1s, allowedLateness: 5s}\n  groupBy: [k]\n  windows:\n" +
        windows);
    const auto output = run_pipeline(config, to_json(events), Format::json, 2, 7);
    std::size_t sessions = 0;
    std::size_t revisions = 0;
    for (const std::string& line : lines(output.results)) {
      if (line.find("\"window\":\"session\"") == std::string::npos) continue;
      ++sessions;
      const std::size_t name = line.find("\"k\":\"key-") + 9;
      const long key = std::stol(line.substr(name));
      const long count = std::stol(line.substr(line.find("\"v_count\":") + 10));
      const double sum = std::stod(line.substr(line.find("\"v_sum\":") + 8));
      EXPECT_EQ(sum, static_cast<double>(count * key)) << line;
      const bool revised = line.find("\"revision\":1") != std::string::npos;
      EXPECT_EQ(count, revised ? 5 : 4) << line;
      revisions += revised ? 1 : 0;
    }
    EXPECT_EQ(sessions, 220u) << output.results;
    EXPECT_EQ(revisions, 20u);
    EXPECT_EQ(run_pipeline(config, to_json(events), Format::json, 1, 1000).results, output.results);
  }
}

TEST(Window, SessionsOfManyEndsComeInEndWindowStartKeyOrder) {
  // Sessions end at any millisecond; a step writes those of several ends as one group when no
  // other window's results fall between them. Results must still come by end, then window (in
  // config order), then start and key, on any thread count.
  std::string config = window_config(R"yaml(
  watermark: {maxOutOfOrderness: 1s}
  groupBy: [k]
  windows:
    - {name: a, type: session, gap: 700ms, metrics: [count]}
    - {name: b, type: tumbling, size: 2s, metrics: [count]}
    - {name: c, type: session, gap: 1300ms, metrics: [count]}
)yaml");
  std::mt19937_64 random(23);
  std::vector<Event> events;
  for (int i = 0; i < 6000; ++i) {
    std::string key = "k";
    key += std::to_string(random() % 40);
    events.push_back({kBase + i * 7 + static_cast<std::int64_t>(random() % 5), key, 1.0});
  }
  sort_by_time(events);
  const auto reference = run_pipeline(config, to_json(events), Format::json, 1, 500);
  const auto field = [](const std::string& line, std::string_view name) {
    std::string pattern = "\"";
    pattern.append(name).append("\":\"");
    const std::size_t at = line.find(pattern) + pattern.size();
    return line.substr(at, line.find('"', at) - at);
  };
  std::vector<std::tuple<std::string, int, std::string, std::string>> order;
  std::size_t sessions = 0;
  for (const std::string& line : lines(reference.results)) {
    const std::string window = field(line, "window");
    sessions += window != "b";
    order.emplace_back(field(line, "end"),
                       window == "a"   ? 0
                       : window == "b" ? 1
                                       : 2,
                       field(line, "start"), field(line, "k"));
  }
  EXPECT_GT(sessions, 200u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end())) << reference.results;
  for (unsigned threads : {2u, 3u}) {
    EXPECT_EQ(run_pipeline(config, to_json(events), Format::json, threads, 500).results,
              reference.results)
        << threads << " threads";
  }
}

TEST(Window, ManyKeysStayWithinTheirWindows) {
  std::string config = window_config(R"yaml(
  groupBy: [k]
  windows:
    - {type: tumbling, size: 1m, metrics: [count, avg]}
)yaml");
  std::vector<Event> events;
  for (int i = 0; i < 50'000; ++i)
    events.push_back({kBase + i % 1000, "key-" + std::to_string(i), 1.0});
  auto output = run_pipeline(config, to_json(events), Format::json, 2, 4096);
  EXPECT_EQ(lines(output.results).size(), 50'000u);
  EXPECT_EQ(output.summary.window_states_peak, 50'000u);
}

TEST(Window, AlertsWithoutAFileFollowTheirRowsWhateverTheBatching) {
  // Alerts without output.alerts.path go to the destinations, each right after the row that
  // raised it, so where chunks end cannot move them.
  std::string config = window_config(R"yaml(
  watermark: {maxOutOfOrderness: 2s}
  groupBy: [k]
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [avg, max]}
    - {type: sliding, size: 2m, slide: 1m, metrics: [max]}
)yaml",
                                     R"yaml(
  alerts:
    conditions:
      - {metric: v, operator: gt, value: 90, window: 2m}
      - {metric: v, operator: gt, value: 95, window: 1m}
)yaml");
  std::mt19937_64 random(5);
  std::vector<Event> events;
  const char* keys[] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < 3000; ++i) {
    events.push_back({kBase + i * 173, keys[random() % 5],
                      std::uniform_real_distribution<double>(0, 100)(random)});
  }
  const std::string input = to_json(events);
  const auto reference = run_pipeline(config, input, Format::json, 1, 65536);
  const auto rows = lines(reference.results);
  std::size_t alerts = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].rfind("{\"alert\":", 0) != 0) continue;
    ++alerts;
    // The row above (or the alert above it, for a second condition) is the result's.
    std::size_t row = i - 1;
    while (rows[row].rfind("{\"alert\":", 0) == 0) --row;
    const std::string window = rows[i].substr(rows[i].find("\"window\""));
    const std::string key = window.substr(0, window.find(",\"metric\""));
    EXPECT_NE(rows[row].find(key), std::string::npos) << rows[i] << " after " << rows[row];
  }
  EXPECT_GT(alerts, 10u);
  for (auto [threads, batch] : {std::pair{1u, std::size_t{1}}, std::pair{2u, std::size_t{7}},
                                std::pair{3u, std::size_t{1000}}}) {
    const auto output = run_pipeline(config, input, Format::json, threads, batch);
    EXPECT_EQ(output.results, reference.results) << threads << " threads, batch " << batch;
  }
}

/// Calls test(engine, key, partitions) for an engine over window_config(`processing`) with one
/// shard and with two; `key` is the group-by word of the string "a".
template <typename Test>
void with_engines(const std::string& processing, Test test) {
  Config config = parse_config(window_config(processing), "test.yaml");
  StringDictionary strings;
  Plan plan(config, strings);
  for (std::size_t partitions : {1u, 2u}) {
    WindowEngine engine(config, plan, strings, 1, partitions);
    test(engine, static_cast<std::uint64_t>(strings.intern("a")), partitions);
  }
}

TEST(WindowEngine, RevisionsAndLateRowsAreWrittenBeforeAddReturns) {
  // Shards add rows on their own threads; what a late row makes is written at once all the same.
  const std::string processing = R"yaml(  watermark: {maxOutOfOrderness: 0s, allowedLateness: 1m}
  groupBy: [k]
  windows:
    - {type: tumbling, size: 1m, metrics: [count]}
)yaml";
  with_engines(processing, [](WindowEngine& engine, std::uint64_t key, std::size_t partitions) {
    auto rows_at = [&](std::int64_t milliseconds) { return one_row(engine, milliseconds, 0, key); };
    WindowOutput output;
    engine.add(rows_at(kBase), output);
    engine.add(rows_at(kBase + 61'000), output);
    EXPECT_NE(output.results.find("\"count\":1"), std::string::npos) << output.results;
    output.results.clear();
    engine.add(rows_at(kBase + 1'000), output);  // late, within the lateness: a revision
    EXPECT_NE(output.results.find("\"v_count\":2,\"revision\":1"), std::string::npos)
        << partitions << " partitions: " << output.results;
    output.results.clear();
    engine.add(rows_at(kBase + 200'000), output);
    engine.add(rows_at(kBase + 2'000), output);  // past the lateness: to the late sink
    EXPECT_FALSE(output.late.empty()) << partitions << " partitions";
    EXPECT_EQ(engine.counters().late_dropped, 1u);
  });
}

TEST(WindowEngine, AStepWithManyResultsDrainsItsTextSliceBySlice) {
  Config config =
      parse_config(testing::json_input(R"yaml(        - {name: ts, type: timestamp, unit: ms}
        - {name: k, type: int64}
        - {name: v, type: float64}
)yaml",
                                       "ts") +
                       R"yaml(processing:
  watermark: {maxOutOfOrderness: 0s}
  groupBy: [k]
  windows:
    - {type: tumbling, size: 1m, metrics: [count, avg, p50]}
    - {type: sliding, size: 2m, slide: 1m, metrics: [sum]}
    - {type: session, gap: 30s, metrics: [count, max]}
output:
  destinations: [{type: stdout}]
  alerts:
    conditions:
      - {metric: v, operator: gt, value: 99, window: 2m}
)yaml",
                   "test.yaml");
  StringDictionary strings;
  Plan plan(config, strings);
  std::mt19937_64 random(3);
  WindowRows rows;
  constexpr std::uint64_t kKeys = 9000;  // more than two slices of one step
  for (int round = 0; round < 3; ++round) {
    for (std::uint64_t key = 0; key < kKeys; ++key) {
      rows.times.push_back((kBase + round * 20'000 + static_cast<std::int64_t>(key % 997)) *
                           1'000'000);
      rows.keys.resize(1);
      rows.key_valid.resize(1);
      rows.keys[0].push_back((key * 7919) % kKeys);
      rows.key_valid[0].push_back(1);
      rows.measures.resize(1);
      rows.measure_valid.resize(1);
      rows.measures[0].push_back(std::uniform_real_distribution<double>(0, 100)(random));
      rows.measure_valid[0].push_back(1);
    }
  }
  auto run = [&](std::size_t partitions, bool drain, std::size_t* drains) {
    WindowEngine engine(config, plan, strings, 1, partitions);
    if (testing::fold_windows_in_tests()) engine.fold_with(make_host_pane_aggregator());
    WindowOutput output;
    std::string text;
    if (drain) {
      output.drain_bytes = 1;
      output.drain = [&](const WindowOutput& part) {
        text += part.results;
        ++*drains;
      };
    }
    engine.add(rows, output);
    engine.finish(output);
    // Per key: one minute, two sliding windows, one session.
    EXPECT_EQ(engine.counters().results, 4 * kKeys) << partitions << " partitions";
    return text + output.results;
  };
  std::size_t drains = 0;
  const std::string reference = run(1, false, &drains);
  ASSERT_NE(reference.find("\"alert\""), std::string::npos);
  for (std::size_t partitions : {1u, 2u, 3u}) {
    drains = 0;
    EXPECT_EQ(run(partitions, true, &drains), reference) << partitions << " partitions";
    // Four groups of 9000 results, in slices of 4096: three slices each.
    EXPECT_GE(drains, 12u) << partitions << " partitions";
  }
}

TEST(Window, AStepOfManyResultsReachesTheDestinationsWhole) {
  // 120 000 keys close one window at the end of input: over 8 MiB of rows, which the engine
  // hands to the destinations in parts while it writes them.
  std::string config = window_config(R"yaml(
  groupBy: [k]
  windows:
    - {type: tumbling, size: 1m, metrics: [count, avg, min, max]}
)yaml");
  std::vector<Event> events;
  char key[16];
  for (int i = 0; i < 120'000; ++i) {
    std::snprintf(key, sizeof key, "key-%06d", (i * 7919) % 120'000);
    events.push_back({kBase + i % 50'000, key, 1.0 + i % 97});
  }
  const std::string input = to_json(events);
  const auto reference = run_pipeline(config, input, Format::json, 1, 65536);
  ASSERT_GT(reference.results.size(), std::size_t{8} << 20);
  const auto rows = lines(reference.results);
  ASSERT_EQ(rows.size(), 120'000u);
  EXPECT_NE(rows.front().find("\"k\":\"key-000000\""), std::string::npos) << rows.front();
  EXPECT_NE(rows.back().find("\"k\":\"key-119999\""), std::string::npos) << rows.back();
  const auto output = run_pipeline(config, input, Format::json, 2, 1000);
  EXPECT_EQ(output.results, reference.results);
}

TEST(WindowEngine, TheSlowestSourceHoldsTheWatermarkUntilItEndsOrIdles) {
  for (bool idle : {false, true}) {
    Config config = parse_config(window_config(std::string("  watermark: {maxOutOfOrderness: 0s") +
                                               (idle ? ", idleTimeout: 1ms" : "") + "}\n" + R"yaml(
  windows:
    - {type: tumbling, size: 1m, metrics: [count]}
)yaml"),
                                 "test.yaml");
    StringDictionary strings;
    Plan plan(config, strings);
    WindowEngine engine(config, plan, strings, 2);
    if (testing::fold_windows_in_tests()) engine.fold_with(make_host_pane_aggregator());
    WindowRows rows;
    rows.source_index = 0;
    rows.times = {kBase * 1'000'000, (kBase + 120'000) * 1'000'000};
    rows.measures.assign(engine.measure_fields().size(), {1.0, 2.0});
    rows.measure_valid.assign(engine.measure_fields().size(), {1, 1});
    if (idle) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    WindowOutput output;
    engine.add(rows, output);
    if (!idle) {
      EXPECT_TRUE(output.results.empty()) << "source 1 has sent nothing yet";
      engine.end_source(1, output);
    }
    EXPECT_NE(output.results.find("\"count\":1"), std::string::npos) << output.results;
  }
}

TEST(WindowEngine, EachStreamOfASourceHoldsTheWatermarkUntilItEnds) {
  Config config = parse_config(window_config(R"yaml(  watermark: {maxOutOfOrderness: 0s}
  windows:
    - {type: tumbling, size: 1m, metrics: [count]}
)yaml"),
                               "test.yaml");
  StringDictionary strings;
  Plan plan(config, strings);
  WindowEngine engine(config, plan, strings, 1);
  if (testing::fold_windows_in_tests()) engine.fold_with(make_host_pane_aggregator());
  auto rows_at = [&](std::uint32_t stream, std::int64_t milliseconds) {
    return one_row(engine, milliseconds, stream);
  };
  WindowOutput output;
  // Partition streams 1 and 2 of one source: the source's own stream-0 slot retires, and the
  // window [0, 1m) waits for the slower partition.
  engine.add(rows_at(1, kBase), output);
  engine.add(rows_at(2, kBase + 1000), output);
  engine.add(rows_at(1, kBase + 120'000), output);
  EXPECT_TRUE(output.results.empty()) << "stream 2 is still in the first minute";
  engine.add(rows_at(2, kBase + 61'000), output);
  EXPECT_NE(output.results.find("\"count\":2"), std::string::npos) << output.results;
  // Stream 2 is revoked: stream 1 alone moves the watermark past the second minute.
  output.results.clear();
  engine.end_stream(0, 2, output);
  EXPECT_NE(output.results.find("\"count\":1"), std::string::npos) << output.results;
}

TEST(WindowEngine, RowsTheShardsAreDoneWithComeBackAsSpares) {
  // Workers extract into spare rows, so the columns of each batch are not allocated and zeroed
  // anew; the engine keeps one per shard and two more, no more.
  const std::string processing = R"yaml(  watermark: {maxOutOfOrderness: 0s}
  groupBy: [k]
  windows:
    - {type: tumbling, size: 1m, metrics: [count, p50]}
)yaml";
  with_engines(processing, [](WindowEngine& engine, std::uint64_t key, std::size_t partitions) {
    EXPECT_EQ(engine.spare_rows().times.capacity(), 0u) << "nothing was added yet";
    WindowOutput output;
    for (int i = 0; i < 20; ++i) {
      WindowRows rows = one_row(engine, kBase + i * 1000, 0, key);
      rows.times.reserve(64);
      engine.add(std::move(rows), output);
    }
    engine.finish(output);  // waits for the shards
    std::size_t spares = 0;
    while (engine.spare_rows().times.capacity() >= 64) ++spares;
    EXPECT_GT(spares, 0u) << partitions << " partitions";
    EXPECT_LE(spares, partitions + 2) << partitions << " partitions: spares are bounded";
  });
}

}  // namespace
}  // namespace ldh
