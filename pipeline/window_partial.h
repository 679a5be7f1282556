#pragma once

// Folding the rows of a tumbling or sliding window by (key, pane) before they reach its state:
// the rows that are on time are sorted by pane and key hash, cut into chunks of at most
// kPartialRows rows that share one key and one pane, and each chunk is folded into a partial
// (counts, exact partial sums, extremes, first/last, trend sums) that the window state merges.
// Partials merge exactly, so a key split over several chunks (a long run of rows, a hash
// collision that interleaves two keys) ends with the same bits as rows added one by one. The
// sort key and the fold are LDH_HOST_DEVICE: the host aggregator here and the CUDA one
// (kernels/window_aggregate.h) run the same code and make the same partials.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/ddsketch.h"
#include "pipeline/exact_sum.h"
#include "pipeline/group_key.h"
#include "pipeline/host_device.h"
#include "pipeline/moments.h"
#include "pipeline/percentile.h"
#include "pipeline/window_assign.h"

namespace ldh {

/// Rows one partial folds at most: bounds a kernel thread's work whatever the key skew.
inline constexpr std::uint32_t kPartialRows = 256;

/// What a fold computes per measure: a window's MeasureNeeds less the values its owner keeps
/// for exact percentiles. Trivially copyable for kernels.
struct FoldNeeds {
  bool sum = false;
  bool squares = false;
  bool min_max = false;
  bool trend = false;
  bool first_last = false;
  bool sketch = false;  // histograms of sketch_code() per partial and measure
  DDSketchMapping mapping{};
  bool values = false;  // hand back the measures in sorted order (exact percentiles keep them)
};

/// `count` values of one partial's measure with sketch_code() `code`; `slot` is partial *
/// measures + measure. kNoSketchCode counts the measure's nulls.
struct SketchRun {
  std::uint64_t code;
  std::uint32_t slot;
  std::uint32_t count;
};
inline constexpr std::uint64_t kNoSketchCode = ~std::uint64_t{0};

/// The rows of one window to fold, gathered from WindowRows: column-major arrays of `rows`
/// entries (keys and values one column after another). Host or device pointers.
struct FoldColumns {
  std::uint32_t rows = 0;
  std::uint32_t key_fields = 0;
  std::uint32_t measures = 0;
  const std::int64_t* times = nullptr;  // event time, ns
  const std::uint64_t* hashes = nullptr;
  const std::uint64_t* keys = nullptr;  // group words, key_fields x rows
  const std::uint8_t* key_valid = nullptr;
  const double* values = nullptr;  // measures x rows; 0 where null
  const std::uint8_t* valid = nullptr;
};

/// How rows sort and group. Tumbling and sliding windows: panes of `pane` ns from `first_pane`
/// (the earliest pane of the rows) take the high `pane_bits` bits of a row's sort key, the key
/// hash the rest. Session windows (`gap` > 0): rows sort by key hash, then time, and a gap
/// longer than `gap` between two rows of a key starts a new group (the rows of a group make
/// one session on their own).
struct FoldPlan {
  std::int64_t pane = 1;
  std::int64_t first_pane = 0;
  int pane_bits = 0;
  std::int64_t gap = 0;
};

/// Rows order[first, first + count) share one key and the pane starting at pane_start.
struct PanePartial {
  std::int64_t pane_start = 0;
  std::uint32_t first = 0;
  std::uint32_t count = 0;
};

/// The fold of one measure over one partial's rows; times are relative to the pane start.
struct MeasurePartial {
  std::uint64_t count;  // non-null values
  exact::PartialSum sum;
  exact::PartialSum squares;
  exact::PartialSum time_products;
  std::uint64_t times[2];         // sum(t), 128-bit two's complement
  std::uint64_t time_squares[3];  // sum(t^2), 192 bits
  std::uint64_t min_key;          // sort_key() of the smallest and largest values
  std::uint64_t max_key;
  std::int64_t first_time;  // earliest time, ties to the smallest value
  std::uint64_t first_key;
  std::int64_t last_time;  // latest time, ties to the largest value
  std::uint64_t last_key;
};

/// Returns the bits a pane ordinal up to `last_ordinal` needs (0 for a single pane).
LDH_HOST_DEVICE inline int ordinal_bits(std::uint64_t last_ordinal) {
  return last_ordinal == 0 ? 0 : 64 - exact::leading_zeros(last_ordinal);
}

/// Returns the sort key of a row: its pane ordinal above the top bits of its key hash.
LDH_HOST_DEVICE inline std::uint64_t fold_sort_key(std::int64_t time, std::uint64_t hash,
                                                   const FoldPlan& plan) {
  const auto ordinal = static_cast<std::uint64_t>(align_down(time, plan.pane) - plan.first_pane) /
                       static_cast<std::uint64_t>(plan.pane);
  if (plan.pane_bits >= 64) return ordinal;
  if (plan.pane_bits == 0) return hash;
  return (ordinal << (64 - plan.pane_bits)) | (hash >> plan.pane_bits);
}

/// Returns the key that sorts times as unsigned integers do (the sign bit flipped): the first
/// of the two sorts of session rows, whose second sorts by hash.
LDH_HOST_DEVICE inline std::uint64_t time_sort_key(std::int64_t time) {
  return static_cast<std::uint64_t>(time) ^ (std::uint64_t{1} << 63);
}

/// Returns the time a partial's times count from: its pane's start, or for sessions its first
/// (earliest) row's time.
LDH_HOST_DEVICE inline std::int64_t partial_base(std::int64_t first_time, const FoldPlan& plan) {
  return plan.gap > 0 ? first_time : align_down(first_time, plan.pane);
}

/// Tells whether the row at sorted `position` has another key or pane than the one before it
/// (sessions: another key, or a time more than the gap after it): equal sort keys may still
/// hold two keys whose hashes share their top bits.
LDH_HOST_DEVICE inline bool starts_group(const FoldColumns& columns, const std::uint64_t* sort_keys,
                                         const std::uint32_t* order, std::uint32_t position,
                                         const FoldPlan& plan) {
  if (position == 0 || sort_keys[position] != sort_keys[position - 1]) return true;
  const std::uint32_t row = order[position];
  const std::uint32_t previous = order[position - 1];
  // Unsigned: rows of two keys need not come in time order, and then any answer will do.
  if (plan.gap > 0 && static_cast<std::uint64_t>(columns.times[row]) -
                              static_cast<std::uint64_t>(columns.times[previous]) >
                          static_cast<std::uint64_t>(plan.gap)) {
    return true;
  }
  for (std::uint32_t k = 0; k < columns.key_fields; ++k) {
    const std::size_t base = static_cast<std::size_t>(k) * columns.rows;
    if (columns.key_valid[base + row] != columns.key_valid[base + previous]) return true;
    if (columns.key_valid[base + row] != 0 &&
        columns.keys[base + row] != columns.keys[base + previous])
      return true;
  }
  return false;
}

/// Tells whether sorted `position` starts a partial: a new group, or every kPartialRows rows
/// into one (`group_start` is where its group starts).
LDH_HOST_DEVICE inline bool starts_partial(bool group_start_here, std::uint32_t position,
                                           std::uint32_t group_start) {
  return group_start_here || (position - group_start) % kPartialRows == 0;
}

/// Folds measure `measure` of the rows of `partial` into `out`, exactly as adding the rows one
/// by one to a window state would (two passes when sums are needed: one to place them).
/// `sorted` holds the times and measures of the rows in sorted order (gather_sorted), so each
/// fold reads one contiguous range.
LDH_HOST_DEVICE inline void fold_measure(const FoldColumns& sorted, const PanePartial& partial,
                                         std::uint32_t measure, FoldNeeds needs,
                                         MeasurePartial& out) {
  out.count = 0;
  out.sum.clear();
  out.squares.clear();
  out.time_products.clear();
  out.times[0] = out.times[1] = 0;
  out.time_squares[0] = out.time_squares[1] = out.time_squares[2] = 0;
  out.min_key = ~std::uint64_t{0};
  out.max_key = 0;
  out.first_time = INT64_MAX;
  out.first_key = 0;
  out.last_time = INT64_MIN;
  out.last_key = 0;
  const double* values = sorted.values + static_cast<std::size_t>(measure) * sorted.rows;
  const std::uint8_t* valid = sorted.valid + static_cast<std::size_t>(measure) * sorted.rows;
  const std::uint32_t end = partial.first + partial.count;
  if (needs.sum || needs.trend) {
    for (std::uint32_t p = partial.first; p < end; ++p) {
      const double x = values[p];
      if (valid[p] == 0 || !exact::is_finite(x)) continue;
      if (needs.sum) out.sum.bound(exact::term_of(x));
      if (needs.squares) out.squares.bound(exact::product_term(x, x));
      if (needs.trend) {
        out.time_products.bound(
            exact::scaled_integer_term(x, sorted.times[p] - partial.pane_start));
      }
    }
    out.sum.place();
    out.squares.place();
    out.time_products.place();
  }
  for (std::uint32_t p = partial.first; p < end; ++p) {
    if (valid[p] == 0) continue;
    const double x = values[p];
    const std::int64_t offset = sorted.times[p] - partial.pane_start;
    ++out.count;
    const bool finite = exact::is_finite(x);
    if (needs.sum) {
      if (finite) {
        out.sum.add(exact::term_of(x));
      } else {
        out.sum.flags |= exact::special_flag(x);
      }
    }
    if (needs.squares) {
      if (finite) {
        out.squares.add(exact::product_term(x, x));
      } else {
        out.squares.flags |= exact::special_flag(x * x);
      }
    }
    if (needs.trend) {
      exact::add_time(out.times, out.time_squares, offset);
      if (finite) {
        out.time_products.add(exact::scaled_integer_term(x, offset));
      } else {
        out.time_products.flags |= exact::special_flag(x * static_cast<double>(offset));
      }
    }
    if (needs.min_max || needs.first_last) {
      const std::uint64_t key = sort_key(x);
      if (key < out.min_key) out.min_key = key;
      if (key > out.max_key) out.max_key = key;
      if (offset < out.first_time || (offset == out.first_time && key < out.first_key)) {
        out.first_time = offset;
        out.first_key = key;
      }
      if (offset > out.last_time || (offset == out.last_time && key > out.last_key)) {
        out.last_time = offset;
        out.last_key = key;
      }
    }
  }
}

/// Copies the times and measures of row order[position] of `columns` to `position` of
/// `sorted` (whose arrays have the same shape and no keys).
LDH_HOST_DEVICE inline void gather_sorted(const FoldColumns& columns, const std::uint32_t* order,
                                          std::uint32_t position, std::int64_t* times,
                                          double* values, std::uint8_t* valid) {
  const std::uint32_t row = order[position];
  times[position] = columns.times[row];
  for (std::uint32_t m = 0; m < columns.measures; ++m) {
    const std::size_t base = static_cast<std::size_t>(m) * columns.rows;
    values[base + position] = columns.values[base + row];
    valid[base + position] = columns.valid[base + row];
  }
}

/// Returns where the sketch code of sorted `position` (of `partial`, measure `measure`) goes in
/// a fold's code array: one group of partial.count codes per (partial, measure), in slot order.
LDH_HOST_DEVICE inline std::size_t code_position(const PanePartial& partial, std::uint32_t measures,
                                                 std::uint32_t measure, std::uint32_t position) {
  return static_cast<std::size_t>(partial.first) * measures +
         static_cast<std::size_t>(measure) * partial.count + (position - partial.first);
}

/// Returns the sketch code of sorted `position` of `measure`: kNoSketchCode for a null.
LDH_HOST_DEVICE inline std::uint64_t value_code(const FoldColumns& sorted, std::uint32_t measure,
                                                std::uint32_t position,
                                                const DDSketchMapping& mapping) {
  const std::size_t at = static_cast<std::size_t>(measure) * sorted.rows + position;
  return sorted.valid[at] != 0 ? sketch_code(mapping, sorted.values[at]) : kNoSketchCode;
}

/// The partials of one fold: chunks in sort order, their measures (partial-major), the
/// gathered row at each sorted position, and with FoldNeeds::sketch the histogram of each
/// (partial, measure) as runs of equal codes, by slot then code.
struct PanePartials {
  std::vector<PanePartial> partials;
  std::vector<MeasurePartial> measures;
  std::vector<std::uint32_t> order;
  std::vector<SketchRun> sketch_runs;
  /// With FoldNeeds::values: the measures (measure-major) and their validity in sorted order.
  std::vector<double> sorted_values;
  std::vector<std::uint8_t> sorted_valid;
};

/// Folds the rows of a window into partials: the host's (make_host_pane_aggregator) or a
/// device's (make_device_pane_aggregator in kernels/window_aggregate.h). Used from one thread.
class PaneAggregator {
 public:
  virtual ~PaneAggregator() = default;
  /// Sorts `columns` by fold_sort_key (sessions: by time_sort_key, then stably by hash), cuts
  /// partials with starts_group and starts_partial,
  /// gathers the rows in sorted order and folds every measure of each partial with
  /// fold_measure.
  void fold(const FoldColumns& columns, const FoldPlan& plan, FoldNeeds needs, PanePartials& out) {
    out.partials.clear();
    out.measures.clear();
    out.sketch_runs.clear();
    out.sorted_values.clear();
    out.sorted_valid.clear();
    out.order.resize(columns.rows);
    if (columns.rows > 0) fold_rows(columns, plan, needs, out);
  }
  /// Names where folds run ("host", "GPU 0 (NVIDIA H200)").
  virtual std::string describe() const = 0;

