#include "pipeline/window.h"

#include <algorithm>
#include <limits>

#include "pipeline/did_you_mean.h"
#include "pipeline/json_writer.h"
#include "pipeline/time.h"
#include "pipeline/window_assign.h"

namespace ldh {

namespace {

constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();

/// Adds without overflowing past the int64 range (windows near the ends of time saturate).
std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? kNone : kMinTime;
  return sum;
}

double read_measure(const ColumnView& column, std::size_t row) {
  switch (column.type) {
    case DataType::int32: return column.as<std::int32_t>()[row];
    case DataType::int64: return static_cast<double>(column.as<std::int64_t>()[row]);
    case DataType::float32: return column.as<float>()[row];
    case DataType::float64: return column.as<double>()[row];
    default: return 0;
  }
}

/// Tells whether a metric of a float32 measure is one of its own values, so it prints as float.
bool is_sample_value(MetricConfig::Kind kind) {
  return kind == MetricConfig::Kind::min || kind == MetricConfig::Kind::max ||
         kind == MetricConfig::Kind::first || kind == MetricConfig::Kind::last ||
         kind == MetricConfig::Kind::percentile_disc;
}

bool compare(double value, FilterOperator op, double threshold) {
  switch (op) {
    case FilterOperator::gt: return value > threshold;
    case FilterOperator::ge: return value >= threshold;
    case FilterOperator::lt: return value < threshold;
    case FilterOperator::le: return value <= threshold;
    case FilterOperator::eq: return value == threshold;
    case FilterOperator::ne: return value != threshold;
    default: return false;
  }
}

std::string_view operator_name(FilterOperator op) {
  switch (op) {
    case FilterOperator::gt: return "gt";
    case FilterOperator::ge: return "ge";
    case FilterOperator::lt: return "lt";
    case FilterOperator::le: return "le";
    case FilterOperator::eq: return "eq";
    case FilterOperator::ne: return "ne";
    default: return "?";
  }
}

}  // namespace

/// The state of one window key: events and one accumulator per measure.
struct KeyState {
  std::uint64_t events = 0;
  std::vector<MeasureAccumulator> measures;
};

struct Session {
  std::int64_t start = 0;
  std::int64_t end = 0;  // last event + gap
  KeyState state;        // times relative to start
  std::int32_t revision = -1;  // last emitted revision; -1 = never emitted
  bool pending = true;         // changed since last emitted
};

/// One alert condition bound to a window's columns.
struct BoundAlert {
  const AlertCondition* condition = nullptr;
  std::size_t measure = 0;
  MetricConfig metric;
  std::string column;
};

struct WindowEngine::Spec {
  std::size_t index = 0;
  WindowConfig config;
  std::vector<std::size_t> key_columns;
  std::vector<PlanField> group_fields;
  std::vector<std::size_t> measure_columns;
  std::vector<PlanField> measures;
  MeasureNeeds needs;
  std::vector<BoundAlert> alerts;
  std::int64_t size = 0;
  std::int64_t slide = 0;
  std::int64_t pane = 0;
  std::int64_t gap = 0;

  // Tumbling and sliding windows: pane start -> key -> state; windows are unions of panes.
  std::map<std::int64_t, std::unordered_map<GroupKey, KeyState, GroupKeyHash>> panes;
  std::int64_t next_end = kNone;  // earliest end of a window not yet emitted that has data
  std::map<std::int64_t, std::unordered_map<GroupKey, std::uint32_t, GroupKeyHash>> revisions;

  // Session windows: key -> sessions sorted by start, and the ends waiting for the watermark.
  std::unordered_map<GroupKey, std::vector<Session>, GroupKeyHash> sessions;
  std::multimap<std::int64_t, GroupKey> session_due;
  std::multimap<std::int64_t, GroupKey> session_expiry;

  KeyState empty_state() const {
    KeyState state;
    state.measures.resize(measures.size());
    return state;
  }

  /// Returns the end of the earliest window that contains time t.
  std::int64_t first_end(std::int64_t t) const {
    return align_down(t - size, slide) + slide + size;
  }
  /// Returns the end of the latest window that contains time t.
  std::int64_t last_end(std::int64_t t) const { return align_down(t, slide) + size; }
};

