#pragma once

// The exact reference the exact-arithmetic tests share: doubles as GMP rationals, and the check
// that a result is the double nearest an exact value.

#include <gmpxx.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "pipeline/math.h"

namespace ldh::testing {

/// Returns the exact value of a double.
inline mpq_class rational(double x) {
  mpq_class q;
  mpq_set_d(q.get_mpq_t(), x);
  return q;
}

inline mpq_class rational(std::int64_t x) {
  return mpq_class(mpz_class(std::to_string(x)));
}

/// Returns 2^exponent exactly.
inline mpq_class power_of_two(int exponent) {
  mpz_class magnitude = 1;
  mpz_mul_2exp(magnitude.get_mpz_t(), magnitude.get_mpz_t(),
               static_cast<unsigned>(std::abs(exponent)));
  return exponent >= 0 ? mpq_class(magnitude) : mpq_class(1, magnitude);
}

/// Returns the neighbour of finite `x` towards `direction` as a rational, 2^1024 standing in for
/// infinity.
inline mpq_class neighbour(double x, double direction) {
  const double next = std::nextafter(x, direction);
  if (std::isinf(next)) return next > 0 ? power_of_two(1024) : -power_of_two(1024);
  return rational(next);
}

/// Tells whether `result` is `exact` rounded to the nearest double, ties to even: it is no
/// farther from `exact` than either neighbour (2^1024 standing in beyond DBL_MAX).
inline ::testing::AssertionResult correctly_rounded(double result, const mpq_class& exact) {
  if (std::isnan(result)) return ::testing::AssertionFailure() << "NaN for a finite value";
  if (exact == 0) {
    if (math::to_bits(result) == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "exact zero gave " << result;
  }
  if (std::isinf(result)) {
    const mpq_class halfway =
        (rational(std::numeric_limits<double>::max()) + power_of_two(1024)) / 2;
    if ((result > 0 && exact >= halfway) || (result < 0 && exact <= -halfway)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "infinity for " << exact.get_d();
  }
  const mpq_class distance = abs(exact - rational(result));
  for (const double direction :
       {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    const mpq_class other_distance = abs(exact - neighbour(result, direction));
    if (other_distance < distance ||
        (other_distance == distance && (math::to_bits(result) & 1) != 0)) {
      return ::testing::AssertionFailure()
             << std::hexfloat << result << " is not nearest to " << exact.get_d();
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace ldh::testing
