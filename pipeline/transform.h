#pragma once

#include <vector>

#include "pipeline/config.h"
#include "pipeline/expression.h"
#include "pipeline/operator.h"
#include "pipeline/string_dictionary.h"

namespace ldh {

/// One transform operation that writes a column (rename and drop only change the plan's names
/// and never reach a batch).
struct CompiledTransform {
  enum class Source : std::uint8_t { expression, constant, now, cast };
  Source source = Source::expression;
  PlanField target;
  /// add-field on a field that already exists: write only where it is null.
  bool fill_missing_only = false;
  CompiledExpression expression;
  double constant = 0;  // numbers, booleans as 0/1, strings as dictionary ids
  PlanField cast_from;
};

/// Adds, recomputes and converts fields. Values that cannot be represented in the target type
/// (NaN or out of range for an integer, unparseable text) become null.
class Transform final : public Operator {
 public:
  Transform(std::string name, std::vector<CompiledTransform> operations, StringDictionary& strings);
  void apply(EventBatch& batch) const override;
  const std::vector<CompiledTransform>& operations() const { return operations_; }

 private:
  void apply_one(const CompiledTransform& operation, EventBatch& batch) const;
  std::vector<CompiledTransform> operations_;
  StringDictionary& strings_;
};

/// Reads one value as a number the way expressions do: integers and floats as double, booleans
/// as 0/1, strings as their dictionary id, timestamps as milliseconds since the epoch.
double read_as_number(const ColumnView& column, std::size_t row);

/// Converts a number (a computed value, or a timestamp in milliseconds since the epoch) into
/// one row of a column of `type`; false when it does not fit (the row becomes null).
bool store_number(double value, DataType type, void* data, std::size_t row);

}  // namespace ldh
