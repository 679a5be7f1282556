#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <optional>
#include <span>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/ddsketch.h"
#include "pipeline/host_device.h"
#include "pipeline/moments.h"
#include "pipeline/percentile.h"
#include "pipeline/window_partial.h"

namespace ldh {

/// What one window must keep per measure, derived once from its metric list.
struct MeasureNeeds {
  bool sum = false;      // sum, avg, variance, stddev, trend
  bool squares = false;  // variance, stddev
  bool min_max = false;
  bool values = false;  // exact percentiles
  bool sketch = false;  // approx percentiles
  bool trend = false;
  bool first_last = false;
  double relative_accuracy = 0.01;
  /// Takes sum, squares and min/max from the values kept for exact percentiles when a result is
  /// made, not from state: tumbling and session windows, which keep every value anyway, then
  /// touch one small record per event. The results are the same bits.
  bool derive_from_values = false;
};

/// The moments and extremes of one measure of one result, computed from its kept values.
struct DerivedMeasure {
  Moments moments;
  std::uint64_t min_key = ~std::uint64_t{0};
  std::uint64_t max_key = 0;

  /// Computes them from canonical `values` (`sorted` by sort_key, or in any order); the sum of
  /// squares only when `squares` (variance and stddev need it).
  void compute(std::span<const double> values, bool sorted, bool squares);

 private:
  /// Values of one sign and binade in a row: their signed mantissas and squared mantissas
  /// summed as integers (sorted values come in few such runs).
  struct ExponentRun {
    std::uint32_t biased;
    std::uint32_t values;
    std::int64_t mantissas;
    unsigned __int128 squares;
  };
  /// Adds the values to the sums run by run; false (sums partly made) at a NaN, an infinity or
  /// a subnormal, which the caller adds value by value instead.
  bool sum_runs(std::span<const double> values, bool sorted, bool squares);

  std::vector<ExponentRun> runs_;
};

/// Derives what to keep from a window's metrics (plus min/max when an alert needs them).
MeasureNeeds needs_for(const std::vector<MetricConfig>& metrics, bool alert_min_max,
                       double relative_accuracy);

/// Locates the values one state kept for exact percentiles (of one measure, or rows of all of
/// them); the state only reserves room for it and its owner (a pane's ValueChunks, see
/// window_state.h) fills and reads it.
struct ValueChain {
  std::uint32_t first = 0;
  std::uint32_t last = 0;
};

/// Lays out the accumulators of one window in a flat state record of raw bytes: the event count,
/// then per measure its count and only the parts its metrics need (an exact sum, an exact sum of
/// squares, trend sums, min/max, first/last, a value chain, a DDSketch pointer). A pane keeps
/// thousands of records back to back, so adding an event touches one record and allocates nothing.
/// Adding the same values in any order, or merging records in any order, gives the same metric
/// bits. Times are nanoseconds relative to the record's base (its pane or session start).
class StateLayout {
 public:
  StateLayout(const MeasureNeeds& needs, std::size_t measures);

  const MeasureNeeds& needs() const { return needs_; }
  std::size_t measures() const { return measures_; }
  /// Bytes of one record (a multiple of 8; records must be 8-byte aligned).
  std::size_t record_bytes() const { return record_bytes_; }

  /// Makes an empty record in `record_bytes()` bytes, and tears one down (releasing the heap
  /// parts an exact sum or a sketch may hold).
  void construct(std::byte* record) const;
  void destroy(std::byte* record) const;

