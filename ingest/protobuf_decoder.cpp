#include "ingest/protobuf_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ingest/field_store.h"
#include "ingest/protobuf_wire.h"
#include "ingest/string_cache.h"
#include "pipeline/time.h"

namespace ldh {

ProtoType resolved_proto_type(const Field& field) {
  if (field.proto_type != ProtoType::by_type) return field.proto_type;
  switch (field.type) {
    case DataType::int32:
      return ProtoType::int32;
    case DataType::int64:
      return ProtoType::int64;
    case DataType::float32:
      return ProtoType::float32;
    case DataType::float64:
      return ProtoType::float64;
    case DataType::boolean:
      return ProtoType::boolean;
    case DataType::string:
      return ProtoType::string;
    case DataType::timestamp:
      return field.time_unit == TimeUnit::iso8601 ? ProtoType::string : ProtoType::int64;
  }
  return ProtoType::int64;
}

std::uint32_t resolved_proto_number(const Schema& schema, std::size_t index) {
  std::uint32_t number = schema.fields[index].proto_number;
  return number != 0 ? number : static_cast<std::uint32_t>(index + 1);
}

namespace {

/// Returns whether a field of `type` can be read from a protobuf field of `proto`.
bool compatible(DataType type, ProtoType proto) {
  switch (type) {
    case DataType::string:
      return proto == ProtoType::string;
    case DataType::boolean:
      return proto == ProtoType::boolean;
    case DataType::timestamp:
      return proto != ProtoType::boolean && proto != ProtoType::float32 &&
             proto != ProtoType::float64;
    case DataType::int32:
    case DataType::int64:
    case DataType::float32:
    case DataType::float64:
      return proto != ProtoType::boolean && proto != ProtoType::string;
  }
  return false;
}

/// How one schema field is read.
/// The pairings of proto type and column type that sensor-like feeds use, read without the
/// general conversion path; `general` covers everything else (and every failure).
enum class FastPath : std::uint8_t { general, int32, int64, timestamp, float32, float64, string };

struct FieldPlan {
  ProtoType type = ProtoType::int64;
  WireType wire = WireType::varint;
  FastPath fast = FastPath::general;
};

FastPath fast_path_of(const Field& field, ProtoType type) {
  switch (field.type) {
    case DataType::int32:
      return type == ProtoType::int32 ? FastPath::int32 : FastPath::general;
    case DataType::int64:
      return type == ProtoType::int64 ? FastPath::int64 : FastPath::general;
    case DataType::timestamp:
      return type == ProtoType::int64 ? FastPath::timestamp : FastPath::general;
    case DataType::float32:
      return type == ProtoType::float32 ? FastPath::float32 : FastPath::general;
    case DataType::float64:
      return type == ProtoType::float64 ? FastPath::float64 : FastPath::general;
    case DataType::string:
      return type == ProtoType::string ? FastPath::string : FastPath::general;
    case DataType::boolean:
      return FastPath::general;
  }
  return FastPath::general;
}

/// Why a message was rejected.
struct Failure {
  DeadLetterReason reason = DeadLetterReason::malformed;
  std::string detail;
};

class ProtobufDecoder final : public Decoder {
 public:
  ProtobufDecoder(const Schema& schema, bool validate)
      : schema_(schema), validate_(validate), seen_(schema.fields.size(), 0) {
    std::uint32_t largest = 0;
    for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
      const Field& field = schema_.fields[i];
      FieldPlan plan;
      plan.type = resolved_proto_type(field);
      plan.wire = wire_type_of(plan.type);
      plan.fast = fast_path_of(field, plan.type);
      LDH_USER_CHECK(compatible(field.type, plan.type),
                     "field '" + field.name + "' of type " + std::string(to_string(field.type)) +
                         " cannot be read from a protobuf " + std::string(to_string(plan.type)));
      std::uint32_t number = resolved_proto_number(schema_, i);
      LDH_USER_CHECK(number <= kMaxFieldNumber, "field '" + field.name +
                                                    "': protobuf field number " +
                                                    std::to_string(number) + " is too large");
      LDH_USER_CHECK(by_number_.emplace(number, static_cast<int>(i)).second,
                     "field '" + field.name + "': protobuf field number " + std::to_string(number) +
                         " is used twice");
      largest = std::max(largest, number);
      plans_.push_back(plan);
    }
    if (largest < kDenseNumbers) {
      dense_.assign(largest + 1, -1);
      for (const auto& [number, index] : by_number_) dense_[number] = index;
    }
  }

