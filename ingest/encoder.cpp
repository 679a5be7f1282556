#include "ingest/encoder.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>

#include <charconv>
#include <cstring>
#include <limits>
#include <vector>

#include "ingest/binary_frame.h"
#include "ingest/protobuf_decoder.h"
#include "ingest/protobuf_wire.h"
#include "pipeline/error.h"
#include "pipeline/json_writer.h"
#include "pipeline/time.h"

namespace ldh {

namespace {

std::int64_t as_integer(const FieldValue& value) {
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return *integer;
  if (const auto* real = std::get_if<double>(&value)) {
    if (!(*real >= -9223372036854775808.0 && *real < 9223372036854775808.0)) {
      return *real < 0 ? std::numeric_limits<std::int64_t>::min()
                       : std::numeric_limits<std::int64_t>::max();
    }
    return static_cast<std::int64_t>(*real);
  }
  if (const auto* flag = std::get_if<bool>(&value)) return *flag ? 1 : 0;
  if (const auto* text = std::get_if<std::string>(&value)) {
    if (auto nanoseconds = parse_iso8601(*text)) return *nanoseconds;
  }
  LDH_EXPECTS(false, "a value of another kind than its field");
  return 0;
}

double as_real(const FieldValue& value) {
  if (const auto* real = std::get_if<double>(&value)) return *real;
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    return static_cast<double>(*integer);
  }
  if (const auto* flag = std::get_if<bool>(&value)) return *flag ? 1.0 : 0.0;
  LDH_EXPECTS(false, "a value of another kind than its field");
  return 0;
}

bool as_flag(const FieldValue& value) {
  if (const auto* flag = std::get_if<bool>(&value)) return *flag;
  return as_integer(value) != 0;
}

const std::string& as_text(const FieldValue& value) {
  const auto* text = std::get_if<std::string>(&value);
  LDH_EXPECTS(text != nullptr, "a string field needs a string value");
  return *text;
}

/// Converts nanoseconds since the epoch to a count of `unit`, rounding toward minus infinity.
std::int64_t to_unit(std::int64_t nanoseconds, TimeUnit unit) {
  std::int64_t per = nanoseconds_per(unit);
  if (per <= 1) return nanoseconds;
  std::int64_t count = nanoseconds / per;
  if (nanoseconds % per < 0) --count;
  return count;
}

/// Formats nanoseconds as ISO-8601 with as few fraction digits (0, 3, 6, 9) as keep it exact.
std::string iso_text(std::int64_t nanoseconds) {
  std::int64_t fraction = nanoseconds % 1'000'000'000;
  int digits = fraction == 0 ? 0 : fraction % 1'000'000 == 0 ? 3 : fraction % 1'000 == 0 ? 6 : 9;
  return format_iso8601(nanoseconds, digits);
}

/// Picks the index of the `choice`-th entry of `candidates` (cyclically).
std::size_t pick(const std::vector<std::size_t>& candidates, std::uint64_t choice) {
  return candidates[static_cast<std::size_t>(choice % candidates.size())];
}

bool is_nan_checked_float(const Field& field) {
  return (field.type == DataType::float32 || field.type == DataType::float64) && !field.allow_nan;
}

// ---------------------------------------------------------------------------------------------
// JSON lines

/// Quotes and escapes `text` like ldh::append_json_string, but keeps every byte as it is, so a
/// deliberately malformed record can carry invalid UTF-8 to the decoder.
void append_raw_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (byte < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

template <typename T>
void append_real(std::string& out, T value) {
  if (value != value) {
    out += "NaN";
  } else if (value - value != 0) {
    out += value < 0 ? "-Infinity" : "Infinity";
  } else {
    append_shortest(out, value);
  }
}

void append_integer(std::string& out, std::int64_t value) {
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

class JsonEncoder final : public Encoder {
 public:
  explicit JsonEncoder(const Schema& schema) : schema_(schema) {
    for (const Field& field : schema_.fields) {
      std::string key;
      append_raw_json_string(key, field.name);
      key += ':';
      keys_.push_back(std::move(key));
    }
  }

  void append(std::span<const FieldValue> row, std::string& out) override {
    append_object(row, out, kNone, kNone);
    out += '\n';
  }

  void append_malformed(std::span<const FieldValue> row, std::uint64_t choice,
                        std::string& out) override {
    std::vector<std::size_t> all;
    std::vector<std::size_t> required;
    std::vector<std::size_t> strings;
    for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
      all.push_back(i);
      if (schema_.fields[i].required) required.push_back(i);
      if (schema_.fields[i].type == DataType::string) strings.push_back(i);
    }
    std::uint64_t kind = choice % 5;
    std::uint64_t which = choice / 5;
    if (kind == 1 && required.empty()) kind = 0;
    switch (kind) {
      case 0:
        append_object(row, out, pick(all, which), kNone);
        break;
      case 1:
        append_object(row, out, kNone, pick(required, which));
        break;
      case 2: {
        std::string line;
        append_object(row, line, kNone, kNone);
        // Cut at an ASCII byte, so the line stays valid UTF-8 and is only incomplete.
        std::size_t cut = line.size() / 2;
        while (cut > 1 && static_cast<unsigned char>(line[cut]) >= 0x80) --cut;
        out.append(line, 0, cut);
        break;
      }
      case 3:
        if (strings.empty()) {
          out += "{\"\xff\":0,";
          std::string line;
          append_object(row, line, kNone, kNone);
          out.append(line, 1);
        } else {
          invalid_utf8_field_ = pick(strings, which);
          append_object(row, out, kNone, kNone);
          invalid_utf8_field_ = kNone;
        }
        break;
      default:
        out += "this is not JSON";
        break;
    }
    out += '\n';
  }

  void flush(std::string&) override {}

 private:
  static constexpr std::size_t kNone = ~std::size_t{0};

  /// Writes the object of `row`; `wrong_field` gets a value of the wrong JSON type and
  /// `omitted_field` is left out, for malformed records.
  void append_object(std::span<const FieldValue> row, std::string& out, std::size_t wrong_field,
                     std::size_t omitted_field) {
    LDH_EXPECTS(row.size() == schema_.fields.size(), "row and schema differ in length");
    out += '{';
    bool first = true;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i == omitted_field) continue;
      const FieldValue& value = row[i];
      if (std::holds_alternative<std::monostate>(value) && i != wrong_field) continue;
      if (!first) out += ',';
      first = false;
      out += keys_[i];
      const Field& field = schema_.fields[i];
      if (i == wrong_field) {
        bool wants_text =
            field.type == DataType::string || field.type == DataType::boolean ||
            (field.type == DataType::timestamp && field.time_unit == TimeUnit::iso8601);
        out += wants_text ? "12345" : "\"not a number\"";
        continue;
      }
      append_value(field, value, out);
      if (i == invalid_utf8_field_) {
        out.pop_back();
        out += "\xff\"";
      }
    }
    out += '}';
  }

