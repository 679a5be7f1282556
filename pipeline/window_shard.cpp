#include "pipeline/window_shard.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "pipeline/json_writer.h"
#include "pipeline/percentile.h"
#include "pipeline/time.h"

namespace ldh {

namespace {

/// Panes a window keeps for reuse once dropped.
constexpr std::size_t kSparePanes = 2;

/// How far ahead of the row being interned add() fetches its key's table slot: far enough to
/// hide a cache miss behind the rows between.
constexpr std::size_t kFetchKeysAhead = 16;

constexpr std::uint32_t kNoId = ~std::uint32_t{0};

constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();

/// Adds without overflowing past the int64 range (windows near the ends of time saturate).
std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? kNone : kMinTime;
  return sum;
}

/// Calls `call.template operator()<kWidth>()` with `measures` as kWidth when it is 1 to 4 (loops
/// over the measures of a row unrolled), else with 0.
template <typename Call>
LDH_FORCE_INLINE void with_width(std::size_t measures, Call call) {
  switch (measures) {
    case 1:
      return call.template operator()<1>();
    case 2:
      return call.template operator()<2>();
    case 3:
      return call.template operator()<3>();
    case 4:
      return call.template operator()<4>();
    default:
      return call.template operator()<0>();
  }
}

/// Tells whether time t falls in the pane starting at `start` of length `length`.
bool in_pane(std::int64_t t, std::int64_t start, std::int64_t length) {
  return static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(start) <
         static_cast<std::uint64_t>(length);
}

/// Calls keep(value) with the canonical value of each non-null value of `measure` of `chunk`
/// (a fold with FoldNeeds::values hands them back in sorted order, `rows` per measure).
template <typename Keep>
void each_kept_value(const PanePartials& partials, std::size_t rows, const PanePartial& chunk,
                     std::size_t measure, Keep keep) {
  const std::size_t base = measure * rows;
  for (std::uint32_t p = chunk.first; p < chunk.first + chunk.count; ++p) {
    if (partials.sorted_valid[base + p] != 0)
      keep(canonical_value(partials.sorted_values[base + p]));
  }
}

}  // namespace

/// The keys of one group-by field list, interned to ids, so each window grouped by it finds a
/// key's state by indexing arrays (panes) or a vector (sessions) with the id.
struct WindowShard::Shape {
  explicit Shape(std::vector<std::size_t> key_columns)
      : columns(std::move(key_columns)), table(columns.size()) {}

  /// Writes the words of the key of `row`; returns its null mask.
  std::uint32_t row_words(const WindowRows& rows, std::size_t row, std::uint64_t* words) const {
    std::uint32_t nulls = 0;
    for (std::size_t k = 0; k < columns.size(); ++k) {
      const bool valid = rows.key_valid[columns[k]][row] != 0;
      words[k] = valid ? rows.keys[columns[k]][row] : 0;
      nulls |= static_cast<std::uint32_t>(!valid) << k;
    }
    return nulls;
  }

  std::vector<std::size_t> columns;  // WindowRows key columns
  GroupKeyTable table;
  // The rows being added: their hashes, and the id of the current row's key once interned.
  const std::uint64_t* hashes = nullptr;
  std::uint32_t row_id = 0;
  bool row_interned = false;
  // When windows add rows of this shape one window at a time, add() interns the rows it visits up
  // front in one loop (ids[position in the visit]; kNoId: another shard's row) that fetches table
  // slots ahead; each row holds its key until it is added.
  bool ahead = false;
  std::vector<std::uint32_t> ids;
};

/// One pane of a tumbling or sliding window: the state of each key with events in
/// [start, start + pane length). A window is the union of the panes it covers.
struct WindowShard::Pane {
  explicit Pane(const StateLayout& layout)
      : records(layout.record_bytes()), values(layout.counts_only() ? layout.measures() : 1) {}

  /// Returns the state of key `id`, or nullptr.
  std::byte* find(std::uint32_t id) const {
    return id < index.size() && index[id] != 0 ? records.at(index[id] - 1) : nullptr;
  }

  std::int64_t start = 0;
  std::int64_t first_end = 0;  // end of the earliest window holding the pane
  std::int64_t last_end = 0;   // end of the latest
  RecordStore records;
  std::vector<std::uint32_t> keys;   // key id of each record
  std::vector<std::uint32_t> index;  // key id -> record + 1; 0: none
  // The values every measure keeps for exact percentiles, in one store: rows of every measure
  // for counts_only() layouts, else a chain per measure, whose chunks for one key then lie side
  // by side (one store per measure put them in separate arrays: window_bench, 10 k keys,
  // 198-206 ms against 183-190).
  ValueChunks values;
};

struct WindowShard::Session {
  std::int64_t start = 0;
  std::int64_t end = 0;                     // last event + gap
  OwnedRecord state;                        // times relative to start
  std::vector<std::vector<double>> values;  // canonical values per measure
  std::int32_t revision = -1;               // last emitted revision; -1 = never emitted
  bool pending = true;                      // changed since last emitted
  bool listed_due = false;                  // has an entry in session_due, at due_end
  std::int64_t due_end = 0;
};

/// The state of one window in this shard.
struct WindowShard::SpecState {
  explicit SpecState(const StateLayout& layout) : scratch(make_record(layout)) {}

  // Tumbling and sliding windows: panes by start, the pane of the last event, panes kept for
  // reuse, and how many revisions each (window end, key) has had.
  Shape* shape = nullptr;
  std::map<std::int64_t, std::unique_ptr<Pane>> panes;
  Pane* current = nullptr;
  std::vector<std::unique_ptr<Pane>> spare_panes;
  std::int64_t next_end = kNone;  // earliest end of a window not yet emitted that has data
  std::map<std::int64_t, std::unordered_map<GroupKey, std::uint32_t, GroupKeyHash>> revisions;
  // Emission: which keys a window already listed (by key id), its keys and panes.
  std::vector<std::uint32_t> listed;
  std::uint32_t listing = 0;
  std::vector<std::uint32_t> window_keys;
  std::vector<const Pane*> window_panes;
  OwnedRecord scratch;  // the merged state of one key's panes
  // The measure columns of the rows being added (WindowRows' columns of this window's
  // measures), looked up once per call of add().
  std::vector<const double*> values_in;
  std::vector<const std::uint8_t*> valid_in;
  bool complete_in = false;  // no row has a null measure

