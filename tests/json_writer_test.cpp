#include "pipeline/json_writer.h"

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace ldh {
namespace {

std::string number(double value) {
  std::string out;
  append_json_number(out, value);
  return out;
}

/// Counts the finite values whose text differs from std::to_chars(first, last, value), with a few
/// examples for the failure message.
class ToCharsComparison {
 public:
  template <typename T>
  void check(T value) {
    if (!std::isfinite(value)) return;
    check_one(value);
    check_one(-value);
  }

  std::size_t checked() const { return checked_; }
  std::size_t differences() const { return differences_; }
  const std::string& examples() const { return examples_; }

 private:
  template <typename T>
  void check_one(T value) {
    char buffer[64];
    const std::string expected(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
    std::string shortest;
    append_shortest(shortest, value);
    std::string json;
    append_json_number(json, value);
    char room[kJsonNumberBytes];
    const std::string written(room, write_json_number(room, value));
    ++checked_;
    if (shortest == expected && json == expected && written == expected) return;
    if (++differences_ > 10) return;
    char hex[64];
    examples_ += ' ';
    examples_.append(hex, std::to_chars(hex, hex + sizeof hex, value, std::chars_format::hex).ptr);
    examples_.append(": to_chars ").append(expected);
    examples_.append(", append_shortest ").append(shortest);
    examples_.append(", append_json_number ").append(json);
    examples_.append(", write_json_number ").append(written).append(";");
  }

  std::size_t checked_ = 0;
  std::size_t differences_ = 0;
  std::string examples_;
};

/// Checks `value` and its closest neighbours on either side.
template <typename T>
void check_with_neighbours(ToCharsComparison& comparison, T value, int steps) {
  T below = value;
  T above = value;
  comparison.check(value);
  for (int i = 0; i < steps; ++i) {
    below = std::nextafter(below, T{0});
    above = std::nextafter(above, std::numeric_limits<T>::infinity());
    comparison.check(below);
    comparison.check(above);
  }
}

/// Checks values of every shape the engine prints, and random bit patterns, as type T.
template <typename T, typename Bits>
void check_against_to_chars(ToCharsComparison& comparison, std::size_t random_patterns) {
  using Limits = std::numeric_limits<T>;
  std::mt19937_64 random(20260427);

  // Random bit patterns: every exponent, subnormals included, equally likely.
  for (std::size_t i = 0; i < random_patterns; ++i) {
    comparison.check(std::bit_cast<T>(static_cast<Bits>(random())));
  }
  // Subnormals: no exponent bits.
  constexpr Bits kSignificandMask = (Bits{1} << (Limits::digits - 1)) - 1;
  for (std::size_t i = 0; i < random_patterns / 16; ++i) {
    comparison.check(std::bit_cast<T>(static_cast<Bits>(random() & kSignificandMask)));
  }

  // Sensor readings: two and three decimals, and averages with all their digits.
  for (int k = -200'000; k <= 200'000; ++k) comparison.check(static_cast<T>(k / 100.0));
  for (int k = -1'000'000; k <= 1'000'000; k += 5) comparison.check(static_cast<T>(k / 1000.0));
  std::uniform_real_distribution<double> reading(-100.0, 100.0);
  for (int i = 0; i < 300'000; ++i) comparison.check(static_cast<T>(reading(random)));

  // Decimal numbers of 1 to 17 digits scaled by powers of ten: every side of the switch between
  // fixed and scientific notation. Dividing exact operands rounds once, to the nearest value.
  for (int digit_count = 1; digit_count <= 17; ++digit_count) {
    const auto smallest = static_cast<std::uint64_t>(std::pow(10.0, digit_count - 1));
    std::uniform_int_distribution<std::uint64_t> mantissa(smallest, smallest * 10 - 1);
    for (int scale = 0; scale <= 22; ++scale) {
      const double power = std::pow(10.0, scale);
      for (int i = 0; i < 200; ++i) {
        const auto m = static_cast<double>(mantissa(random));
        comparison.check(static_cast<T>(m / power));
        comparison.check(static_cast<T>(m * power));
      }
    }
  }
  std::uniform_real_distribution<double> exponent(-6.0, -2.0);
  for (int i = 0; i < 100'000; ++i) {
    comparison.check(static_cast<T>(std::pow(10.0, exponent(random))));
  }

  // Whole numbers up to 2^64 and past it, where fixed notation prints every digit.
  for (int k = 0; k <= 20'000; ++k) comparison.check(static_cast<T>(k));
  for (int i = 0; i < 100'000; ++i) {
    comparison.check(static_cast<T>(random() >> (random() % 64)));
  }
  for (int shift = 0; shift <= 64; ++shift) {
    const double power = std::ldexp(1.0, shift);
    for (int k = -64; k <= 64; ++k) comparison.check(static_cast<T>(power + k));
  }
  check_with_neighbours(comparison, static_cast<T>(0x1p53), 1000);
  check_with_neighbours(comparison, static_cast<T>(0x1p64), 100);

  // Powers of ten and two across the whole range, with their neighbours.
  for (int power = Limits::min_exponent10 - 20; power <= Limits::max_exponent10; ++power) {
    const std::string text = "1e" + std::to_string(power);
    T value;
    if (std::from_chars(text.data(), text.data() + text.size(), value).ec != std::errc{}) continue;
    check_with_neighbours(comparison, value, power >= -6 && power <= 23 ? 1000 : 4);
  }
  for (int power = Limits::min_exponent - Limits::digits; power < Limits::max_exponent; ++power) {
    check_with_neighbours(comparison, std::ldexp(T{1}, power), 4);
  }

  for (T value : {T{0}, Limits::max(), Limits::min(), Limits::denorm_min(), Limits::lowest(),
                  Limits::epsilon()}) {
    check_with_neighbours(comparison, value, 4);
  }
}

TEST(JsonWriter, NumbersAreShortestRoundTrip) {
  EXPECT_EQ(number(0.1), "0.1");
  EXPECT_EQ(number(-0.0), "-0");
  EXPECT_EQ(number(1e300), "1e+300");
  EXPECT_EQ(number(5e-324), "5e-324");
  // Fixed unless scientific is shorter, fixed on a tie; whole numbers with every digit.
  EXPECT_EQ(number(23.45), "23.45");
  EXPECT_EQ(number(1e4), "10000");
  EXPECT_EQ(number(1e5), "1e+05");
  EXPECT_EQ(number(0.001), "0.001");
  EXPECT_EQ(number(0.0001), "1e-04");
  EXPECT_EQ(number(0.00012), "0.00012");
  EXPECT_EQ(number(1.5e-7), "1.5e-07");
  EXPECT_EQ(number(0x1p60), "1152921504606846976");
  EXPECT_EQ(number(std::nan("")), "null");
  EXPECT_EQ(number(std::numeric_limits<double>::infinity()), "null");
  std::string single;
  append_json_number(single, 0.1f);
  EXPECT_EQ(single, "0.1");
  char room[kJsonNumberBytes];
  EXPECT_EQ(std::string(room, write_json_number(room, std::nan(""))), "null");
  EXPECT_EQ(std::string(room, write_json_number(room, -std::numeric_limits<float>::infinity())),
            "null");
}

TEST(JsonWriter, DoublesAreByteIdenticalToToChars) {
  ToCharsComparison comparison;
  check_against_to_chars<double, std::uint64_t>(comparison, 2'000'000);
  EXPECT_EQ(comparison.differences(), 0u) << comparison.examples();
  EXPECT_GT(comparison.checked(), 7'000'000u);
}

TEST(JsonWriter, FloatsAreByteIdenticalToToChars) {
  ToCharsComparison comparison;
  check_against_to_chars<float, std::uint32_t>(comparison, 1'000'000);
  EXPECT_EQ(comparison.differences(), 0u) << comparison.examples();
  EXPECT_GT(comparison.checked(), 5'000'000u);
}

TEST(JsonWriter, StringsAreEscapedAndRepaired) {
  std::string out;
  append_json_string(out, std::string("a\"b\\c\n\x01\xC3\xA9\xFF", 10));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\xC3\xA9\xEF\xBF\xBD\"");
}

TEST(JsonWriter, ValidatesUtf8) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
}

}  // namespace
}  // namespace ldh
