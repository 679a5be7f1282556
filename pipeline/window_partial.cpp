#include "pipeline/window_partial.h"

#include <algorithm>
#include <array>

namespace ldh {

FoldPlan make_fold_plan(std::int64_t first, std::int64_t last, std::int64_t pane) {
  FoldPlan plan;
  plan.pane = pane;
  plan.first_pane = align_down(first, pane);
  const auto last_ordinal = static_cast<std::uint64_t>(align_down(last, pane) - plan.first_pane) /
                            static_cast<std::uint64_t>(pane);
  plan.pane_bits = ordinal_bits(last_ordinal);
  return plan;
}

FoldPlan make_session_fold_plan(std::int64_t gap) {
  FoldPlan plan;
  plan.gap = gap;
  return plan;
}

namespace {

/// Sorts positions by key, stably, with least-significant-digit radix passes of 11 bits; a
/// pass whose digit is the same for every key is skipped (the pane bits of a short batch).
void radix_sort(std::vector<std::uint64_t>& keys, std::vector<std::uint32_t>& order,
                std::vector<std::uint64_t>& key_scratch,
                std::vector<std::uint32_t>& order_scratch) {
  constexpr int kDigitBits = 11;
  constexpr std::size_t kBuckets = std::size_t{1} << kDigitBits;
  const std::size_t n = keys.size();
  key_scratch.resize(n);
  order_scratch.resize(n);
  std::array<std::uint32_t, kBuckets> counts;
  for (int shift = 0; shift < 64; shift += kDigitBits) {
    counts.fill(0);
    for (std::uint64_t key : keys) ++counts[(key >> shift) & (kBuckets - 1)];
    if (counts[(keys[0] >> shift) & (kBuckets - 1)] == n) continue;
    std::uint32_t total = 0;
    for (auto& count : counts) {
      const std::uint32_t here = count;
      count = total;
      total += here;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t slot = counts[(keys[i] >> shift) & (kBuckets - 1)]++;
      key_scratch[slot] = keys[i];
      order_scratch[slot] = order[i];
    }
    keys.swap(key_scratch);
    order.swap(order_scratch);
  }
}

/// Folds on the calling thread with the same sort keys, cuts and fold as a device.
class HostPaneAggregator final : public PaneAggregator {
 public:
  std::string describe() const override { return "host"; }

 protected:
  void fold_rows(const FoldColumns& columns, const FoldPlan& plan, FoldNeeds needs,
                 PanePartials& out) override {
    const std::uint32_t n = columns.rows;
    keys_.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      keys_[i] = plan.gap > 0 ? time_sort_key(columns.times[i])
                              : fold_sort_key(columns.times[i], columns.hashes[i], plan);
      out.order[i] = i;
    }
    radix_sort(keys_, out.order, key_scratch_, order_scratch_);
    if (plan.gap > 0) {
      for (std::uint32_t i = 0; i < n; ++i) keys_[i] = columns.hashes[out.order[i]];
      radix_sort(keys_, out.order, key_scratch_, order_scratch_);
    }
    std::uint32_t group_start = 0;
    for (std::uint32_t p = 0; p < n; ++p) {
      const bool group = starts_group(columns, keys_.data(), out.order.data(), p, plan);
      if (group) group_start = p;
      if (!starts_partial(group, p, group_start)) continue;
      if (!out.partials.empty()) out.partials.back().count = p - out.partials.back().first;
      PanePartial& partial = out.partials.emplace_back();
      partial.first = p;
      partial.pane_start = partial_base(columns.times[out.order[p]], plan);
    }
    out.partials.back().count = n - out.partials.back().first;
    sorted_times_.resize(n);
    sorted_values_.resize(std::size_t{n} * columns.measures);
    sorted_valid_.resize(std::size_t{n} * columns.measures);
    for (std::uint32_t p = 0; p < n; ++p) {
      gather_sorted(columns, out.order.data(), p, sorted_times_.data(), sorted_values_.data(),
                    sorted_valid_.data());
    }
    FoldColumns sorted = columns;
    sorted.times = sorted_times_.data();
    sorted.values = sorted_values_.data();
    sorted.valid = sorted_valid_.data();
    out.measures.resize(out.partials.size() * columns.measures);
    for (std::size_t i = 0; i < out.partials.size(); ++i) {
      for (std::uint32_t m = 0; m < columns.measures; ++m) {
        fold_measure(sorted, out.partials[i], m, needs, out.measures[i * columns.measures + m]);
      }
    }
    if (needs.sketch) histograms(sorted, needs.mapping, out);
    if (needs.values) {
      out.sorted_values = sorted_values_;
      out.sorted_valid = sorted_valid_;
    }
  }

 private:
  /// Writes each (partial, measure)'s codes as runs of equal codes, by slot then code.
  void histograms(const FoldColumns& sorted, const DDSketchMapping& mapping, PanePartials& out) {
    for (std::size_t i = 0; i < out.partials.size(); ++i) {
      const PanePartial& partial = out.partials[i];
      for (std::uint32_t m = 0; m < sorted.measures; ++m) {
        codes_.clear();
        for (std::uint32_t p = partial.first; p < partial.first + partial.count; ++p) {
          codes_.push_back(value_code(sorted, m, p, mapping));
        }
        std::sort(codes_.begin(), codes_.end());
        const auto slot = static_cast<std::uint32_t>(i * sorted.measures + m);
        for (std::size_t j = 0; j < codes_.size(); ++j) {
          if (j > 0 && codes_[j] == codes_[j - 1]) {
            ++out.sketch_runs.back().count;
          } else {
            out.sketch_runs.push_back({codes_[j], slot, 1});
          }
        }
      }
    }
  }

  std::vector<std::uint64_t> codes_;
  std::vector<std::uint64_t> keys_;
  std::vector<std::uint64_t> key_scratch_;
  std::vector<std::uint32_t> order_scratch_;
  std::vector<std::int64_t> sorted_times_;
  std::vector<double> sorted_values_;
  std::vector<std::uint8_t> sorted_valid_;
};

}  // namespace

std::unique_ptr<PaneAggregator> make_host_pane_aggregator() {
  return std::make_unique<HostPaneAggregator>();
}

}  // namespace ldh
