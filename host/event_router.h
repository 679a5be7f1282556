#pragma once

// Routing rows that leave the pipeline to event handlers (`events.routing.rules`): each rule's
// condition is compiled once with the expression compiler filters use and evaluated column at
// a time on the pipeline's worker threads; every live row for which a rule holds becomes one
// event, a JSON object that the event processor hands to the rule's action. See docs/events.md.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host/event_json.h"
#include "pipeline/batch.h"
#include "pipeline/config.h"
#include "pipeline/expression.h"
#include "pipeline/plan.h"
#include "pipeline/string_dictionary.h"

namespace ldh {

/// One event a rule made of a row: the rule's index in `events.routing.rules` and the event as
/// one JSON object (docs/events.md#events), no newline.
struct RoutedEvent {
  std::uint32_t rule = 0;
  std::string event;
};

/// Compiles `events.routing.rules` against the fields leaving the pipeline and turns live rows
/// into events. Immutable once built: route() runs on every worker thread, each with its own
/// Scratch.
class EventRouter {
 public:
  /// What route() needs per thread: JSON writers (they cache dictionary strings) and buffers.
  struct Scratch {
    std::vector<EventJsonWriter> records;       // per event type
    std::vector<EventJsonWriter> placeholders;  // per message placeholder of every rule
    std::vector<double> values;                 // condition results, rule-major
    std::vector<std::uint8_t> valid;
    std::string record;
    std::string text;
    std::string value;
  };

  /// Compiles the rules of `config.events` against `plan`'s output fields; throws ConfigError
  /// (FILE:LINE:COL) for a condition that does not compile or is not true/false, a field that
  /// is not in the event type's schema, or a malformed message.
  EventRouter(const Config& config, const Plan& plan, StringDictionary& strings);

  Scratch make_scratch() const;
  /// Appends the events of `batch`'s live rows: row by row, and for each row the rules that
  /// hold for it in rule order.
  void route(EventBatch& batch, Scratch& scratch, std::vector<RoutedEvent>& out) const;

  std::size_t rule_count() const { return rules_.size(); }
  /// Returns the priority of the events rule `rule` makes.
  EventPriority priority(std::size_t rule) const { return types_[rules_[rule].type].priority; }

 private:
  struct EventType {
    std::string name;
    EventPriority priority = EventPriority::medium;
    std::vector<PlanField> fields;
    std::int32_t name_id = -1;  // the name's string id, matched against the type field
  };
  /// A piece of a message: literal text, or the value of a field (`placeholder` >= 0).
  struct MessagePart {
    std::string text;
    int placeholder = -1;  // index into Scratch::placeholders
    PlanField field;
  };
  struct Rule {
    std::size_t type = 0;
    std::optional<CompiledExpression> condition;
    std::vector<MessagePart> message;
    /// `{"type":"event","id":"` is followed by the id, then this: the event, priority and
    /// rule members up to and including `"text":`.
    std::string members;
    std::string id_prefix;  // hashed before the record: "<event type>\n<rule>\n"
  };

  void append_message(const Rule& rule, const EventBatch& batch, std::size_t row,
                      Scratch& scratch) const;

  StringDictionary& strings_;
  std::vector<EventType> types_;
  std::vector<Rule> rules_;
  std::vector<PlanField> placeholder_fields_;
  int type_slot_ = -1;  // the type field's column slot
};

}  // namespace ldh
