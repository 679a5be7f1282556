#pragma once

// Sorting the values of exact percentiles for a slice of a watermark step's results at once
// (up to 4096 results of one window end): every (window, key, measure) of the slice is one group
// of canonical values, and all groups are sorted in one call, by the host (sort_values per group)
// or by a device (one segmented radix sort on the values' sort_key bits, kernels/value_sort.h).
// Canonical values that sort equal are equal bits, so every sorter gives the same bytes.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ldh {

/// Sorts groups of canonical values by sort_key (percentile.h). Used from one thread.
class ValueSorter {
 public:
  virtual ~ValueSorter() = default;
  /// Sorts each group values[offsets[g], offsets[g + 1]) in place; `offsets` starts at 0 and
  /// ends at values.size().
  virtual void sort_groups(std::vector<double>& values,
                           const std::vector<std::uint32_t>& offsets) = 0;
  /// Names where the sorting runs ("host", "GPU 0 (NVIDIA H200)").
  virtual std::string describe() const = 0;
};

std::unique_ptr<ValueSorter> make_host_value_sorter();

}  // namespace ldh
