#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "pipeline/error.h"
#include "pipeline/schema.h"
#include "pipeline/types.h"

namespace ldh {

/// A constant from the configuration: a number, a string or a boolean.
using Literal = std::variant<double, std::string, bool>;

enum class SourceType : std::uint8_t { file, generator };

/// Replays a file of events (`type: file`).
struct FileSourceConfig {
  std::string path;
  /// Events per second to replay at; 0 reads as fast as possible.
  double rate = 0;
};

/// Synthesises a realistic sensor feed (`type: generator`); see docs/configuration.md.
struct GeneratorConfig {
  std::uint64_t events = 100'000;  // 0 = unbounded
  std::uint32_t sensors = 100;
  double rate = 0;                           // events/s; 0 = as fast as possible
  std::int64_t interval_ns = 1'000'000'000;  // event-time spacing between readings of one sensor
  std::int64_t jitter_ns = 0;                // out-of-order jitter of event times
  double bad_share = 0;                      // share of deliberately malformed records
  std::uint64_t seed = 1;
  std::int64_t start_ns = 1'795'000'000'000'000'000;  // event time of the first reading
  std::uint32_t frame_records = 1024;                 // binary: records per frame
};

/// One entry of `input.sources`.
struct SourceConfig {
  std::string name;
  SourceType type = SourceType::generator;
  /// The source's own wire format; defaults to `input.format.type`.
  Format format = Format::json;
  FileSourceConfig file;
  GeneratorConfig generator;
  SourceLocation where;
};

/// `input.format`: the wire format, the schema and whether values are validated.
struct InputFormatConfig {
  Format type = Format::json;
  Schema schema;
  /// Checks UTF-8, NaN and ranges; `validation: false` skips value checks but never structure.
  bool validation = true;
  /// When the schema came from a .proto: its file and message (for `ldh gen`).
  std::string proto_file;
  std::string proto_message;
  SourceLocation where;
};

enum class FilterOperator : std::uint8_t {
  range,
  eq,
  ne,
  gt,
  ge,
  lt,
  le,
  in,
  not_in,
  exists,
  condition
};
enum class FilterCombine : std::uint8_t { all, any };

/// One rule of a filter stage: `{field, operator, value}` or `{condition: "expression"}`.
struct FilterRule {
  std::string field;
  FilterOperator op = FilterOperator::eq;
  std::vector<Literal> values;  // range: [lo, hi]; in/not_in: the set; others: one value
  std::string condition;        // operator: condition
  SourceLocation where;
  SourceLocation condition_where;  // where the condition text starts
};

struct FilterConfig {
  FilterCombine combine = FilterCombine::all;
  std::vector<FilterRule> rules;
  /// Writes rejected events here (JSON lines) when set.
  std::string reject_path;
};

enum class TransformKind : std::uint8_t { add_field, calculate, rename, drop, cast };

/// One operation of a transform stage.
struct TransformOperation {
  TransformKind kind = TransformKind::calculate;
  std::string field;
  std::string to;                   // rename: the new name
  std::string expression;           // add-field value or calculate formula, as text
  std::optional<Literal> constant;  // add-field with a constant value
  bool now = false;                 // add-field value "now()"
  std::optional<DataType> type;     // result type (cast: the target type)
  SourceLocation where;
  SourceLocation expression_where;
};

struct TransformConfig {
  std::vector<TransformOperation> operations;
};

enum class StageType : std::uint8_t { filter, transform };

/// One entry of `processing.pipeline`.
struct StageConfig {
  std::string name;
  StageType type = StageType::filter;
  FilterConfig filter;
  TransformConfig transform;
  SourceLocation where;
};

enum class SinkType : std::uint8_t { stdout_sink, jsonl };

/// One entry of `output.destinations`.
struct SinkConfig {
  SinkType type = SinkType::stdout_sink;
  std::string path;  // jsonl
  SourceLocation where;
};

enum class WindowType : std::uint8_t { tumbling, sliding, session };

/// One metric a window computes for each of its measures.
struct MetricConfig {
  enum class Kind : std::uint8_t {
    count,
    sum,
    avg,
    min,
    max,
    variance,
    variance_pop,
    stddev,
    stddev_pop,
    percentile,         // continuous (Hyndman-Fan type 7); `quantile` in [0, 1]
    percentile_disc,    // DuckDB quantile_disc
    approx_percentile,  // DDSketch; `quantile` in [0, 1]
    trend,
    first,
    last
  };
  Kind kind = Kind::avg;
  double quantile = 0.5;
  /// The column suffix: `avg`, `p95`, `p99_9`, `median`, `p95_disc`, `approx_p99`, ...
  std::string name;
  SourceLocation where;
};

/// One entry of `processing.windows`.
struct WindowConfig {
  std::string name;  // the configured name, else the type
  WindowType type = WindowType::tumbling;
  std::int64_t size_ns = 60'000'000'000;
  std::int64_t slide_ns = 0;  // sliding only
  std::int64_t gap_ns = 0;    // session only
  std::vector<MetricConfig> metrics;
  /// Group-by fields (`groupBy`); defaults to `processing.groupBy` / `aggregations.dimensions`.
  std::vector<std::string> group_by;
  /// Numeric fields the metrics apply to; defaults to `aggregations.measures`, else every
  /// numeric field that reaches the windows.
  std::vector<std::string> measures;
  /// True when `measures` was filled with every numeric field by default: the plan, which knows
  /// what type each expression yields, then drops those that are not numeric after all.
  bool default_measures = false;
  /// DDSketch relative accuracy for approx_percentile.
  double relative_accuracy = 0.01;
  SourceLocation where;
};

/// `processing.watermark`: how event time advances and how late data is treated.
struct WatermarkConfig {
  std::int64_t max_out_of_orderness_ns = 0;
  std::int64_t allowed_lateness_ns = 0;
  /// A source with no events for this long (processing time) stops holding the watermark back;
  /// 0 = never.
  std::int64_t idle_timeout_ns = 0;
};

/// One of `output.alerts.conditions`: compares a window result column with a constant.
struct AlertCondition {
  /// A result column (`temperature_max`), or a bare measure (`temperature`): then gt/ge compare
  /// the window's max and lt/le its min ("some reading above 100").
  std::string metric;
  FilterOperator op = FilterOperator::gt;
  double value = 0;
  std::string window;  // a window name, or a size such as "5m"; empty = every window
  SourceLocation where;
};

struct AlertConfig {
  std::vector<AlertCondition> conditions;
  /// Where alert records go (JSON lines); empty = the run's destinations.
  std::string path;
};

/// The whole configuration file.
struct Config {
  std::string path;
  std::vector<SourceConfig> sources;
  InputFormatConfig format;
  std::vector<StageConfig> pipeline;
  std::vector<SinkConfig> destinations;
  /// Where bad records go (`input.deadLetter`); empty means "dead-letter.jsonl".
  std::string dead_letter_path;
  std::vector<WindowConfig> windows;
  WatermarkConfig watermark;
  /// `processing.time: processing` windows on arrival time instead of the event-time field.
  bool processing_time = false;
  /// Where events too late for their windows go (`processing.lateEvents`); empty = counted only.
  std::string late_path;
  AlertConfig alerts;
};

/// Parses a duration: 500ms, 10s, 1m, 24h, 2d, 250us, 100ns (an integer and a unit).
std::optional<std::int64_t> parse_duration_ns(std::string_view text);

/// Loads and checks a YAML or JSON configuration. Throws ConfigError listing every problem with
/// FILE:LINE:COL. Relative paths inside are resolved against the file's folder.
Config load_config(const std::string& path);

/// Parses configuration text as if it came from `path` (for tests and embedded configs).
Config parse_config(const std::string& text, const std::string& path);

}  // namespace ldh
