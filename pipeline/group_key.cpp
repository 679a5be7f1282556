#include "pipeline/group_key.h"

#include <cstring>

#include "pipeline/json_writer.h"
#include "pipeline/math.h"
#include "pipeline/time.h"

namespace ldh {

namespace {

double word_as_double(std::uint64_t word) {
  return math::from_bits(word);
}

/// Orders doubles totally: -inf < ... < +inf < NaN (there is one NaN and no -0 in keys).
int compare_doubles(double a, double b) {
  bool a_nan = a != a;
  bool b_nan = b != b;
  if (a_nan || b_nan) return static_cast<int>(a_nan) - static_cast<int>(b_nan);
  return a < b ? -1 : (a > b ? 1 : 0);
}

}  // namespace

std::size_t GroupKeyHash::operator()(const GroupKey& key) const noexcept {
  std::uint64_t hash = 0x9E3779B97F4A7C15ull ^ key.nulls;
  for (std::uint64_t word : key.words) {
    hash ^= word + 0x9E3779B97F4A7C15ull + (hash << 6) + (hash >> 2);
    hash *= 0xBF58476D1CE4E5B9ull;
  }
  return static_cast<std::size_t>(hash ^ (hash >> 31));
}

int compare_keys(const GroupKey& a, const GroupKey& b, const std::vector<PlanField>& fields,
                 const StringDictionary& strings) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    bool a_null = (a.nulls >> i) & 1;
    bool b_null = (b.nulls >> i) & 1;
    if (a_null || b_null) {
      if (a_null != b_null) return a_null ? -1 : 1;
      continue;
    }
    std::uint64_t x = a.words[i];
    std::uint64_t y = b.words[i];
    if (x == y) continue;
    switch (fields[i].type) {
      case DataType::int32:
      case DataType::int64:
      case DataType::timestamp:
        return static_cast<std::int64_t>(x) < static_cast<std::int64_t>(y) ? -1 : 1;
      case DataType::boolean:
        return x < y ? -1 : 1;
      case DataType::float32:
      case DataType::float64: {
        int order = compare_doubles(word_as_double(x), word_as_double(y));
        if (order != 0) return order;
        continue;
      }
      case DataType::string: {
        int order = strings.lookup(static_cast<std::int32_t>(x))
                        .compare(strings.lookup(static_cast<std::int32_t>(y)));
        if (order != 0) return order < 0 ? -1 : 1;
        continue;
      }
    }
  }
  return 0;
}

std::uint64_t key_order_prefix(const GroupKey& key, const std::vector<PlanField>& fields,
                               const StringDictionary& strings) {
  if (fields.empty() || (key.nulls & 1) != 0) return 0;
  const std::uint64_t word = key.words[0];
  switch (fields[0].type) {
    case DataType::int32:
    case DataType::int64:
    case DataType::timestamp:
      // Signed order as unsigned, halved to leave 0 to nulls.
      return 1 + ((word ^ 0x8000000000000000ULL) >> 1);
    case DataType::boolean:
      return 1 + (word >> 1);
    case DataType::float32:
    case DataType::float64:
      return 1;  // left to compare_keys
    case DataType::string: {
      // The first 7 bytes, big-endian, zero-padded: a shorter string that is a prefix of a
      // longer one sorts first, as in compare_keys.
      const std::string_view text = strings.lookup(static_cast<std::int32_t>(word));
      std::uint64_t prefix = 0;
      for (std::size_t i = 0; i < 7; ++i) {
        prefix = (prefix << 8) | (i < text.size() ? static_cast<unsigned char>(text[i]) : 0u);
      }
      return 1 + prefix;
    }
  }
  return 1;
}

void append_key_value(std::string& out, const GroupKey& key, std::size_t index,
                      const PlanField& field, const StringDictionary& strings) {
  if ((key.nulls >> index) & 1) {
    out += "null";
    return;
  }
  const std::uint64_t word = key.words[index];
  switch (field.type) {
    case DataType::int32:
    case DataType::int64:
      out += std::to_string(static_cast<std::int64_t>(word));
      break;
    case DataType::timestamp:
      out += '"';
      append_iso8601(out, static_cast<std::int64_t>(word), field.time_digits);
      out += '"';
      break;
    case DataType::boolean:
      out += word ? "true" : "false";
      break;
    case DataType::float32:
      append_json_number(out, static_cast<float>(word_as_double(word)));
      break;
    case DataType::float64:
      append_json_number(out, word_as_double(word));
      break;
    case DataType::string:
      append_json_string(out, strings.lookup(static_cast<std::int32_t>(word)));
      break;
  }
}

void append_key_fields(std::string& out, const GroupKey& key, const std::vector<PlanField>& fields,
                       const StringDictionary& strings) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    out += ',';
    append_json_string(out, fields[i].name);
    out += ':';
    append_key_value(out, key, i, fields[i], strings);
  }
}

}  // namespace ldh
