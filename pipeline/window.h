#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/batch.h"
#include "pipeline/config.h"
#include "pipeline/operator.h"
#include "pipeline/plan.h"
#include "pipeline/string_dictionary.h"

namespace ldh {

class PaneAggregator;
class ValueSorter;
class ResultWriter;
class TaskPool;
struct FoldRows;
struct PanePartials;
class WindowShard;
struct WindowSpec;

/// The rows windows need from one batch, copied out of it by a worker: event times, group-by
/// words and measure values of the live rows, in arrival order.
struct WindowRows {
  std::uint32_t source_index = 0;
  /// A part of the source with its own event-time order and watermark (a Kafka partition + 1);
  /// 0: the source as a whole.
  std::uint32_t stream = 0;
  std::vector<std::int64_t> times;
  /// One column per field in WindowEngine::key_fields(): canonical words (group_word) and
  /// validity.
  std::vector<std::vector<std::uint64_t>> keys;
  std::vector<std::vector<std::uint8_t>> key_valid;
  /// One column per field in WindowEngine::measure_fields(); null values are 0 with
  /// measure_valid 0.
  std::vector<std::vector<double>> measures;
  std::vector<std::vector<std::uint8_t>> measure_valid;
  /// Per measure column, 1 when no row of it is null (extract() sets it; absent: may be).
  std::vector<std::uint8_t> measure_complete;
  /// One column per key shape of the engine (each distinct group-by list of its windows): the
  /// hash of each row's key, so workers do the hashing. add() hashes the rows itself when they
  /// lack a column.
  std::vector<std::vector<std::uint64_t>> key_hashes;

  std::size_t size() const { return times.size(); }
};

/// Counts what the windows did with the events they were given.
struct WindowCounters {
  std::uint64_t events = 0;
  std::uint64_t late_revised = 0;  // late events that updated windows already emitted
  std::uint64_t late_dropped = 0;  // events past the allowed lateness, sent to the late sink
  std::uint64_t results = 0;       // result rows emitted (revisions included)
  std::uint64_t steps = 0;         // watermark steps: times the shards were asked for results
  std::uint64_t alerts = 0;
  // Folding (WindowEngine::fold_with): rows folded, the partials they made, and the folds.
  std::uint64_t folded_rows = 0;
  std::uint64_t partials = 0;
  std::uint64_t folds = 0;
};

/// Text the engine produced for one call, in output order.
struct WindowOutput {
  std::string results;
  std::string late;
  std::string alerts;
  /// Called, when set, whenever the results pass `drain_bytes` while a watermark step writes
  /// them, to take the texts so far (the engine clears them after): one step that emits
  /// millions of results then never holds their text at once.
  std::function<void(const WindowOutput&)> drain;
  std::size_t drain_bytes = std::size_t{8} << 20;
};

/// Runs every configured window over events in arrival order: assigns events to windows,
/// tracks per-source watermarks, emits each window once the watermark passes its end (and again,
/// with a revision number, for late events within the allowed lateness), and evaluates alerts
/// on the results. Results within one watermark step are ordered by (end, window, start, key),
/// so the output depends only on the events and their arrival order, never on batching or the
/// number of partitions. The engine keeps the watermark and cuts the rows into runs within
/// which no window can become due; its shards add each run and emit due windows in parallel.
class WindowEngine {
 public:
  /// Compiles the windows of `config` against the plan's output fields; throws ConfigError.
  /// Keys are partitioned by hash over `partitions` shards that add rows and emit windows in
  /// parallel (the caller's thread runs one); the output is the same for any number.
  WindowEngine(const Config& config, const Plan& plan, const StringDictionary& strings,
               std::size_t source_count, std::size_t partitions = 1);
  ~WindowEngine();

  /// The fields a worker must copy into WindowRows, in column order.
  const std::vector<PlanField>& key_fields() const { return key_fields_; }
  const std::vector<PlanField>& measure_fields() const { return measure_fields_; }
  /// The field event time comes from, or nullptr when windows run on processing time.
  const PlanField* time_field() const { return time_field_ ? &*time_field_ : nullptr; }

  /// Copies the live rows of `batch` into `rows` (called by workers, in parallel).
  void extract(const EventBatch& batch, WindowRows& rows) const;
  /// Returns rows to extract() into: the columns of a batch the shards are done with when one
  /// is spare (any thread), so a worker neither allocates nor zeroes them per batch.
  WindowRows spare_rows() const;
  /// Hashes the keys of `rows` for every key shape, as extract() does, so add() need not.
  void hash_keys(WindowRows& rows) const;

