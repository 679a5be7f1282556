#pragma once

// Exact sums of doubles and of products of doubles, kept as integers so that adding in any order,
// on any thread, on the CPU or a GPU, and merging partial sums in any order gives the same value,
// then rounded to double once, correctly (round to nearest, ties to even).
//
// Every finite double is an integer mantissa times a power of two, and so is the exact product of
// two doubles (a 106-bit mantissa product). ldh fixes one global binary point: global bit g
// weighs 2^(g - kBiasBits), and g = 0 lies below the lowest bit of any product of two doubles
// (2^-2148), so every term is an integer in that scale.
//
// Two containers hold such sums:
//  - exact::DenseExactSum covers the whole range with 136 int64 limbs of 32-bit digits in
//    carry-save form (no carries on add, so a kernel may add digits with integer atomics); it
//    and everything in namespace exact are LDH_HOST_DEVICE, so a kernel reproduces the bits.
//  - ExactSum (host) is 32 bytes: a 192-bit two's-complement window at a movable base covers
//    what sensor data needs (values, their squares, their products with times); it moves the
//    window when a value falls outside, and moves to a heap DenseExactSum only when the values
//    span more than 175 bits.
// Both reach the same exact value, so every result computed from them is the same.

#include <cstddef>
#include <cstdint>

#include "pipeline/host_device.h"
#include "pipeline/math.h"