struct WindowEngine::Result {
  std::size_t spec = 0;
  std::int64_t start = 0;
  std::int64_t end = 0;
  GroupKey key;
  std::uint32_t revision = 0;
  std::uint64_t events = 0;
  /// Metric values per (measure, metric), then the alert values.
  std::vector<std::optional<double>> values;
  std::vector<std::optional<double>> alert_values;
};

WindowEngine::WindowEngine(const Config& config, const Plan& plan, const StringDictionary& strings,
                           std::size_t source_count)
    : strings_(strings),
      watermark_config_(config.watermark),
      source_max_(source_count, kMinTime),
      source_seen_(source_count, false),
      source_ended_(source_count, false),
      source_last_wall_(source_count, wall_clock_ns()),
      watermark_(kMinTime) {
  std::vector<ConfigDiagnostic> problems;
  auto find_field = [&](const std::string& name) -> const PlanField* {
    for (const auto& field : plan.output_fields()) {
      if (field.name == name) return &field;
    }
    return nullptr;
  };
  auto names = [&] {
    std::vector<std::string> all;
    for (const auto& field : plan.output_fields()) all.push_back(field.name);
    return all;
  };
  auto column_of = [](std::vector<PlanField>& columns, const PlanField& field) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].slot == field.slot) return i;
    }
    columns.push_back(field);
    return columns.size() - 1;
  };

  if (!config.processing_time && !config.windows.empty()) {
    const Schema& schema = plan.schema();
    if (schema.event_time < 0) {
      problems.push_back({config.windows.front().where,
                          "windows on event time need input.format.schema.eventTime (or "
                          "processing.time: processing)"});
    } else {
      const std::string& name = schema.fields[static_cast<std::size_t>(schema.event_time)].name;
      const PlanField* field = find_field(name);
      if (field == nullptr || field->type != DataType::timestamp) {
        problems.push_back({config.windows.front().where,
                            "the event-time field '" + name +
                                "' must still exist as a timestamp after the pipeline"});
      } else {
        time_field_ = *field;
      }
    }
  }

  for (std::size_t index = 0; index < config.windows.size(); ++index) {
    const WindowConfig& window = config.windows[index];
    auto spec = std::make_unique<Spec>();
    spec->index = index;
    spec->config = window;
    spec->size = window.size_ns;
    spec->slide = window.type == WindowType::sliding ? window.slide_ns : window.size_ns;
    spec->gap = window.gap_ns;
    if (window.type != WindowType::session) spec->pane = pane_length(spec->size, spec->slide);
    if (window.group_by.size() > kMaxGroupFields) {
      problems.push_back({window.where, "at most " + std::to_string(kMaxGroupFields) +
                                            " group-by fields per window"});
      continue;
    }
    for (const auto& name : window.group_by) {
      const PlanField* field = find_field(name);
      if (field == nullptr) {
        problems.push_back({window.where, "window '" + window.name + "' groups by unknown field '" +
                                              name + "'" + did_you_mean(name, names())});
        continue;
      }
      spec->group_fields.push_back(*field);
      spec->key_columns.push_back(column_of(key_fields_, *field));
    }
    for (const auto& name : window.measures) {
      const PlanField* field = find_field(name);
      bool numeric = field != nullptr && is_numeric(field->type) &&
                     field->type != DataType::timestamp;
      if (!numeric && window.default_measures) continue;
      if (!numeric) {
        problems.push_back({window.where, "window '" + window.name + "' measure '" + name +
                                              "' is not a numeric field" +
                                              (field ? "" : did_you_mean(name, names()))});
        continue;
      }
      spec->measures.push_back(*field);
      spec->measure_columns.push_back(column_of(measure_fields_, *field));
    }
    if (spec->measures.empty() && window.default_measures) {
      problems.push_back({window.where, "window '" + window.name +
                                            "' has no numeric field to measure"});
    }
    bool alert_min_max = false;
    for (const auto& condition : config.alerts.conditions) {
      bool applies = condition.window.empty() || condition.window == window.name;
      if (!applies) {
        auto size = parse_duration_ns(condition.window);
        applies = size && *size == window.size_ns;
      }
      if (!applies) continue;
      for (std::size_t m = 0; m < spec->measures.size(); ++m) {
        const std::string& measure = spec->measures[m].name;
        BoundAlert bound;
        bound.condition = &condition;
        bound.measure = m;
        if (condition.metric == measure) {
          bool upper = condition.op == FilterOperator::gt || condition.op == FilterOperator::ge;
          bound.metric.kind = upper ? MetricConfig::Kind::max : MetricConfig::Kind::min;
          bound.metric.name = upper ? "max" : "min";
          alert_min_max = true;
        } else {
          bool found = false;
          for (const auto& metric : window.metrics) {
            if (condition.metric == measure + "_" + metric.name) {
              bound.metric = metric;
              found = true;
            }
          }
          if (!found) continue;
        }
        bound.column = measure + "_" + bound.metric.name;
        spec->alerts.push_back(bound);
      }
    }
    spec->needs = needs_for(window.metrics, alert_min_max, window.relative_accuracy);
    specs_.push_back(std::move(spec));
  }
  for (const auto& condition : config.alerts.conditions) {
    bool bound = false;
    for (const auto& spec : specs_) {
      for (const auto& alert : spec->alerts) bound = bound || alert.condition == &condition;
    }
    if (!bound) {
      problems.push_back({condition.where, "alert on '" + condition.metric +
                                               "' matches no window result column"});
    }
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
}

