#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "pipeline/config.h"

namespace ldh {

/// What one window must keep per measure, derived once from its metric list.
struct MeasureNeeds {
  bool sum = false;       // sum, avg, variance, stddev, trend
  bool squares = false;   // variance, stddev
  bool min_max = false;
  bool values = false;    // exact percentiles
  bool sketch = false;    // approx percentiles
  bool trend = false;
  bool first_last = false;
  double relative_accuracy = 0.01;
};

/// Derives what to keep from a window's metrics (plus min/max when an alert needs them).
MeasureNeeds needs_for(const std::vector<MetricConfig>& metrics, bool alert_min_max,
                       double relative_accuracy);

/// Accumulates one measure of one (key, pane) or (key, session) exactly and order-independently:
/// adding the same values in any order, or merging partial states in any order, gives the same
/// metric bits. Times are nanoseconds relative to the state's base (its pane or session start).
class MeasureAccumulator {
 public:
  MeasureAccumulator();
  ~MeasureAccumulator();
  MeasureAccumulator(const MeasureAccumulator& other);
  MeasureAccumulator(MeasureAccumulator&& other) noexcept;
  MeasureAccumulator& operator=(const MeasureAccumulator& other);
  MeasureAccumulator& operator=(MeasureAccumulator&& other) noexcept;

  /// Adds one non-null value observed `offset_ns` after the base.
  void add(double value, std::int64_t offset_ns, const MeasureNeeds& needs);
  /// Adds `other`, whose base lies `shift_ns` (>= 0) after this one's.
  void merge(const MeasureAccumulator& other, std::int64_t shift_ns, const MeasureNeeds& needs);
  /// Computes one metric; nullopt where it is undefined (variance of one value, trend of one
  /// timestamp, anything of no values).
  std::optional<double> value(const MetricConfig& metric, const MeasureNeeds& needs);
  std::uint64_t count() const { return count_; }
  /// Approximates the heap and inline bytes this state holds.
  std::size_t bytes() const;

 private:
  struct State;
  std::uint64_t count_ = 0;
  std::unique_ptr<State> state_;
};

}  // namespace ldh
