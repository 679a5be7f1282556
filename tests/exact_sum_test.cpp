// Checks ExactSum and DenseExactSum against exact rationals (GMP): sums of random and adversarial
// doubles (1e300 with 1e-300, subnormals, cancellation, duplicates, ties) round correctly, in
// any order and any split into merged parts, and the compact and dense forms agree.

#include "pipeline/exact_sum.h"

#include <gmpxx.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "exact_reference.h"

namespace {

using ldh::ExactSum;
using ldh::math::from_bits;
using ldh::math::to_bits;
using ldh::testing::correctly_rounded;
using ldh::testing::power_of_two;
using ldh::testing::rational;

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kMax = std::numeric_limits<double>::max();
constexpr double kSmallestSubnormal = std::numeric_limits<double>::denorm_min();

/// Tells whether two doubles have the same bits.
bool same_bits(double a, double b) {
  return to_bits(a) == to_bits(b);
}

/// Draws a finite double with uniformly random bits (every exponent equally likely).
double random_finite(std::mt19937_64& random) {
  while (true) {
    const double x = from_bits(random());
    if (std::isfinite(x)) return x;
  }
}

/// Builds the data sets the exactness tests run over.
std::vector<std::vector<double>> data_sets() {
  std::mt19937_64 random(7);
  std::vector<std::vector<double>> sets;
  auto uniform = [&](double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(random);
  };

  std::vector<double> sensor;  // temperatures with two decimals
  for (int i = 0; i < 5000; ++i) sensor.push_back(std::round(uniform(-15, 45) * 100) / 100);
  sets.push_back(sensor);

  std::vector<double> bits;  // every exponent
  for (int i = 0; i < 3000; ++i) bits.push_back(random_finite(random));
  sets.push_back(bits);

  std::vector<double> mixed;  // huge and tiny together, subnormals
  const double corners[] = {1e300,
                            -1e300,
                            1e-300,
                            -1e-300,
                            kSmallestSubnormal,
                            -kSmallestSubnormal,
                            2.2250738585072014e-308,
                            1.0,
                            -1.0,
                            kMax,
                            -kMax,
                            3e-320,
                            0.1,
                            -0.0,
                            0.0,
                            123456.789};
  for (int i = 0; i < 4000; ++i) mixed.push_back(corners[random() % std::size(corners)]);
  sets.push_back(mixed);

  std::vector<double> cancellation;  // 1e9 + noise, and +-1e300 around small values
  for (int i = 0; i < 3000; ++i) cancellation.push_back(1e9 + uniform(-1e-3, 1e-3));
  for (int i = 0; i < 1000; ++i) {
    cancellation.push_back(1e300);
    cancellation.push_back(uniform(-1, 1));
    cancellation.push_back(-1e300);
  }
  sets.push_back(cancellation);

  std::vector<double> duplicates(6000, 0.1);  // many copies
  for (int i = 0; i < 2000; ++i) duplicates.push_back(-0.30000000000000004);
  sets.push_back(duplicates);

  std::vector<double> subnormals;
  for (int i = 0; i < 2000; ++i) {
    subnormals.push_back(from_bits((random() & 0x000fffffffffffffULL) | (random() & 1) << 63));
  }
  sets.push_back(subnormals);

  std::vector<double> spread;  // values at every scale, so the window must move and spill
  for (int i = 0; i < 3000; ++i)
    spread.push_back(std::ldexp(uniform(-1, 1), int(random() % 200) - 100));
  sets.push_back(spread);

  std::vector<double> overflowing(50, kMax);  // exact sum beyond the double range
  overflowing.push_back(-kMax);
  sets.push_back(overflowing);

  sets.push_back({42.0});                          // a single event
  sets.push_back({-0.0});                          // negative zero alone
  sets.push_back({1.0, 0x1p-53});                  // exactly halfway: ties to even (1.0)
  sets.push_back({1.0, 0x1p-53, 0x1p-1074});       // just above halfway
  sets.push_back({0x1.0000000000001p0, 0x1p-53});  // halfway, odd: rounds up
  sets.push_back({kMax, 0x1p970});                 // halfway to 2^1024: infinity
  sets.push_back({kMax, 0x1p969});                 // below halfway: DBL_MAX
  return sets;
}

mpq_class exact_sum(const std::vector<double>& values) {
  mpq_class total = 0;
  for (const double x : values) total += rational(x);
  return total;
}

TEST(ExactSumTest, SizeIsOneHalfCacheLine) {
  EXPECT_EQ(sizeof(ExactSum), 32u);
}

TEST(ExactSumTest, ReferenceRejectsAnUlpOff) {
  EXPECT_TRUE(correctly_rounded(0.1, rational(0.1)));
  EXPECT_FALSE(correctly_rounded(std::nextafter(0.1, 1.0), rational(0.1)));
  EXPECT_FALSE(correctly_rounded(0x1.0000000000001p0, 1 + power_of_two(-53)));  // tie: even
  EXPECT_TRUE(correctly_rounded(1.0, 1 + power_of_two(-53)));
  EXPECT_FALSE(correctly_rounded(kInfinity, rational(kMax)));
  EXPECT_FALSE(correctly_rounded(-0.0, 0));
}

/// Applies random operations (add, products, scaled integers, merges, negation, merges with a
/// factor) to an ExactSum and to a rational, and compares after each.
TEST(ExactSumTest, RandomOperationsMatchRationals) {
  std::mt19937_64 random(29);
  const std::vector<std::vector<double>> sets = data_sets();
  for (int round = 0; round < 40; ++round) {
    ExactSum sum;
    mpq_class exact = 0;
    for (int step = 0; step < 200; ++step) {
      const std::vector<double>& set = sets[random() % sets.size()];
      const double a = set[random() % set.size()];
      const double b = set[random() % set.size()];
      switch (random() % 6) {
        case 0:
          sum.add(a);
          exact += rational(a);
          break;
        case 1:
          sum.add_product(a, b);
          exact += rational(a) * rational(b);
          break;
        case 2: {
          const auto t = static_cast<std::int64_t>(random()) >> (random() % 64);
          sum.add_scaled_integer(a, t);
          exact += rational(a) * mpq_class(mpz_class(std::to_string(t)));
          break;
        }
        case 3: {
          ExactSum other;
          other.add(a);
          other.add_product(b, b);
          sum.merge(other);
          exact += rational(a) + rational(b) * rational(b);
          break;
        }
        case 4:
          sum.negate();
          exact = -exact;
          break;
        default: {
          ExactSum other;
          other.add(a);
          const std::int64_t factor = static_cast<std::int64_t>(random() % 2001) - 1000;
          sum.merge_scaled(other, factor);
          exact += rational(a) * factor;
          break;
        }
      }
      ASSERT_TRUE(correctly_rounded(sum.to_double(), exact))
          << "round " << round << " step " << step;
    }
  }
}

TEST(ExactSumTest, SumsRoundCorrectly) {
  for (const std::vector<double>& values : data_sets()) {
    ExactSum sum;
    ldh::exact::DenseExactSum dense;
    dense.clear();
    for (const double x : values) {
      sum.add(x);
      dense.add(x);
    }
    const mpq_class exact = exact_sum(values);
    EXPECT_TRUE(correctly_rounded(sum.to_double(), exact)) << "set of " << values.size();
    EXPECT_TRUE(same_bits(sum.to_double(), dense.to_double()));
  }
}

TEST(ExactSumTest, OrderAndPartitionDoNotChangeTheState) {
  std::mt19937_64 random(11);
  for (std::vector<double> values : data_sets()) {
    ExactSum reference;
    for (const double x : values) reference.add(x);
    const double expected = reference.to_double();
    for (int round = 0; round < 6; ++round) {
      std::shuffle(values.begin(), values.end(), random);
      // Split into random parts, sum each, merge the parts in random order.
      const std::size_t parts = 1 + random() % 17;
      std::vector<ExactSum> partial(parts);
      for (const double x : values) partial[random() % parts].add(x);
      std::shuffle(partial.begin(), partial.end(), random);
      ExactSum merged;
      for (const ExactSum& part : partial) merged.merge(part);
      EXPECT_TRUE(merged == reference);
      const double result = merged.to_double();
      EXPECT_EQ(std::memcmp(&result, &expected, sizeof(double)), 0);
      // Dense accumulators merged from the same parts reach the same digits.
      ldh::exact::DenseExactSum dense;
      dense.clear();
      for (const double x : values) {
        ldh::exact::DenseExactSum one;
        one.clear();
        one.add(x);
        dense.merge(one);
      }
      std::uint32_t digits_a[ldh::exact::kNumberDigits];
      std::uint32_t digits_b[ldh::exact::kNumberDigits];
      EXPECT_TRUE(ldh::exact::equal(dense.to_number(digits_a), reference.to_number(digits_b)));
    }
  }
}

TEST(ExactSumTest, NormalizedDenseStateIsUnique) {
  std::mt19937_64 random(5);
  std::vector<double> values;
  for (int i = 0; i < 2000; ++i) values.push_back(random_finite(random));
  auto first = std::make_unique<ldh::exact::DenseExactSum>();
  auto second = std::make_unique<ldh::exact::DenseExactSum>();
  first->clear();
  second->clear();
  for (const double x : values) first->add(x);
  std::shuffle(values.begin(), values.end(), random);
  for (const double x : values) second->add(x);
  first->normalize();
  second->normalize();
  EXPECT_EQ(std::memcmp(first->limbs, second->limbs, sizeof(first->limbs)), 0);
}

TEST(ExactSumTest, ProductsAreExactBeyondTheDoubleRange) {
  std::mt19937_64 random(3);
  std::vector<std::pair<double, double>> pairs = {
      {1e200, 1e200}, {-1e200, 1e200}, {1e-200, 1e-200}, {kSmallestSubnormal, kSmallestSubnormal},
      {kMax, kMax},   {0.1, 0.1},      {-0.0, 5.0},      {3.0, 1.0 / 3.0}};
  for (int i = 0; i < 2000; ++i) pairs.emplace_back(random_finite(random), random_finite(random));
  for (int i = 0; i < 2000; ++i) {
    const double x = std::uniform_real_distribution<double>(-50, 50)(random);
    pairs.emplace_back(x, x);
  }
  ExactSum sum;
  ldh::exact::DenseExactSum dense;
  dense.clear();
  mpq_class exact = 0;
  for (const auto& [a, b] : pairs) {
    sum.add_product(a, b);
    dense.add_product(a, b);
    exact += rational(a) * rational(b);
    EXPECT_TRUE(correctly_rounded(sum.to_double(), exact));
  }
  EXPECT_TRUE(same_bits(sum.to_double(), dense.to_double()));
  // A tiny product survives next to a huge one and cancels exactly.
  ExactSum tiny;
  tiny.add_product(1e200, 1e200);
  tiny.add_product(1e-200, 1e-200);
  tiny.add_product(-1e200, 1e200);
  EXPECT_TRUE(correctly_rounded(tiny.to_double(), rational(1e-200) * rational(1e-200)));
}

TEST(ExactSumTest, ScaledIntegersAreExact) {
  std::mt19937_64 random(13);
  ExactSum sum;
  ldh::exact::DenseExactSum dense;
  dense.clear();
  mpq_class exact = 0;
  const std::int64_t corners[] = {0,
                                  1,
                                  -1,
                                  std::numeric_limits<std::int64_t>::min(),
                                  std::numeric_limits<std::int64_t>::max(),
                                  300'000'000'000};
  for (int i = 0; i < 3000; ++i) {
    const double x = i % 3 == 0 ? random_finite(random)
                                : std::uniform_real_distribution<double>(-40, 40)(random);
    const std::int64_t t = i % 5 == 0 ? corners[random() % std::size(corners)]
                                      : static_cast<std::int64_t>(random() % 300'000'000'000);
    sum.add_scaled_integer(x, t);
    dense.add_scaled_integer(x, t);
    exact += rational(x) * mpq_class(mpz_class(std::to_string(t)));
  }
  EXPECT_TRUE(correctly_rounded(sum.to_double(), exact));
  EXPECT_TRUE(same_bits(sum.to_double(), dense.to_double()));
  dense.add_scaled_integer(kInfinity, 0);  // inf * 0
  EXPECT_TRUE(std::isnan(dense.to_double()));
}

// Merges of two compact sums whose bits together span about the inline window (175 bits),
// scaled or not, on both sides of the limit: the same exact value as adding every term to one.
TEST(ExactSumTest, MergesAcrossTheInlineWindowLimitAreExact) {
  std::mt19937_64 random(41);
  const auto noisy = [&](int exponent) {
    const double mantissa = 1.0 + static_cast<double>(random() >> 12) * 0x1.0p-52;
    return (random() % 2 == 0 ? 1 : -1) * std::ldexp(mantissa, exponent);
  };
  for (int span = 90; span <= 200; ++span) {
    for (int trial = 0; trial < 4; ++trial) {
      const int low = static_cast<int>(random() % 400) - 200;
      // Either side may hold the low or the high part.
      ExactSum into;
      ExactSum other;
      mpq_class into_exact = 0;
      mpq_class other_exact = 0;
      for (int i = 0; i < 5; ++i) {
        const double a = noisy(low + static_cast<int>(random() % 3));
        const double b = noisy(low + span - static_cast<int>(random() % 3));
        into.add(trial % 2 == 0 ? a : b);
        other.add(trial % 2 == 0 ? b : a);
        into_exact += rational(trial % 2 == 0 ? a : b);
        other_exact += rational(trial % 2 == 0 ? b : a);
      }
      const std::int64_t factor =
          trial < 2
              ? 1
              : static_cast<std::int64_t>(random() >> (1 + random() % 40)) * (trial == 2 ? 1 : -1);
      if (trial < 2) {
        into.merge(other);
      } else {
        into.merge_scaled(other, factor);
      }
      const mpq_class exact =
          into_exact + other_exact * mpq_class(mpz_class(std::to_string(factor)));
      ASSERT_TRUE(correctly_rounded(into.to_double(), exact))
          << "span " << span << " trial " << trial << " factor " << factor;
      // The rest below the rounded value too: the whole exact value survived.
      const ldh::DoubleDouble parts = into.to_double_double();
      ASSERT_TRUE(correctly_rounded(parts.low, exact - rational(parts.high)))
          << "span " << span << " trial " << trial;
    }
  }
}

TEST(ExactSumTest, MergeScaledMovesAnOrigin) {
  std::mt19937_64 random(17);
  ExactSum values;
  mpq_class exact_values = 0;
  for (int i = 0; i < 500; ++i) {
    const double x = std::uniform_real_distribution<double>(-100, 100)(random);
    values.add(x);
    exact_values += rational(x);
  }
  values.add(1e-300);
  exact_values += rational(1e-300);
  ExactSum total;
  total.add(2.5);
  const std::int64_t offset = -60'000'000'000;
  total.merge_scaled(values, offset);
  EXPECT_TRUE(correctly_rounded(total.to_double(), rational(2.5) + exact_values * offset));
}

TEST(ExactSumTest, DoubleDoubleHoldsTheRest) {
  for (const std::vector<double>& values : data_sets()) {
    ExactSum sum;
    for (const double x : values) sum.add(x);
    const ldh::DoubleDouble pair = sum.to_double_double();
    const mpq_class exact = exact_sum(values);
    EXPECT_TRUE(correctly_rounded(pair.high, exact));
    if (std::isfinite(pair.high)) {
      EXPECT_TRUE(correctly_rounded(pair.low, exact - rational(pair.high)));
    }
  }
  ExactSum third;
  third.add(1.0);
  third.add(0x1p-60);
  const ldh::DoubleDouble pair = third.to_double_double();
  EXPECT_EQ(pair.high, 1.0);
  EXPECT_EQ(pair.low, 0x1p-60);
}

TEST(ExactSumTest, SpecialValuesFollowIeee) {
  struct Case {
    std::vector<double> values;
    double expected;
  };
  const std::vector<Case> cases = {
      {{1.0, kInfinity}, kInfinity},   {{-kInfinity, 1e300}, -kInfinity},
      {{kInfinity, -kInfinity}, kNan}, {{kNan, 1.0}, kNan},
      {{-kNan, kInfinity}, kNan},      {{kInfinity, kInfinity, 1.0}, kInfinity},
  };
  std::mt19937_64 random(19);
  for (Case c : cases) {
    for (int round = 0; round < 4; ++round) {
      std::shuffle(c.values.begin(), c.values.end(), random);
      ExactSum sum;
      for (const double x : c.values) sum.add(x);
      const double result = sum.to_double();
      if (std::isnan(c.expected)) {
        EXPECT_EQ(to_bits(result), ldh::math::kCanonicalNanBits);
      } else {
        EXPECT_EQ(result, c.expected);
      }
    }
  }
  ExactSum product;
  product.add_product(kInfinity, 0.0);
  EXPECT_TRUE(std::isnan(product.to_double()));
  ExactSum negative_zero;
  negative_zero.add(-0.0);
  EXPECT_EQ(to_bits(negative_zero.to_double()), 0u);  // an exact zero is +0.0
}

TEST(ExactSumTest, TypicalDataStaysCompact) {
  std::mt19937_64 random(23);
  ExactSum values;
  ExactSum squares;
  ExactSum time_products;
  for (int i = 0; i < 200'000; ++i) {
    const double x =
        std::round(std::uniform_real_distribution<double>(-20, 45)(random) * 100) / 100;
    const std::int64_t t = static_cast<std::int64_t>(random() % 300'000'000'000);  // 5 minutes
    values.add(x);
    squares.add_product(x, x);
    time_products.add_scaled_integer(x, t);
  }
  EXPECT_TRUE(values.is_compact());
  EXPECT_TRUE(squares.is_compact());
  EXPECT_TRUE(time_products.is_compact());
  EXPECT_EQ(values.heap_bytes() + squares.heap_bytes() + time_products.heap_bytes(), 0u);
  // Pressure-sized values and their squares too.
  ExactSum pressure;
  for (int i = 0; i < 100'000; ++i) {
    const double x = std::uniform_real_distribution<double>(950, 1050)(random);
    pressure.add_product(x, x);
  }
  EXPECT_TRUE(pressure.is_compact());
}

TEST(ExactSumTest, SpillsOnlyWhenTheSpanIsWide) {
  ExactSum sum;
  sum.add(1e300);
  sum.add(1e-300);
  EXPECT_FALSE(sum.is_compact());
  EXPECT_GT(sum.heap_bytes(), 0u);
  EXPECT_TRUE(correctly_rounded(sum.to_double(), rational(1e300) + rational(1e-300)));
  ExactSum copy(sum);
  EXPECT_TRUE(copy == sum);
  copy.add(-1e300);
  EXPECT_EQ(copy.to_double(), 1e-300);
  ExactSum moved(std::move(copy));
  EXPECT_EQ(moved.to_double(), 1e-300);
  sum = moved;
  EXPECT_TRUE(sum == moved);
}

TEST(ExactSumTest, NegateAndSelfMerge) {
  ExactSum sum;
  sum.add(0.1);
  sum.add(kInfinity);
  sum.negate();
  EXPECT_EQ(sum.to_double(), -kInfinity);
  ExactSum finite;
  finite.add(0.1);
  finite.add(1e20);
  finite.merge(finite);
  EXPECT_TRUE(correctly_rounded(finite.to_double(), 2 * (rational(0.1) + rational(1e20))));
  finite.negate();
  EXPECT_TRUE(correctly_rounded(finite.to_double(), -2 * (rational(0.1) + rational(1e20))));
}

TEST(ExactSumTest, GrowingSumsMoveTheWindow) {
  // Every addition doubles the sum, so its top climbs past the window's headroom repeatedly.
  ExactSum sum;
  mpq_class exact = 0;
  double x = 1.5;
  for (int i = 0; i < 300; ++i) {
    sum.add(x);
    exact += rational(x);
    x *= 2;
  }
  sum.add(1.0);
  exact += 1;
  EXPECT_TRUE(correctly_rounded(sum.to_double(), exact));
  // Many equal additions, enough to carry past 2^64 times the value.
  ExactSum big;
  ExactSum part;
  part.add(kMax);
  for (int i = 0; i < 70; ++i) part.merge(part);  // 2^70 * DBL_MAX
  big.merge(part);
  big.add(-kMax);
  EXPECT_EQ(big.to_double(), kInfinity);
}

}  // namespace