WindowEngine::~WindowEngine() = default;

void WindowEngine::extract(const EventBatch& batch, WindowRows& rows) const {
  const std::uint8_t* selection = batch.selection();
  const std::size_t size = batch.size();
  rows.source_index = batch.source_index;
  rows.times.clear();
  rows.keys.assign(key_fields_.size(), {});
  rows.key_valid.assign(key_fields_.size(), {});
  rows.measures.assign(measure_fields_.size(), {});
  rows.measure_valid.assign(measure_fields_.size(), {});
  const std::int64_t* times =
      time_field_ ? batch.column(static_cast<std::size_t>(time_field_->slot)).data<std::int64_t>()
                  : nullptr;
  const Column* time_column =
      time_field_ ? &batch.column(static_cast<std::size_t>(time_field_->slot)) : nullptr;
  for (std::size_t row = 0; row < size; ++row) {
    if (selection[row] != kLive) continue;
    if (times != nullptr && time_column->nullable() && time_column->validity()[row] == 0) continue;
    rows.times.push_back(times != nullptr ? times[row] : batch.processing_time_ns);
  }
  for (std::size_t k = 0; k < key_fields_.size(); ++k) {
    ColumnView column =
        const_cast<EventBatch&>(batch).column(static_cast<std::size_t>(key_fields_[k].slot)).view();
    for (std::size_t row = 0; row < size; ++row) {
      if (selection[row] != kLive) continue;
      if (times != nullptr && time_column->nullable() && time_column->validity()[row] == 0) continue;
      rows.keys[k].push_back(group_word(column, row));
      rows.key_valid[k].push_back(column.valid(row) ? 1 : 0);
    }
  }
  for (std::size_t m = 0; m < measure_fields_.size(); ++m) {
    ColumnView column = const_cast<EventBatch&>(batch)
                            .column(static_cast<std::size_t>(measure_fields_[m].slot))
                            .view();
    for (std::size_t row = 0; row < size; ++row) {
      if (selection[row] != kLive) continue;
      if (times != nullptr && time_column->nullable() && time_column->validity()[row] == 0) continue;
      bool valid = column.valid(row);
      rows.measures[m].push_back(valid ? read_measure(column, row) : 0.0);
      rows.measure_valid[m].push_back(valid ? 1 : 0);
    }
  }
}

