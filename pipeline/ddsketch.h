#pragma once

// DDSketch (Masson, Rim, Lee: "DDSketch: a fast and fully-mergeable quantile sketch with
// relative-error guarantees", VLDB 2019) for approx_pN: integer bucket counts, so adding and
// merging in any order give equal sketches, and a bucket index computed from the double's bits
// with + and * only (no libm log), so the CPU and CUDA paths bucket every value alike.
//
// Index mapping: write |x| = 2^e * (1 + s), 0 <= s < 1, and take the approximate base-2
// logarithm L(x) = e + P(s) with the cubic P(s) = ((6/35 s - 3/5) s + 10/7) s (DDSketch's
// cubically interpolated mapping: P(0) = 0, P(1) = 1, increasing). Bucket i holds the x with
// floor(L(x) * m) = i. As d(log2 x)/dL <= 7 / (10 ln 2), choosing m = 7 / (10 ln gamma), gamma =
// (1 + a) / (1 - a), makes every bucket's upper / lower bound at most gamma, so the value
// 2 * lower * upper / (lower + upper) is within relative error a of everything in it.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pipeline/exact_sum.h"
#include "pipeline/host_device.h"
#include "pipeline/math.h"

namespace ldh {

/// Maps magnitudes to bucket indexes and back; trivially copyable, so kernels take it by value.
class DDSketchMapping {
 public:
  /// Builds the mapping for relative accuracy `relative_accuracy` in [1e-6, 0.5]; throws
  /// UserError outside.
  explicit DDSketchMapping(double relative_accuracy = 0.01);

  double relative_accuracy() const { return relative_accuracy_; }

  /// Returns the bucket of finite `magnitude` > 0 (subnormals included).
  LDH_HOST_DEVICE int index(double magnitude) const {
    const std::uint64_t bits = math::to_bits(magnitude);
    const int biased = static_cast<int>(bits >> 52);
    std::uint64_t fraction = bits & exact::kFractionMask;
    int exponent = biased - 1023;
    if (biased == 0) {  // subnormal: normalise the fraction
      const int length = 64 - exact::leading_zeros(fraction);
      exponent = -1074 + length - 1;
      fraction = (fraction << (53 - length)) & exact::kFractionMask;
    }
    const double s = math::from_bits(fraction | 0x3ff0000000000000ULL) - 1.0;  // exact
    const double logarithm = ((kCubic * s + kQuadratic) * s + kLinear) * s + exponent;
    return static_cast<int>(math::floor(logarithm * multiplier_));
  }

  /// Returns the value reported for bucket `index`: within the relative accuracy of every
  /// normal magnitude the bucket holds.
  LDH_HOST_DEVICE double representative(int index) const {
    const double lower = bound(index);
    const double upper = bound(index + 1);
    return lower * (2.0 / (1.0 + lower / upper));
  }

 private:
  static constexpr double kCubic = 6.0 / 35.0;
  static constexpr double kQuadratic = -3.0 / 5.0;
  static constexpr double kLinear = 10.0 / 7.0;

  /// Returns the smallest magnitude of bucket `index`, inverting P by bisection (deterministic
  /// and monotone), clamped to the positive finite doubles.
  LDH_HOST_DEVICE double bound(int index) const {
    const double logarithm = static_cast<double>(index) / multiplier_;
    const double exponent = math::floor(logarithm);
    const double target = logarithm - exponent;
    double low = 0.0;
    double high = 1.0;
    for (int step = 0; step < 60; ++step) {
      const double middle = 0.5 * (low + high);
      if (((kCubic * middle + kQuadratic) * middle + kLinear) * middle < target) {
        low = middle;
      } else {
        high = middle;
      }
    }
    if (exponent >= 1024) return math::from_bits(0x7fefffffffffffffULL);
    if (exponent < -1075) return math::from_bits(1);
    const double value = math::scale_by_power_of_two(1.0 + high, static_cast<int>(exponent));
    return value > 0 ? value : math::from_bits(1);
  }

