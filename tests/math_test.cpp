// Checks ldh's own exp/log/pow against long double references (within 1 ulp) and against the
// special cases of C99 Annex F, and the exact helpers (floor, round, min, ...) against their rules.

#include "pipeline/math.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

using ldh::math::from_bits;
using ldh::math::to_bits;

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kSmallestSubnormal = std::numeric_limits<double>::denorm_min();

/// Returns the error of `value` against `reference` in units of the last place of the double
/// nearest to the reference (subnormal spacing below DBL_MIN).
long double ulp_error(double value, long double reference) {
  const long double magnitude = std::fabs(reference);
  int exponent = 0;
  std::frexp(static_cast<double>(magnitude), &exponent);
  const int ulp_exponent = std::max(exponent - 53, -1074);
  const long double ulp = std::ldexp(1.0L, ulp_exponent);
  return std::fabs(static_cast<long double>(value) - reference) / ulp;
}

/// Tells whether two doubles are the same value (NaNs equal to each other, -0 apart from +0).
bool same(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return to_bits(a) == to_bits(b);
}

/// Draws doubles with a uniform exponent (and so a wide spread of magnitudes) in [2^low, 2^high).
double log_uniform(std::mt19937_64& random, int low, int high) {
  std::uniform_real_distribution<double> exponent(low, high);
  return std::exp2(exponent(random));
}

class UlpTracker {
 public:
  void add(double input_x, double input_y, double value, long double reference) {
    const long double error = ulp_error(value, reference);
    if (error > worst_) {
      worst_ = error;
      worst_x_ = input_x;
      worst_y_ = input_y;
    }
  }
  void expect_within_one_ulp(const char* what) const {
    EXPECT_LE(worst_, 1.0L) << what << ": worst error " << static_cast<double>(worst_)
                            << " ulp at x=" << worst_x_ << " y=" << worst_y_;
    std::printf("%s: worst error %.3f ulp\n", what, static_cast<double>(worst_));
  }

 private:
  long double worst_ = 0.0L;
  double worst_x_ = 0.0;
  double worst_y_ = 0.0;
};

TEST(MathTest, ExpIsWithinOneUlp) {
  std::mt19937_64 random(1);
  UlpTracker tracker;
  std::uniform_real_distribution<double> wide(-745.0, 709.7);
  std::uniform_real_distribution<double> narrow(-2.0, 2.0);
  for (int i = 0; i < 300000; ++i) {
    double x = 0.0;
    switch (i % 3) {
      case 0:
        x = wide(random);
        break;
      case 1:
        x = narrow(random);
        break;
      default:
        x = (random() & 1 ? 1.0 : -1.0) * log_uniform(random, -60, 0);
        break;
    }
    tracker.add(x, 0.0, ldh::math::exp(x), std::exp(static_cast<long double>(x)));
  }
  tracker.expect_within_one_ulp("exp");
}

TEST(MathTest, ExpSpecialCases) {
  EXPECT_TRUE(same(ldh::math::exp(0.0), 1.0));
  EXPECT_TRUE(same(ldh::math::exp(-0.0), 1.0));
  EXPECT_TRUE(same(ldh::math::exp(kInfinity), kInfinity));
  EXPECT_TRUE(same(ldh::math::exp(-kInfinity), 0.0));
  EXPECT_TRUE(std::isnan(ldh::math::exp(kNan)));
  EXPECT_TRUE(same(ldh::math::exp(710.0), kInfinity));
  EXPECT_TRUE(same(ldh::math::exp(-746.0), 0.0));
  EXPECT_LE(ulp_error(ldh::math::exp(1.0), std::exp(1.0L)), 1.0L);
  EXPECT_TRUE(same(ldh::math::exp(kSmallestSubnormal), 1.0));
  // Results in the subnormal range round once.
  for (double x : {-708.5, -720.0, -740.0, -744.4}) {
    EXPECT_LE(ulp_error(ldh::math::exp(x), std::exp(static_cast<long double>(x))), 1.0L) << x;
  }
}

TEST(MathTest, LogIsWithinOneUlp) {
  std::mt19937_64 random(2);
  UlpTracker tracker;
  std::uniform_real_distribution<double> near_one(0.5, 2.0);
  std::uniform_int_distribution<std::uint64_t> bits(1, 0x7fefffffffffffffULL);
  for (int i = 0; i < 300000; ++i) {
    double x = 0.0;
    switch (i % 3) {
      case 0:
        x = from_bits(bits(random));
        break;  // every positive finite double, subnormals too
      case 1:
        x = near_one(random);
        break;
      default:
        x = 1.0 + (random() & 1 ? 1.0 : -1.0) * log_uniform(random, -50, -1);
        break;
    }
    tracker.add(x, 0.0, ldh::math::log(x), std::log(static_cast<long double>(x)));
  }
  tracker.expect_within_one_ulp("log");
}

