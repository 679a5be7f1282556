#include "pipeline/window.h"

#include <algorithm>
#include <limits>

#include "pipeline/did_you_mean.h"
#include "pipeline/group_key_table.h"
#include "pipeline/json_writer.h"
#include "pipeline/task_pool.h"
#include "pipeline/time.h"
#include "pipeline/transform.h"
#include "pipeline/window_partial.h"
#include "pipeline/window_shard.h"
#include "pipeline/window_spec.h"

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

std::string_view operator_name(FilterOperator op) {
  switch (op) {
    case FilterOperator::gt:
      return "gt";
    case FilterOperator::ge:
      return "ge";
    case FilterOperator::lt:
      return "lt";
    case FilterOperator::le:
      return "le";
    case FilterOperator::eq:
      return "eq";
    case FilterOperator::ne:
      return "ne";
    default:
      return "?";
  }
}

/// Returns `,"name":` with the name as a JSON string.
std::string member_prefix(const std::string& name) {
  std::string text = ",";
  append_json_string(text, name);
  text += ':';
  return text;
}

/// Hashes the keys of one field (`words`, `valid` per row) as GroupKeyTable::hash() does; the
/// AVX-512 clone multiplies eight 64-bit lanes at once (AVX-512DQ), the same integer results.
__attribute__((target_clones("arch=x86-64-v4", "default"))) void hash_one_field(
    const std::uint64_t* words, const std::uint8_t* valid, std::size_t count,
    std::uint64_t* hashes) {
  for (std::size_t row = 0; row < count; ++row) {
    const bool present = valid[row] != 0;
    const std::uint64_t word = present ? words[row] : 0;
    hashes[row] = GroupKeyTable::hash(&word, 1, present ? 0u : 1u);
  }
}

/// Writes the hash of each row's key over `columns` to `hashes`.
void hash_shape_keys(const std::vector<std::size_t>& columns, const WindowRows& rows,
                     std::vector<std::uint64_t>& hashes) {
  hashes.resize(rows.size());
  if (columns.size() == 1) {
    hash_one_field(rows.keys[columns[0]].data(), rows.key_valid[columns[0]].data(), rows.size(),
                   hashes.data());
    return;
  }
  std::uint64_t words[kMaxGroupFields];
  for (std::size_t row = 0; row < rows.size(); ++row) {
    std::uint32_t nulls = 0;
    for (std::size_t k = 0; k < columns.size(); ++k) {
      const bool valid = rows.key_valid[columns[k]][row] != 0;
      words[k] = valid ? rows.keys[columns[k]][row] : 0;
      nulls |= static_cast<std::uint32_t>(!valid) << k;
    }
    hashes[row] = GroupKeyTable::hash(words, columns.size(), nulls);
  }
}

}  // namespace

