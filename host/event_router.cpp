#include "host/event_router.h"

#include <algorithm>

#include "host/elasticsearch_sink.h"
#include "pipeline/did_you_mean.h"
#include "pipeline/json_writer.h"

namespace ldh {

namespace {

std::string_view priority_name(EventPriority priority) {
  switch (priority) {
    case EventPriority::high:
      return "high";
    case EventPriority::medium:
      return "medium";
    case EventPriority::low:
      return "low";
  }
  return "medium";
}

const PlanField* find_field(const std::vector<PlanField>& fields, std::string_view name) {
  for (const auto& field : fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

std::vector<std::string> names_of(const std::vector<PlanField>& fields) {
  std::vector<std::string> names;
  for (const auto& field : fields) names.push_back(field.name);
  return names;
}

/// Moves `where` to `offset` characters into a one-line text that starts there.
SourceLocation at_offset(SourceLocation where, std::string_view text, std::size_t offset) {
  if (where.line > 0 && text.find('\n') == std::string_view::npos) {
    where.column += static_cast<int>(offset);
  }
  return where;
}

}  // namespace

EventRouter::EventRouter(const Config& config, const Plan& plan, StringDictionary& strings)
    : strings_(strings) {
  std::vector<ConfigDiagnostic> problems;
  const std::vector<PlanField>& output = plan.output_fields();
  const EventsConfig& events = config.events;

  if (!events.type_field.empty()) {
    const PlanField* field = find_field(output, events.type_field);
    if (field == nullptr || field->type != DataType::string) {
      problems.push_back({events.where, "events.typeField: '" + events.type_field +
                                            "' is not a string field leaving the pipeline"});
    } else {
      type_slot_ = field->slot;
    }
  }
  for (const auto& type_config : events.types) {
    EventType& type = types_.emplace_back();
    type.name = type_config.name;
    type.priority = type_config.priority;
    if (type_slot_ >= 0) type.name_id = strings.intern(type.name);
    if (type_config.fields.empty()) {
      type.fields = output;
      continue;
    }
    for (const auto& name : type_config.fields) {
      if (const PlanField* field = find_field(output, name)) {
        type.fields.push_back(*field);
      } else {
        problems.push_back({type_config.where, "event type '" + type.name +
                                                   "': its schema names unknown field '" + name +
                                                   "'" + did_you_mean(name, names_of(output))});
      }
    }
  }

  for (std::size_t index = 0; index < events.rules.size(); ++index) {
    const EventRuleConfig& rule_config = events.rules[index];
    const std::string what = "events.routing.rules[" + std::to_string(index) + "]";
    const auto found = std::find_if(types_.begin(), types_.end(), [&](const EventType& type) {
      return type.name == rule_config.event;
    });
    if (found == types_.end()) {
      problems.push_back(
          {rule_config.where, what + ": unknown event type '" + rule_config.event + "'"});
      continue;
    }
    Rule rule;
    rule.type = static_cast<std::size_t>(found - types_.begin());
    const EventType& type = *found;

    if (!rule_config.condition.empty()) {
      const std::string& text = rule_config.condition;
      std::string first_missing;
      FieldResolver resolver = [&](std::string_view name) -> std::optional<ExpressionField> {
        if (const PlanField* field = find_field(type.fields, name)) {
          return ExpressionField{field->slot, field->type, field->nullable};
        }
        if (first_missing.empty()) first_missing = name;
        return std::nullopt;
      };
      try {
        CompiledExpression compiled = compile_expression(text, resolver, strings);
        if (compiled.result != ValueKind::boolean) {
          problems.push_back(
              {rule_config.condition_where,
               what +
                   ".condition: a condition must be true or false (a "
                   "comparison), not a " +
                   std::string(compiled.result == ValueKind::string ? "string" : "number")});
        } else {
          rule.condition = std::move(compiled);
        }
      } catch (const ExpressionError& error) {
        std::string message = "in expression \"" + text + "\": " + error.what();
        if (!first_missing.empty() && find_field(output, first_missing) != nullptr) {
          message = "in expression \"" + text + "\": field '" + first_missing +
                    "' is not in the schema of event type '" + type.name +
                    "' (fields: " + join_names(names_of(type.fields)) + "); add it there";
        }
        problems.push_back({at_offset(rule_config.condition_where, text, error.offset()),
                            what + ".condition: " + message});
      }
    }

    // The message: literal text with {field} placeholders; {{ and }} stand for braces.
    const std::string& message = rule_config.message;
    std::string literal;
    for (std::size_t i = 0; i < message.size(); ++i) {
      const char c = message[i];
      if ((c == '{' || c == '}') && i + 1 < message.size() && message[i + 1] == c) {
        literal += c;
        ++i;
        continue;
      }
      if (c == '}') {
        problems.push_back({at_offset(rule_config.message_where, message, i),
                            what + ".message: a lone '}'; write '}}' for a brace"});
        break;
      }
      if (c != '{') {
        literal += c;
        continue;
      }
      const std::size_t close = message.find('}', i);
      if (close == std::string::npos) {
        problems.push_back({at_offset(rule_config.message_where, message, i),
                            what + ".message: '{' opens a placeholder that no '}' closes; write "
                                   "'{{' for a brace"});
        break;
      }
      const std::string name = message.substr(i + 1, close - i - 1);
      const PlanField* field = find_field(type.fields, name);
      if (field == nullptr) {
        problems.push_back({at_offset(rule_config.message_where, message, i + 1),
                            what + ".message: placeholder {" + name +
                                "} names no field of event type '" + type.name + "'" +
                                did_you_mean(name, names_of(type.fields)) +
                                "; fields: " + join_names(names_of(type.fields))});
        break;
      }
      if (!literal.empty()) rule.message.push_back({std::move(literal), -1, {}});
      literal.clear();
      rule.message.push_back({"", static_cast<int>(placeholder_fields_.size()), *field});
      placeholder_fields_.push_back(*field);
      i = close;
    }
    if (message.empty()) {
      literal = type.name;
      if (!rule_config.condition.empty()) literal += ": " + rule_config.condition;
    }
    if (!literal.empty()) rule.message.push_back({std::move(literal), -1, {}});

    rule.members = "\",\"event\":";
    append_json_string(rule.members, type.name);
    rule.members += ",\"priority\":\"";
    rule.members += priority_name(type.priority);
    rule.members += "\",\"rule\":" + std::to_string(index) + ",\"text\":";
    rule.id_prefix = type.name + "\n" + std::to_string(index) + "\n";
    rules_.push_back(std::move(rule));
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
}

EventRouter::Scratch EventRouter::make_scratch() const {
  Scratch scratch;
  for (const auto& type : types_) scratch.records.emplace_back(type.fields, strings_);
  for (const auto& field : placeholder_fields_) {
    scratch.placeholders.emplace_back(std::vector<PlanField>{field}, strings_);
  }
  return scratch;
}

void EventRouter::append_message(const Rule& rule, const EventBatch& batch, std::size_t row,
                                 Scratch& scratch) const {
  std::string& text = scratch.text;
  text.clear();
  for (const auto& part : rule.message) {
    if (part.placeholder < 0) {
      text += part.text;
      continue;
    }
    const Column& column = batch.column(static_cast<std::size_t>(part.field.slot));
    const bool present = !column.nullable() || column.validity()[row] != 0;
    if (present && part.field.type == DataType::string) {
      text += strings_.lookup(column.data<std::int32_t>()[row]);
      continue;
    }
    // Every other value as the record prints it, timestamps without their quotes.
    std::string& value = scratch.value;
    value.clear();
    scratch.placeholders[static_cast<std::size_t>(part.placeholder)].append_row(batch, row, value);
    std::string_view token(value);
    token.remove_prefix(token.find(':') + 1);  // `{"name":`; names have no ':'
    token.remove_suffix(2);                    // `}` and the newline
    if (token.size() >= 2 && token.front() == '"') token = token.substr(1, token.size() - 2);
    text += token;
  }
}

void EventRouter::route(EventBatch& batch, Scratch& scratch, std::vector<RoutedEvent>& out) const {
  const std::size_t rows = batch.size();
  if (rows == 0 || rules_.empty()) return;
  scratch.values.resize(rules_.size() * rows);
  scratch.valid.resize(rules_.size() * rows);
  const EventBatchView view = batch.view();
  const double now_ms = timestamp_milliseconds(batch.processing_time_ns);
  for (std::size_t r = 0; r < rules_.size(); ++r) {
    if (rules_[r].condition) {
      evaluate(*rules_[r].condition, view, now_ms, scratch.values.data() + r * rows,
               scratch.valid.data() + r * rows);
    }
  }
  const std::int32_t* type_ids = nullptr;
  const std::uint8_t* type_valid = nullptr;
  if (type_slot_ >= 0) {
    const Column& column = batch.column(static_cast<std::size_t>(type_slot_));
    type_ids = column.data<std::int32_t>();
    type_valid = column.nullable() ? column.validity() : nullptr;
  }
  const std::uint8_t* selection = batch.selection();
  for (std::size_t row = 0; row < rows; ++row) {
    if (selection[row] != kLive) continue;
    for (std::size_t r = 0; r < rules_.size(); ++r) {
      const Rule& rule = rules_[r];
      const EventType& type = types_[rule.type];
      if (type_ids != nullptr &&
          ((type_valid != nullptr && type_valid[row] == 0) || type_ids[row] != type.name_id)) {
        continue;
      }
      if (rule.condition &&
          (scratch.valid[r * rows + row] == 0 || !truth(scratch.values[r * rows + row]))) {
        continue;
      }
      std::string& record = scratch.record;
      record.clear();
      scratch.records[rule.type].append_row(batch, row, record);
      record.pop_back();  // the newline
      append_message(rule, batch, row, scratch);
      RoutedEvent& event = out.emplace_back();
      event.rule = static_cast<std::uint32_t>(r);
      std::string& text = event.event;
      text.reserve(record.size() + scratch.text.size() + rule.members.size() + 96);
      text = "{\"type\":\"event\",\"id\":\"";
      text += sha256_id(rule.id_prefix + record);
      text += rule.members;
      append_json_string(text, scratch.text);
      text += ",\"record\":";
      text += record;
      text += '}';
    }
  }
}

}  // namespace ldh
