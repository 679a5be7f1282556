// Checks avg, variance, stddev (sample and population) and trend against exact rationals (GMP):
// every result is the exact value correctly rounded, on random and adversarial data
// (cancellation around 1e9, 1e300 with 1e-300, squares beyond the double range, duplicates, one
// event, one timestamp, NaN and infinities), in any order and any split into merged parts; and
// that the word path (ShortNumber) returns the digit path's bits wherever it answers.

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

/// Draws test events from one seed: values, and nanosecond times within five minutes of a
/// window start.
struct EventDraw {
  explicit EventDraw(std::uint64_t seed) : random(seed) {}
  double uniform(double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(random);
  }
  std::int64_t time() { return static_cast<std::int64_t>(random() % 300'000'000'000); }
  std::mt19937_64 random;
};

/// Builds the event sets: values and nanosecond times relative to a window start.
std::vector<std::vector<Event>> event_sets() {
  EventDraw draw(31);
  std::vector<std::vector<Event>> sets;

  std::vector<Event> sensor;
  for (int i = 0; i < 3000; ++i)
    sensor.push_back({draw.time(), std::round(draw.uniform(-15, 45) * 100) / 100});
  sets.push_back(sensor);

  std::vector<Event> cancellation;  // 1e9 + noise: the naive variance formula loses everything
  for (int i = 0; i < 3000; ++i)
    cancellation.push_back({draw.time(), 1e9 + draw.uniform(-1e-3, 1e-3)});
  sets.push_back(cancellation);

  std::vector<Event> drifting;  // a clean linear trend plus rounding
  for (int i = 0; i < 2000; ++i) {
    const std::int64_t t = draw.time();
    drifting.push_back({t, 20.0 + 0.25 * (static_cast<double>(t) / 1e9)});
  }
  sets.push_back(drifting);

  std::vector<Event> mixed;  // huge and tiny together
  const double corners[] = {1e300, -1e300, 1e-300, 5e-324, 1.0, 0.1, -0.0, 1e154, -3e200};
  for (int i = 0; i < 1000; ++i)
    mixed.push_back({draw.time(), corners[draw.random() % std::size(corners)]});
  sets.push_back(mixed);

  std::vector<Event> bits;  // every exponent
  for (int i = 0; i < 500; ++i) {
    double x = from_bits(draw.random());
    while (!std::isfinite(x)) x = from_bits(draw.random());
    bits.push_back({draw.time(), x});
  }
  sets.push_back(bits);

  std::vector<Event> duplicates(3000, Event{5, 0.1});  // one value, mostly one time
  duplicates.push_back({7, 0.1});
  sets.push_back(duplicates);

  std::vector<Event> far_times;  // times across the int64 range, negative too
  for (int i = 0; i < 500; ++i) {
    far_times.push_back(
        {static_cast<std::int64_t>(draw.random()) >> (draw.random() % 40), draw.uniform(-5, 5)});
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
    window_trend.merge_shifted(pane_trend, pane_moments.count, pane_moments.sum, pane * kMinute);
  }
  EXPECT_TRUE(window_trend == whole_trend);
  const double expected = *ldh::trend(whole_moments, whole_trend);
  const double actual = *ldh::trend(window_moments, window_trend);
  EXPECT_EQ(to_bits(actual), to_bits(expected));
  // Any origin gives the same slope: shift everything by -3 minutes.
  TrendSums shifted;
  shifted.merge_shifted(whole_trend, whole_moments.count, whole_moments.sum, -3 * kMinute);
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
    // An estimate a few ulps off either way (as the word path's) reaches the same floor.
    const double estimate = std::sqrt(ldh::exact::approximate_double(value));
    for (const double error : {-0x1p-50, 0x1p-50}) {
      bool estimated_inexact = false;
      EXPECT_EQ(ldh::exact::integer_square_root(value, estimate * (1 + error), &estimated_inexact),
                root);
      EXPECT_EQ(estimated_inexact, inexact);
    }
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

// The word path against the digit path (the reference): the same bits for every input the word
// path takes, and the digit path answering the rest.

using ldh::exact::NumberView;
using ldh::exact::ShortNumber;
using ldh::exact::UInt128;

/// Returns |number| as an integer (the exponent aside).
mpz_class magnitude_of(const ShortNumber& number) {
  mpz_class value = 0;
  for (const UInt128 half : {number.high, number.low}) {
    for (const int shift : {64, 0}) {
      value = value * mpz_class("18446744073709551616") +
              mpz_class(std::to_string(static_cast<std::uint64_t>(half >> shift)));
    }
  }
  return value;
}

/// Returns the exact value of `number`.
mpq_class rational_of(const ShortNumber& number) {
  const mpq_class value = mpq_class(magnitude_of(number)) * power_of_two(number.exponent);
  return number.negative ? -value : value;
}

/// Writes `number` as digits (9 suffice) on the 32-bit exponent grid and returns their view.
NumberView digits_of(const ShortNumber& number, std::uint32_t* digits) {
  const int rest = ((number.exponent % 32) + 32) % 32;
  const mpz_class shifted = magnitude_of(number) << rest;
  std::fill(digits, digits + 9, 0u);
  std::size_t count = 0;
  mpz_export(digits, &count, -1, 4, 0, 0, shifted.get_mpz_t());
  return ldh::exact::trimmed(digits, static_cast<int>(count), number.exponent - rest,
                             number.negative);
}

/// Returns `value` (below 2^256) times 2^exponent as a ShortNumber.
ShortNumber short_of(const mpz_class& value, int exponent, bool negative) {
  std::uint64_t words[4] = {0, 0, 0, 0};
  std::size_t count = 0;
  mpz_export(words, &count, -1, 8, 0, 0, value.get_mpz_t());
  ShortNumber number;
  number.low = (static_cast<UInt128>(words[1]) << 64) | words[0];
  number.high = (static_cast<UInt128>(words[3]) << 64) | words[2];
  number.exponent = exponent;
  number.negative = negative && value != 0;
  return number;
}

/// Returns a random integer of exactly `bits` bits (0 for 0), its low `zeros` bits clear.
mpz_class random_integer(std::mt19937_64& random, int bits, int zeros = 0) {
  if (bits <= 0) return 0;
  mpz_class value = 1;
  for (int i = 1; i < bits; ++i) value = value * 2 + static_cast<unsigned>(random() & 1);
  if (zeros > 0 && zeros < bits) {
    value = (value >> zeros) << zeros;
    if (value == 0) value = mpz_class(1) << (bits - 1);
  }
  return value;
}

/// Tells whether two results have the same bits.
::testing::AssertionResult same_bits(double words, double digits) {
  if (to_bits(words) == to_bits(digits)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << std::hexfloat << "word path " << words << ", digit path " << digits;
}

/// Compares the two paths of division and square root on `numerator` / `denominator` and checks
/// the digit path against the exact quotient.
void expect_same_quotient(const ShortNumber& numerator, const ShortNumber& denominator) {
  std::uint32_t numerator_digits[9];
  std::uint32_t denominator_digits[9];
  const NumberView n = digits_of(numerator, numerator_digits);
  const NumberView d = digits_of(denominator, denominator_digits);
  const double words = ldh::exact::divide_rounded(numerator, denominator);
  const double digits = ldh::exact::divide_rounded(n, d);
  const mpq_class quotient = rational_of(numerator) / rational_of(denominator);
  SCOPED_TRACE(magnitude_of(numerator).get_str(16) + " * 2^" + std::to_string(numerator.exponent) +
               " / " + magnitude_of(denominator).get_str(16) + " * 2^" +
               std::to_string(denominator.exponent));
  EXPECT_TRUE(same_bits(words, digits));
  EXPECT_TRUE(correctly_rounded(digits, quotient));
  if (!numerator.negative) {
    const double root_words = ldh::exact::square_root_of_quotient_rounded(numerator, denominator);
    const double root_digits = ldh::exact::square_root_of_quotient_rounded(n, d);
    EXPECT_TRUE(same_bits(root_words, root_digits));
    EXPECT_TRUE(correctly_rounded_root(root_digits, quotient));
  }
}

TEST(MomentsTest, DivideStepIsExact) {
  // Remainders whose top word equals the divisor's make the first estimate reach 2^64.
  std::mt19937_64 random(127);
  const mpz_class word_base("18446744073709551616");
  for (int i = 0; i < 20'000; ++i) {
    const UInt128 divisor = (static_cast<UInt128>(random() | (std::uint64_t{1} << 63)) << 64) |
                            (i % 7 == 0 ? ~std::uint64_t{0} : random());
    const auto divisor_top = static_cast<std::uint64_t>(divisor >> 64);
    const UInt128 remainders[] = {
        ((static_cast<UInt128>(random()) << 64) | random()) % divisor, divisor - 1,
        static_cast<UInt128>(divisor_top) << 64,
        (static_cast<UInt128>(divisor_top) << 64) + random() % static_cast<std::uint64_t>(divisor)};
    for (const UInt128 start : remainders) {
      if (start >= divisor) continue;
      const std::uint64_t next = i % 3 == 0 ? ~std::uint64_t{0} : random();
      UInt128 remainder = start;
      const std::uint64_t digit = ldh::exact::divide_step(&remainder, next, divisor);
      const mpz_class dividend = magnitude_of(ShortNumber{start, 0, 0, false}) * word_base +
                                 mpz_class(std::to_string(next));
      const mpz_class expected_divisor = magnitude_of(ShortNumber{divisor, 0, 0, false});
      ASSERT_EQ(mpz_class(std::to_string(digit)), mpz_class(dividend / expected_divisor));
      ASSERT_EQ(magnitude_of(ShortNumber{remainder, 0, 0, false}),
                mpz_class(dividend % expected_divisor));
    }
  }
}

TEST(MomentsTest, WordQuotientsMatchTheDigitPath) {
  std::mt19937_64 random(101);
  // Lengths around the word and half boundaries, and the extremes.
  const int numerator_lengths[] = {1,   2,   53,  54,  63,  64,  65,  66,  67,  114, 115, 116,
                                   127, 128, 129, 130, 140, 191, 192, 193, 240, 254, 255, 256};
  const int denominator_lengths[] = {1, 2, 7, 14, 32, 33, 63, 64, 65, 66, 90, 96, 127, 128};
  for (const int numerator_length : numerator_lengths) {
    for (const int denominator_length : denominator_lengths) {
      for (int i = 0; i < 40; ++i) {
        const int zeros = i % 4 == 0 ? static_cast<int>(random() % numerator_length) : 0;
        const ShortNumber numerator =
            short_of(random_integer(random, numerator_length, zeros),
                     static_cast<int>(random() % 601) - 300, random() % 2 == 0);
        const mpz_class divisor = i % 8 == 1 ? mpz_class(1) << (denominator_length - 1)
                                             : random_integer(random, denominator_length);
        expect_same_quotient(numerator,
                             short_of(divisor, static_cast<int>(random() % 7) - 3, false));
      }
    }
  }
}

TEST(MomentsTest, WordQuotientsMatchOnExactQuotientsAndTies) {
  std::mt19937_64 random(103);
  for (int i = 0; i < 3000; ++i) {
    const int denominator_length = 1 + static_cast<int>(random() % 128);
    const mpz_class divisor = random_integer(random, denominator_length);
    const int exponent = static_cast<int>(random() % 201) - 100;
    // An odd 54-bit quotient lies halfway between two doubles: a tie when the division is exact,
    // and any remainder breaks it. Its square is a tie for the root.
    const mpz_class midpoint = random_integer(random, 54) | 1;
    const mpz_class quotient = i % 3 == 0 ? midpoint : random_integer(random, 1 + random() % 70);
    const mpz_class exact_quotients[] = {quotient * divisor, midpoint * midpoint * divisor};
    for (const mpz_class& exact : exact_quotients) {
      // Shifted up, the bits below the quotient's lie past the division: then the dropped bits
      // alone tell a tie from a number just above it.
      const int room = 256 - static_cast<int>(mpz_sizeinbase(exact.get_mpz_t(), 2));
      if (room < 0) continue;
      const int shift = room == 0 ? 0 : static_cast<int>(random() % (room + 1));
      const mpz_class shifted = exact << shift;
      const mpz_class below = (mpz_class(1) << shift) - 1;
      // The top bit the division (66 quotient bits) or the root (114) drops, alone.
      const int dropped = static_cast<int>(mpz_sizeinbase(shifted.get_mpz_t(), 2)) -
                          denominator_length - ldh::exact::kQuotientBits;
      const int root_dropped =
          dropped - (ldh::exact::kRootQuotientBits + 1) + ldh::exact::kQuotientBits;
      auto top_dropped = [](int bits) {
        return bits > 0 ? mpz_class(mpz_class(1) << (bits - 1)) : mpz_class(0);
      };
      const mpz_class numerators[] = {shifted,
                                      shifted + 1,
                                      shifted - 1,
                                      shifted + below,
                                      shifted + top_dropped(dropped),
                                      shifted + top_dropped(root_dropped)};
      for (const mpz_class& numerator : numerators) {
        if (numerator <= 0 || mpz_sizeinbase(numerator.get_mpz_t(), 2) > 256) continue;
        expect_same_quotient(short_of(numerator, exponent - shift, i % 5 == 0),
                             short_of(divisor, 0, false));
      }
    }
  }
}

TEST(MomentsTest, WordFinalisersMatchTheDigitPathOnRandomSums) {
  // Sums as wide as the word path takes and past it, so both its answers and its refusals are
  // exercised; the sum of squares stays at or above sum^2 / n where a root is taken.
  std::mt19937_64 random(107);
  int word_answers = 0;
  int refusals = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::uint64_t counts[] = {
        1 + random() % 5, 1 + random() % 100'000, 1 + (random() >> (random() % 64)),
        ~std::uint64_t{0} - random() % 3, (std::uint64_t{1} << 32) - 1 + random() % 3};
    const std::uint64_t count = counts[random() % std::size(counts)];
    const int sum_length = static_cast<int>(random() % 180);
    const ShortNumber sum = short_of(random_integer(random, sum_length),
                                     static_cast<int>(random() % 81) - 40, random() % 2 == 0);
    const ShortNumber squares =
        short_of(random_integer(random, static_cast<int>(random() % 200)),
                 2 * sum.exponent + static_cast<int>(random() % 41) - 20, false);
    std::uint32_t sum_digits[9];
    std::uint32_t square_digits[9];
    const NumberView sum_view = digits_of(sum, sum_digits);
    const NumberView square_view = digits_of(squares, square_digits);
    const bool sample = count >= 2 && random() % 2 == 0;
    const bool root = rational_of(squares) * mpq_class(mpz_class(std::to_string(count))) >=
                      rational_of(sum) * rational_of(sum);
    double words = 0.0;
    if (ldh::exact::deviation_quotient_by_words(count, sum, squares, sample, root, &words)) {
      ++word_answers;
      EXPECT_TRUE(same_bits(words, ldh::exact::deviation_quotient_by_digits(
                                       count, sum_view, square_view, sample, root)));
    } else {
      ++refusals;
    }
    EXPECT_TRUE(same_bits(ldh::exact::average_value_by_words(count, sum),
                          ldh::exact::average_value_by_digits(count, sum_view)));
  }
  EXPECT_GT(word_answers, 10'000);
  EXPECT_GT(refusals, 100);
}

TEST(MomentsTest, WordTrendMatchesTheDigitPathOnRandomSums) {
  std::mt19937_64 random(109);
  int word_answers = 0;
  int without_slope = 0;
  int refusals = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::uint64_t count =
        i % 4 == 0 ? 1 + (random() >> (random() % 64)) : 2 + random() % 5000;
    const ShortNumber sum = short_of(random_integer(random, static_cast<int>(random() % 180)),
                                     static_cast<int>(random() % 81) - 40, random() % 2 == 0);
    // Times of ordinary windows, wider ones, and one time repeated (no slope).
    const bool wide = i % 2 == 0;
    mpz_class time_sum = random_integer(random, static_cast<int>(random() % (wide ? 128 : 64)));
    mpz_class time_squares =
        random_integer(random, static_cast<int>(random() % (wide ? 193 : 128)));
    if (i % 16 == 1) {
      const mpz_class time = random_integer(random, 1 + static_cast<int>(random() % 40));
      time_sum = time * mpz_class(std::to_string(count));
      time_squares = time * time_sum;
    }
    const ShortNumber times = short_of(time_sum, 0, random() % 2 == 0 && i % 16 != 1);
    const ShortNumber squares = short_of(time_squares, 0, false);
    const ShortNumber products =
        short_of(random_integer(random, static_cast<int>(random() % 180)),
                 sum.exponent + static_cast<int>(random() % 21) - 10, random() % 2 == 0);
    std::uint32_t digits[4][9];
    const NumberView views[4] = {digits_of(sum, digits[0]), digits_of(times, digits[1]),
                                 digits_of(squares, digits[2]), digits_of(products, digits[3])};
    bool has_slope = false;
    double words = 0.0;
    if (ldh::exact::trend_value_by_words(count, sum, times, squares, products, &has_slope,
                                         &words)) {
      ++word_answers;
      double digits_slope = 0.0;
      EXPECT_EQ(has_slope, ldh::exact::trend_value_by_digits(count, views[0], views[1], views[2],
                                                             views[3], &digits_slope));
      if (has_slope) {
        EXPECT_TRUE(same_bits(words, digits_slope));
      } else {
        ++without_slope;
      }
    } else {
      ++refusals;
    }
  }
  EXPECT_GT(word_answers, 10'000);
  EXPECT_GT(without_slope, 500);
  EXPECT_GT(refusals, 100);
}

/// Builds the event families the word path is meant for and those at its edges.
std::vector<std::vector<Event>> word_path_sets() {
  EventDraw draw(113);
  std::vector<std::vector<Event>> sets;
  for (const std::size_t count : {1, 2, 3, 7, 60, 61, 300, 1000, 4096, 100'000, 1'000'000}) {
    std::vector<Event> sensor;  // two decimals, as readings come
    for (std::size_t i = 0; i < count; ++i) {
      sensor.push_back({draw.time(), std::round(draw.uniform(-15, 45) * 100) / 100});
    }
    sets.push_back(sensor);
  }
  for (int round = 0; round < 40; ++round) {
    const std::size_t count = 1 + draw.random() % 400;
    std::vector<Event> narrow;  // one or two binades
    std::vector<Event> negative;
    std::vector<Event> cancellation;  // 1e9 + tiny noise
    std::vector<Event> scaled;        // sensor data scaled by a random power of two
    std::vector<Event> powers;        // powers of two: sums that are powers of two too
    const int scale = static_cast<int>(draw.random() % 2001) - 1000;
    const double power = std::ldexp(1.0, static_cast<int>(draw.random() % 200) - 100);
    for (std::size_t i = 0; i < count; ++i) {
      narrow.push_back({draw.time(), draw.uniform(16, 64)});
      negative.push_back({draw.time(), -std::round(draw.uniform(0, 90) * 10) / 10});
      cancellation.push_back({draw.time(), 1e9 + draw.uniform(-1e-6, 1e-6)});
      scaled.push_back(
          {draw.time(), std::ldexp(std::round(draw.uniform(-15, 45) * 100) / 100, scale)});
      powers.push_back({draw.time(), power});
    }
    for (auto* set : {&narrow, &negative, &cancellation, &scaled, &powers}) sets.push_back(*set);
  }
  std::vector<Event> wide;  // huge and tiny: past the word path
  for (int i = 0; i < 100; ++i) wide.push_back({draw.time(), i % 2 == 0 ? 1e300 : 1e-300});
  sets.push_back(wide);
  std::vector<Event> one_time(50, Event{42, 1.5});  // no slope
  sets.push_back(one_time);
  return sets;
}

TEST(MomentsTest, FinalisersMatchTheDigitPathOnEventData) {
  for (const std::vector<Event>& events : word_path_sets()) {
    Moments moments;
    TrendSums trend;
    accumulate(events, moments, trend);
    SCOPED_TRACE("set of " + std::to_string(events.size()) + ", first " +
                 std::to_string(events.front().value));
    // The inline words hold the same number as the digits.
    std::uint32_t sum_digits[ldh::exact::kNumberDigits];
    std::uint32_t square_digits[ldh::exact::kNumberDigits];
    const NumberView sum = moments.sum.to_number(sum_digits);
    const NumberView squares = moments.sum_of_squares.to_number(square_digits);
    ShortNumber short_sum;
    if (moments.sum.to_short_number(&short_sum)) {
      std::uint32_t digits[9];
      EXPECT_TRUE(ldh::exact::equal(digits_of(short_sum, digits), sum));
    }
    const std::uint64_t n = moments.count;
    EXPECT_TRUE(same_bits(*ldh::average(moments), ldh::exact::average_value_by_digits(n, sum)));
    EXPECT_TRUE(same_bits(*ldh::population_variance(moments),
                          ldh::exact::deviation_quotient_by_digits(n, sum, squares, false, false)));
    EXPECT_TRUE(same_bits(*ldh::population_standard_deviation(moments),
                          ldh::exact::deviation_quotient_by_digits(n, sum, squares, false, true)));
    if (n >= 2) {
      EXPECT_TRUE(
          same_bits(*ldh::sample_variance(moments),
                    ldh::exact::deviation_quotient_by_digits(n, sum, squares, true, false)));
      EXPECT_TRUE(same_bits(*ldh::sample_standard_deviation(moments),
                            ldh::exact::deviation_quotient_by_digits(n, sum, squares, true, true)));
    }
    std::uint32_t time_digits[4];
    std::uint32_t time_square_digits[6];
    std::uint32_t product_digits[ldh::exact::kNumberDigits];
    double slope = 0.0;
    const bool has_slope = ldh::exact::trend_value_by_digits(
        n, sum, trend.sum_of_times(time_digits), trend.sum_of_time_squares(time_square_digits),
        trend.sum_of_time_products(product_digits), &slope);
    const std::optional<double> result = ldh::trend(moments, trend);
    ASSERT_EQ(result.has_value(), has_slope);
    if (has_slope) {
      EXPECT_TRUE(same_bits(*result, slope));
    }
  }
}

}  // namespace