WindowEngine::WindowEngine(const Config& config, const Plan& plan, const StringDictionary& strings,
                           std::size_t source_count, std::size_t partitions)
    : strings_(strings),
      watermark_config_(config.watermark),
      source_max_(source_count, kMinTime),
      source_seen_(source_count, false),
      source_ended_(source_count, false),
      source_last_wall_(source_count, wall_clock_ns()),
      watermark_(kMinTime),
      held_pending_from_(kNone),
      added_pending_from_(kNone),
      due_(kNone),
      writer_(std::make_unique<ResultWriter>(strings, config.alerts.path.empty())) {
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
    auto spec = std::make_unique<WindowSpec>();
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
      bool numeric =
          field != nullptr && is_numeric(field->type) && field->type != DataType::timestamp;
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
      problems.push_back(
          {window.where, "window '" + window.name + "' has no numeric field to measure"});
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
        std::string text = condition.metric + " " + std::string(operator_name(condition.op)) + " ";
        append_shortest(text, condition.value);
        bound.prefix = "{\"alert\":";
        append_json_string(bound.prefix, text);
        bound.prefix += ",\"window\":";
        append_json_string(bound.prefix, window.name);
        bound.prefix += ",\"start\":\"";
        bound.metric_text = ",\"metric\":";
        append_json_string(bound.metric_text, bound.column);
        bound.metric_text += ",\"value\":";
        bound.threshold_text = ",\"threshold\":";
        append_json_number(bound.threshold_text, condition.value);
        spec->alerts.push_back(std::move(bound));
      }
    }
    spec->needs = needs_for(window.metrics, alert_min_max, window.relative_accuracy);
    // Sliding windows would derive each value once per window holding it: they keep sums.
    spec->needs.derive_from_values = window.type != WindowType::sliding;
    spec->layout = std::make_unique<StateLayout>(spec->needs, spec->measures.size());
    spec->row_prefix = "{\"window\":";
    append_json_string(spec->row_prefix, window.name);
    spec->row_prefix += ",\"start\":\"";
    for (const auto& field : spec->group_fields)
      spec->key_prefixes.push_back(member_prefix(field.name));
    for (const auto& measure : spec->measures) {
      for (const auto& metric : window.metrics) {
        spec->columns.push_back(member_prefix(measure.name + "_" + metric.name));
      }
    }
    spec->row_room = result_row_room(*spec);
    spec->shape = std::find(shapes_.begin(), shapes_.end(), spec->key_columns) - shapes_.begin();
    if (spec->shape == shapes_.size()) shapes_.push_back(spec->key_columns);
    specs_.push_back(std::move(spec));
  }
  for (const auto& condition : config.alerts.conditions) {
    bool bound = false;
    for (const auto& spec : specs_) {
      for (const auto& alert : spec->alerts) bound = bound || alert.condition == &condition;
    }
    if (!bound) {
      problems.push_back(
          {condition.where, "alert on '" + condition.metric + "' matches no window result column"});
    }
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
  partitions = std::max<std::size_t>(1, partitions);
  for (std::size_t shard = 0; shard < partitions; ++shard) {
    shards_.push_back(std::make_unique<WindowShard>(specs_, shapes_, shard, partitions,
                                                    watermark_config_, strings_,
                                                    config.alerts.path.empty()));
  }
  // Room for every spare up front: QueuedRows' destructor gives them back without allocating.
  spare_rows_.reserve(spare_limit());
  spare_watermarks_.reserve(spare_limit());
  pool_ = std::make_unique<TaskPool>(partitions);
  for (const auto& spec : specs_) {
    if (spec->is_session()) shortest_gap_ = std::min(shortest_gap_, spec->gap);
  }
}

WindowEngine::~WindowEngine() = default;

namespace {

/// Copies `read(view, row)` of each row in `live` into `out`, and into `valid` 1 for a present
/// value (0 and 0 for a null), with the column's type fixed at compile time so each loop reads
/// one type without a switch per value. Returns whether every value was present.
template <typename Out, typename Read>
bool gather_column(ColumnView view, const std::vector<std::uint32_t>& live, Out* out,
                   std::uint8_t* valid, Read read) {
  const auto gather = [&]<DataType kType>() {
    ColumnView typed = view;
    typed.type = kType;
    const std::size_t count = live.size();
    if (typed.validity == nullptr) {
      for (std::size_t i = 0; i < count; ++i) out[i] = read(typed, live[i]);
      std::fill(valid, valid + count, std::uint8_t{1});
      return true;
    }
    std::uint8_t complete = 1;
    for (std::size_t i = 0; i < count; ++i) {
      const bool present = typed.validity[live[i]] != 0;
      out[i] = present ? read(typed, live[i]) : Out{};
      valid[i] = present ? 1 : 0;
      complete &= valid[i];
    }
    return complete != 0;
  };
  switch (view.type) {
    case DataType::int32:
      return gather.template operator()<DataType::int32>();
    case DataType::int64:
      return gather.template operator()<DataType::int64>();
    case DataType::float32:
      return gather.template operator()<DataType::float32>();
    case DataType::float64:
      return gather.template operator()<DataType::float64>();
    case DataType::boolean:
      return gather.template operator()<DataType::boolean>();
    case DataType::string:
      return gather.template operator()<DataType::string>();
    case DataType::timestamp:
      return gather.template operator()<DataType::timestamp>();
  }
  return false;
}

}  // namespace