  std::size_t frame(std::span<const std::byte> bytes, std::size_t max_records, bool end_of_stream,
                    FrameInfo* info) const override {
    std::size_t records = 0;
    auto cut = [&](std::size_t length) {
      if (info != nullptr) info->records = records;
      return length;
    };
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    const std::uint8_t* end = data + bytes.size();
    std::size_t position = 0;
    while (position < bytes.size() && records < max_records) {
      std::uint64_t length = 0;
      int prefix = read_varint(data + position, end, length);
      if (prefix == 0) return cut(end_of_stream ? bytes.size() : position);
      // A broken length prefix loses the framing for good: hand over all there is.
      if (prefix < 0 || length > kMaxRecordBytes) {
        if (info != nullptr) info->framing_lost = true;
        return cut(bytes.size());
      }
      std::size_t total = static_cast<std::size_t>(prefix) + static_cast<std::size_t>(length);
      if (total > bytes.size() - position) return cut(end_of_stream ? bytes.size() : position);
      position += total;
      ++records;
    }
    return cut(position);
  }

  void decode(std::span<const std::byte> chunk, std::uint64_t chunk_offset, DecodeCursor& cursor,
              DecodeTarget& target) override {
    EventBatch& batch = *target.batch;
    const auto* data = reinterpret_cast<const std::uint8_t*>(chunk.data());
    const std::uint8_t* end = data + chunk.size();
    std::size_t row = batch.size();
    bool bound = false;
    while (cursor.offset < chunk.size()) {
      std::size_t start = cursor.offset;
      std::size_t rest = chunk.size() - start;
      std::uint64_t length = 0;
      int prefix = read_varint(data + start, end, length);
      if (prefix == 0) {
        add_dead_letter(target, chunk, chunk_offset, start, rest, DeadLetterReason::truncated,
                        "the stream ends inside a length prefix");
        cursor.offset = chunk.size();
        break;
      }
      if (prefix < 0 || length > kMaxRecordBytes) {
        std::string detail = prefix < 0 ? "length prefix is longer than 10 bytes"
                                        : "length prefix of " + std::to_string(length) +
                                              " bytes exceeds the record limit";
        add_dead_letter(target, chunk, chunk_offset, start, rest,
                        prefix < 0 ? DeadLetterReason::bad_varint : DeadLetterReason::malformed,
                        detail + "; the rest of the stream is skipped");
        cursor.offset = chunk.size();
        break;
      }
      std::size_t total = static_cast<std::size_t>(prefix) + static_cast<std::size_t>(length);
      if (total > rest) {
        add_dead_letter(target, chunk, chunk_offset, start, rest, DeadLetterReason::truncated,
                        "message of " + std::to_string(length) + " bytes is cut after " +
                            std::to_string(rest - static_cast<std::size_t>(prefix)) + " bytes");
        cursor.offset = chunk.size();
        break;
      }
      if (row == batch.capacity()) break;
      if (!bound) {
        bind_outputs(schema_, validate_, target, outputs_);
        cache_.use(target.strings);
        empty_string_id_ = target.strings->intern("");
        bound = true;
      }
      Failure failure;
      const std::uint8_t* body = data + start + prefix;
      if (decode_message(body, body + length, row, *target.strings, failure)) {
        ++row;
      } else {
        add_dead_letter(target, chunk, chunk_offset, start, total, failure.reason,
                        std::move(failure.detail));
      }
      cursor.offset = start + total;
    }
    batch.resize(row);
  }

 private:
  static constexpr std::uint32_t kDenseNumbers = 4096;

