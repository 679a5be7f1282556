#pragma once

#include <vector>

#include "pipeline/config.h"
#include "pipeline/expression.h"
#include "pipeline/operator.h"

namespace ldh {

/// One filter rule compiled against the fields visible at its stage.
struct CompiledFilterRule {
  FilterOperator op = FilterOperator::eq;
  PlanField field;
  double low = 0;                // range low; the value of eq/ne/gt/ge/lt/le
  double high = 0;               // range high
  std::vector<double> set;       // in / not_in, sorted (numbers, string ids or 0/1)
  CompiledExpression condition;  // op == condition
};

/// Keeps the live rows that pass all (or any) rules; marks the others rejected by this stage.
/// A rule on a null value fails, except `exists`, which tests exactly that. A NaN value fails
/// every comparison, `ne` and `not_in` included, as in expressions.
class Filter final : public Operator {
 public:
  Filter(std::string name, std::vector<CompiledFilterRule> rules, FilterCombine combine,
         std::uint8_t reject_code);
  void apply(EventBatch& batch) const override;
  const std::vector<CompiledFilterRule>& rules() const { return rules_; }
  FilterCombine combine() const { return combine_; }
  std::uint8_t reject_code() const { return reject_code_; }

 private:
  std::vector<CompiledFilterRule> rules_;
  FilterCombine combine_;
  std::uint8_t reject_code_;
};

}  // namespace ldh