  // Session windows: each key's sessions sorted by start (by key id), and the ends waiting for
  // the watermark. A key with sessions, and each entry of session_due and session_expiry, holds
  // a reference to the key's id, so no entry outlives its key and an id it names is never
  // another key's.
  std::vector<std::vector<Session>> sessions;
  std::multimap<std::int64_t, std::uint32_t> session_due;
  std::multimap<std::int64_t, std::uint32_t> session_expiry;
};

std::optional<std::int64_t> WindowShard::first_unwritten_end(const SpecState& state) {
  if (!state.session_due.empty()) return state.session_due.begin()->first;
  if (state.next_end != kNone) return state.next_end;
  return std::nullopt;
}

bool WindowShard::owns_row(const Shape& shape, std::size_t row) const {
  return count_ == 1 || owns(shape.hashes[row], index_, count_);
}

WindowShard::WindowShard(const WindowSpecs& specs,
                         const std::vector<std::vector<std::size_t>>& shapes, std::size_t index,
                         std::size_t count, const WatermarkConfig& watermark,
                         const StringDictionary& strings, bool alerts_follow_results)
    : specs_(specs),
      index_(index),
      count_(count),
      watermark_config_(watermark),
      strings_(strings),
      watermark_(kMinTime),
      writer_(strings, alerts_follow_results) {
  for (const auto& columns : shapes) shapes_.push_back(std::make_unique<Shape>(columns));
  std::size_t measures = 0;
  for (const auto& spec : specs) {
    auto state = std::make_unique<SpecState>(*spec->layout);
    state->shape = shapes_[spec->shape].get();
    states_.push_back(std::move(state));
    measures = std::max(measures, spec->measures.size());
  }
  sorted_values_.resize(measures);
  window_values_.resize(measures);
  fold_values_.resize(measures);
  folding_.assign(specs.size(), false);
}

WindowShard::~WindowShard() {
  // Panes hold records their window's layout tears down: release them first.
  for (std::size_t s = 0; s < specs_.size(); ++s) {
    for (auto& [start, pane] : states_[s]->panes) pane->records.clear(*specs_[s]->layout);
  }
}

GroupKey WindowShard::row_key(const WindowSpec& spec, const WindowRows& rows,
                              std::size_t row) const {
  GroupKey key;
  for (std::size_t k = 0; k < spec.key_columns.size(); ++k) {
    const std::size_t column = spec.key_columns[k];
    if (rows.key_valid[column][row]) {
      key.words[k] = rows.keys[column][row];
    } else {
      key.nulls |= 1u << k;
    }
  }
  return key;
}

void WindowShard::add(const WindowRows& rows, std::size_t begin, std::size_t end,
                      const std::int64_t* watermarks) {
  for (std::size_t s = 0; s < shapes_.size(); ++s) {
    shapes_[s]->hashes = rows.key_hashes[s].data();
    shapes_[s]->ahead = false;
  }
  for (std::size_t s = 0; s < specs_.size(); ++s) {
    const WindowSpec& spec = *specs_[s];
    SpecState& state = *states_[s];
    if (!folding_[s]) state.shape->ahead = true;
    state.values_in.resize(spec.measure_columns.size());
    state.valid_in.resize(spec.measure_columns.size());
    state.complete_in = true;
    for (std::size_t m = 0; m < spec.measure_columns.size(); ++m) {
      const std::size_t column = spec.measure_columns[m];
      state.values_in[m] = rows.measures[column].data();
      state.valid_in[m] = rows.measure_valid[column].data();
      state.complete_in = state.complete_in && column < rows.measure_complete.size() &&
                          rows.measure_complete[column] != 0;
    }
  }
  // The rows to visit: with one key shape, only those the shard owns, listed without a branch
  // per row (which shard owns a row is a coin toss the branch predictor loses).
  const bool listed_owned = shapes_.size() == 1 && count_ > 1;
  visit_.resize(end - begin);
  std::size_t visits = 0;
  for (std::size_t row = begin; row < end; ++row) {
    visit_[visits] = static_cast<std::uint32_t>(row);
    visits += !listed_owned || owns(shapes_.front()->hashes[row], index_, count_);
  }
  visit_.resize(visits);
  for (auto& shape : shapes_) {
    if (shape->ahead) intern_ahead(*shape, rows);
  }
  bool any_folding = false;
  for (std::size_t s = 0; s < specs_.size(); ++s) any_folding = any_folding || folding_[s];
  if (any_folding) {
    add_row_by_row(rows, begin, watermarks, listed_owned);
  } else {
    add_window_by_window(rows, begin, watermarks, listed_owned);
  }
  if (end > begin) {
    // Every shard ends the run at its last row, owned or not (folded sessions read these).
    watermark_ = watermarks[end - 1 - begin];
    row_ = end - 1;
  }
  refresh_sessions();
}

void WindowShard::refresh_sessions() {
  for (std::size_t s = 0; s < specs_.size(); ++s) {
    if (specs_[s]->is_session()) refresh_due_sessions(*specs_[s], *states_[s]);
  }
}

void WindowShard::add_window_by_window(const WindowRows& rows, std::size_t begin,
                                       const std::int64_t* watermarks, bool listed_owned) {
  // Each pass keeps one window's panes in cache. The windows' states are independent, every
  // key of the run is interned, and the engine orders what the rows queued (revisions, late
  // rows) by row.
  for (std::size_t s = 0; s < specs_.size(); ++s) {
    const WindowSpec& spec = *specs_[s];
    SpecState& state = *states_[s];
    const bool panes = !spec.is_session();
    for (std::size_t position = 0; position < visit_.size(); ++position) {
      const std::size_t row = visit_[position];
      if (!listed_owned && !owns_row(*state.shape, row)) continue;
      // Most rows fall on time in the pane of the row before, whose key has a record there.
      if (Pane* pane = state.current; panes && pane != nullptr &&
                                      in_pane(rows.times[row], pane->start, spec.pane) &&
                                      pane->first_end > watermarks[row - begin]) {
        if (std::byte* record = pane->find(state.shape->ids[position])) {
          add_to_record(spec, state, *pane, record, rows, row);
          continue;
        }
      }
      watermark_ = watermarks[row - begin];
      row_ = row;
      position_ = position;
      if (panes) {
        add_to_panes(spec, state, rows, row);
      } else {
        add_to_sessions(spec, state, rows, row);
      }
    }
  }
  for (auto& shape : shapes_) {
    if (!shape->ahead) continue;
    for (const std::uint32_t id : shape->ids) {
      if (id != kNoId) shape->table.release(id);
    }
  }
}

