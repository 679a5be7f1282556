#include <gtest/gtest.h>

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include <cmath>
#include <limits>

#include "decoder_test_support.h"
#include "ingest/protobuf_decoder.h"
#include "ingest/protobuf_wire.h"
#include "ingest/sensor_schema.h"
#include "pipeline/proto_schema.h"

namespace ldh {
namespace {

namespace protobuf = google::protobuf;
using testing::decode_stream;
using testing::encode_rows;
using testing::expected_rows;
using testing::Row;
using testing::sensor_rows;
using testing::StreamOptions;

const std::string kSensorsProto = std::string(LDH_SOURCE_DIR) + "/proto/sensors.proto";
const std::string kTestProtos = std::string(LDH_SOURCE_DIR) + "/tests/data/proto";

class NoErrors final : public protobuf::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& file, int line, int, const std::string& message) override {
    ADD_FAILURE() << file << ":" << line << ": " << message;
  }
};

/// Loads proto/sensors.proto with libprotobuf's own importer, to build messages independently
/// of ldh's encoder.
class SensorMessages {
 public:
  SensorMessages() : importer_(&tree_, &errors_) {
    tree_.MapPath("", std::string(LDH_SOURCE_DIR) + "/proto");
    const protobuf::FileDescriptor* file = importer_.Import("sensors.proto");
    EXPECT_NE(file, nullptr);
    descriptor_ = file->FindMessageTypeByName("SensorReading");
  }

  std::unique_ptr<protobuf::Message> make() const {
    return std::unique_ptr<protobuf::Message>(factory_.GetPrototype(descriptor_)->New());
  }

  /// Fills a message from a sensor row (timestamp in ns -> ms).
  std::unique_ptr<protobuf::Message> from_row(const std::vector<FieldValue>& row) const {
    auto message = make();
    const protobuf::Reflection* reflection = message->GetReflection();
    auto field = [&](const char* name) { return descriptor_->FindFieldByName(name); };
    reflection->SetInt64(message.get(), field("timestamp"),
                         std::get<std::int64_t>(row[0]) / 1'000'000);
    reflection->SetInt32(message.get(), field("sensor_id"),
                         static_cast<std::int32_t>(std::get<std::int64_t>(row[1])));
    reflection->SetString(message.get(), field("location"), std::get<std::string>(row[2]));
    reflection->SetString(message.get(), field("type"), std::get<std::string>(row[3]));
    reflection->SetDouble(message.get(), field("temperature"), std::get<double>(row[4]));
    reflection->SetFloat(message.get(), field("humidity"),
                         static_cast<float>(std::get<double>(row[5])));
    reflection->SetFloat(message.get(), field("pressure"),
                         static_cast<float>(std::get<double>(row[6])));
    return message;
  }

  const protobuf::Descriptor* descriptor() const { return descriptor_; }

 private:
  protobuf::compiler::DiskSourceTree tree_;
  NoErrors errors_;
  protobuf::compiler::Importer importer_;
  const protobuf::Descriptor* descriptor_ = nullptr;
  mutable protobuf::DynamicMessageFactory factory_;
};

void append_delimited(std::string& out, const std::string& body) {
  append_varint(out, body.size());
  out += body;
}

Field make_field(std::string name, DataType type, ProtoType proto, std::uint32_t number) {
  Field field;
  field.name = std::move(name);
  field.type = type;
  field.proto_type = proto;
  field.proto_number = number;
  return field;
}

TEST(ProtobufDecoder, RoundTripsSensorRecords) {
  testing::expect_sensor_round_trip(Format::protobuf, 3000, {61}, 41);
}

