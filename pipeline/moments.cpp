#include "pipeline/moments.h"

#include <algorithm>

namespace ldh {
namespace {

using exact::NumberView;
using exact::UInt128;

/// A 192-bit two's-complement integer, for sum(t^2) while its origin moves.
struct Int192 {
  std::uint64_t words[3] = {0, 0, 0};
};

Int192 from_signed(__int128 value) {
  Int192 result;
  result.words[0] = static_cast<std::uint64_t>(value);
  result.words[1] = static_cast<std::uint64_t>(static_cast<UInt128>(value) >> 64);
  result.words[2] = value < 0 ? ~std::uint64_t{0} : 0;
  return result;
}

Int192 sum_of(const Int192& a, const Int192& b) {
  Int192 result;
  std::uint64_t carry = 0;
  for (int i = 0; i < 3; ++i) {
    const UInt128 t = static_cast<UInt128>(a.words[i]) + b.words[i] + carry;
    result.words[i] = static_cast<std::uint64_t>(t);
    carry = static_cast<std::uint64_t>(t >> 64);
  }
  return result;
}

/// Multiplies modulo 2^192, which is the signed product whenever that fits.
Int192 product_of(const Int192& a, const Int192& b) {
  Int192 result;
  for (int i = 0; i < 3; ++i) {
    std::uint64_t carry = 0;
    for (int j = 0; i + j < 3; ++j) {
      const UInt128 t = static_cast<UInt128>(a.words[i]) * b.words[j] + result.words[i + j] + carry;
      result.words[i + j] = static_cast<std::uint64_t>(t);
      carry = static_cast<std::uint64_t>(t >> 64);
    }
  }
  return result;
}

}  // namespace

std::optional<double> average(const Moments& moments) {
  return average(moments.count, moments.sum);
}

std::optional<double> average(std::uint64_t count, const ExactSum& sum) {
  if (count == 0) return std::nullopt;
  if (sum.special_flags() != 0) return exact::special_sum(sum.special_flags());
  exact::ShortNumber short_sum;
  if (sum.to_short_number(&short_sum)) return exact::average_value_by_words(count, short_sum);
  std::uint32_t digits[exact::kNumberDigits];
  return exact::average_value_by_digits(count, sum.to_number(digits));
}

std::optional<double> deviation(std::uint64_t count, const ExactSum& sum,
                                const ExactSum& sum_of_squares, bool sample, bool root) {
  if (count < (sample ? 2u : 1u)) return std::nullopt;
  if (sum.special_flags() != 0) return math::quiet_nan();
  exact::ShortNumber short_sum;
  exact::ShortNumber short_squares;
  double result = 0.0;
  if (sum.to_short_number(&short_sum) && sum_of_squares.to_short_number(&short_squares) &&
      exact::deviation_quotient_by_words(count, short_sum, short_squares, sample, root, &result)) {
    return result;
  }
  std::uint32_t sum_digits[exact::kNumberDigits];
  std::uint32_t square_digits[exact::kNumberDigits];
  // The word path failed above: the digits alone.
  return exact::deviation_quotient_by_digits(count, sum.to_number(sum_digits),
                                             sum_of_squares.to_number(square_digits), sample, root);
}

std::optional<double> sample_variance(const Moments& moments) {
  return deviation(moments.count, moments.sum, moments.sum_of_squares, true, false);
}

std::optional<double> population_variance(const Moments& moments) {
  return deviation(moments.count, moments.sum, moments.sum_of_squares, false, false);
}

std::optional<double> sample_standard_deviation(const Moments& moments) {
  return deviation(moments.count, moments.sum, moments.sum_of_squares, true, true);
}

std::optional<double> population_standard_deviation(const Moments& moments) {
  return deviation(moments.count, moments.sum, moments.sum_of_squares, false, true);
}

void TrendSums::merge(const TrendSums& other) {
  const UInt128 times = load(times_) + load(other.times_);
  times_[0] = static_cast<std::uint64_t>(times);
  times_[1] = static_cast<std::uint64_t>(times >> 64);
  Int192 squares;
  std::copy(time_squares_, time_squares_ + 3, squares.words);
  Int192 other_squares;
  std::copy(other.time_squares_, other.time_squares_ + 3, other_squares.words);
  squares = sum_of(squares, other_squares);
  std::copy(squares.words, squares.words + 3, time_squares_);
  time_products_.merge(other.time_products_);
}

void TrendSums::add_partial(const std::uint64_t* times, const std::uint64_t* time_squares,
                            exact::NumberView time_products, std::uint8_t flags) {
  TrendSums other;
  std::copy(times, times + 2, other.times_);
  std::copy(time_squares, time_squares + 3, other.time_squares_);
  other.time_products_.add_partial(time_products, flags);
  merge(other);
}

void TrendSums::merge_shifted(const TrendSums& other, std::uint64_t other_count,
                              const ExactSum& other_sum, std::int64_t offset) {
  // sum(t + c) = sum(t) + n*c; sum((t + c)^2) = sum(t^2) + 2c*sum(t) + n*c^2;
  // sum((t + c)*x) = sum(t*x) + c*sum(x). All modulo 2^128 or 2^192, exact while they fit.
  const __int128 count = static_cast<__int128>(other_count);
  const __int128 other_times = static_cast<__int128>(load(other.times_));
  const UInt128 times = load(times_) + static_cast<UInt128>(other_times + count * offset);
  times_[0] = static_cast<std::uint64_t>(times);
  times_[1] = static_cast<std::uint64_t>(times >> 64);
  Int192 squares;
  std::copy(other.time_squares_, other.time_squares_ + 3, squares.words);
  squares = sum_of(squares, product_of(from_signed(2 * static_cast<__int128>(offset)),
                                       from_signed(other_times)));
  squares = sum_of(squares, product_of(from_signed(count),
                                       product_of(from_signed(offset), from_signed(offset))));
  Int192 total;
  std::copy(time_squares_, time_squares_ + 3, total.words);
  total = sum_of(total, squares);
  std::copy(total.words, total.words + 3, time_squares_);
  time_products_.merge(other.time_products_);
  time_products_.merge_scaled(other_sum, offset);
}

NumberView TrendSums::sum_of_times(std::uint32_t* digits) const {
  const __int128 times = static_cast<__int128>(load(times_));
  const bool negative = times < 0;
  const UInt128 magnitude = negative ? 0 - load(times_) : load(times_);
  return exact::integer_number(magnitude, negative, digits);
}

NumberView TrendSums::sum_of_time_squares(std::uint32_t* digits) const {
  for (int i = 0; i < 6; ++i) {
    digits[i] = static_cast<std::uint32_t>(time_squares_[i / 2] >> (32 * (i % 2)));
  }
  return exact::trimmed(digits, 6, 0, false);
}

exact::ShortNumber TrendSums::sum_of_times() const {
  const bool negative = static_cast<__int128>(load(times_)) < 0;
  exact::ShortNumber number =
      exact::integer_short_number(negative ? 0 - load(times_) : load(times_));
  number.negative = negative;
  return number;
}

exact::ShortNumber TrendSums::sum_of_time_squares() const {
  exact::ShortNumber number;
  number.low = load(time_squares_);
  number.high = time_squares_[2];
  return number;
}

std::optional<double> trend(const Moments& moments, const TrendSums& trend_sums) {
  return trend(moments.count, moments.sum, trend_sums);
}

std::optional<double> trend(std::uint64_t count, const ExactSum& sum, const TrendSums& trend_sums) {
  exact::ShortNumber short_sum;
  exact::ShortNumber time_products;
  bool has_slope = false;
  double slope = 0.0;
  if (!sum.to_short_number(&short_sum) || !trend_sums.sum_of_time_products(&time_products) ||
      !exact::trend_value_by_words(count, short_sum, trend_sums.sum_of_times(),
                                   trend_sums.sum_of_time_squares(), time_products, &has_slope,
                                   &slope)) {
    std::uint32_t sum_digits[exact::kNumberDigits];
    std::uint32_t time_digits[4];
    std::uint32_t time_square_digits[6];
    std::uint32_t product_digits[exact::kNumberDigits];
    has_slope = exact::trend_value_by_digits(
        count, sum.to_number(sum_digits), trend_sums.sum_of_times(time_digits),
        trend_sums.sum_of_time_squares(time_square_digits),
        trend_sums.sum_of_time_products(product_digits), &slope);
  }
  if (!has_slope) return std::nullopt;
  if (sum.special_flags() != 0) return math::quiet_nan();
  return slope;
}

}  // namespace ldh
