#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/batch.h"
#include "pipeline/config.h"
#include "pipeline/group_key.h"
#include "pipeline/operator.h"
#include "pipeline/plan.h"
#include "pipeline/string_dictionary.h"
#include "pipeline/window_metrics.h"

namespace ldh {

struct KeyState;

/// The rows windows need from one batch, copied out of it by a worker: event times, group-by
/// words and measure values of the live rows, in arrival order.
struct WindowRows {
  std::uint32_t source_index = 0;
  std::vector<std::int64_t> times;
  /// One column per field in WindowEngine::key_fields(): canonical words (group_word) and
  /// validity.
  std::vector<std::vector<std::uint64_t>> keys;
  std::vector<std::vector<std::uint8_t>> key_valid;
  /// One column per field in WindowEngine::measure_fields(); null values are NaN with
  /// measure_valid 0.
  std::vector<std::vector<double>> measures;
  std::vector<std::vector<std::uint8_t>> measure_valid;

  std::size_t size() const { return times.size(); }
};

/// Counts what the windows did with the events they were given.
struct WindowCounters {
  std::uint64_t events = 0;
  std::uint64_t late_revised = 0;  // late events that updated windows already emitted
  std::uint64_t late_dropped = 0;  // events past the allowed lateness, sent to the late sink
  std::uint64_t results = 0;       // result rows emitted (revisions included)
  std::uint64_t alerts = 0;
};

/// Text the engine produced for one call, in output order.
struct WindowOutput {
  std::string results;
  std::string late;
  std::string alerts;
};

/// Runs every configured window over events in arrival order: assigns events to windows,
/// tracks per-source watermarks, emits each window once the watermark passes its end (and again,
/// with a revision number, for late events within the allowed lateness), and evaluates alerts
/// on the results. Results within one watermark step are ordered by (end, window, start, key),
/// so the output depends only on the events and their arrival order, never on batching.
class WindowEngine {
 public:
  /// Compiles the windows of `config` against the plan's output fields; throws ConfigError.
  WindowEngine(const Config& config, const Plan& plan, const StringDictionary& strings,
               std::size_t source_count);
  ~WindowEngine();

  /// The fields a worker must copy into WindowRows, in column order.
  const std::vector<PlanField>& key_fields() const { return key_fields_; }
  const std::vector<PlanField>& measure_fields() const { return measure_fields_; }
  /// The field event time comes from, or nullptr when windows run on processing time.
  const PlanField* time_field() const { return time_field_ ? &*time_field_ : nullptr; }

  /// Copies the live rows of `batch` into `rows` (called by workers, in parallel).
  void extract(const EventBatch& batch, WindowRows& rows) const;

  /// Consumes rows in arrival order and appends what became due to `out`.
  void add(const WindowRows& rows, WindowOutput& out);
  /// Notes that a source ended: it no longer holds the watermark back.
  void end_source(std::uint32_t source_index, WindowOutput& out);
  /// Emits every remaining window (end of input).
  void finish(WindowOutput& out);

  const WindowCounters& counters() const { return counters_; }
  /// Counts live (key, pane) or (key, session) states, and their bytes, for reports.
  std::size_t active_states() const;
  std::size_t state_bytes() const;

 private:
  struct Spec;
  struct Result;
  void advance(std::int64_t watermark, WindowOutput& out);
  /// Merges the panes of window [start, end) for one key.
  KeyState window_state(Spec& spec, std::int64_t start, std::int64_t end, const GroupKey& key);
  /// Computes a result's metric and alert values from its state.
  void finalize(Spec& spec, Result& result, KeyState& state);
  std::int64_t pipeline_watermark() const;
  void write_results(std::vector<Result>& results, WindowOutput& out);

  const StringDictionary& strings_;
  WatermarkConfig watermark_config_;
  std::vector<PlanField> key_fields_;
  std::vector<PlanField> measure_fields_;
  std::optional<PlanField> time_field_;
  std::vector<std::unique_ptr<Spec>> specs_;
  std::vector<AlertCondition> alert_conditions_;
  /// Per source: the largest event time seen, whether it has ended, when it last had events.
  std::vector<std::int64_t> source_max_;
  std::vector<bool> source_seen_;
  std::vector<bool> source_ended_;
  std::vector<std::int64_t> source_last_wall_;
  std::int64_t watermark_;
  WindowCounters counters_;
};

}  // namespace ldh
