#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "decoder_test_support.h"
#include "ingest/sensor_schema.h"

namespace ldh {
namespace {

using testing::decode_stream;
using testing::encode_rows;
using testing::expected_rows;
using testing::Row;
using testing::sensor_rows;
using testing::StreamOptions;

Field make_field(std::string name, DataType type, bool required = true) {
  Field field;
  field.name = std::move(name);
  field.type = type;
  field.required = required;
  return field;
}

Schema small_schema() {
  Schema schema;
  schema.fields.push_back(make_field("id", DataType::int32));
  schema.fields.push_back(make_field("big", DataType::int64, false));
  schema.fields.push_back(make_field("f32", DataType::float32, false));
  schema.fields.push_back(make_field("f64", DataType::float64, false));
  schema.fields.push_back(make_field("ok", DataType::boolean, false));
  schema.fields.push_back(make_field("name", DataType::string, false));
  schema.fields.push_back(make_field("at", DataType::timestamp, false));
  schema.fields.back().time_unit = TimeUnit::ms;
  schema.fields.push_back(make_field("iso", DataType::timestamp, false));
  schema.fields.back().time_unit = TimeUnit::iso8601;
  schema.id = schema.layout_id();
  return schema;
}

testing::Decoded decode_text(const Schema& schema, std::string_view text,
                             StreamOptions options = {}) {
  return decode_stream(Format::json, schema, text, options);
}

TEST(JsonDecoder, RoundTripsSensorRecords) {
  testing::expect_sensor_round_trip(Format::json, 3000, {97}, 37);
}

TEST(JsonDecoder, RoundTripsEveryTypeExactly) {
  Schema schema = small_schema();
  std::vector<std::vector<FieldValue>> rows;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  rows.push_back({std::int64_t{1}, std::numeric_limits<std::int64_t>::max(), 0.1, 0.1, true,
                  std::string("plain"), std::int64_t{1'795'000'000'123'000'000},
                  std::int64_t{1'795'000'000'123'456'789}});
  rows.push_back({std::int64_t{-2147483648}, std::numeric_limits<std::int64_t>::min(),
                  3.4028234663852886e38, 1.7976931348623157e308, false,
                  std::string("quote\" back\\ nl\n tab\t ctl\x01 é 😀"), std::int64_t{-1'000'000},
                  std::int64_t{0}});
  rows.push_back({std::int64_t{3}, std::monostate{}, std::monostate{}, std::monostate{},
                  std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}});
  rows.push_back({std::int64_t{4}, std::int64_t{0}, 1e-45, 5e-324, true, std::string(""),
                  std::int64_t{0}, std::int64_t{-1}});
  rows.push_back({std::int64_t{5}, std::int64_t{7}, -kInf, kInf, false, std::string("x"),
                  std::int64_t{1000000}, std::int64_t{1'000'000'000}});
  for (int i = 0; i < 2000; ++i) {
    double value = std::ldexp(1.0 + i * 0.000731, (i % 200) - 100) * ((i % 3) ? 1 : -1);
    rows.push_back({std::int64_t{i}, std::int64_t{i} * 1'000'000'007, value, value, i % 2 == 0,
                    std::to_string(i), std::int64_t{i} * 1'000'000, std::int64_t{i} * 1001});
  }
  std::string bytes = encode_rows(Format::json, schema, rows);
  auto decoded = decode_text(schema, bytes);
  EXPECT_TRUE(decoded.dead_letters.empty());
  EXPECT_EQ(decoded.rows, expected_rows(schema, rows));
}

TEST(JsonDecoder, ReadsEscapesUnicodeAndLayoutVariants) {
  Schema schema = small_schema();
  std::string text =
      "\n"
      "   \t \r\n"
      "{\"name\":\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"id\":1}\r\n"
      "{ \"extra\" : {\"id\": [1, {\"x\": null}]}, \"i\\u0064\" : 2 , \"ok\":true}\n"
      "\n"
      "{\"at\":\"2026-11-29T04:22:00.5+01:00\",\"id\":3,\"iso\":\"2026-01-01 00:00:00Z\"}\n"
      "{\"id\":4,\"f64\":1E2,\"big\":-0,\"f32\":-0.0,\"name\":null}\n"
      "{\"id\":5.0,\"big\":1e3,\"at\":1.5e3}";
  auto decoded = decode_text(schema, text);
  EXPECT_TRUE(decoded.dead_letters.empty()) << decoded.dead_letters[0].detail;
  ASSERT_EQ(decoded.rows.size(), 5u);
  EXPECT_EQ(decoded.rows[0][5], "é😀\"\\/\b\f\n\r\t");
  EXPECT_EQ(decoded.rows[0][0], "1");
  EXPECT_EQ(decoded.rows[1][0], "2");
  EXPECT_EQ(decoded.rows[1][4], "true");
  EXPECT_EQ(decoded.rows[2][6], "1795922520500000000");
  EXPECT_EQ(decoded.rows[2][7], "1767225600000000000");
  EXPECT_EQ(decoded.rows[3], (Row{"4", "0", "-0", "100", "<null>", "<null>", "<null>", "<null>"}));
  EXPECT_EQ(decoded.rows[4][0], "5");
  EXPECT_EQ(decoded.rows[4][1], "1000");
  EXPECT_EQ(decoded.rows[4][6], "1500000000");
}

struct BadLine {
  std::string line;
  DeadLetterReason reason;
  std::string detail;  // empty: not checked
};

TEST(JsonDecoder, DeadLettersEveryKindWithOffsets) {
  Schema schema = small_schema();
  std::vector<BadLine> bad = {
      {"not json", DeadLetterReason::malformed, "expected a JSON object"},
      {"[1,2]", DeadLetterReason::malformed, "expected a JSON object"},
      {"{\"id\":1} {\"id\":2}", DeadLetterReason::malformed, "content after the JSON object"},
      {"{\"id\":1,\"id\":2}", DeadLetterReason::malformed, "field 'id' appears twice"},
      {"{\"id\":1,}", DeadLetterReason::malformed, ""},
      {"{\"id\":1,\"ok\":tru}", DeadLetterReason::malformed, "field 'ok': invalid literal tru"},
      {"{\"id\":01}", DeadLetterReason::malformed, "field 'id': invalid number 01"},
      {"{\"id\":1,\"name\":\"\\x\"}", DeadLetterReason::malformed, ""},
      {"{\"id\":1,\"name\":\"open", DeadLetterReason::malformed, ""},
      {"{\"id\":\"7\"}", DeadLetterReason::wrong_type,
       "field 'id': expected an int32 integer, got a string"},
      {"{\"id\":{}}", DeadLetterReason::wrong_type,
       "field 'id': expected an int32 integer, got an object"},
      {"{\"id\":[1]}", DeadLetterReason::wrong_type, ""},
      {"{\"id\":1.5}", DeadLetterReason::wrong_type,
       "field 'id': expected an int32 integer, got the number 1.5"},
      {"{\"id\":1,\"name\":5}", DeadLetterReason::wrong_type,
       "field 'name': expected a string, got the number 5"},
      {"{\"id\":1,\"ok\":1}", DeadLetterReason::wrong_type, ""},
      {"{\"id\":1,\"f64\":true}", DeadLetterReason::wrong_type,
       "field 'f64': expected a number, got a boolean"},
      {"{\"id\":1,\"iso\":12}", DeadLetterReason::wrong_type,
       "field 'iso': expected an ISO-8601 timestamp, got the number 12"},
      {"{\"id\":1,\"at\":\"yesterday\"}", DeadLetterReason::wrong_type, ""},
      {"{\"big\":1}", DeadLetterReason::missing_field, "required field 'id' is missing"},
      {"{\"id\":null}", DeadLetterReason::missing_field, "required field 'id' is null"},
      {"{\"id\":1,\"f64\":NaN}", DeadLetterReason::not_a_number, "field 'f64': NaN is not allowed"},
      {"{\"id\":1,\"f32\":NaN}", DeadLetterReason::not_a_number, ""},
      {"{\"id\":2147483648}", DeadLetterReason::out_of_range,
       "field 'id': the number 2147483648 is out of range for int32"},
      {"{\"id\":1,\"big\":9223372036854775808}", DeadLetterReason::out_of_range, ""},
      {"{\"id\":1,\"big\":-9223372036854775809}", DeadLetterReason::out_of_range, ""},
      {"{\"id\":1,\"big\":1e19}", DeadLetterReason::out_of_range, ""},
      {"{\"id\":1,\"f32\":1e39}", DeadLetterReason::out_of_range, ""},
      {"{\"id\":1,\"f64\":1e400}", DeadLetterReason::out_of_range, ""},
      {"{\"id\":1,\"at\":9223372036854775807}", DeadLetterReason::out_of_range,
       "field 'at': the number 9223372036854775807 is out of range for a timestamp in ms"},
      {"{\"id\":1,\"name\":\"\xff\"}", DeadLetterReason::invalid_utf8, ""},
      {"{\"id\":1,\"name\":\"\\ud800\"}", DeadLetterReason::invalid_utf8, ""},
      {"{\"id\":1,\"\xc3\x28\":1}", DeadLetterReason::invalid_utf8, ""},
  };
  std::string good = "{\"id\":100}\n";
  std::string text = good;
  std::vector<std::size_t> offsets;
  for (const auto& entry : bad) {
    offsets.push_back(text.size());
    text += entry.line + "\n" + good;
  }
  std::size_t cut = text.size();
  text += "{\"id\":1,\"name\":\"cut";  // the stream ends inside the last object
  for (std::size_t capacity : {1, 2, 3, 100}) {
    StreamOptions options;
    options.capacity = capacity;
    options.stream_offset = 7;
    options.chunk_records = 5;
    auto decoded = decode_text(schema, text, options);
    EXPECT_EQ(decoded.rows.size(), bad.size() + 1);
    ASSERT_EQ(decoded.dead_letters.size(), bad.size() + 1);
    for (std::size_t i = 0; i < bad.size(); ++i) {
      const DeadLetter& dead = decoded.dead_letters[i];
      EXPECT_EQ(dead.reason, bad[i].reason) << bad[i].line << ": " << dead.detail;
      EXPECT_EQ(dead.offset, 7 + offsets[i]) << bad[i].line;
      EXPECT_EQ(dead.record, bad[i].line + "\n");
      EXPECT_EQ(dead.source_index, 3u);
      if (!bad[i].detail.empty()) {
        EXPECT_EQ(dead.detail, bad[i].detail) << bad[i].line;
      }
    }
    EXPECT_EQ(decoded.dead_letters.back().reason, DeadLetterReason::truncated);
    EXPECT_EQ(decoded.dead_letters.back().offset, 7 + cut);
  }
}

TEST(JsonDecoder, ReadsNumbersExactlyAsFromChars) {
  Schema schema;
  schema.fields.push_back(make_field("f32", DataType::float32));
  schema.fields.push_back(make_field("f64", DataType::float64));
  std::uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 11;
  };
  std::string text;
  std::vector<Row> expected;
  for (int i = 0; i < 20000; ++i) {
    std::string number;
    if (next() % 2) number += '-';
    number += std::to_string(next() % 100000000 + (i % 7 == 0 ? 0 : 1));
    if (next() % 4 != 0) {
      number += '.';
      number += std::to_string(next() % 1000000000);
    }
    if (next() % 3 == 0) {
      number += 'e';
      number += std::to_string(static_cast<int>(next() % 60) - 30);
    }
    if (i % 11 == 0) number = std::to_string(next()) + std::to_string(next());  // > 19 digits
    float narrow = 0;
    double wide = 0;
    std::from_chars(number.data(), number.data() + number.size(), narrow);
    std::from_chars(number.data(), number.data() + number.size(), wide);
    if (std::isinf(narrow) || std::isinf(wide) || narrow == 0 || wide == 0) continue;
    text.append("{\"f32\":").append(number).append(",\"f64\":").append(number).append("}\n");
    expected.push_back({testing::real_text(narrow), testing::real_text(wide)});
  }
  auto decoded = decode_text(schema, text);
  EXPECT_TRUE(decoded.dead_letters.empty());
  EXPECT_EQ(decoded.rows, expected);
}

TEST(JsonDecoder, AcceptsNanAndInfinityWhereAllowed) {
  Schema schema;
  schema.fields.push_back(make_field("a", DataType::float64));
  schema.fields.back().allow_nan = true;
  schema.fields.push_back(make_field("b", DataType::float32));
  schema.fields.back().allow_nan = true;
  auto decoded = decode_text(schema, "{\"a\":NaN,\"b\":-Infinity}\n{\"a\":Infinity,\"b\":NaN}\n");
  EXPECT_TRUE(decoded.dead_letters.empty());
  EXPECT_EQ(decoded.rows, (std::vector<Row>{{"NaN", "-inf"}, {"inf", "NaN"}}));
}

TEST(JsonDecoder, SkipsNanCheckWithoutValidation) {
  Schema schema;
  schema.fields.push_back(make_field("a", DataType::float64));
  StreamOptions options;
  options.validate = false;
  auto decoded = decode_text(schema, "{\"a\":NaN}\n", options);
  EXPECT_TRUE(decoded.dead_letters.empty());
  EXPECT_EQ(decoded.rows, (std::vector<Row>{{"NaN"}}));
}

TEST(JsonDecoder, EncoderMalformedKindsGiveTheirReasons) {
  Schema schema = sensor_schema();
  auto rows = sensor_rows(5);
  auto encoder = make_encoder(Format::json, schema);
  std::string text;
  for (std::uint64_t choice = 0; choice < 5; ++choice)
    encoder->append_malformed(rows[choice], choice, text);
  auto decoded = decode_text(schema, text);
  EXPECT_TRUE(decoded.rows.empty());
  ASSERT_EQ(decoded.dead_letters.size(), 5u);
  EXPECT_EQ(decoded.dead_letters[0].reason, DeadLetterReason::wrong_type);
  EXPECT_EQ(decoded.dead_letters[1].reason, DeadLetterReason::missing_field);
  EXPECT_EQ(decoded.dead_letters[2].reason, DeadLetterReason::malformed);
  EXPECT_EQ(decoded.dead_letters[3].reason, DeadLetterReason::invalid_utf8);
  EXPECT_EQ(decoded.dead_letters[4].reason, DeadLetterReason::malformed);
}

TEST(JsonDecoder, FrameCutsAtLineEnds) {
  Schema schema = small_schema();
  std::string text = "{\"id\":1}\n{\"id\":2}\n{\"id\":3}";
  auto decoder = make_decoder(Format::json, schema);
  auto span = [&](std::size_t size) {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), size);
  };
  EXPECT_EQ(decoder->frame(span(0), 10, false), 0u);
  EXPECT_EQ(decoder->frame(span(5), 10, false), 0u);
  EXPECT_EQ(decoder->frame(span(9), 10, false), 9u);
  EXPECT_EQ(decoder->frame(span(text.size()), 10, false), 18u);
  EXPECT_EQ(decoder->frame(span(text.size()), 1, false), 9u);
  EXPECT_EQ(decoder->frame(span(text.size()), 10, true), text.size());
  std::string long_line(kMaxRecordBytes + 5, 'x');
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(long_line.data()),
                                   long_line.size());
  EXPECT_EQ(decoder->frame(bytes, 10, false), kMaxRecordBytes + 1);
}

TEST(JsonDecoder, RejectsOverlongLines) {
  Schema schema = small_schema();
  std::string text(kMaxRecordBytes + 10, ' ');
  text[0] = '{';
  text += "}\n{\"id\":1}\n";
  auto decoded = decode_text(schema, text, {.block = 1 << 20});
  ASSERT_GE(decoded.dead_letters.size(), 1u);
  EXPECT_EQ(decoded.dead_letters[0].reason, DeadLetterReason::malformed);
  EXPECT_EQ(decoded.dead_letters[0].record.size(), kDeadLetterRecordBytes);
  ASSERT_EQ(decoded.rows.size(), 1u);
}

}  // namespace
}  // namespace ldh
