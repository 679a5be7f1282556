// Checks avg, variance, stddev (sample and population) and trend against exact rationals (GMP):
// every result is the exact value correctly rounded, on random and adversarial data
// (cancellation around 1e9, 1e300 with 1e-300, squares beyond the double range, duplicates, one
// event, one timestamp, NaN and infinities), in any order and any split into merged parts.

#include "pipeline/moments.h"

#include <gmpxx.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "exact_reference.h"

namespace {

using ldh::Moments;
using ldh::TrendSums;
using ldh::math::from_bits;
using ldh::math::to_bits;
using ldh::testing::correctly_rounded;
using ldh::testing::neighbour;
using ldh::testing::power_of_two;
using ldh::testing::rational;

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kMax = std::numeric_limits<double>::max();

/// Tells whether `result` is the nearest double to sqrt(square) (square >= 0), comparing the
/// squares of the midpoints to its neighbours.
::testing::AssertionResult correctly_rounded_root(double result, const mpq_class& square) {
  if (std::isnan(result) || result < 0) return ::testing::AssertionFailure() << result;
  if (std::isinf(result)) {
    const mpq_class halfway = (rational(kMax) + power_of_two(1024)) / 2;
    if (square >= halfway * halfway) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "infinity for a finite root";
  }
  const mpq_class value = rational(result);
  const mpq_class above = (value + neighbour(result, kInfinity)) / 2;
  const bool even = (to_bits(result) & 1) == 0;
  if (square > above * above || (square == above * above && !even)) {
    return ::testing::AssertionFailure() << std::hexfloat << result << " below the root";
  }
  if (result > 0) {
    const mpq_class below = (value + neighbour(result, -kInfinity)) / 2;
    if (square < below * below || (square == below * below && !even)) {
      return ::testing::AssertionFailure() << std::hexfloat << result << " above the root";
    }
  }
  return ::testing::AssertionSuccess();
}

struct Event {
  std::int64_t time;
  double value;
};

/// Builds the event sets: values and nanosecond times relative to a window start.
std::vector<std::vector<Event>> event_sets() {
  std::mt19937_64 random(31);
  auto uniform = [&](double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(random);
  };
  auto time = [&] { return static_cast<std::int64_t>(random() % 300'000'000'000); };
  std::vector<std::vector<Event>> sets;

  std::vector<Event> sensor;
  for (int i = 0; i < 3000; ++i)
    sensor.push_back({time(), std::round(uniform(-15, 45) * 100) / 100});
  sets.push_back(sensor);

  std::vector<Event> cancellation;  // 1e9 + noise: the naive variance formula loses everything
  for (int i = 0; i < 3000; ++i) cancellation.push_back({time(), 1e9 + uniform(-1e-3, 1e-3)});
  sets.push_back(cancellation);

  std::vector<Event> drifting;  // a clean linear trend plus rounding
  for (int i = 0; i < 2000; ++i) {
    const std::int64_t t = time();
    drifting.push_back({t, 20.0 + 0.25 * (static_cast<double>(t) / 1e9)});
  }
  sets.push_back(drifting);

  std::vector<Event> mixed;  // huge and tiny together
  const double corners[] = {1e300, -1e300, 1e-300, 5e-324, 1.0, 0.1, -0.0, 1e154, -3e200};
  for (int i = 0; i < 1000; ++i) mixed.push_back({time(), corners[random() % std::size(corners)]});
  sets.push_back(mixed);

  std::vector<Event> bits;  // every exponent
  for (int i = 0; i < 500; ++i) {
    double x = from_bits(random());
    while (!std::isfinite(x)) x = from_bits(random());
    bits.push_back({time(), x});
  }
  sets.push_back(bits);

  std::vector<Event> duplicates(3000, Event{5, 0.1});  // one value, mostly one time
  duplicates.push_back({7, 0.1});
  sets.push_back(duplicates);

  std::vector<Event> far_times;  // times across the int64 range, negative too
  for (int i = 0; i < 500; ++i) {
    far_times.push_back({static_cast<std::int64_t>(random()) >> (random() % 40), uniform(-5, 5)});
  }
  sets.push_back(far_times);

  sets.push_back({{0, 42.0}});                         // one event
  sets.push_back({{10, 1.0}, {10, 3.0}});              // one timestamp
  sets.push_back({{0, 1e300}, {1, -1e300}});           // variance beyond the double range
  sets.push_back({{0, 1e-300}, {1, 2e-300}});          // variance below it
  sets.push_back({{0, 1e9}, {1, 1e9}, {2, 1e9 + 1}});  // tiny spread on a large mean
  return sets;
}

struct Exact {
  mpq_class count = 0;
  mpq_class sum = 0;
  mpq_class squares = 0;
  mpq_class times = 0;
  mpq_class time_squares = 0;
  mpq_class time_products = 0;
};

Exact exact_sums(const std::vector<Event>& events) {
  Exact exact;
  for (const Event& event : events) {
    const mpq_class x = rational(event.value);
    const mpq_class t = rational(event.time);
    exact.count += 1;
    exact.sum += x;
    exact.squares += x * x;
    exact.times += t;
    exact.time_squares += t * t;
    exact.time_products += t * x;
  }
  return exact;
}

void accumulate(const std::vector<Event>& events, Moments& moments, TrendSums& trend) {
  for (const Event& event : events) {
    moments.add(event.value);
    trend.add(event.time, event.value);
  }
}

TEST(MomentsTest, SizesStaySmall) {
  EXPECT_EQ(sizeof(Moments), 72u);
  EXPECT_EQ(sizeof(TrendSums), 72u);
}

TEST(MomentsTest, EveryMetricIsCorrectlyRounded) {
  for (const std::vector<Event>& events : event_sets()) {
    Moments moments;
    TrendSums trend;
    accumulate(events, moments, trend);
    const Exact e = exact_sums(events);
    const mpq_class n = e.count;
    SCOPED_TRACE("set of " + std::to_string(events.size()));

    ASSERT_TRUE(ldh::average(moments).has_value());
    EXPECT_TRUE(correctly_rounded(*ldh::average(moments), e.sum / n));

    const mpq_class deviations = n * e.squares - e.sum * e.sum;  // n * sum((x - mean)^2)
    const mpq_class population = deviations / (n * n);
    EXPECT_TRUE(correctly_rounded(*ldh::population_variance(moments), population));
    EXPECT_TRUE(correctly_rounded_root(*ldh::population_standard_deviation(moments), population));
    if (events.size() >= 2) {
      const mpq_class sample = deviations / (n * (n - 1));
      EXPECT_TRUE(correctly_rounded(*ldh::sample_variance(moments), sample));
      EXPECT_TRUE(correctly_rounded_root(*ldh::sample_standard_deviation(moments), sample));
    } else {
      EXPECT_FALSE(ldh::sample_variance(moments).has_value());
      EXPECT_FALSE(ldh::sample_standard_deviation(moments).has_value());
    }

    const mpq_class spread = n * e.time_squares - e.times * e.times;
    const std::optional<double> slope = ldh::trend(moments, trend);
    if (spread == 0) {
      EXPECT_FALSE(slope.has_value());
    } else {
      ASSERT_TRUE(slope.has_value());
      EXPECT_TRUE(correctly_rounded(
          *slope, 1'000'000'000 * (n * e.time_products - e.times * e.sum) / spread));
    }
  }
}

TEST(MomentsTest, CancellationLeavesTheTrueSpread) {
  // 1e9 + {0, 1, 2}: the variance is exactly 1, the slope exactly 1 per ns = 1e9 per second.
  Moments moments;
  TrendSums trend;
  for (int i = 0; i < 3; ++i) {
    moments.add(1e9 + i);
    trend.add(i, 1e9 + i);
  }
  EXPECT_EQ(*ldh::sample_variance(moments), 1.0);
  EXPECT_EQ(*ldh::sample_standard_deviation(moments), 1.0);
  EXPECT_EQ(*ldh::trend(moments, trend), 1e9);
  EXPECT_EQ(*ldh::average(moments), 1e9 + 1);
}

TEST(MomentsTest, OrderAndPartitionDoNotChangeAnyBit) {
  std::mt19937_64 random(37);
  for (std::vector<Event> events : event_sets()) {
    Moments reference_moments;
    TrendSums reference_trend;
    accumulate(events, reference_moments, reference_trend);
    auto results = [](const Moments& m, const TrendSums& t) {
      return std::vector<std::optional<double>>{ldh::average(m),
                                                ldh::sample_variance(m),
                                                ldh::population_variance(m),
                                                ldh::sample_standard_deviation(m),
                                                ldh::population_standard_deviation(m),
                                                ldh::trend(m, t)};
    };
    const auto expected = results(reference_moments, reference_trend);
    for (int round = 0; round < 4; ++round) {
      std::shuffle(events.begin(), events.end(), random);
      const std::size_t parts = 1 + random() % 9;
      std::vector<Moments> moment_parts(parts);
      std::vector<TrendSums> trend_parts(parts);
      for (const Event& event : events) {
        const std::size_t part = random() % parts;
        moment_parts[part].add(event.value);
        trend_parts[part].add(event.time, event.value);
      }
      Moments moments;
      TrendSums trend;
      for (std::size_t part = 0; part < parts; ++part) {
        moments.merge(moment_parts[part]);
        trend.merge(trend_parts[part]);
      }
      EXPECT_TRUE(trend == reference_trend);
      const auto actual = results(moments, trend);
      for (std::size_t i = 0; i < expected.size(); ++i) {
        ASSERT_EQ(actual[i].has_value(), expected[i].has_value());
        if (expected[i]) {
          EXPECT_EQ(std::memcmp(&*actual[i], &*expected[i], sizeof(double)), 0);
        }
      }
    }
  }
}

TEST(MomentsTest, ShiftedMergeMatchesOneOrigin) {
  // Panes of one minute with their own origins, merged into a five-minute window.
  std::mt19937_64 random(41);
  constexpr std::int64_t kMinute = 60'000'000'000;
  Moments whole_moments;
  TrendSums whole_trend;
  Moments window_moments;
  TrendSums window_trend;
  for (int pane = 0; pane < 5; ++pane) {
    Moments pane_moments;
    TrendSums pane_trend;
    for (int i = 0; i < 400; ++i) {
      const std::int64_t t = static_cast<std::int64_t>(random() % kMinute);
      const double x = std::uniform_real_distribution<double>(10, 30)(random) + pane;
      pane_moments.add(x);
      pane_trend.add(t, x);
      whole_moments.add(x);
      whole_trend.add(pane * kMinute + t, x);
    }
    window_moments.merge(pane_moments);
    window_trend.merge_shifted(pane_trend, pane_moments, pane * kMinute);
  }
  EXPECT_TRUE(window_trend == whole_trend);
  const double expected = *ldh::trend(whole_moments, whole_trend);
  const double actual = *ldh::trend(window_moments, window_trend);
  EXPECT_EQ(to_bits(actual), to_bits(expected));
  // Any origin gives the same slope: shift everything by -3 minutes.
  TrendSums shifted;
  shifted.merge_shifted(whole_trend, whole_moments, -3 * kMinute);
  EXPECT_EQ(to_bits(*ldh::trend(whole_moments, shifted)), to_bits(expected));
}

TEST(MomentsTest, SquaresBeyondTheDoubleRange) {
  // |x| > 1.34e154 squares past DBL_MAX; the exact sums still hold them. The variance is +inf
  // when it exceeds the double range, while the standard deviation stays finite and exact.
  Moments moments;
  moments.add(1e300);
  moments.add(-1e300);
  EXPECT_EQ(*ldh::sample_variance(moments), kInfinity);
  const mpq_class variance = rational(1e300) * rational(1e300) * 2;
  EXPECT_TRUE(correctly_rounded_root(*ldh::sample_standard_deviation(moments), variance));
  Moments tiny;
  tiny.add(1e-300);
  tiny.add(3e-300);
  EXPECT_EQ(*ldh::sample_variance(tiny), 0.0);  // 2e-600 rounds to zero
  EXPECT_TRUE(correctly_rounded_root(
      *ldh::sample_standard_deviation(tiny),
      (rational(3e-300) - rational(1e-300)) * (rational(3e-300) - rational(1e-300)) / 2));
}

TEST(MomentsTest, NullAndSpecialRules) {
  Moments empty;
  TrendSums empty_trend;
  EXPECT_FALSE(ldh::average(empty).has_value());
  EXPECT_FALSE(ldh::population_variance(empty).has_value());
  EXPECT_FALSE(ldh::trend(empty, empty_trend).has_value());

  Moments one;
  TrendSums one_trend;
  one.add(kNan);
  one_trend.add(0, kNan);
  EXPECT_FALSE(ldh::sample_variance(one).has_value());  // null beats NaN
  EXPECT_TRUE(std::isnan(*ldh::population_variance(one)));
  EXPECT_FALSE(ldh::trend(one, one_trend).has_value());

  Moments special;
  TrendSums special_trend;
  special.add(1.0);
  special.add(kInfinity);
  special_trend.add(0, 1.0);
  special_trend.add(1, kInfinity);
  EXPECT_EQ(*ldh::average(special), kInfinity);
  EXPECT_TRUE(std::isnan(*ldh::sample_variance(special)));
  EXPECT_TRUE(std::isnan(*ldh::sample_standard_deviation(special)));
  EXPECT_TRUE(std::isnan(*ldh::trend(special, special_trend)));
  special.add(-kInfinity);
  EXPECT_EQ(to_bits(*ldh::average(special)), ldh::math::kCanonicalNanBits);

  Moments single;
  single.add(-2.5);
  EXPECT_EQ(*ldh::population_variance(single), 0.0);
  EXPECT_EQ(*ldh::population_standard_deviation(single), 0.0);
  EXPECT_EQ(*ldh::average(single), -2.5);
}

TEST(MomentsTest, DivisionAndRootCoresRoundTies) {
  using ldh::exact::NumberView;
  std::uint32_t a[4];
  std::uint32_t b[4];
  // (2^53 + 1) / 1 is a tie between 2^53 and 2^53 + 2: even wins.
  const NumberView tie = ldh::exact::integer_number((ldh::exact::UInt128{1} << 53) + 1, false, a);
  const NumberView one = ldh::exact::integer_number(1, false, b);
  EXPECT_EQ(ldh::exact::divide_rounded(tie, one), 0x1p53);
  // 1 / 3 and sqrt(2): nearest doubles.
  std::uint32_t c[4];
  const NumberView three = ldh::exact::integer_number(3, false, c);
  EXPECT_EQ(ldh::exact::divide_rounded(one, three), 1.0 / 3.0);
  std::uint32_t d[4];
  const NumberView two = ldh::exact::integer_number(2, false, d);
  EXPECT_EQ(ldh::exact::square_root_of_quotient_rounded(two, one), std::sqrt(2.0));
  EXPECT_EQ(ldh::exact::square_root_of_quotient_rounded(one, three), std::sqrt(1.0 / 3.0));
  // Random quotients of wide integers against GMP.
  std::mt19937_64 random(43);
  for (int i = 0; i < 2000; ++i) {
    std::uint32_t numerator_digits[12];
    std::uint32_t denominator_digits[8];
    const int numerator_size = 1 + static_cast<int>(random() % 12);
    const int denominator_size = 1 + static_cast<int>(random() % 8);
    mpz_class numerator = 0;
    mpz_class denominator = 0;
    for (int k = numerator_size - 1; k >= 0; --k) {
      numerator_digits[k] = static_cast<std::uint32_t>(random() >> (random() % 32));
      numerator = numerator * 4294967296u + numerator_digits[k];
    }
    for (int k = denominator_size - 1; k >= 0; --k) {
      denominator_digits[k] = static_cast<std::uint32_t>(random() >> (random() % 32));
      denominator = denominator * 4294967296u + denominator_digits[k];
    }
    if (denominator == 0) continue;
    const int exponent = 32 * (static_cast<int>(random() % 80) - 40);
    const NumberView n = ldh::exact::trimmed(numerator_digits, numerator_size, exponent, i % 2);
    const NumberView m = ldh::exact::trimmed(denominator_digits, denominator_size, 0, false);
    const mpq_class quotient = mpq_class(numerator, denominator) * power_of_two(exponent);
    EXPECT_TRUE(correctly_rounded(ldh::exact::divide_rounded(n, m), i % 2 ? -quotient : quotient));
    const NumberView positive =
        ldh::exact::trimmed(numerator_digits, numerator_size, exponent, false);
    EXPECT_TRUE(
        correctly_rounded_root(ldh::exact::square_root_of_quotient_rounded(positive, m), quotient));
  }
}

TEST(MomentsTest, IntegerSquareRootIsTheExactFloor) {
  using ldh::exact::UInt128;
  std::mt19937_64 random(79);
  std::vector<UInt128> values = {0,
                                 1,
                                 2,
                                 3,
                                 4,
                                 15,
                                 16,
                                 17,
                                 (UInt128{1} << 120) - 1,
                                 UInt128{1} << 113,
                                 (UInt128{1} << 116) - 1};
  for (int i = 0; i < 20'000; ++i) {
    const UInt128 wide =
        ((static_cast<UInt128>(random()) << 64) | random()) >> (8 + random() % 120);
    values.push_back(wide);
    const UInt128 root = 1 + (wide >> 62);  // below 2^58: its square and neighbours
    values.push_back(root * root);
    values.push_back(root * root - 1);
    values.push_back(root * root + 1);
  }
  for (const UInt128 value : values) {
    bool inexact = false;
    const UInt128 root = ldh::exact::integer_square_root(value, &inexact);
    ASSERT_LE(root * root, value);
    ASSERT_GT((root + 1) * (root + 1), value);
    ASSERT_EQ(inexact, root * root != value);
  }
}

TEST(MomentsTest, NearTiesNeedTheStickyBit) {
  // numerator = m * d + r with m an odd 54-bit integer: m / 1 lies exactly halfway between two
  // doubles, so r = 0 ties to even and any r > 0, however small against d, rounds up.
  std::mt19937_64 random(47);
  for (int i = 0; i < 3000; ++i) {
    const mpz_class midpoint =
        mpz_class(static_cast<unsigned long>((random() >> 10) | (1ULL << 53) | 1));
    mpz_class divisor = 0;
    const int divisor_digits = 1 + static_cast<int>(random() % 6);
    for (int k = 0; k < divisor_digits; ++k) {
      divisor = divisor * 4294967296u + static_cast<unsigned long>(random() >> 32);
    }
    if (divisor == 0) divisor = 1;
    const mpz_class rest = i % 3 == 0 ? mpz_class(0) : i % 3 == 1 ? mpz_class(1) : divisor - 1;
    for (const bool root : {false, true}) {
      const mpz_class numerator = (root ? midpoint * midpoint : midpoint) * divisor + rest;
      std::uint32_t numerator_digits[16] = {};
      std::uint32_t divisor_digits_out[8] = {};
      std::size_t count = 0;
      mpz_export(numerator_digits, &count, -1, 4, 0, 0, numerator.get_mpz_t());
      const ldh::exact::NumberView n =
          ldh::exact::trimmed(numerator_digits, static_cast<int>(count), 0, false);
      mpz_export(divisor_digits_out, &count, -1, 4, 0, 0, divisor.get_mpz_t());
      const ldh::exact::NumberView d =
          ldh::exact::trimmed(divisor_digits_out, static_cast<int>(count), 0, false);
      const mpq_class quotient(numerator, divisor);
      if (root) {
        EXPECT_TRUE(
            correctly_rounded_root(ldh::exact::square_root_of_quotient_rounded(n, d), quotient));
      } else {
        EXPECT_TRUE(correctly_rounded(ldh::exact::divide_rounded(n, d), quotient));
      }
    }
  }
}

}  // namespace
