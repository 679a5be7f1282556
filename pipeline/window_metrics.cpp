#include "pipeline/window_metrics.h"

#include <algorithm>
#include <limits>

#include "pipeline/ddsketch.h"
#include "pipeline/moments.h"
#include "pipeline/percentile.h"

namespace ldh {

MeasureNeeds needs_for(const std::vector<MetricConfig>& metrics, bool alert_min_max,
                       double relative_accuracy) {
  MeasureNeeds needs;
  needs.relative_accuracy = relative_accuracy;
  needs.min_max = alert_min_max;
  using Kind = MetricConfig::Kind;
  for (const auto& metric : metrics) {
    switch (metric.kind) {
      case Kind::count: break;
      case Kind::sum:
      case Kind::avg: needs.sum = true; break;
      case Kind::variance:
      case Kind::variance_pop:
      case Kind::stddev:
      case Kind::stddev_pop:
        needs.sum = true;
        needs.squares = true;
        break;
      case Kind::min:
      case Kind::max: needs.min_max = true; break;
      case Kind::percentile:
      case Kind::percentile_disc: needs.values = true; break;
      case Kind::approx_percentile: needs.sketch = true; break;
      case Kind::trend:
        needs.sum = true;
        needs.trend = true;
        break;
      case Kind::first:
      case Kind::last: needs.first_last = true; break;
    }
  }
  return needs;
}

/// The parts of an accumulator a window's metrics need; absent parts cost nothing.
struct MeasureAccumulator::State {
  Moments moments;
  TrendSums trend;
  std::uint64_t min_key = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_key = 0;
  // first: earliest time, ties to the smallest value; last: latest time, ties to the largest.
  std::int64_t first_time = std::numeric_limits<std::int64_t>::max();
  std::uint64_t first_key = 0;
  std::int64_t last_time = std::numeric_limits<std::int64_t>::min();
  std::uint64_t last_key = 0;
  std::vector<double> values;
  bool sorted = true;
  std::unique_ptr<DDSketch> sketch;