std::int64_t WindowEngine::pipeline_watermark() const {
  std::int64_t now = watermark_config_.idle_timeout_ns > 0 ? wall_clock_ns() : 0;
  std::int64_t lowest = kNone;
  bool any = false;
  for (std::size_t s = 0; s < source_max_.size(); ++s) {
    if (source_ended_[s]) continue;
    if (watermark_config_.idle_timeout_ns > 0 &&
        now - source_last_wall_[s] > watermark_config_.idle_timeout_ns) {
      continue;
    }
    any = true;
    std::int64_t mark = source_seen_[s]
                            ? saturating_add(source_max_[s], -watermark_config_.max_out_of_orderness_ns)
                            : kMinTime;
    lowest = std::min(lowest, mark);
  }
  if (!any) {
    // Every source ended or is idle: the watermark follows what was seen.
    for (std::size_t s = 0; s < source_max_.size(); ++s) {
      if (source_seen_[s]) {
        std::int64_t mark =
            saturating_add(source_max_[s], -watermark_config_.max_out_of_orderness_ns);
        lowest = lowest == kNone ? mark : std::max(lowest, mark);
      }
    }
    if (lowest == kNone) return watermark_;
  }
  return std::max(lowest, watermark_);
}

void WindowEngine::add(const WindowRows& rows, WindowOutput& out) {
  const std::size_t source = rows.source_index;
  if (rows.size() > 0) source_last_wall_[source] = wall_clock_ns();
  std::vector<Result> revised;
  GroupKey key;
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const std::int64_t t = rows.times[row];
    ++counters_.events;
    for (auto& spec_pointer : specs_) {
      Spec& spec = *spec_pointer;
      key = GroupKey{};
      for (std::size_t k = 0; k < spec.key_columns.size(); ++k) {
        std::size_t column = spec.key_columns[k];
        if (rows.key_valid[column][row]) {
          key.words[k] = rows.keys[column][row];
        } else {
          key.nulls |= 1u << k;
        }
      }
      auto add_measures = [&](KeyState& state, std::int64_t offset) {
        ++state.events;
        for (std::size_t m = 0; m < spec.measure_columns.size(); ++m) {
          std::size_t column = spec.measure_columns[m];
          if (!rows.measure_valid[column][row]) continue;
          state.measures[m].add(rows.measures[column][row], offset, spec.needs);
        }
      };
      auto late_row = [&] {
        ++counters_.late_dropped;
        out.late += "{\"window\":";
        append_json_string(out.late, spec.config.name);
        out.late += ",\"time\":\"";
        append_iso8601(out.late, t, 3);
        out.late += '"';
        append_key_fields(out.late, key, spec.group_fields, strings_);
        for (std::size_t m = 0; m < spec.measure_columns.size(); ++m) {
          std::size_t column = spec.measure_columns[m];
          out.late += ',';
          append_json_string(out.late, spec.measures[m].name);
          out.late += ':';
          if (rows.measure_valid[column][row]) {
            append_json_number(out.late, rows.measures[column][row]);
          } else {
            out.late += "null";
          }
        }
        out.late += "}\n";
      };

      if (spec.config.type == WindowType::session) {
        std::vector<Session>& sessions = spec.sessions[key];
        std::int64_t start = t;
        std::int64_t end = saturating_add(t, spec.gap);
        // Sessions touching [t, t + gap) merge with it (as Flink's session windows do).
        auto first = std::find_if(sessions.begin(), sessions.end(),
                                  [&](const Session& s) { return s.end >= start; });
        auto last = first;
        while (last != sessions.end() && last->start <= end) ++last;
        std::int64_t merged_start = start;
        std::int64_t merged_end = end;
        std::int32_t revision = -1;
        for (auto it = first; it != last; ++it) {
          merged_start = std::min(merged_start, it->start);
          merged_end = std::max(merged_end, it->end);
          revision = std::max(revision, it->revision);
        }
        if (merged_end <= watermark_ &&
            saturating_add(merged_end, watermark_config_.allowed_lateness_ns) <= watermark_) {
          late_row();
          continue;
        }
        Session merged;
        merged.start = merged_start;
        merged.end = merged_end;
        merged.state = spec.empty_state();
        merged.revision = revision;
        for (auto it = first; it != last; ++it) {
          merged.state.events += it->state.events;
          for (std::size_t m = 0; m < merged.state.measures.size(); ++m) {
            merged.state.measures[m].merge(it->state.measures[m], it->start - merged_start,
                                           spec.needs);
          }
        }
        add_measures(merged.state, t - merged_start);
        auto position = sessions.erase(first, last);
        position = sessions.insert(position, std::move(merged));
        if (position->end <= watermark_) {
          // Late but within the allowed lateness: emit (again) at once.
          ++counters_.late_revised;
          Result result;
          result.spec = spec.index;
          result.start = position->start;
          result.end = position->end;
          result.key = key;
          result.revision = static_cast<std::uint32_t>(position->revision + 1);
          position->revision += 1;
          position->pending = false;
          result.events = position->state.events;
          revised.push_back(std::move(result));
          finalize(spec, revised.back(), position->state);
          spec.session_expiry.emplace(
              saturating_add(position->end, watermark_config_.allowed_lateness_ns), key);
        } else {
          position->pending = true;
          spec.session_due.emplace(position->end, key);
        }
        continue;
      }

      const std::int64_t first_end = spec.first_end(t);
      if (first_end <= watermark_) {
        const std::int64_t last_end = spec.last_end(t);
        if (saturating_add(last_end, watermark_config_.allowed_lateness_ns) <= watermark_) {
          late_row();
          continue;
        }
        const std::int64_t pane = align_down(t, spec.pane);
        auto& table = spec.panes[pane];
        auto [entry, inserted] = table.try_emplace(key);
        if (inserted) entry->second = spec.empty_state();
        add_measures(entry->second, t - pane);
        bool any_revision = false;
        for (std::int64_t end = first_end; end <= last_end; end += spec.slide) {
          if (end > watermark_) {
            spec.next_end = std::min(spec.next_end, end);
            break;
          }
          if (saturating_add(end, watermark_config_.allowed_lateness_ns) <= watermark_) continue;
          Result result;
          result.spec = spec.index;
          result.start = end - spec.size;
          result.end = end;
          result.key = key;
          result.revision = ++spec.revisions[end][key];
          KeyState total = window_state(spec, result.start, end, key);
          result.events = total.events;
          finalize(spec, result, total);
          revised.push_back(std::move(result));
          any_revision = true;
        }
        if (any_revision) ++counters_.late_revised;
        continue;
      }
      const std::int64_t pane = align_down(t, spec.pane);
      auto& table = spec.panes[pane];
      auto [entry, inserted] = table.try_emplace(key);
      if (inserted) entry->second = spec.empty_state();
      add_measures(entry->second, t - pane);
      spec.next_end = std::min(spec.next_end, first_end);
    }
    if (!revised.empty()) write_results(revised, out);

    if (!source_seen_[source] || t > source_max_[source]) {
      source_seen_[source] = true;
      source_max_[source] = t;
      std::int64_t mark = pipeline_watermark();
      if (mark > watermark_) advance(mark, out);
    }
  }
}