 protected:
  /// Does fold() for at least one row; `out` is empty but for room in out.order.
  virtual void fold_rows(const FoldColumns& columns, const FoldPlan& plan, FoldNeeds needs,
                         PanePartials& out) = 0;
};

std::unique_ptr<PaneAggregator> make_host_pane_aggregator();

/// The rows a window folds, packed as FoldColumns arrays.
struct FoldRows {
  std::vector<std::int64_t> times;
  std::vector<std::uint64_t> hashes;
  std::vector<std::uint64_t> keys;
  std::vector<std::uint8_t> key_valid;
  std::vector<double> values;
  std::vector<std::uint8_t> valid;
  std::uint32_t key_fields = 0;
  std::uint32_t measures = 0;

  std::size_t size() const { return times.size(); }
  FoldColumns view() const {
    return {static_cast<std::uint32_t>(times.size()),
            key_fields,
            measures,
            times.data(),
            hashes.data(),
            keys.data(),
            key_valid.data(),
            values.data(),
            valid.data()};
  }
  /// Returns the key of row `row`: its words (0 for a null field) and null mask.
  GroupKey key_of(std::size_t row) const {
    GroupKey key;
    for (std::uint32_t k = 0; k < key_fields; ++k) {
      if (key_valid[k * size() + row] != 0) {
        key.words[k] = keys[k * size() + row];
      } else {
        key.nulls |= 1u << k;
      }
    }
    return key;
  }
};

/// Returns the plan for rows with times in [first, last] and panes of `pane` ns.
FoldPlan make_fold_plan(std::int64_t first, std::int64_t last, std::int64_t pane);
/// Returns the plan for the rows of a session window with gap `gap` (> 0).
FoldPlan make_session_fold_plan(std::int64_t gap);

}  // namespace ldh