/// fdlibm's e_log.c as ldh ported it first, with its branches: math::log computes every case
/// and selects one, and must return these bits for every input.
double branching_log(double x) {
  using ldh::math::high_word;
  using ldh::math::low_word;
  using ldh::math::with_high_word;
  constexpr double kLn2High = 6.93147180369123816490e-01;
  constexpr double kLn2Low = 1.90821492927058770002e-10;
  constexpr double kTwo54 = 1.80143985094819840000e+16;
  constexpr double kLg1 = 6.666666666666735130e-01;
  constexpr double kLg2 = 3.999999999940941908e-01;
  constexpr double kLg3 = 2.857142874366239149e-01;
  constexpr double kLg4 = 2.222219843214978396e-01;
  constexpr double kLg5 = 1.818357216161805012e-01;
  constexpr double kLg6 = 1.531383769920937332e-01;
  constexpr double kLg7 = 1.479819860511658591e-01;
  std::int32_t hx = high_word(x);
  const std::uint32_t lx = low_word(x);
  int k = 0;
  if (hx < 0x00100000) {
    if (((hx & 0x7fffffff) | static_cast<std::int32_t>(lx)) == 0) return -kInfinity;
    if (hx < 0) return ldh::math::quiet_nan();
    k -= 54;
    x *= kTwo54;
    hx = high_word(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  std::int32_t i = (hx + 0x95f64) & 0x100000;
  x = with_high_word(x, hx | (i ^ 0x3ff00000));
  k += i >> 20;
  const double f = x - 1.0;
  double dk = 0.0;
  if ((0x000fffff & (2 + hx)) < 3) {
    if (f == 0.0) {
      if (k == 0) return 0.0;
      dk = k;
      return dk * kLn2High + dk * kLn2Low;
    }
    const double r = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - r;
    dk = k;
    return dk * kLn2High - ((r - dk * kLn2Low) - f);
  }
  const double s = f / (2.0 + f);
  dk = k;
  const double z = s * s;
  i = hx - 0x6147a;
  const double w = z * z;
  const std::int32_t j = 0x6b851 - hx;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  i |= j;
  const double r = t2 + t1;
  if (i > 0) {
    const double hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + r));
    return dk * kLn2High - ((hfsq - (s * (hfsq + r) + dk * kLn2Low)) - f);
  }
  if (k == 0) return f - s * (f - r);
  return dk * kLn2High - ((s * (f - r) - dk * kLn2Low) - f);
}

TEST(MathTest, LogSelectsTheBitsOfFdlibmsBranches) {
  std::mt19937_64 random(17);
  std::vector<double> inputs = {0.0,
                                -0.0,
                                1.0,
                                -1.0,
                                kInfinity,
                                -kInfinity,
                                kNan,
                                -kNan,
                                DBL_MAX,
                                DBL_MIN,
                                kSmallestSubnormal,
                                -DBL_MIN,
                                0.5,
                                2.0,
                                0.01,
                                0.99,
                                1.01};
  for (int exponent = -1074; exponent <= 1023; ++exponent) {
    const double power = std::ldexp(1.0, exponent);
    for (double x : {power, std::nextafter(power, 0.0), std::nextafter(power, kInfinity)}) {
      inputs.push_back(x);
    }
  }
  for (int i = 0; i < 2'000'000; ++i) {
    switch (i % 4) {
      case 0:
        inputs.push_back(from_bits(random()));  // every double: negatives, NaNs, subnormals
        break;
      case 1:  // near 1, where fdlibm takes its short path, and the bounds between its paths
        inputs.push_back(from_bits(to_bits(1.0) + (random() % 0x40000000) - 0x20000000));
        break;
      case 2:
        inputs.push_back(static_cast<double>(random() % 10001) / 10000.0);  // humidity / 100
        break;
      default:
        inputs.push_back(std::ldexp(1.0 + static_cast<double>(random() >> 12) * 0x1.0p-52,
                                    static_cast<int>(random() % 64) - 32));
        break;
    }
  }
  for (double x : inputs) {
    ASSERT_TRUE(same(ldh::math::log(x), branching_log(x))) << std::hexfloat << x;
  }
}

