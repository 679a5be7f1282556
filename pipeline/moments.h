#pragma once

// avg, variance, stddev and trend from exact sums, each correctly rounded (round to nearest, ties
// to even) from the exact real value: the numerators n*sum(x^2) - sum(x)^2 and
// n*sum(t*x) - sum(t)*sum(x) are formed exactly with big-integer arithmetic on the digits of the
// sums, so no cancellation can lose bits, then divided (and square-rooted) exactly in integers
// with a sticky bit and rounded once. Where the sums and the numerator fit 256 bits (ordinary
// data) the same integers are formed in 64-bit words and divided with hardware division steps:
// the same quotient, sticky bit and exponent reach the one rounding, so the bits are the same.
// The cores in namespace exact are LDH_HOST_DEVICE, so a kernel finalising the same sums returns
// the same bits. docs/semantics.md states the rules.

#include <cstdint>
#include <optional>

#include "pipeline/exact_sum.h"

namespace ldh {
namespace exact {

/// Most digits a denominator may have (n*(n-1) has 4, n*sum(t^2) - sum(t)^2 at most 9).
inline constexpr int kDivisorDigits = 12;
/// Digits of the widest numerator, n*sum(x^2) - sum(x)^2 over the whole range, plus margin.
inline constexpr int kWideDigits = 2 * kNumberDigits + 10;
/// Quotient bits a division keeps: 53 kept, a guard bit and more; the rest is sticky.
inline constexpr int kQuotientBits = 66;
/// Least quotient bits under a square root: 114 or 115, so the root has 57 or 58.
inline constexpr int kRootQuotientBits = 114;

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
  const int shift = bit_length(denominator) + kQuotientBits - bit_length(numerator);
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

/// Returns floor(sqrt(value)) for value < 2^120 and sets `inexact` when value is not its square,
/// from `estimate`, a double within a few ulps of sqrt(value): one Newton step and exact integer
/// comparisons correct it, so the result is the exact floor whatever the estimate's ulps were.
LDH_HOST_DEVICE inline UInt128 integer_square_root(UInt128 value, double estimate, bool* inexact) {
  UInt128 root = static_cast<std::uint64_t>(estimate);
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

/// Returns floor(sqrt(value)) for value < 2^120 and sets `inexact` when value is not its square,
/// starting from the double square root (IEEE-exact on host and device).
LDH_HOST_DEVICE inline UInt128 integer_square_root(UInt128 value, bool* inexact) {
  return integer_square_root(value, math::sqrt(approximate_double(value)), inexact);
}

/// Returns sqrt(numerator / denominator) correctly rounded, for numerator >= 0 and a positive
/// denominator of at most kDivisorDigits digits.
LDH_HOST_DEVICE inline double square_root_of_quotient_rounded(NumberView numerator,
                                                              NumberView denominator) {
  if (numerator.size == 0) return 0.0;
  // An even shift giving a quotient of 114 or 115 bits, so the root has 57 or 58.
  int shift = bit_length(denominator) + kRootQuotientBits - bit_length(numerator);
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

// The word path: the same integers as ShortNumbers (at most 256 bits, two 128-bit halves the
// compiler keeps in registers), for sums that fit (ordinary data). Each function below computes
// what its digit counterpart computes; the finalisers take the digits wherever an operand would
// not fit.

/// Returns the number of bits of `value` (0 for zero).
LDH_HOST_DEVICE LDH_FORCE_INLINE int bit_length(UInt128 value) {
  const auto high = static_cast<std::uint64_t>(value >> 64);
  const auto low = static_cast<std::uint64_t>(value);
  if (high != 0) return 128 - leading_zeros(high);
  return low != 0 ? 64 - leading_zeros(low) : 0;
}

/// Returns the number of bits of |value| (0 for zero).
LDH_HOST_DEVICE LDH_FORCE_INLINE int bit_length(const ShortNumber& value) {
  return value.high != 0 ? 128 + bit_length(value.high) : bit_length(value.low);
}

/// Returns `value` as a ShortNumber (exponent 0).
LDH_HOST_DEVICE LDH_FORCE_INLINE ShortNumber integer_short_number(UInt128 value) {
  ShortNumber number;
  number.low = value;
  return number;
}

/// Shifts the magnitude of `value` left by `count` bits (0 <= count < 256), exponent unchanged;
/// the caller knows no set bit passes bit 255.
LDH_HOST_DEVICE LDH_FORCE_INLINE void shift_left(ShortNumber* value, int count) {
  if (count >= 128) {
    value->high = value->low << (count - 128);
    value->low = 0;
  } else if (count > 0) {
    value->high = (value->high << count) | (value->low >> (128 - count));
    value->low <<= count;
  }
}

/// Shifts the magnitude of `value` right by `count` bits (0 <= count < 256), exponent unchanged,
/// and tells whether a set bit fell off.
LDH_HOST_DEVICE LDH_FORCE_INLINE bool shift_right(ShortNumber* value, int count) {
  bool lost = false;
  if (count >= 128) {
    const int rest = count - 128;
    lost = value->low != 0 || (rest != 0 && (value->high << (128 - rest)) != 0);
    value->low = value->high >> rest;
    value->high = 0;
  } else if (count > 0) {
    lost = (value->low << (128 - count)) != 0;
    value->low = (value->low >> count) | (value->high << (128 - count));
    value->high >>= count;
  }
  return lost;
}

/// Multiplies the magnitude of `value` by 2^shift, truncating (-256 < shift < 256; no set bit
/// passes bit 255), exponent unchanged, and tells whether a set bit fell off.
LDH_HOST_DEVICE LDH_FORCE_INLINE bool shift_by(ShortNumber* value, int shift) {
  if (shift >= 0) {
    shift_left(value, shift);
    return false;
  }
  return shift_right(value, -shift);
}

/// Moves the trailing zero bits of `value` into its exponent (the same number), so products and
/// alignments need the fewest bits.
LDH_HOST_DEVICE LDH_FORCE_INLINE void drop_trailing_zeros(ShortNumber* value) {
  const UInt128 lowest = value->low != 0 ? value->low : value->high;
  if (lowest == 0) return;
  const auto low_word = static_cast<std::uint64_t>(lowest);
  const int zeros = (value->low != 0 ? 0 : 128) +
                    (low_word != 0 ? trailing_zeros(low_word)
                                   : 64 + trailing_zeros(static_cast<std::uint64_t>(lowest >> 64)));
  shift_right(value, zeros);
  value->exponent += zeros;
}

/// Writes a * b into `product` and returns true, or returns false, writing nothing, when the
/// product could need more than 256 bits even without the factors' trailing zeros.
LDH_HOST_DEVICE LDH_FORCE_INLINE bool multiply(ShortNumber a, ShortNumber b, ShortNumber* product) {
  int length_a = bit_length(a);
  int length_b = bit_length(b);
  if (length_a + length_b > 256) {
    drop_trailing_zeros(&a);
    drop_trailing_zeros(&b);
    length_a = bit_length(a);
    length_b = bit_length(b);
    if (length_a + length_b > 256) return false;
  }
  // a.low * b.low in full from 64-bit halves.
  const auto a0 = static_cast<std::uint64_t>(a.low);
  const auto a1 = static_cast<std::uint64_t>(a.low >> 64);
  const auto b0 = static_cast<std::uint64_t>(b.low);
  const auto b1 = static_cast<std::uint64_t>(b.low >> 64);
  const UInt128 p00 = static_cast<UInt128>(a0) * b0;
  const UInt128 p01 = static_cast<UInt128>(a0) * b1;
  const UInt128 p10 = static_cast<UInt128>(a1) * b0;
  const UInt128 middle = (p00 >> 64) + static_cast<std::uint64_t>(p01) +
                         static_cast<std::uint64_t>(p10);  // below 3 * 2^64
  UInt128 high = static_cast<UInt128>(a1) * b1 + (p01 >> 64) + (p10 >> 64) + (middle >> 64);
  // The product is below 2^256, so a.high * b.high is 0 and the cross terms count modulo 2^128.
  if (a.high != 0 || b.high != 0) high += a.low * b.high + a.high * b.low;
  product->low = (middle << 64) | static_cast<std::uint64_t>(p00);
  product->high = high;
  product->exponent = a.exponent + b.exponent;
  product->negative = length_a != 0 && length_b != 0 && a.negative != b.negative;
  return true;
}

/// Tells whether a and b, aligned to the lower exponent, leave bit 255 free (for the carry of a
/// sum).
LDH_HOST_DEVICE LDH_FORCE_INLINE bool aligned_fit(const ShortNumber& a, const ShortNumber& b) {
  const int exponent = a.exponent < b.exponent ? a.exponent : b.exponent;
  return bit_length(a) + (a.exponent - exponent) <= 255 &&
         bit_length(b) + (b.exponent - exponent) <= 255;
}

/// Writes a - b into `difference` and returns true, or returns false, writing nothing, when the
/// operands aligned to one exponent could need more than 256 bits even without their trailing
/// zeros.
LDH_HOST_DEVICE LDH_FORCE_INLINE bool subtract(ShortNumber a, ShortNumber b,
                                               ShortNumber* difference) {
  if (bit_length(b) == 0) {
    *difference = a;
    return true;
  }
  if (bit_length(a) == 0) {
    *difference = b;
    difference->negative = !b.negative;
    return true;
  }
  if (!aligned_fit(a, b)) {
    drop_trailing_zeros(&a);
    drop_trailing_zeros(&b);
    if (!aligned_fit(a, b)) return false;
  }
  const int exponent = a.exponent < b.exponent ? a.exponent : b.exponent;
  shift_left(&a, a.exponent - exponent);
  shift_left(&b, b.exponent - exponent);
  difference->exponent = exponent;
  if (a.negative != b.negative) {  // a - b = sign(a) * (|a| + |b|)
    difference->low = a.low + b.low;
    difference->high = a.high + b.high + (difference->low < a.low ? 1 : 0);
    difference->negative = a.negative;
    return true;
  }
  // Same signs: the smaller magnitude from the larger (halves picked by value, so the operands
  // can stay in registers).
  const bool a_larger = a.high != b.high ? a.high > b.high : a.low >= b.low;
  const UInt128 larger_low = a_larger ? a.low : b.low;
  const UInt128 larger_high = a_larger ? a.high : b.high;
  const UInt128 smaller_low = a_larger ? b.low : a.low;
  const UInt128 smaller_high = a_larger ? b.high : a.high;
  difference->low = larger_low - smaller_low;
  difference->high = larger_high - smaller_high - (larger_low < smaller_low ? 1 : 0);
  difference->negative =
      (difference->low | difference->high) != 0 && (a_larger ? a.negative : !a.negative);
  return true;
}

/// Returns (high:low) / divisor and writes the remainder, for high < divisor (the quotient fits a
/// word): one hardware division step.
LDH_HOST_DEVICE LDH_FORCE_INLINE std::uint64_t divide_word(std::uint64_t high, std::uint64_t low,
                                                           std::uint64_t divisor,
                                                           std::uint64_t* remainder) {
#if defined(__x86_64__) && !defined(__CUDA_ARCH__)
  // One divq: for a 128-bit dividend GCC calls __udivti3, which cannot know the quotient fits.
  std::uint64_t quotient = 0;
  __asm__("divq %[divisor]"
          : "=a"(quotient), "=d"(*remainder)
          : [divisor] "r"(divisor), "a"(low), "d"(high));
  return quotient;
#else
  const UInt128 dividend = (static_cast<UInt128>(high) << 64) | low;
  const auto quotient = static_cast<std::uint64_t>(dividend / divisor);
  *remainder = low - quotient * divisor;  // below 2^64, so exact modulo 2^64
  return quotient;
#endif
}

/// Divides (remainder:next) by the normalised `divisor` (bit 127 set, remainder < divisor): one
/// step of Knuth's algorithm D in base 2^64. Returns the quotient word and leaves the new
/// remainder in `remainder`.
LDH_HOST_DEVICE LDH_FORCE_INLINE std::uint64_t divide_step(UInt128* remainder, std::uint64_t next,
                                                           UInt128 divisor) {
  const auto top = static_cast<std::uint64_t>(*remainder >> 64);
  const auto middle = static_cast<std::uint64_t>(*remainder);
  const auto divisor_top = static_cast<std::uint64_t>(divisor >> 64);
  const auto divisor_low = static_cast<std::uint64_t>(divisor);
  // The estimate from the top words is at most 2 too large.
  UInt128 estimate = 0;
  std::uint64_t rest_word = 0;
  if (top < divisor_top) {
    estimate = divide_word(top, middle, divisor_top, &rest_word);
  } else {  // top == divisor_top: the estimate reaches 2^64
    estimate = (static_cast<UInt128>(1) << 64) + middle / divisor_top;
    rest_word = middle % divisor_top;
  }
  // With a two-word divisor this test compares the whole product estimate * divisor with
  // (remainder:next), so it leaves the exact quotient word: no step adds the divisor back.
  UInt128 rest = rest_word;
  while ((estimate >> 64) != 0 || estimate * divisor_low > ((rest << 64) | next)) {
    --estimate;
    rest += divisor_top;
    if ((rest >> 64) != 0) break;
  }
  const auto digit = static_cast<std::uint64_t>(estimate);
  // The new remainder lies below the divisor, so modulo 2^128 it is exact.
  *remainder = ((*remainder << 64) | next) - static_cast<UInt128>(digit) * divisor;
  return digit;
}

/// Returns floor(|numerator| * 2^shift / |denominator|) and sets `inexact` when that floor is
/// not the exact quotient, as quotient_bits on digits does, for a denominator below 2^128, a
/// shifted numerator below 2^256 and a quotient below 2^128.
LDH_HOST_DEVICE LDH_FORCE_INLINE UInt128 quotient_bits(ShortNumber numerator,
                                                       const ShortNumber& denominator, int shift,
                                                       bool* inexact) {
  // The quotient is below 2^128, so the shifted numerator's high half is below the divisor: the
  // long division starts there.
  const UInt128 divisor = denominator.low;
  const auto divisor_top = static_cast<std::uint64_t>(divisor >> 64);
  UInt128 quotient = 0;
  bool lost_bits = false;
  bool remainder = false;
  if (divisor_top == 0) {
    lost_bits = shift_by(&numerator, shift);
    const auto word = static_cast<std::uint64_t>(divisor);
    auto rest = static_cast<std::uint64_t>(numerator.high);
    const std::uint64_t high =
        divide_word(rest, static_cast<std::uint64_t>(numerator.low >> 64), word, &rest);
    const std::uint64_t low =
        divide_word(rest, static_cast<std::uint64_t>(numerator.low), word, &rest);
    quotient = (static_cast<UInt128>(high) << 64) | low;
    remainder = rest != 0;
  } else {
    // divide_step needs the divisor's top bit set. Shifting the numerator along in the same
    // step keeps more of its bits, which changes neither the floor nor whether it is exact:
    // floor(floor(x) / m) = floor(x / m), and x / m is an integer only if x is.
    const int normalise = leading_zeros(divisor_top);
    const UInt128 normalised = divisor << normalise;
    lost_bits = shift_by(&numerator, shift + normalise);
    UInt128 rest = numerator.high;
    const std::uint64_t high =
        divide_step(&rest, static_cast<std::uint64_t>(numerator.low >> 64), normalised);
    const std::uint64_t low =
        divide_step(&rest, static_cast<std::uint64_t>(numerator.low), normalised);
    quotient = (static_cast<UInt128>(high) << 64) | low;
    remainder = rest != 0;
  }
  *inexact = lost_bits || remainder;
  return quotient;
}

/// Returns numerator / denominator correctly rounded, as divide_rounded on digits does: the same
/// quotient, sticky bit and exponent. The denominator is positive and below 2^128.
LDH_HOST_DEVICE LDH_FORCE_INLINE double divide_rounded(const ShortNumber& numerator,
                                                       const ShortNumber& denominator) {
  const int length = bit_length(numerator);
  if (length == 0) return 0.0;
  // bit_length + exponent is the same on digits and here, so this is the digits' quotient.
  const int shift = bit_length(denominator) + kQuotientBits - length;
  bool inexact = false;
  const UInt128 quotient = quotient_bits(numerator, denominator, shift, &inexact);
  return round_wide(quotient, inexact, numerator.exponent - denominator.exponent - shift,
                    numerator.negative != denominator.negative);
}

/// Returns sqrt(numerator / denominator) correctly rounded, as square_root_of_quotient_rounded
/// on digits does, for numerator >= 0 and a positive denominator below 2^128.
LDH_HOST_DEVICE LDH_FORCE_INLINE double square_root_of_quotient_rounded(
    const ShortNumber& numerator, const ShortNumber& denominator) {
  const int length = bit_length(numerator);
  if (length == 0) return 0.0;
  // The scaled quotient's exponent must be even; digit exponents are, so there the parity of
  // the shift alone decides.
  int shift = bit_length(denominator) + kRootQuotientBits - length;
  shift += (numerator.exponent - denominator.exponent - shift) & 1;
  // The root's double estimate does not wait for the exact division, which it runs beside.
  const double estimate = math::sqrt(math::scale_by_power_of_two(
      (approximate_double(numerator.high) * 0x1p128 + approximate_double(numerator.low)) /
          approximate_double(denominator.low),
      shift));
  bool inexact_quotient = false;
  const UInt128 quotient = quotient_bits(numerator, denominator, shift, &inexact_quotient);
  bool inexact_root = false;
  const UInt128 root = integer_square_root(quotient, estimate, &inexact_root);
  return round_wide(root, inexact_quotient || inexact_root,
                    (numerator.exponent - denominator.exponent - shift) / 2, false);
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

/// Returns deviation_quotient by the digit path alone: any sums, the reference the word path is
/// tested against.
LDH_HOST_DEVICE inline double deviation_quotient_by_digits(std::uint64_t count, NumberView sum,
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

/// Computes deviation_quotient by the word path: writes the same result and returns true, or
/// returns false, writing nothing, when sum(x)^2, n*sum(x^2) or their difference could need more
/// than 256 bits.
LDH_HOST_DEVICE LDH_FORCE_INLINE bool deviation_quotient_by_words(std::uint64_t count,
                                                                  ShortNumber sum,
                                                                  const ShortNumber& sum_of_squares,
                                                                  bool sample, bool root,
                                                                  double* result) {
  // An inline sum's window starts well below its lowest set bit: dropping those zeros once here
  // spares the product dropping them from both factors.
  drop_trailing_zeros(&sum);
  ShortNumber squared_sum;
  ShortNumber scaled_squares;
  ShortNumber deviations;
  if (!multiply(sum, sum, &squared_sum) ||
      !multiply(sum_of_squares, integer_short_number(count), &scaled_squares) ||
      !subtract(scaled_squares, squared_sum, &deviations)) {
    return false;
  }
  // Below 2^128, as both roundings need.
  const ShortNumber denominator =
      integer_short_number(static_cast<UInt128>(count) * (sample ? count - 1 : count));
  *result = root ? square_root_of_quotient_rounded(deviations, denominator)
                 : divide_rounded(deviations, denominator);
  return true;
}

/// Returns the exact quotient sum((x - mean)^2) / (count - 1) (sample) or / count, correctly
/// rounded, or its square root correctly rounded (`root`), from the exact sum and sum of squares:
/// by the word path where the sums fit it, else by the digits.
LDH_HOST_DEVICE inline double deviation_quotient(std::uint64_t count, NumberView sum,
                                                 NumberView sum_of_squares, bool sample,
                                                 bool root) {
  ShortNumber short_sum;
  ShortNumber short_squares;
  double result = 0.0;
  if (short_number(sum, &short_sum) && short_number(sum_of_squares, &short_squares) &&
      deviation_quotient_by_words(count, short_sum, short_squares, sample, root, &result)) {
    return result;
  }
  return deviation_quotient_by_digits(count, sum, sum_of_squares, sample, root);
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

/// Returns average_value by the digit path alone (the reference the word path is tested against).
LDH_HOST_DEVICE inline double average_value_by_digits(std::uint64_t count, NumberView sum) {
  std::uint32_t denominator[4];
  return divide_rounded(sum, integer_number(count, false, denominator));
}

/// Returns average_value by the word path (any ShortNumber sum).
LDH_HOST_DEVICE LDH_FORCE_INLINE double average_value_by_words(std::uint64_t count,
                                                               const ShortNumber& sum) {
  return divide_rounded(sum, integer_short_number(count));
}

/// Returns the exact mean sum / count correctly rounded (count >= 1).
LDH_HOST_DEVICE inline double average_value(std::uint64_t count, NumberView sum) {
  ShortNumber short_sum;
  return short_number(sum, &short_sum) ? average_value_by_words(count, short_sum)
                                       : average_value_by_digits(count, sum);
}

/// Computes trend_value by the digit path alone (the reference the word path is tested against).
LDH_HOST_DEVICE inline bool trend_value_by_digits(std::uint64_t count, NumberView sum,
                                                  NumberView sum_of_times,
                                                  NumberView sum_of_time_squares,
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

/// Computes trend_value by the word path: sets `has_slope` to what trend_value returns, writes
/// the same slope when there is one and returns true; returns false, writing nothing, when a
/// product or difference could need more than 256 bits or the denominator more than 128.
LDH_HOST_DEVICE LDH_FORCE_INLINE bool trend_value_by_words(std::uint64_t count,
                                                           const ShortNumber& sum,
                                                           const ShortNumber& sum_of_times,
                                                           const ShortNumber& sum_of_time_squares,
                                                           const ShortNumber& sum_of_time_products,
                                                           bool* has_slope, double* slope) {
  const ShortNumber events = integer_short_number(count);
  ShortNumber times_squared;
  ShortNumber scaled_squares;
  ShortNumber spread;
  if (!multiply(sum_of_times, sum_of_times, &times_squared) ||
      !multiply(sum_of_time_squares, events, &scaled_squares) ||
      !subtract(scaled_squares, times_squared, &spread)) {
    return false;
  }
  if (bit_length(spread) == 0) {
    *has_slope = false;
    return true;
  }
  ShortNumber cross;
  ShortNumber scaled_products;
  ShortNumber covariance;
  ShortNumber per_second;
  if (spread.high != 0 || !multiply(sum_of_times, sum, &cross) ||
      !multiply(sum_of_time_products, events, &scaled_products) ||
      !subtract(scaled_products, cross, &covariance) ||
      !multiply(covariance, integer_short_number(1'000'000'000), &per_second)) {
    return false;
  }
  *slope = divide_rounded(per_second, spread);
  *has_slope = true;
  return true;
}

/// Computes the least-squares slope of x against t in units per second (t in nanoseconds):
/// 1e9 * (n*sum(t*x) - sum(t)*sum(x)) / (n*sum(t^2) - sum(t)^2), correctly rounded, by the word
/// path where the sums fit it, else by the digits. Returns false (no slope) when the denominator
/// is 0: fewer than two distinct times.
LDH_HOST_DEVICE inline bool trend_value(std::uint64_t count, NumberView sum,
                                        NumberView sum_of_times, NumberView sum_of_time_squares,
                                        NumberView sum_of_time_products, double* slope) {
  ShortNumber numbers[4];
  bool has_slope = false;
  if (short_number(sum, &numbers[0]) && short_number(sum_of_times, &numbers[1]) &&
      short_number(sum_of_time_squares, &numbers[2]) &&
      short_number(sum_of_time_products, &numbers[3]) &&
      trend_value_by_words(count, numbers[0], numbers[1], numbers[2], numbers[3], &has_slope,
                           slope)) {
    return has_slope;
  }
  return trend_value_by_digits(count, sum, sum_of_times, sum_of_time_squares, sum_of_time_products,
                               slope);
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
/// Returns the average of `count` values whose exact sum is `sum`, as above.
std::optional<double> average(std::uint64_t count, const ExactSum& sum);

/// Returns the sample variance, sum((x - mean)^2) / (n - 1), correctly rounded: nullopt below 2
/// events, NaN when any value is NaN or infinite, +inf when it exceeds the double range.
std::optional<double> sample_variance(const Moments& moments);

/// Returns the population variance, sum((x - mean)^2) / n (0 for one event), as above.
std::optional<double> population_variance(const Moments& moments);

/// Returns sqrt(sample_variance) correctly rounded from the exact variance.
std::optional<double> sample_standard_deviation(const Moments& moments);

/// Returns sqrt(population_variance) correctly rounded from the exact variance.
std::optional<double> population_standard_deviation(const Moments& moments);

/// Returns the sample (`sample`) or population variance of `count` values whose exact sum and
/// sum of squares are given, or with `root` its square root, as the four above do.
std::optional<double> deviation(std::uint64_t count, const ExactSum& sum,
                                const ExactSum& sum_of_squares, bool sample, bool root);

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
  /// t there + offset), for merging panes or sessions with different starts; `other_count` and
  /// `other_sum` are the count and exact sum of other's values.
  void merge_shifted(const TrendSums& other, std::uint64_t other_count, const ExactSum& other_sum,
                     std::int64_t offset);

  /// Writes sum(t) (4 digits), sum(t^2) (6 digits) and sum(t*x) (exact::kNumberDigits) as views.
  exact::NumberView sum_of_times(std::uint32_t* digits) const;
  exact::NumberView sum_of_time_squares(std::uint32_t* digits) const;
  exact::NumberView sum_of_time_products(std::uint32_t* digits) const {
    return time_products_.to_number(digits);
  }
  /// Returns sum(t) and sum(t^2) as ShortNumbers (exponent 0).
  exact::ShortNumber sum_of_times() const;
  exact::ShortNumber sum_of_time_squares() const;
  /// Writes sum(t*x) as a ShortNumber and returns true when it is inline
  /// (ExactSum::to_short_number).
  bool sum_of_time_products(exact::ShortNumber* number) const {
    return time_products_.to_short_number(number);
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
/// Returns the slope as above for `count` values whose exact sum is `sum`.
std::optional<double> trend(std::uint64_t count, const ExactSum& sum, const TrendSums& trend_sums);

}  // namespace ldh
