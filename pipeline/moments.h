#pragma once

// avg, variance, stddev and trend from exact sums, each correctly rounded (round to nearest, ties
// to even) from the exact real value: the numerators n*sum(x^2) - sum(x)^2 and
// n*sum(t*x) - sum(t)*sum(x) are formed exactly with big-integer arithmetic on the digits of the
// sums, so no cancellation can lose bits, then divided (and square-rooted) exactly in integers
// with a sticky bit and rounded once. The cores in namespace exact are LDH_HOST_DEVICE, so a
// kernel finalising the same sums returns the same bits. docs/semantics.md states the rules.

#include <cstdint>
#include <optional>

#include "pipeline/exact_sum.h"

namespace ldh {
namespace exact {

/// Most digits a denominator may have (n*(n-1) has 4, n*sum(t^2) - sum(t)^2 at most 9).
inline constexpr int kDivisorDigits = 12;
/// Digits of the widest numerator, n*sum(x^2) - sum(x)^2 over the whole range, plus margin.
inline constexpr int kWideDigits = 2 * kNumberDigits + 10;

/// Divides u (m digits) by v (n digits, v[n-1] != 0, 1 <= n <= m <= kDivisorDigits + 5) with
/// Knuth's algorithm D; writes the m - n + 1 quotient digits to q and tells whether the
/// remainder is nonzero.
LDH_HOST_DEVICE inline bool divide_digits(const std::uint32_t* u, int m, const std::uint32_t* v,
                                          int n, std::uint32_t* q) {
  constexpr std::uint64_t kBase = std::uint64_t{1} << 32;
  if (n == 1) {
    std::uint64_t remainder = 0;
    for (int j = m - 1; j >= 0; --j) {
      const std::uint64_t t = (remainder << 32) | u[j];
      q[j] = static_cast<std::uint32_t>(t / v[0]);
      remainder = t - static_cast<std::uint64_t>(q[j]) * v[0];
    }
    return remainder != 0;
  }
  // Normalise so the divisor's top digit has its high bit set.
  std::uint32_t un[kDivisorDigits + 6];
  std::uint32_t vn[kDivisorDigits];
  const int shift = leading_zeros(v[n - 1]);
  for (int i = n - 1; i > 0; --i) {
    vn[i] = shift == 0 ? v[i] : (v[i] << shift) | (v[i - 1] >> (32 - shift));
  }
  vn[0] = v[0] << shift;
  un[m] = shift == 0 ? 0 : u[m - 1] >> (32 - shift);
  for (int i = m - 1; i > 0; --i) {
    un[i] = shift == 0 ? u[i] : (u[i] << shift) | (u[i - 1] >> (32 - shift));
  }
  un[0] = u[0] << shift;
  for (int j = m - n; j >= 0; --j) {
    const std::uint64_t numerator = (static_cast<std::uint64_t>(un[j + n]) << 32) | un[j + n - 1];
    std::uint64_t estimate = numerator / vn[n - 1];
    std::uint64_t rest = numerator - estimate * vn[n - 1];
    while (estimate >= kBase || estimate * vn[n - 2] > ((rest << 32) | un[j + n - 2])) {
      --estimate;
      rest += vn[n - 1];
      if (rest >= kBase) break;
    }
    // Multiply and subtract.
    std::int64_t borrow = 0;
    for (int i = 0; i < n; ++i) {
      const std::uint64_t product = estimate * vn[i];
      const std::int64_t t = static_cast<std::int64_t>(un[i + j]) - borrow -
                             static_cast<std::int64_t>(product & 0xffffffff);
      un[i + j] = static_cast<std::uint32_t>(t);
      borrow = static_cast<std::int64_t>(product >> 32) - (t >> 32);
    }
    const std::int64_t top = static_cast<std::int64_t>(un[j + n]) - borrow;
    un[j + n] = static_cast<std::uint32_t>(top);
    q[j] = static_cast<std::uint32_t>(estimate);
    if (top < 0) {  // subtracted once too often: add the divisor back
      --q[j];
      std::uint64_t carry = 0;
      for (int i = 0; i < n; ++i) {
        const std::uint64_t t = static_cast<std::uint64_t>(un[i + j]) + vn[i] + carry;
        un[i + j] = static_cast<std::uint32_t>(t);
        carry = t >> 32;
      }
      un[j + n] += static_cast<std::uint32_t>(carry);
    }
  }
  for (int i = 0; i < n; ++i) {
    if (un[i] != 0) return true;
  }
  return false;
}

/// Returns floor(|numerator| * 2^shift / |denominator|) and sets `inexact` when that floor is
/// not the exact quotient. `shift` must leave the quotient below 2^124 and the shifted
/// numerator within kDivisorDigits + 5 digits.
LDH_HOST_DEVICE inline UInt128 quotient_bits(NumberView numerator, NumberView denominator,
                                             int shift, bool* inexact) {
  const int m = (bit_length(numerator) + shift + 31) / 32;
  std::uint32_t u[kDivisorDigits + 6];
  for (int i = 0; i < m; ++i) u[i] = bits_at(numerator, kDigitBits * i - shift);
  const bool lost_bits = shift < 0 && any_bits_below(numerator, -shift);
  std::uint32_t q[kDivisorDigits + 6];
  const bool remainder = divide_digits(u, m, denominator.digits, denominator.size, q);
  UInt128 quotient = 0;
  for (int i = m - denominator.size; i >= 0; --i) quotient = (quotient << 32) | q[i];
  *inexact = lost_bits || remainder;
  return quotient;
}

/// Returns numerator / denominator correctly rounded; the denominator is nonzero and has at
/// most kDivisorDigits digits.
LDH_HOST_DEVICE inline double divide_rounded(NumberView numerator, NumberView denominator) {
  if (numerator.size == 0) return 0.0;
  // 66 quotient bits: 53 kept, a guard bit and more; the rest of the quotient is sticky.
  const int shift = bit_length(denominator) + 66 - bit_length(numerator);
  bool inexact = false;
  const UInt128 quotient = quotient_bits(numerator, denominator, shift, &inexact);
  return round_wide(quotient, inexact, numerator.exponent - denominator.exponent - shift,
                    numerator.negative != denominator.negative);
}

/// Returns `x` as a double through its 64-bit halves (within a few ulps: for estimates).
LDH_HOST_DEVICE inline double approximate_double(UInt128 x) {
  return static_cast<double>(static_cast<std::uint64_t>(x >> 64)) * 0x1p64 +
         static_cast<double>(static_cast<std::uint64_t>(x));
}

/// Returns floor(sqrt(value)) for value < 2^120 and sets `inexact` when value is not its square.
/// Starts from the double square root (IEEE-exact on host and device) and corrects it with
/// exact integer comparisons, so the result is the exact floor whatever the estimate was.
LDH_HOST_DEVICE inline UInt128 integer_square_root(UInt128 value, bool* inexact) {
  UInt128 root = static_cast<std::uint64_t>(math::sqrt(approximate_double(value)));
  if (root != 0) {
    // One Newton step on the exact remainder brings the estimate within a unit or two.
    const UInt128 square = root * root;
    const double remainder =
        square > value ? -approximate_double(square - value) : approximate_double(value - square);
    const auto step = static_cast<std::int64_t>(
        remainder / (2.0 * static_cast<double>(static_cast<std::uint64_t>(root))));
    root += static_cast<UInt128>(static_cast<__int128>(step));
  }
  while (root * root > value) --root;
  while ((root + 1) * (root + 1) <= value) ++root;
  *inexact = root * root != value;
  return root;
}

/// Returns sqrt(numerator / denominator) correctly rounded, for numerator >= 0 and a positive
/// denominator of at most kDivisorDigits digits.
LDH_HOST_DEVICE inline double square_root_of_quotient_rounded(NumberView numerator,
                                                              NumberView denominator) {
  if (numerator.size == 0) return 0.0;
  // An even shift giving a quotient of 114 or 115 bits, so the root has 57 or 58.
  int shift = bit_length(denominator) + 114 - bit_length(numerator);
  shift += shift & 1;
  bool inexact_quotient = false;
  const UInt128 quotient = quotient_bits(numerator, denominator, shift, &inexact_quotient);
  bool inexact_root = false;
  const UInt128 root = integer_square_root(quotient, &inexact_root);
  // sqrt(q + f) with 0 <= f < 1 has the integer part of sqrt(q), and is an integer only when
  // f = 0 and q is a square: the sticky bit is the union.
  return round_wide(root, inexact_quotient || inexact_root,
                    (numerator.exponent - denominator.exponent - shift) / 2, false);
}

/// Writes the digits of `value` into `digits` (4) and returns the view (exponent 0).
LDH_HOST_DEVICE inline NumberView integer_number(UInt128 value, bool negative,
                                                 std::uint32_t* digits) {
  for (int i = 0; i < 4; ++i) digits[i] = static_cast<std::uint32_t>(value >> (32 * i));
  return trimmed(digits, 4, 0, negative);
}

/// Writes n*sum(x^2) - sum(x)^2 (= n * the sum of squared deviations from the mean, exactly)
/// into `out` and returns it; `square` and `out` hold kWideDigits digits, `scaled`
/// kNumberDigits + 2.
LDH_HOST_DEVICE inline NumberView deviation_numerator(std::uint64_t count, NumberView sum,
                                                      NumberView sum_of_squares,
                                                      std::uint32_t* square, std::uint32_t* scaled,
                                                      std::uint32_t* out) {
  const NumberView squared_sum = multiply(sum, sum, square);
  const NumberView scaled_squares = multiply(sum_of_squares, count, scaled);
  return subtract(scaled_squares, squared_sum, out);
}

/// Returns the exact quotient sum((x - mean)^2) / (count - 1) (sample) or / count, correctly
/// rounded, or its square root correctly rounded (`root`), from the exact sum and sum of squares.
LDH_HOST_DEVICE inline double deviation_quotient(std::uint64_t count, NumberView sum,
                                                 NumberView sum_of_squares, bool sample,
                                                 bool root) {
  std::uint32_t square[kWideDigits];
  std::uint32_t scaled[kNumberDigits + 2];
  std::uint32_t numerator[kWideDigits];
  const NumberView deviations =
      deviation_numerator(count, sum, sum_of_squares, square, scaled, numerator);
  std::uint32_t digits[4];
  const NumberView denominator =
      integer_number(static_cast<UInt128>(count) * (sample ? count - 1 : count), false, digits);
  return root ? square_root_of_quotient_rounded(deviations, denominator)
              : divide_rounded(deviations, denominator);
}

/// Returns the variance of `count` values (count >= 2 for the sample variance, >= 1 for the
/// population's) from their exact sum and sum of squares, correctly rounded.
LDH_HOST_DEVICE inline double variance_value(std::uint64_t count, NumberView sum,
                                             NumberView sum_of_squares, bool sample) {
  return deviation_quotient(count, sum, sum_of_squares, sample, false);
}

/// Returns the standard deviation (sample or population), the square root of variance_value's
/// exact quotient, correctly rounded (finite wherever the result is, even when the variance
/// itself overflows).
LDH_HOST_DEVICE inline double standard_deviation_value(std::uint64_t count, NumberView sum,
                                                       NumberView sum_of_squares, bool sample) {
  return deviation_quotient(count, sum, sum_of_squares, sample, true);
}

/// Returns the exact mean sum / count correctly rounded (count >= 1).
LDH_HOST_DEVICE inline double average_value(std::uint64_t count, NumberView sum) {
  std::uint32_t denominator[4];
  return divide_rounded(sum, integer_number(count, false, denominator));
}

/// Computes the least-squares slope of x against t in units per second (t in nanoseconds):
/// 1e9 * (n*sum(t*x) - sum(t)*sum(x)) / (n*sum(t^2) - sum(t)^2), correctly rounded. Returns
/// false (no slope) when the denominator is 0: fewer than two distinct times.
LDH_HOST_DEVICE inline bool trend_value(std::uint64_t count, NumberView sum,
                                        NumberView sum_of_times, NumberView sum_of_time_squares,
                                        NumberView sum_of_time_products, double* slope) {
  std::uint32_t times_squared[2 * 4];
  std::uint32_t scaled_squares[6 + 2];
  std::uint32_t denominator[kDivisorDigits];
  const NumberView spread =
      subtract(multiply(sum_of_time_squares, count, scaled_squares),
               multiply(sum_of_times, sum_of_times, times_squared), denominator);
  if (spread.size == 0) return false;
  std::uint32_t cross[4 + kNumberDigits];
  std::uint32_t scaled_products[kNumberDigits + 2];
  std::uint32_t covariance[kWideDigits];
  const NumberView numerator = subtract(multiply(sum_of_time_products, count, scaled_products),
                                        multiply(sum_of_times, sum, cross), covariance);
  std::uint32_t per_second[kWideDigits + 2];
  *slope = divide_rounded(multiply(numerator, 1'000'000'000, per_second), spread);
  return true;
}

}  // namespace exact

/// count, sum(x) and sum(x^2) of one measure in one window, exactly: 72 bytes in the common case.
/// NaN and infinities count as events; they show in sum.special_flags().
struct Moments {
  std::uint64_t count = 0;
  ExactSum sum;
  ExactSum sum_of_squares;

  void add(double x) {
    ++count;
    sum.add(x);
    sum_of_squares.add_product(x, x);
  }

  void merge(const Moments& other) {
    count += other.count;
    sum.merge(other.sum);
    sum_of_squares.merge(other.sum_of_squares);
  }
};

/// Returns sum / count correctly rounded: NaN when a NaN or both infinities were added, an
/// infinity when one was; nullopt for no events.
std::optional<double> average(const Moments& moments);

/// Returns the sample variance, sum((x - mean)^2) / (n - 1), correctly rounded: nullopt below 2
/// events, NaN when any value is NaN or infinite, +inf when it exceeds the double range.
std::optional<double> sample_variance(const Moments& moments);

/// Returns the population variance, sum((x - mean)^2) / n (0 for one event), as above.
std::optional<double> population_variance(const Moments& moments);

/// Returns sqrt(sample_variance) correctly rounded from the exact variance.
std::optional<double> sample_standard_deviation(const Moments& moments);

/// Returns sqrt(population_variance) correctly rounded from the exact variance.
std::optional<double> population_standard_deviation(const Moments& moments);

namespace exact {

/// Adds `time` to sum(t) (128-bit two's complement words) and its square to sum(t^2) (192-bit
/// words): the integer halves of trend sums, the same on a kernel thread and the host.
LDH_HOST_DEVICE LDH_FORCE_INLINE void add_time(std::uint64_t* times, std::uint64_t* time_squares,
                                               std::int64_t time) {
  const UInt128 sum = ((static_cast<UInt128>(times[1]) << 64) | times[0]) +
                      static_cast<UInt128>(static_cast<__int128>(time));
  times[0] = static_cast<std::uint64_t>(sum);
  times[1] = static_cast<std::uint64_t>(sum >> 64);
  const UInt128 magnitude =
      time < 0 ? 0 - static_cast<std::uint64_t>(time) : static_cast<std::uint64_t>(time);
  const UInt128 square = magnitude * magnitude;
  const UInt128 squares =
      ((static_cast<UInt128>(time_squares[1]) << 64) | time_squares[0]) + square;
  time_squares[2] += squares < square ? 1 : 0;
  time_squares[0] = static_cast<std::uint64_t>(squares);
  time_squares[1] = static_cast<std::uint64_t>(squares >> 64);
}

}  // namespace exact

/// sum(t), sum(t^2) and sum(t*x) of one measure in one window, t being an event's time in
/// nanoseconds relative to an origin of the caller's choice (the window start): the slope does
/// not depend on the origin, only the size of the sums does. 72 bytes in the common case. Feed
/// the same events to Moments::add.
class TrendSums {
 public:
  LDH_FORCE_INLINE void add(std::int64_t time, double x) {
    exact::add_time(times_, time_squares_, time);
    time_products_.add_scaled_integer(x, time);
  }

  void merge(const TrendSums& other);
  /// Adds sums made elsewhere (a device's or the host's partial of one chunk of rows): sum(t) as
  /// 128-bit two's complement words, sum(t^2) as 192-bit words, sum(t*x) and its special flags.
  void add_partial(const std::uint64_t* times, const std::uint64_t* time_squares,
                   exact::NumberView time_products, std::uint8_t flags);

  /// Adds `other`, whose times count from an origin `offset` ns after this one's (t here =
  /// t there + offset), for merging panes or sessions with different starts; `other_moments`
  /// are the Moments of other's events.
  void merge_shifted(const TrendSums& other, const Moments& other_moments, std::int64_t offset);

  /// Writes sum(t) (4 digits), sum(t^2) (6 digits) and sum(t*x) (exact::kNumberDigits) as views.
  exact::NumberView sum_of_times(std::uint32_t* digits) const;
  exact::NumberView sum_of_time_squares(std::uint32_t* digits) const;
  exact::NumberView sum_of_time_products(std::uint32_t* digits) const {
    return time_products_.to_number(digits);
  }

  std::size_t heap_bytes() const { return time_products_.heap_bytes(); }

  friend bool operator==(const TrendSums& a, const TrendSums& b) {
    return a.times_[0] == b.times_[0] && a.times_[1] == b.times_[1] &&
           a.time_squares_[0] == b.time_squares_[0] && a.time_squares_[1] == b.time_squares_[1] &&
           a.time_squares_[2] == b.time_squares_[2] && a.time_products_ == b.time_products_;
  }

 private:
  /// Returns the low 128 bits of little-endian words.
  static exact::UInt128 load(const std::uint64_t* words) {
    return (static_cast<exact::UInt128>(words[1]) << 64) | words[0];
  }

  // Words, not 128-bit members, so the struct stays 8-byte aligned and 72 bytes.
  std::uint64_t times_[2] = {0, 0};            // sum(t), 128-bit two's complement
  std::uint64_t time_squares_[3] = {0, 0, 0};  // sum(t^2), 192-bit unsigned
  ExactSum time_products_;
};

/// Returns the least-squares slope of x against event time in units per second, correctly
/// rounded: nullopt when all events share one time (or there are none), NaN when any x is NaN
/// or infinite (and there are two times).
std::optional<double> trend(const Moments& moments, const TrendSums& trend_sums);

}  // namespace ldh