void WindowShard::add_row_by_row(const WindowRows& rows, std::size_t begin,
                                 const std::int64_t* watermarks, bool listed_owned) {
  // Folding windows intern the keys of rows that are not on time as they come, each held
  // until its row is added.
  for (std::size_t position = 0; position < visit_.size(); ++position) {
    const std::size_t row = visit_[position];
    for (auto& shape : shapes_) shape->row_interned = false;
    watermark_ = watermarks[row - begin];
    row_ = row;
    position_ = position;
    for (std::size_t s = 0; s < specs_.size(); ++s) {
      const WindowSpec& spec = *specs_[s];
      SpecState& state = *states_[s];
      if (!listed_owned && !owns_row(*state.shape, row)) continue;
      if (spec.is_session()) {
        add_to_sessions(spec, state, rows, row);
      } else {
        add_to_panes(spec, state, rows, row);
      }
    }
    for (auto& shape : shapes_) {
      if (shape->ahead) {
        const std::uint32_t id = shape->ids[position];
        if (id != kNoId) shape->table.release(id);
      } else if (shape->row_interned) {
        shape->table.release(shape->row_id);
      }
    }
  }
}

void WindowShard::intern_ahead(Shape& shape, const WindowRows& rows) {
  shape.ids.resize(visit_.size());
  for (std::size_t position = 0; position < visit_.size(); ++position) {
    if (position + kFetchKeysAhead < visit_.size()) {
      shape.table.fetch(shape.hashes[visit_[position + kFetchKeysAhead]]);
    }
    const std::size_t row = visit_[position];
    if (!owns_row(shape, row)) {
      shape.ids[position] = kNoId;
      continue;
    }
    std::uint64_t words[kMaxGroupFields];
    const std::uint32_t nulls = shape.row_words(rows, row, words);
    const std::uint32_t id = shape.table.intern(words, nulls, shape.hashes[row]);
    shape.table.retain(id);
    shape.ids[position] = id;
  }
}

std::uint32_t WindowShard::row_id(Shape& shape, const WindowRows& rows, std::size_t row) {
  if (shape.ahead) return shape.ids[position_];
  if (!shape.row_interned) {
    // The row holds a reference to its key while it is added; the key leaves the table after
    // it when no state took one.
    std::uint64_t words[kMaxGroupFields];
    const std::uint32_t nulls = shape.row_words(rows, row, words);
    shape.row_id = shape.table.intern(words, nulls, shape.hashes[row]);
    shape.table.retain(shape.row_id);
    shape.row_interned = true;
  }
  return shape.row_id;
}

std::byte* WindowShard::record_of(const WindowSpec& spec, SpecState& state, Pane& pane,
                                  std::uint32_t id) {
  if (id >= pane.index.size()) pane.index.resize(state.shape->table.id_limit());
  std::uint32_t& entry = pane.index[id];
  if (entry == 0) {
    entry = pane.records.push(*spec.layout) + 1;
    pane.keys.push_back(id);
    state.shape->table.retain(id);
    ++active_states_;
  }
  return pane.records.at(entry - 1);
}

void WindowShard::add_partials(std::size_t spec_index, const FoldRows& fold,
                               const PanePartials& partials) {
  const WindowSpec& spec = *specs_[spec_index];
  SpecState& state = *states_[spec_index];
  Shape& shape = *state.shape;
  if (spec.is_session()) {
    add_session_partials(spec, state, fold, partials);
    refresh_due_sessions(spec, state);
    return;
  }
  const StateLayout& layout = *spec.layout;
  const std::size_t measures = spec.measure_columns.size();
  std::size_t next_run = 0;  // sketch runs come by slot
  for (std::size_t i = 0; i < partials.partials.size(); ++i) {
    const PanePartial& chunk = partials.partials[i];
    const std::size_t row = partials.order[chunk.first];
    if (count_ > 1 && !owns(fold.hashes[row], index_, count_)) continue;
    Pane& pane = state.current != nullptr && state.current->start == chunk.pane_start
                     ? *state.current
                     : pane_at(spec, state, chunk.pane_start);
    const GroupKey key = fold.key_of(row);
    const std::uint32_t id = shape.table.intern(key.words.data(), key.nulls, fold.hashes[row]);
    shape.table.retain(id);  // held while the record is found or made
    std::byte* record = record_of(spec, state, pane, id);
    shape.table.release(id);
    add_chunk(layout, record, fold, partials, i, next_run);
    if (layout.counts_only()) {
      // A row per event of the chunk: each measure's kept values from the first row on, nulls
      // after them (rows are storage: which values share one does not matter).
      for (std::size_t m = 0; m < measures; ++m) {
        fold_values_[m].clear();
        each_kept_value(partials, fold.size(), chunk, m,
                        [&](double value) { fold_values_[m].push_back(value); });
      }
      const std::uint64_t held = StateLayout::events(record) - chunk.count;
      for (std::uint32_t k = 0; k < chunk.count; ++k) {
        double* entry = pane.values.append(StateLayout::rows(record), held + k);
        for (std::size_t m = 0; m < measures; ++m) {
          entry[m] = k < fold_values_[m].size() ? fold_values_[m][k] : ValueChunks::null_value();
        }
      }
    } else if (spec.needs.values) {
      for (std::size_t m = 0; m < measures; ++m) {
        // The chain held count(record) - the chunk's values before this chunk.
        std::uint64_t held = layout.count(record, m) - partials.measures[i * measures + m].count;
        each_kept_value(partials, fold.size(), chunk, m, [&](double value) {
          *pane.values.append(layout.values(record, m), held++) = value;
        });
      }
    }
    state.next_end = std::min(state.next_end, pane.first_end);
  }
}