TEST(ProtobufDecoder, ReadsMessagesEncodedByLibprotobuf) {
  SensorMessages messages;
  Schema schema = schema_from_proto(kSensorsProto, "SensorReading");
  // The config would make `timestamp` the event time; here it stays the int64 of the .proto.
  auto rows = sensor_rows(50);
  std::string bytes;
  std::vector<Row> expected;
  for (const auto& row : rows) {
    auto message = messages.from_row(row);
    append_delimited(bytes, message->SerializeAsString());
    Row want = testing::expected_row(schema, {std::get<std::int64_t>(row[0]) / 1'000'000, row[1],
                                              row[2], row[3], row[4], row[5], row[6]});
    expected.push_back(want);
  }
  auto decoded = decode_stream(Format::protobuf, schema, bytes, {.capacity = 7});
  EXPECT_TRUE(decoded.dead_letters.empty());
  EXPECT_EQ(decoded.rows, expected);
}

TEST(ProtobufDecoder, SkipsUnknownFieldsAndReadsFieldsInAnyOrder) {
  SensorMessages messages;
  Schema schema = sensor_schema();
  auto rows = sensor_rows(3);
  std::string bytes;
  for (const auto& row : rows) {
    auto full = messages.from_row(row);
    // Second half of the fields first, then unknown fields of every wire type, then the rest.
    auto late = messages.make();
    auto early = messages.make();
    const protobuf::Reflection* reflection = full->GetReflection();
    std::vector<const protobuf::FieldDescriptor*> fields;
    reflection->ListFields(*full, &fields);
    late->CopyFrom(*full);
    early->CopyFrom(*full);
    for (const auto* field : fields) {
      if (field->number() <= 3) late->GetReflection()->ClearField(late.get(), field);
      if (field->number() > 3) early->GetReflection()->ClearField(early.get(), field);
    }
    protobuf::UnknownFieldSet* unknown = late->GetReflection()->MutableUnknownFields(late.get());
    unknown->AddVarint(100, std::uint64_t{1} << 40);
    unknown->AddFixed32(101, 7);
    unknown->AddFixed64(102, 9);
    unknown->AddLengthDelimited(103, "ignored \xff bytes");
    std::string body = late->SerializeAsString() + early->SerializeAsString();
    auto check = messages.make();
    ASSERT_TRUE(check->ParseFromString(body));
    EXPECT_EQ(check->GetReflection()->GetString(*check,
                                                messages.descriptor()->FindFieldByName("location")),
              std::get<std::string>(row[2]));
    append_delimited(bytes, body);
  }
  auto decoded = decode_stream(Format::protobuf, schema, bytes);
  EXPECT_TRUE(decoded.dead_letters.empty());
  EXPECT_EQ(decoded.rows, expected_rows(schema, rows));
}

TEST(ProtobufDecoder, LastOccurrenceWinsAndAbsentFieldsTakeDefaults) {
  SensorMessages messages;
  Schema schema = sensor_schema();
  auto first = messages.make();
  auto second = messages.make();
  const auto* temperature = messages.descriptor()->FindFieldByName("temperature");
  first->GetReflection()->SetDouble(first.get(), temperature, 1.5);
  second->GetReflection()->SetDouble(second.get(), temperature, 2.5);
  std::string bytes;
  append_delimited(bytes, first->SerializeAsString() + second->SerializeAsString());
  append_delimited(bytes, "");  // an empty message: every field at its default
  auto decoded = decode_stream(Format::protobuf, schema, bytes);
  EXPECT_TRUE(decoded.dead_letters.empty());
  EXPECT_EQ(decoded.rows, (std::vector<Row>{{"0", "0", "", "", "2.5", "0", "0"},
                                            {"0", "0", "", "", "0", "0", "0"}}));
}

