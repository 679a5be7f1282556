#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "pipeline/batch.h"
#include "pipeline/types.h"

namespace ldh {

/// A field as a stage sees it: its name bound to a column slot.
struct PlanField {
  std::string name;
  int slot = -1;
  DataType type = DataType::float64;
  bool nullable = false;
  /// Digits after the seconds when a timestamp is printed (3, 6 or 9).
  int time_digits = 3;
};

/// Counts what one stage saw and rejected; shared by all worker threads.
struct OperatorCounters {
  std::atomic<std::uint64_t> rows_in{0};
  std::atomic<std::uint64_t> rows_rejected{0};
};

/// One pipeline stage, applied in place to the live rows of a batch. Implementations hold only
/// immutable compiled state (plus atomic counters), so one instance serves every thread.
class Operator {
 public:
  explicit Operator(std::string name) : name_(std::move(name)) {}
  virtual ~Operator() = default;
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  virtual void apply(EventBatch& batch) const = 0;
  const std::string& name() const { return name_; }
  OperatorCounters& counters() const { return counters_; }

 private:
  std::string name_;
  mutable OperatorCounters counters_;
};

}  // namespace ldh
