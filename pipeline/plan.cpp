#include "pipeline/plan.h"

#include <algorithm>
#include <optional>

#include "pipeline/did_you_mean.h"
#include "pipeline/expression.h"
#include "pipeline/filter.h"
#include "pipeline/time.h"
#include "pipeline/transform.h"

namespace ldh {

int time_digits_for(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::us:
      return 6;
    case TimeUnit::ns:
    case TimeUnit::iso8601:
      return 9;
    default:
      return 3;
  }
}

namespace {

/// Tracks the fields visible at each point of the pipeline and collects problems.
class PlanBuilder {
 public:
  PlanBuilder(std::vector<PlanField>& fields, std::vector<ConfigDiagnostic>& problems,
              StringDictionary& strings)
      : fields_(fields), problems_(problems), strings_(strings) {}

  PlanField* find(std::string_view name) {
    for (auto& field : fields_) {
      if (field.name == name) return &field;
    }
    return nullptr;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> names;
    for (const auto& field : fields_) names.push_back(field.name);
    return names;
  }

  void problem(const SourceLocation& where, std::string message) {
    problems_.push_back({where, std::move(message)});
  }

  /// Finds a field a rule or operation names, reporting it when absent.
  PlanField* require(std::string_view name, const SourceLocation& where, std::string_view what) {
    PlanField* field = find(name);
    if (field == nullptr) {
      problem(where, std::string(what) + " names unknown field '" + std::string(name) + "'" +
                         did_you_mean(name, names()));
    }
    return field;
  }

  std::optional<CompiledExpression> compile(const std::string& text, const SourceLocation& where) {
    FieldResolver resolver = [this](std::string_view name) -> std::optional<ExpressionField> {
      const PlanField* field = find(name);
      if (field == nullptr) return std::nullopt;
      return ExpressionField{field->slot, field->type, field->nullable};
    };
    try {
      return compile_expression(text, resolver, strings_);
    } catch (const ExpressionError& error) {
      SourceLocation at = where;
      // Expressions sit on one line in practice; point at the offending character.
      if (at.line > 0 && text.find('\n') == std::string::npos) {
        at.column += static_cast<int>(error.offset());
      }
      problem(at, "in expression \"" + text + "\": " + error.what());
      return std::nullopt;
    }
  }

  /// True when every slot the expression reads is non-nullable.
  bool never_null(const CompiledExpression& expression) const {
    for (int slot : expression.input_slots) {
      for (const auto& field : fields_) {
        if (field.slot == slot && field.nullable) return false;
      }
    }
    return true;
  }

  StringDictionary& strings() { return strings_; }

 private:
  std::vector<PlanField>& fields_;
  std::vector<ConfigDiagnostic>& problems_;
  StringDictionary& strings_;
};

DataType type_of(ValueKind kind) {
  switch (kind) {
    case ValueKind::boolean:
      return DataType::boolean;
    case ValueKind::string:
      return DataType::string;
    default:
      return DataType::float64;
  }
}

/// Tells whether converting a value of `from` to `to` can fail for some rows.
bool conversion_can_fail(DataType from, DataType to) {
  if (to == DataType::float64 || to == DataType::float32 || to == DataType::boolean) {
    return from == DataType::string;
  }
  if (to == DataType::string) return false;
  if (from == to) return false;
  if (to == DataType::int64 && (from == DataType::int32 || from == DataType::boolean)) return false;
  if (to == DataType::int32 && from == DataType::boolean) return false;
  return true;
}

std::string describe(const Literal& literal) {
  if (std::holds_alternative<std::string>(literal)) return "a string";
  if (std::holds_alternative<bool>(literal)) return "a boolean";
  return "a number";
}

}  // namespace

int Plan::add_slot(DataType type, bool nullable) {
  slots_.push_back({type, nullable});
  return static_cast<int>(slots_.size()) - 1;
}