std::int64_t WindowShard::pending_from(std::int64_t watermark,
                                       const std::vector<bool>* sessions_reopen) const {
  std::int64_t from = kNone;
  for (std::size_t s = 0; s < specs_.size(); ++s) {
    const SpecState& state = *states_[s];
    if (specs_[s]->is_session()) {
      if (sessions_reopen != nullptr && (*sessions_reopen)[s]) {
        // Rows waiting to be folded may reopen any session kept for lateness.
        for (const auto& sessions : state.sessions) {
          for (const Session& session : sessions) from = std::min(from, session.start);
        }
        continue;
      }
      for (const auto& [end, id] : state.session_due) {
        for (const Session& session : state.sessions[id]) {
          if (session.pending) from = std::min(from, session.start);
        }
      }
      continue;
    }
    // Panes come by start, and a later pane's windows end later: the first pane with a window
    // still open is the earliest.
    for (const auto& [start, pane] : state.panes) {
      if (pane->last_end > watermark) {
        from = std::min(from, start);
        break;
      }
    }
  }
  return from;
}

void WindowShard::late_row(const WindowSpec& spec, const WindowRows& rows, std::size_t row) {
  ++counters_.late_dropped;
  LateRow& late = late_rows_.emplace_back();
  late.row = row;
  late.spec = spec.index;
  late.begin = late_text_.size();
  std::string& out = late_text_;
  out += "{\"window\":";
  append_json_string(out, spec.config.name);
  out += ",\"time\":\"";
  append_iso8601(out, rows.times[row], 3);
  out += '"';
  append_key_fields(out, row_key(spec, rows, row), spec.group_fields, strings_);
  for (std::size_t m = 0; m < spec.measure_columns.size(); ++m) {
    std::size_t column = spec.measure_columns[m];
    out += ',';
    append_json_string(out, spec.measures[m].name);
    out += ':';
    if (rows.measure_valid[column][row]) {
      append_json_number(out, rows.measures[column][row]);
    } else {
      out += "null";
    }
  }
  out += "}\n";
  late.end = late_text_.size();
}

WindowShard::Pane& WindowShard::pane_at(const WindowSpec& spec, SpecState& state,
                                        std::int64_t start) {
  auto [entry, inserted] = state.panes.try_emplace(start);
  if (inserted) {
    if (state.spare_panes.empty()) {
      entry->second = std::make_unique<Pane>(*spec.layout);
    } else {
      entry->second = std::move(state.spare_panes.back());
      state.spare_panes.pop_back();
    }
    Pane& pane = *entry->second;
    pane.start = start;
    pane.first_end = spec.first_end(start);
    pane.last_end = spec.last_end(start);
  }
  state.current = entry->second.get();
  return *entry->second;
}

void WindowShard::release_pane(const WindowSpec& spec, SpecState& state, std::int64_t start) {
  auto found = state.panes.find(start);
  Pane& pane = *found->second;
  GroupKeyTable& table = state.shape->table;
  for (std::uint32_t id : pane.keys) {
    pane.index[id] = 0;
    table.release(id);
  }
  active_states_ -= pane.keys.size();
  pane.keys.clear();
  pane.records.clear(*spec.layout);
  pane.values.clear();
  if (state.current == &pane) state.current = nullptr;
  // A steady stream opens about one pane as it drops one: a couple of spares keep their blocks
  // for the next panes, and more would hold on to the memory of a past burst of keys.
  if (state.spare_panes.size() < kSparePanes) state.spare_panes.push_back(std::move(found->second));
  state.panes.erase(found);
}

void WindowShard::add_to_pane(const WindowSpec& spec, SpecState& state, Pane& pane,
                              const WindowRows& rows, std::size_t row) {
  add_to_record(spec, state, pane, record_of(spec, state, pane, row_id(*state.shape, rows, row)),
                rows, row);
}

void WindowShard::add_to_record(const WindowSpec& spec, SpecState& state, Pane& pane,
                                std::byte* record, const WindowRows& rows, std::size_t row) {
  const StateLayout& layout = *spec.layout;
  const std::size_t measures = state.values_in.size();
  if (layout.counts_only()) {
    // Without validity when no row has a null.
    with_width(measures, [&]<std::size_t kWidth>() {
      if (state.complete_in) {
        add_row<kWidth, true>(pane.values, record, state, row);
      } else {
        add_row<kWidth, false>(pane.values, record, state, row);
      }
    });
    return;
  }
  ++StateLayout::events(record);
  const std::int64_t offset = rows.times[row] - pane.start;
  for (std::size_t m = 0; m < measures; ++m) {
    if (state.valid_in[m][row] == 0) continue;
    const double value = state.values_in[m][row];
    if (spec.needs.values) {
      *pane.values.append(layout.values(record, m), layout.count(record, m)) =
          canonical_value(value);
    }
    layout.add(record, m, value, offset);
  }
}

template <std::size_t kWidth, bool kComplete>
void WindowShard::add_row(ValueChunks& values, std::byte* record, const SpecState& state,
                          std::size_t row) {
  const std::size_t width = kWidth != 0 ? kWidth : state.values_in.size();
  double* entry = values.append<kWidth>(StateLayout::rows(record), StateLayout::events(record)++);
  // Columns and counts in locals: the stores below could otherwise alias what they index.
  const double* const* columns = state.values_in.data();
  const std::uint8_t* const* valid = state.valid_in.data();
  std::uint64_t* counts = StateLayout::counts(record);
  for (std::size_t m = 0; m < width; ++m) {
    if constexpr (kComplete) {
      entry[m] = canonical_value(columns[m][row]);
      counts[m] += 1;
    } else {
      const bool present = valid[m][row] != 0;
      entry[m] = math::select(present, canonical_value(columns[m][row]), ValueChunks::null_value());
      counts[m] += present ? 1 : 0;
    }
  }
}

void WindowShard::add_to_panes(const WindowSpec& spec, SpecState& state, const WindowRows& rows,
                               std::size_t row) {
  const std::int64_t t = rows.times[row];
  Pane* pane = state.current;
  std::int64_t pane_start = 0;
  std::int64_t first_end = 0;
  if (pane != nullptr && in_pane(t, pane->start, spec.pane)) {
    pane_start = pane->start;
    first_end = pane->first_end;
  } else {
    pane = nullptr;
    pane_start = align_down(t, spec.pane);
    first_end = spec.first_end(t);
  }
  if (first_end > watermark_) {
    if (folding_[spec.index]) return;  // on time: the engine folds these rows into partials
    add_to_pane(spec, state, pane != nullptr ? *pane : pane_at(spec, state, pane_start), rows, row);
    state.next_end = std::min(state.next_end, first_end);
    return;
  }
  const std::int64_t last_end = spec.last_end(t);
  if (saturating_add(last_end, watermark_config_.allowed_lateness_ns) <= watermark_) {
    late_row(spec, rows, row);
    return;
  }
  add_to_pane(spec, state, pane != nullptr ? *pane : pane_at(spec, state, pane_start), rows, row);
  bool any_revision = false;
  const std::uint32_t id = row_id(*state.shape, rows, row);
  for (std::int64_t end = first_end; end <= last_end; end += spec.slide) {
    if (end > watermark_) {
      state.next_end = std::min(state.next_end, end);
      break;
    }
    if (saturating_add(end, watermark_config_.allowed_lateness_ns) <= watermark_) continue;
    const std::uint32_t revision = ++state.revisions[end][state.shape->table.key(id)];
    emit_key(spec, state, end - spec.size, end, id, revision);
    any_revision = true;
  }
  if (any_revision) ++counters_.late_revised;
}

