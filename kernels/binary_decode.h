#pragma once

// Decoding of binary records (docs/formats.md) into columns, written once for the host and the
// device. No CUDA types outside __CUDACC__, so g++-built code and tests can run the same per-record
// function the kernel runs. Frame headers are checked on the host (host/device_runtime.h), which
// packs the records of matching frames back to back; string slots are resolved to dictionary ids
// on the host too, so the one StringDictionary stays the only source of ids.

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "pipeline/batch.h"
#include "pipeline/host_device.h"
#include "pipeline/types.h"

namespace ldh {

/// Says where one schema field sits in a record and where its values go.
struct BinaryFieldDecode {
  std::uint32_t offset = 0;  // byte offset inside the record
  DataType type = DataType::int32;
  /// Floats: NaN dead-letters the record (validation on and the field forbids NaN).
  bool reject_nan = false;
  /// Timestamps: nanoseconds per unit of the stored count.
  std::int64_t unit_ns = 1;
  /// Batch slot the values go to, or -1 when the field is checked but not kept.
  std::int32_t slot = -1;
  /// Strings: index of the field among the record's string fields (the host-resolved ids).
  std::int32_t string_index = -1;
};

/// Describes a record layout to the decode kernel; trivially copyable (a kernel parameter).
struct BinaryDecodeLayout {
  std::uint32_t record_size = 0;
  std::uint32_t field_count = 0;
  /// String fields per record: the host writes this many ids per record, -1 for a bad slot.
  std::uint32_t string_count = 0;
  BinaryFieldDecode fields[kMaxSlots];
};

/// Reads a little-endian value of type T from unaligned bytes (records are packed).
template <typename T>
LDH_HOST_DEVICE LDH_FORCE_INLINE T load_little_endian(const unsigned char* bytes) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "4- or 8-byte values only");
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  Bits bits = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) bits |= static_cast<Bits>(bytes[i]) << (8 * i);
  return __builtin_bit_cast(T, bits);
}

/// Decodes record `bytes` into row `row` of `columns` (validity 1 for nullable slots: binary
/// records have no nulls) and returns whether the record passes every check the CPU decoder
/// makes: timestamps in range, no forbidden NaN, booleans 0 or 1, string slots resolved.
LDH_HOST_DEVICE inline bool decode_binary_record(const BinaryDecodeLayout& layout,
                                                 const unsigned char* bytes,
                                                 const std::int32_t* string_ids,
                                                 const ColumnView* columns, std::size_t row) {
  bool good = true;
  for (std::uint32_t i = 0; i < layout.field_count; ++i) {
    const BinaryFieldDecode& field = layout.fields[i];
    const unsigned char* value = bytes + field.offset;
    void* data = field.slot >= 0 ? columns[field.slot].data : nullptr;
    if (field.slot >= 0 && columns[field.slot].validity != nullptr) {
      columns[field.slot].validity[row] = 1;
    }
    switch (field.type) {
      case DataType::int32: {
        const auto number = load_little_endian<std::int32_t>(value);
        if (data != nullptr) static_cast<std::int32_t*>(data)[row] = number;
        break;
      }
      case DataType::int64: {
        const auto number = load_little_endian<std::int64_t>(value);
        if (data != nullptr) static_cast<std::int64_t*>(data)[row] = number;
        break;
      }
      case DataType::timestamp: {
        std::int64_t nanoseconds = 0;
        good &=
            scale_timestamp(load_little_endian<std::int64_t>(value), field.unit_ns, &nanoseconds);
        if (data != nullptr) static_cast<std::int64_t*>(data)[row] = nanoseconds;
        break;
      }
      case DataType::float32: {
        const auto number = load_little_endian<float>(value);
        good &= !(field.reject_nan && number != number);
        if (data != nullptr) static_cast<float*>(data)[row] = number;
        break;
      }
      case DataType::float64: {
        const auto number = load_little_endian<double>(value);
        good &= !(field.reject_nan && number != number);
        if (data != nullptr) static_cast<double*>(data)[row] = number;
        break;
      }
      case DataType::boolean: {
        const std::uint8_t flag = value[0];
        good &= flag <= 1;
        if (data != nullptr) static_cast<std::uint8_t*>(data)[row] = flag;
        break;
      }
      case DataType::string: {
        const std::int32_t id = string_ids[field.string_index];
        good &= id >= 0;
        if (data != nullptr) static_cast<std::int32_t*>(data)[row] = id;
        break;
      }
    }
  }
  return good;
}

}  // namespace ldh

#if defined(__CUDACC__)
#include <cuda_runtime.h>

namespace ldh {

/// Decodes `count` packed records (record r at records + r * record_size, its string ids at
/// string_ids + r * string_count) into `batch`'s columns, and sets selection[r] to kLive for a
/// good record and 0 for one the host must dead-letter. Asynchronous on `stream`.
void launch_binary_decode(const BinaryDecodeLayout& layout, const unsigned char* records,
                          const std::int32_t* string_ids, std::size_t count,
                          const EventBatchDeviceView& batch, cudaStream_t stream);

}  // namespace ldh
#endif