void WindowEngine::extract(const EventBatch& batch, WindowRows& rows) const {
  const std::uint8_t* selection = batch.selection();
  const std::size_t size = batch.size();
  rows.source_index = batch.source_index;
  const Column* time_column =
      time_field_ ? &batch.column(static_cast<std::size_t>(time_field_->slot)) : nullptr;
  const std::int64_t* times = time_column ? time_column->data<std::int64_t>() : nullptr;
  const std::uint8_t* time_valid =
      time_column && time_column->nullable() ? time_column->validity() : nullptr;
  // The rows that reach the windows: live, with an event time (listed without a branch).
  // Per worker thread, so its buffer is not allocated and zeroed per batch.
  thread_local std::vector<std::uint32_t> live;
  live.resize(size);
  std::size_t count = 0;
  for (std::size_t row = 0; row < size; ++row) {
    live[count] = static_cast<std::uint32_t>(row);
    count += selection[row] == kLive && (time_valid == nullptr || time_valid[row] != 0);
  }
  live.resize(count);
  rows.times.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    rows.times[i] = times != nullptr ? times[live[i]] : batch.processing_time_ns;
  }
  auto& columns = const_cast<EventBatch&>(batch);
  rows.keys.resize(key_fields_.size());
  rows.key_valid.resize(key_fields_.size());
  for (std::size_t k = 0; k < key_fields_.size(); ++k) {
    rows.keys[k].resize(count);
    rows.key_valid[k].resize(count);
    gather_column(columns.column(static_cast<std::size_t>(key_fields_[k].slot)).view(), live,
                  rows.keys[k].data(), rows.key_valid[k].data(),
                  [](const ColumnView& view, std::size_t row) { return group_word(view, row); });
  }
  hash_keys(rows);
  rows.measures.resize(measure_fields_.size());
  rows.measure_valid.resize(measure_fields_.size());
  rows.measure_complete.resize(measure_fields_.size());
  for (std::size_t m = 0; m < measure_fields_.size(); ++m) {
    rows.measures[m].resize(count);
    rows.measure_valid[m].resize(count);
    rows.measure_complete[m] = gather_column(
        columns.column(static_cast<std::size_t>(measure_fields_[m].slot)).view(), live,
        rows.measures[m].data(), rows.measure_valid[m].data(),
        [](const ColumnView& view, std::size_t row) { return read_as_number(view, row); });
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
    std::int64_t mark =
        source_seen_[s] ? saturating_add(source_max_[s], -watermark_config_.max_out_of_orderness_ns)
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

std::int64_t WindowEngine::panes_due_bound(std::int64_t t) {
  std::int64_t bound = kNone;
  std::int64_t from = kMinTime;
  std::int64_t until = kNone;  // the times sharing every window's pane with t: [from, until)
  for (const auto& spec : specs_) {
    if (spec->is_session()) continue;
    const std::int64_t pane_start = align_down(t, spec->pane);
    bound = std::min(bound, spec->first_end(t));
    from = std::max(from, pane_start);
    until = std::min(until, saturating_add(pane_start, spec->pane));
  }
  if (until > from) {
    due_from_ = from;
    due_span_ = static_cast<std::uint64_t>(until) - static_cast<std::uint64_t>(from);
    due_same_ = bound;
  }
  return bound;
}

std::size_t WindowEngine::slot(std::uint32_t source_index, std::uint32_t stream) {
  if (stream == 0) return source_index;
  auto [entry, made] = stream_slots_.try_emplace({source_index, stream}, source_max_.size());
  if (made) {
    source_max_.push_back(kMinTime);
    source_seen_.push_back(false);
    source_ended_.push_back(false);
    source_last_wall_.push_back(wall_clock_ns());
    source_ended_[source_index] = true;
  } else if (source_ended_[entry->second]) {
    source_ended_[entry->second] = false;
  }
  return entry->second;
}

/// One batch of rows the shards are adding, kept until the last shard is done with it: the
/// rows (their key hashes too) and the watermark before each row.
struct WindowEngine::QueuedRows {
  explicit QueuedRows(WindowEngine& owner) : engine(owner) {
    const std::lock_guard lock(engine.spare_mutex_);
    if (!engine.spare_watermarks_.empty()) {
      watermarks = std::move(engine.spare_watermarks_.back());
      engine.spare_watermarks_.pop_back();
    }
  }
  QueuedRows(const QueuedRows&) = delete;
  QueuedRows& operator=(const QueuedRows&) = delete;
  /// Gives the columns back to the engine (on the thread that ends the last task with them).
  ~QueuedRows() {
    const std::lock_guard lock(engine.spare_mutex_);
    if (engine.spare_rows_.size() < engine.spare_limit()) {
      engine.spare_rows_.push_back(std::move(rows));
    }
    if (engine.spare_watermarks_.size() < engine.spare_limit()) {
      engine.spare_watermarks_.push_back(std::move(watermarks));
    }
  }

  WindowEngine& engine;
  WindowRows rows;
  std::vector<std::int64_t> watermarks;
};

WindowRows WindowEngine::spare_rows() const {
  const std::lock_guard lock(spare_mutex_);
  if (spare_rows_.empty()) return {};
  WindowRows rows = std::move(spare_rows_.back());
  spare_rows_.pop_back();
  return rows;
}

void WindowEngine::hash_keys(WindowRows& rows) const {
  rows.key_hashes.resize(shapes_.size());
  for (std::size_t s = 0; s < shapes_.size(); ++s) {
    hash_shape_keys(shapes_[s], rows, rows.key_hashes[s]);
  }
}

void WindowEngine::add(const WindowRows& rows, WindowOutput& out) {
  add(WindowRows(rows), out);
}

void WindowEngine::add(WindowRows&& moved, WindowOutput& out) {
  const std::size_t count = moved.size();
  if (count == 0) return;
  auto queued = std::make_shared<QueuedRows>(*this);
  queued->rows = std::move(moved);
  bool hashed = queued->rows.key_hashes.size() == shapes_.size();
  for (const auto& hashes : queued->rows.key_hashes) hashed = hashed && hashes.size() == count;
  if (!hashed) hash_keys(queued->rows);
  const WindowRows& rows = queued->rows;
  const std::size_t source = slot(rows.source_index, rows.stream);
  source_last_wall_[source] = wall_clock_ns();
  counters_.events += count;
  queued->watermarks.resize(count);
  std::int64_t* const row_watermarks = queued->watermarks.data();
  row_watermarks_ = row_watermarks;
  std::int64_t earliest = kNone;
  // One source and no idle timeout: the pipeline watermark is that source's own, and a row
  // raising its maximum gives it without a pass over the sources.
  const bool one_source =
      source_max_.size() == 1 && !source_ended_[0] && watermark_config_.idle_timeout_ns <= 0;
  std::size_t begin = 0;
  while (begin < count) {
    // Take rows while no window can become due: a run ends at the first row that moves the
    // watermark to (or past) the earliest time anything is, or may have become, due.
    std::int64_t bound = due_;
    std::size_t end = begin;
    std::int64_t due_mark = kMinTime;
    bool late = false;  // a row whose earliest window (or own session) is due already
    while (end < count) {
      const std::size_t row = end++;
      const std::int64_t t = rows.times[row];
      row_watermarks[row] = watermark_;
      earliest = std::min(earliest, t);
      const std::int64_t row_bound = due_bound(t);
      late = late || row_bound <= watermark_;
      bound = std::min(bound, row_bound);
      if (source_seen_[source] && t <= source_max_[source]) continue;
      source_seen_[source] = true;
      source_max_[source] = t;
      const std::int64_t mark = one_source
                                    ? saturating_add(t, -watermark_config_.max_out_of_orderness_ns)
                                    : pipeline_watermark();
      if (mark <= watermark_) continue;
      if (mark >= bound) {
        due_mark = mark;
        break;
      }
      watermark_ = mark;
    }
    if (aggregator_) prepare_folds(begin, end, rows);
    pool_->post([this, queued, begin, end](std::size_t shard) {
      shards_[shard]->add(queued->rows, begin, end, queued->watermarks.data() + begin);
    });
    if (aggregator_ || late) {
      // Late rows revise emitted windows or go to the late sink now, in row order; folding
      // reads what the shards left.
      pool_->wait();
      if (aggregator_) collect_on_time(rows, begin, end);
      write_row_output(out);
      due_ = pending_fold_due();
      for (const auto& shard : shards_) due_ = std::min(due_, shard->next_due());
    } else {
      // Rows on time can only bring due times closer, to their own bounds.
      due_ = bound;
    }
    if (due_mark != kMinTime) advance(due_mark, out);
    begin = end;
  }
  row_watermarks_ = nullptr;
  // What the rows may hold open: from their earliest pane (a step may have counted some).
  for (const auto& spec : specs_) {
    added_pending_from_ = std::min(
        added_pending_from_, spec->is_session() ? earliest : align_down(earliest, spec->pane));
  }
}

/// The rows of one window waiting to be folded, appended run by run: column by column, packed
/// into a FoldRows when they are folded.
struct WindowEngine::PendingFold {
  std::vector<std::int64_t> times;
  std::vector<std::uint64_t> hashes;
  std::vector<std::vector<std::uint64_t>> keys;  // per key field
  std::vector<std::vector<std::uint8_t>> key_valid;
  std::vector<std::vector<double>> values;  // per measure
  std::vector<std::vector<std::uint8_t>> valid;
  std::int64_t first = kNone;  // earliest time
  std::int64_t last = kMinTime;
  std::int64_t due = kNone;  // earliest end of a window (or own session) of any row
};

void WindowEngine::fold_with(std::unique_ptr<PaneAggregator> aggregator) {
  aggregator_ = std::move(aggregator);
  fold_rows_ = std::make_unique<FoldRows>();
  partials_ = std::make_unique<PanePartials>();
  pending_.clear();
  for (const auto& spec : specs_) {
    auto pending = std::make_unique<PendingFold>();
    pending->keys.resize(spec->key_columns.size());
    pending->key_valid.resize(spec->key_columns.size());
    pending->values.resize(spec->measure_columns.size());
    pending->valid.resize(spec->measure_columns.size());
    pending_.push_back(std::move(pending));
    for (const auto& shard : shards_) shard->set_folding(spec->index, true);
  }
}

std::string WindowEngine::fold_place() const {
  return aggregator_ ? aggregator_->describe() : std::string();
}

void WindowEngine::sort_values_with(const std::function<std::unique_ptr<ValueSorter>()>& make) {
  for (const auto& shard : shards_) shard->sort_values_with(make());
}

void WindowEngine::prepare_folds(std::size_t begin, std::size_t end, const WindowRows& rows) {
  for (const auto& spec : specs_) {
    if (!spec->is_session()) continue;
    // A late row's fate depends on the sessions before it: with one in the run, the rows
    // folded so far join the sessions first and the run's rows are added one by one.
    bool late = false;
    for (std::size_t row = begin; row < end && !late; ++row) {
      late = saturating_add(rows.times[row], spec->gap) <= row_watermarks_[row];
    }
    if (late) fold_pending(spec->index);
    for (const auto& shard : shards_) shard->set_folding(spec->index, !late);
  }
}

void WindowEngine::collect_on_time(const WindowRows& rows, std::size_t begin, std::size_t end) {
  for (const auto& owned : specs_) {
    const WindowSpec& spec = *owned;
    if (spec.is_session() && !shards_.front()->folding(spec.index)) continue;
    // The rows the shards left to the fold: their earliest window is not yet due, or their
    // own session [t, t + gap) ends after the watermark.
    selected_.clear();
    for (std::size_t row = begin; row < end; ++row) {
      const std::int64_t t = rows.times[row];
      const std::int64_t earliest_end =
          spec.is_session() ? saturating_add(t, spec.gap) : spec.first_end(t);
      if (earliest_end <= row_watermarks_[row]) continue;
      selected_.push_back(static_cast<std::uint32_t>(row));
    }
    // Column by column: a few sequential passes rather than one scattered append per row;
    // in slices, so that no fold takes more than twice kPendingFoldRows rows whatever the
    // batch size (partials merge exactly, so where a fold is cut does not matter).
    for (std::size_t slice = 0; slice < selected_.size(); slice += kPendingFoldRows) {
      const std::size_t slice_end = std::min(selected_.size(), slice + kPendingFoldRows);
      append_rows(spec, rows, slice, slice_end);
      if (pending_rows_ >= kPendingFoldRows) {
        for (const auto& other : specs_) fold_pending(other->index);
      }
    }
  }
}

void WindowEngine::append_rows(const WindowSpec& spec, const WindowRows& rows, std::size_t first,
                               std::size_t last) {
  PendingFold& pending = *pending_[spec.index];
  const std::size_t count = last - first;
  const auto append = [&](auto& to, const auto& from) {
    const std::size_t at = to.size();
    to.resize(at + count);
    for (std::size_t i = 0; i < count; ++i) to[at + i] = from[selected_[first + i]];
  };
  append(pending.times, rows.times);
  append(pending.hashes, rows.key_hashes[spec.shape]);
  for (std::size_t k = 0; k < spec.key_columns.size(); ++k) {
    // Null fields' words are 0 (WindowRows leaves them unspecified).
    const auto& valid = rows.key_valid[spec.key_columns[k]];
    const auto& words = rows.keys[spec.key_columns[k]];
    const std::size_t at = pending.keys[k].size();
    append(pending.key_valid[k], valid);
    pending.keys[k].resize(at + count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint32_t row = selected_[first + i];
      pending.keys[k][at + i] = valid[row] != 0 ? words[row] : 0;
    }
  }
  for (std::size_t m = 0; m < spec.measure_columns.size(); ++m) {
    append(pending.values[m], rows.measures[spec.measure_columns[m]]);
    append(pending.valid[m], rows.measure_valid[spec.measure_columns[m]]);
  }
  for (std::size_t i = first; i < last; ++i) {
    const std::int64_t t = rows.times[selected_[i]];
    pending.first = std::min(pending.first, t);
    pending.last = std::max(pending.last, t);
    pending.due =
        std::min(pending.due, spec.is_session() ? saturating_add(t, spec.gap) : spec.first_end(t));
  }
  pending_rows_ += count;
}

void WindowEngine::fold_pending(std::size_t spec_index) {
  PendingFold& pending = *pending_[spec_index];
  const std::size_t n = pending.times.size();
  if (n == 0) return;
  const WindowSpec& spec = *specs_[spec_index];
  FoldRows& fold = *fold_rows_;
  fold.key_fields = static_cast<std::uint32_t>(pending.keys.size());
  fold.measures = static_cast<std::uint32_t>(pending.values.size());
  fold.times.swap(pending.times);
  fold.hashes.swap(pending.hashes);
  fold.keys.clear();
  fold.key_valid.clear();
  for (std::size_t k = 0; k < pending.keys.size(); ++k) {
    fold.keys.insert(fold.keys.end(), pending.keys[k].begin(), pending.keys[k].end());
    fold.key_valid.insert(fold.key_valid.end(), pending.key_valid[k].begin(),
                          pending.key_valid[k].end());
    pending.keys[k].clear();
    pending.key_valid[k].clear();
  }
  fold.values.clear();
  fold.valid.clear();
  for (std::size_t m = 0; m < pending.values.size(); ++m) {
    fold.values.insert(fold.values.end(), pending.values[m].begin(), pending.values[m].end());
    fold.valid.insert(fold.valid.end(), pending.valid[m].begin(), pending.valid[m].end());
    pending.values[m].clear();
    pending.valid[m].clear();
  }
  const FoldPlan plan = spec.is_session() ? make_session_fold_plan(spec.gap)
                                          : make_fold_plan(pending.first, pending.last, spec.pane);
  aggregator_->fold(fold.view(), plan, spec.layout->fold_needs(), *partials_);
  counters_.folded_rows += n;
  counters_.partials += partials_->partials.size();
  ++counters_.folds;
  pool_->run(
      [&](std::size_t shard) { shards_[shard]->add_partials(spec_index, fold, *partials_); });
  pending.times.swap(fold.times);
  pending.hashes.swap(fold.hashes);
  pending.times.clear();
  pending.hashes.clear();
  pending.first = kNone;
  pending.last = kMinTime;
  pending.due = kNone;
  pending_rows_ -= n;
}

std::int64_t WindowEngine::pending_fold_due() const {
  std::int64_t due = kNone;
  for (const auto& pending : pending_) due = std::min(due, pending->due);
  return due;
}

void WindowEngine::write_row_output(WindowOutput& out) {
  collect_counters();
  // Results revised by late rows: by row, then in write order (shards queue them window by
  // window).
  row_order_.clear();
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    for (std::size_t i = 0; i < shards_[s]->results().size(); ++i) row_order_.emplace_back(s, i);
  }
  if (!row_order_.empty()) {
    auto result = [&](const std::pair<std::size_t, std::size_t>& entry) -> const WindowResult& {
      return shards_[entry.first]->results()[entry.second];
    };
    std::sort(row_order_.begin(), row_order_.end(), [&](const auto& x, const auto& y) {
      const WindowResult& a = result(x);
      const WindowResult& b = result(y);
      if (a.row != b.row) return a.row < b.row;
      return result_before(a, b, specs_, strings_);
    });
    for (const auto& entry : row_order_) {
      const WindowResult& revised = result(entry);
      writer_->write(*specs_[revised.spec], revised, shards_[entry.first]->values(revised),
                     out.results, out.alerts, counters_);
    }
  }
  // Late rows: by row, then by window.
  row_order_.clear();
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    for (std::size_t i = 0; i < shards_[s]->late_rows().size(); ++i) row_order_.emplace_back(s, i);
  }
  if (!row_order_.empty()) {
    auto late = [&](const std::pair<std::size_t, std::size_t>& entry) -> const LateRow& {
      return shards_[entry.first]->late_rows()[entry.second];
    };
    std::stable_sort(row_order_.begin(), row_order_.end(), [&](const auto& x, const auto& y) {
      const LateRow& a = late(x);
      const LateRow& b = late(y);
      return a.row != b.row ? a.row < b.row : a.spec < b.spec;
    });
    for (const auto& entry : row_order_) {
      const LateRow& row = late(entry);
      out.late.append(shards_[entry.first]->late_text(), row.begin, row.end - row.begin);
    }
  }
  for (const auto& shard : shards_) shard->clear_output();
}