  void take_first(std::int64_t time, std::uint64_t key) {
    if (time < first_time || (time == first_time && key < first_key)) {
      first_time = time;
      first_key = key;
    }
  }
  void take_last(std::int64_t time, std::uint64_t key) {
    if (time > last_time || (time == last_time && key > last_key)) {
      last_time = time;
      last_key = key;
    }
  }
};

MeasureAccumulator::MeasureAccumulator() = default;
MeasureAccumulator::~MeasureAccumulator() = default;
MeasureAccumulator::MeasureAccumulator(MeasureAccumulator&& other) noexcept = default;
MeasureAccumulator& MeasureAccumulator::operator=(MeasureAccumulator&& other) noexcept = default;

MeasureAccumulator::MeasureAccumulator(const MeasureAccumulator& other) : count_(other.count_) {
  if (other.state_) {
    state_ = std::make_unique<State>();
    State& to = *state_;
    const State& from = *other.state_;
    to.moments = from.moments;
    to.trend = from.trend;
    to.min_key = from.min_key;
    to.max_key = from.max_key;
    to.first_time = from.first_time;
    to.first_key = from.first_key;
    to.last_time = from.last_time;
    to.last_key = from.last_key;
    to.values = from.values;
    to.sorted = from.sorted;
    if (from.sketch) to.sketch = std::make_unique<DDSketch>(*from.sketch);
  }
}

MeasureAccumulator& MeasureAccumulator::operator=(const MeasureAccumulator& other) {
  if (this != &other) *this = MeasureAccumulator(other);
  return *this;
}

void MeasureAccumulator::add(double value, std::int64_t offset_ns, const MeasureNeeds& needs) {
  if (!state_) state_ = std::make_unique<State>();
  State& state = *state_;
  ++count_;
  if (needs.sum) state.moments.add(value);
  if (needs.trend) state.trend.add(offset_ns, value);
  const std::uint64_t key = sort_key(value);
  if (needs.min_max) {
    state.min_key = std::min(state.min_key, key);
    state.max_key = std::max(state.max_key, key);
  }
  if (needs.first_last) {
    state.take_first(offset_ns, key);
    state.take_last(offset_ns, key);
  }
  if (needs.values) {
    state.values.push_back(value);
    state.sorted = false;
  }
  if (needs.sketch) {
    if (!state.sketch) {
      state.sketch = std::make_unique<DDSketch>(DDSketchMapping(needs.relative_accuracy));
    }
    state.sketch->add(value);
  }
}

void MeasureAccumulator::merge(const MeasureAccumulator& other, std::int64_t shift_ns,
                               const MeasureNeeds& needs) {
  if (!other.state_) return;
  if (!state_) state_ = std::make_unique<State>();
  State& state = *state_;
  const State& from = *other.state_;
  count_ += other.count_;
  if (needs.trend) state.trend.merge_shifted(from.trend, from.moments, shift_ns);
  if (needs.sum) state.moments.merge(from.moments);
  if (needs.min_max) {
    state.min_key = std::min(state.min_key, from.min_key);
    state.max_key = std::max(state.max_key, from.max_key);
  }
  if (needs.first_last && other.count_ > 0) {
    state.take_first(from.first_time + shift_ns, from.first_key);
    state.take_last(from.last_time + shift_ns, from.last_key);
  }
  if (needs.values) {
    state.values.insert(state.values.end(), from.values.begin(), from.values.end());
    state.sorted = false;
  }
  if (needs.sketch && from.sketch) {
    if (!state.sketch) {
      state.sketch = std::make_unique<DDSketch>(*from.sketch);
    } else {
      state.sketch->merge(*from.sketch);
    }
  }
}

std::optional<double> MeasureAccumulator::value(const MetricConfig& metric,
                                                const MeasureNeeds& /*needs*/) {
  using Kind = MetricConfig::Kind;
  if (metric.kind == Kind::count) return static_cast<double>(count_);
  if (count_ == 0 || !state_) return std::nullopt;
  State& state = *state_;
  switch (metric.kind) {
    case Kind::count: break;
    case Kind::sum: return state.moments.sum.to_double();
    case Kind::avg: return average(state.moments);
    case Kind::variance: return sample_variance(state.moments);
    case Kind::variance_pop: return population_variance(state.moments);
    case Kind::stddev: return sample_standard_deviation(state.moments);
    case Kind::stddev_pop: return population_standard_deviation(state.moments);
    case Kind::min: return value_of_sort_key(state.min_key);
    case Kind::max: return value_of_sort_key(state.max_key);
    case Kind::first: return value_of_sort_key(state.first_key);
    case Kind::last: return value_of_sort_key(state.last_key);
    case Kind::trend: return trend(state.moments, state.trend);
    case Kind::percentile:
    case Kind::percentile_disc:
      if (!state.sorted) {
        sort_for_percentiles(state.values);
        state.sorted = true;
      }
      return metric.kind == Kind::percentile
                 ? continuous_percentile(state.values.data(), state.values.size(), metric.quantile)
                 : discrete_percentile(state.values.data(), state.values.size(), metric.quantile);
    case Kind::approx_percentile:
      return state.sketch ? std::optional<double>(state.sketch->quantile(metric.quantile))
                          : std::nullopt;
  }
  return std::nullopt;
}

std::size_t MeasureAccumulator::bytes() const {
  std::size_t bytes = sizeof(MeasureAccumulator);
  if (!state_) return bytes;
  bytes += sizeof(State) + state_->moments.sum.heap_bytes() +
           state_->moments.sum_of_squares.heap_bytes() + state_->trend.heap_bytes() +
           state_->values.capacity() * sizeof(double);
  if (state_->sketch) bytes += state_->sketch->memory_bytes();
  return bytes;
}

}  // namespace ldh
