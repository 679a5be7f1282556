#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/group_key_table.h"
#include "pipeline/string_dictionary.h"
#include "pipeline/value_sort.h"
#include "pipeline/window.h"
#include "pipeline/window_partial.h"
#include "pipeline/window_spec.h"
#include "pipeline/window_state.h"

namespace ldh {

/// A row that was too late for a window, queued for the late sink: its text is
/// late_text()[begin, end).
struct LateRow {
  std::size_t row = 0;
  std::size_t spec = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// A result a watermark step will write: its window start, the order prefix of its key, and
/// where its state is (a key id and its record in a one-pane window, or a listed session).
struct ListedResult {
  std::int64_t start = 0;
  std::uint64_t key_prefix = 0;
  std::uint32_t id = 0;
  std::uint32_t record = 0;
};

/// The results of one window with one end, which a watermark step writes together: steps write
/// groups by end, then by window.
struct DueGroup {
  static constexpr std::size_t kNoSpec = std::numeric_limits<std::size_t>::max();
  std::int64_t end = std::numeric_limits<std::int64_t>::max();
  std::size_t spec = kNoSpec;  // kNoSpec: no group
  friend bool operator<(const DueGroup& a, const DueGroup& b) {
    return a.end != b.end ? a.end < b.end : a.spec < b.spec;
  }
};

/// The window state of the keys one shard owns (by key hash): the panes of tumbling and sliding
/// windows, the sessions, and the results they make. The shards of an engine share its compiled
/// windows and run in parallel on disjoint keys; the engine tells them each row's watermark and
/// when windows are due, and merges their output in the one order results are written in, so
/// the output does not depend on the number of shards.
class WindowShard {
 public:
  /// `shapes` holds the WindowRows key columns of each key shape; the shard is `index` of
  /// `count`. `alerts_follow_results`: see ResultWriter.
  WindowShard(const WindowSpecs& specs, const std::vector<std::vector<std::size_t>>& shapes,
              std::size_t index, std::size_t count, const WatermarkConfig& watermark,
              const StringDictionary& strings, bool alerts_follow_results);
  ~WindowShard();
  WindowShard(const WindowShard&) = delete;
  WindowShard& operator=(const WindowShard&) = delete;

  /// Tells whether a key with hash `hash` belongs to shard `index` of `count`.
  static bool owns(std::uint64_t hash, std::size_t index, std::size_t count) {
    return ((hash >> 32) * count >> 32) == index;
  }

  /// Adds rows [begin, end) whose keys the shard owns (the rows carry their key hashes, per key
  /// shape); `watermarks[row - begin]` is the pipeline watermark before each row. Queues results
  /// revised by late rows and late rows, each marked with its row (not in row order: the
  /// windows take the rows one after the other).
  void add(const WindowRows& rows, std::size_t begin, std::size_t end,
           const std::int64_t* watermarks);
  /// Says whether add() leaves the rows of window `spec` that are on time (tumbling and
  /// sliding: their earliest window is not due; sessions: their own [t, t + gap) ends after
  /// the watermark) to add_partials(): the engine folds them (window_partial.h).
  void set_folding(std::size_t spec, bool folding) { folding_[spec] = folding; }
  bool folding(std::size_t spec) const { return folding_[spec]; }
  /// Adds the partials folded from `fold` (rows on time for window `spec`) whose keys the shard
  /// owns. Rows on time touch only panes whose windows are not yet due, or sessions that end
  /// after the watermark, so this commutes with add() of rows late for panes; the engine
  /// merges folded session rows before a late row of that window comes.
  void add_partials(std::size_t spec, const FoldRows& fold, const PanePartials& partials);
  /// Sorts the values of exact percentiles of the tumbling and sliding windows each
  /// write_listed() makes (a slice of up to 4096 results) in one call of `sorter` instead of one
  /// sort per result; results are the same.
  void sort_values_with(std::unique_ptr<ValueSorter> sorter) { sorter_ = std::move(sorter); }
  /// Starts a watermark step: the windows and sessions whose end `watermark` passes are due.
  /// A step writes its results group by group (next_group(), list_group(), write_listed()),
  /// so it never holds more than one group's list and one slice's results at once.
  void begin_step(std::int64_t watermark);
  /// Returns the earliest (end, window) with results due in this step, by end then window;
  /// its spec is DueGroup::kNoSpec when none is left.
  DueGroup next_group() const;
  /// Lists the shard's results of `group` in write order (by start, then key) without making
  /// them, and moves past the group; returns how many (0 when the shard has none in it). A
  /// session window's group takes in its sessions ending up to `last_end` as well, by end
  /// first: the engine passes an end before any other window's next group, so the order is the
  /// one group by group would give, with one listing instead of one per end.
  std::size_t list_group(DueGroup group, std::int64_t last_end);
  /// Returns the earliest end of a window other than `spec` with results not yet written (or
  /// an early bound on it); the maximum when none.
  std::int64_t next_end_besides(std::size_t spec) const;
  /// Tells whether listed result `i` is written before listed result `j` of `other`.
  bool listed_before(std::size_t i, const WindowShard& other, std::size_t j) const;
  /// Makes listed results [first, last) and formats them into `results` and `alerts` (the
  /// shard's own texts unless given; text_ends() says where each ends).
  void write_listed(std::size_t first, std::size_t last, std::string* results = nullptr,
                    std::string* alerts = nullptr);
  /// Ends the step: drops panes, revision counters and sessions no window can use any more.
  void end_step();
  /// Returns the earliest watermark at which a step has anything to do.
  std::int64_t next_due() const;
  /// Returns the earliest event time a window not yet emitted by `watermark` may hold; with
  /// `sessions_reopen[spec]` set, every session kept for lateness counts (rows waiting to be
  /// folded may reopen one).
  std::int64_t pending_from(std::int64_t watermark,
                            const std::vector<bool>* sessions_reopen = nullptr) const;