  static void append_value(const Field& field, const FieldValue& value, std::string& out) {
    switch (field.type) {
      case DataType::int32:
      case DataType::int64:
        append_integer(out, as_integer(value));
        break;
      case DataType::float32:
        append_real(out, static_cast<float>(as_real(value)));
        break;
      case DataType::float64:
        append_real(out, as_real(value));
        break;
      case DataType::boolean:
        out += as_flag(value) ? "true" : "false";
        break;
      case DataType::string:
        append_raw_json_string(out, as_text(value));
        break;
      case DataType::timestamp:
        if (field.time_unit == TimeUnit::iso8601) {
          append_raw_json_string(out, iso_text(as_integer(value)));
        } else {
          append_integer(out, to_unit(as_integer(value), field.time_unit));
        }
        break;
    }
  }

  Schema schema_;
  std::vector<std::string> keys_;
  std::size_t invalid_utf8_field_ = kNone;
};

// ---------------------------------------------------------------------------------------------
// Binary frames

template <typename T>
void put_le(char* out, T value) {
  std::memcpy(out, &value, sizeof(T));  // ldh only builds for little-endian hosts
}

class BinaryEncoder final : public Encoder {
 public:
  BinaryEncoder(const Schema& schema, std::uint32_t frame_records)
      : schema_(schema),
        frame_records_(frame_records == 0 ? 1 : frame_records),
        record_size_(schema.binary_record_size()) {}

  void append(std::span<const FieldValue> row, std::string& out) override {
    std::size_t at = pending_.size();
    pending_.resize(at + record_size_);
    write_record(row, pending_.data() + at);
    close_if_full(out);
  }