  /// Counts the events the record holds (null measures included).
  static std::uint64_t& events(std::byte* record) { return part<std::uint64_t>(record, 0); }
  static std::uint64_t events(const std::byte* record) { return part<std::uint64_t>(record, 0); }
  /// Tells whether a measure's block holds only its count (its sums and extremes derive from
  /// the kept values): the record keeps its values in one chain of rows (rows()), an entry of a
  /// value per measure for each event, instead of a chain per measure.
  bool counts_only() const { return counts_only_; }
  /// Returns the counts of a counts_only() record's measures, side by side (a measure's block
  /// is its count alone).
  static std::uint64_t* counts(std::byte* record) {
    return &part<std::uint64_t>(record, kCountsOffset);
  }
  /// Returns the chain of rows of a counts_only() record (ValueChunks of width measures()).
  static ValueChain& rows(std::byte* record) { return part<ValueChain>(record, kRowsOffset); }
  static const ValueChain& rows(const std::byte* record) {
    return part<ValueChain>(record, kRowsOffset);
  }
  /// Counts the non-null values of `measure` the record holds (the first part of its block).
  std::uint64_t count(const std::byte* record, std::size_t measure) const {
    return part<std::uint64_t>(record + measure_offset(measure), 0);
  }
  std::uint64_t& count(std::byte* record, std::size_t measure) const {
    return part<std::uint64_t>(record + measure_offset(measure), 0);
  }
  /// Returns the value chain of `measure` (when needs().values, not counts_only()).
  ValueChain& values(std::byte* record, std::size_t measure) const {
    return part<ValueChain>(record + measure_offset(measure), values_offset_);
  }
  const ValueChain& values(const std::byte* record, std::size_t measure) const {
    return part<ValueChain>(record + measure_offset(measure), values_offset_);
  }

  /// Adds one non-null value of `measure` observed `offset_ns` after the base; the value itself,
  /// for exact percentiles, is the caller's to keep.
  LDH_FORCE_INLINE void add(std::byte* record, std::size_t measure, double value,
                            std::int64_t offset_ns) const {
    std::byte* block = record + measure_offset(measure);
    ++count(record, measure);
    if (needs_.sum) part<ExactSum>(block, sum_offset_).add(value);
    if (needs_.squares) part<ExactSum>(block, squares_offset_).add_product(value, value);
    if (needs_.trend) part<TrendSums>(block, trend_offset_).add(offset_ns, value);
    if (needs_.min_max || needs_.first_last) {
      const std::uint64_t key = sort_key(value);
      if (needs_.min_max) {
        MinMax& extremes = part<MinMax>(block, min_max_offset_);
        extremes.min_key = key < extremes.min_key ? key : extremes.min_key;
        extremes.max_key = key > extremes.max_key ? key : extremes.max_key;
      }
      if (needs_.first_last) part<FirstLast>(block, first_last_offset_).take(offset_ns, key);
    }
    if (needs_.sketch) add_to_sketch(block, value);
  }
  /// Returns what a fold must compute for this layout (window_partial.h).
  FoldNeeds fold_needs() const {
    return {needs_.sum,        needs_.squares, needs_.min_max, needs_.trend,
            needs_.first_last, needs_.sketch,  mapping_,       needs_.values};
  }
  /// Adds the fold of `measure` over the rows of `chunk`, made with fold_needs() by a
  /// PaneAggregator, to a record whose base is the chunk's pane start; `sketch` holds the
  /// measure's histogram runs. Sums the fold left wide are taken from the rows (`columns`,
  /// `order`) here. The caller adds the events and keeps the values.
  void add_partial(std::byte* record, std::size_t measure, const MeasurePartial& partial,
                   std::span<const SketchRun> sketch, const FoldColumns& columns,
                   const std::uint32_t* order, const PanePartial& chunk) const;
  /// Adds the events and measures of `from`, whose base lies `shift_ns` (>= 0) after `into`'s
  /// (value chains excepted: their owner merges the values).
  void merge(std::byte* into, const std::byte* from, std::int64_t shift_ns) const;
  /// Computes one metric of `measure`; `sorted` holds the measure's values as sort_values()
  /// leaves them (read by exact percentiles only), `derived` what derives_from_values() layouts
  /// take from them. nullopt where the metric is undefined (variance of one value, trend of one
  /// timestamp, anything of no values).
  std::optional<double> value(const std::byte* record, std::size_t measure,
                              const MetricConfig& metric, std::span<const double> sorted,
                              const DerivedMeasure* derived = nullptr) const;
  /// Tells whether sums and extremes come from the kept values (MeasureNeeds::derive_from_values).
  bool derives_from_values() const { return derives_; }
  /// Tells whether `metric` reads the sorted values (percentile, percentile_disc).
  static bool is_exact_percentile(const MetricConfig& metric) {
    return metric.kind == MetricConfig::Kind::percentile ||
           metric.kind == MetricConfig::Kind::percentile_disc;
  }
  /// Computes an exact percentile metric of `sorted` (as sort_values() leaves them); nullopt for
  /// no values.
  static std::optional<double> percentile_value(const MetricConfig& metric,
                                                std::span<const double> sorted);
  /// Returns the heap bytes a record holds beyond record_bytes() (spilled sums, sketches).
  std::size_t heap_bytes(const std::byte* record) const;

