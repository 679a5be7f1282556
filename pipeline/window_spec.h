#pragma once

// What the window engine and its shards share: each configured window compiled against the
// plan (read-only once built), the results they queue, their order, and how they are written.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/group_key.h"
#include "pipeline/operator.h"
#include "pipeline/string_dictionary.h"
#include "pipeline/window.h"
#include "pipeline/window_assign.h"
#include "pipeline/window_metrics.h"

namespace ldh {

/// One alert condition bound to a window's columns, with the fixed text of its records.
struct BoundAlert {
  const AlertCondition* condition = nullptr;
  std::size_t measure = 0;
  MetricConfig metric;
  std::string column;
  std::string prefix;          // {"alert":"...","window":"...","start":"
  std::string metric_text;     // ,"metric":"...","value":
  std::string threshold_text;  // ,"threshold":...
};

/// One configured window compiled against the plan's fields.
struct WindowSpec {
  std::size_t index = 0;
  WindowConfig config;
  std::vector<std::size_t> key_columns;  // WindowRows key columns of the group-by fields
  std::vector<PlanField> group_fields;
  std::vector<std::size_t> measure_columns;  // WindowRows measure columns
  std::vector<PlanField> measures;
  MeasureNeeds needs;
  std::unique_ptr<StateLayout> layout;
  std::vector<BoundAlert> alerts;
  std::int64_t size = 0;
  std::int64_t slide = 0;
  std::int64_t pane = 0;
  std::int64_t gap = 0;
  /// The key shape (distinct group-by list) its keys are hashed and interned by.
  std::size_t shape = 0;
  // Fixed text of result rows: up to the window start, each key field's `,"name":` and each
  // (measure, metric) column's `,"measure_metric":`.
  std::string row_prefix;
  std::vector<std::string> key_prefixes;
  std::vector<std::string> columns;
  /// Bytes a result row takes at most besides its times and key text (result_row_room()).
  std::size_t row_room = 0;

  bool is_session() const { return config.type == WindowType::session; }
  /// Returns the end of the earliest window that contains time t (the same for every t of a
  /// pane, since panes divide the slide and the size).
  std::int64_t first_end(std::int64_t t) const {
    return align_down(t - size, slide) + slide + size;
  }
  /// Returns the end of the latest window that contains time t.
  std::int64_t last_end(std::int64_t t) const { return align_down(t, slide) + size; }
};

using WindowSpecs = std::vector<std::unique_ptr<WindowSpec>>;

/// Returns the bytes a result row of `spec` takes at most besides its times and key text: its
/// fixed text, and each value at its longest. Needs the spec's row_prefix and columns.
std::size_t result_row_room(const WindowSpec& spec);

/// One result row waiting to be written.
struct WindowResult {
  std::size_t spec = 0;
  std::int64_t start = 0;
  std::int64_t end = 0;
  GroupKey key;
  std::uint32_t revision = 0;
  std::uint64_t events = 0;
  /// Where its values start in its queue: per (measure, metric), then the alert values.
  std::size_t values = 0;
  /// The row (of the rows being added) that revised it; results of a watermark step have none.
  std::size_t row = 0;
};

/// Tells whether `a` is written before `b`: by end, window, start, key (by value, never by
/// dictionary id), revision.
bool result_before(const WindowResult& a, const WindowResult& b, const WindowSpecs& specs,
                   const StringDictionary& strings);

/// Formats result rows and their alert records, reusing the text of repeated starts and ends.
class ResultWriter {
 public:
  /// With `alerts_follow_results`, each alert record is also written to the results, right
  /// after the row that raised it (alerts without a file of their own go to the destinations,
  /// and must land where they do whatever the batching).
  ResultWriter(const StringDictionary& strings, bool alerts_follow_results)
      : strings_(strings), alerts_follow_results_(alerts_follow_results) {}

  /// Appends the row of `result` to `results` and the alerts it raises to `alerts`; `values`
  /// are its metric values then its alert values. Counts rows and alerts in `counters`.
  void write(const WindowSpec& spec, const WindowResult& result,
             const std::optional<double>* values, std::string& results, std::string& alerts,
             WindowCounters& counters);

 private:
  /// The last time formatted as ISO-8601, reused while results share it.
  struct TimeText {
    std::int64_t time = 0;
    bool valid = false;
    std::string text;
    /// Returns the text of `t`.
    const std::string& of(std::int64_t t);
  };

  const StringDictionary& strings_;
  bool alerts_follow_results_;
  TimeText start_;
  TimeText end_;
  std::string key_text_;
};

}  // namespace ldh