namespace ldh {
namespace exact {

using UInt128 = unsigned __int128;

inline constexpr int kDigitBits = 32;
/// Global bit g weighs 2^(g - kBiasBits); a multiple of 32, so digit boundaries are global.
inline constexpr int kBiasBits = 2176;
/// Dense limbs: limb k holds global bits [32k, 32k + 32); products reach below 2^4224, sums of
/// 2^64 of them below 2^4288, so 136 limbs leave room for the signed carry in the top limb.
inline constexpr int kDenseLimbs = 136;
/// Digits of the magnitude of any accumulator (one more than the limbs, for the carry).
inline constexpr int kNumberDigits = kDenseLimbs + 1;
/// Terms a DenseExactSum takes between normalisations: each adds less than 2^32 to a limb.
inline constexpr std::uint32_t kDensePendingLimit = 1u << 30;

/// Records that NaN or an infinity was added: sums of specials follow IEEE, whatever the order.
inline constexpr std::uint8_t kSawNan = 1;
inline constexpr std::uint8_t kSawPositiveInfinity = 2;
inline constexpr std::uint8_t kSawNegativeInfinity = 4;

inline constexpr std::uint64_t kFractionMask = 0x000fffffffffffffULL;
inline constexpr std::uint64_t kImplicitBit = 0x0010000000000000ULL;

LDH_HOST_DEVICE LDH_FORCE_INLINE int leading_zeros(std::uint64_t x) {  // x != 0
#if defined(__CUDA_ARCH__)
  return __clzll(static_cast<long long>(x));
#else
  return __builtin_clzll(x);
#endif
}

LDH_HOST_DEVICE LDH_FORCE_INLINE int leading_zeros(std::uint32_t x) {  // x != 0
#if defined(__CUDA_ARCH__)
  return __clz(static_cast<int>(x));
#else
  return __builtin_clz(x);
#endif
}

LDH_HOST_DEVICE LDH_FORCE_INLINE int trailing_zeros(std::uint64_t x) {  // x != 0
#if defined(__CUDA_ARCH__)
  return __ffsll(static_cast<long long>(x)) - 1;
#else
  return __builtin_ctzll(x);
#endif
}

LDH_HOST_DEVICE LDH_FORCE_INLINE int trailing_zeros(std::uint32_t x) {  // x != 0
#if defined(__CUDA_ARCH__)
  return __ffs(static_cast<int>(x)) - 1;
#else
  return __builtin_ctz(x);
#endif
}

LDH_HOST_DEVICE LDH_FORCE_INLINE bool is_finite(double x) {
  return ((math::to_bits(x) >> 52) & 0x7ff) != 0x7ff;
}

/// Returns the flag that records the non-finite `x`.
LDH_HOST_DEVICE LDH_FORCE_INLINE std::uint8_t special_flag(double x) {
  if (math::is_nan(x)) return kSawNan;
  return x > 0 ? kSawPositiveInfinity : kSawNegativeInfinity;
}

/// Returns what IEEE addition gives for a sum whose non-finite terms are `flags` (not 0): NaN
/// when there was a NaN or both infinities, else that infinity.
LDH_HOST_DEVICE LDH_FORCE_INLINE double special_sum(std::uint8_t flags) {
  if ((flags & kSawNan) != 0 || (flags & (kSawPositiveInfinity | kSawNegativeInfinity)) ==
                                    (kSawPositiveInfinity | kSawNegativeInfinity)) {
    return math::quiet_nan();
  }
  return (flags & kSawPositiveInfinity) != 0 ? math::infinity() : -math::infinity();
}

/// One exact term: (high:low) * 2^(position - kBiasBits), negated when `negative`.
struct Term {
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  int position = 0;
  bool negative = false;
};

/// Returns finite `x` as a term: its integer mantissa at the global position of its last bit.
LDH_HOST_DEVICE LDH_FORCE_INLINE Term term_of(double x) {
  const std::uint64_t bits = math::to_bits(x);
  const int biased = static_cast<int>((bits >> 52) & 0x7ff);
  Term term;
  term.low = (bits & kFractionMask) | (biased != 0 ? kImplicitBit : 0);
  term.position = (biased != 0 ? biased : 1) - 1075 + kBiasBits;
  term.negative = (bits >> 63) != 0;
  return term;
}

/// Returns the exact product of finite `a` and `b` (the mantissas multiplied as integers, so no
/// overflow or underflow can occur).
LDH_HOST_DEVICE LDH_FORCE_INLINE Term product_term(double a, double b) {
  const Term ta = term_of(a);
  const Term tb = term_of(b);
  const UInt128 product = static_cast<UInt128>(ta.low) * tb.low;
  Term term;
  term.low = static_cast<std::uint64_t>(product);
  term.high = static_cast<std::uint64_t>(product >> 64);
  term.position = ta.position + tb.position - kBiasBits;
  term.negative = ta.negative != tb.negative;
  return term;
}

/// Returns finite `x` times `factor` exactly.
LDH_HOST_DEVICE LDH_FORCE_INLINE Term scaled_integer_term(double x, std::int64_t factor) {
  const Term tx = term_of(x);
  const std::uint64_t magnitude =
      factor < 0 ? 0 - static_cast<std::uint64_t>(factor) : static_cast<std::uint64_t>(factor);
  const UInt128 product = static_cast<UInt128>(tx.low) * magnitude;
  Term term;
  term.low = static_cast<std::uint64_t>(product);
  term.high = static_cast<std::uint64_t>(product >> 64);
  term.position = tx.position;
  term.negative = tx.negative != (factor < 0);
  return term;
}

/// An exact signed number: digits (little-endian, 32 bits each) times 2^exponent. `exponent` is
/// a multiple of 32; normalised views have no zero digit at either end (zero has size 0).
struct NumberView {
  const std::uint32_t* digits = nullptr;
  int size = 0;
  int exponent = 0;
  bool negative = false;
};

/// Returns the view of `digits` without zero digits at either end.
LDH_HOST_DEVICE inline NumberView trimmed(const std::uint32_t* digits, int size, int exponent,
                                          bool negative) {
  while (size > 0 && digits[size - 1] == 0) --size;
  while (size > 0 && digits[0] == 0) {
    ++digits;
    --size;
    exponent += kDigitBits;
  }
  return NumberView{digits, size, exponent, size > 0 && negative};
}

/// Writes `term` as digits (5 suffice) and returns their view.
LDH_HOST_DEVICE inline NumberView term_number(const Term& term, std::uint32_t* digits) {
  const int shift = term.position & 31;
  const std::uint64_t w0 = term.low << shift;
  const std::uint64_t w1 = (term.high << shift) | ((term.low >> 1) >> (63 - shift));
  const std::uint64_t w2 = (term.high >> 1) >> (63 - shift);
  digits[0] = static_cast<std::uint32_t>(w0);
  digits[1] = static_cast<std::uint32_t>(w0 >> 32);
  digits[2] = static_cast<std::uint32_t>(w1);
  digits[3] = static_cast<std::uint32_t>(w1 >> 32);
  digits[4] = static_cast<std::uint32_t>(w2);
  return trimmed(digits, 5, (term.position >> 5) * kDigitBits - kBiasBits, term.negative);
}

/// Writes the magnitude `words` (`count` <= 3, little-endian) times 2^(global bit `lowest` -
/// kBiasBits) as digits (2 * count + 2 of them) on the global digit grid and returns its view.
LDH_HOST_DEVICE inline NumberView words_number(const std::uint64_t* words, int count, int lowest,
                                               bool negative, std::uint32_t* digits) {
  const int shift = lowest & 31;
  std::uint64_t aligned[4] = {0, 0, 0, 0};
  for (int i = 0; i < count; ++i) {
    aligned[i] |= words[i] << shift;
    if (shift != 0) aligned[i + 1] = words[i] >> (64 - shift);
  }
  for (int i = 0; i <= count; ++i) {
    digits[2 * i] = static_cast<std::uint32_t>(aligned[i]);
    digits[2 * i + 1] = static_cast<std::uint32_t>(aligned[i] >> 32);
  }
  return trimmed(digits, 2 * count + 2, (lowest - shift) - kBiasBits, negative);
}

/// Returns the number of bits of |value| (0 for zero).
LDH_HOST_DEVICE inline int bit_length(NumberView value) {
  if (value.size == 0) return 0;
  return kDigitBits * value.size - leading_zeros(value.digits[value.size - 1]);
}

/// Returns digit `index` of `value` shifted up by `shift` digits (zero outside).
LDH_HOST_DEVICE LDH_FORCE_INLINE std::uint32_t digit_at(NumberView value, int shift, int index) {
  const int source = index - shift;
  return source >= 0 && source < value.size ? value.digits[source] : 0;
}

/// Returns 32 bits of |value| starting at bit `bit` (which may be negative: zeros below bit 0).
LDH_HOST_DEVICE inline std::uint32_t bits_at(NumberView value, int bit) {
  if (bit <= -kDigitBits) return 0;
  if (bit < 0) return digit_at(value, 0, 0) << -bit;
  const int index = bit >> 5;
  const int shift = bit & 31;
  const std::uint64_t pair = static_cast<std::uint64_t>(digit_at(value, 0, index)) |
                             (static_cast<std::uint64_t>(digit_at(value, 0, index + 1)) << 32);
  return static_cast<std::uint32_t>(pair >> shift);
}

/// Tells whether any bit of |value| below bit `bit` is set.
LDH_HOST_DEVICE inline bool any_bits_below(NumberView value, int bit) {
  if (bit <= 0) return false;
  const int index = bit >> 5;
  for (int i = 0; i < index && i < value.size; ++i) {
    if (value.digits[i] != 0) return true;
  }
  const int shift = bit & 31;
  return shift != 0 && index < value.size && (value.digits[index] & ((1u << shift) - 1)) != 0;
}

/// Rounds (top + f) * 2^(top_exponent - 63) to the nearest double, ties to even, where bit 63 of
/// `top` is set and 0 <= f < 1 is nonzero exactly when `sticky`. One rounding, into the
/// subnormal range too; magnitudes from 2^1024 (less half an ulp) on give infinity.
LDH_HOST_DEVICE inline double round_bits(std::uint64_t top, bool sticky, int top_exponent,
                                         bool negative) {
  const std::uint64_t sign = negative ? 0x8000000000000000ULL : 0;
  if (top_exponent > 1023) return math::from_bits(sign | 0x7ff0000000000000ULL);
  const int drop = top_exponent >= -1022 ? 11 : -1011 - top_exponent;
  if (drop > 64) return math::from_bits(sign);
  std::uint64_t kept = 0;
  if (drop == 64) {
    // The value lies in [2^-1075, 2^-1074): exactly half of the smallest subnormal ties to 0.
    kept = (top != 0x8000000000000000ULL || sticky) ? 1 : 0;
  } else {
    kept = top >> drop;
    const std::uint64_t rest = top & ((std::uint64_t{1} << drop) - 1);
    const std::uint64_t half = std::uint64_t{1} << (drop - 1);
    if (rest > half || (rest == half && (sticky || (kept & 1) != 0))) ++kept;
  }
  // A normal mantissa of 2^53 after rounding up carries into the exponent (and into infinity);
  // a subnormal one of 2^52 becomes the smallest normal: both fall out of the addition.
  const std::uint64_t bits =
      top_exponent >= -1022 ? (static_cast<std::uint64_t>(top_exponent + 1022) << 52) + kept : kept;
  return math::from_bits(sign | bits);
}

/// Rounds (magnitude + f) * 2^exponent to double, with f as in round_bits; `magnitude` != 0.
LDH_HOST_DEVICE inline double round_wide(UInt128 magnitude, bool sticky, int exponent,
                                         bool negative) {
  const std::uint64_t high = static_cast<std::uint64_t>(magnitude >> 64);
  const int length = high != 0 ? 128 - leading_zeros(high)
                               : 64 - leading_zeros(static_cast<std::uint64_t>(magnitude));
  std::uint64_t top = 0;
  if (length > 64) {
    const int shift = length - 64;
    top = static_cast<std::uint64_t>(magnitude >> shift);
    sticky = sticky || (magnitude & ((UInt128{1} << shift) - 1)) != 0;
  } else {
    top = static_cast<std::uint64_t>(magnitude) << (64 - length);
  }
  return round_bits(top, sticky, exponent + length - 1, negative);
}

/// Returns `value` correctly rounded to double (an exact zero is +0.0).
LDH_HOST_DEVICE inline double round_to_double(NumberView value) {
  if (value.size == 0) return 0.0;
  const int length = bit_length(value);
  const int shift = length - 64;
  std::uint64_t top = 0;
  bool sticky = false;
  if (shift <= 0) {
    const std::uint64_t low = static_cast<std::uint64_t>(digit_at(value, 0, 0)) |
                              (static_cast<std::uint64_t>(digit_at(value, 0, 1)) << 32);
    top = low << -shift;
  } else {
    top = static_cast<std::uint64_t>(bits_at(value, shift)) |
          (static_cast<std::uint64_t>(bits_at(value, shift + 32)) << 32);
    sticky = any_bits_below(value, shift);
  }
  return round_bits(top, sticky, value.exponent + length - 1, value.negative);
}

/// Writes a * b into `out` (a.size + b.size digits) and returns its view.
LDH_HOST_DEVICE inline NumberView multiply(NumberView a, NumberView b, std::uint32_t* out) {
  const int size = a.size + b.size;
  for (int i = 0; i < size; ++i) out[i] = 0;
  for (int i = 0; i < a.size; ++i) {
    std::uint64_t carry = 0;
    const std::uint64_t digit = a.digits[i];
    for (int j = 0; j < b.size; ++j) {
      const std::uint64_t t = digit * b.digits[j] + out[i + j] + carry;
      out[i + j] = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
    out[i + b.size] = static_cast<std::uint32_t>(carry);
  }
  return trimmed(out, size, a.exponent + b.exponent, a.negative != b.negative);
}

/// Writes a * factor into `out` (a.size + 2 digits) and returns its view.
LDH_HOST_DEVICE inline NumberView multiply(NumberView a, std::uint64_t factor, std::uint32_t* out) {
  const std::uint32_t factor_digits[2] = {static_cast<std::uint32_t>(factor),
                                          static_cast<std::uint32_t>(factor >> 32)};
  return multiply(a, trimmed(factor_digits, 2, 0, false), out);
}

/// Returns the number of digits a - b may need in subtract(): the aligned length plus a carry.
LDH_HOST_DEVICE inline int difference_digits(NumberView a, NumberView b) {
  const int exponent = a.exponent < b.exponent ? a.exponent : b.exponent;
  const int length_a = a.size + (a.exponent - exponent) / kDigitBits;
  const int length_b = b.size + (b.exponent - exponent) / kDigitBits;
  return (length_a > length_b ? length_a : length_b) + 1;
}

/// Writes a - b into `out` (difference_digits(a, b) digits) and returns its view.
LDH_HOST_DEVICE inline NumberView subtract(NumberView a, NumberView b, std::uint32_t* out) {
  if (a.size == 0 && b.size == 0) return NumberView{out, 0, 0, false};
  int exponent = a.exponent < b.exponent ? a.exponent : b.exponent;
  if (a.size == 0) exponent = b.exponent;
  if (b.size == 0) exponent = a.exponent;
  const int shift_a = a.size == 0 ? 0 : (a.exponent - exponent) / kDigitBits;
  const int shift_b = b.size == 0 ? 0 : (b.exponent - exponent) / kDigitBits;
  const int length_a = a.size + shift_a;
  const int length_b = b.size + shift_b;
  const int length = length_a > length_b ? length_a : length_b;
  const bool b_negative = !b.negative;  // a - b = a + (-b)
  if (a.negative == b_negative || a.size == 0 || b.size == 0) {
    std::uint64_t carry = 0;
    for (int i = 0; i < length; ++i) {
      const std::uint64_t t =
          static_cast<std::uint64_t>(digit_at(a, shift_a, i)) + digit_at(b, shift_b, i) + carry;
      out[i] = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
    out[length] = static_cast<std::uint32_t>(carry);
    return trimmed(out, length + 1, exponent, a.size != 0 ? a.negative : b_negative);
  }
  // Opposite signs: subtract the smaller magnitude from the larger.
  int order = 0;
  for (int i = length - 1; i >= 0 && order == 0; --i) {
    const std::uint32_t da = digit_at(a, shift_a, i);
    const std::uint32_t db = digit_at(b, shift_b, i);
    if (da != db) order = da > db ? 1 : -1;
  }
  if (order == 0) return NumberView{out, 0, 0, false};
  const NumberView larger = order > 0 ? a : b;
  const NumberView smaller = order > 0 ? b : a;
  const int shift_larger = order > 0 ? shift_a : shift_b;
  const int shift_smaller = order > 0 ? shift_b : shift_a;
  std::int64_t borrow = 0;
  for (int i = 0; i < length; ++i) {
    const std::int64_t t = static_cast<std::int64_t>(digit_at(larger, shift_larger, i)) -
                           digit_at(smaller, shift_smaller, i) - borrow;
    out[i] = static_cast<std::uint32_t>(t);
    borrow = t < 0 ? 1 : 0;
  }
  out[length] = 0;
  return trimmed(out, length + 1, exponent, order > 0 ? a.negative : b_negative);
}

/// Tells whether two normalised views hold the same number.
LDH_HOST_DEVICE inline bool equal(NumberView a, NumberView b) {
  if (a.size != b.size || a.negative != b.negative) return false;
  if (a.size == 0) return true;
  if (a.exponent != b.exponent) return false;
  for (int i = 0; i < a.size; ++i) {
    if (a.digits[i] != b.digits[i]) return false;
  }
  return true;
}

/// An exact signed number of at most 256 bits: (high * 2^128 + low) * 2^exponent, any exponent
/// (zero has high = low = 0 and is not negative). The finalisers' fast path (pipeline/moments.h)
/// computes on these, in registers, where the general path uses NumberView digits.
struct ShortNumber {
  UInt128 low = 0;
  UInt128 high = 0;
  int exponent = 0;
  bool negative = false;
};

/// Writes `value` as a ShortNumber when it has at most 8 digits and returns true; returns false,
/// writing nothing, for a longer one.
LDH_HOST_DEVICE inline bool short_number(NumberView value, ShortNumber* number) {
  if (value.size > 8) return false;
  UInt128 halves[2] = {0, 0};
  for (int i = 0; i < value.size; ++i) {
    halves[i / 4] |= static_cast<UInt128>(value.digits[i]) << (kDigitBits * (i % 4));
  }
  number->low = halves[0];
  number->high = halves[1];
  number->exponent = value.exponent;
  number->negative = value.negative;
  return true;
}

/// Writes the magnitude of sum(limbs[k] * 2^(32k + exponent)) into `digits` (count + 1 of
/// them: the carry out of the top limb) and returns its view.
LDH_HOST_DEVICE inline NumberView limbs_number(const std::int64_t* limbs, int count, int exponent,
                                               std::uint32_t* digits) {
  std::int64_t carry = 0;
  for (int k = 0; k < count; ++k) {
    const std::int64_t v = limbs[k] + carry;
    digits[k] = static_cast<std::uint32_t>(v);
    carry = v >> 32;
  }
  digits[count] = static_cast<std::uint32_t>(carry);
  const bool negative = carry < 0;
  if (negative) {
    std::uint64_t increment = 1;
    for (int k = 0; k <= count; ++k) {
      const std::uint64_t t = static_cast<std::uint64_t>(~digits[k]) + increment;
      digits[k] = static_cast<std::uint32_t>(t);
      increment = t >> 32;
    }
  }
  return trimmed(digits, count + 1, exponent, negative);
}

/// Sums exactly over the whole range in a fixed block of carry-save limbs; no heap, so kernels
/// can keep one per group (1.1 KB) and add digits with 64-bit integer atomics. The value is
/// sum(limbs[k] * 2^(32k - kBiasBits)); normalize() brings limbs below the top into [0, 2^32).
struct DenseExactSum {
  std::int64_t limbs[kDenseLimbs];
  std::uint32_t pending;  // terms added since the last normalisation
  std::uint8_t flags;     // kSawNan | kSawPositiveInfinity | kSawNegativeInfinity

  LDH_HOST_DEVICE void clear() {
    for (int k = 0; k < kDenseLimbs; ++k) limbs[k] = 0;
    pending = 0;
    flags = 0;
  }

  LDH_HOST_DEVICE void add(double x) {
    if (is_finite(x)) {
      add_term(term_of(x));
    } else {
      flags |= special_flag(x);
    }
  }

  LDH_HOST_DEVICE void add_product(double a, double b) {
    if (is_finite(a) && is_finite(b)) {
      add_term(product_term(a, b));
    } else {
      flags |= special_flag(a * b);
    }
  }

  LDH_HOST_DEVICE void add_scaled_integer(double x, std::int64_t factor) {
    if (is_finite(x)) {
      add_term(scaled_integer_term(x, factor));
    } else {
      flags |= special_flag(x * static_cast<double>(factor));
    }
  }

  /// Adds the five digits of `term` to their limbs, no carries.
  LDH_HOST_DEVICE void add_term(const Term& term) {
    std::uint32_t digits[5];
    add_number(term_number(term, digits));
  }

  /// Adds any number whose digits lie within the limbs.
  LDH_HOST_DEVICE void add_number(NumberView value) {
    const int first = (value.exponent + kBiasBits) / kDigitBits;
    const std::int64_t mask = value.negative ? -1 : 0;
    for (int i = 0; i < value.size; ++i) {
      limbs[first + i] += (static_cast<std::int64_t>(value.digits[i]) ^ mask) - mask;
    }
    if (++pending >= kDensePendingLimit) normalize();
  }

  LDH_HOST_DEVICE void merge(const DenseExactSum& other) {
    for (int k = 0; k < kDenseLimbs; ++k) limbs[k] += other.limbs[k];
    flags |= other.flags;
    pending += other.pending + 1;
    if (pending >= kDensePendingLimit) normalize();
  }

  LDH_HOST_DEVICE void negate() {
    for (int k = 0; k < kDenseLimbs; ++k) limbs[k] = -limbs[k];
    flags = static_cast<std::uint8_t>(
        (flags & kSawNan) | ((flags & kSawPositiveInfinity) != 0 ? kSawNegativeInfinity : 0) |
        ((flags & kSawNegativeInfinity) != 0 ? kSawPositiveInfinity : 0));
  }

  /// Propagates carries so every limb below the top lies in [0, 2^32): the unique form of the
  /// value, whatever order the terms came in.
  LDH_HOST_DEVICE void normalize() {
    std::int64_t carry = 0;
    for (int k = 0; k < kDenseLimbs - 1; ++k) {
      const std::int64_t v = limbs[k] + carry;
      limbs[k] = v & 0xffffffff;
      carry = v >> 32;
    }
    limbs[kDenseLimbs - 1] += carry;
    pending = 0;
  }

  /// Writes the value's magnitude into `digits` (kNumberDigits) and returns its view.
  LDH_HOST_DEVICE NumberView to_number(std::uint32_t* digits) const {
    return limbs_number(limbs, kDenseLimbs, -kBiasBits, digits);
  }

  /// Returns the sum correctly rounded (specials as IEEE addition would give them).
  LDH_HOST_DEVICE double to_double() const {
    if (flags != 0) return special_sum(flags);
    std::uint32_t digits[kNumberDigits];
    return round_to_double(to_number(digits));
  }
};

/// Sums the terms of a bounded set of rows (one chunk of a group, on a kernel thread or the
/// host) exactly in carry-save limbs placed over just the digits those terms occupy: bound()
/// every term, place(), then add() each. Terms spanning more digits than the limbs leave the
/// sum `wide`, and whoever reads it sums those rows another way. Equal term sets give equal
/// limbs in any order.
struct PartialSum {
  static constexpr int kLimbs = 8;
  std::int64_t limbs[kLimbs];
  std::int32_t low_digit;   // global digit of limbs[0] (the lowest digit bound() saw)
  std::int32_t high_digit;  // the highest digit bound() saw; below low_digit: no finite term
  std::uint8_t flags;       // kSawNan | kSawPositiveInfinity | kSawNegativeInfinity
  std::uint8_t wide;

  LDH_HOST_DEVICE void clear() {
    for (int k = 0; k < kLimbs; ++k) limbs[k] = 0;
    low_digit = 1 << 30;
    high_digit = -1;
    flags = 0;
    wide = 0;
  }
  /// Widens the digit range to hold `term` (a zero term holds none).
  LDH_HOST_DEVICE void bound(const Term& term) {
    if ((term.low | term.high) == 0) return;
    // The digits of its lowest and highest set bits: what term_number() keeps.
    const int bottom = term.low != 0 ? trailing_zeros(term.low) : 64 + trailing_zeros(term.high);
    const int top = term.high != 0 ? 127 - leading_zeros(term.high) : 63 - leading_zeros(term.low);
    const int first = (term.position + bottom) / kDigitBits;
    const int last = (term.position + top) / kDigitBits;
    low_digit = first < low_digit ? first : low_digit;
    high_digit = last > high_digit ? last : high_digit;
  }
  /// Fixes the limbs over the bound digits.
  LDH_HOST_DEVICE void place() { wide = high_digit - low_digit + 1 > kLimbs ? 1 : 0; }
  /// Adds a term bound() saw (nothing once wide).
  LDH_HOST_DEVICE void add(const Term& term) {
    if (wide != 0) return;
    std::uint32_t digits[5];
    const NumberView view = term_number(term, digits);
    const int first = (view.exponent + kBiasBits) / kDigitBits - low_digit;
    const std::int64_t mask = view.negative ? -1 : 0;
    for (int i = 0; i < view.size; ++i) {
      limbs[first + i] += (static_cast<std::int64_t>(view.digits[i]) ^ mask) - mask;
    }
  }
  /// Writes the (not wide) sum's magnitude into `digits` (kLimbs + 1) and returns its view.
  LDH_HOST_DEVICE NumberView to_number(std::uint32_t* digits) const {
    if (high_digit < low_digit) return NumberView{digits, 0, 0, false};
    return limbs_number(limbs, kLimbs, low_digit * kDigitBits - kBiasBits, digits);
  }
};

}  // namespace exact

/// An unevaluated sum high + low with |low| <= ulp(high) / 2: about 106 bits of a value.
struct DoubleDouble {
  double high = 0.0;
  double low = 0.0;
};

/// Accumulates doubles (and exact products) exactly in 32 bytes in the common case; see the top
/// of this file. Adding and merging in any order give equal states (operator==) and the same
/// to_double() bits. NaN and infinities are kept as flags (their count never changes a result).
class ExactSum {
 public:
  /// Bits of the inline window values may occupy; the 17 above absorb carries, and a sum that
  /// reaches them moves the window (or to the heap) at once.
  static constexpr int kInlineBits = 175;

  ExactSum() noexcept : words_{0, 0, 0} {}

  /// Makes the sum empty again, as constructed (without a temporary to move from).
  void clear() {
    if (base_ == kSpilledBase) release();
    words_[0] = words_[1] = words_[2] = 0;
    base_ = kEmptyBase;
    flags_ = 0;
  }
  ExactSum(const ExactSum& other);
  ExactSum(ExactSum&& other) noexcept;
  ExactSum& operator=(const ExactSum& other);
  ExactSum& operator=(ExactSum&& other) noexcept;
  ~ExactSum();

  /// Adds `x` exactly (NaN and infinities as flags; -0.0 adds nothing).
  LDH_FORCE_INLINE void add(double x) {
    const std::uint64_t bits = math::to_bits(x);
    const std::uint32_t biased = static_cast<std::uint32_t>(bits >> 52) & 0x7ff;
    const int offset = static_cast<int>(biased) + (exact::kBiasBits - 1075) - base_;
    if (biased - 1 < 0x7fe && static_cast<unsigned>(offset) <= kInlineBits - 53) [[likely]] {
      add_inline((bits & exact::kFractionMask) | exact::kImplicitBit, 0,
                 static_cast<unsigned>(offset), (bits >> 63) != 0);
    } else {
      add_outside(x);
    }
  }

  /// Adds a * b exactly, for all doubles: the mantissas are multiplied as integers, so products
  /// beyond the double range (1e200 * 1e200, 1e-200 * 1e-200) still count exactly. A product
  /// with a non-finite factor adds its IEEE value (inf * 0 is NaN).
  LDH_FORCE_INLINE void add_product(double a, double b) {
    const std::uint64_t bits_a = math::to_bits(a);
    const std::uint64_t bits_b = math::to_bits(b);
    const std::uint32_t biased_a = static_cast<std::uint32_t>(bits_a >> 52) & 0x7ff;
    const std::uint32_t biased_b = static_cast<std::uint32_t>(bits_b >> 52) & 0x7ff;
    const int offset = static_cast<int>(biased_a + biased_b) + (exact::kBiasBits - 2150) - base_;
    if (biased_a - 1 < 0x7fe && biased_b - 1 < 0x7fe &&
        static_cast<unsigned>(offset) <= kInlineBits - 106) [[likely]] {
      const exact::UInt128 product =
          static_cast<exact::UInt128>((bits_a & exact::kFractionMask) | exact::kImplicitBit) *
          ((bits_b & exact::kFractionMask) | exact::kImplicitBit);
      add_inline(static_cast<std::uint64_t>(product), static_cast<std::uint64_t>(product >> 64),
                 static_cast<unsigned>(offset), ((bits_a ^ bits_b) >> 63) != 0);
    } else {
      add_product_outside(a, b);
    }
  }

  /// Adds x * factor exactly (the trend's time-weighted sums: factor is a time in ns).
  LDH_FORCE_INLINE void add_scaled_integer(double x, std::int64_t factor) {
    const std::uint64_t bits = math::to_bits(x);
    const std::uint32_t biased = static_cast<std::uint32_t>(bits >> 52) & 0x7ff;
    const std::uint64_t magnitude =
        factor < 0 ? 0 - static_cast<std::uint64_t>(factor) : static_cast<std::uint64_t>(factor);
    if (biased - 1 < 0x7fe && magnitude != 0) [[likely]] {
      const exact::UInt128 product =
          static_cast<exact::UInt128>((bits & exact::kFractionMask) | exact::kImplicitBit) *
          magnitude;
      const std::uint64_t high = static_cast<std::uint64_t>(product >> 64);
      const int length = high != 0 ? 128 - exact::leading_zeros(high)
                                   : 64 - exact::leading_zeros(static_cast<std::uint64_t>(product));
      const int offset = static_cast<int>(biased) + (exact::kBiasBits - 1075) - base_;
      if (static_cast<unsigned>(offset) <= static_cast<unsigned>(kInlineBits - length)) {
        add_inline(static_cast<std::uint64_t>(product), high, static_cast<unsigned>(offset),
                   ((bits >> 63) != 0) != (factor < 0));
        return;
      }
    }
    add_scaled_integer_outside(x, factor);
  }

  /// Adds another exact sum (flags included).
  void merge(const ExactSum& other);

  /// Adds an exact number and the special flags of the terms it sums: a partial sum made
  /// elsewhere (exact::PartialSum, on a device or the host).
  void add_partial(exact::NumberView value, std::uint8_t flags) {
    add_number(value);
    flags_ |= flags;
  }

  /// Adds +-magnitude (`count` <= 3 little-endian words, below 2^191) whose bit 0 is global bit
  /// `lowest` (as exact::words_number() takes it): what add_partial() of that number adds,
  /// placed in the inline window directly where it fits rather than through digits.
  void add_words(const std::uint64_t* magnitude, int count, int lowest, bool negative);

  /// Adds other * factor exactly (moves the origin of time-weighted sums).
  void merge_scaled(const ExactSum& other, std::int64_t factor);

  /// Replaces the value by its negation (+inf and -inf flags swap).
  void negate();

  /// Returns the exact sum correctly rounded to double (ties to even); specials as IEEE
  /// addition gives them in any order: any NaN, or both infinities, is NaN; else an infinity.
  /// A sum whose magnitude rounds beyond DBL_MAX is an infinity; an exact zero is +0.0.
  double to_double() const;

  /// Returns high = to_double() and low = the rest of the exact value, rounded.
  DoubleDouble to_double_double() const;

  /// Writes the exact finite part into `digits` (exact::kNumberDigits) and returns its view.
  exact::NumberView to_number(std::uint32_t* digits) const;

  /// Writes the exact finite part as a ShortNumber (no conversion to digits) and returns true
  /// when the sum is inline (at most kInlineBits bits); returns false for a sum on the heap.
  bool to_short_number(exact::ShortNumber* number) const {
    if (base_ == kSpilledBase) return false;
    // The magnitude of the two's-complement words (zero when empty): their complement plus one
    // when negative.
    const bool negative = static_cast<std::int64_t>(words_[2]) < 0;
    const std::uint64_t mask = 0 - static_cast<std::uint64_t>(negative);
    const exact::UInt128 low =
        ((static_cast<exact::UInt128>(words_[1] ^ mask) << 64) | (words_[0] ^ mask)) + (mask & 1);
    number->low = low;
    number->high = (words_[2] ^ mask) + (low == 0 && negative ? 1 : 0);
    number->exponent = base_ == kEmptyBase ? 0 : base_ - exact::kBiasBits;
    number->negative = negative;
    return true;
  }

  std::uint8_t special_flags() const { return flags_; }

  /// Tells whether the value sits in the 32 inline bytes (no heap block).
  bool is_compact() const { return base_ != kSpilledBase; }

  /// Returns the bytes held on the heap (0 in the common case).
  std::size_t heap_bytes() const;

  /// Compares exact values and flags (not the representation).
  friend bool operator==(const ExactSum& a, const ExactSum& b);

 private:
  static constexpr std::int16_t kSpilledBase = -32768;
  static constexpr std::int16_t kEmptyBase = -32767;

  /// Adds (high:low) * 2^offset to the window; offset + its length <= kInlineBits.
  LDH_FORCE_INLINE void add_inline(std::uint64_t low, std::uint64_t high, unsigned offset,
                                   bool negative) {
    const unsigned word = offset >> 6;
    const unsigned shift = offset & 63;
    const std::uint64_t a0 = low << shift;
    const std::uint64_t a1 = (high << shift) | ((low >> 1) >> (63 - shift));
    const std::uint64_t a2 = (high >> 1) >> (63 - shift);
    const std::uint64_t mask = 0 - static_cast<std::uint64_t>(negative);
    const std::uint64_t o0 = (word == 0 ? a0 : 0) ^ mask;
    const std::uint64_t o1 = (word == 0 ? a1 : word == 1 ? a0 : 0) ^ mask;
    const std::uint64_t o2 = (word == 0 ? a2 : word == 1 ? a1 : a0) ^ mask;
    // Adding ~o + 1 subtracts o.
    exact::UInt128 sum = static_cast<exact::UInt128>(words_[0]) + o0 + (mask & 1);
    words_[0] = static_cast<std::uint64_t>(sum);
    sum = static_cast<exact::UInt128>(words_[1]) + o1 + static_cast<std::uint64_t>(sum >> 64);
    words_[1] = static_cast<std::uint64_t>(sum);
    words_[2] += o2 + static_cast<std::uint64_t>(sum >> 64);
    // Bits kInlineBits..191 must all equal the sign.
    const std::int64_t excess = static_cast<std::int64_t>(words_[2]) >> (kInlineBits - 128);
    if (static_cast<std::uint64_t>(excess + 1) > 1) [[unlikely]]
      rebalance();
  }

  void add_outside(double x);
  void add_product_outside(double a, double b);
  void add_scaled_integer_outside(double x, std::int64_t factor);
  void add_number(exact::NumberView value);
  /// Adds +-magnitude (3 words, below 2^191) at global bit `base` to an inline sum when the
  /// result fits the window; returns false, changing nothing, when it does not.
  bool add_inline_words(const std::uint64_t* magnitude, int base, bool negative);
  /// Adds +-operand (3 words at base_, the sum within the window) and moves the window when
  /// the sum reaches its carry room.
  void add_words(std::uint64_t* operand, bool negative);
  /// Widens the global bits [low, high) to those the (inline) window holds; returns whether it
  /// holds any.
  bool widen_to_window(int& low, int& high) const;
  exact::NumberView inline_number(std::uint32_t* digits) const;
  void rebalance();
  void spill();
  void release();

  union {
    std::uint64_t words_[3];  // two's complement, word 0 lowest; bit 0 is global bit base_
    exact::DenseExactSum* dense_;
  };
  std::int16_t base_ = kEmptyBase;
  std::uint8_t flags_ = 0;
};

static_assert(sizeof(ExactSum) == 32, "ExactSum must stay 32 bytes: one per key, window, measure");

}  // namespace ldh
