#pragma once

// Builds a plan from a small schema and a pipeline snippet, and a batch filled by hand, so
// operator tests need no decoder.

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/batch.h"
#include "pipeline/config.h"
#include "pipeline/plan.h"

namespace ldh::testing {

/// One input row of the fixture schema: t float64, n int32 (optional), s string, b bool,
/// when timestamp (ms).
struct FixtureRow {
  double t = 0;
  std::optional<std::int32_t> n;
  std::string s;
  bool b = false;
  std::int64_t when_ms = 0;
};

inline std::string fixture_config(const std::string& pipeline) {
  return R"yaml(
input:
  sources: [{type: generator}]
  format:
    type: json
    schema:
      fields:
        - {name: t, type: float64, allowNaN: true}
        - {name: n, type: int32, required: false}
        - {name: s, type: string}
        - {name: b, type: bool}
        - {name: when, type: timestamp, unit: ms}
processing:
  pipeline:
)yaml" + pipeline +
         R"yaml(
output:
  destinations: [{type: stdout}]
)yaml";
}

class OperatorFixture {
 public:
  OperatorFixture(const std::string& pipeline, const std::vector<FixtureRow>& rows)
      : config_(parse_config(fixture_config(pipeline), "fixture.yaml")),
        plan_(std::make_unique<Plan>(config_, strings_)),
        batch_(plan_->slots(), std::max<std::size_t>(rows.size(), 1), page_aligned_memory()) {
    batch_.resize(rows.size());
    batch_.processing_time_ns = 1'800'000'000'123'456'789;
    const auto& slots = plan_->input_slots();
    for (std::size_t row = 0; row < rows.size(); ++row) {
      batch_.column(slots[0]).data<double>()[row] = rows[row].t;
      Column& n = batch_.column(slots[1]);
      n.data<std::int32_t>()[row] = rows[row].n.value_or(0);
      n.validity()[row] = rows[row].n.has_value();
      batch_.column(slots[2]).data<std::int32_t>()[row] = strings_.intern(rows[row].s);
      batch_.column(slots[3]).data<std::uint8_t>()[row] = rows[row].b;
      batch_.column(slots[4]).data<std::int64_t>()[row] = rows[row].when_ms * 1'000'000;
    }
  }

  void apply() { plan_->apply(batch_); }
  EventBatch& batch() { return batch_; }
  const Plan& plan() const { return *plan_; }
  StringDictionary& strings() { return strings_; }

  /// Returns the selection byte of every row.
  std::vector<int> selection() const {
    std::vector<int> codes;
    for (std::size_t row = 0; row < batch_.size(); ++row) codes.push_back(batch_.selection()[row]);
    return codes;
  }

  /// Returns the output field called `name`.
  const PlanField& field(const std::string& name) const {
    for (const auto& field : plan_->output_fields()) {
      if (field.name == name) return field;
    }
    throw std::runtime_error("no output field " + name);
  }

 private:
  Config config_;
  StringDictionary strings_;
  std::unique_ptr<Plan> plan_;
  EventBatch batch_;
};

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace ldh::testing