void WindowEngine::end_source(std::uint32_t source_index, WindowOutput& out) {
  source_ended_[source_index] = true;
  std::int64_t mark = pipeline_watermark();
  if (mark > watermark_) advance(mark, out);
}

void WindowEngine::finish(WindowOutput& out) { advance(kNone, out); }

KeyState WindowEngine::window_state(Spec& spec, std::int64_t start, std::int64_t end,
                                    const GroupKey& key) {
  KeyState total = spec.empty_state();
  for (auto it = spec.panes.lower_bound(start); it != spec.panes.end() && it->first < end; ++it) {
    auto found = it->second.find(key);
    if (found == it->second.end()) continue;
    total.events += found->second.events;
    for (std::size_t m = 0; m < total.measures.size(); ++m) {
      total.measures[m].merge(found->second.measures[m], it->first - start, spec.needs);
    }
  }
  return total;
}

void WindowEngine::finalize(Spec& spec, Result& result, KeyState& state) {
  result.values.clear();
  for (std::size_t m = 0; m < state.measures.size(); ++m) {
    for (const auto& metric : spec.config.metrics) {
      result.values.push_back(state.measures[m].value(metric, spec.needs));
    }
  }
  result.alert_values.clear();
  for (const auto& alert : spec.alerts) {
    result.alert_values.push_back(state.measures[alert.measure].value(alert.metric, spec.needs));
  }
}

