#include "pipeline/time.h"

#include <gtest/gtest.h>

namespace ldh {
namespace {

TEST(Time, ParsesIso8601Forms) {
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601("2026-11-29T04:22:00.123Z"), 1'795'926'120'123'000'000);
  EXPECT_EQ(parse_iso8601("2026-11-29 05:22:00.123+01:00"), 1'795'926'120'123'000'000);
  EXPECT_EQ(parse_iso8601("1969-12-31T23:59:59.999999999Z"), -1);
  EXPECT_EQ(parse_iso8601("2024-02-29T00:00:00Z"), 1'709'164'800'000'000'000);
}

TEST(Time, RejectsMalformedText) {
  for (const char* text :
       {"", "2026-11-29", "2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2026-11-29T24:00:00Z",
        "2026-11-29T04:22:00", "2026-11-29T04:22:00.Z", "2026-11-29T04:22:00.1234567890Z",
        "2026-11-29T04:22:00Zjunk", "2300-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parse_iso8601(text).has_value()) << text;
  }
}

TEST(Time, FormatsWithChosenDigits) {
  EXPECT_EQ(format_iso8601(1'795'926'120'123'456'789, 3), "2026-11-29T04:22:00.123Z");
  EXPECT_EQ(format_iso8601(1'795'926'120'123'456'789, 9), "2026-11-29T04:22:00.123456789Z");
  EXPECT_EQ(format_iso8601(-1, 3), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(0, 0), "1970-01-01T00:00:00Z");
}

TEST(Time, RoundTrips) {
  for (std::int64_t value : {0LL, 1LL, -1LL, 1'795'926'120'123'456'789LL,
                             -5'000'000'000'000'000'000LL, 9'000'000'000'000'000'000LL}) {
    EXPECT_EQ(parse_iso8601(format_iso8601(value, 9)), value) << value;
  }
}

}  // namespace
}  // namespace ldh