  /// Queued results: the revisions of add() (each with its row), or those of write_listed().
  const std::vector<WindowResult>& results() const { return results_; }
  /// Returns a queued result's metric then alert values.
  const std::optional<double>* values(const WindowResult& result) const {
    return result_values_.data() + result.values;
  }
  /// After write_listed(): the results' rows and alerts, and where the text of each result
  /// ends.
  const std::string& result_text() const { return result_text_; }
  const std::string& alert_text() const { return alert_text_; }
  const std::vector<std::pair<std::size_t, std::size_t>>& text_ends() const { return text_ends_; }
  const std::vector<LateRow>& late_rows() const { return late_rows_; }
  const std::string& late_text() const { return late_text_; }
  /// Returns what the shard counted since the last call (late rows, revisions, written rows).
  WindowCounters take_counters();
  /// Forgets the queued output.
  void clear_output();

  std::size_t active_states() const { return active_states_; }
  std::size_t state_bytes() const;

 private:
  struct Shape;
  struct Pane;
  struct Session;
  struct SpecState;

  bool owns_row(const Shape& shape, std::size_t row) const;
  /// Returns the end of the earliest results `state` has not written, if any: a pane window's
  /// next end, or a session window's first listed end (an early bound on a session's end). A
  /// session's end may be INT64_MAX (saturated), so none is nullopt rather than the maximum.
  static std::optional<std::int64_t> first_unwritten_end(const SpecState& state);
  GroupKey row_key(const WindowSpec& spec, const WindowRows& rows, std::size_t row) const;
  /// Returns the id of the key of `row` in `shape`, interning it on first use within the row.
  std::uint32_t row_id(Shape& shape, const WindowRows& rows, std::size_t row);
  /// Adds the rows to visit one window after the other (no window folds).
  void add_window_by_window(const WindowRows& rows, std::size_t begin,
                            const std::int64_t* watermarks, bool listed_owned);
  /// Adds the rows to visit one after the other, each to every window.
  void add_row_by_row(const WindowRows& rows, std::size_t begin, const std::int64_t* watermarks,
                      bool listed_owned);
  /// Interns the keys of the rows to visit that the shard owns, each held until its row is
  /// added.
  void intern_ahead(Shape& shape, const WindowRows& rows);
  /// Returns the record of key `id` in `pane`, making an empty one.
  std::byte* record_of(const WindowSpec& spec, SpecState& state, Pane& pane, std::uint32_t id);
  void add_to_panes(const WindowSpec& spec, SpecState& state, const WindowRows& rows,
                    std::size_t row);
  void add_to_pane(const WindowSpec& spec, SpecState& state, Pane& pane, const WindowRows& rows,
                   std::size_t row);
  /// Adds `row` to `record`, the state of its key in `pane`.
  LDH_FORCE_INLINE void add_to_record(const WindowSpec& spec, SpecState& state, Pane& pane,
                                      std::byte* record, const WindowRows& rows, std::size_t row);
  /// Adds `row` to `record` of a counts_only() layout, whose `kWidth` measures (any number
  /// when 0) go to one row of `values`; `kComplete`: no measure of the rows is null.
  template <std::size_t kWidth, bool kComplete>
  static void add_row(ValueChunks& values, std::byte* record, const SpecState& state,
                      std::size_t row);
  void add_to_sessions(const WindowSpec& spec, SpecState& state, const WindowRows& rows,
                       std::size_t row);
  /// Returns the session of `sessions` that [start, end) makes, merging the sessions it
  /// touches; nullptr (and nothing merged) when that session is past the allowed lateness.
  Session* session_for(const WindowSpec& spec, std::vector<Session>& sessions, std::int64_t start,
                       std::int64_t end);
  /// Moves the first entries of `state.session_due` whose sessions grew to their new ends, and
  /// drops those of sessions merged away or emitted, until the first is a pending session's end
  /// or lies more than half a gap past the watermark (such an entry is early, never late).
  void refresh_due_sessions(const WindowSpec& spec, SpecState& state);
  /// Refreshes the due sessions of every session window; whatever changes sessions (add(),
  /// add_partials(), list_sessions(), end_step()) ends with it, so next_due() and
  /// next_group() read a pending session's end.
  void refresh_sessions();
  /// Returns the sessions of key `id` (empty when it has none; a key with sessions holds a
  /// reference to its id, which the caller takes when it adds the first).
  std::vector<Session>& sessions_of(SpecState& state, std::uint32_t id);
  /// Emits a session of key `id` that grew after its end passed the watermark, else marks it
  /// due.
  void settle_session(const WindowSpec& spec, SpecState& state, Session& session, std::uint32_t id);
  void add_session_partials(const WindowSpec& spec, SpecState& state, const FoldRows& fold,
                            const PanePartials& partials);
  /// Adds partial `chunk` of `partials` (its events and every measure) to `record`, whose base
  /// is the chunk's pane start (or first time, for sessions).
  static void add_chunk(const StateLayout& layout, std::byte* record, const FoldRows& fold,
                        const PanePartials& partials, std::size_t chunk, std::size_t& next_run);
  /// Returns the sketch runs of `slot`, taking them from `next_run` on (runs come by slot).
  static std::span<const SketchRun> sketch_runs_of(const PanePartials& partials, std::size_t slot,
                                                   std::size_t& next_run);
  Pane& pane_at(const WindowSpec& spec, SpecState& state, std::int64_t start);
  void release_pane(const WindowSpec& spec, SpecState& state, std::int64_t start);
  void late_row(const WindowSpec& spec, const WindowRows& rows, std::size_t row);
  /// Lists the keys of the window of `spec` ending at `end` (tumbling or sliding).
  void list_window(const WindowSpec& spec, SpecState& state, std::int64_t end);
  /// Lists the pending sessions of `spec` ending in [first_end, last_end], marking them emitted.
  void list_sessions(const WindowSpec& spec, SpecState& state, std::int64_t first_end,
                     std::int64_t last_end);
  GroupKey listed_key(const ListedResult& listed) const;
  /// Tells whether listed result `a` of `a_shard` is written before `b` of `b_shard` (the
  /// same group).
  static bool in_write_order(const ListedResult& a, const WindowShard& a_shard,
                             const ListedResult& b, const WindowShard& b_shard);
  void emit_key(const WindowSpec& spec, SpecState& state, std::int64_t start, std::int64_t end,
                std::uint32_t id, std::uint32_t revision);
  void emit_parts(const WindowSpec& spec, SpecState& state, std::int64_t start, std::int64_t end,
                  std::uint32_t id, std::uint32_t revision);
  void emit_session(const WindowSpec& spec, Session& session, const GroupKey& key);
  void finalize(const WindowSpec& spec, const std::byte* state, WindowResult& result);