  /// Folds the rows of tumbling and sliding windows that arrive on time with `aggregator` (the
  /// host's, or a device's) into partials that the shards merge, instead of adding them one by
  /// one; the output is the same. Call before adding rows.
  void fold_with(std::unique_ptr<PaneAggregator> aggregator);
  /// Names where rows are folded ("" without fold_with()).
  std::string fold_place() const;

  /// Gives each shard a sorter from `make` for the values of exact percentiles of each slice of
  /// a watermark step's results, sorted in bulk (on a device, say) instead of per result; the
  /// output is the same.
  void sort_values_with(const std::function<std::unique_ptr<ValueSorter>()>& make);

  /// Consumes rows in arrival order and appends what became due to `out`. The shards may still
  /// be adding the rows when it returns (they are kept until then): results come when a
  /// watermark step makes them due, and results revised by late rows before add() returns.
  void add(WindowRows&& rows, WindowOutput& out);
  /// Adds a copy of `rows`.
  void add(const WindowRows& rows, WindowOutput& out);
  /// Notes that a source ended: it no longer holds the watermark back.
  void end_source(std::uint32_t source_index, WindowOutput& out);
  /// Notes that a stream of a source began (a Kafka partition assigned): from now on it holds
  /// the watermark back until it sends rows, ends, or idles past idleTimeout.
  void start_stream(std::uint32_t source_index, std::uint32_t stream) {
    slot(source_index, stream);
  }
  /// Notes that one stream of a source ended (a Kafka partition given to another consumer): it
  /// no longer holds the watermark back, and a later row of it starts it again.
  void end_stream(std::uint32_t source_index, std::uint32_t stream, WindowOutput& out);
  /// Emits every remaining window (end of input).
  void finish(WindowOutput& out);
  /// Re-reads the clock for idle sources and emits what became due; live pipelines call it
  /// while no rows arrive, so a quiet feed still closes its windows.
  void poll(WindowOutput& out);
  /// Returns the earliest event time that windows not yet emitted may still hold (kNone-like
  /// INT64_MAX when none), or an earlier time: every added event before it is in results
  /// already, so a source may commit past it. Without folding it waits for the shards only on
  /// its first call after a watermark step: it takes what they held then (every session kept
  /// for lateness counted, as a later row may reopen it), lowered by the rows added since (the
  /// start of each row's earliest pane, or its own time for sessions).
  std::int64_t pending_from() const;
  /// Returns the earliest event time that windows not yet emitted may still hold, exactly:
  /// waits for the shards and walks the pending sessions.
  std::int64_t exact_pending_from() const;

  const WindowCounters& counters() const { return counters_; }
  /// Counts live (key, pane) or (key, session) states, and the bytes the engine holds for them
  /// (key tables and value chunks included; waits for the shards and walks every state).
  std::size_t active_states() const;
  std::size_t state_bytes() const;
  /// Returns the most states held at once, as seen before each watermark step and now (rows
  /// only add states between steps, though sessions that merge hold fewer: a peak of those
  /// between two steps can go unseen).
  std::size_t states_peak() const { return std::max(states_peak_, active_states()); }

 private:
  /// Returns a lower bound on every watermark at which a row with event time t can make
  /// something due: the end of its earliest window, or its session's earliest end. Inline for
  /// the common case, a time in the panes of the row before.
  std::int64_t due_bound(std::int64_t t) {
    const std::int64_t panes =
        static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(due_from_) < due_span_
            ? due_same_
            : panes_due_bound(t);
    constexpr std::int64_t kNoGap = std::numeric_limits<std::int64_t>::max();
    if (shortest_gap_ == kNoGap) return panes;
    // Sessions: the earliest end of a session the row opens or extends, t + the shortest gap.
    std::int64_t session_end = 0;
    if (__builtin_add_overflow(t, shortest_gap_, &session_end)) session_end = kNoGap;
    return std::min(panes, session_end);
  }
  /// Returns the tumbling and sliding windows' part of due_bound(t), and caches the times that
  /// share it (those in t's pane of every such window).
  std::int64_t panes_due_bound(std::int64_t t);
  /// Waits for the shards and returns the earliest pending_from() of theirs.
  std::int64_t shards_pending_from(const std::vector<bool>& sessions_reopen) const;
  /// Writes every result `watermark` makes due, group by group (window end, then window), a
  /// slice of at most kSliceResults results at a time.
  void advance(std::int64_t watermark, WindowOutput& out);
  /// Hands `out` to its drain once its results pass drain_bytes.
  void drain_if_full(WindowOutput& out);
  /// Writes the results revised by late rows and the late rows the shards queued, in row order.
  void write_row_output(WindowOutput& out);
  void collect_counters();