Schema every_proto_type_schema() {
  Schema schema;
  std::uint32_t number = 1;
  auto add = [&](const char* name, DataType type, ProtoType proto) {
    schema.fields.push_back(make_field(name, type, proto, number++));
  };
  add("i32", DataType::int32, ProtoType::int32);
  add("i64", DataType::int64, ProtoType::int64);
  add("u32", DataType::int64, ProtoType::uint32);
  add("u64", DataType::int64, ProtoType::uint64);
  add("s32", DataType::int32, ProtoType::sint32);
  add("s64", DataType::int64, ProtoType::sint64);
  add("x32", DataType::int64, ProtoType::fixed32);
  add("x64", DataType::int64, ProtoType::fixed64);
  add("sx32", DataType::int32, ProtoType::sfixed32);
  add("sx64", DataType::int64, ProtoType::sfixed64);
  add("real32", DataType::float32, ProtoType::float32);
  add("real64", DataType::float64, ProtoType::float64);
  add("flag", DataType::boolean, ProtoType::boolean);
  add("text", DataType::string, ProtoType::string);
  add("ms", DataType::timestamp, ProtoType::by_type);
  add("iso", DataType::timestamp, ProtoType::by_type);
  schema.fields.back().time_unit = TimeUnit::iso8601;
  add("opt", DataType::float64, ProtoType::by_type);
  schema.fields.back().required = false;
  schema.fields.back().proto_number = 1000;  // a sparse number
  schema.id = schema.layout_id();
  return schema;
}

TEST(ProtobufDecoder, RoundTripsEveryProtoType) {
  Schema schema = every_proto_type_schema();
  using Limits32 = std::numeric_limits<std::int32_t>;
  using Limits64 = std::numeric_limits<std::int64_t>;
  std::vector<std::vector<FieldValue>> rows = {
      {std::int64_t{-1}, std::int64_t{-1}, std::int64_t{4294967295}, Limits64::max(),
       std::int64_t{Limits32::min()}, Limits64::min(), std::int64_t{4294967295}, Limits64::max(),
       std::int64_t{Limits32::min()}, Limits64::min(), 1e-45, 5e-324, true, std::string("é😀"),
       std::int64_t{-5'000'000}, std::int64_t{1'795'000'000'000'000'001}, 0.0},
      {std::int64_t{Limits32::max()}, Limits64::min(), std::int64_t{0}, std::int64_t{0},
       std::int64_t{Limits32::max()}, Limits64::max(), std::int64_t{0}, std::int64_t{0},
       std::int64_t{Limits32::max()}, Limits64::max(), -0.0,
       -std::numeric_limits<double>::infinity(), false, std::string(""), std::int64_t{0},
       std::int64_t{0}, std::monostate{}},
      {std::int64_t{0}, std::int64_t{0}, std::int64_t{0}, std::int64_t{0}, std::int64_t{0},
       std::int64_t{0}, std::int64_t{0}, std::int64_t{0}, std::int64_t{0}, std::int64_t{0}, 0.0,
       0.0, false, std::string("x"), std::int64_t{0}, std::int64_t{-1}, -2.0},
  };
  std::string bytes = encode_rows(Format::protobuf, schema, rows);
  auto decoded = decode_stream(Format::protobuf, schema, bytes, {.capacity = 2});
  EXPECT_TRUE(decoded.dead_letters.empty());
  EXPECT_EQ(decoded.rows, expected_rows(schema, rows));
}

/// Builds one delimited message from raw body bytes.
std::string message(std::string_view body) {
  std::string out;
  append_delimited(out, std::string(body));
  return out;
}

std::string tag(std::uint32_t number, WireType wire) {
  std::string out;
  append_varint(out, std::uint64_t{number} << 3 | static_cast<std::uint64_t>(wire));
  return out;
}

std::string varint(std::uint64_t value) {
  std::string out;
  append_varint(out, value);
  return out;
}