TEST(MathTest, LogSpecialCases) {
  EXPECT_TRUE(same(ldh::math::log(0.0), -kInfinity));
  EXPECT_TRUE(same(ldh::math::log(-0.0), -kInfinity));
  EXPECT_TRUE(same(ldh::math::log(1.0), 0.0));
  EXPECT_TRUE(same(ldh::math::log(kInfinity), kInfinity));
  EXPECT_TRUE(std::isnan(ldh::math::log(-kInfinity)));
  EXPECT_TRUE(std::isnan(ldh::math::log(-1.0)));
  EXPECT_TRUE(std::isnan(ldh::math::log(-kSmallestSubnormal)));
  EXPECT_TRUE(std::isnan(ldh::math::log(kNan)));
  EXPECT_LE(ulp_error(ldh::math::log(kSmallestSubnormal),
                      std::log(static_cast<long double>(kSmallestSubnormal))),
            1.0L);
  EXPECT_LE(ulp_error(ldh::math::log(DBL_MAX), std::log(static_cast<long double>(DBL_MAX))), 1.0L);
}

TEST(MathTest, PowIsWithinOneUlp) {
  std::mt19937_64 random(3);
  UlpTracker tracker;
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_real_distribution<double> moderate(-100.0, 100.0);
  std::uniform_int_distribution<int> integer(-60, 60);
  int checked = 0;
  for (int i = 0; i < 400000; ++i) {
    double x = 0.0;
    double y = 0.0;
    switch (i % 5) {
      case 0:  // moderate bases and exponents
        x = log_uniform(random, -10, 10);
        y = moderate(random);
        break;
      case 1:  // any magnitude, small exponents
        x = log_uniform(random, -1070, 1020);
        y = unit(random);
        break;
      case 2:  // negative bases with integer exponents
        x = -log_uniform(random, -8, 8);
        y = integer(random);
        break;
      case 3:  // bases close to one with huge exponents
        x = 1.0 + unit(random) * 1e-9;
        y = moderate(random) * 1e8;
        break;
      default:  // results near the ends of the range, subnormal ones included
        x = log_uniform(random, 1, 4);
        y = (random() & 1 ? 1.0 : -1.0) *
            std::uniform_real_distribution<double>(250.0, 1070.0)(random);
        break;
    }
    const long double reference =
        std::pow(static_cast<long double>(x), static_cast<long double>(y));
    if (!(std::fabs(reference) <= DBL_MAX) || std::fabs(reference) < kSmallestSubnormal) continue;
    tracker.add(x, y, ldh::math::pow(x, y), reference);
    ++checked;
  }
  EXPECT_GT(checked, 300000);
  tracker.expect_within_one_ulp("pow");
}

TEST(MathTest, PowOfIntegersIsExact) {
  for (int base = -20; base <= 20; ++base) {
    double expected = 1.0;
    for (int exponent = 0; exponent <= 12; ++exponent) {
      EXPECT_TRUE(same(ldh::math::pow(base, exponent), expected)) << base << "^" << exponent;
      expected *= base;
    }
  }
  EXPECT_TRUE(same(ldh::math::pow(2.0, -3.0), 0.125));
  EXPECT_TRUE(same(ldh::math::pow(2.0, 1023.0), 0x1p1023));
  EXPECT_TRUE(same(ldh::math::pow(2.0, -1074.0), kSmallestSubnormal));
  EXPECT_TRUE(same(ldh::math::pow(4.0, 0.5), 2.0));
}