WindowShard::Session* WindowShard::session_for(const WindowSpec& spec,
                                               std::vector<Session>& sessions, std::int64_t start,
                                               std::int64_t end) {
  // Sessions touching [start, end) merge with it (as Flink's session windows do).
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
    return nullptr;
  }
  if (last - first == 1 && first->start == merged_start) {
    // It falls in (or extends) one session that starts no later: add to it in place.
    first->end = merged_end;
    return &*first;
  }
  const StateLayout& layout = *spec.layout;
  Session merged;
  merged.start = merged_start;
  merged.end = merged_end;
  merged.state = make_record(layout);
  merged.values.resize(spec.needs.values ? layout.measures() : 0);
  merged.revision = revision;
  for (auto it = first; it != last; ++it) {
    layout.merge(merged.state.get(), it->state.get(), it->start - merged_start);
    for (std::size_t m = 0; m < merged.values.size(); ++m) {
      merged.values[m].insert(merged.values[m].end(), it->values[m].begin(), it->values[m].end());
    }
  }
  active_states_ += 1;
  active_states_ -= static_cast<std::size_t>(last - first);
  auto position = sessions.erase(first, last);
  return &*sessions.insert(position, std::move(merged));
}

std::vector<WindowShard::Session>& WindowShard::sessions_of(SpecState& state, std::uint32_t id) {
  if (id >= state.sessions.size()) state.sessions.resize(state.shape->table.id_limit());
  return state.sessions[id];
}

void WindowShard::settle_session(const WindowSpec& spec, SpecState& state, Session& session,
                                 std::uint32_t id) {
  GroupKeyTable& table = state.shape->table;
  if (session.end <= watermark_) {
    // Late but within the allowed lateness: emit (again) at once.
    ++counters_.late_revised;
    session.revision += 1;
    session.pending = false;
    emit_session(spec, session, table.key(id));
    state.session_expiry.emplace(saturating_add(session.end, watermark_config_.allowed_lateness_ns),
                                 id);
    table.retain(id);
  } else {
    session.pending = true;
    // Listed once; when it grows, refresh_due_sessions() moves the entry once it comes first.
    if (!session.listed_due) {
      state.session_due.emplace(session.end, id);
      table.retain(id);
      session.listed_due = true;
      session.due_end = session.end;
    }
  }
}

void WindowShard::refresh_due_sessions(const WindowSpec& spec, SpecState& state) {
  // A busy key's session grows with every event: moving its entry each time would cost a tree
  // update per event, leaving it would make each earlier end a step. Entries move only here,
  // when they come first and lie within half a gap of the watermark: a busy key's entry moves
  // about once per gap, and the watermark rarely reaches an entry no refresh has looked at.
  const std::int64_t horizon = saturating_add(watermark_, spec.gap / 2);
  while (!state.session_due.empty()) {
    const auto first = state.session_due.begin();
    const std::int64_t end = first->first;
    if (end > horizon) return;  // an end never moves earlier: it is a bound for next_due()
    const std::uint32_t id = first->second;
    Session* listed = nullptr;
    for (Session& session : state.sessions[id]) {
      if (session.listed_due && session.due_end == end) listed = &session;
    }
    if (listed != nullptr && listed->pending && listed->end == end) return;  // due at its end
    state.session_due.erase(first);
    if (listed != nullptr) listed->listed_due = false;
    if (listed == nullptr || !listed->pending) {
      // Its session was merged into another, or emitted: the entry's reference goes with it.
      state.shape->table.release(id);
      continue;
    }
    state.session_due.emplace(listed->end, id);  // keeps the reference
    listed->listed_due = true;
    listed->due_end = listed->end;
  }
}

void WindowShard::add_to_sessions(const WindowSpec& spec, SpecState& state, const WindowRows& rows,
                                  std::size_t row) {
  const std::int64_t t = rows.times[row];
  if (folding_[spec.index] && saturating_add(t, spec.gap) > watermark_) return;  // folded
  const std::uint32_t id = row_id(*state.shape, rows, row);
  const StateLayout& layout = *spec.layout;
  std::vector<Session>& sessions = sessions_of(state, id);
  const bool had_sessions = !sessions.empty();
  Session* found = session_for(spec, sessions, t, saturating_add(t, spec.gap));
  if (found == nullptr) {
    late_row(spec, rows, row);
    return;
  }
  if (!had_sessions) state.shape->table.retain(id);
  Session& session = *found;
  std::byte* record = session.state.get();
  ++StateLayout::events(record);
  for (std::size_t m = 0; m < spec.measure_columns.size(); ++m) {
    const std::size_t column = spec.measure_columns[m];
    if (!rows.measure_valid[column][row]) continue;
    const double value = rows.measures[column][row];
    if (spec.needs.values) session.values[m].push_back(canonical_value(value));
    layout.add(record, m, value, t - session.start);
  }
  settle_session(spec, state, session, id);
}

