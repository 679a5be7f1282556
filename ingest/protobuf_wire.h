#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/schema.h"

namespace ldh {

/// The protobuf wire types (the low three bits of a field tag).
enum class WireType : std::uint8_t {
  varint = 0,
  fixed64 = 1,
  length_delimited = 2,
  start_group = 3,
  end_group = 4,
  fixed32 = 5,
};

/// The largest field number protobuf allows (2^29 - 1).
inline constexpr std::uint64_t kMaxFieldNumber = (1u << 29) - 1;

constexpr WireType wire_type_of(ProtoType type) {
  switch (type) {
    case ProtoType::fixed64:
    case ProtoType::sfixed64:
    case ProtoType::float64:
      return WireType::fixed64;
    case ProtoType::fixed32:
    case ProtoType::sfixed32:
    case ProtoType::float32:
      return WireType::fixed32;
    case ProtoType::string:
      return WireType::length_delimited;
    default:
      return WireType::varint;
  }
}

inline std::string_view to_string(WireType wire) {
  switch (wire) {
    case WireType::varint:
      return "0 (varint)";
    case WireType::fixed64:
      return "1 (64-bit)";
    case WireType::length_delimited:
      return "2 (length-delimited)";
    case WireType::start_group:
      return "3 (start group)";
    case WireType::end_group:
      return "4 (end group)";
    case WireType::fixed32:
      return "5 (32-bit)";
  }
  return "invalid";
}

/// Returns the .proto spelling of a proto type.
inline std::string_view to_string(ProtoType type) {
  switch (type) {
    case ProtoType::by_type:
      return "default";
    case ProtoType::int32:
      return "int32";
    case ProtoType::int64:
      return "int64";
    case ProtoType::uint32:
      return "uint32";
    case ProtoType::uint64:
      return "uint64";
    case ProtoType::sint32:
      return "sint32";
    case ProtoType::sint64:
      return "sint64";
    case ProtoType::fixed32:
      return "fixed32";
    case ProtoType::fixed64:
      return "fixed64";
    case ProtoType::sfixed32:
      return "sfixed32";
    case ProtoType::sfixed64:
      return "sfixed64";
    case ProtoType::float32:
      return "float";
    case ProtoType::float64:
      return "double";
    case ProtoType::boolean:
      return "bool";
    case ProtoType::string:
      return "string";
  }
  return "?";
}

/// Reads a varint at `p` without reading at or past `end`. Returns the bytes used; 0 when the
/// bytes end first, -1 when it is longer than 10 bytes.
inline int read_varint(const std::uint8_t* p, const std::uint8_t* end, std::uint64_t& value) {
  if (p < end && *p < 0x80) {
    value = *p;
    return 1;
  }
  std::uint64_t result = 0;
  for (int i = 0; i < 10; ++i) {
    if (p + i >= end) return 0;
    std::uint8_t byte = p[i];
    result |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      value = result;
      return i + 1;
    }
  }
  return -1;
}

/// Appends `value` as a varint.
inline void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

}  // namespace ldh
