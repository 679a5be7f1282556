#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/error.h"
#include "pipeline/types.h"

namespace ldh {

/// Names the .proto scalar type a field is written as (float32 = float, float64 = double,
/// boolean = bool); by_type picks the natural one for the field's DataType (docs/formats.md).
enum class ProtoType : std::uint8_t {
  by_type,
  int32,
  int64,
  uint32,
  uint64,
  sint32,
  sint64,
  fixed32,
  fixed64,
  sfixed32,
  sfixed64,
  float32,
  float64,
  boolean,
  string,
};

/// Describes one field of an event.
struct Field {
  std::string name;
  DataType type = DataType::float64;
  /// For timestamps: how the input writes them (count of a unit since the epoch, or ISO-8601).
  TimeUnit time_unit = TimeUnit::ms;
  /// A record without a required field is dead-lettered; an optional one is stored as null.
  bool required = true;
  /// Floats only: whether NaN is a legal value (otherwise the record is dead-lettered).
  bool allow_nan = false;
  /// Strings only: bytes of the fixed, zero-padded slot in binary records.
  std::uint32_t binary_size = 16;
  /// Protobuf field number (from the .proto, or `protoField` in the config).
  std::uint32_t proto_number = 0;
  /// Protobuf scalar type on the wire, which fixes the wire type and how the value is read.
  ProtoType proto_type = ProtoType::by_type;
  /// Where the field was declared, for error messages.
  SourceLocation where;
};

/// Describes the events a source delivers; one field carries the event time.
struct Schema {
  std::vector<Field> fields;
  /// Index of the event-time field in `fields`, or -1 when the pipeline runs on processing time.
  int event_time = -1;
  /// Identifies the layout in binary frame headers (see docs/formats.md).
  std::uint32_t id = 0;

  /// Returns the index of the named field, or -1.
  int find(std::string_view name) const;
  /// Returns the bytes of one binary record (fields in order, no padding).
  std::size_t binary_record_size() const;
  /// Returns the byte offset of field `index` inside a binary record.
  std::size_t binary_offset(std::size_t index) const;
  /// Computes the default schema id: FNV-1a 32 of the canonical layout text (docs/formats.md).
  std::uint32_t layout_id() const;
  /// Returns the canonical layout text, e.g. "timestamp:timestamp/ms;sensor_id:int32;...".
  std::string layout_text() const;
};

/// Returns the width of a field in a binary record.
std::size_t binary_width(const Field& field);

}  // namespace ldh