  int find_field(std::uint64_t number) const {
    if (number < dense_.size()) return dense_[static_cast<std::size_t>(number)];
    if (!dense_.empty()) return -1;
    auto found = by_number_.find(number);
    return found == by_number_.end() ? -1 : found->second;
  }

  /// Parses one message into `row`; on failure fills `failure` (the row is then left unused).
  bool decode_message(const std::uint8_t* p, const std::uint8_t* end, std::size_t row,
                      StringDictionary& strings, Failure& failure) {
    ++generation_;
    while (p < end) {
      std::uint64_t tag;
      int used = read_varint(p, end, tag);
      if (used <= 0) {
        failure = {DeadLetterReason::bad_varint, "bad varint in a field tag"};
        return false;
      }
      p += used;
      std::uint64_t number = tag >> 3;
      auto wire = static_cast<WireType>(tag & 7);
      if (number == 0 || number > kMaxFieldNumber) {
        failure = {DeadLetterReason::malformed, "invalid field number " + std::to_string(number)};
        return false;
      }
      int index = find_field(number);
      if (index < 0) {
        if (!skip_field(wire, p, end, number, failure)) return false;
        continue;
      }
      std::size_t field_index = static_cast<std::size_t>(index);
      if (wire != plans_[field_index].wire || !read_fast(field_index, p, end, row)) {
        if (!read_field(field_index, wire, p, end, row, strings, failure)) return false;
      }
      seen_[field_index] = generation_;
    }
    for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
      if (seen_[i] != generation_) store_absent(i, row);
    }
    return true;
  }

  /// Reads a field of a fast-path pairing and advances `p`; false (with `p` unchanged) when the
  /// pairing is not fast or the value needs the general path (bad bytes, a failed check).
  bool read_fast(std::size_t index, const std::uint8_t*& p, const std::uint8_t* end,
                 std::size_t row) {
    const FieldOutput& out = outputs_[index];
    std::uint64_t bits;
    switch (plans_[index].fast) {
      case FastPath::general:
        return false;
      case FastPath::int32:
      case FastPath::int64:
      case FastPath::timestamp: {
        int used = read_varint(p, end, bits);
        if (used <= 0) return false;
        if (plans_[index].fast == FastPath::int32) {
          out.put(row, static_cast<std::int32_t>(static_cast<std::uint32_t>(bits)));
        } else if (plans_[index].fast == FastPath::int64) {
          out.put(row, static_cast<std::int64_t>(bits));
        } else {
          std::int64_t nanoseconds;
          if (__builtin_mul_overflow(static_cast<std::int64_t>(bits), out.unit_ns, &nanoseconds)) {
            return false;
          }
          out.put(row, nanoseconds);
        }
        p += used;
        return true;
      }
      case FastPath::float32: {
        float value;
        if (end - p < 4) return false;
        std::memcpy(&value, p, 4);
        if (value != value && out.reject_nan) return false;
        out.put(row, value);
        p += 4;
        return true;
      }
      case FastPath::float64: {
        double value;
        if (end - p < 8) return false;
        std::memcpy(&value, p, 8);
        if (value != value && out.reject_nan) return false;
        out.put(row, value);
        p += 8;
        return true;
      }
      case FastPath::string: {
        std::uint64_t length;
        int used = read_varint(p, end, length);
        if (used <= 0 || length > static_cast<std::uint64_t>(end - p - used)) return false;
        const char* text = reinterpret_cast<const char*>(p + used);
        std::int32_t id = cache_.find(text, static_cast<std::size_t>(length));
        if (id < 0) return false;
        out.put(row, id);
        p += used + static_cast<std::ptrdiff_t>(length);
        return true;
      }
    }
    return false;
  }