void WindowEngine::collect_counters() {
  for (const auto& shard : shards_) {
    const WindowCounters counted = shard->take_counters();
    counters_.late_revised += counted.late_revised;
    counters_.late_dropped += counted.late_dropped;
    counters_.results += counted.results;
    counters_.alerts += counted.alerts;
  }
}

void WindowEngine::end_stream(std::uint32_t source_index, std::uint32_t stream, WindowOutput& out) {
  auto found = stream_slots_.find({source_index, stream});
  if (found == stream_slots_.end()) return;
  source_ended_[found->second] = true;
  std::int64_t mark = pipeline_watermark();
  if (mark > watermark_) advance(mark, out);
}

void WindowEngine::end_source(std::uint32_t source_index, WindowOutput& out) {
  source_ended_[source_index] = true;
  for (const auto& [key, index] : stream_slots_) {
    if (key.first == source_index) source_ended_[index] = true;
  }
  std::int64_t mark = pipeline_watermark();
  if (mark > watermark_) advance(mark, out);
}

void WindowEngine::finish(WindowOutput& out) {
  advance(kNone, out);
}

void WindowEngine::poll(WindowOutput& out) {
  const std::int64_t mark = pipeline_watermark();
  if (mark > watermark_) advance(mark, out);
}

std::int64_t WindowEngine::pending_from() const {
  // Folding waits for the shards after every run anyway, and rows waiting to be folded may
  // reopen any session kept for lateness.
  if (aggregator_) return exact_pending_from();
  if (pending_stale_) {
    // Once per step (and only for sources that are acknowledged): a row added later may
    // reopen any session kept for lateness, so count them all.
    std::vector<bool> sessions_reopen(specs_.size());
    for (std::size_t s = 0; s < specs_.size(); ++s) sessions_reopen[s] = specs_[s]->is_session();
    held_pending_from_ = shards_pending_from(sessions_reopen);
    added_pending_from_ = kNone;
    pending_stale_ = false;
  }
  return std::min(held_pending_from_, added_pending_from_);
}