void WindowEngine::advance(std::int64_t watermark, WindowOutput& out) {
  watermark_ = watermark;
  std::vector<Result> results;
  for (auto& spec_pointer : specs_) {
    Spec& spec = *spec_pointer;
    if (spec.config.type == WindowType::session) {
      while (!spec.session_due.empty() && spec.session_due.begin()->first <= watermark) {
        auto [end, key] = *spec.session_due.begin();
        spec.session_due.erase(spec.session_due.begin());
        auto found = spec.sessions.find(key);
        if (found == spec.sessions.end()) continue;
        for (Session& session : found->second) {
          if (session.end != end || !session.pending) continue;
          session.pending = false;
          session.revision += 1;
          Result result;
          result.spec = spec.index;
          result.start = session.start;
          result.end = session.end;
          result.key = key;
          result.revision = static_cast<std::uint32_t>(session.revision);
          result.events = session.state.events;
          finalize(spec, result, session.state);
          results.push_back(std::move(result));
          spec.session_expiry.emplace(
              saturating_add(session.end, watermark_config_.allowed_lateness_ns), key);
        }
      }
      while (!spec.session_expiry.empty() && spec.session_expiry.begin()->first <= watermark) {
        GroupKey key = spec.session_expiry.begin()->second;
        spec.session_expiry.erase(spec.session_expiry.begin());
        auto found = spec.sessions.find(key);
        if (found == spec.sessions.end()) continue;
        std::erase_if(found->second, [&](const Session& session) {
          return !session.pending &&
                 saturating_add(session.end, watermark_config_.allowed_lateness_ns) <= watermark;
        });
        if (found->second.empty()) spec.sessions.erase(found);
      }
      continue;
    }

    while (spec.next_end != kNone && spec.next_end <= watermark) {
      const std::int64_t end = spec.next_end;
      const std::int64_t start = end - spec.size;
      std::unordered_map<GroupKey, KeyState, GroupKeyHash> totals;
      for (auto it = spec.panes.lower_bound(start); it != spec.panes.end() && it->first < end;
           ++it) {
        for (auto& [key, state] : it->second) {
          auto [entry, inserted] = totals.try_emplace(key);
          if (inserted) entry->second = spec.empty_state();
          entry->second.events += state.events;
          for (std::size_t m = 0; m < state.measures.size(); ++m) {
            entry->second.measures[m].merge(state.measures[m], it->first - start, spec.needs);
          }
        }
      }
      for (auto& [key, state] : totals) {
        Result result;
        result.spec = spec.index;
        result.start = start;
        result.end = end;
        result.key = key;
        result.events = state.events;
        finalize(spec, result, state);
        results.push_back(std::move(result));
      }
      // The next window with data: the one after, or the first containing a later pane.
      std::int64_t next = saturating_add(end, spec.slide);
      auto later = spec.panes.lower_bound(next - spec.size);
      spec.next_end = later == spec.panes.end() ? kNone : std::max(next, spec.first_end(later->first));
    }
    // Drop panes and revision counters no window can use any more.
    while (!spec.panes.empty()) {
      std::int64_t pane = spec.panes.begin()->first;
      if (saturating_add(spec.last_end(pane), watermark_config_.allowed_lateness_ns) > watermark) {
        break;
      }
      spec.panes.erase(spec.panes.begin());
    }
    while (!spec.revisions.empty() &&
           saturating_add(spec.revisions.begin()->first, watermark_config_.allowed_lateness_ns) <=
               watermark) {
      spec.revisions.erase(spec.revisions.begin());
    }
  }
  write_results(results, out);
}