  /// Stores what an absent field means: null when optional, else proto3's default value.
  void store_absent(std::size_t index, std::size_t row) const {
    const FieldOutput& out = outputs_[index];
    if (!schema_.fields[index].required) {
      out.put_null(row);
      return;
    }
    switch (out.type) {
      case DataType::int32:
        out.put(row, std::int32_t{0});
        break;
      case DataType::int64:
      case DataType::timestamp:
        out.put(row, std::int64_t{0});
        break;
      case DataType::float32:
        out.put(row, 0.0f);
        break;
      case DataType::float64:
        out.put(row, 0.0);
        break;
      case DataType::boolean:
        out.put(row, std::uint8_t{0});
        break;
      case DataType::string:
        out.put(row, empty_string_id_);
        break;
    }
  }

  bool read_field(std::size_t index, WireType wire, const std::uint8_t*& p, const std::uint8_t* end,
                  std::size_t row, StringDictionary& strings, Failure& failure) {
    const FieldPlan& plan = plans_[index];
    const Field& field = schema_.fields[index];
    const FieldOutput& out = outputs_[index];
    if (wire != plan.wire) {
      failure = {DeadLetterReason::wrong_type, "field '" + field.name + "': expected wire type " +
                                                   std::string(to_string(plan.wire)) + ", got " +
                                                   std::string(to_string(wire))};
      return false;
    }
    StoreStatus status = StoreStatus::ok;
    std::uint64_t bits = 0;
    switch (plan.wire) {
      case WireType::varint: {
        int used = read_varint(p, end, bits);
        if (used <= 0) {
          failure = {DeadLetterReason::bad_varint, "field '" + field.name + "': bad varint"};
          return false;
        }
        p += used;
        break;
      }
      case WireType::fixed64:
      case WireType::fixed32: {
        std::size_t width = plan.wire == WireType::fixed64 ? 8 : 4;
        if (static_cast<std::size_t>(end - p) < width) {
          failure = {DeadLetterReason::malformed,
                     "field '" + field.name + "' runs past the end of the message"};
          return false;
        }
        std::memcpy(&bits, p, width);  // little-endian host: the low bytes fill first
        p += width;
        break;
      }
      case WireType::length_delimited: {
        std::uint64_t length;
        int used = read_varint(p, end, length);
        if (used <= 0) {
          failure = {DeadLetterReason::bad_varint, "field '" + field.name + "': bad length"};
          return false;
        }
        p += used;
        if (length > static_cast<std::uint64_t>(end - p)) {
          failure = {DeadLetterReason::malformed,
                     "field '" + field.name + "' runs past the end of the message"};
          return false;
        }
        const char* text = reinterpret_cast<const char*>(p);
        p += length;
        return store_text(index, text, static_cast<std::size_t>(length), row, strings, failure);
      }
      default:
        break;
    }
    switch (plan.type) {
      case ProtoType::int32:
      case ProtoType::sfixed32:
        status =
            store_signed(out, row, static_cast<std::int32_t>(static_cast<std::uint32_t>(bits)));
        break;
      case ProtoType::int64:
      case ProtoType::sfixed64:
        status = store_signed(out, row, static_cast<std::int64_t>(bits));
        break;
      case ProtoType::uint32:
      case ProtoType::fixed32:
        status = store_signed(out, row, static_cast<std::uint32_t>(bits));
        break;
      case ProtoType::uint64:
      case ProtoType::fixed64:
        status = store_unsigned(out, row, bits);
        break;
      case ProtoType::sint32: {
        auto value = static_cast<std::uint32_t>(bits);
        status =
            store_signed(out, row, static_cast<std::int32_t>((value >> 1) ^ (0u - (value & 1))));
        break;
      }
      case ProtoType::sint64:
        status = store_signed(out, row, static_cast<std::int64_t>((bits >> 1) ^ (0 - (bits & 1))));
        break;
      case ProtoType::boolean:
        out.put(row, static_cast<std::uint8_t>(bits != 0));
        break;
      case ProtoType::float32: {
        float value;
        auto narrow = static_cast<std::uint32_t>(bits);
        std::memcpy(&value, &narrow, 4);
        status = store_float(out, row, value);
        break;
      }
      case ProtoType::float64: {
        double value;
        std::memcpy(&value, &bits, 8);
        status = store_double(out, row, value);
        break;
      }
      case ProtoType::string:
      case ProtoType::by_type:
        break;
    }
    if (status != StoreStatus::ok) {
      failure = {reason_of(status),
                 describe_store_failure(field, status, describe_bits(plan.type, bits))};
      return false;
    }
    return true;
  }