  void append_malformed(std::span<const FieldValue> row, std::uint64_t choice,
                        std::string& out) override {
    enum Kind { nan_float, bad_utf8, bad_bool };
    std::vector<std::size_t> floats;
    std::vector<std::size_t> strings;
    std::vector<std::size_t> flags;
    for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
      const Field& field = schema_.fields[i];
      if (is_nan_checked_float(field)) floats.push_back(i);
      if (field.type == DataType::string && field.binary_size > 0) strings.push_back(i);
      if (field.type == DataType::boolean) flags.push_back(i);
    }
    std::vector<Kind> kinds;
    if (!floats.empty()) kinds.push_back(nan_float);
    if (!strings.empty()) kinds.push_back(bad_utf8);
    if (!flags.empty()) kinds.push_back(bad_bool);
    if (kinds.empty()) {
      append_foreign_frame(row, out);
      return;
    }
    Kind kind = kinds[static_cast<std::size_t>(choice % kinds.size())];
    std::uint64_t which = choice / kinds.size();
    std::size_t at = pending_.size();
    pending_.resize(at + record_size_);
    char* record = pending_.data() + at;
    write_record(row, record);
    switch (kind) {
      case nan_float: {
        std::size_t index = pick(floats, which);
        char* slot = record + schema_.binary_offset(index);
        if (schema_.fields[index].type == DataType::float32) {
          put_le(slot, std::numeric_limits<float>::quiet_NaN());
        } else {
          put_le(slot, std::numeric_limits<double>::quiet_NaN());
        }
        break;
      }
      case bad_utf8:
        record[schema_.binary_offset(pick(strings, which))] = '\xff';
        break;
      case bad_bool:
        record[schema_.binary_offset(pick(flags, which))] = 7;
        break;
    }
    close_if_full(out);
  }

  void flush(std::string& out) override {
    if (pending_.empty()) return;
    FrameHeader header;
    header.schema_id = schema_.id;
    header.record_count = static_cast<std::uint32_t>(pending_.size() / record_size_);
    header.record_size = static_cast<std::uint32_t>(record_size_);
    append_frame_header(out, header);
    out += pending_;
    pending_.clear();
  }

 private:
  void close_if_full(std::string& out) {
    if (pending_.size() / record_size_ >= frame_records_) flush(out);
  }

  /// Writes a one-record frame under another schema id, for schemas without a field a bad
  /// value can hide in (only integers): the whole frame is then a schema mismatch.
  void append_foreign_frame(std::span<const FieldValue> row, std::string& out) {
    flush(out);
    FrameHeader header;
    header.schema_id = ~schema_.id;
    header.record_count = 1;
    header.record_size = static_cast<std::uint32_t>(record_size_);
    append_frame_header(out, header);
    std::size_t at = out.size();
    out.resize(at + record_size_);
    write_record(row, out.data() + at);
  }

  void write_record(std::span<const FieldValue> row, char* record) const {
    LDH_EXPECTS(row.size() == schema_.fields.size(), "row and schema differ in length");
    std::memset(record, 0, record_size_);
    char* p = record;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const Field& field = schema_.fields[i];
      const FieldValue& value = row[i];
      std::size_t width = binary_width(field);
      if (!std::holds_alternative<std::monostate>(value)) {
        switch (field.type) {
          case DataType::int32:
            put_le(p, static_cast<std::int32_t>(as_integer(value)));
            break;
          case DataType::int64:
            put_le(p, as_integer(value));
            break;
          case DataType::float32:
            put_le(p, static_cast<float>(as_real(value)));
            break;
          case DataType::float64:
            put_le(p, as_real(value));
            break;
          case DataType::boolean:
            *p = as_flag(value) ? 1 : 0;
            break;
          case DataType::timestamp:
            put_le(p, to_unit(as_integer(value), field.time_unit));
            break;
          case DataType::string: {
            const std::string& text = as_text(value);
            std::size_t length = std::min(text.size(), width);
            // Never cut inside a UTF-8 sequence.
            if (length < text.size()) {
              while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xc0) == 0x80) {
                --length;
              }
            }
            std::memcpy(p, text.data(), length);
            break;
          }
        }
      }
      p += width;
    }
  }

  Schema schema_;
  std::size_t frame_records_;
  std::size_t record_size_;
  std::string pending_;
};

