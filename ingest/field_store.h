#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/decoder.h"
#include "pipeline/schema.h"

namespace ldh {

/// Says whether a decoded value could be stored, and if not why; maps onto dead-letter reasons.
enum class StoreStatus : std::uint8_t { ok, wrong_type, out_of_range, not_a_number };

/// Returns the dead-letter reason for a failed store.
DeadLetterReason reason_of(StoreStatus status);

/// Points at where one schema field's values go in the current batch, with what converting a
/// decoded value into the field's storage needs. `data` is null for a field without a slot:
/// its values are still checked (so every format rejects the same records) but not kept.
struct FieldOutput {
  DataType type = DataType::float64;
  /// Nanoseconds per input unit for timestamps (1 for iso8601, whose numbers are nanoseconds).
  std::int64_t unit_ns = 1;
  /// Floats only: NaN is rejected (the schema forbids it and validation is on).
  bool reject_nan = false;
  void* data = nullptr;
  std::uint8_t* validity = nullptr;

  template <typename T>
  void put(std::size_t row, T value) const {
    if (data != nullptr) static_cast<T*>(data)[row] = value;
    if (validity != nullptr) validity[row] = 1;
  }
  void put_null(std::size_t row) const {
    if (data != nullptr)
      std::memset(static_cast<char*>(data) + row * storage_width(type), 0, storage_width(type));
    if (validity != nullptr) validity[row] = 0;
  }
};

/// Builds the outputs of every schema field for `target`'s batch (field i -> slot field_slots[i];
/// a negative slot or a missing map entry means the field is not kept).
void bind_outputs(const Schema& schema, bool validate, const DecodeTarget& target,
                  std::vector<FieldOutput>& outputs);

/// Stores a signed integer into any numeric or timestamp field (timestamps scale by unit_ns).
inline StoreStatus store_signed(const FieldOutput& out, std::size_t row, std::int64_t value) {
  switch (out.type) {
    case DataType::int32:
      if (value < std::numeric_limits<std::int32_t>::min() ||
          value > std::numeric_limits<std::int32_t>::max()) {
        return StoreStatus::out_of_range;
      }
      out.put(row, static_cast<std::int32_t>(value));
      return StoreStatus::ok;
    case DataType::int64:
      out.put(row, value);
      return StoreStatus::ok;
    case DataType::float32:
      out.put(row, static_cast<float>(value));
      return StoreStatus::ok;
    case DataType::float64:
      out.put(row, static_cast<double>(value));
      return StoreStatus::ok;
    case DataType::timestamp: {
      std::int64_t nanoseconds;
      if (__builtin_mul_overflow(value, out.unit_ns, &nanoseconds))
        return StoreStatus::out_of_range;
      out.put(row, nanoseconds);
      return StoreStatus::ok;
    }
    case DataType::boolean:
    case DataType::string:
      return StoreStatus::wrong_type;
  }
  return StoreStatus::wrong_type;
}

/// Stores an unsigned integer (protobuf uint64/fixed64); above int64's range only floats take it.
inline StoreStatus store_unsigned(const FieldOutput& out, std::size_t row, std::uint64_t value) {
  if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return store_signed(out, row, static_cast<std::int64_t>(value));
  }
  switch (out.type) {
    case DataType::float32:
      out.put(row, static_cast<float>(value));
      return StoreStatus::ok;
    case DataType::float64:
      out.put(row, static_cast<double>(value));
      return StoreStatus::ok;
    case DataType::boolean:
    case DataType::string:
      return StoreStatus::wrong_type;
    default:
      return StoreStatus::out_of_range;
  }
}

/// Stores a double: floats take it (float32 rounds to nearest; overflow to infinity is out of
/// range), integer fields take it only when it is integral and in range.
inline StoreStatus store_double(const FieldOutput& out, std::size_t row, double value) {
  switch (out.type) {
    case DataType::float64:
      if (value != value && out.reject_nan) return StoreStatus::not_a_number;
      out.put(row, value);
      return StoreStatus::ok;
    case DataType::float32: {
      if (value != value) {
        if (out.reject_nan) return StoreStatus::not_a_number;
        out.put(row, static_cast<float>(value));
        return StoreStatus::ok;
      }
      float narrow = static_cast<float>(value);
      bool finite = value - value == 0;
      if (finite && narrow - narrow != 0) return StoreStatus::out_of_range;
      out.put(row, narrow);
      return StoreStatus::ok;
    }
    case DataType::int32:
    case DataType::int64:
    case DataType::timestamp: {
      if (value != value) return StoreStatus::wrong_type;
      // 2^63 is exact in a double; every double in [-2^63, 2^63) converts without overflow.
      if (!(value >= -9223372036854775808.0 && value < 9223372036854775808.0)) {
        return StoreStatus::out_of_range;
      }
      auto integer = static_cast<std::int64_t>(value);
      if (static_cast<double>(integer) != value) return StoreStatus::wrong_type;
      return store_signed(out, row, integer);
    }
    case DataType::boolean:
    case DataType::string:
      return StoreStatus::wrong_type;
  }
  return StoreStatus::wrong_type;
}

/// Stores a float32 value read as such (protobuf float, JSON text parsed as float), so a float32
/// field never sees a second rounding; other fields take it widened to double.
inline StoreStatus store_float(const FieldOutput& out, std::size_t row, float value) {
  if (out.type != DataType::float32) return store_double(out, row, static_cast<double>(value));
  if (value != value && out.reject_nan) return StoreStatus::not_a_number;
  out.put(row, value);
  return StoreStatus::ok;
}

/// Appends a dead letter for the `size` bytes at `offset` in `chunk` (kept up to
/// kDeadLetterRecordBytes), at stream offset chunk_offset + offset.
void add_dead_letter(const DecodeTarget& target, std::span<const std::byte> chunk,
                     std::uint64_t chunk_offset, std::size_t offset, std::size_t size,
                     DeadLetterReason reason, std::string detail);

/// Describes a failed store: "field 'humidity': expected a float32, got <what>".
std::string describe_store_failure(const Field& field, StoreStatus status, std::string_view got);

}  // namespace ldh