TEST(MathTest, PowFollowsAnnexF) {
  const double odd = 3.0;
  const double even = 4.0;
  const double fraction = 2.5;
  // pow(x, +-0) is 1 for any x, even NaN; pow(+1, y) is 1 for any y, even NaN.
  for (double x : {0.0, -0.0, 1.0, -1.0, 2.5, -2.5, kInfinity, -kInfinity, kNan}) {
    EXPECT_TRUE(same(ldh::math::pow(x, 0.0), 1.0)) << x;
    EXPECT_TRUE(same(ldh::math::pow(x, -0.0), 1.0)) << x;
  }
  for (double y : {0.5, -3.0, kInfinity, -kInfinity, kNan}) {
    EXPECT_TRUE(same(ldh::math::pow(1.0, y), 1.0)) << y;
  }
  // NaN in, NaN out otherwise.
  EXPECT_TRUE(std::isnan(ldh::math::pow(kNan, 1.0)));
  EXPECT_TRUE(std::isnan(ldh::math::pow(2.0, kNan)));
  // Zero bases.
  EXPECT_TRUE(same(ldh::math::pow(0.0, -odd), kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(-0.0, -odd), -kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(0.0, -even), kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(-0.0, -even), kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(-0.0, -fraction), kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(-0.0, -kInfinity), kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(0.0, odd), 0.0));
  EXPECT_TRUE(same(ldh::math::pow(-0.0, odd), -0.0));
  EXPECT_TRUE(same(ldh::math::pow(-0.0, even), 0.0));
  EXPECT_TRUE(same(ldh::math::pow(-0.0, fraction), 0.0));
  EXPECT_TRUE(same(ldh::math::pow(-0.0, 0.5), 0.0));
  // -1 to infinite powers.
  EXPECT_TRUE(same(ldh::math::pow(-1.0, kInfinity), 1.0));
  EXPECT_TRUE(same(ldh::math::pow(-1.0, -kInfinity), 1.0));
  // Negative finite bases need integer exponents.
  EXPECT_TRUE(std::isnan(ldh::math::pow(-2.0, fraction)));
  EXPECT_TRUE(std::isnan(ldh::math::pow(-1.0, 0.5)));
  EXPECT_TRUE(same(ldh::math::pow(-2.0, odd), -8.0));
  EXPECT_TRUE(same(ldh::math::pow(-2.0, even), 16.0));
  EXPECT_TRUE(same(ldh::math::pow(-2.0, -odd), -0.125));
  EXPECT_TRUE(same(ldh::math::pow(-2.0, 0x1p60), kInfinity));  // huge exponents are even
  // Infinite exponents.
  EXPECT_TRUE(same(ldh::math::pow(0.5, -kInfinity), kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(-0.5, -kInfinity), kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(2.0, -kInfinity), 0.0));
  EXPECT_TRUE(same(ldh::math::pow(0.5, kInfinity), 0.0));
  EXPECT_TRUE(same(ldh::math::pow(-2.0, kInfinity), kInfinity));
  // Infinite bases.
  EXPECT_TRUE(same(ldh::math::pow(-kInfinity, -odd), -0.0));
  EXPECT_TRUE(same(ldh::math::pow(-kInfinity, -even), 0.0));
  EXPECT_TRUE(same(ldh::math::pow(-kInfinity, -fraction), 0.0));
  EXPECT_TRUE(same(ldh::math::pow(-kInfinity, odd), -kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(-kInfinity, even), kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(-kInfinity, fraction), kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(kInfinity, -1.0), 0.0));
  EXPECT_TRUE(same(ldh::math::pow(kInfinity, 0.5), kInfinity));
  // Overflow and underflow keep the sign of odd powers.
  EXPECT_TRUE(same(ldh::math::pow(10.0, 400.0), kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(-10.0, 401.0), -kInfinity));
  EXPECT_TRUE(same(ldh::math::pow(10.0, -400.0), 0.0));
  EXPECT_TRUE(same(ldh::math::pow(-10.0, -401.0), -0.0));
  // Subnormal bases.
  EXPECT_LE(ulp_error(ldh::math::pow(kSmallestSubnormal, 0.25),
                      std::pow(static_cast<long double>(kSmallestSubnormal), 0.25L)),
            1.0L);
}

TEST(MathTest, PowAgreesWithTheCLibraryOnSpecialValues) {
  const std::vector<double> values{0.0,  -0.0,   1.0,     -1.0,    0.5,      -0.5,      2.0,
                                   -2.0, 3.0,    -3.0,    2.5,     -2.5,     kInfinity, -kInfinity,
                                   kNan, 1e-310, -1e-310, DBL_MAX, -DBL_MAX, 0x1p53,    -0x1p53};
  for (double x : values) {
    for (double y : values) {
      const double expected = std::pow(x, y);
      const double actual = ldh::math::pow(x, y);
      if (std::isnan(expected) || std::isinf(expected) || expected == 0.0) {
        EXPECT_TRUE(same(actual, expected)) << "pow(" << x << ", " << y << ")";
      } else {
        EXPECT_LE(
            ulp_error(actual, std::pow(static_cast<long double>(x), static_cast<long double>(y))),
            1.0L)
            << "pow(" << x << ", " << y << ")";
      }
    }
  }
}

