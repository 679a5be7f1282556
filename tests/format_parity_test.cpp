// The same rows written as JSON lines, binary frames and protobuf messages must decode to the
// same columns: every value equal (floats bit for bit, strings by text), dead letters alike.

#include <gtest/gtest.h>

#include <limits>

#include "decoder_test_support.h"
#include "ingest/generator.h"
#include "ingest/sensor_schema.h"

namespace ldh {
namespace {

using testing::decode_stream;
using testing::Decoded;
using testing::encode_rows;
using testing::StreamOptions;

constexpr Format kFormats[] = {Format::json, Format::binary, Format::protobuf};

void expect_same_columns(const Decoded& json, const Decoded& other, Format format) {
  ASSERT_EQ(json.rows.size(), other.rows.size()) << to_string(format);
  for (std::size_t row = 0; row < json.rows.size(); ++row) {
    ASSERT_EQ(json.rows[row], other.rows[row]) << to_string(format) << " row " << row;
  }
}

TEST(FormatParity, SensorRowsDecodeIdentically) {
  Schema schema = sensor_schema();
  auto rows = testing::sensor_rows(5000, 3);
  std::vector<Decoded> decoded;
  for (Format format : kFormats) {
    StreamOptions options;
    options.capacity = 777;
    decoded.push_back(
        decode_stream(format, schema, encode_rows(format, schema, rows, 100), options));
    EXPECT_TRUE(decoded.back().dead_letters.empty()) << to_string(format);
  }
  EXPECT_EQ(decoded[0].rows, testing::expected_rows(schema, rows));
  expect_same_columns(decoded[0], decoded[1], Format::binary);
  expect_same_columns(decoded[0], decoded[2], Format::protobuf);
}

TEST(FormatParity, EveryTypeAndUnitDecodesIdentically) {
  Schema schema;
  auto add = [&](const char* name, DataType type) {
    Field field;
    field.name = name;
    field.type = type;
    field.binary_size = 12;
    schema.fields.push_back(field);
  };
  add("i32", DataType::int32);
  add("i64", DataType::int64);
  add("f32", DataType::float32);
  add("f64", DataType::float64);
  add("flag", DataType::boolean);
  add("text", DataType::string);
  for (TimeUnit unit : {TimeUnit::s, TimeUnit::ms, TimeUnit::us, TimeUnit::ns, TimeUnit::iso8601}) {
    add(unit == TimeUnit::s    ? "t_s"
        : unit == TimeUnit::ms ? "t_ms"
        : unit == TimeUnit::us ? "t_us"
        : unit == TimeUnit::ns ? "t_ns"
                               : "t_iso",
        DataType::timestamp);
    schema.fields.back().time_unit = unit;
  }
  schema.id = schema.layout_id();
  std::vector<std::vector<FieldValue>> rows;
  std::uint64_t state = 99;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 13;
  };
  for (int i = 0; i < 3000; ++i) {
    auto seconds = static_cast<std::int64_t>(next() % 4'000'000'000) - 1'000'000'000;
    double real = static_cast<double>(static_cast<std::int64_t>(next() % 2'000'000) - 1'000'000) /
                  static_cast<double>(1 + next() % 1000);
    rows.push_back({static_cast<std::int64_t>(static_cast<std::int32_t>(next())),
                    static_cast<std::int64_t>(next() * 2654435761u), real, real / 3,
                    next() % 2 == 0, "é-" + std::to_string(next() % 100000),
                    seconds * 1'000'000'000, seconds * 1'000'000'000, seconds * 1'000'000'000,
                    seconds * 1'000'000'000, seconds * 1'000'000'000});
  }
  rows.push_back({std::int64_t{std::numeric_limits<std::int32_t>::min()},
                  std::numeric_limits<std::int64_t>::max(), std::numeric_limits<double>::max(),
                  std::numeric_limits<double>::denorm_min(), true, std::string(""), std::int64_t{0},
                  std::int64_t{0}, std::int64_t{0}, std::int64_t{0}, std::int64_t{0}});
  std::vector<Decoded> decoded;
  for (Format format : kFormats) {
    decoded.push_back(decode_stream(format, schema, encode_rows(format, schema, rows)));
    EXPECT_TRUE(decoded.back().dead_letters.empty()) << to_string(format);
  }
  // float32 of DBL_MAX overflows to infinity when the encoder narrows it; the others are exact.
  rows.back()[2] = std::numeric_limits<double>::infinity();
  EXPECT_EQ(decoded[0].rows, testing::expected_rows(schema, rows));
  expect_same_columns(decoded[0], decoded[1], Format::binary);
  expect_same_columns(decoded[0], decoded[2], Format::protobuf);
}

TEST(FormatParity, GeneratorFeedWithBadRecordsDecodesIdentically) {
  Schema schema = sensor_schema();
  GeneratorConfig config;
  config.events = 20000;
  config.sensors = 40;
  config.bad_share = 0.02;
  config.jitter_ns = 2'000'000'000;
  config.seed = 5;
  std::vector<Decoded> decoded;
  for (Format format : kFormats) {
    SensorGenerator generator(config, schema);
    auto encoder = make_encoder(format, schema, 256);
    std::string bytes;
    while (generator.generate(*encoder, 4096, bytes) > 0) {
    }
    encoder->flush(bytes);
    decoded.push_back(decode_stream(format, schema, bytes, {.capacity = 1000, .block = 65536}));
    EXPECT_EQ(decoded.back().rows.size() + decoded.back().dead_letters.size(), config.events)
        << to_string(format);
    EXPECT_EQ(decoded.back().dead_letters.size(), generator.malformed()) << to_string(format);
  }
  EXPECT_GT(decoded[0].dead_letters.size(), 0u);
  expect_same_columns(decoded[0], decoded[1], Format::binary);
  expect_same_columns(decoded[0], decoded[2], Format::protobuf);
}

}  // namespace
}  // namespace ldh