void WindowShard::add_session_partials(const WindowSpec& spec, SpecState& state,
                                       const FoldRows& fold, const PanePartials& partials) {
  const StateLayout& layout = *spec.layout;
  std::size_t next_run = 0;  // sketch runs come by slot
  for (std::size_t i = 0; i < partials.partials.size(); ++i) {
    const PanePartial& chunk = partials.partials[i];
    const std::size_t row = partials.order[chunk.first];
    if (count_ > 1 && !owns(fold.hashes[row], index_, count_)) continue;
    // The chunk's rows, sorted by time, are one session on their own: [first, last + gap).
    const std::int64_t last_time = fold.times[partials.order[chunk.first + chunk.count - 1]];
    std::byte* fragment = state.scratch.get();
    layout.destroy(fragment);
    layout.construct(fragment);
    add_chunk(layout, fragment, fold, partials, i, next_run);
    const GroupKey key = fold.key_of(row);
    GroupKeyTable& table = state.shape->table;
    const std::uint32_t id = table.intern(key.words.data(), key.nulls, fold.hashes[row]);
    table.retain(id);  // held while its sessions are found or made; theirs if it had none
    std::vector<Session>& sessions = sessions_of(state, id);
    const bool had_sessions = !sessions.empty();
    Session* found =
        session_for(spec, sessions, chunk.pane_start, saturating_add(last_time, spec.gap));
    if (found == nullptr || had_sessions) table.release(id);
    LDH_EXPECTS(found != nullptr, "a folded session chunk was late");
    Session& session = *found;
    layout.merge(session.state.get(), fragment, chunk.pane_start - session.start);
    for (std::size_t m = 0; m < session.values.size(); ++m) {
      each_kept_value(partials, fold.size(), chunk, m,
                      [&](double value) { session.values[m].push_back(value); });
    }
    settle_session(spec, state, session, id);
  }
}

void WindowShard::add_chunk(const StateLayout& layout, std::byte* record, const FoldRows& fold,
                            const PanePartials& partials, std::size_t chunk,
                            std::size_t& next_run) {
  const std::size_t measures = layout.measures();
  StateLayout::events(record) += partials.partials[chunk].count;
  for (std::size_t m = 0; m < measures; ++m) {
    layout.add_partial(record, m, partials.measures[chunk * measures + m],
                       sketch_runs_of(partials, chunk * measures + m, next_run), fold.view(),
                       partials.order.data(), partials.partials[chunk]);
  }
}

std::span<const SketchRun> WindowShard::sketch_runs_of(const PanePartials& partials,
                                                       std::size_t slot, std::size_t& next_run) {
  const auto& runs = partials.sketch_runs;
  while (next_run < runs.size() && runs[next_run].slot < slot) ++next_run;
  std::size_t last = next_run;
  while (last < runs.size() && runs[last].slot == slot) ++last;
  const std::span<const SketchRun> mine(runs.data() + next_run, last - next_run);
  next_run = last;
  return mine;
}

void WindowShard::finalize(const WindowSpec& spec, const std::byte* state, WindowResult& result) {
  const StateLayout& layout = *spec.layout;
  result.events = StateLayout::events(state);
  result.values = result_values_.size();
  result.row = row_;
  if (layout.derives_from_values()) {
    // From the sorted values, or the gathered ones a deferred result has not sorted yet.
    derived_.resize(spec.measures.size());
    for (std::size_t m = 0; m < spec.measures.size(); ++m) {
      if (deferring_) {
        const std::uint32_t group = measure_groups_[m];
        const std::span<const double> gathered(
            deferred_values_.data() + deferred_offsets_[group],
            deferred_offsets_[group + 1] - deferred_offsets_[group]);
        derived_[m].compute(gathered, false, spec.needs.squares);
      } else {
        derived_[m].compute(sorted_values_[m], true, spec.needs.squares);
      }
    }
  }
  // Percentiles of a deferred result wait for the bulk sort at the end of write_listed().
  auto add_value = [&](std::size_t measure, const MetricConfig& metric) {
    if (deferring_ && spec.needs.values && StateLayout::is_exact_percentile(metric)) {
      deferred_.push_back({result_values_.size(), measure_groups_[measure], &metric});
      result_values_.emplace_back();
    } else {
      result_values_.push_back(
          layout.value(state, measure, metric, sorted_values_[measure],
                       layout.derives_from_values() ? &derived_[measure] : nullptr));
    }
  };
  for (std::size_t m = 0; m < spec.measures.size(); ++m) {
    for (const auto& metric : spec.config.metrics) add_value(m, metric);
  }
  for (const auto& alert : spec.alerts) add_value(alert.measure, alert.metric);
}

void WindowShard::emit_parts(const WindowSpec& spec, SpecState& state, std::int64_t start,
                             std::int64_t end, std::uint32_t id, std::uint32_t revision) {
  const StateLayout& layout = *spec.layout;
  const std::byte* merged = parts_.front().second;
  if (parts_.size() > 1) {
    // Merging into an empty state gives the same bits as the one state alone, so a key in a
    // single pane skips it.
    std::byte* scratch = state.scratch.get();
    layout.destroy(scratch);
    layout.construct(scratch);
    for (const auto& [pane, record] : parts_) layout.merge(scratch, record, pane->start - start);
    merged = scratch;
  }
  if (spec.needs.values) {
    // Each measure's kept values, from every part.
    const std::size_t measures = spec.measures.size();
    for (std::size_t m = 0; m < measures; ++m) window_values_[m].clear();
    for (const auto& part : parts_) {
      const Pane* pane = part.first;  // named: lambdas cannot capture structured bindings
      const std::byte* record = part.second;
      if (layout.counts_only()) {
        const ValueChain& rows = StateLayout::rows(record);
        const std::uint64_t events = StateLayout::events(record);
        with_width(measures, [&]<std::size_t kWidth>() {
          if constexpr (kWidth != 0) {
            pane->values.gather_columns<kWidth>(rows, events, window_values_);
          } else {
            for (std::size_t m = 0; m < measures; ++m) {
              pane->values.gather(rows, events, m, window_values_[m]);
            }
          }
        });
        continue;
      }
      for (std::size_t m = 0; m < measures; ++m) {
        pane->values.gather(layout.values(record, m), layout.count(record, m), 0,
                            window_values_[m]);
      }
    }
    if (deferring_) {
      measure_groups_.resize(measures);
      for (std::size_t m = 0; m < measures; ++m) {
        measure_groups_[m] = static_cast<std::uint32_t>(deferred_offsets_.size() - 1);
        deferred_values_.insert(deferred_values_.end(), window_values_[m].begin(),
                                window_values_[m].end());
        deferred_offsets_.push_back(static_cast<std::uint32_t>(deferred_values_.size()));
      }
    } else {
      for (std::size_t m = 0; m < measures; ++m) sort_values(window_values_[m], sorted_values_[m]);
    }
  }
  WindowResult& result = results_.emplace_back();
  result.spec = spec.index;
  result.start = start;
  result.end = end;
  result.key = state.shape->table.key(id);
  result.revision = revision;
  finalize(spec, merged, result);
}

