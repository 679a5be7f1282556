#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/batch.h"
#include "pipeline/config.h"
#include "pipeline/operator.h"
#include "pipeline/string_dictionary.h"

namespace ldh {

/// Where rows rejected by one filter stage go.
struct RejectTarget {
  std::uint8_t code = 0;  // the selection code the stage marks rows with
  std::string stage;
  std::string path;               // empty: counted only
  std::vector<PlanField> fields;  // the fields visible at that stage
};

/// The compiled pipeline: column slots, which schema field fills which slot, the operators in
/// order, and the fields that reach the output. Built once per run and shared by all threads.
class Plan {
 public:
  /// Compiles `config`; throws ConfigError (with FILE:LINE:COL) for anything that cannot run,
  /// such as an unknown field or an expression that does not type-check.
  Plan(const Config& config, StringDictionary& strings);

  const Schema& schema() const { return schema_; }
  const std::vector<SlotSpec>& slots() const { return slots_; }
  /// Maps schema field index to the slot a decoder fills.
  const std::vector<int>& input_slots() const { return input_slots_; }
  const std::vector<std::unique_ptr<Operator>>& operators() const { return operators_; }
  const std::vector<PlanField>& output_fields() const { return output_fields_; }
  const std::vector<RejectTarget>& reject_targets() const { return reject_targets_; }
  /// Applies every operator in order to the batch's live rows.
  void apply(EventBatch& batch) const;

 private:
  int add_slot(DataType type, bool nullable);
  Schema schema_;
  std::vector<SlotSpec> slots_;
  std::vector<int> input_slots_;
  std::vector<std::unique_ptr<Operator>> operators_;
  std::vector<PlanField> output_fields_;
  std::vector<RejectTarget> reject_targets_;
};

/// Digits after the seconds for printing a timestamp read in `unit`.
int time_digits_for(TimeUnit unit);

}  // namespace ldh