 private:
  /// The smallest and largest sort keys seen.
  struct MinMax {
    std::uint64_t min_key = ~std::uint64_t{0};
    std::uint64_t max_key = 0;
  };

  /// first: earliest time, ties to the smallest value; last: latest time, ties to the largest.
  struct FirstLast {
    std::int64_t first_time = std::numeric_limits<std::int64_t>::max();
    std::uint64_t first_key = 0;
    std::int64_t last_time = std::numeric_limits<std::int64_t>::min();
    std::uint64_t last_key = 0;

    void take(std::int64_t time, std::uint64_t key) { take(time, key, time, key); }
    void take(std::int64_t first, std::uint64_t first_value, std::int64_t last,
              std::uint64_t last_value) {
      if (first < first_time || (first == first_time && first_value < first_key)) {
        first_time = first;
        first_key = first_value;
      }
      if (last > last_time || (last == last_time && last_value > last_key)) {
        last_time = last;
        last_key = last_value;
      }
    }
  };

  // A record starts with its event count; a counts_only() record then has its chain of rows and
  // its measures' counts side by side, every other record its measures' blocks.
  static constexpr std::size_t kRowsOffset = sizeof(std::uint64_t);
  static constexpr std::size_t kCountsOffset = kRowsOffset + sizeof(ValueChain);

  template <typename T>
  static T& part(std::byte* block, std::size_t offset) {
    return *std::launder(reinterpret_cast<T*>(block + offset));
  }
  template <typename T>
  static const T& part(const std::byte* block, std::size_t offset) {
    return *std::launder(reinterpret_cast<const T*>(block + offset));
  }

  std::size_t measure_offset(std::size_t measure) const {
    return header_bytes_ + measure * measure_bytes_;
  }
  void add_to_sketch(std::byte* block, double value) const;
  /// Returns the measure block's sketch, made on first use.
  DDSketch& sketch_of(std::byte* block) const;

  MeasureNeeds needs_;  // what records keep (less what is derived from values)
  bool derives_ = false;
  bool counts_only_ = false;
  std::size_t measures_ = 0;
  DDSketchMapping mapping_;
  // Offsets within one measure's block (its count first); a part the needs leave out has no
  // room.
  std::size_t sum_offset_ = 0;
  std::size_t squares_offset_ = 0;
  std::size_t trend_offset_ = 0;
  std::size_t min_max_offset_ = 0;
  std::size_t first_last_offset_ = 0;
  std::size_t values_offset_ = 0;
  std::size_t sketch_offset_ = 0;
  std::size_t header_bytes_ = 0;  // the event count, and the rows of a counts_only() record
  std::size_t measure_bytes_ = 0;
  std::size_t record_bytes_ = 0;
};

/// Writes the canonical values (canonical_value in percentile.h) of one state in sort_key order
/// to `sorted`: what sort_for_percentiles gives for them. Where the CPU has AVX-512, values
/// without NaN go through a sorting network in its registers, 128 at a time, the blocks merged
/// without branches on the values; elsewhere up to 96 are placed by counting, for each, the
/// values before it (branch-free and vectorised, several times faster than a comparison sort
/// at that size), more in counted blocks of 64, merged; any NaN, and they are sorted by
/// comparison.
void sort_values(std::span<const double> canonical, std::vector<double>& sorted);
/// Sorts as sort_values() does, without AVX-512 (what it does on CPUs that lack it); the same
/// bits.
void sort_values_portable(std::span<const double> canonical, std::vector<double>& sorted);

}  // namespace ldh