void WindowEngine::write_results(std::vector<Result>& results, WindowOutput& out) {
  std::sort(results.begin(), results.end(), [&](const Result& a, const Result& b) {
    if (a.end != b.end) return a.end < b.end;
    if (a.spec != b.spec) return a.spec < b.spec;
    if (a.start != b.start) return a.start < b.start;
    int order = compare_keys(a.key, b.key, specs_[a.spec]->group_fields, strings_);
    if (order != 0) return order < 0;
    return a.revision < b.revision;
  });
  for (const Result& result : results) {
    const Spec& spec = *specs_[result.spec];
    ++counters_.results;
    std::string row = "{\"window\":";
    append_json_string(row, spec.config.name);
    row += ",\"start\":\"";
    append_iso8601(row, result.start, 3);
    row += "\",\"end\":\"";
    append_iso8601(row, result.end, 3);
    row += '"';
    std::string keys;
    append_key_fields(keys, result.key, spec.group_fields, strings_);
    row += keys;
    row += ",\"count\":";
    row += std::to_string(result.events);
    std::size_t index = 0;
    for (const auto& measure : spec.measures) {
      for (const auto& metric : spec.config.metrics) {
        const std::optional<double>& value = result.values[index++];
        row += ',';
        append_json_string(row, measure.name + "_" + metric.name);
        row += ':';
        if (!value) {
          row += "null";
        } else if (metric.kind == MetricConfig::Kind::count) {
          row += std::to_string(static_cast<std::uint64_t>(*value));
        } else if (measure.type == DataType::float32 && is_sample_value(metric.kind)) {
          append_json_number(row, static_cast<float>(*value));
        } else {
          append_json_number(row, *value);
        }
      }
    }
    if (result.revision > 0) {
      row += ",\"revision\":";
      row += std::to_string(result.revision);
    }
    row += "}\n";
    out.results += row;

    for (std::size_t a = 0; a < spec.alerts.size(); ++a) {
      const BoundAlert& alert = spec.alerts[a];
      const std::optional<double>& value = result.alert_values[a];
      if (!value || !compare(*value, alert.condition->op, alert.condition->value)) continue;
      ++counters_.alerts;
      out.alerts += "{\"alert\":";
      std::string text = alert.condition->metric + " " +
                         std::string(operator_name(alert.condition->op)) + " ";
      append_shortest(text, alert.condition->value);
      append_json_string(out.alerts, text);
      out.alerts += ",\"window\":";
      append_json_string(out.alerts, spec.config.name);
      out.alerts += ",\"start\":\"";
      append_iso8601(out.alerts, result.start, 3);
      out.alerts += "\",\"end\":\"";
      append_iso8601(out.alerts, result.end, 3);
      out.alerts += '"';
      out.alerts += keys;
      out.alerts += ",\"metric\":";
      append_json_string(out.alerts, alert.column);
      out.alerts += ",\"value\":";
      append_json_number(out.alerts, *value);
      out.alerts += ",\"threshold\":";
      append_json_number(out.alerts, alert.condition->value);
      if (result.revision > 0) {
        out.alerts += ",\"revision\":";
        out.alerts += std::to_string(result.revision);
      }
      out.alerts += "}\n";
    }
  }
  results.clear();
}

std::size_t WindowEngine::active_states() const {
  std::size_t states = 0;
  for (const auto& spec : specs_) {
    for (const auto& [pane, table] : spec->panes) states += table.size();
    for (const auto& [key, sessions] : spec->sessions) states += sessions.size();
  }
  return states;
}

std::size_t WindowEngine::state_bytes() const {
  std::size_t bytes = 0;
  // Approximates a hash-table node: the key, the state, two pointers of bucket overhead.
  constexpr std::size_t kNode = sizeof(GroupKey) + sizeof(KeyState) + 2 * sizeof(void*);
  for (const auto& spec : specs_) {
    for (const auto& [pane, table] : spec->panes) {
      for (const auto& [key, state] : table) {
        bytes += kNode;
        for (const auto& measure : state.measures) bytes += measure.bytes();
      }
    }
    for (const auto& [key, sessions] : spec->sessions) {
      bytes += kNode;
      for (const auto& session : sessions) {
        bytes += sizeof(Session);
        for (const auto& measure : session.state.measures) bytes += measure.bytes();
      }
    }
  }
  return bytes;
}

}  // namespace ldh