  // Folding (fold_with()): rows on time wait in pending_ until a watermark step (or a late
  // session row of their window, or kPendingFoldRows rows) folds them, so a fold sees many
  // rows per key. Their windows bound due_, so none is emitted before they are merged.
  struct PendingFold;
  static constexpr std::size_t kPendingFoldRows = std::size_t{1} << 20;
  /// Decides per session window whether the run's on-time rows fold (no late row in the run)
  /// or are added one by one (folding what is pending first).
  void prepare_folds(std::size_t begin, std::size_t end, const WindowRows& rows);
  /// Queues the rows of [begin, end) that the shards left to the fold.
  void collect_on_time(const WindowRows& rows, std::size_t begin, std::size_t end);
  /// Queues rows selected_[first, last) of window `spec`.
  void append_rows(const WindowSpec& spec, const WindowRows& rows, std::size_t first,
                   std::size_t last);
  /// Folds the pending rows of window `spec` and has the shards merge the partials.
  void fold_pending(std::size_t spec);
  /// Returns the earliest end of a window (or session) of a pending row.
  std::int64_t pending_fold_due() const;
  std::int64_t pipeline_watermark() const;

  const StringDictionary& strings_;
  WatermarkConfig watermark_config_;
  std::vector<PlanField> key_fields_;
  std::vector<PlanField> measure_fields_;
  std::optional<PlanField> time_field_;
  std::vector<std::unique_ptr<WindowSpec>> specs_;
  /// The WindowRows key columns of each key shape (distinct group-by list).
  std::vector<std::vector<std::size_t>> shapes_;
  std::vector<std::unique_ptr<WindowShard>> shards_;
  // Columns of batches the shards are done with, for spare_rows() and add()'s watermarks; kept
  // apart from the pool's tasks, which give theirs back as they end. At most one per shard and
  // two in hand-off: spares hold on to the largest batches' memory.
  std::size_t spare_limit() const { return shards_.size() + 2; }
  mutable std::mutex spare_mutex_;
  mutable std::vector<WindowRows> spare_rows_;
  std::vector<std::vector<std::int64_t>> spare_watermarks_;
  std::unique_ptr<TaskPool> pool_;
  /// Per source: the largest event time seen, whether it has ended, when it last had events.
  /// Returns the watermark slot of (source, stream), making it on first use. A source's first
  /// stream of its own retires its stream-0 slot, which would otherwise never see a row.
  std::size_t slot(std::uint32_t source_index, std::uint32_t stream);

  // One watermark slot per (source, stream): slot i < source count is source i as a whole.
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::size_t> stream_slots_;
  std::vector<std::int64_t> source_max_;
  std::vector<bool> source_seen_;
  std::vector<bool> source_ended_;
  std::vector<std::int64_t> source_last_wall_;
  std::int64_t watermark_;
  // pending_from() without folding: what the shards held when it last asked them (the first
  // call after each step), and the earliest pane start (or session time) of the rows added
  // since.
  mutable bool pending_stale_ = true;
  mutable std::int64_t held_pending_from_;
  mutable std::int64_t added_pending_from_;
  /// A watermark below this makes nothing due (see WindowShard::next_due()).
  std::int64_t due_;
  WindowCounters counters_;

  // During add(): the watermark before each row (of the QueuedRows being added). Kept across
  // calls: the last due bound, and the order row output is written in.
  struct QueuedRows;
  const std::int64_t* row_watermarks_ = nullptr;
  // Where the tumbling and sliding windows' part of due_bound() is the same for every window's
  // pane: times in [due_from_, due_from_ + due_span_) have due_same_. Session windows add
  // t + their shortest gap.
  std::int64_t due_from_ = 0;
  std::uint64_t due_span_ = 0;
  std::int64_t due_same_ = 0;
  std::int64_t shortest_gap_ = std::numeric_limits<std::int64_t>::max();
  std::vector<std::pair<std::size_t, std::size_t>> row_order_;
  // Reused per watermark step: each shard's count of listed results, their merged order
  // (shard, listed index), and where each shard's part of a slice begins and ends.
  static constexpr std::size_t kSliceResults = 4096;
  std::vector<std::size_t> listed_counts_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> merged_;
  std::vector<std::uint32_t> slice_firsts_;
  std::vector<std::uint32_t> slice_lasts_;
  std::unique_ptr<ResultWriter> writer_;
  std::unique_ptr<PaneAggregator> aggregator_;
  std::unique_ptr<FoldRows> fold_rows_;
  std::unique_ptr<PanePartials> partials_;
  std::vector<std::unique_ptr<PendingFold>> pending_;  // per window
  std::size_t pending_rows_ = 0;
  std::vector<std::uint32_t> selected_;  // rows of a run collect_on_time() takes
  std::size_t states_peak_ = 0;
};

}  // namespace ldh
