#include "pipeline/transform.h"

#include <charconv>
#include <cmath>
#include <string>

#include "pipeline/json_writer.h"
#include "pipeline/time.h"

namespace ldh {

namespace {

/// Renders one value as text for a cast to string.
std::string value_text(const ColumnView& column, std::size_t row, int time_digits) {
  switch (column.type) {
    case DataType::boolean:
      return column.as<std::uint8_t>()[row] ? "true" : "false";
    case DataType::timestamp:
      return format_iso8601(column.as<std::int64_t>()[row], time_digits);
    case DataType::int32:
      return std::to_string(column.as<std::int32_t>()[row]);
    case DataType::int64:
      return std::to_string(column.as<std::int64_t>()[row]);
    case DataType::float32: {
      std::string text;
      append_shortest(text, column.as<float>()[row]);
      return text;
    }
    default: {
      std::string text;
      append_shortest(text, read_as_number(column, row));
      return text;
    }
  }
}

/// Parses text for a cast from string; false when it is not a number (or boolean/timestamp).
bool parse_text(std::string_view text, DataType target, double& value) {
  if (target == DataType::boolean) {
    if (text == "true") return value = 1, true;
    if (text == "false") return value = 0, true;
    return false;
  }
  if (target == DataType::timestamp) {
    auto nanoseconds = parse_iso8601(text);
    if (!nanoseconds) return false;
    value = timestamp_milliseconds(*nanoseconds);
    return true;
  }
  const char* end = text.data() + text.size();
  auto [pointer, error] = std::from_chars(text.data(), end, value);
  return error == std::errc() && pointer == end;
}

}  // namespace

Transform::Transform(std::string name, std::vector<CompiledTransform> operations,
                     StringDictionary& strings)
    : Operator(std::move(name)), operations_(std::move(operations)), strings_(strings) {}

void Transform::apply(EventBatch& batch) const {
  for (const auto& operation : operations_) apply_one(operation, batch);
  counters().rows_in.fetch_add(batch.live_count(), std::memory_order_relaxed);
}

void Transform::apply_one(const CompiledTransform& operation, EventBatch& batch) const {
  const std::size_t rows = batch.size();
  Column& target = batch.column(static_cast<std::size_t>(operation.target.slot));
  void* data = target.data<void>();
  std::uint8_t* validity = target.nullable() ? target.validity() : nullptr;
  // Rows this operation may write: all, or (fill_missing_only) the null ones.
  auto writable = [&](std::size_t row) {
    return !operation.fill_missing_only || validity == nullptr || validity[row] == 0;
  };
  auto finish_row = [&](std::size_t row, bool ok) {
    if (validity != nullptr) validity[row] = ok ? 1 : 0;
  };

  switch (operation.source) {
    case CompiledTransform::Source::expression: {
      thread_local std::vector<double> values;
      thread_local std::vector<std::uint8_t> valid;
      values.resize(rows);
      valid.resize(rows);
      evaluate(operation.expression, batch.view(), timestamp_milliseconds(batch.processing_time_ns),
               values.data(), valid.data());
      if (operation.target.type == DataType::float64 && !operation.fill_missing_only) {
        double* out = static_cast<double*>(data);
        for (std::size_t row = 0; row < rows; ++row) out[row] = values[row];
        if (validity != nullptr) {
          for (std::size_t row = 0; row < rows; ++row) validity[row] = valid[row];
        }
        return;
      }
      for (std::size_t row = 0; row < rows; ++row) {
        if (!writable(row)) continue;
        bool ok = valid[row] && store_number(values[row], operation.target.type, data, row);
        finish_row(row, ok);
      }
      return;
    }
    case CompiledTransform::Source::constant:
      for (std::size_t row = 0; row < rows; ++row) {
        if (!writable(row)) continue;
        finish_row(row, store_number(operation.constant, operation.target.type, data, row));
      }
      return;
    case CompiledTransform::Source::now: {
      auto* out = static_cast<std::int64_t*>(data);
      for (std::size_t row = 0; row < rows; ++row) {
        if (!writable(row)) continue;
        out[row] = batch.processing_time_ns;
        finish_row(row, true);
      }
      return;
    }
    case CompiledTransform::Source::cast: {
      ColumnView source = batch.column(static_cast<std::size_t>(operation.cast_from.slot)).view();
      const DataType from = source.type;
      const DataType to = operation.target.type;
      for (std::size_t row = 0; row < rows; ++row) {
        if (!source.valid(row)) {
          finish_row(row, false);
          continue;
        }
        bool ok;
        if (to == DataType::string && from != DataType::string) {
          static_cast<std::int32_t*>(data)[row] =
              strings_.intern(value_text(source, row, operation.cast_from.time_digits));
          ok = true;
        } else if (from == DataType::string && to != DataType::string) {
          double value = 0;
          ok = parse_text(strings_.lookup(source.as<std::int32_t>()[row]), to, value) &&
               store_number(value, to, data, row);
        } else if (from == DataType::timestamp && to == DataType::timestamp) {
          static_cast<std::int64_t*>(data)[row] = source.as<std::int64_t>()[row];
          ok = true;
        } else {
          ok = store_number(read_as_number(source, row), to, data, row);
        }
        finish_row(row, ok);
      }
      return;
    }
  }
}

}  // namespace ldh
