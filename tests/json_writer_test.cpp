#include "pipeline/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace ldh {
namespace {

std::string number(double value) {
  std::string out;
  append_json_number(out, value);
  return out;
}

TEST(JsonWriter, NumbersAreShortestRoundTrip) {
  EXPECT_EQ(number(0.1), "0.1");
  EXPECT_EQ(number(-0.0), "-0");
  EXPECT_EQ(number(1e300), "1e+300");
  EXPECT_EQ(number(5e-324), "5e-324");
  EXPECT_EQ(number(std::nan("")), "null");
  EXPECT_EQ(number(std::numeric_limits<double>::infinity()), "null");
  std::string single;
  append_json_number(single, 0.1f);
  EXPECT_EQ(single, "0.1");
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
