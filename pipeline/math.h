#pragma once

// ldh's own elementary functions, shared by the CPU evaluator and CUDA kernels so both produce the
// same bits. exp, log and pow are ported from fdlibm as kept in FreeBSD's msun (e_exp.c, e_log.c,
// e_pow.c) and use only + - * / and bit manipulation; the libraries of the host and the device
// each round these functions differently, so neither may be called for results.
//
// The fdlibm sources carry this notice:
//
// ====================================================
// Copyright (C) 1993, 2004 by Sun Microsystems, Inc. All rights reserved.
//
// Developed at SunSoft, a Sun Microsystems, Inc. business.
// Permission to use, copy, modify, and distribute this
// software is freely granted, provided that this notice
// is preserved.
// ====================================================

#include <cmath>
#include <cstdint>

#include "pipeline/host_device.h"

namespace ldh::math {

/// Returns the IEEE-754 encoding of `x`; __builtin_bit_cast works in g++ and in nvcc device code.
LDH_HOST_DEVICE LDH_FORCE_INLINE std::uint64_t to_bits(double x) {
  return __builtin_bit_cast(std::uint64_t, x);
}

LDH_HOST_DEVICE LDH_FORCE_INLINE double from_bits(std::uint64_t bits) {
  return __builtin_bit_cast(double, bits);
}

/// Returns the sign, exponent and top 20 fraction bits (fdlibm's GET_HIGH_WORD).
LDH_HOST_DEVICE LDH_FORCE_INLINE std::int32_t high_word(double x) {
  return static_cast<std::int32_t>(to_bits(x) >> 32);
}

/// Returns the low 32 fraction bits (fdlibm's GET_LOW_WORD).
LDH_HOST_DEVICE LDH_FORCE_INLINE std::uint32_t low_word(double x) {
  return static_cast<std::uint32_t>(to_bits(x));
}

/// Builds a double from its two halves (fdlibm's INSERT_WORDS).
LDH_HOST_DEVICE LDH_FORCE_INLINE double from_words(std::int32_t high, std::uint32_t low) {
  return from_bits((static_cast<std::uint64_t>(static_cast<std::uint32_t>(high)) << 32) | low);
}

LDH_HOST_DEVICE LDH_FORCE_INLINE double with_high_word(double x, std::int32_t high) {
  return from_words(high, low_word(x));
}

LDH_HOST_DEVICE LDH_FORCE_INLINE double with_low_word(double x, std::uint32_t low) {
  return from_words(high_word(x), low);
}

/// The quiet NaN ldh writes for every NaN result (hardware differs in the NaNs it produces).
inline constexpr std::uint64_t kCanonicalNanBits = 0x7ff8000000000000ULL;

LDH_HOST_DEVICE LDH_FORCE_INLINE double quiet_nan() {
  return from_bits(kCanonicalNanBits);
}

LDH_HOST_DEVICE LDH_FORCE_INLINE double infinity() {
  return from_bits(0x7ff0000000000000ULL);
}

LDH_HOST_DEVICE LDH_FORCE_INLINE bool is_nan(double x) {
  return x != x;
}

/// Returns `a` when `condition` holds, else `b`, bit for bit. On the host it blends with integer
/// masks: under GCC's default -ftrapping-math a plain ?: over computed values becomes a branch,
/// which random data mispredicts.
LDH_HOST_DEVICE LDH_FORCE_INLINE double select(bool condition, double a, double b) {
#if defined(__CUDA_ARCH__)
  return condition ? a : b;
#else
  const std::uint64_t mask = 0 - static_cast<std::uint64_t>(condition);
  return from_bits((to_bits(a) & mask) | (to_bits(b) & ~mask));
#endif
}

/// Replaces any NaN by the canonical quiet NaN so results compare equal byte for byte.
LDH_HOST_DEVICE LDH_FORCE_INLINE double canonical(double x) {
  return is_nan(x) ? quiet_nan() : x;
}

LDH_HOST_DEVICE LDH_FORCE_INLINE double abs(double x) {
  return from_bits(to_bits(x) & 0x7fffffffffffffffULL);
}

/// Returns the correctly rounded square root (IEEE-754 requires it of both host and device).
LDH_HOST_DEVICE LDH_FORCE_INLINE double sqrt(double x) {
#if defined(__CUDA_ARCH__)
  return ::sqrt(x);
#else
  return std::sqrt(x);
#endif
}

// floor, ceil, round and fmod are exact (their results are representable), so every conforming
// implementation returns the same bits; ldh uses the platform's.

LDH_HOST_DEVICE LDH_FORCE_INLINE double floor(double x) {
#if defined(__CUDA_ARCH__)
  return ::floor(x);
#else
  return std::floor(x);
#endif
}

LDH_HOST_DEVICE LDH_FORCE_INLINE double ceil(double x) {
#if defined(__CUDA_ARCH__)
  return ::ceil(x);
#else
  return std::ceil(x);
#endif
}

/// Rounds to the nearest integer, halfway cases away from zero.
LDH_HOST_DEVICE LDH_FORCE_INLINE double round(double x) {
#if defined(__CUDA_ARCH__)
  return ::round(x);
#else
  return std::round(x);
#endif
}

/// Returns x - n*y with n = trunc(x/y), exactly: the sign follows x; NaN when y is 0 or x is
/// infinite.
LDH_HOST_DEVICE LDH_FORCE_INLINE double fmod(double x, double y) {
#if defined(__CUDA_ARCH__)
  return ::fmod(x, y);
#else
  return std::fmod(x, y);
#endif
}

/// Returns the smaller value; NaN when either is NaN; min(-0, +0) is -0. Branch-free.
LDH_HOST_DEVICE LDH_FORCE_INLINE double min(double a, double b) {
  const double smaller = select(a < b, a, b);
  const double equal = from_bits(to_bits(a) | to_bits(b));  // picks -0 over +0
  return select(is_nan(a) + is_nan(b) != 0, quiet_nan(), select(a == b, equal, smaller));
}

/// Returns the larger value; NaN when either is NaN; max(-0, +0) is +0. Branch-free.
LDH_HOST_DEVICE LDH_FORCE_INLINE double max(double a, double b) {
  const double larger = select(a > b, a, b);
  const double equal = from_bits(to_bits(a) & to_bits(b));  // picks +0 over -0
  return select(is_nan(a) + is_nan(b) != 0, quiet_nan(), select(a == b, equal, larger));
}

/// Returns min(max(x, low), high): NaN when any argument is NaN, `high` when low > high.
LDH_HOST_DEVICE LDH_FORCE_INLINE double clamp(double x, double low, double high) {
  return min(max(x, low), high);
}

/// Multiplies by 2^n with a single rounding, also into the subnormal range (as scalbn).
LDH_HOST_DEVICE inline double scale_by_power_of_two(double y, int n) {
  if (n > 1023) {
    y *= 0x1p1023;
    n -= 1023;
    if (n > 1023) {
      y *= 0x1p1023;
      n -= 1023;
      if (n > 1023) n = 1023;
    }
  } else if (n < -1022) {
    // Stop 53 above the subnormal range so only the last multiplication rounds.
    y *= 0x1p-1022 * 0x1p53;
    n += 1022 - 53;
    if (n < -1022) {
      y *= 0x1p-1022 * 0x1p53;
      n += 1022 - 53;
      if (n < -1022) n = -1022;
    }
  }
  return y * from_bits(static_cast<std::uint64_t>(0x3ff + n) << 52);
}

/// Returns e^x with an error below 1 ulp (fdlibm e_exp.c).
LDH_HOST_DEVICE inline double exp(double x) {
  constexpr double kOverflowThreshold = 7.09782712893383973096e+02;    // 0x40862E42 FEFA39EF
  constexpr double kUnderflowThreshold = -7.45133219101941108420e+02;  // 0xc0874910 D52D3051
  constexpr double kLn2High = 6.93147180369123816490e-01;              // 0x3fe62e42 fee00000
  constexpr double kLn2Low = 1.90821492927058770002e-10;               // 0x3dea39ef 35793c76
  constexpr double kInverseLn2 = 1.44269504088896338700e+00;           // 0x3ff71547 652b82fe
  constexpr double kP1 = 1.66666666666666019037e-01;                   // 0x3FC55555 5555553E
  constexpr double kP2 = -2.77777777770155933842e-03;                  // 0xBF66C16C 16BEBD93
  constexpr double kP3 = 6.61375632143793436117e-05;                   // 0x3F11566A AF25DE2C
  constexpr double kP4 = -1.65339022054652515390e-06;                  // 0xBEBBBD41 C5D26BF1
  constexpr double kP5 = 4.13813679705723846039e-08;                   // 0x3E663769 72BEA4D0
  constexpr double kTwoToMinus1000 = 0x1p-1000;

  double hi = 0.0;
  double lo = 0.0;
  int k = 0;
  std::uint32_t hx = static_cast<std::uint32_t>(high_word(x));
  const int sign = static_cast<int>((hx >> 31) & 1);
  hx &= 0x7fffffff;

  // Non-finite and out-of-range arguments.
  if (hx >= 0x40862E42) {
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | low_word(x)) != 0) return x + x;  // NaN
      return sign == 0 ? x : 0.0;                             // exp(+-inf) = inf, 0
    }
    if (x > kOverflowThreshold) return infinity();
    if (x < kUnderflowThreshold) return 0.0;
  }

  // Argument reduction: x = k*ln2 + r, |r| <= 0.5*ln2, r kept as hi - lo.
  if (hx > 0x3fd62e42) {
    if (hx < 0x3FF0A2B2) {
      hi = x - (sign == 0 ? kLn2High : -kLn2High);
      lo = sign == 0 ? kLn2Low : -kLn2Low;
      k = 1 - sign - sign;
    } else {
      k = static_cast<int>(kInverseLn2 * x + (sign == 0 ? 0.5 : -0.5));
      const double t = k;
      hi = x - t * kLn2High;  // exact: t*kLn2High has trailing zeros
      lo = t * kLn2Low;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    return 1.0 + x;  // |x| < 2^-28
  }

  // x is now in the primary range.
  const double t = x * x;
  const double two_to_k = k >= -1021 ? from_words(0x3ff00000 + k * 0x100000, 0)
                                     : from_words(0x3ff00000 + (k + 1000) * 0x100000, 0);
  const double c = x - t * (kP1 + t * (kP2 + t * (kP3 + t * (kP4 + t * kP5))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  const double y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * 0x1p1023;
    return y * two_to_k;
  }
  return y * two_to_k * kTwoToMinus1000;
}

/// Returns the natural logarithm with an error below 1 ulp (fdlibm e_log.c): -inf at +-0, NaN
/// below 0. Branch-free: every case fdlibm returns from is computed with fdlibm's expression and
/// the one that applies is selected, so the bits are fdlibm's and column loops vectorise.
LDH_HOST_DEVICE inline double log(double x) {
  constexpr double kLn2High = 6.93147180369123816490e-01;  // 3fe62e42 fee00000
  constexpr double kLn2Low = 1.90821492927058770002e-10;   // 3dea39ef 35793c76
  constexpr double kTwo54 = 1.80143985094819840000e+16;    // 43500000 00000000
  constexpr double kLg1 = 6.666666666666735130e-01;        // 3FE55555 55555593
  constexpr double kLg2 = 3.999999999940941908e-01;        // 3FD99999 9997FA04
  constexpr double kLg3 = 2.857142874366239149e-01;        // 3FD24924 94229359
  constexpr double kLg4 = 2.222219843214978396e-01;        // 3FCC71C5 1D8E78AF
  constexpr double kLg5 = 1.818357216161805012e-01;        // 3FC74664 96CB03DE
  constexpr double kLg6 = 1.531383769920937332e-01;        // 3FC39A09 D078C69F
  constexpr double kLg7 = 1.479819860511658591e-01;        // 3FC2F112 DF3E5244

  const std::int32_t high = high_word(x);
  const bool tiny = high < 0x00100000;  // below 2^-1022: zero, subnormal or negative
  const bool zero = ((high & 0x7fffffff) | static_cast<std::int32_t>(low_word(x))) == 0;
  // Subnormals scale up (exactly).
  const double scaled = select(tiny, x * kTwo54, x);
  std::int32_t hx = high_word(scaled);
  std::int32_t k = (tiny ? -54 : 0) + (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const std::int32_t half = (hx + 0x95f64) & 0x100000;
  const double normal = with_high_word(scaled, hx | (half ^ 0x3ff00000));  // x or x/2
  k += half >> 20;
  const double f = normal - 1.0;
  const double dk = k;
  // -2^-20 <= f < 2^-20.
  const double near_one_r = f * f * (0.5 - 0.33333333333333333 * f);
  const double near_one =
      select(f == 0.0, select(k == 0, 0.0, dk * kLn2High + dk * kLn2Low),
             select(k == 0, f - near_one_r, dk * kLn2High - ((near_one_r - dk * kLn2Low) - f)));
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  const double r = t2 + t1;
  const double hfsq = 0.5 * f * f;
  const double wide_f = select(k == 0, f - (hfsq - s * (hfsq + r)),
                               dk * kLn2High - ((hfsq - (s * (hfsq + r) + dk * kLn2Low)) - f));
  const double narrow_f =
      select(k == 0, f - s * (f - r), dk * kLn2High - ((s * (f - r) - dk * kLn2Low) - f));
  const double result = select((0x000fffff & (2 + hx)) < 3, near_one,
                               select(((hx - 0x6147a) | (0x6b851 - hx)) > 0, wide_f, narrow_f));
  return select(tiny && zero, -infinity(),
                select(tiny && high < 0, quiet_nan(), select(high >= 0x7ff00000, x + x, result)));
}

/// Returns x^y, nearly correctly rounded, with the special cases of C99 Annex F (fdlibm e_pow.c):
/// pow(x, +-0) = 1 and pow(1, y) = 1 even for NaN; a negative x needs an integer y.
LDH_HOST_DEVICE inline double pow(double x, double y) {
  constexpr double kDpHigh = 5.84962487220764160156e-01;  // 0x3FE2B803 40000000
  constexpr double kDpLow = 1.35003920212974897128e-08;   // 0x3E4CFDEB 43CFD006
  constexpr double kTwo53 = 9007199254740992.0;           // 0x43400000 00000000
  constexpr double kThird = 3.3333333333333331e-01;       // 0x3fd55555 55555555
  // Polynomial for (3/2)*(log(x) - 2s - 2/3*s^3).
  constexpr double kL1 = 5.99999999999994648725e-01;           // 0x3FE33333 33333303
  constexpr double kL2 = 4.28571428578550184252e-01;           // 0x3FDB6DB6 DB6FABFF
  constexpr double kL3 = 3.33333329818377432918e-01;           // 0x3FD55555 518F264D
  constexpr double kL4 = 2.72728123808534006489e-01;           // 0x3FD17460 A91D4101
  constexpr double kL5 = 2.30660745775561754067e-01;           // 0x3FCD864A 93C9DB65
  constexpr double kL6 = 2.06975017800338417784e-01;           // 0x3FCA7E28 4A454EEF
  constexpr double kP1 = 1.66666666666666019037e-01;           // 0x3FC55555 5555553E
  constexpr double kP2 = -2.77777777770155933842e-03;          // 0xBF66C16C 16BEBD93
  constexpr double kP3 = 6.61375632143793436117e-05;           // 0x3F11566A AF25DE2C
  constexpr double kP4 = -1.65339022054652515390e-06;          // 0xBEBBBD41 C5D26BF1
  constexpr double kP5 = 4.13813679705723846039e-08;           // 0x3E663769 72BEA4D0
  constexpr double kLg2 = 6.93147180559945286227e-01;          // 0x3FE62E42 FEFA39EF
  constexpr double kLg2High = 6.93147182464599609375e-01;      // 0x3FE62E43 00000000
  constexpr double kLg2Low = -1.90465429995776804525e-09;      // 0xBE205C61 0CA86C39
  constexpr double kOverflowTail = 8.0085662595372944372e-17;  // -(1024-log2(ovfl+.5ulp))
  constexpr double kCp = 9.61796693925975554329e-01;           // 0x3FEEC709 DC3A03FD = 2/(3ln2)
  constexpr double kCpHigh = 9.61796700954437255859e-01;       // 0x3FEEC709 E0000000 = (float)cp
  constexpr double kCpLow = -7.02846165095275826516e-09;       // 0xBE3E2FE0 145B01F5 = tail of cp_h
  constexpr double kInverseLn2 = 1.44269504088896338700e+00;   // 0x3FF71547 652B82FE
  constexpr double kInverseLn2High = 1.44269502162933349609e+00;  // 0x3FF71547 60000000
  constexpr double kInverseLn2Low = 1.92596299112661746887e-08;   // 0x3E54AE0B F85DDF44

  const std::int32_t hx = high_word(x);
  const std::int32_t hy = high_word(y);
  const std::uint32_t lx = low_word(x);
  const std::uint32_t ly = low_word(y);
  std::int32_t ix = hx & 0x7fffffff;
  const std::int32_t iy = hy & 0x7fffffff;

  if ((static_cast<std::uint32_t>(iy) | ly) == 0) return 1.0;  // x^0 = 1
  if (hx == 0x3ff00000 && lx == 0) return 1.0;                 // 1^y = 1, even for NaN
  if (ix > 0x7ff00000 || (ix == 0x7ff00000 && lx != 0) || iy > 0x7ff00000 ||
      (iy == 0x7ff00000 && ly != 0)) {
    return (x + 0.0) + (y + 0.0);  // NaN
  }

  // For x < 0: 0 when y is not an integer, 1 when y is odd, 2 when y is even.
  int y_is_integer = 0;
  if (hx < 0) {
    if (iy >= 0x43400000) {
      y_is_integer = 2;
    } else if (iy >= 0x3ff00000) {
      const int exponent = (iy >> 20) - 0x3ff;
      if (exponent > 20) {
        const std::uint32_t j = ly >> (52 - exponent);
        if ((j << (52 - exponent)) == ly) y_is_integer = 2 - static_cast<int>(j & 1);
      } else if (ly == 0) {
        const std::int32_t j = iy >> (20 - exponent);
        if ((j << (20 - exponent)) == iy) y_is_integer = 2 - (j & 1);
      }
    }
  }

  // Special values of y.
  if (ly == 0) {
    if (iy == 0x7ff00000) {                                                      // y is +-inf
      if (((ix - 0x3ff00000) | static_cast<std::int32_t>(lx)) == 0) return 1.0;  // (-1)^+-inf
      if (ix >= 0x3ff00000) return hy >= 0 ? y : 0.0;  // (|x|>1)^+-inf = inf, 0
      return hy < 0 ? -y : 0.0;                        // (|x|<1)^-,+inf = inf, 0
    }
    if (iy == 0x3ff00000) return hy < 0 ? 1.0 / x : x;  // y is +-1
    if (hy == 0x40000000) return x * x;                 // y is 2
    if (hy == 0x3fe00000 && hx >= 0) return sqrt(x);    // y is 0.5, x >= +0
  }

  double ax = abs(x);
  // Special values of x: +-0, +-inf, +-1.
  if (lx == 0 && (ix == 0x7ff00000 || ix == 0 || ix == 0x3ff00000)) {
    double z = ax;
    if (hy < 0) z = 1.0 / z;
    if (hx < 0) {
      if (((ix - 0x3ff00000) | y_is_integer) == 0) {
        z = quiet_nan();  // (-1)^non-integer
      } else if (y_is_integer == 1) {
        z = -z;  // (x<0)^odd = -(|x|^odd)
      }
    }
    return z;
  }

  // n is -1 for x >= 0 and 0 for x < 0 (fdlibm-5.3's fix of a signed shift).
  std::int32_t n = static_cast<std::int32_t>((static_cast<std::uint32_t>(hx) >> 31) - 1U);
  if ((n | y_is_integer) == 0) return quiet_nan();  // (x<0)^non-integer

  double s = 1.0;                               // sign of the result
  if ((n | (y_is_integer - 1)) == 0) s = -1.0;  // (x<0)^odd

  double t1 = 0.0;
  double t2 = 0.0;
  if (iy > 0x41e00000) {    // |y| > 2^31
    if (iy > 0x43f00000) {  // |y| > 2^64: must overflow or underflow
      if (ix <= 0x3fefffff) return hy < 0 ? infinity() : 0.0;
      if (ix >= 0x3ff00000) return hy > 0 ? infinity() : 0.0;
    }
    // Overflow or underflow when x is not close to one.
    if (ix < 0x3fefffff) return hy < 0 ? s * infinity() : s * 0.0;
    if (ix > 0x3ff00000) return hy > 0 ? s * infinity() : s * 0.0;
    // |1-x| <= 2^-20: log(x) by x - x^2/2 + x^3/3 - x^4/4.
    const double t = ax - 1.0;  // 20 trailing zeros
    const double w = (t * t) * (0.5 - t * (kThird - t * 0.25));
    const double u = kInverseLn2High * t;  // 21 significant bits
    const double v = t * kInverseLn2Low - w * kInverseLn2;
    t1 = with_low_word(u + v, 0);
    t2 = v - (t1 - u);
  } else {
    n = 0;
    if (ix < 0x00100000) {  // subnormal x
      ax *= kTwo53;
      n -= 53;
      ix = high_word(ax);
    }
    n += (ix >> 20) - 0x3ff;
    const std::int32_t j = ix & 0x000fffff;
    // Pick the interval: |x| < sqrt(3/2), |x| < sqrt(3), or halve it.
    ix = j | 0x3ff00000;
    int k = 0;
    if (j <= 0x3988E) {
      k = 0;
    } else if (j < 0xBB67A) {
      k = 1;
    } else {
      k = 0;
      n += 1;
      ix -= 0x00100000;
    }
    ax = with_high_word(ax, ix);
    const double bp = k == 0 ? 1.0 : 1.5;
    const double dp_high = k == 0 ? 0.0 : kDpHigh;
    const double dp_low = k == 0 ? 0.0 : kDpLow;

    // ss = s_h + s_l = (x-1)/(x+1) or (x-1.5)/(x+1.5).
    double u = ax - bp;
    double v = 1.0 / (ax + bp);
    const double ss = u * v;
    const double s_h = with_low_word(ss, 0);
    // t_h = ax + bp, high part.
    double t_h = from_words(((ix >> 1) | 0x20000000) + 0x00080000 + (k << 18), 0);
    double t_l = ax - (t_h - bp);
    const double s_l = v * ((u - s_h * t_h) - s_h * t_l);
    // log(ax).
    double s2 = ss * ss;
    double r = s2 * s2 * (kL1 + s2 * (kL2 + s2 * (kL3 + s2 * (kL4 + s2 * (kL5 + s2 * kL6)))));
    r += s_l * (s_h + ss);
    s2 = s_h * s_h;
    t_h = with_low_word(3.0 + s2 + r, 0);
    t_l = r - ((t_h - 3.0) - s2);
    // u + v = ss*(1+...).
    u = s_h * t_h;
    v = s_l * t_h + t_l * ss;
    // 2/(3log2)*(ss+...).
    const double p_h = with_low_word(u + v, 0);
    const double p_l = v - (p_h - u);
    const double z_h = kCpHigh * p_h;  // cp_h + cp_l = 2/(3*log2)
    const double z_l = kCpLow * p_h + p_l * kCp + dp_low;
    // log2(ax) = (ss+..)*2/(3*log2) = n + dp_h + z_h + z_l.
    const double t = n;
    t1 = with_low_word(((z_h + z_l) + dp_high) + t, 0);
    t2 = z_l - (((t1 - t) - dp_high) - z_h);
  }

  // Split y into y1 + y2 and compute (y1+y2)*(t1+t2).
  const double y1 = with_low_word(y, 0);
  const double p_l = (y - y1) * t1 + y * t2;
  double p_h = y1 * t1;
  double z = p_l + p_h;
  std::int32_t j = high_word(z);
  std::int32_t i = static_cast<std::int32_t>(low_word(z));
  if (j >= 0x40900000) {                                     // z >= 1024
    if (((j - 0x40900000) | i) != 0) return s * infinity();  // overflow
    if (p_l + kOverflowTail > z - p_h) return s * infinity();
  } else if ((j & 0x7fffffff) >= 0x4090cc00) {  // z <= -1075
    if (((static_cast<std::uint32_t>(j) - 0xc090cc00U) | static_cast<std::uint32_t>(i)) != 0) {
      return s * 0.0;  // underflow
    }
    if (p_l <= z - p_h) return s * 0.0;
  }

  // 2^(p_h+p_l).
  i = j & 0x7fffffff;
  int k = (i >> 20) - 0x3ff;
  n = 0;
  if (i > 0x3fe00000) {  // |z| > 0.5: n = [z+0.5]
    n = j + (0x00100000 >> (k + 1));
    k = ((n & 0x7fffffff) >> 20) - 0x3ff;  // new k for n
    const double t = from_words(n & ~(0x000fffff >> k), 0);
    n = ((n & 0x000fffff) | 0x00100000) >> (20 - k);
    if (j < 0) n = -n;
    p_h -= t;
  }
  const double t = with_low_word(p_l + p_h, 0);
  const double u = t * kLg2High;
  const double v = (p_l - (t - p_h)) * kLg2 + t * kLg2Low;
  z = u + v;
  const double w = v - (z - u);
  const double tt = z * z;
  t1 = z - tt * (kP1 + tt * (kP2 + tt * (kP3 + tt * (kP4 + tt * kP5))));
  const double r = (z * t1) / (t1 - 2.0) - (w + z * w);
  z = 1.0 - (r - z);
  j = high_word(z);
  j += n * 0x100000;
  if ((j >> 20) <= 0) {
    z = scale_by_power_of_two(z, n);  // subnormal result
  } else {
    z = with_high_word(z, j);
  }
  return s * z;
}

}  // namespace ldh::math