std::int64_t WindowEngine::exact_pending_from() const {
  std::int64_t from = kNone;
  std::vector<bool> sessions_reopen(specs_.size(), false);
  for (std::size_t s = 0; s < pending_.size(); ++s) {
    const PendingFold& pending = *pending_[s];
    if (pending.times.empty()) continue;
    // As the shards count a pane: from its start.
    from = std::min(
        from, specs_[s]->is_session() ? pending.first : align_down(pending.first, specs_[s]->pane));
    sessions_reopen[s] = specs_[s]->is_session();
  }
  return std::min(from, shards_pending_from(sessions_reopen));
}

std::int64_t WindowEngine::shards_pending_from(const std::vector<bool>& sessions_reopen) const {
  pool_->wait();
  std::int64_t from = kNone;
  for (const auto& shard : shards_) {
    from = std::min(from, shard->pending_from(watermark_, &sessions_reopen));
  }
  return from;
}

void WindowEngine::advance(std::int64_t watermark, WindowOutput& out) {
  pool_->wait();  // the shards have added every row before the step
  ++counters_.steps;
  for (std::size_t spec = 0; spec < pending_.size(); ++spec) fold_pending(spec);
  states_peak_ = std::max(states_peak_, active_states());
  watermark_ = watermark;
  for (const auto& shard : shards_) shard->begin_step(watermark);
  while (true) {
    DueGroup group;
    for (const auto& shard : shards_) group = std::min(group, shard->next_group());
    if (group.spec == DueGroup::kNoSpec) break;
    // A session window's sessions of several ends are one group, up to the end of any other
    // window's next group (sessions end at any millisecond: one group per end would be a round
    // trip to the shards per session).
    std::int64_t last_end = group.end;
    if (specs_[group.spec]->is_session()) {
      std::int64_t others = kNone;
      for (const auto& shard : shards_)
        others = std::min(others, shard->next_end_besides(group.spec));
      if (others > group.end) last_end = std::min(watermark, others - 1);
    }
    if (shards_.size() == 1) {
      WindowShard& shard = *shards_.front();
      const std::size_t count = shard.list_group(group, last_end);
      for (std::size_t first = 0; first < count; first += kSliceResults) {
        shard.write_listed(first, std::min(count, first + kSliceResults), &out.results,
                           &out.alerts);
        shard.clear_output();
        drain_if_full(out);
      }
      continue;
    }
    listed_counts_.resize(shards_.size());
    pool_->run([&](std::size_t shard) {
      listed_counts_[shard] = shards_[shard]->list_group(group, last_end);
    });
    // Each shard listed its results in write order: merge the lists, then make and format
    // them slice by slice in parallel, taking the texts in the merged order.
    merged_.clear();
    std::vector<std::uint32_t>& next = slice_firsts_;
    next.assign(shards_.size(), 0);
    while (true) {
      std::size_t best = shards_.size();
      for (std::size_t s = 0; s < shards_.size(); ++s) {
        if (next[s] == listed_counts_[s]) continue;
        if (best == shards_.size() ||
            shards_[s]->listed_before(next[s], *shards_[best], next[best]))
          best = s;
      }
      if (best == shards_.size()) break;
      merged_.emplace_back(static_cast<std::uint32_t>(best), next[best]++);
    }
    std::vector<std::uint32_t>& lasts = slice_lasts_;
    next.assign(shards_.size(), 0);
    for (std::size_t first = 0; first < merged_.size(); first += kSliceResults) {
      const std::size_t last = std::min(merged_.size(), first + kSliceResults);
      lasts = next;
      for (std::size_t i = first; i < last; ++i) lasts[merged_[i].first] = merged_[i].second + 1;
      pool_->run(
          [&](std::size_t shard) { shards_[shard]->write_listed(next[shard], lasts[shard]); });
      for (std::size_t i = first; i < last; ++i) {
        const WindowShard& shard = *shards_[merged_[i].first];
        const std::size_t written = merged_[i].second - next[merged_[i].first];
        const auto [result_begin, alert_begin] = written == 0
                                                     ? std::pair<std::size_t, std::size_t>{0, 0}
                                                     : shard.text_ends()[written - 1];
        const auto [result_end, alert_end] = shard.text_ends()[written];
        out.results.append(shard.result_text(), result_begin, result_end - result_begin);
        out.alerts.append(shard.alert_text(), alert_begin, alert_end - alert_begin);
      }
      for (const auto& shard : shards_) shard->clear_output();
      next = lasts;
      drain_if_full(out);
    }
  }
  pool_->run([&](std::size_t shard) { shards_[shard]->end_step(); });
  pending_stale_ = true;
  collect_counters();
  due_ = kNone;
  for (const auto& shard : shards_) due_ = std::min(due_, shard->next_due());
}

void WindowEngine::drain_if_full(WindowOutput& out) {
  if (!out.drain || out.results.size() < out.drain_bytes) return;
  out.drain(out);
  out.results.clear();
  out.late.clear();
  out.alerts.clear();
}

std::size_t WindowEngine::active_states() const {
  pool_->wait();
  std::size_t states = 0;
  for (const auto& shard : shards_) states += shard->active_states();
  return states;
}

std::size_t WindowEngine::state_bytes() const {
  pool_->wait();
  std::size_t bytes = 0;
  for (const auto& shard : shards_) bytes += shard->state_bytes();
  return bytes;
}

}  // namespace ldh
