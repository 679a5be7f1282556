#include <gtest/gtest.h>

#include <set>

#include <cmath>
#include <cstring>
#include <limits>

#include "decoder_test_support.h"
#include "ingest/binary_frame.h"
#include "ingest/sensor_schema.h"

namespace ldh {
namespace {

using testing::decode_stream;
using testing::encode_rows;
using testing::expected_rows;
using testing::sensor_rows;
using testing::StreamOptions;

Field make_field(std::string name, DataType type) {
  Field field;
  field.name = std::move(name);
  field.type = type;
  return field;
}

/// One field of every type and every timestamp unit.
Schema every_type_schema() {
  Schema schema;
  schema.fields.push_back(make_field("i32", DataType::int32));
  schema.fields.push_back(make_field("i64", DataType::int64));
  schema.fields.push_back(make_field("f32", DataType::float32));
  schema.fields.push_back(make_field("f64", DataType::float64));
  schema.fields.push_back(make_field("flag", DataType::boolean));
  schema.fields.push_back(make_field("name", DataType::string));
  schema.fields.back().binary_size = 10;
  for (TimeUnit unit : {TimeUnit::s, TimeUnit::ms, TimeUnit::us, TimeUnit::ns, TimeUnit::iso8601}) {
    schema.fields.push_back(make_field("t_" + std::string(to_string(unit)), DataType::timestamp));
    schema.fields.back().time_unit = unit;
  }
  schema.id = schema.layout_id();
  return schema;
}

std::vector<FieldValue> every_type_row(std::int64_t i32, std::int64_t i64, double f32, double f64,
                                       bool flag, std::string name, std::int64_t seconds) {
  std::int64_t ns = seconds * 1'000'000'000;
  return {i32, i64, f32, f64, flag, std::move(name), ns, ns, ns, ns, ns};
}

TEST(BinaryDecoder, RoundTripsSensorRecordsAcrossBatchAndFrameSizes) {
  for (std::uint32_t frame_records : {1u, 7u, 1024u}) {
    testing::expect_sensor_round_trip(Format::binary, 2500, {100, 4096}, 50, frame_records);
  }
}

TEST(BinaryDecoder, RoundTripsEveryTypeAndExtremeValues) {
  Schema schema = every_type_schema();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<FieldValue>> rows = {
      every_type_row(0, 0, 0.0, 0.0, false, "", 0),
      every_type_row(std::numeric_limits<std::int32_t>::min(),
                     std::numeric_limits<std::int64_t>::min(), -kInf, -kInf, true, "0123456789",
                     -2'000'000'000),
      every_type_row(std::numeric_limits<std::int32_t>::max(),
                     std::numeric_limits<std::int64_t>::max(), kInf, kInf, true, "ü€𝄞x",
                     4'000'000'000),
      every_type_row(-1, -1, 1e-45, 5e-324, false, "a\tb", 1),
      every_type_row(7, 8, -0.0, -0.0, true, "line\nbreak", -1),
      every_type_row(1, 2, 3.4028234663852886e38, 1.7976931348623157e308, false, "zz", 12345),
  };
  std::string bytes = encode_rows(Format::binary, schema, rows, 4);
  auto decoded = decode_stream(Format::binary, schema, bytes, {.capacity = 2});
  EXPECT_TRUE(decoded.dead_letters.empty());
  EXPECT_EQ(decoded.rows, expected_rows(schema, rows));
}

TEST(BinaryDecoder, CutsLongStringsAtCharacterBoundaries) {
  Schema schema;
  schema.fields.push_back(make_field("name", DataType::string));
  schema.fields.back().binary_size = 4;
  schema.id = schema.layout_id();
  std::string bytes =
      encode_rows(Format::binary, schema, {{std::string("aéé")}, {std::string("abcdef")}});
  auto decoded = decode_stream(Format::binary, schema, bytes);
  ASSERT_EQ(decoded.rows.size(), 2u);
  EXPECT_EQ(decoded.rows[0][0], "aé");
  EXPECT_EQ(decoded.rows[1][0], "abcd");
}

TEST(BinaryDecoder, AllowsNanWhereTheSchemaDoes) {
  Schema schema;
  schema.fields.push_back(make_field("value", DataType::float64));
  schema.fields.back().allow_nan = true;
  schema.id = schema.layout_id();
  std::string bytes = encode_rows(Format::binary, schema, {{std::nan("")}});
  auto decoded = decode_stream(Format::binary, schema, bytes);
  ASSERT_EQ(decoded.rows.size(), 1u);
  EXPECT_EQ(decoded.rows[0][0], "NaN");
}

TEST(BinaryDecoder, DeadLettersEveryKindWithOffsets) {
  Schema schema = sensor_schema();
  const std::size_t record = schema.binary_record_size();
  ASSERT_EQ(record, 48u);
  auto rows = sensor_rows(6);
  auto expected = expected_rows(schema, rows);
  auto encoder = make_encoder(Format::binary, schema, 3);

  std::string stream = "garbage!";                               // [0, 8): malformed
  for (int i = 0; i < 3; ++i) encoder->append(rows[i], stream);  // frame of 3 good records
  std::size_t frame_two = stream.size();
  encoder->append(rows[3], stream);
  encoder->append_malformed(rows[4], 0, stream);  // NaN in a float field
  encoder->append_malformed(rows[5], 1, stream);  // invalid UTF-8 in a string slot
  std::size_t mismatch = stream.size();
  {
    FrameHeader header;
    header.schema_id = schema.id + 1;
    header.record_count = 1;
    header.record_size = 48;
    append_frame_header(stream, header);
    stream.append(48, '\0');
  }
  std::size_t wrong_size = stream.size();
  {
    FrameHeader header;
    header.schema_id = schema.id;
    header.record_count = 1;
    header.record_size = 40;
    append_frame_header(stream, header);
    stream.append(40, '\0');
  }
  std::size_t between = stream.size();
  stream += "LDH";  // a magic cut short, then a real frame: garbage
  encoder->append(rows[0], stream);
  encoder->flush(stream);
  std::size_t truncated = stream.size();
  encoder->append(rows[1], stream);
  encoder->flush(stream);
  stream.resize(stream.size() - 5);

  for (std::size_t capacity : {1, 2, 3, 64}) {
    StreamOptions options;
    options.capacity = capacity;
    options.stream_offset = 1000;
    auto decoded = decode_stream(Format::binary, schema, stream, options);
    std::vector<testing::Row> want = {expected[0], expected[1], expected[2], expected[3],
                                      expected[0]};
    EXPECT_EQ(decoded.rows, want) << "capacity " << capacity;
    ASSERT_EQ(decoded.dead_letters.size(), 7u);
    const auto& dead = decoded.dead_letters;
    auto header = kFrameHeaderBytes;
    EXPECT_EQ(dead[0].reason, DeadLetterReason::malformed);
    EXPECT_EQ(dead[0].offset, 1000u);
    EXPECT_EQ(dead[0].record, "garbage!");
    EXPECT_EQ(dead[0].source_index, 3u);
    EXPECT_EQ(dead[1].reason, DeadLetterReason::not_a_number);
    EXPECT_EQ(dead[1].offset, 1000 + frame_two + header + record);
    EXPECT_EQ(dead[1].record.size(), record);
    EXPECT_NE(dead[1].detail.find("NaN"), std::string::npos) << dead[1].detail;
    EXPECT_EQ(dead[2].reason, DeadLetterReason::invalid_utf8);
    EXPECT_EQ(dead[2].offset, 1000 + frame_two + header + 2 * record);
    EXPECT_EQ(dead[3].reason, DeadLetterReason::schema_mismatch);
    EXPECT_EQ(dead[3].offset, 1000 + mismatch);
    EXPECT_EQ(dead[4].reason, DeadLetterReason::schema_mismatch);
    EXPECT_EQ(dead[4].offset, 1000 + wrong_size);
    EXPECT_EQ(dead[5].reason, DeadLetterReason::malformed);
    EXPECT_EQ(dead[5].offset, 1000 + between);
    EXPECT_EQ(dead[5].record, "LDH");
    EXPECT_EQ(dead[6].reason, DeadLetterReason::truncated);
    EXPECT_EQ(dead[6].offset, 1000 + truncated);
  }
}

TEST(BinaryDecoder, RejectsBadBoolBadPaddingAndTimestampOverflow) {
  Schema schema;
  schema.fields.push_back(make_field("flag", DataType::boolean));
  schema.fields.push_back(make_field("name", DataType::string));
  schema.fields.back().binary_size = 4;
  schema.fields.push_back(make_field("time", DataType::timestamp));
  schema.fields.back().time_unit = TimeUnit::s;
  schema.id = schema.layout_id();
  auto encoder = make_encoder(Format::binary, schema, 16);
  std::string stream;
  std::vector<FieldValue> good = {true, std::string("ab"), std::int64_t{5'000'000'000}};
  encoder->append(good, stream);
  encoder->append_malformed(good, 0, stream);  // kinds here: UTF-8, bool
  encoder->append_malformed(good, 1, stream);
  encoder->append(good, stream);
  encoder->append(good, stream);
  encoder->flush(stream);
  const std::size_t first = kFrameHeaderBytes;
  const std::size_t record = 13;
  stream[first + 3 * record + 1 + 3] = 'x';  // "ab\0x": a byte after the NUL
  std::int64_t huge = std::numeric_limits<std::int64_t>::max() / 10;
  std::memcpy(&stream[first + 4 * record + 5], &huge, 8);

  auto decoded = decode_stream(Format::binary, schema, stream, {.capacity = 2});
  ASSERT_EQ(decoded.rows.size(), 1u);
  EXPECT_EQ(decoded.rows[0], (testing::Row{"true", "ab", "5000000000"}));
  ASSERT_EQ(decoded.dead_letters.size(), 4u);
  EXPECT_EQ(decoded.dead_letters[0].reason, DeadLetterReason::invalid_utf8);
  EXPECT_EQ(decoded.dead_letters[0].offset, first + record);
  EXPECT_EQ(decoded.dead_letters[1].reason, DeadLetterReason::wrong_type);
  EXPECT_EQ(decoded.dead_letters[1].offset, first + 2 * record);
  EXPECT_EQ(decoded.dead_letters[1].detail, "field 'flag': expected a boolean, got the byte 7");
  EXPECT_EQ(decoded.dead_letters[2].reason, DeadLetterReason::malformed);
  EXPECT_EQ(decoded.dead_letters[3].reason, DeadLetterReason::out_of_range);
  EXPECT_EQ(decoded.dead_letters[3].offset, first + 4 * record);
}

TEST(BinaryDecoder, TimestampsAtTheEdgeOfNanosecondsAreKeptAndOnePastIsRejected) {
  Schema schema;
  schema.fields.push_back(make_field("time", DataType::timestamp));
  schema.fields.back().time_unit = TimeUnit::ms;
  schema.id = schema.layout_id();
  auto encoder = make_encoder(Format::binary, schema, 16);
  constexpr std::int64_t kUnit = 1'000'000;
  const std::int64_t highest = std::numeric_limits<std::int64_t>::max() / kUnit;
  const std::int64_t lowest = std::numeric_limits<std::int64_t>::min() / kUnit;
  const std::int64_t raw[] = {highest,
                              highest + 1,
                              lowest,
                              lowest - 1,
                              0,
                              std::numeric_limits<std::int64_t>::max(),
                              std::numeric_limits<std::int64_t>::min()};
  std::string stream;
  const std::vector<FieldValue> zero = {std::int64_t{0}};
  for (std::size_t i = 0; i < std::size(raw); ++i) encoder->append(zero, stream);
  encoder->flush(stream);
  // The encoder takes nanoseconds; the raw unit counts go straight into the records.
  for (std::size_t i = 0; i < std::size(raw); ++i) {
    std::memcpy(&stream[kFrameHeaderBytes + 8 * i], &raw[i], 8);
  }
  auto decoded = decode_stream(Format::binary, schema, stream);
  ASSERT_EQ(decoded.rows.size(), 3u);
  EXPECT_EQ(decoded.rows[0], (testing::Row{std::to_string(highest * kUnit)}));
  EXPECT_EQ(decoded.rows[1], (testing::Row{std::to_string(lowest * kUnit)}));
  EXPECT_EQ(decoded.rows[2], (testing::Row{"0"}));
  ASSERT_EQ(decoded.dead_letters.size(), 4u);
  for (const DeadLetter& letter : decoded.dead_letters) {
    EXPECT_EQ(letter.reason, DeadLetterReason::out_of_range);
  }
}

TEST(BinaryDecoder, BadRecordsPastTheFirstBlockOfAFrameAreDeadLetteredAtTheirOffsets) {
  // One frame of 400 records, decoded in blocks of 128: bad ones in the first, a middle and the
  // last block, and on a block's first and last rows.
  const Schema schema = sensor_schema();
  auto rows = sensor_rows(400);
  auto encoder = make_encoder(Format::binary, schema, 400);
  const std::set<std::size_t> bad = {3, 127, 128, 255, 300, 399};
  std::string stream;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (bad.count(i) != 0) {
      encoder->append_malformed(rows[i], i, stream);  // a NaN or bad UTF-8, by position
    } else {
      encoder->append(rows[i], stream);
    }
  }
  encoder->flush(stream);
  const std::size_t record = schema.binary_record_size();
  for (std::size_t capacity : {std::size_t{1000}, std::size_t{129}, std::size_t{7}}) {
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    auto decoded = decode_stream(Format::binary, schema, stream, {.capacity = capacity});
    ASSERT_EQ(decoded.rows.size(), rows.size() - bad.size());
    ASSERT_EQ(decoded.dead_letters.size(), bad.size());
    std::size_t letter = 0;
    for (std::size_t i : bad) {
      EXPECT_EQ(decoded.dead_letters[letter++].offset, kFrameHeaderBytes + i * record);
    }
    std::size_t kept = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (bad.count(i) == 0) {
        EXPECT_EQ(decoded.rows[kept++], testing::expected_row(schema, rows[i]));
      }
    }
  }
}

TEST(BinaryDecoder, SkipsValueChecksWithoutValidation) {
  Schema schema = sensor_schema();
  auto rows = sensor_rows(2);
  auto encoder = make_encoder(Format::binary, schema);
  std::string stream;
  encoder->append_malformed(rows[0], 0, stream);  // NaN
  encoder->append_malformed(rows[1], 1, stream);  // invalid UTF-8
  encoder->flush(stream);
  StreamOptions options;
  options.validate = false;
  auto decoded = decode_stream(Format::binary, schema, stream, options);
  EXPECT_TRUE(decoded.dead_letters.empty());
  ASSERT_EQ(decoded.rows.size(), 2u);
}

TEST(BinaryDecoder, FrameNeverSplitsAFrame) {
  Schema schema = sensor_schema();
  std::string bytes = encode_rows(Format::binary, schema, sensor_rows(10), 4);  // 4 + 4 + 2
  auto decoder = make_decoder(Format::binary, schema);
  auto span = [&](std::size_t size) {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), size);
  };
  const std::size_t frame4 = kFrameHeaderBytes + 4 * 48;
  EXPECT_EQ(decoder->frame(span(0), 100, false), 0u);
  EXPECT_EQ(decoder->frame(span(3), 100, false), 0u);
  EXPECT_EQ(decoder->frame(span(frame4 - 1), 100, false), 0u);
  EXPECT_EQ(decoder->frame(span(frame4), 100, false), frame4);
  EXPECT_EQ(decoder->frame(span(frame4 + 30), 100, false), frame4);
  EXPECT_EQ(decoder->frame(span(bytes.size()), 100, false), bytes.size());
  EXPECT_EQ(decoder->frame(span(bytes.size()), 5, false), 2 * frame4);
  EXPECT_EQ(decoder->frame(span(bytes.size()), 1, false), frame4);
  // At the end of the stream a partial frame still makes progress.
  EXPECT_EQ(decoder->frame(span(frame4 - 1), 100, true), frame4 - 1);
  EXPECT_EQ(decoder->frame(span(2), 100, true), 2u);
}

TEST(BinaryDecoder, GarbageWithoutMagicWaitsForMoreBytes) {
  Schema schema = sensor_schema();
  auto decoder = make_decoder(Format::binary, schema);
  std::string garbage(100, 'x');
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(garbage.data()),
                                   garbage.size());
  EXPECT_EQ(decoder->frame(bytes, 10, false), 0u);
  EXPECT_EQ(decoder->frame(bytes, 10, true), garbage.size());
  std::string huge(kMaxRecordBytes + 10, 'x');
  std::span<const std::byte> huge_bytes(reinterpret_cast<const std::byte*>(huge.data()),
                                        huge.size());
  EXPECT_EQ(decoder->frame(huge_bytes, 10, false), huge.size() - 3);
}

TEST(BinaryDecoder, IgnoresFieldsWithoutSlots) {
  Schema schema = sensor_schema();
  std::string bytes = encode_rows(Format::binary, schema, sensor_rows(5));
  auto decoder = make_decoder(Format::binary, schema);
  std::vector<SlotSpec> slots = {{DataType::float64, false}};
  std::vector<int> field_slots = {-1, -1, -1, -1, 0, -1, -1};
  EventBatch batch(slots, 16, page_aligned_memory());
  StringDictionary strings;
  std::vector<DeadLetter> dead;
  DecodeTarget target{&batch, &field_slots, &strings, &dead, 0};
  DecodeCursor cursor;
  std::span<const std::byte> chunk(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
  decoder->decode(chunk, 0, cursor, target);
  EXPECT_TRUE(cursor.done(chunk.size()));
  ASSERT_EQ(batch.size(), 5u);
  auto rows = sensor_rows(5);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(batch.column(0).data<double>()[i], std::get<double>(rows[i][4]));
  }
}

// The worked example of docs/formats.md, byte for byte.
TEST(BinaryDecoder, MatchesTheDocumentedExample) {
  Schema schema = sensor_schema();
  std::vector<FieldValue> row = testing::documented_example_row();
  std::string bytes = encode_rows(Format::binary, schema, {row});
  static const char* const kHex =
      "4c 44 48 46 01 00 18 00 22 0a 9f 6c 01 00 00 00 30 00 00 00 00 00 00 00 "
      "7b 5e 56 ee a1 01 00 00 2a 00 00 00 6c 61 62 2d 31 00 00 00 00 00 00 00 "
      "74 65 6d 70 00 00 00 00 00 00 00 00 00 80 35 40 00 00 21 42 00 60 7d 44";
  std::string hex;
  for (unsigned char c : bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    if (!hex.empty()) hex += ' ';
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  EXPECT_EQ(hex, kHex);
  EXPECT_EQ(schema.id, 0x6c9f0a22u);
  auto decoded = decode_stream(Format::binary, schema, bytes);
  ASSERT_EQ(decoded.rows.size(), 1u);
  EXPECT_EQ(decoded.rows[0], testing::expected_row(schema, row));
}

}  // namespace
}  // namespace ldh