Plan::Plan(const Config& config, StringDictionary& strings) : schema_(config.format.schema) {
  std::vector<ConfigDiagnostic> problems;
  std::vector<PlanField> fields;
  for (const auto& field : schema_.fields) {
    int slot = add_slot(field.type, !field.required);
    input_slots_.push_back(slot);
    fields.push_back(
        {field.name, slot, field.type, !field.required, time_digits_for(field.time_unit)});
  }
  PlanBuilder builder(fields, problems, strings);
  std::uint8_t next_code = kRejectedBase;

  for (std::size_t index = 0; index < config.pipeline.size(); ++index) {
    const StageConfig& stage = config.pipeline[index];
    std::string name = stage.name.empty() ? "stage-" + std::to_string(index) : stage.name;
    if (stage.type == StageType::filter) {
      if (next_code == kRejectedBase + kMaxFilterStages) {
        builder.problem(stage.where, "too many filter stages (at most " +
                                         std::to_string(kMaxFilterStages) + ")");
        continue;
      }
      std::vector<CompiledFilterRule> rules;
      for (const auto& rule : stage.filter.rules) {
        CompiledFilterRule compiled;
        compiled.op = rule.op;
        if (rule.op == FilterOperator::condition) {
          auto expression = builder.compile(rule.condition, rule.condition_where);
          if (!expression) continue;
          if (expression->result != ValueKind::boolean) {
            builder.problem(
                rule.condition_where,
                "a filter condition must be true or false (a comparison), not a " +
                    std::string(expression->result == ValueKind::string ? "string" : "number"));
            continue;
          }
          compiled.condition = std::move(*expression);
          rules.push_back(std::move(compiled));
          continue;
        }
        PlanField* field = builder.require(rule.field, rule.where, "filter rule");
        if (field == nullptr) continue;
        compiled.field = *field;
        bool type_ok = true;
        std::vector<double> numbers;
        for (const auto& value : rule.values) {
          if (field->type == DataType::string) {
            if (!std::holds_alternative<std::string>(value))
              type_ok = false;
            else
              numbers.push_back(strings.intern(std::get<std::string>(value)));
          } else if (field->type == DataType::boolean) {
            if (!std::holds_alternative<bool>(value))
              type_ok = false;
            else
              numbers.push_back(std::get<bool>(value) ? 1 : 0);
          } else if (field->type == DataType::timestamp &&
                     std::holds_alternative<std::string>(value)) {
            // A timestamp compares in milliseconds since the epoch, as in expressions.
            auto nanoseconds = parse_iso8601(std::get<std::string>(value));
            if (!nanoseconds)
              type_ok = false;
            else
              numbers.push_back(timestamp_milliseconds(*nanoseconds));
          } else if (!std::holds_alternative<double>(value)) {
            type_ok = false;
          } else {
            numbers.push_back(std::get<double>(value));
          }
          if (!type_ok) {
            builder.problem(rule.where, "filter rule on " + std::string(to_string(field->type)) +
                                            " field '" + field->name + "' has " + describe(value) +
                                            " value");
            break;
          }
        }
        if (!type_ok) continue;
        bool ordered = rule.op == FilterOperator::range || rule.op == FilterOperator::gt ||
                       rule.op == FilterOperator::ge || rule.op == FilterOperator::lt ||
                       rule.op == FilterOperator::le;
        if (ordered && (field->type == DataType::string || field->type == DataType::boolean)) {
          builder.problem(rule.where, "operator needs an ordered field, but '" + field->name +
                                          "' is a " + std::string(to_string(field->type)));
          continue;
        }
        if (rule.op == FilterOperator::in || rule.op == FilterOperator::not_in) {
          std::sort(numbers.begin(), numbers.end());
          compiled.set = std::move(numbers);
        } else if (!numbers.empty()) {
          compiled.low = numbers.front();
          compiled.high = numbers.back();
        }
        rules.push_back(std::move(compiled));
      }
      std::uint8_t code = next_code++;
      reject_targets_.push_back({code, name, stage.filter.reject_path, fields});
      operators_.push_back(
          std::make_unique<Filter>(name, std::move(rules), stage.filter.combine, code));
      continue;
    }

    std::vector<CompiledTransform> operations;
    for (const auto& operation : stage.transform.operations) {
      switch (operation.kind) {
        case TransformKind::rename: {
          PlanField* field = builder.require(operation.field, operation.where, "rename");
          if (field == nullptr) break;
          if (builder.find(operation.to) != nullptr) {
            builder.problem(operation.where, "rename target '" + operation.to + "' already exists");
            break;
          }
          field->name = operation.to;
          break;
        }
        case TransformKind::drop: {
          if (builder.require(operation.field, operation.where, "drop") == nullptr) break;
          std::erase_if(fields, [&](const PlanField& f) { return f.name == operation.field; });
          break;
        }
        case TransformKind::cast: {
          PlanField* field = builder.require(operation.field, operation.where, "cast");
          if (field == nullptr || !operation.type) break;
          CompiledTransform compiled;
          compiled.source = CompiledTransform::Source::cast;
          compiled.cast_from = *field;
          DataType to = *operation.type;
          bool nullable = field->nullable || conversion_can_fail(field->type, to);
          int slot = add_slot(to, nullable);
          compiled.target = {field->name, slot, to, nullable,
                             to == DataType::timestamp ? 3 : field->time_digits};
          *field = compiled.target;
          operations.push_back(std::move(compiled));
          break;
        }
        case TransformKind::add_field:
        case TransformKind::calculate: {
          CompiledTransform compiled;
          DataType type = DataType::float64;
          bool nullable = false;
          if (operation.now) {
            compiled.source = CompiledTransform::Source::now;
            type = DataType::timestamp;
          } else if (operation.constant) {
            compiled.source = CompiledTransform::Source::constant;
            const Literal& value = *operation.constant;
            if (std::holds_alternative<std::string>(value)) {
              type = DataType::string;
              compiled.constant = strings.intern(std::get<std::string>(value));
            } else if (std::holds_alternative<bool>(value)) {
              type = DataType::boolean;
              compiled.constant = std::get<bool>(value) ? 1 : 0;
            } else {
              compiled.constant = std::get<double>(value);
            }
          } else {
            auto expression = builder.compile(operation.expression, operation.expression_where);
            if (!expression) break;
            type = type_of(expression->result);
            nullable = !builder.never_null(*expression);
            compiled.expression = std::move(*expression);
          }
          if (operation.type) {
            bool numeric_result = type == DataType::float64;
            if (!numeric_result && *operation.type != type) {
              builder.problem(operation.where, "cannot store a " + std::string(to_string(type)) +
                                                   " result as " +
                                                   std::string(to_string(*operation.type)));
              break;
            }
            nullable = nullable || conversion_can_fail(type, *operation.type);
            type = *operation.type;
          }
          PlanField* existing = builder.find(operation.field);
          if (operation.kind == TransformKind::add_field && existing != nullptr) {
            // add-field fills the field where it is missing and keeps present values.
            if (!existing->nullable) break;
            bool numeric_into_numeric = type == DataType::float64 && is_numeric(existing->type);
            if (existing->type != type && !numeric_into_numeric) {
              builder.problem(operation.where, "add-field on existing " +
                                                   std::string(to_string(existing->type)) +
                                                   " field '" + existing->name + "' with a " +
                                                   std::string(to_string(type)) + " value");
              break;
            }
            compiled.fill_missing_only = true;
            compiled.target = *existing;
            operations.push_back(std::move(compiled));
            break;
          }
          int slot = add_slot(type, nullable);
          compiled.target = {operation.field, slot, type, nullable, 3};
          if (existing != nullptr) {
            *existing = compiled.target;
          } else {
            fields.push_back(compiled.target);
          }
          operations.push_back(std::move(compiled));
          break;
        }
      }
    }
    operators_.push_back(std::make_unique<Transform>(name, std::move(operations), strings));
  }
  if (slots_.size() > kMaxSlots) {
    problems.push_back({config.format.where, "the pipeline needs " + std::to_string(slots_.size()) +
                                                 " columns; at most " + std::to_string(kMaxSlots) +
                                                 " are supported"});
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
  output_fields_ = std::move(fields);
}

void Plan::apply(EventBatch& batch) const {
  for (const auto& op : operators_) op->apply(batch);
}

}  // namespace ldh