void WindowShard::emit_key(const WindowSpec& spec, SpecState& state, std::int64_t start,
                           std::int64_t end, std::uint32_t id, std::uint32_t revision) {
  parts_.clear();
  for (auto it = state.panes.lower_bound(start); it != state.panes.end() && it->first < end; ++it) {
    if (const std::byte* record = it->second->find(id))
      parts_.emplace_back(it->second.get(), record);
  }
  emit_parts(spec, state, start, end, id, revision);
}

void WindowShard::emit_session(const WindowSpec& spec, Session& session, const GroupKey& key) {
  for (std::size_t m = 0; m < session.values.size(); ++m) {
    sort_values(session.values[m], sorted_values_[m]);
  }
  WindowResult& result = results_.emplace_back();
  result.spec = spec.index;
  result.start = session.start;
  result.end = session.end;
  result.key = key;
  result.revision = static_cast<std::uint32_t>(session.revision);
  finalize(spec, session.state.get(), result);
}

void WindowShard::begin_step(std::int64_t watermark) {
  watermark_ = watermark;
  row_ = 0;
}

DueGroup WindowShard::next_group() const {
  DueGroup next;
  for (std::size_t s = 0; s < specs_.size(); ++s) {
    const SpecState& state = *states_[s];
    const std::optional<std::int64_t> end = first_unwritten_end(state);
    if (!end) continue;
    const DueGroup group{*end, s};
    if (group.end <= watermark_ && group < next) next = group;
  }
  return next;
}

std::int64_t WindowShard::next_end_besides(std::size_t spec) const {
  std::int64_t end = kNone;
  for (std::size_t s = 0; s < specs_.size(); ++s) {
    if (s != spec) end = std::min(end, first_unwritten_end(*states_[s]).value_or(kNone));
  }
  return end;
}

std::size_t WindowShard::list_group(DueGroup group, std::int64_t last_end) {
  group_ = group;
  listed_.clear();
  listed_sessions_.clear();
  const WindowSpec& spec = *specs_[group.spec];
  SpecState& state = *states_[group.spec];
  if (spec.is_session()) {
    list_sessions(spec, state, group.end, std::max(group.end, last_end));
  } else if (state.next_end == group.end) {
    list_window(spec, state, group.end);
    // The next window with data: the one after, or the first containing a later pane.
    const std::int64_t next = saturating_add(group.end, spec.slide);
    auto later = state.panes.lower_bound(next - spec.size);
    state.next_end = later == state.panes.end() ? kNone : std::max(next, later->second->first_end);
  }
  const bool sessions = spec.is_session();
  std::sort(listed_.begin(), listed_.end(), [&](const ListedResult& a, const ListedResult& b) {
    // A pane window's results all start at the group's start: their key prefixes decide,
    // compared inline, unless they tie.
    if (!sessions && a.key_prefix != b.key_prefix) return a.key_prefix < b.key_prefix;
    return in_write_order(a, *this, b, *this);
  });
  return listed_.size();
}

void WindowShard::list_window(const WindowSpec& spec, SpecState& state, std::int64_t end) {
  const std::int64_t start = end - spec.size;
  group_start_ = start;
  state.window_panes.clear();
  for (auto it = state.panes.lower_bound(start); it != state.panes.end() && it->first < end; ++it) {
    state.window_panes.push_back(it->second.get());
  }
  auto list = [&](std::uint32_t id, std::uint32_t record) {
    listed_.push_back({start,
                       key_order_prefix(state.shape->table.key(id), spec.group_fields, strings_),
                       id, record});
  };
  if (state.window_panes.size() == 1) {
    const Pane& pane = *state.window_panes.front();
    for (std::uint32_t record = 0; record < pane.records.size(); ++record) {
      list(pane.keys[record], record);
    }
    return;
  }
  // The keys of every pane in the window, each once.
  const std::size_t ids = state.shape->table.id_limit();
  if (state.listed.size() < ids) state.listed.resize(ids, 0);
  if (++state.listing == 0) {
    std::fill(state.listed.begin(), state.listed.end(), 0);
    state.listing = 1;
  }
  for (const Pane* pane : state.window_panes) {
    for (std::uint32_t id : pane->keys) {
      if (state.listed[id] != state.listing) {
        state.listed[id] = state.listing;
        list(id, kNoId);
      }
    }
  }
}

void WindowShard::list_sessions(const WindowSpec& spec, SpecState& state, std::int64_t first_end,
                                std::int64_t last_end) {
  while (true) {
    refresh_due_sessions(spec, state);  // a first entry up to the watermark is a session's end
    if (state.session_due.empty()) return;
    const std::int64_t end = state.session_due.begin()->first;
    if (end < first_end || end > last_end) return;
    const std::uint32_t id = state.session_due.begin()->second;
    state.session_due.erase(state.session_due.begin());
    GroupKeyTable& table = state.shape->table;
    const std::uint64_t prefix = key_order_prefix(table.key(id), spec.group_fields, strings_);
    for (Session& session : state.sessions[id]) {
      if (!session.listed_due || session.due_end != end) continue;
      session.listed_due = false;
      session.pending = false;
      session.revision += 1;
      listed_.push_back(
          {session.start, prefix, static_cast<std::uint32_t>(listed_sessions_.size()), 0});
      listed_sessions_.emplace_back(&session, id);
      state.session_expiry.emplace(
          saturating_add(session.end, watermark_config_.allowed_lateness_ns), id);
      table.retain(id);
    }
    table.release(id);  // the due entry's; the key's sessions hold theirs
  }
}

GroupKey WindowShard::listed_key(const ListedResult& listed) const {
  const GroupKeyTable& table = states_[group_.spec]->shape->table;
  if (specs_[group_.spec]->is_session()) return table.key(listed_sessions_[listed.id].second);
  return table.key(listed.id);
}