TEST(ProtobufDecoder, DeadLettersEveryKindWithOffsets) {
  Schema schema;
  schema.fields.push_back(make_field("id", DataType::int32, ProtoType::int64, 1));
  schema.fields.push_back(make_field("name", DataType::string, ProtoType::by_type, 2));
  schema.fields.push_back(make_field("value", DataType::float32, ProtoType::float64, 3));
  schema.fields.push_back(make_field("big", DataType::int64, ProtoType::uint64, 4));
  schema.fields.push_back(make_field("at", DataType::timestamp, ProtoType::by_type, 5));
  schema.fields.back().time_unit = TimeUnit::s;
  schema.id = schema.layout_id();
  const std::string nan("\x00\x00\x00\x00\x00\x00\xf8\x7f", 8);
  const std::string huge_double("\x00\x00\x00\x00\x00\x00\xf0\x47", 8);  // 2^128
  struct Bad {
    std::string body;
    DeadLetterReason reason;
    std::string detail;
  };
  std::vector<Bad> bad = {
      {tag(1, WireType::fixed32) + "abcd", DeadLetterReason::wrong_type,
       "field 'id': expected wire type 0 (varint), got 5 (32-bit)"},
      {tag(2, WireType::varint) + varint(1), DeadLetterReason::wrong_type, ""},
      {tag(1, WireType::varint) + std::string(10, '\xff') + "\x01", DeadLetterReason::bad_varint,
       "field 'id': bad varint"},
      {std::string(11, '\x80'), DeadLetterReason::bad_varint, "bad varint in a field tag"},
      {tag(9, WireType::varint) + "\xff", DeadLetterReason::bad_varint, ""},
      {tag(9, WireType::start_group), DeadLetterReason::malformed,
       "unknown field 9: groups are not supported"},
      {tag(9, WireType::end_group), DeadLetterReason::malformed, ""},
      {tag(9, static_cast<WireType>(7)), DeadLetterReason::malformed, ""},
      {std::string("\x00", 1), DeadLetterReason::malformed, "invalid field number 0"},
      {tag(2, WireType::length_delimited) + varint(50) + "short", DeadLetterReason::malformed,
       "field 'name' runs past the end of the message"},
      {tag(9, WireType::fixed64) + "abc", DeadLetterReason::malformed, ""},
      {tag(2, WireType::length_delimited) + varint(2) + "\xc3\x28", DeadLetterReason::invalid_utf8,
       "field 'name': invalid UTF-8"},
      {tag(3, WireType::fixed64) + nan, DeadLetterReason::not_a_number,
       "field 'value': NaN is not allowed"},
      {tag(3, WireType::fixed64) + huge_double, DeadLetterReason::out_of_range, ""},
      {tag(1, WireType::varint) + varint(1ull << 31), DeadLetterReason::out_of_range,
       "field 'id': 2147483648 is out of range for int32"},
      {tag(4, WireType::varint) + varint(1ull << 63), DeadLetterReason::out_of_range, ""},
      {tag(5, WireType::varint) + varint(1ull << 40), DeadLetterReason::out_of_range, ""},
  };
  std::string good = message(tag(1, WireType::varint) + varint(42));
  std::string stream = good;
  std::vector<std::size_t> offsets;
  for (const auto& entry : bad) {
    offsets.push_back(stream.size());
    stream += message(entry.body);
    stream += good;
  }
  std::size_t cut = stream.size();
  stream += message(tag(2, WireType::length_delimited) + varint(3) + "abc").substr(0, 4);
  for (std::size_t capacity : {1, 2, 3, 100}) {
    StreamOptions options;
    options.capacity = capacity;
    options.stream_offset = 11;
    options.chunk_records = 4;
    auto decoded = decode_stream(Format::protobuf, schema, stream, options);
    EXPECT_EQ(decoded.rows.size(), bad.size() + 1);
    ASSERT_EQ(decoded.dead_letters.size(), bad.size() + 1);
    for (std::size_t i = 0; i < bad.size(); ++i) {
      const DeadLetter& dead = decoded.dead_letters[i];
      EXPECT_EQ(dead.reason, bad[i].reason) << i << ": " << dead.detail;
      EXPECT_EQ(dead.offset, 11 + offsets[i]) << i;
      EXPECT_EQ(dead.record, message(bad[i].body)) << i;
      if (!bad[i].detail.empty()) {
        EXPECT_EQ(dead.detail, bad[i].detail) << i;
      }
    }
    EXPECT_EQ(decoded.dead_letters.back().reason, DeadLetterReason::truncated);
    EXPECT_EQ(decoded.dead_letters.back().offset, 11 + cut);
  }
}

