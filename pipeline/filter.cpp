#include "pipeline/filter.h"

#include <algorithm>

#include "pipeline/filter_set.h"

namespace ldh {

namespace {

/// Reads a column value the way expressions do (timestamps as milliseconds since the epoch), so
/// a rule and the equivalent condition agree.
template <typename T>
struct AsDouble {
  double operator()(T value) const { return static_cast<double>(value); }
};
struct TimestampAsMilliseconds {
  double operator()(std::int64_t nanoseconds) const { return timestamp_milliseconds(nanoseconds); }
};

template <typename T, typename Read, typename Predicate>
void evaluate_values(const void* data, std::size_t rows, std::uint8_t* result, Read read,
                     Predicate predicate) {
  const T* values = static_cast<const T*>(data);
  for (std::size_t row = 0; row < rows; ++row) {
    result[row] = predicate(read(values[row])) ? 1 : 0;
  }
}

template <typename Predicate>
void evaluate_column(const ColumnView& column, std::size_t rows, std::uint8_t* result,
                     Predicate predicate) {
  switch (column.type) {
    case DataType::int32:
      return evaluate_values<std::int32_t>(column.data, rows, result, AsDouble<std::int32_t>{},
                                           predicate);
    case DataType::int64:
      return evaluate_values<std::int64_t>(column.data, rows, result, AsDouble<std::int64_t>{},
                                           predicate);
    case DataType::float32:
      return evaluate_values<float>(column.data, rows, result, AsDouble<float>{}, predicate);
    case DataType::float64:
      return evaluate_values<double>(column.data, rows, result, AsDouble<double>{}, predicate);
    case DataType::boolean:
      return evaluate_values<std::uint8_t>(column.data, rows, result, AsDouble<std::uint8_t>{},
                                           predicate);
    case DataType::string:
      return evaluate_values<std::int32_t>(column.data, rows, result, AsDouble<std::int32_t>{},
                                           predicate);
    case DataType::timestamp:
      return evaluate_values<std::int64_t>(column.data, rows, result, TimestampAsMilliseconds{},
                                           predicate);
  }
}

bool contains(const std::vector<double>& set, double value) {
  return set_contains(set.data(), static_cast<std::uint32_t>(set.size()), value);
}

void evaluate_rule(const CompiledFilterRule& rule, EventBatch& batch, std::uint8_t* result,
                   std::vector<double>& scratch) {
  const std::size_t rows = batch.size();
  if (rule.op == FilterOperator::condition) {
    scratch.resize(rows);
    evaluate(rule.condition, batch.view(), timestamp_milliseconds(batch.processing_time_ns),
             scratch.data(), result);
    for (std::size_t row = 0; row < rows; ++row) {
      double value = scratch[row];
      result[row] = static_cast<std::uint8_t>(result[row] & (value != 0 && value == value));
    }
    return;
  }
  ColumnView column = batch.column(static_cast<std::size_t>(rule.field.slot)).view();
  const double low = rule.low;
  const double high = rule.high;
  switch (rule.op) {
    case FilterOperator::range:
      evaluate_column(column, rows, result, [=](double x) { return x >= low && x <= high; });
      break;
    case FilterOperator::eq:
      evaluate_column(column, rows, result, [=](double x) { return x == low; });
      break;
    case FilterOperator::ne:
      evaluate_column(column, rows, result, [=](double x) { return x != low && x == x; });
      break;
    case FilterOperator::gt:
      evaluate_column(column, rows, result, [=](double x) { return x > low; });
      break;
    case FilterOperator::ge:
      evaluate_column(column, rows, result, [=](double x) { return x >= low; });
      break;
    case FilterOperator::lt:
      evaluate_column(column, rows, result, [=](double x) { return x < low; });
      break;
    case FilterOperator::le:
      evaluate_column(column, rows, result, [=](double x) { return x <= low; });
      break;
    case FilterOperator::in:
      evaluate_column(column, rows, result, [&](double x) { return contains(rule.set, x); });
      break;
    case FilterOperator::not_in:
      evaluate_column(column, rows, result,
                      [&](double x) { return !contains(rule.set, x) && x == x; });
      break;
    case FilterOperator::exists:
      std::fill(result, result + rows, std::uint8_t{1});
      break;
    case FilterOperator::condition:
      break;
  }
  if (column.validity != nullptr) {
    for (std::size_t row = 0; row < rows; ++row) result[row] &= column.validity[row];
  }
}

}  // namespace

Filter::Filter(std::string name, std::vector<CompiledFilterRule> rules, FilterCombine combine,
               std::uint8_t reject_code)
    : Operator(std::move(name)),
      rules_(std::move(rules)),
      combine_(combine),
      reject_code_(reject_code) {}

void Filter::apply(EventBatch& batch) const {
  const std::size_t rows = batch.size();
  thread_local std::vector<std::uint8_t> pass;
  thread_local std::vector<std::uint8_t> result;
  thread_local std::vector<double> scratch;
  pass.assign(rows, combine_ == FilterCombine::all ? 1 : 0);
  result.resize(rows);
  // Plain pointers, not the thread_local vectors, in the loops: so they vectorise.
  std::uint8_t* const passed = pass.data();
  const std::uint8_t* const matched = result.data();
  for (const auto& rule : rules_) {
    evaluate_rule(rule, batch, result.data(), scratch);
    if (combine_ == FilterCombine::all) {
      for (std::size_t row = 0; row < rows; ++row) passed[row] &= matched[row];
    } else {
      for (std::size_t row = 0; row < rows; ++row) passed[row] |= matched[row];
    }
  }
  std::uint8_t* const selection = batch.selection();
  const std::uint8_t reject_code = reject_code_;
  std::size_t live = 0;
  std::size_t rejected = 0;
  for (std::size_t row = 0; row < rows; ++row) {
    const std::uint8_t state = selection[row];
    const std::uint8_t is_live = state == kLive;
    const std::uint8_t reject = is_live & (passed[row] == 0);
    live += is_live;
    rejected += reject;
    selection[row] = reject != 0 ? reject_code : state;
  }
  counters().rows_in.fetch_add(live, std::memory_order_relaxed);
  counters().rows_rejected.fetch_add(rejected, std::memory_order_relaxed);
}

}  // namespace ldh