  double relative_accuracy_ = 0.01;
  double multiplier_ = 0.0;  // buckets per unit of the approximate log2
};

/// A quantile sketch with relative accuracy a: quantile(p) is within a relative error a of the
/// exact value at rank floor(p * (n - 1)) of the sorted values (NaN sorting last, as in exact
/// percentiles), as long as no bucket was collapsed. Each sign keeps at most `max_buckets`
/// buckets (8 bytes each); beyond that the buckets of the smallest magnitudes merge into one,
/// so accuracy is lost only for the values nearest zero. Zeros (and -0.0), infinities and NaN
/// have their own counts.
/// What a value counts as in a sketch, as one number that sorts by (kind, bucket): the kind
/// (kSketch*) in the high 32 bits, the bucket index of |x| in the low 32 for finite nonzero x.
/// Computed the same on a kernel thread (histograms of a fold) and the host.
inline constexpr std::uint64_t kSketchPositive = 0;
inline constexpr std::uint64_t kSketchNegative = 1;
inline constexpr std::uint64_t kSketchZero = 2;
inline constexpr std::uint64_t kSketchNan = 3;
inline constexpr std::uint64_t kSketchPositiveInfinity = 4;
inline constexpr std::uint64_t kSketchNegativeInfinity = 5;

LDH_HOST_DEVICE inline std::uint64_t sketch_code(const DDSketchMapping& mapping, double x) {
  std::uint64_t kind = kSketchZero;
  int index = 0;
  if (!exact::is_finite(x)) {
    kind = math::is_nan(x) ? kSketchNan : x > 0 ? kSketchPositiveInfinity : kSketchNegativeInfinity;
  } else if (x > 0) {
    kind = kSketchPositive;
    index = mapping.index(x);
  } else if (x < 0) {
    kind = kSketchNegative;
    index = mapping.index(-x);
  }
  return (kind << 32) | static_cast<std::uint32_t>(index);
}

class DDSketch {
 public:
  static constexpr int kDefaultMaxBuckets = 2048;

  explicit DDSketch(const DDSketchMapping& mapping = DDSketchMapping(),
                    int max_buckets = kDefaultMaxBuckets);

  void add(double x) { add_code(sketch_code(mapping_, x), 1); }

  /// Adds `count` values of sketch_code() `code` (made with this sketch's mapping).
  void add_code(std::uint64_t code, std::uint64_t count) {
    const auto index = static_cast<int>(static_cast<std::uint32_t>(code));
    switch (code >> 32) {
      case kSketchPositive:
        positive_.add(index, count, max_buckets_);
        break;
      case kSketchNegative:
        negative_.add(index, count, max_buckets_);
        break;
      case kSketchZero:
        zero_count_ += count;
        break;
      case kSketchNan:
        nan_count_ += count;
        break;
      case kSketchPositiveInfinity:
        positive_infinity_count_ += count;
        break;
      default:
        negative_infinity_count_ += count;
        break;
    }
  }

  /// Adds another sketch built with the same accuracy and bucket limit.
  void merge(const DDSketch& other);

  /// Returns the number of values added (NaN included).
  std::uint64_t count() const;

  /// Returns the approximate value at `fraction` (0 to 1) of a non-empty sketch.
  double quantile(double fraction) const;

  /// Returns the bytes the sketch holds, buckets included.
  std::size_t memory_bytes() const;

  friend bool operator==(const DDSketch& a, const DDSketch& b);

 private:
  /// Counts per bucket index, contiguous from `offset`; the lowest indexes collapse into one
  /// when more than `max_buckets` would be needed.
  struct Store {
    std::vector<std::uint64_t> counts;
    int offset = 0;

    void add(int index, std::uint64_t count, int max_buckets) {
      const std::size_t position = static_cast<std::size_t>(static_cast<unsigned>(index - offset));
      if (position < counts.size()) {
        counts[position] += count;
      } else {
        add_outside(index, count, max_buckets);
      }
    }

    void add_outside(int index, std::uint64_t count, int max_buckets);
    void merge(const Store& other, int max_buckets);
    bool operator==(const Store& other) const = default;
  };

  DDSketchMapping mapping_;
  int max_buckets_;
  Store positive_;
  Store negative_;  // by the index of -x
  std::uint64_t zero_count_ = 0;
  std::uint64_t negative_infinity_count_ = 0;
  std::uint64_t positive_infinity_count_ = 0;
  std::uint64_t nan_count_ = 0;
};

}  // namespace ldh