TEST(MathTest, RoundingFunctions) {
  EXPECT_TRUE(same(ldh::math::round(2.5), 3.0));
  EXPECT_TRUE(same(ldh::math::round(-2.5), -3.0));
  EXPECT_TRUE(same(ldh::math::round(0.49999999999999994), 0.0));
  EXPECT_TRUE(same(ldh::math::round(-0.4), -0.0));
  EXPECT_TRUE(same(ldh::math::floor(-1.5), -2.0));
  EXPECT_TRUE(same(ldh::math::floor(-0.0), -0.0));
  EXPECT_TRUE(same(ldh::math::ceil(-1.5), -1.0));
  EXPECT_TRUE(same(ldh::math::ceil(-0.5), -0.0));
  EXPECT_TRUE(same(ldh::math::floor(0x1p60 + 0x1p8), 0x1p60 + 0x1p8));
  EXPECT_TRUE(std::isnan(ldh::math::round(kNan)));
  EXPECT_TRUE(same(ldh::math::floor(-kInfinity), -kInfinity));
}

TEST(MathTest, AbsSqrtAndRemainder) {
  EXPECT_TRUE(same(ldh::math::abs(-0.0), 0.0));
  EXPECT_TRUE(same(ldh::math::abs(-kInfinity), kInfinity));
  EXPECT_TRUE(same(ldh::math::abs(-3.5), 3.5));
  EXPECT_TRUE(same(ldh::math::sqrt(2.0), std::sqrt(2.0)));
  EXPECT_TRUE(same(ldh::math::sqrt(-0.0), -0.0));
  EXPECT_TRUE(std::isnan(ldh::math::sqrt(-1.0)));
  EXPECT_TRUE(same(ldh::math::fmod(7.5, 2.0), 1.5));
  EXPECT_TRUE(same(ldh::math::fmod(-7.5, 2.0), -1.5));
  EXPECT_TRUE(same(ldh::math::fmod(7.5, -2.0), 1.5));
  EXPECT_TRUE(std::isnan(ldh::math::fmod(1.0, 0.0)));
  EXPECT_TRUE(std::isnan(ldh::math::fmod(kInfinity, 1.0)));
}

TEST(MathTest, MinMaxAndClampPropagateNan) {
  EXPECT_TRUE(same(ldh::math::min(1.0, 2.0), 1.0));
  EXPECT_TRUE(same(ldh::math::max(1.0, 2.0), 2.0));
  EXPECT_TRUE(std::isnan(ldh::math::min(kNan, 2.0)));
  EXPECT_TRUE(std::isnan(ldh::math::min(2.0, kNan)));
  EXPECT_TRUE(std::isnan(ldh::math::max(kNan, 2.0)));
  EXPECT_TRUE(std::isnan(ldh::math::max(2.0, kNan)));
  EXPECT_TRUE(same(ldh::math::min(-0.0, 0.0), -0.0));
  EXPECT_TRUE(same(ldh::math::min(0.0, -0.0), -0.0));
  EXPECT_TRUE(same(ldh::math::max(-0.0, 0.0), 0.0));
  EXPECT_TRUE(same(ldh::math::max(0.0, -0.0), 0.0));
  EXPECT_TRUE(same(ldh::math::clamp(5.0, 0.0, 3.0), 3.0));
  EXPECT_TRUE(same(ldh::math::clamp(-5.0, 0.0, 3.0), 0.0));
  EXPECT_TRUE(same(ldh::math::clamp(1.5, 0.0, 3.0), 1.5));
  EXPECT_TRUE(same(ldh::math::clamp(1.5, 4.0, 3.0), 3.0));
  EXPECT_TRUE(std::isnan(ldh::math::clamp(kNan, 0.0, 3.0)));
  EXPECT_TRUE(std::isnan(ldh::math::clamp(1.0, kNan, 3.0)));
}

TEST(MathTest, SelectAndCanonicalKeepBits) {
  EXPECT_TRUE(same(ldh::math::select(true, -0.0, 1.0), -0.0));
  EXPECT_TRUE(same(ldh::math::select(false, -0.0, kInfinity), kInfinity));
  const double payload_nan = from_bits(0xfff8000000000123ULL);
  EXPECT_EQ(to_bits(ldh::math::select(true, payload_nan, 0.0)), 0xfff8000000000123ULL);
  EXPECT_EQ(to_bits(ldh::math::canonical(payload_nan)), ldh::math::kCanonicalNanBits);
  EXPECT_EQ(to_bits(ldh::math::canonical(-0.0)), to_bits(-0.0));
}

}  // namespace
