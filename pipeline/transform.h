#pragma once

#include <vector>

#include "pipeline/config.h"
#include "pipeline/expression.h"
#include "pipeline/number_conversion.h"
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

}  // namespace ldh
