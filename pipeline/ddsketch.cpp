#include "pipeline/ddsketch.h"

#include <algorithm>
#include <string>

#include "pipeline/error.h"

namespace ldh {

DDSketchMapping::DDSketchMapping(double relative_accuracy) : relative_accuracy_(relative_accuracy) {
  LDH_USER_CHECK(relative_accuracy >= 1e-6 && relative_accuracy <= 0.5,
                 "DDSketch relative accuracy must lie in [1e-6, 0.5], not " +
                     std::to_string(relative_accuracy));
  const double gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy);
  // A hair more buckets than the bound needs absorbs the rounding of log and of L(x) * m.
  multiplier_ = 7.0 / (10.0 * math::log(gamma)) * (1.0 + 1e-12);
}

DDSketch::DDSketch(const DDSketchMapping& mapping, int max_buckets)
    : mapping_(mapping), max_buckets_(max_buckets) {
  LDH_USER_CHECK(max_buckets >= 1, "DDSketch needs at least one bucket per sign");
}

void DDSketch::Store::add_outside(int index, std::uint64_t count, int max_buckets) {
  const auto limit = static_cast<std::size_t>(max_buckets);
  // Grows capacity geometrically but never past the bucket limit, so memory stays bounded.
  const auto make_room = [&](std::size_t size) {
    if (counts.capacity() < size)
      counts.reserve(std::min(limit, std::max(size, 2 * counts.size())));
  };
  if (counts.empty()) {
    offset = index;
    counts.assign(1, count);
    return;
  }
  const int top = offset + static_cast<int>(counts.size()) - 1;
  if (index > top) {
    const auto needed = static_cast<std::size_t>(index - offset) + 1;
    if (needed > limit) {
      // Collapse the lowest buckets into the lowest one kept.
      const std::size_t cut = needed - limit;
      const std::size_t dropped = std::min(cut, counts.size());
      std::uint64_t collapsed = 0;
      for (std::size_t i = 0; i < dropped; ++i) collapsed += counts[i];
      counts.erase(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(dropped));
      offset += static_cast<int>(cut);
      make_room(limit);
      counts.resize(limit, 0);
      counts.front() += collapsed;
    } else {
      make_room(needed);
      counts.resize(needed, 0);
    }
    counts.back() += count;
    return;
  }
  // Below the lowest bucket: into the lowest bucket allowed, extending down to it if needed.
  const int target = std::max(index, top - max_buckets + 1);
  if (target < offset) {
    make_room(counts.size() + static_cast<std::size_t>(offset - target));
    counts.insert(counts.begin(), static_cast<std::size_t>(offset - target), 0);
    offset = target;
  }
  counts[static_cast<std::size_t>(target - offset)] += count;
}

void DDSketch::Store::merge(const Store& other, int max_buckets) {
  if (other.counts.empty()) return;
  if (counts.empty()) {
    *this = other;
    return;
  }
  const int top = std::max(offset + static_cast<int>(counts.size()),
                           other.offset + static_cast<int>(other.counts.size())) -
                  1;
  const int low = std::max(std::min(offset, other.offset), top - max_buckets + 1);
  std::vector<std::uint64_t> merged(static_cast<std::size_t>(top - low) + 1, 0);
  const Store* const stores[] = {this, &other};
  for (const Store* store : stores) {
    for (std::size_t i = 0; i < store->counts.size(); ++i) {
      const int index = std::max(store->offset + static_cast<int>(i), low);
      merged[static_cast<std::size_t>(index - low)] += store->counts[i];
    }
  }
  counts = std::move(merged);
  offset = low;
}

void DDSketch::merge(const DDSketch& other) {
  LDH_EXPECTS(mapping_.relative_accuracy() == other.mapping_.relative_accuracy() &&
                  max_buckets_ == other.max_buckets_,
              "merging DDSketches with different settings");
  positive_.merge(other.positive_, max_buckets_);
  negative_.merge(other.negative_, max_buckets_);
  zero_count_ += other.zero_count_;
  negative_infinity_count_ += other.negative_infinity_count_;
  positive_infinity_count_ += other.positive_infinity_count_;
  nan_count_ += other.nan_count_;
}

std::uint64_t DDSketch::count() const {
  std::uint64_t total =
      zero_count_ + negative_infinity_count_ + positive_infinity_count_ + nan_count_;
  for (const std::uint64_t c : positive_.counts) total += c;
  for (const std::uint64_t c : negative_.counts) total += c;
  return total;
}

double DDSketch::quantile(double fraction) const {
  const std::uint64_t total = count();
  LDH_EXPECTS(total > 0, "quantile of an empty DDSketch");
  const double rank = fraction * static_cast<double>(total - 1);
  std::uint64_t seen = negative_infinity_count_;
  if (static_cast<double>(seen) > rank) return -math::infinity();
  for (std::size_t i = negative_.counts.size(); i-- > 0;) {
    seen += negative_.counts[i];
    if (static_cast<double>(seen) > rank) {
      return -mapping_.representative(negative_.offset + static_cast<int>(i));
    }
  }
  seen += zero_count_;
  if (static_cast<double>(seen) > rank) return 0.0;
  for (std::size_t i = 0; i < positive_.counts.size(); ++i) {
    seen += positive_.counts[i];
    if (static_cast<double>(seen) > rank) {
      return mapping_.representative(positive_.offset + static_cast<int>(i));
    }
  }
  seen += positive_infinity_count_;
  if (static_cast<double>(seen) > rank) return math::infinity();
  return math::quiet_nan();
}

std::size_t DDSketch::memory_bytes() const {
  return sizeof(DDSketch) +
         (positive_.counts.capacity() + negative_.counts.capacity()) * sizeof(std::uint64_t);
}

bool operator==(const DDSketch& a, const DDSketch& b) {
  return a.mapping_.relative_accuracy() == b.mapping_.relative_accuracy() &&
         a.max_buckets_ == b.max_buckets_ && a.positive_ == b.positive_ &&
         a.negative_ == b.negative_ && a.zero_count_ == b.zero_count_ &&
         a.negative_infinity_count_ == b.negative_infinity_count_ &&
         a.positive_infinity_count_ == b.positive_infinity_count_ && a.nan_count_ == b.nan_count_;
}

}  // namespace ldh