  bool store_text(std::size_t index, const char* text, std::size_t length, std::size_t row,
                  StringDictionary& strings, Failure& failure) {
    const Field& field = schema_.fields[index];
    const FieldOutput& out = outputs_[index];
    if (field.type == DataType::timestamp) {
      auto nanoseconds = parse_iso8601(std::string_view(text, length));
      if (!nanoseconds) {
        failure = {DeadLetterReason::wrong_type,
                   describe_store_failure(field, StoreStatus::wrong_type,
                                          "a string that is not ISO-8601")};
        return false;
      }
      out.put(row, *nanoseconds);
      return true;
    }
    std::int32_t id = cache_.find(text, length);
    if (id < 0) {
      std::string_view view(text, length);
      if (validate_ && !simdjson::validate_utf8(view.data(), view.size())) {
        failure = {DeadLetterReason::invalid_utf8, "field '" + field.name + "': invalid UTF-8"};
        return false;
      }
      id = strings.intern(view);
      cache_.insert(text, length, id);
    }
    out.put(row, id);
    return true;
  }

  static std::string describe_bits(ProtoType type, std::uint64_t bits) {
    switch (type) {
      case ProtoType::uint64:
      case ProtoType::fixed64:
        return std::to_string(bits);
      case ProtoType::int64:
      case ProtoType::sfixed64:
        return std::to_string(static_cast<std::int64_t>(bits));
      case ProtoType::sint64:
        return std::to_string(static_cast<std::int64_t>((bits >> 1) ^ (0 - (bits & 1))));
      default:
        return "the value " + std::to_string(static_cast<std::int64_t>(bits));
    }
  }

  bool skip_field(WireType wire, const std::uint8_t*& p, const std::uint8_t* end,
                  std::uint64_t number, Failure& failure) {
    // Only a failure needs the text, so it is built then, not for every field skipped.
    auto where = [number] { return "unknown field " + std::to_string(number); };
    switch (wire) {
      case WireType::varint: {
        std::uint64_t ignored;
        int used = read_varint(p, end, ignored);
        if (used <= 0) {
          failure = {DeadLetterReason::bad_varint, where() + ": bad varint"};
          return false;
        }
        p += used;
        return true;
      }
      case WireType::fixed64:
      case WireType::fixed32: {
        std::size_t width = wire == WireType::fixed64 ? 8 : 4;
        if (static_cast<std::size_t>(end - p) < width) break;
        p += width;
        return true;
      }
      case WireType::length_delimited: {
        std::uint64_t length;
        int used = read_varint(p, end, length);
        if (used <= 0) {
          failure = {DeadLetterReason::bad_varint, where() + ": bad length"};
          return false;
        }
        p += used;
        if (length > static_cast<std::uint64_t>(end - p)) break;
        p += length;
        return true;
      }
      case WireType::start_group:
      case WireType::end_group:
        failure = {DeadLetterReason::malformed, where() + ": groups are not supported"};
        return false;
      default:
        failure = {DeadLetterReason::malformed,
                   where() + ": invalid wire type " + std::to_string(static_cast<int>(wire))};
        return false;
    }
    failure = {DeadLetterReason::malformed, where() + " runs past the end of the message"};
    return false;
  }

  Schema schema_;
  bool validate_;
  std::vector<FieldPlan> plans_;
  std::unordered_map<std::uint64_t, int> by_number_;
  std::vector<int> dense_;
  std::vector<std::uint64_t> seen_;
  std::uint64_t generation_ = 0;
  std::vector<FieldOutput> outputs_;
  StringCache cache_;
  std::int32_t empty_string_id_ = 0;
};

}  // namespace

std::unique_ptr<Decoder> make_protobuf_decoder(const Schema& schema, bool validate) {
  return std::make_unique<ProtobufDecoder>(schema, validate);
}

}  // namespace ldh