  const WindowSpecs& specs_;
  std::size_t index_;
  std::size_t count_;
  WatermarkConfig watermark_config_;
  const StringDictionary& strings_;
  std::vector<std::unique_ptr<Shape>> shapes_;
  std::vector<std::unique_ptr<SpecState>> states_;
  /// The watermark before the row being added (or the one being advanced to), and that row.
  std::int64_t watermark_;
  std::size_t row_ = 0;
  std::size_t position_ = 0;          // of row_ in visit_
  std::vector<std::uint32_t> visit_;  // the rows add() visits
  WindowCounters counters_;
  std::size_t active_states_ = 0;
  std::vector<bool> folding_;  // per window: see set_folding()
  /// A percentile value left for the bulk sort: its slot in result_values_, its group.
  struct DeferredPercentile {
    std::size_t slot;
    std::uint32_t group;
    const MetricConfig* metric;
  };
  std::unique_ptr<ValueSorter> sorter_;
  bool deferring_ = false;  // write_listed() is making results whose percentiles wait for sorter_
  std::vector<double> deferred_values_;
  std::vector<std::uint32_t> deferred_offsets_{0};
  std::vector<DeferredPercentile> deferred_;
  std::vector<std::uint32_t> measure_groups_;  // the group of each measure of the result emitted
  std::vector<DerivedMeasure> derived_;        // per measure of the result being finalised

  // The group being written: its window, end and start (tumbling and sliding), its results
  // in write order, and the sessions they are.
  DueGroup group_;
  std::int64_t group_start_ = 0;
  std::vector<ListedResult> listed_;
  std::vector<std::pair<Session*, std::uint32_t>> listed_sessions_;  // and their key ids

  // Queued output and reused scratch space.
  std::vector<WindowResult> results_;
  std::vector<std::optional<double>> result_values_;
  std::string result_text_;
  std::string alert_text_;
  std::vector<std::pair<std::size_t, std::size_t>> text_ends_;
  std::vector<LateRow> late_rows_;
  std::string late_text_;
  ResultWriter writer_;
  std::vector<std::pair<const Pane*, const std::byte*>> parts_;
  std::vector<std::vector<double>> window_values_;  // per measure, gathered from the parts
  std::vector<std::vector<double>> sorted_values_;
  std::vector<std::vector<double>> fold_values_;  // per measure, of a folded chunk
};

}  // namespace ldh