TEST(ProtobufDecoder, BrokenLengthPrefixDeadLettersTheRestOnce) {
  Schema schema = sensor_schema();
  auto rows = sensor_rows(4);
  std::string good = encode_rows(Format::protobuf, schema, rows);
  for (bool too_long : {false, true}) {
    std::string stream = good;
    std::size_t broken = stream.size();
    if (too_long) {
      stream += std::string(12, '\xff');
    } else {
      append_varint(stream, kMaxRecordBytes + 1);
    }
    stream += good;  // unreachable: the framing is lost
    for (std::size_t block : {std::size_t{30}, stream.size()}) {
      auto decoded = decode_stream(Format::protobuf, schema, stream, {.block = block});
      EXPECT_EQ(decoded.rows, expected_rows(schema, rows));
      ASSERT_EQ(decoded.dead_letters.size(), 1u) << "block " << block;
      EXPECT_EQ(decoded.dead_letters[0].offset, broken);
      EXPECT_EQ(decoded.dead_letters[0].reason,
                too_long ? DeadLetterReason::bad_varint : DeadLetterReason::malformed);
    }
  }
}

TEST(ProtobufDecoder, OptionalFieldsAreNullWhenAbsent) {
  Schema schema;
  schema.fields.push_back(make_field("a", DataType::int32, ProtoType::by_type, 1));
  schema.fields.push_back(make_field("b", DataType::string, ProtoType::by_type, 2));
  schema.fields.back().required = false;
  schema.fields.push_back(make_field("c", DataType::int64, ProtoType::by_type, 3));
  schema.fields.back().required = false;
  std::vector<std::vector<FieldValue>> rows = {
      {std::int64_t{1}, std::monostate{}, std::int64_t{0}},
      {std::int64_t{0}, std::string(""), std::monostate{}},
  };
  auto decoded =
      decode_stream(Format::protobuf, schema, encode_rows(Format::protobuf, schema, rows));
  EXPECT_EQ(decoded.rows, (std::vector<Row>{{"1", "<null>", "0"}, {"0", "", "<null>"}}));
}

TEST(ProtobufDecoder, EncoderMalformedKindsGiveTheirReasons) {
  Schema schema = sensor_schema();
  auto rows = sensor_rows(3);
  auto encoder = make_encoder(Format::protobuf, schema);
  std::string bytes;
  for (std::uint64_t choice = 0; choice < 3; ++choice)
    encoder->append_malformed(rows[choice], choice, bytes);
  auto decoded = decode_stream(Format::protobuf, schema, bytes);
  EXPECT_TRUE(decoded.rows.empty());
  ASSERT_EQ(decoded.dead_letters.size(), 3u);
  EXPECT_EQ(decoded.dead_letters[0].reason, DeadLetterReason::wrong_type);
  EXPECT_EQ(decoded.dead_letters[1].reason, DeadLetterReason::bad_varint);
  EXPECT_EQ(decoded.dead_letters[2].reason, DeadLetterReason::invalid_utf8);
}

TEST(ProtobufDecoder, FrameNeverSplitsAMessage) {
  Schema schema = sensor_schema();
  std::string bytes = encode_rows(Format::protobuf, schema, sensor_rows(3));
  auto decoder = make_decoder(Format::protobuf, schema);
  std::size_t first = 1 + static_cast<unsigned char>(bytes[0]);
  auto span = [&](std::size_t size) {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), size);
  };
  EXPECT_EQ(decoder->frame(span(0), 10, false), 0u);
  EXPECT_EQ(decoder->frame(span(first - 1), 10, false), 0u);
  EXPECT_EQ(decoder->frame(span(first), 10, false), first);
  EXPECT_EQ(decoder->frame(span(first + 1), 10, false), first);
  EXPECT_EQ(decoder->frame(span(bytes.size()), 1, false), first);
  EXPECT_EQ(decoder->frame(span(bytes.size()), 10, false), bytes.size());
  EXPECT_EQ(decoder->frame(span(first - 1), 10, true), first - 1);
}