bool WindowShard::in_write_order(const ListedResult& a, const WindowShard& a_shard,
                                 const ListedResult& b, const WindowShard& b_shard) {
  // Sessions of several ends come by end; then keys by value, the start first, which differs
  // only between sessions.
  if (a_shard.specs_[a_shard.group_.spec]->is_session()) {
    const std::int64_t a_end = a_shard.listed_sessions_[a.id].first->end;
    const std::int64_t b_end = b_shard.listed_sessions_[b.id].first->end;
    if (a_end != b_end) return a_end < b_end;
  }
  if (a.start != b.start) return a.start < b.start;
  if (a.key_prefix != b.key_prefix) return a.key_prefix < b.key_prefix;
  return compare_keys(a_shard.listed_key(a), b_shard.listed_key(b),
                      a_shard.specs_[a_shard.group_.spec]->group_fields, a_shard.strings_) < 0;
}

bool WindowShard::listed_before(std::size_t i, const WindowShard& other, std::size_t j) const {
  return in_write_order(listed_[i], *this, other.listed_[j], other);
}

void WindowShard::write_listed(std::size_t first, std::size_t last, std::string* results,
                               std::string* alerts) {
  const WindowSpec& spec = *specs_[group_.spec];
  SpecState& state = *states_[group_.spec];
  if (spec.is_session()) {
    for (std::size_t i = first; i < last; ++i) {
      const auto [session, id] = listed_sessions_[listed_[i].id];
      emit_session(spec, *session, state.shape->table.key(id));
    }
  } else {
    deferring_ = sorter_ != nullptr;
    const std::int64_t end = group_.end;
    for (std::size_t i = first; i < last; ++i) {
      const ListedResult& listed = listed_[i];
      parts_.clear();
      if (listed.record != kNoId) {
        const Pane& pane = *state.window_panes.front();
        parts_.emplace_back(&pane, pane.records.at(listed.record));
      } else {
        for (const Pane* pane : state.window_panes) {
          if (const std::byte* record = pane->find(listed.id)) parts_.emplace_back(pane, record);
        }
      }
      emit_parts(spec, state, group_start_, end, listed.id, 0);
    }
    deferring_ = false;
  }
  if (!deferred_.empty()) {
    sorter_->sort_groups(deferred_values_, deferred_offsets_);
    for (const DeferredPercentile& deferred : deferred_) {
      const std::span<const double> sorted(
          deferred_values_.data() + deferred_offsets_[deferred.group],
          deferred_offsets_[deferred.group + 1] - deferred_offsets_[deferred.group]);
      result_values_[deferred.slot] = StateLayout::percentile_value(*deferred.metric, sorted);
    }
    deferred_.clear();
  }
  deferred_values_.clear();
  deferred_offsets_.assign(1, 0);
  // Format here, in parallel with the other shards; the engine merges the texts.
  std::string& result_text = results != nullptr ? *results : result_text_;
  std::string& alert_text = alerts != nullptr ? *alerts : alert_text_;
  for (const WindowResult& result : results_) {
    writer_.write(spec, result, values(result), result_text, alert_text, counters_);
    text_ends_.emplace_back(result_text.size(), alert_text.size());
  }
  results_.clear();
  result_values_.clear();
}

void WindowShard::end_step() {
  const std::int64_t watermark = watermark_;
  for (std::size_t s = 0; s < specs_.size(); ++s) {
    const WindowSpec& spec = *specs_[s];
    SpecState& state = *states_[s];
    if (spec.is_session()) {
      GroupKeyTable& table = state.shape->table;
      while (!state.session_expiry.empty() && state.session_expiry.begin()->first <= watermark) {
        const std::uint32_t id = state.session_expiry.begin()->second;
        state.session_expiry.erase(state.session_expiry.begin());
        std::vector<Session>& sessions = state.sessions[id];
        const bool had_sessions = !sessions.empty();
        active_states_ -= std::erase_if(sessions, [&](const Session& session) {
          return !session.pending &&
                 saturating_add(session.end, watermark_config_.allowed_lateness_ns) <= watermark;
        });
        if (had_sessions && sessions.empty()) table.release(id);
        table.release(id);  // the entry's
      }
      continue;
    }
    // Drop panes and revision counters no window can use any more.
    while (!state.panes.empty() &&
           saturating_add(state.panes.begin()->second->last_end,
                          watermark_config_.allowed_lateness_ns) <= watermark) {
      release_pane(spec, state, state.panes.begin()->first);
    }
    while (!state.revisions.empty() &&
           saturating_add(state.revisions.begin()->first, watermark_config_.allowed_lateness_ns) <=
               watermark) {
      state.revisions.erase(state.revisions.begin());
    }
  }
  listed_.clear();
  listed_sessions_.clear();
  refresh_sessions();  // expired sessions leave entries behind
}

std::int64_t WindowShard::next_due() const {
  // Dropping panes and revision counters can wait (nothing reads them once they are due), so
  // only windows and sessions due for emission, and sessions to expire, count.
  std::int64_t due = kNone;
  for (const auto& state : states_) {
    due = std::min(due, first_unwritten_end(*state).value_or(kNone));
    if (!state->session_expiry.empty()) due = std::min(due, state->session_expiry.begin()->first);
  }
  return due;
}

WindowCounters WindowShard::take_counters() {
  WindowCounters counters = counters_;
  counters_ = WindowCounters{};
  return counters;
}

void WindowShard::clear_output() {
  results_.clear();
  result_values_.clear();
  result_text_.clear();
  alert_text_.clear();
  text_ends_.clear();
  late_rows_.clear();
  late_text_.clear();
}

std::size_t WindowShard::state_bytes() const {
  std::size_t bytes = 0;
  for (const auto& shape : shapes_) bytes += shape->table.memory_bytes();
  for (std::size_t s = 0; s < specs_.size(); ++s) {
    const StateLayout& layout = *specs_[s]->layout;
    const SpecState& state = *states_[s];
    for (const auto& [start, pane] : state.panes) {
      bytes += sizeof(Pane) + pane->records.memory_bytes() +
               pane->keys.capacity() * sizeof(std::uint32_t) +
               pane->index.capacity() * sizeof(std::uint32_t);
      bytes += pane->values.memory_bytes();
      for (std::uint32_t record = 0; record < pane->records.size(); ++record) {
        bytes += layout.heap_bytes(pane->records.at(record));
      }
    }
    bytes += state.sessions.capacity() * sizeof(std::vector<Session>);
    for (const auto& sessions : state.sessions) {
      for (const auto& session : sessions) {
        bytes += sizeof(Session) + layout.record_bytes() + layout.heap_bytes(session.state.get());
        for (const auto& values : session.values) bytes += values.capacity() * sizeof(double);
      }
    }
  }
  return bytes;
}

}  // namespace ldh