// ---------------------------------------------------------------------------------------------
// Protobuf, serialised by libprotobuf itself

namespace protobuf = google::protobuf;

protobuf::FieldDescriptorProto::Type descriptor_type(ProtoType type) {
  using Proto = protobuf::FieldDescriptorProto;
  switch (type) {
    case ProtoType::int32:
      return Proto::TYPE_INT32;
    case ProtoType::int64:
      return Proto::TYPE_INT64;
    case ProtoType::uint32:
      return Proto::TYPE_UINT32;
    case ProtoType::uint64:
      return Proto::TYPE_UINT64;
    case ProtoType::sint32:
      return Proto::TYPE_SINT32;
    case ProtoType::sint64:
      return Proto::TYPE_SINT64;
    case ProtoType::fixed32:
      return Proto::TYPE_FIXED32;
    case ProtoType::fixed64:
      return Proto::TYPE_FIXED64;
    case ProtoType::sfixed32:
      return Proto::TYPE_SFIXED32;
    case ProtoType::sfixed64:
      return Proto::TYPE_SFIXED64;
    case ProtoType::float32:
      return Proto::TYPE_FLOAT;
    case ProtoType::float64:
      return Proto::TYPE_DOUBLE;
    case ProtoType::boolean:
      return Proto::TYPE_BOOL;
    case ProtoType::string:
    case ProtoType::by_type:
      return Proto::TYPE_STRING;
  }
  return Proto::TYPE_STRING;
}

class ProtobufEncoder final : public Encoder {
 public:
  explicit ProtobufEncoder(const Schema& schema) : schema_(schema) {
    protobuf::FileDescriptorProto file;
    file.set_name("ldh_encoder.proto");
    file.set_package("ldh.encoder");
    file.set_syntax("proto3");
    protobuf::DescriptorProto* message = file.add_message_type();
    message->set_name("Record");
    for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
      const Field& field = schema_.fields[i];
      protobuf::FieldDescriptorProto* proto = message->add_field();
      proto->set_name("field_" + std::to_string(i));
      proto->set_number(static_cast<int>(resolved_proto_number(schema_, i)));
      proto->set_label(protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
      proto->set_type(descriptor_type(resolved_proto_type(field)));
      if (!field.required) {
        // proto3 `optional`: explicit presence, so a set zero is written and absence kept.
        proto->set_proto3_optional(true);
        proto->set_oneof_index(message->oneof_decl_size());
        message->add_oneof_decl()->set_name("_field_" + std::to_string(i));
      }
    }
    const protobuf::FileDescriptor* built = pool_.BuildFile(file);
    LDH_USER_CHECK(built != nullptr, "cannot build a protobuf descriptor for the schema");
    descriptor_ = built->message_type(0);
    message_.reset(factory_.GetPrototype(descriptor_)->New());
  }

  void append(std::span<const FieldValue> row, std::string& out) override {
    serialise(row);
    append_varint(out, body_.size());
    out += body_;
  }

