#include "pipeline/exact_sum.h"

#include <algorithm>

#include "pipeline/error.h"

namespace ldh {
namespace {

using exact::NumberView;
using exact::UInt128;

/// Room kept above a sum's highest bit when the window is placed, for growth by carries.
constexpr int kGrowthBits = 40;

bool is_zero(const std::uint64_t* words) {
  return (words[0] | words[1] | words[2]) == 0;
}

/// Negates a 192-bit two's-complement number in place.
void negate_words(std::uint64_t* words) {
  std::uint64_t carry = 1;
  for (int i = 0; i < 3; ++i) {
    const UInt128 t = static_cast<UInt128>(~words[i]) + carry;
    words[i] = static_cast<std::uint64_t>(t);
    carry = static_cast<std::uint64_t>(t >> 64);
  }
}

/// Returns the lowest set bit of a nonzero 192-bit number.
int lowest_bit(const std::uint64_t* words) {
  for (int i = 0; i < 3; ++i) {
    if (words[i] != 0) return 64 * i + exact::trailing_zeros(words[i]);
  }
  return 192;
}

/// Returns the bit length of a 192-bit magnitude.
int magnitude_length(const std::uint64_t* magnitude) {
  for (int i = 2; i >= 0; --i) {
    if (magnitude[i] != 0) return 64 * i + 64 - exact::leading_zeros(magnitude[i]);
  }
  return 0;
}

/// Shifts a 192-bit two's-complement number left (count > 0) or arithmetically right
/// (count < 0); the caller knows no set bit is lost.
void shift_words(std::uint64_t* words, int count) {
  // Shifts by less than a word (the usual ones) move bits between neighbours only.
  if (count == 0) return;
  if (count > 0 && count < 64) {
    words[2] = (words[2] << count) | (words[1] >> (64 - count));
    words[1] = (words[1] << count) | (words[0] >> (64 - count));
    words[0] <<= count;
    return;
  }
  if (count < 0 && count > -64) {
    const int right = -count;
    words[0] = (words[0] >> right) | (words[1] << (64 - right));
    words[1] = (words[1] >> right) | (words[2] << (64 - right));
    words[2] = static_cast<std::uint64_t>(static_cast<std::int64_t>(words[2]) >> right);
    return;
  }
  std::uint64_t result[3] = {0, 0, 0};
  const std::uint64_t fill = static_cast<std::int64_t>(words[2]) < 0 ? ~std::uint64_t{0} : 0;
  // Bit i of the result is bit i - count of the input (sign fill above the top).
  auto source_word = [&](int index) -> std::uint64_t {
    if (index < 0) return 0;
    if (index > 2) return fill;
    return words[index];
  };
  const int word_shift = count >= 0 ? count / 64 : -((-count + 63) / 64);
  const int bit_shift = count - 64 * word_shift;  // in [0, 64)
  for (int i = 0; i < 3; ++i) {
    const std::uint64_t current = source_word(i - word_shift);
    const std::uint64_t below = source_word(i - word_shift - 1);
    result[i] = bit_shift == 0 ? current : (current << bit_shift) | (below >> (64 - bit_shift));
  }
  std::copy(result, result + 3, words);
}

/// Places the window [base, base + kInlineBits) over global bits [low, high), which must fit,
/// keeping kGrowthBits free above `high` when the span allows.
int choose_base(int low, int high) {
  return std::max(0, std::min(low, high - (ExactSum::kInlineBits - kGrowthBits)));
}

}  // namespace

ExactSum::ExactSum(const ExactSum& other)
    : words_{0, 0, 0}, base_(other.base_), flags_(other.flags_) {
  if (other.base_ == kSpilledBase) {
    dense_ = new exact::DenseExactSum(*other.dense_);
  } else {
    std::copy(other.words_, other.words_ + 3, words_);
  }
}

ExactSum::ExactSum(ExactSum&& other) noexcept
    : words_{0, 0, 0}, base_(other.base_), flags_(other.flags_) {
  std::copy(other.words_, other.words_ + 3, words_);  // the pointer travels in the words
  other.words_[0] = other.words_[1] = other.words_[2] = 0;
  other.base_ = kEmptyBase;
  other.flags_ = 0;
}

ExactSum& ExactSum::operator=(const ExactSum& other) {
  if (this != &other) {
    ExactSum copy(other);
    *this = std::move(copy);
  }
  return *this;
}

ExactSum& ExactSum::operator=(ExactSum&& other) noexcept {
  if (this != &other) {
    release();
    std::copy(other.words_, other.words_ + 3, words_);
    base_ = other.base_;
    flags_ = other.flags_;
    other.words_[0] = other.words_[1] = other.words_[2] = 0;
    other.base_ = kEmptyBase;
    other.flags_ = 0;
  }
  return *this;
}

ExactSum::~ExactSum() {
  release();
}

void ExactSum::release() {
  if (base_ == kSpilledBase) {
    delete dense_;
    words_[0] = words_[1] = words_[2] = 0;
    base_ = kEmptyBase;
  }
}

std::size_t ExactSum::heap_bytes() const {
  return base_ == kSpilledBase ? sizeof(exact::DenseExactSum) : 0;
}

void ExactSum::add_outside(double x) {
  if (!exact::is_finite(x)) {
    flags_ |= exact::special_flag(x);
  } else if (x != 0.0) {
    std::uint32_t digits[5];
    add_number(exact::term_number(exact::term_of(x), digits));
  }
}

void ExactSum::add_product_outside(double a, double b) {
  if (!exact::is_finite(a) || !exact::is_finite(b)) {
    flags_ |= exact::special_flag(a * b);
  } else if (a != 0.0 && b != 0.0) {
    std::uint32_t digits[5];
    add_number(exact::term_number(exact::product_term(a, b), digits));
  }
}

void ExactSum::add_scaled_integer_outside(double x, std::int64_t factor) {
  if (!exact::is_finite(x)) {
    flags_ |= exact::special_flag(x * static_cast<double>(factor));
  } else if (x != 0.0 && factor != 0) {
    std::uint32_t digits[5];
    add_number(exact::term_number(exact::scaled_integer_term(x, factor), digits));
  }
}

NumberView ExactSum::inline_number(std::uint32_t* digits) const {
  if (base_ == kEmptyBase) return NumberView{digits, 0, 0, false};
  std::uint64_t magnitude[3] = {words_[0], words_[1], words_[2]};
  const bool negative = static_cast<std::int64_t>(words_[2]) < 0;
  if (negative) negate_words(magnitude);
  return exact::words_number(magnitude, 3, base_, negative, digits);
}

NumberView ExactSum::to_number(std::uint32_t* digits) const {
  if (base_ == kSpilledBase) return dense_->to_number(digits);
  return inline_number(digits);
}

void ExactSum::add_number(NumberView value) {
  if (value.size == 0) return;
  if (base_ == kSpilledBase) {
    dense_->add_number(value);
    return;
  }
  // The value's set bits, in global bits.
  const int first_bit = value.exponent + exact::kBiasBits;
  int low = first_bit + exact::trailing_zeros(value.digits[0]);
  int high = first_bit + exact::bit_length(value);
  const bool has_window = widen_to_window(low, high);
  if (high - low > kInlineBits) {
    spill();
    dense_->add_number(value);
    return;
  }
  const int base = choose_base(low, high);
  if (has_window && base != base_) shift_words(words_, base_ - base);
  if (!has_window) words_[0] = words_[1] = words_[2] = 0;
  base_ = static_cast<std::int16_t>(base);
  // Place the digits at their offset from the base (bits below it are zero).
  std::uint64_t operand[3] = {0, 0, 0};
  const int offset = first_bit - base;
  for (int i = 0; i < value.size; ++i) {
    const std::uint64_t digit = value.digits[i];
    const int bit = offset + exact::kDigitBits * i;
    if (bit < 0) {
      operand[0] |= digit >> -bit;
      continue;
    }
    const int word = bit >> 6;
    const int shift = bit & 63;
    if (word < 3) operand[word] |= digit << shift;
    if (shift > 32 && word + 1 < 3) operand[word + 1] |= digit >> (64 - shift);
  }
  add_words(operand, value.negative);
}

void ExactSum::add_words(std::uint64_t* operand, bool negative) {
  if (negative) negate_words(operand);
  UInt128 sum = static_cast<UInt128>(words_[0]) + operand[0];
  words_[0] = static_cast<std::uint64_t>(sum);
  sum = static_cast<UInt128>(words_[1]) + operand[1] + static_cast<std::uint64_t>(sum >> 64);
  words_[1] = static_cast<std::uint64_t>(sum);
  words_[2] += operand[2] + static_cast<std::uint64_t>(sum >> 64);
  const std::int64_t excess = static_cast<std::int64_t>(words_[2]) >> (kInlineBits - 128);
  if (static_cast<std::uint64_t>(excess + 1) > 1) rebalance();
}

bool ExactSum::widen_to_window(int& low, int& high) const {
  if (base_ == kEmptyBase || is_zero(words_)) return false;
  std::uint64_t magnitude[3] = {words_[0], words_[1], words_[2]};
  if (static_cast<std::int64_t>(magnitude[2]) < 0) negate_words(magnitude);
  low = std::min(low, base_ + lowest_bit(words_));
  high = std::max(high, base_ + magnitude_length(magnitude));
  return true;
}

void ExactSum::rebalance() {
  std::uint64_t magnitude[3] = {words_[0], words_[1], words_[2]};
  if (static_cast<std::int64_t>(magnitude[2]) < 0) negate_words(magnitude);
  const int low = base_ + lowest_bit(words_);
  const int high = base_ + magnitude_length(magnitude);
  if (high - low > kInlineBits) {
    spill();
    return;
  }
  const int base = choose_base(low, high);
  shift_words(words_, base_ - base);
  base_ = static_cast<std::int16_t>(base);
}

void ExactSum::spill() {
  auto* dense = new exact::DenseExactSum;
  dense->clear();
  std::uint32_t digits[8];
  const NumberView value = inline_number(digits);
  if (value.size != 0) dense->add_number(value);
  dense_ = dense;
  base_ = kSpilledBase;
}

void ExactSum::merge(const ExactSum& other) {
  if (&other == this) {
    const ExactSum copy(other);
    merge(copy);
    return;
  }
  flags_ |= other.flags_;
  if (other.base_ == kEmptyBase) return;
  if (other.base_ == kSpilledBase) {
    if (base_ != kSpilledBase) spill();
    dense_->merge(*other.dense_);
    return;
  }
  if (base_ == kEmptyBase) {
    // Into an empty sum (a result's first pane): the other's window is a valid state of its own.
    std::copy(other.words_, other.words_ + 3, words_);
    base_ = other.base_;
    return;
  }
  if (base_ == other.base_) {
    std::uint64_t operand[3] = {other.words_[0], other.words_[1], other.words_[2]};
    add_words(operand, false);
    return;
  }
  if (base_ != kSpilledBase) {
    // Both inline: shift one window onto the other's grid, as add_number() would place it.
    std::uint64_t magnitude[3] = {other.words_[0], other.words_[1], other.words_[2]};
    const bool negative = static_cast<std::int64_t>(magnitude[2]) < 0;
    if (negative) negate_words(magnitude);
    if (add_inline_words(magnitude, other.base_, negative)) return;
  }
  std::uint32_t digits[8];
  add_number(other.inline_number(digits));
}

bool ExactSum::add_inline_words(const std::uint64_t* magnitude, int base, bool negative) {
  if (is_zero(magnitude)) return true;
  int low = base + lowest_bit(magnitude);
  int high = base + magnitude_length(magnitude);
  const bool has_window = widen_to_window(low, high);
  if (high - low > kInlineBits) return false;
  const int target = choose_base(low, high);
  if (!has_window) {
    words_[0] = words_[1] = words_[2] = 0;
  } else if (target != base_) {
    shift_words(words_, base_ - target);
  }
  base_ = static_cast<std::int16_t>(target);
  std::uint64_t operand[3] = {magnitude[0], magnitude[1], magnitude[2]};
  shift_words(operand, base - target);  // loses no set bit: they lie at or above `low`
  add_words(operand, negative);
  return true;
}

void ExactSum::add_words(const std::uint64_t* magnitude, int count, int lowest, bool negative) {
  std::uint64_t words[3] = {0, 0, 0};
  std::copy(magnitude, magnitude + count, words);
  if (base_ != kSpilledBase && add_inline_words(words, lowest, negative)) return;
  std::uint32_t digits[8];
  add_number(exact::words_number(magnitude, count, lowest, negative, digits));
}

void ExactSum::merge_scaled(const ExactSum& other, std::int64_t factor) {
  if (other.flags_ != 0) {
    for (const std::uint8_t flag :
         {exact::kSawNan, exact::kSawPositiveInfinity, exact::kSawNegativeInfinity}) {
      if ((other.flags_ & flag) == 0) continue;
      const double special = flag == exact::kSawNan                ? math::quiet_nan()
                             : flag == exact::kSawPositiveInfinity ? math::infinity()
                                                                   : -math::infinity();
      flags_ |= exact::special_flag(special * static_cast<double>(factor));
    }
  }
  if (factor == 0) return;
  const std::uint64_t scale =
      factor < 0 ? 0 - static_cast<std::uint64_t>(factor) : static_cast<std::uint64_t>(factor);
  if (base_ != kSpilledBase && other.base_ != kSpilledBase) {
    if (other.base_ == kEmptyBase) return;
    // Both inline: the 192-bit window times the factor, placed as add_number() would.
    std::uint64_t magnitude[3] = {other.words_[0], other.words_[1], other.words_[2]};
    const bool negative = static_cast<std::int64_t>(magnitude[2]) < 0;
    if (negative) negate_words(magnitude);
    if (is_zero(magnitude)) return;
    // Drop the zeros below the lowest bit (a window sits below its value), so the product
    // has room.
    const int lowest = lowest_bit(magnitude);
    shift_words(magnitude, -lowest);
    std::uint64_t product[4];
    UInt128 carry = 0;
    for (int i = 0; i < 3; ++i) {
      carry += static_cast<UInt128>(magnitude[i]) * scale;
      product[i] = static_cast<std::uint64_t>(carry);
      carry >>= 64;
    }
    product[3] = static_cast<std::uint64_t>(carry);
    if (product[3] == 0 && magnitude_length(product) <= kInlineBits &&
        add_inline_words(product, other.base_ + lowest, negative != (factor < 0))) {
      return;
    }
  }
  std::uint32_t digits[exact::kNumberDigits];
  std::uint32_t product[exact::kNumberDigits + 2];
  NumberView scaled = exact::multiply(other.to_number(digits), scale, product);
  scaled.negative = scaled.size != 0 && (scaled.negative != (factor < 0));
  add_number(scaled);
}

void ExactSum::negate() {
  flags_ = static_cast<std::uint8_t>(
      (flags_ & exact::kSawNan) |
      ((flags_ & exact::kSawPositiveInfinity) != 0 ? exact::kSawNegativeInfinity : 0) |
      ((flags_ & exact::kSawNegativeInfinity) != 0 ? exact::kSawPositiveInfinity : 0));
  if (base_ == kSpilledBase) {
    dense_->negate();
    return;
  }
  if (base_ == kEmptyBase) return;
  negate_words(words_);
  const std::int64_t excess = static_cast<std::int64_t>(words_[2]) >> (kInlineBits - 128);
  if (static_cast<std::uint64_t>(excess + 1) > 1) rebalance();
}

double ExactSum::to_double() const {
  if (flags_ != 0) return exact::special_sum(flags_);
  std::uint32_t digits[exact::kNumberDigits];
  return exact::round_to_double(to_number(digits));
}

DoubleDouble ExactSum::to_double_double() const {
  if (flags_ != 0) return DoubleDouble{exact::special_sum(flags_), 0.0};
  std::uint32_t digits[exact::kNumberDigits];
  const NumberView value = to_number(digits);
  const double high = exact::round_to_double(value);
  if (high == 0.0 || !exact::is_finite(high)) return DoubleDouble{high, 0.0};
  std::uint32_t high_digits[5];
  const NumberView high_value = exact::term_number(exact::term_of(high), high_digits);
  std::uint32_t rest[exact::kNumberDigits + 8];
  LDH_EXPECTS(exact::difference_digits(value, high_value) <= exact::kNumberDigits + 8,
              "double-double remainder exceeds its buffer");
  return DoubleDouble{high, exact::round_to_double(exact::subtract(value, high_value, rest))};
}

bool operator==(const ExactSum& a, const ExactSum& b) {
  if (a.flags_ != b.flags_) return false;
  std::uint32_t digits_a[exact::kNumberDigits];
  std::uint32_t digits_b[exact::kNumberDigits];
  return exact::equal(a.to_number(digits_a), b.to_number(digits_b));
}

}  // namespace ldh
