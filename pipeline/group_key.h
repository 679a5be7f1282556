#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/batch.h"
#include "pipeline/math.h"
#include "pipeline/operator.h"
#include "pipeline/percentile.h"
#include "pipeline/string_dictionary.h"

namespace ldh {

/// Bounds the group-by fields of one window, so keys stay fixed-size and hash fast.
inline constexpr std::size_t kMaxGroupFields = 8;

/// The group-by values of one event: one canonical 64-bit word per field and a null mask.
struct GroupKey {
  std::array<std::uint64_t, kMaxGroupFields> words{};
  std::uint32_t nulls = 0;  // bit i set: field i is null
  friend bool operator==(const GroupKey&, const GroupKey&) = default;
};

struct GroupKeyHash {
  std::size_t operator()(const GroupKey& key) const noexcept;
};

/// Returns the canonical word of one value for grouping: integers and timestamps as themselves,
/// booleans 0/1, strings their dictionary id, floats their bits with -0 read as +0 and every NaN
/// as one NaN, so equal values always group together.
/// Inline: the window engine gathers whole key columns through it.
inline std::uint64_t group_word(const ColumnView& column, std::size_t row) {
  const auto canonical_double_word = [](double value) {
    return math::to_bits(canonical_value(value));
  };
  switch (column.type) {
    case DataType::int32:
      return static_cast<std::uint64_t>(static_cast<std::int64_t>(column.as<std::int32_t>()[row]));
    case DataType::int64:
    case DataType::timestamp:
      return static_cast<std::uint64_t>(column.as<std::int64_t>()[row]);
    case DataType::float32:
      return canonical_double_word(static_cast<double>(column.as<float>()[row]));
    case DataType::float64:
      return canonical_double_word(column.as<double>()[row]);
    case DataType::boolean:
      return column.as<std::uint8_t>()[row];
    case DataType::string:
      return static_cast<std::uint64_t>(static_cast<std::uint32_t>(column.as<std::int32_t>()[row]));
  }
  return 0;
}

/// Orders keys by their values, field by field: nulls first, numbers numerically (floats in
/// the total order with NaN last), strings by their UTF-8 bytes, false before true. Never by
/// dictionary id, so the order does not depend on arrival order.
int compare_keys(const GroupKey& a, const GroupKey& b, const std::vector<PlanField>& fields,
                 const StringDictionary& strings);

/// Returns a number that orders keys as compare_keys() does wherever two numbers differ (equal
/// numbers say nothing): from the first field, nulls 0, integers by value, strings by their
/// first 7 bytes. Computed once per key, it spares most sorts the field-by-field comparison.
std::uint64_t key_order_prefix(const GroupKey& key, const std::vector<PlanField>& fields,
                               const StringDictionary& strings);

/// Appends the JSON value of group-by field `index` of `key`, whose field is `field`.
void append_key_value(std::string& out, const GroupKey& key, std::size_t index,
                      const PlanField& field, const StringDictionary& strings);

/// Appends `,"name":value` for each group-by field of `key`.
void append_key_fields(std::string& out, const GroupKey& key, const std::vector<PlanField>& fields,
                       const StringDictionary& strings);

}  // namespace ldh