  void append_malformed(std::span<const FieldValue> row, std::uint64_t choice,
                        std::string& out) override {
    enum Kind { wrong_wire, bad_varint, bad_utf8 };
    std::vector<std::size_t> all;
    std::vector<std::size_t> strings;
    std::vector<std::size_t> varints;
    for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
      all.push_back(i);
      ProtoType type = resolved_proto_type(schema_.fields[i]);
      if (schema_.fields[i].type == DataType::string) strings.push_back(i);
      if (wire_type_of(type) == WireType::varint) varints.push_back(i);
    }
    std::vector<Kind> kinds = {wrong_wire, bad_varint};
    if (!strings.empty()) kinds.push_back(bad_utf8);
    Kind kind = kinds[static_cast<std::size_t>(choice % kinds.size())];
    std::uint64_t which = choice / kinds.size();
    serialise(row);
    switch (kind) {
      case wrong_wire: {
        std::size_t index = pick(all, which);
        std::uint64_t number = resolved_proto_number(schema_, index);
        if (wire_type_of(resolved_proto_type(schema_.fields[index])) == WireType::varint) {
          append_varint(body_, number << 3 | static_cast<std::uint64_t>(WireType::fixed32));
          body_.append(4, '\0');
        } else {
          append_varint(body_, number << 3 | static_cast<std::uint64_t>(WireType::varint));
          body_ += '\x01';
        }
        break;
      }
      case bad_varint: {
        // Eleven bytes with the continuation bit: longer than any varint may be.
        std::uint64_t number =
            varints.empty() ? 0 : resolved_proto_number(schema_, pick(varints, which));
        if (number != 0) append_varint(body_, number << 3);
        body_.append(10, '\xff');
        body_ += '\x01';
        break;
      }
      case bad_utf8: {
        std::uint64_t number = resolved_proto_number(schema_, pick(strings, which));
        append_varint(body_, number << 3 | static_cast<std::uint64_t>(WireType::length_delimited));
        body_ += "\x02\xc3\x28";
        break;
      }
    }
    append_varint(out, body_.size());
    out += body_;
  }

  void flush(std::string&) override {}

 private:
  void serialise(std::span<const FieldValue> row) {
    LDH_EXPECTS(row.size() == schema_.fields.size(), "row and schema differ in length");
    message_->Clear();
    const protobuf::Reflection* reflection = message_->GetReflection();
    for (std::size_t i = 0; i < row.size(); ++i) {
      const FieldValue& value = row[i];
      if (std::holds_alternative<std::monostate>(value)) continue;
      const Field& field = schema_.fields[i];
      const protobuf::FieldDescriptor* proto = descriptor_->field(static_cast<int>(i));
      if (proto->cpp_type() == protobuf::FieldDescriptor::CPPTYPE_STRING) {
        if (field.type == DataType::timestamp) {
          reflection->SetString(message_.get(), proto, iso_text(as_integer(value)));
        } else {
          reflection->SetString(message_.get(), proto, as_text(value));
        }
        continue;
      }
      std::int64_t integer = 0;
      double real = 0;
      if (field.type == DataType::float32 || field.type == DataType::float64) {
        real = as_real(value);
        integer = as_integer(FieldValue(real));
      } else if (field.type == DataType::timestamp) {
        integer = to_unit(as_integer(value), field.time_unit);
        real = static_cast<double>(integer);
      } else {
        integer = as_integer(value);
        real = static_cast<double>(integer);
      }
      switch (proto->cpp_type()) {
        case protobuf::FieldDescriptor::CPPTYPE_INT32:
          reflection->SetInt32(message_.get(), proto, static_cast<std::int32_t>(integer));
          break;
        case protobuf::FieldDescriptor::CPPTYPE_INT64:
          reflection->SetInt64(message_.get(), proto, integer);
          break;
        case protobuf::FieldDescriptor::CPPTYPE_UINT32:
          reflection->SetUInt32(message_.get(), proto, static_cast<std::uint32_t>(integer));
          break;
        case protobuf::FieldDescriptor::CPPTYPE_UINT64:
          reflection->SetUInt64(message_.get(), proto, static_cast<std::uint64_t>(integer));
          break;
        case protobuf::FieldDescriptor::CPPTYPE_FLOAT:
          reflection->SetFloat(message_.get(), proto, static_cast<float>(real));
          break;
        case protobuf::FieldDescriptor::CPPTYPE_DOUBLE:
          reflection->SetDouble(message_.get(), proto, real);
          break;
        case protobuf::FieldDescriptor::CPPTYPE_BOOL:
          reflection->SetBool(message_.get(), proto, as_flag(value));
          break;
        default:
          LDH_EXPECTS(false, "unexpected protobuf field type");
      }
    }
    body_.clear();
    message_->SerializeToString(&body_);
  }

  Schema schema_;
  protobuf::DescriptorPool pool_;
  protobuf::DynamicMessageFactory factory_;
  const protobuf::Descriptor* descriptor_ = nullptr;
  std::unique_ptr<protobuf::Message> message_;
  std::string body_;
};

}  // namespace

std::unique_ptr<Encoder> make_encoder(Format format, const Schema& schema,
                                      std::uint32_t frame_records) {
  switch (format) {
    case Format::json:
      return std::make_unique<JsonEncoder>(schema);
    case Format::binary:
      return std::make_unique<BinaryEncoder>(schema, frame_records);
    case Format::protobuf:
      return std::make_unique<ProtobufEncoder>(schema);
  }
  LDH_EXPECTS(false, "unknown format");
  return nullptr;
}

}  // namespace ldh