// The worked example of docs/formats.md, byte for byte, as libprotobuf writes it.
TEST(ProtobufDecoder, MatchesTheDocumentedExample) {
  Schema schema = sensor_schema();
  std::vector<FieldValue> row = testing::documented_example_row();
  std::string bytes = encode_rows(Format::protobuf, schema, {row});
  const std::string expected(
      "\x29\x08\xfb\xbc\xd9\xf2\x9e\x34\x10\x2a\x1a\x05lab-1\x22\x04temp"
      "\x29\x00\x00\x00\x00\x00\x80\x35\x40\x35\x00\x00\x21\x42\x3d\x00\x60\x7d\x44",
      42);
  EXPECT_EQ(bytes, expected);
  auto decoded = decode_stream(Format::protobuf, schema, bytes);
  ASSERT_EQ(decoded.rows.size(), 1u);
  EXPECT_EQ(decoded.rows[0], testing::expected_row(schema, row));
}

TEST(ProtobufDecoder, RejectsSchemasItCannotRead) {
  Schema schema;
  schema.fields.push_back(make_field("a", DataType::string, ProtoType::int32, 1));
  EXPECT_THROW(make_decoder(Format::protobuf, schema), UserError);
  schema.fields[0] = make_field("a", DataType::int32, ProtoType::by_type, 1);
  schema.fields.push_back(make_field("b", DataType::int32, ProtoType::by_type, 1));
  EXPECT_THROW(make_decoder(Format::protobuf, schema), UserError);
}

TEST(ProtoSchema, LoadsTheSensorMessage) {
  Schema schema = schema_from_proto(kSensorsProto, "ldh.examples.SensorReading");
  ASSERT_EQ(schema.fields.size(), 7u);
  EXPECT_EQ(schema.fields[0].name, "timestamp");
  EXPECT_EQ(schema.fields[0].type, DataType::int64);
  EXPECT_EQ(schema.fields[2].type, DataType::string);
  EXPECT_EQ(schema.fields[5].type, DataType::float32);
  EXPECT_EQ(schema.fields[6].proto_number, 7u);
  EXPECT_EQ(schema.fields[1].where.line, 9);
  EXPECT_EQ(schema.event_time, -1);
  EXPECT_EQ(schema.id, schema.layout_id());
}

TEST(ProtoSchema, MapsEveryScalarTypeAndSkipsTheRest) {
  Schema schema = schema_from_proto(kTestProtos + "/every_type.proto", "Everything");
  std::vector<std::string> names;
  for (const auto& field : schema.fields) names.push_back(field.name);
  EXPECT_EQ(names, (std::vector<std::string>{"i32", "i64", "u32", "u64", "s32", "s64", "f32", "f64",
                                             "sf32", "sf64", "real32", "real64", "flag", "text",
                                             "mood", "maybe", "left", "right"}));
  auto field = [&](const char* name) {
    return schema.fields[static_cast<std::size_t>(schema.find(name))];
  };
  EXPECT_EQ(field("u32").type, DataType::int64);
  EXPECT_EQ(field("u32").proto_type, ProtoType::uint32);
  EXPECT_EQ(field("s64").proto_type, ProtoType::sint64);
  EXPECT_EQ(field("f32").type, DataType::int64);
  EXPECT_EQ(field("sf32").type, DataType::int32);
  EXPECT_EQ(field("mood").type, DataType::int32);
  EXPECT_TRUE(field("i32").required);
  EXPECT_FALSE(field("maybe").required);
  EXPECT_FALSE(field("left").required);
  EXPECT_EQ(field("right").proto_number, 22u);
}

TEST(ProtoSchema, ReportsErrorsWithPositions) {
  try {
    schema_from_proto(kTestProtos + "/broken.proto", "Broken");
    FAIL() << "expected a UserError";
  } catch (const UserError& error) {
    std::string text = error.what();
    EXPECT_NE(text.find("broken.proto:6:"), std::string::npos) << text;
  }
  EXPECT_THROW(schema_from_proto(kSensorsProto, "NoSuchMessage"), UserError);
  EXPECT_THROW(schema_from_proto(kTestProtos + "/missing.proto", "X"), UserError);
}

}  // namespace
}  // namespace ldh
