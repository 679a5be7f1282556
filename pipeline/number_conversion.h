#pragma once

// How a column value reads as a number, and how a number is stored into a column: one
// definition for the CPU operators, the window engine and the device kernels, so casts and
// derived fields agree bit for bit on every backend.

#include <cstddef>
#include <cstdint>

#include "pipeline/batch.h"
#include "pipeline/expression_program.h"
#include "pipeline/host_device.h"
#include "pipeline/types.h"

namespace ldh {

/// Reads one value as a number the way expressions do: integers and floats as double, booleans
/// as 0/1, strings as their dictionary id, timestamps as milliseconds since the epoch.
LDH_HOST_DEVICE LDH_FORCE_INLINE double read_as_number(const ColumnView& column, std::size_t row) {
  switch (column.type) {
    case DataType::int32:
    case DataType::string:
      return static_cast<const std::int32_t*>(column.data)[row];
    case DataType::int64:
      return static_cast<double>(static_cast<const std::int64_t*>(column.data)[row]);
    case DataType::float32:
      return static_cast<const float*>(column.data)[row];
    case DataType::float64:
      return static_cast<const double*>(column.data)[row];
    case DataType::boolean:
      return static_cast<const std::uint8_t*>(column.data)[row];
    case DataType::timestamp:
      return timestamp_milliseconds(static_cast<const std::int64_t*>(column.data)[row]);
  }
  return 0;
}

/// Converts a number (a computed value, or a timestamp in milliseconds since the epoch) into
/// one row of a column of `type`; false when it does not fit (the row becomes null). The int64
/// bound is the largest double below 2^63.
LDH_HOST_DEVICE inline bool store_number(double value, DataType type, void* data, std::size_t row) {
  constexpr double kInt64Low = -9223372036854775808.0;
  constexpr double kInt64High = 9223372036854774784.0;
  switch (type) {
    case DataType::float64:
      static_cast<double*>(data)[row] = value;
      return true;
    case DataType::float32:
      static_cast<float*>(data)[row] = static_cast<float>(value);
      return true;
    case DataType::boolean:
      static_cast<std::uint8_t*>(data)[row] = (value != 0 && value == value) ? 1 : 0;
      return true;
    case DataType::int32:
      if (!(value == value && value >= -2147483648.0 && value <= 2147483647.0)) return false;
      static_cast<std::int32_t*>(data)[row] = static_cast<std::int32_t>(value);
      return true;
    case DataType::int64:
      if (!(value == value && value >= kInt64Low && value <= kInt64High)) return false;
      static_cast<std::int64_t*>(data)[row] = static_cast<std::int64_t>(value);
      return true;
    case DataType::string:
      static_cast<std::int32_t*>(data)[row] = static_cast<std::int32_t>(value);
      return true;
    case DataType::timestamp: {
      const double nanoseconds = value * 1e6;
      if (!(nanoseconds == nanoseconds && nanoseconds >= kInt64Low && nanoseconds <= kInt64High)) {
        return false;
      }
      static_cast<std::int64_t*>(data)[row] = static_cast<std::int64_t>(nanoseconds);
      return true;
    }
  }
  return false;
}

}  // namespace ldh
