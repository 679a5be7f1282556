#include "pipeline/json_writer.h"

#include <fmt/format.h>

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace ldh {

namespace {
// Room for the longest text write_shortest writes, like -1.2345678901234567e-308.
constexpr std::size_t kShortestBuffer = kJsonNumberBytes;

constexpr auto kDigitPairs = [] {
  std::array<char, 200> pairs{};
  for (int i = 0; i < 100; ++i) {
    pairs[2 * i] = static_cast<char>('0' + i / 10);
    pairs[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return pairs;
}();

constexpr auto kPowersOf10 = [] {
  std::array<std::uint64_t, 20> powers{};
  powers[0] = 1;
  for (std::size_t i = 1; i < powers.size(); ++i) powers[i] = powers[i - 1] * 10;
  return powers;
}();

/// Returns the number of decimal digits of `value` (1 for 0).
int decimal_length(std::uint64_t value) {
  // 1233 / 4096 is just above log10(2), so the guess is the length or one less. `| 1` keeps the
  // length and gives 0 one digit.
  value |= 1;
  const int guess = std::bit_width(value) * 1233 >> 12;
  return guess + (value >= kPowersOf10[guess] ? 1 : 0);
}

/// Writes the two digits of `value` < 100.
void write_pair(char* out, std::uint32_t value) {
  std::memcpy(out, kDigitPairs.data() + 2 * value, 2);
}

/// Writes the decimal digits of `value` so that they end just before `end`.
void write_digits(char* end, std::uint64_t value) {
  // Eight digits at a time, as four pairs that do not wait for each other.
  while (value >= 100'000'000) {
    const auto eight = static_cast<std::uint32_t>(value % 100'000'000);
    value /= 100'000'000;
    end -= 8;
    write_pair(end, eight / 1'000'000);
    write_pair(end + 2, eight / 10'000 % 100);
    write_pair(end + 4, eight / 100 % 100);
    write_pair(end + 6, eight % 100);
  }
  auto rest = static_cast<std::uint32_t>(value);
  while (rest >= 100) {
    end -= 2;
    write_pair(end, rest % 100);
    rest /= 100;
  }
  if (rest >= 10) {
    write_pair(end - 2, rest);
  } else {
    end[-1] = static_cast<char>('0' + rest);
  }
}

/// Writes the text std::to_chars(out, out + kShortestBuffer, value) writes, faster, and returns
/// its end. Dragonbox finds the same digits as libstdc++'s Ryu (the shortest that read back, the
/// nearest of those, ties to even); the layout repeats libstdc++'s choice of notation.
template <typename T>
char* write_shortest(char* out, T value) {
  if (!std::isfinite(value)) return std::to_chars(out, out + kShortestBuffer, value).ptr;
  const auto decimal = fmt::detail::dragonbox::to_decimal(value);
  const int length = decimal_length(decimal.significand);
  const int exponent = decimal.exponent;
  // libstdc++ prints fixed notation unless scientific is shorter; one digit has no '.'.
  const int lower_bound = length == 1 ? -3 : -(length + 3);
  const int upper_bound = length == 1 ? 4 : 5;
  const bool fixed = exponent >= lower_bound && exponent <= upper_bound;
  // A value with a nonnegative exponent is whole, and libstdc++ prints it exactly rather than as
  // its shortest digits and zeros (2^60 is 1152921504606846976); past 2^64 that needs wider
  // integers.
  const T magnitude = std::fabs(value);
  if (fixed && exponent >= 0 && magnitude >= static_cast<T>(0x1p64)) {
    return std::to_chars(out, out + kShortestBuffer, value).ptr;
  }
  if (std::signbit(value)) *out++ = '-';
  if (!fixed) {
    // d.ddd: the digits from the second place on, then the first copied in front of the point.
    write_digits(out + 1 + length, decimal.significand);
    out[0] = out[1];
    if (length > 1) {
      out[1] = '.';
      out += length + 1;
    } else {
      out += 1;
    }
    *out++ = 'e';
    int scientific_exponent = exponent + length - 1;
    *out++ = scientific_exponent < 0 ? '-' : '+';
    scientific_exponent = std::abs(scientific_exponent);
    if (scientific_exponent >= 100) {
      *out++ = static_cast<char>('0' + scientific_exponent / 100);
      scientific_exponent %= 100;
    }
    write_pair(out, static_cast<std::uint32_t>(scientific_exponent));
    return out + 2;
  }
  if (exponent >= 0) {
    const auto whole = static_cast<std::uint64_t>(magnitude);
    out += decimal_length(whole);
    write_digits(out, whole);
    return out;
  }
  const int whole_digits = length + exponent;
  if (whole_digits <= 0) {
    // At most three zeros follow the point, or scientific would be shorter.
    std::memcpy(out, "0.000", 5);
    out += 2 - whole_digits + length;
    write_digits(out, decimal.significand);
    return out;
  }
  // The digits from the second place on, then the whole part again in front of the point:
  // moving digits just stored with wide loads would wait for the stores to retire.
  write_digits(out + 1 + length, decimal.significand);
  write_digits(out + whole_digits, decimal.significand / kPowersOf10[-exponent]);
  out[whole_digits] = '.';
  return out + length + 1;
}

/// Writes what append_json_number() appends: the shortest text, or null for a NaN or infinity.
template <typename T>
char* write_number_or_null(char* out, T value) {
  if (!std::isfinite(value)) {
    std::memcpy(out, "null", 4);
    return out + 4;
  }
  return write_shortest(out, value);
}

/// Appends what `write` writes, at most kShortestBuffer bytes, in place: copying the text from a
/// buffer would reread bytes just stored, one or two at a time, with wide loads that wait for
/// those stores to retire.
template <typename Write>
void append_written(std::string& out, Write write) {
  const std::size_t size = out.size();
  out.resize(size + kShortestBuffer);
  out.resize(write(out.data() + size) - out.data());
}

/// Returns the length of the UTF-8 sequence starting at text[i], or 0 when it is invalid.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length;
  std::uint32_t code;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}
}  // namespace

void append_shortest(std::string& out, double value) {
  append_written(out, [value](char* at) { return write_shortest(at, value); });
}
void append_shortest(std::string& out, float value) {
  append_written(out, [value](char* at) { return write_shortest(at, value); });
}

void append_json_number(std::string& out, double value) {
  append_written(out, [value](char* at) { return write_number_or_null(at, value); });
}
void append_json_number(std::string& out, float value) {
  append_written(out, [value](char* at) { return write_number_or_null(at, value); });
}

char* write_json_number(char* out, double value) {
  return write_number_or_null(out, value);
}
char* write_json_number(char* out, float value) {
  return write_number_or_null(out, value);
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
      continue;
    }
    std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  out += '"';
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

}  // namespace ldh
