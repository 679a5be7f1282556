#include "pipeline/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <type_traits>

#include "pipeline/config_reader.h"
#include "pipeline/did_you_mean.h"
#include "pipeline/json_writer.h"
#include "pipeline/proto_schema.h"
#include "pipeline/time.h"

namespace ldh {

namespace {

template <typename Value>
using Names = std::vector<std::pair<std::string, Value>>;

const Names<SourceType> kSourceTypes = {
    {"file", SourceType::file}, {"generator", SourceType::generator},
    {"udp", SourceType::udp},   {"kafka", SourceType::kafka},
    {"dpdk", SourceType::dpdk}, {"websocket", SourceType::websocket}};
const Names<SinkType> kSinkTypes = {{"stdout", SinkType::stdout_sink},
                                    {"jsonl", SinkType::jsonl},
                                    {"websocket", SinkType::websocket},
                                    {"kafka", SinkType::kafka},
                                    {"elasticsearch", SinkType::elasticsearch}};
// Alert channels people mistake for destinations: named, so that the message points to them.
const std::vector<std::string> kNotificationTypes = {"webhook", "email"};
const Names<NotificationChannel> kNotificationChannels = {
    {"email", NotificationChannel::email}, {"webhook", NotificationChannel::webhook}};
// `compression` also takes true (gzip) and false (none).
const Names<Compression> kCompressions = {
    {"gzip", Compression::gzip}, {"zstd", Compression::zstd}, {"none", Compression::none}};
// Formats results can be written in; protobuf is named so that its refusal can say why.
const Names<Format> kOutputFormats = {{"json", Format::json}, {"protobuf", Format::protobuf}};
const Names<OverflowPolicy> kOverflowPolicies = {{"block", OverflowPolicy::block},
                                                 {"drop", OverflowPolicy::drop},
                                                 {"resize", OverflowPolicy::resize}};
const Names<UnderflowPolicy> kUnderflowPolicies = {{"wait", UnderflowPolicy::wait},
                                                   {"flush", UnderflowPolicy::flush}};
const Names<Format> kFormats = {
    {"json", Format::json}, {"binary", Format::binary}, {"protobuf", Format::protobuf}};
const Names<DataType> kDataTypes = {
    {"int32", DataType::int32},        {"int64", DataType::int64},  {"float32", DataType::float32},
    {"float64", DataType::float64},    {"bool", DataType::boolean}, {"string", DataType::string},
    {"timestamp", DataType::timestamp}};
const Names<TimeUnit> kTimeUnits = {{"s", TimeUnit::s},
                                    {"ms", TimeUnit::ms},
                                    {"us", TimeUnit::us},
                                    {"ns", TimeUnit::ns},
                                    {"iso8601", TimeUnit::iso8601}};
const Names<FilterOperator> kOperators = {{"range", FilterOperator::range},
                                          {"eq", FilterOperator::eq},
                                          {"ne", FilterOperator::ne},
                                          {"gt", FilterOperator::gt},
                                          {"ge", FilterOperator::ge},
                                          {"lt", FilterOperator::lt},
                                          {"le", FilterOperator::le},
                                          {"in", FilterOperator::in},
                                          {"not_in", FilterOperator::not_in},
                                          {"exists", FilterOperator::exists},
                                          {"condition", FilterOperator::condition}};
const Names<FilterCombine> kCombines = {{"all", FilterCombine::all}, {"any", FilterCombine::any}};
const Names<StageType> kStageTypes = {{"filter", StageType::filter},
                                      {"transform", StageType::transform}};
const Names<TransformKind> kTransformKinds = {{"add-field", TransformKind::add_field},
                                              {"calculate", TransformKind::calculate},
                                              {"rename", TransformKind::rename},
                                              {"drop", TransformKind::drop},
                                              {"cast", TransformKind::cast}};
const Names<WindowType> kWindowTypes = {{"tumbling", WindowType::tumbling},
                                        {"sliding", WindowType::sliding},
                                        {"session", WindowType::session}};
// `processing.time`: whether windows use processing time.
const Names<bool> kTimeModes = {{"event", false}, {"processing", true}};
const Names<FilterOperator> kAlertOperators = {
    {"gt", FilterOperator::gt}, {"ge", FilterOperator::ge}, {"lt", FilterOperator::lt},
    {"le", FilterOperator::le}, {"eq", FilterOperator::eq}, {"ne", FilterOperator::ne}};
const Names<EventPriority> kEventPriorities = {
    {"high", EventPriority::high}, {"medium", EventPriority::medium}, {"low", EventPriority::low}};
// The built-in actions of event rules; any other action names a handler.
const Names<EventAction> kEventActions = {{"notify", EventAction::notify},
                                          {"log", EventAction::log},
                                          {"webhook", EventAction::webhook},
                                          {"kafka", EventAction::kafka}};
constexpr std::int64_t kMaxEventWorkers = 1024;
// Columns every result row has besides the group-by fields and `<measure>_<metric>`.
const std::vector<std::string> kResultColumns = {"window", "start", "end", "count", "revision"};
// Metrics of a window that lists none, when `processing.metrics` gives none either.
const std::vector<std::string> kDefaultMetrics = {"count", "avg", "min", "max"};

constexpr std::string_view kSizeExpected = "the window length, a duration such as 1m";
constexpr std::string_view kSlideExpected =
    "how far each window starts after the previous, a duration such as 30s";
constexpr std::string_view kGapExpected =
    "the inactivity that closes a session, a duration such as 30s";

constexpr std::int64_t kMaxUint32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMaxProtoFieldNumber = (1 << 29) - 1;
constexpr std::int64_t kMaxStringSlotBytes = 255;
constexpr std::int64_t kMaxPort = 65535;
// Kafka's limit on topic names.
constexpr std::size_t kMaxTopicNameBytes = 249;
// librdkafka properties ldh sets from its own keys or needs for at-least-once delivery.
const std::vector<std::pair<std::string, std::string>> kReservedKafkaProperties = {
    {"bootstrap.servers", "it is set by config.brokers"},
    {"metadata.broker.list", "it is set by config.brokers"},
    {"group.id", "it is set by config.group"},
    {"enable.auto.commit", "it is set by config.autoCommit"},
    {"enable.auto.offset.store",
     "ldh stores offsets itself, once the results derived from them were emitted"},
    {"log.queue", "ldh serves librdkafka's logs itself"}};
constexpr std::int64_t kMaxUdpThreads = 256;
// SO_RCVBUF takes an int and the kernel doubles the request.
constexpr std::int64_t kMaxReceiveBufferBytes = std::int64_t{1} << 30;
constexpr std::int64_t kMaxDpdkPort = 1023;  // RTE_MAX_ETHPORTS is at most 1024
constexpr std::int64_t kMaxDpdkQueues = 128;
constexpr std::int64_t kMaxDpdkBurst = 512;
constexpr std::int64_t kMaxDpdkMempool = std::int64_t{1} << 26;
constexpr std::int64_t kMaxDpdkBuffers = 4096;
// A chunk buffer holds at least one largest UDP/IPv4 payload (65507 bytes).
constexpr std::int64_t kMinDpdkBufferBytes = 65536;
constexpr std::int64_t kMaxDpdkBufferBytes = std::int64_t{1} << 30;
constexpr std::int64_t kMaxCpu = 4095;

template <typename Value>
std::string names_text(const Names<Value>& names) {
  std::vector<std::string> words;
  for (const auto& entry : names) words.push_back(entry.first);
  return join_names(words);
}

/// Tells whether `text` is host:port (or [IPv6]:port) with a port from 1 to 65535.
bool is_broker_address(std::string_view text) {
  if (text.find_first_of(" \t,") != std::string_view::npos) return false;
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[' && (host.size() < 3 || host.back() != ']')) return false;
  if (host.front() != '[' && host.find(':') != std::string_view::npos) return false;
  std::string_view port = text.substr(colon + 1);
  int number = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  return error == std::errc() && end == port.data() + port.size() && number >= 1 &&
         number <= kMaxPort;
}

/// Tells whether `name` is a Kafka topic name, or a subscription pattern (^regex).
bool is_topic_name(std::string_view name) {
  if (name.size() > 1 && name.front() == '^') return true;
  if (name.empty() || name.size() > kMaxTopicNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool is_identifier(std::string_view name) {
  if (name.empty()) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!letter(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

/// Says what a rule's `value` holds for `op`, for "missing required key" messages.
std::string_view expected_value(FilterOperator op) {
  if (op == FilterOperator::range) return "a list [low, high]";
  if (op == FilterOperator::in || op == FilterOperator::not_in) return "a list of values";
  return "the value to compare with";
}

bool is_float(DataType type) {
  return type == DataType::float32 || type == DataType::float64;
}

/// Tells whether a field can be a measure: a number, not a timestamp, text or boolean.
bool is_measurable(DataType type) {
  return type == DataType::int32 || type == DataType::int64 || is_float(type);
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

void add_once(std::vector<std::string>& names, const std::string& name) {
  if (!contains(names, name)) names.push_back(name);
}

std::string where_text(const SourceLocation& where) {
  return "line " + std::to_string(where.line) + ", column " + std::to_string(where.column);
}

/// Formats nanoseconds in the largest unit that divides them, as durations are written.
std::string duration_text(std::int64_t nanoseconds) {
  static constexpr std::pair<std::string_view, std::int64_t> kUnits[] = {
      {"d", 86'400'000'000'000}, {"h", 3'600'000'000'000}, {"m", 60'000'000'000},
      {"s", 1'000'000'000},      {"ms", 1'000'000},        {"us", 1'000}};
  for (const auto& [unit, size] : kUnits) {
    if (nanoseconds != 0 && nanoseconds % size == 0) {
      return std::to_string(nanoseconds / size) + std::string(unit);
    }
  }
  return std::to_string(nanoseconds) + "ns";
}

/// Describes a window for messages that list the windows: "minute (tumbling, size 1m)".
std::string window_text(const WindowConfig& window) {
  switch (window.type) {
    case WindowType::tumbling:
      return window.name + " (tumbling, size " + duration_text(window.size_ns) + ")";
    case WindowType::sliding:
      return window.name + " (sliding, size " + duration_text(window.size_ns) + ", slide " +
             duration_text(window.slide_ns) + ")";
    case WindowType::session:
      return window.name + " (session, gap " + duration_text(window.gap_ns) + ")";
  }
  return window.name;
}

/// A metric word that needs no number.
struct MetricWord {
  std::string_view word;
  MetricConfig::Kind kind;
  std::string_view name;  // the column suffix
};

using MetricKind = MetricConfig::Kind;
constexpr MetricWord kMetricWords[] = {{"count", MetricKind::count, "count"},
                                       {"sum", MetricKind::sum, "sum"},
                                       {"avg", MetricKind::avg, "avg"},
                                       {"mean", MetricKind::avg, "avg"},
                                       {"min", MetricKind::min, "min"},
                                       {"max", MetricKind::max, "max"},
                                       {"variance", MetricKind::variance, "variance"},
                                       {"variance_pop", MetricKind::variance_pop, "variance_pop"},
                                       {"stddev", MetricKind::stddev, "stddev"},
                                       {"stddev_pop", MetricKind::stddev_pop, "stddev_pop"},
                                       {"median", MetricKind::percentile, "median"},
                                       {"trend", MetricKind::trend, "trend"},
                                       {"first", MetricKind::first, "first"},
                                       {"last", MetricKind::last, "last"}};

/// The seed's words for a family of percentiles, each standing for p50, p95 and p99.
struct PercentileFamily {
  std::string_view word;
  std::string_view prefix;
  std::string_view suffix;
};
constexpr PercentileFamily kPercentileFamilies[] = {
    {"percentile", "", ""}, {"percentile_disc", "", "_disc"}, {"approx_percentile", "approx_", ""}};
constexpr std::string_view kFamilyPercentiles[] = {"p50", "p95", "p99"};

constexpr std::string_view kMetricPatterns =
    "pN, pN_disc or approx_pN with N greater than 0 and at most 100 (p95, p99.9)";

/// Reads pN, pN_disc or approx_pN. Returns nullopt with `problem` empty when `word` has none of
/// these shapes, and with `problem` set when it has one but N is wrong.
std::optional<MetricConfig> read_percentile(std::string_view word, std::string& problem) {
  MetricConfig metric;
  metric.kind = MetricKind::percentile;
  std::string_view body = word;
  std::string_view prefix;
  std::string_view suffix;
  if (body.starts_with("approx_")) {
    metric.kind = MetricKind::approx_percentile;
    prefix = "approx_";
    body.remove_prefix(prefix.size());
  } else if (body.ends_with("_disc")) {
    metric.kind = MetricKind::percentile_disc;
    suffix = "_disc";
    body.remove_suffix(suffix.size());
  }
  if (body.size() < 2 || body[0] != 'p' || body[1] < '0' || body[1] > '9') return std::nullopt;
  body.remove_prefix(1);
  if (body.find_first_not_of("0123456789.") != std::string_view::npos) return std::nullopt;

  const std::size_t dot = body.find('.');
  std::string_view integer = body.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : body.substr(dot + 1);
  if (dot != std::string_view::npos &&
      (fraction.empty() || fraction.find('.') != std::string_view::npos)) {
    problem = "expected " + std::string(kMetricPatterns) + ", got '" + std::string(word) + "'";
    return std::nullopt;
  }
  // One spelling per quantile, so that each has one column name.
  while (integer.size() > 1 && integer.front() == '0') integer.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  std::string canonical = std::string(prefix) + "p" + std::string(integer);
  if (!fraction.empty()) canonical += "." + std::string(fraction);
  canonical += suffix;
  const bool zero = integer == "0" && fraction.empty();
  if (zero || integer.size() > 3 ||
      (integer.size() == 3 && (integer != "100" || !fraction.empty()))) {
    problem = "percentile '" + std::string(word) +
              "' is out of range: N must be greater than 0 and at most 100";
    return std::nullopt;
  }
  if (canonical != word) {
    problem = "write '" + canonical + "' instead of '" + std::string(word) +
              "', so that each percentile has one column name";
    return std::nullopt;
  }
  // N/100 as decimal text ("99.9" -> "0.999"), so the quantile is the double nearest to it.
  std::string padded = std::string(3 - std::min<std::size_t>(integer.size(), 3), '0');
  padded += integer;
  const std::string decimal = padded.substr(0, padded.size() - 2) + "." +
                              padded.substr(padded.size() - 2) + std::string(fraction);
  std::from_chars(decimal.data(), decimal.data() + decimal.size(), metric.quantile);
  metric.name = std::string(prefix) + "p" + std::string(integer);
  if (!fraction.empty()) metric.name += "_" + std::string(fraction);
  metric.name += suffix;
  return metric;
}

/// Turns one metric word into the metrics it stands for (several for `percentile`), or sets
/// `problem` and returns nothing.
std::vector<MetricConfig> metrics_of(std::string_view word, std::string& problem) {
  for (const auto& entry : kMetricWords) {
    if (entry.word != word) continue;
    MetricConfig metric;
    metric.kind = entry.kind;
    metric.name = entry.name;
    return {metric};
  }
  for (const auto& family : kPercentileFamilies) {
    if (family.word != word) continue;
    std::vector<MetricConfig> metrics;
    for (const auto& percentile : kFamilyPercentiles) {
      const std::string member =
          std::string(family.prefix) + std::string(percentile) + std::string(family.suffix);
      metrics.push_back(*read_percentile(member, problem));
    }
    return metrics;
  }
  if (auto metric = read_percentile(word, problem)) return {*metric};
  if (!problem.empty()) return {};
  std::vector<std::string> words;
  for (const auto& entry : kMetricWords) words.emplace_back(entry.word);
  for (const auto& family : kPercentileFamilies) words.emplace_back(family.word);
  std::vector<std::string> candidates = words;
  for (const auto& family : kPercentileFamilies) {
    for (const auto& percentile : kFamilyPercentiles) {
      candidates.push_back(std::string(family.prefix) + std::string(percentile) +
                           std::string(family.suffix));
    }
  }
  problem = "unknown metric '" + std::string(word) + "'" + did_you_mean(word, candidates) +
            "; expected one of: " + join_names(words) + ", or " + std::string(kMetricPatterns);
  return {};
}

/// Follows which fields exist at each point of the pipeline, and their types, so that a rule or
/// an operation naming a missing field is caught before anything runs.
class FieldScope {
 public:
  struct Entry {
    std::string name;
    std::optional<DataType> type;  // nullopt when the declaration itself was wrong
  };

  /// False when the schema could not be read: then references are not checked at all.
  bool known = false;

  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(std::string_view name) const {
    for (const auto& entry : entries_) {
      if (entry.name == name) return &entry;
    }
    return nullptr;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> result;
    for (const auto& entry : entries_) result.push_back(entry.name);
    return result;
  }
  void set(const std::string& name, std::optional<DataType> type) {
    for (auto& entry : entries_) {
      if (entry.name == name) {
        entry.type = type;
        return;
      }
    }
    entries_.push_back({name, type});
  }
  void rename(std::string_view from, const std::string& to) {
    for (auto& entry : entries_) {
      if (entry.name == from) entry.name = to;
    }
  }
  void remove(std::string_view name) {
    std::erase_if(entries_, [&](const Entry& entry) { return entry.name == name; });
  }

 private:
  std::vector<Entry> entries_;
};

/// Names as written, each with the node it came from, so later checks can point at it.
using NamedNodes = std::vector<std::pair<std::string, ConfigNode>>;

/// What `processing.groupBy`, `aggregations` and `metrics` give every window that does not set
/// its own.
struct WindowDefaults {
  std::optional<NamedNodes> group_by;
  std::optional<NamedNodes> measures;
  std::optional<std::vector<MetricConfig>> metrics;
};

/// A window as read, before the defaults fill what it leaves out; keeps nodes for messages.
struct WindowDraft {
  WindowConfig window;
  ConfigNode node;
  std::optional<ConfigNode> name;
  std::optional<NamedNodes> group_by;
  std::optional<NamedNodes> measures;
  std::optional<std::vector<MetricConfig>> metrics;
  std::optional<ConfigNode> accuracy;
};

enum class FieldRole : std::uint8_t { group_by, measure };

/// Turns a parsed document into a Config, reporting every problem through the reader.
class ConfigLoader {
 public:
  ConfigLoader(ConfigReader& reader, std::filesystem::path folder)
      : reader_(reader), folder_(std::move(folder)) {}

  Config load(const ConfigNode& root);

 private:
  void read_input(const ConfigNode& value);
  void read_dead_letter(const ConfigNode& value);
  void read_buffer(const ConfigNode& value);
  void read_throttle(const ConfigNode& value, ThrottleConfig& throttle);
  void read_format(const ConfigNode& value);
  void read_schema(const ConfigNode& value);
  bool read_fields(const ConfigNode& value);
  bool read_proto_schema(const ConfigNode& proto, const ConfigNode& message,
                         const std::optional<ConfigNode>& units);
  void read_event_time(const ConfigNode& value);
  void read_sources(const ConfigNode& value);
  void read_source(const ConfigNode& item, std::size_t index);
  void read_file_source(MapReader& map, FileSourceConfig& file);
  void read_generator(MapReader& map, GeneratorConfig& generator);
  void read_udp_source(MapReader& map, UdpSourceConfig& udp);
  void read_kafka_source(MapReader& map, KafkaSourceConfig& kafka);
  void read_dpdk_source(MapReader& map, DpdkSourceConfig& dpdk);
  void read_websocket_source(MapReader& map, WebSocketSourceConfig& websocket);
  /// Reads the delivery keys a network destination takes (batch, queue, overflow, retry,
  /// drainTimeout, deadLetter) from its map.
  void read_delivery(MapReader& map, DeliveryConfig& delivery);
  void read_kafka_settings(const ConfigNode& value, KafkaSourceConfig& kafka);
  void read_kafka_brokers(const ConfigNode& value, KafkaSourceConfig& kafka);
  void read_kafka_properties(const ConfigNode& value, KafkaSourceConfig& kafka);
  std::optional<std::string> read_topic(const ConfigNode& value);
  void read_processing(const ConfigNode& value);
  void read_watermark(const ConfigNode& value);
  WindowDefaults read_window_defaults(const std::optional<ConfigNode>& group_by,
                                      const std::optional<ConfigNode>& aggregations,
                                      const std::optional<ConfigNode>& metrics);
  std::optional<NamedNodes> read_window_fields(const ConfigNode& value, FieldRole role);
  std::optional<std::vector<MetricConfig>> read_default_metrics(const ConfigNode& value);
  std::optional<std::vector<MetricConfig>> read_metrics(const ConfigNode& owner,
                                                        const std::vector<ConfigNode>& items);
  void read_windows(const ConfigNode& value, const WindowDefaults& defaults);
  std::optional<WindowDraft> read_window(const ConfigNode& item);
  std::vector<WindowDraft> read_window_types(const ConfigNode& value);
  bool slide_fits(const ConfigNode& slide, std::int64_t slide_ns, std::int64_t size_ns);
  void finish_window(WindowDraft& draft, const WindowDefaults& defaults);
  void check_result_columns(const WindowDraft& draft, const NamedNodes* group_by);
  void check_event_time(const ConfigNode& windows);
  void read_stage(const ConfigNode& item);
  void read_filter(const ConfigNode& value, FilterConfig& filter);
  void read_rule(const ConfigNode& item, FilterConfig& filter);
  void read_rule_values(const ConfigNode& value, FilterRule& rule, const FieldScope::Entry* field);
  void read_transform(const ConfigNode& value, TransformConfig& transform);
  void read_operation(const ConfigNode& item, TransformConfig& transform);
  void read_add_field(MapReader& map, TransformOperation& operation);
  void read_calculate(MapReader& map, TransformOperation& operation);
  void read_output(const ConfigNode& value);
  void read_destination(const ConfigNode& item);
  /// Checks `format` of the output or a destination: json, the one results are written in.
  void read_output_format(const ConfigNode& value);
  std::optional<Compression> read_compression(const ConfigNode& value);
  /// Reads `output.batching: {size, timeout}`, the default batch of network destinations.
  void read_batching(const ConfigNode& value, DeliveryConfig& delivery);
  void read_websocket_sink(MapReader& map, WebSocketSinkConfig& websocket);
  void read_kafka_sink(MapReader& map, SinkConfig& sink);
  void read_elasticsearch_sink(MapReader& map, SinkConfig& sink);
  /// Reads `tls: {verify, caFile}` of an HTTPS or SMTP client.
  void read_tls(const ConfigNode& value, TlsConfig& tls);
  /// Reads an http:// or https:// URL (`schemes` names the accepted ones) without a trailing /.
  std::optional<std::string> read_url(const ConfigNode& value,
                                      const std::vector<std::string>& schemes);
  void read_alerts(const ConfigNode& value);
  void read_notifications(const ConfigNode& value);
  void read_webhook(const ConfigNode& value);
  void read_email(const ConfigNode& value);
  void read_alert_condition(const ConfigNode& item);
  void check_alert(const AlertCondition& condition, const ConfigNode& metric, const ConfigNode& op,
                   const std::optional<ConfigNode>& window);
  void read_handlers(const ConfigNode& value);
  void read_events(const ConfigNode& value);
  void read_event_types(const ConfigNode& value, const std::optional<ConfigNode>& schemas);
  /// Reads an event schema: a list of fields that leave the pipeline.
  std::optional<std::vector<std::string>> read_event_fields(const ConfigNode& value);
  void read_event_processing(const ConfigNode& value);
  void read_event_retry(const ConfigNode& value);
  void read_event_rule(const ConfigNode& item);
  /// Reports handlers no rule uses, and alerts without conditions that no rule notifies through.
  void check_event_references();

  std::optional<std::string> read_path(const ConfigNode& value);
  std::optional<std::string> read_name(const ConfigNode& value);
  std::optional<std::string> read_field_name(const ConfigNode& value);
  std::optional<std::string> read_expression(const ConfigNode& value);
  std::optional<Literal> read_literal(const ConfigNode& value, std::optional<DataType> type,
                                      const std::string& context);
  /// Returns the field `value` names when it exists here; reports it otherwise.
  const FieldScope::Entry* reference(const ConfigNode& value, std::string_view what,
                                     std::optional<std::string>& name);
  void check_unique(const std::vector<std::pair<std::string, ConfigNode>>& names,
                    std::string_view what);

  ConfigReader& reader_;
  std::filesystem::path folder_;
  Config config_;
  FieldScope scope_;
  /// Whether input.format.schema named an event-time field (even a wrong one).
  bool event_time_given_ = false;
  /// False once a window could not be read: alerts are then not matched against the windows.
  bool windows_complete_ = true;
  /// What `output.compression` and `output.batching` set; each destination starts from it.
  SinkConfig destination_defaults_;
  /// `output.alerts` when it lists no conditions: it then only serves event rules' `notify`.
  std::optional<ConfigNode> alerts_without_conditions_;
  /// Per handler: whether a rule's action names it.
  std::vector<bool> handlers_used_;
};

Config ConfigLoader::load(const ConfigNode& root) {
  config_.path = reader_.file();
  constexpr std::string_view kExpected = "a map with keys input, processing and output";
  if (root.node.IsNull()) {
    reader_.report({reader_.file(), 1, 1},
                   "the configuration is empty; expected " + std::string(kExpected));
    return config_;
  }
  MapReader top(reader_, root, kExpected);
  if (!top.is_map()) return config_;
  auto input = top.required("input", "a map with sources and format");
  auto processing = top.optional("processing");
  auto output = top.required("output", "a map with destinations");
  top.not_supported("state", "state storage and recovery are not supported by this build yet");
  auto events = top.optional("events");
  auto handlers = top.optional("handlers");
  top.finish();
  if (input) read_input(*input);
  if (processing) read_processing(*processing);
  if (output) read_output(*output);
  // Rules name handlers and output.alerts channels, and route the fields leaving the pipeline.
  if (handlers) read_handlers(*handlers);
  if (events) read_events(*events);
  check_event_references();
  return config_;
}

// ---------------------------------------------------------------------------------------------
// Input

void ConfigLoader::read_input(const ConfigNode& value) {
  MapReader map(reader_, value);
  auto sources = map.required("sources", "a list of sources");
  auto format = map.required("format", "a map with type and schema");
  auto dead_letter = map.optional("deadLetter");
  auto buffer = map.optional("buffer");
  map.finish();
  // The format comes first: sources default to its wire format.
  if (format) read_format(*format);
  if (sources) read_sources(*sources);
  if (dead_letter) read_dead_letter(*dead_letter);
  if (buffer) read_buffer(*buffer);
}

void ConfigLoader::read_buffer(const ConfigNode& value) {
  BufferConfig& buffer = config_.buffer;
  buffer.where = value.where;
  MapReader map(reader_, value, "a map with policy and limits");
  if (!map.is_map()) return;
  auto policy = map.optional("policy");
  auto limits = map.optional("limits");
  map.finish();
  if (policy) {
    MapReader policy_map(reader_, *policy, "a map with overflow and underflow");
    if (policy_map.is_map()) {
      auto overflow = policy_map.optional("overflow");
      auto underflow = policy_map.optional("underflow");
      policy_map.finish();
      if (overflow) {
        if (auto chosen = reader_.choice(*overflow, "overflow policy", kOverflowPolicies))
          buffer.overflow = *chosen;
      }
      if (underflow) {
        if (auto chosen = reader_.choice(*underflow, "underflow policy", kUnderflowPolicies))
          buffer.underflow = *chosen;
      }
    }
  }
  if (!limits) return;
  MapReader limit_map(reader_, *limits, "a map of limits");
  if (!limit_map.is_map()) return;
  auto max_events = limit_map.optional("maxEvents");
  auto max_bytes = limit_map.optional("maxBytes");
  auto resize_events = limit_map.optional("resizeMaxEvents");
  auto resize_bytes = limit_map.optional("resizeMaxBytes");
  auto max_latency = limit_map.optional("maxLatency");
  limit_map.finish();
  auto read_count = [&](const std::optional<ConfigNode>& node, std::uint64_t& into) {
    if (!node) return;
    if (auto count = reader_.integer(*node, 1)) into = static_cast<std::uint64_t>(*count);
  };
  read_count(max_events, buffer.max_events);
  read_count(max_bytes, buffer.max_bytes);
  if (!resize_events)
    buffer.resize_max_events = std::max(buffer.resize_max_events, buffer.max_events);
  if (!resize_bytes) buffer.resize_max_bytes = std::max(buffer.resize_max_bytes, buffer.max_bytes);
  read_count(resize_events, buffer.resize_max_events);
  read_count(resize_bytes, buffer.resize_max_bytes);
  if (resize_events && buffer.resize_max_events < buffer.max_events) {
    reader_.report(*resize_events,
                   "expected at least maxEvents (" + std::to_string(buffer.max_events) + ")");
  }
  if (resize_bytes && buffer.resize_max_bytes < buffer.max_bytes) {
    reader_.report(*resize_bytes,
                   "expected at least maxBytes (" + std::to_string(buffer.max_bytes) + ")");
  }
  if (max_latency) {
    if (auto latency = reader_.duration(*max_latency, 1)) buffer.max_latency_ns = *latency;
  }
}

void ConfigLoader::read_throttle(const ConfigNode& value, ThrottleConfig& throttle) {
  MapReader map(reader_, value, "a map with rate and burst");
  if (!map.is_map()) return;
  auto rate = map.required("rate", "events per second");
  auto burst = map.optional("burst");
  map.finish();
  if (rate) {
    if (auto events_per_second = reader_.number(*rate, 0)) throttle.rate = *events_per_second;
  }
  throttle.burst = throttle.rate;
  if (burst) {
    if (auto events = reader_.number(*burst, 1)) throttle.burst = *events;
  }
}

void ConfigLoader::read_dead_letter(const ConfigNode& value) {
  if (value.node.IsMap()) {
    MapReader map(reader_, value);
    auto path = map.required("path", "the file that receives bad records");
    map.finish();
    if (path) {
      if (auto resolved = read_path(*path)) config_.dead_letter_path = *resolved;
    }
    return;
  }
  if (!value.node.IsScalar()) {
    reader_.report(value, "expected a file path or a map with path, got " +
                              ConfigReader::describe(value.node));
    return;
  }
  if (auto resolved = read_path(value)) config_.dead_letter_path = *resolved;
}

void ConfigLoader::read_format(const ConfigNode& value) {
  config_.format.where = value.where;
  MapReader map(reader_, value);
  auto type = map.required("type", "one of: " + names_text(kFormats));
  auto validation = map.optional("validation");
  auto schema = map.required("schema", "a map with fields, or with proto and message");
  map.finish();
  if (type) {
    if (auto format = reader_.choice(*type, "format", kFormats)) config_.format.type = *format;
  }
  if (validation) {
    if (auto enabled = reader_.boolean(*validation)) config_.format.validation = *enabled;
  }
  if (schema) read_schema(*schema);
}

void ConfigLoader::read_schema(const ConfigNode& value) {
  MapReader map(reader_, value);
  auto event_time = map.optional("eventTime");
  auto id = map.optional("id");
  auto fields = map.optional("fields");
  auto proto = map.optional("proto");
  auto message = map.optional("message");
  auto units = map.optional("units");
  map.finish();
  if (!map.is_map()) return;

  bool complete = false;
  if (fields) {
    complete = read_fields(*fields);
    if (proto) reader_.report(*proto, "give either 'fields' or 'proto' with 'message', not both");
    if (message && !proto) reader_.report(*message, "'message' needs 'proto' (a .proto file)");
    if (units) {
      reader_.report(*units, "'units' applies to a .proto schema; give each field its own 'unit'");
    }
  } else if (proto) {
    if (message) {
      complete = read_proto_schema(*proto, *message, units);
    } else {
      map.report_missing("message",
                         "the full name of a message in the .proto file, e.g. "
                         "ldh.examples.SensorReading");
    }
  } else {
    map.report_missing("fields", "a list of fields; or give 'proto' and 'message'");
    if (message) reader_.report(*message, "'message' needs 'proto' (a .proto file)");
    if (units) reader_.report(*units, "'units' needs 'proto' (a .proto file)");
  }

  Schema& schema = config_.format.schema;
  scope_.known = complete;
  event_time_given_ = event_time.has_value();
  if (event_time && complete) read_event_time(*event_time);
  if (event_time && !complete) reader_.text(*event_time, "a field name");
  schema.id = schema.layout_id();
  if (id) {
    if (auto number = reader_.integer(*id, 0, kMaxUint32)) {
      schema.id = static_cast<std::uint32_t>(*number);
    }
  }
}

bool ConfigLoader::read_fields(const ConfigNode& value) {
  auto items = reader_.items(value, "a list of fields");
  if (!value.node.IsSequence()) return false;
  if (items.empty()) {
    reader_.report(value, "expected at least one field");
    return false;
  }
  Schema& schema = config_.format.schema;
  bool complete = true;
  std::vector<std::pair<std::string, ConfigNode>> names;
  for (std::size_t index = 0; index < items.size(); ++index) {
    const ConfigNode& item = items[index];
    MapReader map(reader_, item, "a map with name and type");
    auto name = map.required("name", "the field's name");
    auto type = map.required("type",
                             "one of: int32, int64, float32, float64, bool, string, "
                             "timestamp");
    auto unit = map.optional("unit");
    auto required = map.optional("required");
    auto allow_nan = map.optional("allowNaN");
    auto size = map.optional("size");
    auto proto_field = map.optional("protoField");
    map.finish();

    Field field;
    field.where = item.where;
    field.proto_number = static_cast<std::uint32_t>(index + 1);
    std::optional<DataType> data_type;
    if (type) data_type = reader_.choice(*type, "data type", kDataTypes);
    if (data_type) field.type = *data_type;
    std::optional<std::string> field_name;
    if (name) field_name = read_field_name(*name);
    if (field_name) {
      field.name = *field_name;
      names.emplace_back(*field_name, *name);
    } else {
      complete = false;
    }
    auto described = [&] {
      return "'" + field.name + "' is " + std::string(to_string(field.type));
    };
    if (unit) {
      if (data_type && *data_type != DataType::timestamp) {
        reader_.report(*unit, "'unit' applies only to timestamp fields; " + described());
      } else if (auto time_unit = reader_.choice(*unit, "time unit", kTimeUnits)) {
        field.time_unit = *time_unit;
      }
    }
    if (required) {
      if (auto flag = reader_.boolean(*required)) field.required = *flag;
    }
    if (allow_nan) {
      if (data_type && !is_float(*data_type)) {
        reader_.report(*allow_nan,
                       "'allowNaN' applies only to float32 and float64 fields; " + described());
      } else if (auto flag = reader_.boolean(*allow_nan)) {
        field.allow_nan = *flag;
      }
    }
    if (size) {
      if (data_type && *data_type != DataType::string) {
        reader_.report(*size, "'size' applies only to string fields; " + described());
      } else if (auto bytes = reader_.integer(*size, 1, kMaxStringSlotBytes)) {
        field.binary_size = static_cast<std::uint32_t>(*bytes);
      }
    }
    ConfigNode number_node = item;
    if (proto_field) {
      number_node = *proto_field;
      if (auto number = reader_.integer(*proto_field, 1, kMaxProtoFieldNumber)) {
        field.proto_number = static_cast<std::uint32_t>(*number);
      }
    }
    for (std::size_t other = 0; other < schema.fields.size(); ++other) {
      if (schema.fields[other].proto_number != field.proto_number) continue;
      reader_.report(number_node, "protobuf field number " + std::to_string(field.proto_number) +
                                      " is already used by field '" + schema.fields[other].name +
                                      "'; set 'protoField'");
      break;
    }
    schema.fields.push_back(field);
    if (field_name) scope_.set(*field_name, data_type);
  }
  check_unique(names, "field name");
  return complete;
}

bool ConfigLoader::read_proto_schema(const ConfigNode& proto, const ConfigNode& message,
                                     const std::optional<ConfigNode>& units) {
  auto path = read_path(proto);
  auto message_name = reader_.text(message, "a message name");
  if (!path || !message_name) return false;
  Schema& schema = config_.format.schema;
  try {
    schema = schema_from_proto(*path, *message_name);
  } catch (const UserError& error) {
    reader_.report(proto, error.what());
    return false;
  }
  config_.format.proto_file = *path;
  config_.format.proto_message = *message_name;
  if (units) {
    MapReader map(reader_, *units, "a map from field name to time unit");
    std::vector<std::string> names;
    for (const auto& field : schema.fields) names.push_back(field.name);
    for (const auto& field_name : names) {
      auto unit = map.optional(field_name);
      if (!unit) continue;
      Field& field = schema.fields[static_cast<std::size_t>(schema.find(field_name))];
      auto time_unit = reader_.choice(*unit, "time unit", kTimeUnits);
      if (!time_unit) continue;
      // Counts of a unit arrive as integers, ISO-8601 times as strings.
      const bool text = *time_unit == TimeUnit::iso8601;
      const bool fits = text ? field.type == DataType::string
                             : field.type == DataType::int64 || field.type == DataType::int32;
      if (!fits) {
        reader_.report(*unit, "'" + std::string(to_string(*time_unit)) + "' timestamps need " +
                                  (text ? "a string" : "an integer") + " field; '" + field_name +
                                  "' is " + std::string(to_string(field.type)));
        continue;
      }
      field.type = DataType::timestamp;
      field.time_unit = *time_unit;
    }
    map.finish();
  }
  for (const auto& field : schema.fields) scope_.set(field.name, field.type);
  return true;
}

void ConfigLoader::read_event_time(const ConfigNode& value) {
  auto name = reader_.text(value, "a field name");
  if (!name) return;
  Schema& schema = config_.format.schema;
  const int index = schema.find(*name);
  if (index < 0) {
    std::vector<std::string> names;
    for (const auto& field : schema.fields) names.push_back(field.name);
    reader_.report(value, "names unknown field '" + *name + "'" + did_you_mean(*name, names) +
                              "; fields: " + join_names(names));
    return;
  }
  const Field& field = schema.fields[static_cast<std::size_t>(index)];
  if (field.type != DataType::timestamp) {
    std::string hint;
    if (!config_.format.proto_file.empty()) {
      hint = "; give its unit under 'units', e.g. units: {" + *name + ": ms}";
    }
    reader_.report(value, "the event-time field must be a timestamp; '" + *name + "' is " +
                              std::string(to_string(field.type)) + hint);
    return;
  }
  schema.event_time = index;
}

void ConfigLoader::read_sources(const ConfigNode& value) {
  auto items = reader_.items(value, "a list of sources");
  if (value.node.IsSequence() && items.empty()) {
    reader_.report(value, "expected at least one source");
  }
  for (std::size_t index = 0; index < items.size(); ++index) read_source(items[index], index);
}

void ConfigLoader::read_source(const ConfigNode& item, std::size_t index) {
  MapReader map(reader_, item, "a map with type");
  if (!map.is_map()) return;
  auto type_node = map.required("type", "one of: " + names_text(kSourceTypes));
  if (!type_node) {
    map.finish_ignoring_unknown();
    return;
  }
  auto type = reader_.choice(*type_node, "source type", kSourceTypes);
  if (!type) {
    map.finish_ignoring_unknown();
    return;
  }
  SourceConfig source;
  source.type = *type;
  source.where = item.where;
  source.format = config_.format.type;
  auto name = map.optional("name");
  auto format = map.optional("format");
  if (auto throttle = map.optional("throttle")) read_throttle(*throttle, source.throttle);
  switch (*type) {
    case SourceType::file:
      read_file_source(map, source.file);
      break;
    case SourceType::generator:
      read_generator(map, source.generator);
      break;
    case SourceType::udp:
      read_udp_source(map, source.udp);
      break;
    case SourceType::kafka:
      read_kafka_source(map, source.kafka);
      break;
    case SourceType::dpdk:
#ifndef LDH_HAVE_DPDK
      reader_.report(*type_node,
                     "source type 'dpdk': this build has no DPDK (install libdpdk-dev and "
                     "configure with -DLDH_DPDK=ON), or receive with type: udp");
#endif
      read_dpdk_source(map, source.dpdk);
      break;
    case SourceType::websocket:
      read_websocket_source(map, source.websocket);
      break;
  }
  map.finish();
  source.name = type_node->node.Scalar() + "-" + std::to_string(index);
  if (name) {
    if (auto text = read_name(*name)) {
      source.name = *text;
      for (const auto& other : config_.sources) {
        if (other.name != source.name) continue;
        reader_.report(*name, "duplicate source name '" + source.name + "' (first at " +
                                  where_text(other.where) + ")");
        break;
      }
    }
  }
  if (format) {
    if (auto wire = reader_.choice(*format, "format", kFormats)) source.format = *wire;
  }
  if (source.type == SourceType::dpdk && source.format == Format::json) {
    reader_.report(format ? *format : *type_node,
                   "a dpdk source reads binary or protobuf payloads, not json; set its 'format'");
  }
  config_.sources.push_back(std::move(source));
}

void ConfigLoader::read_file_source(MapReader& map, FileSourceConfig& file) {
  auto path = map.required("path", "the file to read");
  auto rate = map.optional("rate");
  if (path) {
    if (auto resolved = read_path(*path)) file.path = *resolved;
  }
  if (rate) {
    if (auto events_per_second = reader_.number(*rate, 0)) file.rate = *events_per_second;
  }
}

void ConfigLoader::read_generator(MapReader& map, GeneratorConfig& generator) {
  if (auto value = map.optional("events")) {
    if (auto count = reader_.integer(*value, 0))
      generator.events = static_cast<std::uint64_t>(*count);
  }
  if (auto value = map.optional("sensors")) {
    if (auto count = reader_.integer(*value, 1, kMaxUint32)) {
      generator.sensors = static_cast<std::uint32_t>(*count);
    }
  }
  if (auto value = map.optional("rate")) {
    if (auto rate = reader_.number(*value, 0)) generator.rate = *rate;
  }
  if (auto value = map.optional("interval")) {
    if (auto interval = reader_.duration(*value, 1)) generator.interval_ns = *interval;
  }
  if (auto value = map.optional("jitter")) {
    if (auto jitter = reader_.duration(*value)) generator.jitter_ns = *jitter;
  }
  if (auto value = map.optional("badRecords")) {
    if (auto share = reader_.number(*value, 0, 1)) generator.bad_share = *share;
  }
  if (auto value = map.optional("seed")) {
    if (auto seed = reader_.integer(*value, 0)) generator.seed = static_cast<std::uint64_t>(*seed);
  }
  if (auto value = map.optional("start")) {
    if (auto text = reader_.text(*value, "an ISO-8601 time")) {
      if (auto start = parse_iso8601(*text)) {
        generator.start_ns = *start;
      } else {
        reader_.report(*value, "expected an ISO-8601 time like 2026-11-29T04:22:00Z, got " +
                                   ConfigReader::describe(value->node));
      }
    }
  }
  if (auto value = map.optional("frameRecords")) {
    if (auto count = reader_.integer(*value, 1, kMaxUint32)) {
      generator.frame_records = static_cast<std::uint32_t>(*count);
    }
  }
}

void ConfigLoader::read_udp_source(MapReader& map, UdpSourceConfig& udp) {
  if (auto value = map.optional("bind")) {
    if (auto address = reader_.text(*value, "a numeric IPv4 or IPv6 address")) {
      in6_addr parsed;
      if (::inet_pton(AF_INET, address->c_str(), &parsed) == 1 ||
          ::inet_pton(AF_INET6, address->c_str(), &parsed) == 1) {
        udp.bind = *address;
      } else {
        reader_.report(*value,
                       "expected a numeric IPv4 or IPv6 address like 127.0.0.1 or ::1, got " +
                           ConfigReader::describe(value->node));
      }
    }
  }
  if (auto value = map.required("port", "the UDP port to listen on (0 takes a free one)")) {
    if (auto port = reader_.integer(*value, 0, kMaxPort)) {
      udp.port = static_cast<std::uint16_t>(*port);
    }
  }
  if (auto value = map.optional("threads")) {
    if (auto count = reader_.integer(*value, 1, kMaxUdpThreads)) {
      udp.threads = static_cast<std::uint32_t>(*count);
    }
  }
  if (auto value = map.optional("receiveBuffer")) {
    if (auto bytes = reader_.integer(*value, 0, kMaxReceiveBufferBytes)) {
      udp.receive_buffer = static_cast<std::uint64_t>(*bytes);
    }
  }
  if (auto value = map.optional("maxBatchLatency")) {
    if (auto latency = reader_.duration(*value)) udp.max_batch_latency_ns = *latency;
  }
  if (auto value = map.optional("events")) {
    if (auto count = reader_.integer(*value, 0)) udp.events = static_cast<std::uint64_t>(*count);
  }
  if (auto value = map.optional("endAfterIdle")) {
    if (auto idle = reader_.duration(*value)) udp.end_after_idle_ns = *idle;
  }
}

void ConfigLoader::read_websocket_source(MapReader& map, WebSocketSourceConfig& websocket) {
  if (auto value = map.required("endpoint", "a ws:// or wss:// URL")) {
    if (auto text = reader_.text(*value, "a ws:// or wss:// URL")) {
      std::string error;
      if (parse_websocket_endpoint(*text, error)) {
        websocket.endpoint = *text;
      } else {
        reader_.report(*value, error + ", got '" + *text + "'");
      }
    }
  }
  if (auto value = map.optional("protocol")) {
    if (auto text = reader_.text(*value, "a subprotocol name")) websocket.protocol = *text;
  }
  auto read_duration = [&](const char* key, std::int64_t minimum, std::int64_t& into) {
    if (auto value = map.optional(key)) {
      if (auto duration = reader_.duration(*value, minimum)) into = *duration;
    }
  };
  read_duration("pingInterval", 1'000'000, websocket.ping_interval_ns);
  read_duration("connectTimeout", 1'000'000, websocket.connect_timeout_ns);
  if (auto value = map.optional("reconnect")) {
    MapReader reconnect(reader_, *value, "a map with initialDelay, maxDelay and jitter");
    if (reconnect.is_map()) {
      auto initial = reconnect.optional("initialDelay");
      auto maximum = reconnect.optional("maxDelay");
      auto jitter = reconnect.optional("jitter");
      reconnect.finish();
      if (initial) {
        if (auto delay = reader_.duration(*initial, 1'000'000))
          websocket.reconnect_initial_ns = *delay;
      }
      if (maximum) {
        if (auto delay = reader_.duration(*maximum, 1'000'000)) websocket.reconnect_max_ns = *delay;
      }
      if (jitter) {
        if (auto share = reader_.number(*jitter, 0, 1)) websocket.reconnect_jitter = *share;
      }
      if (maximum && websocket.reconnect_max_ns < websocket.reconnect_initial_ns) {
        reader_.report(*maximum, "expected at least initialDelay");
      }
    }
  }
  if (auto value = map.optional("sequenceField")) {
    if (auto text = reader_.text(*value, "a field name")) websocket.sequence_field = *text;
  }
  if (auto value = map.optional("tls")) {
    MapReader tls(reader_, *value, "a map with verify and caFile");
    if (tls.is_map()) {
      auto verify = tls.optional("verify");
      auto ca_file = tls.optional("caFile");
      tls.finish();
      if (verify) {
        if (auto flag = reader_.boolean(*verify)) websocket.verify_peer = *flag;
      }
      if (ca_file) {
        if (auto path = read_path(*ca_file)) websocket.ca_file = *path;
      }
    }
  }
  if (auto value = map.optional("maxMessageBytes")) {
    if (auto bytes = reader_.integer(*value, 1, std::int64_t{1} << 30)) {
      websocket.max_message_bytes = static_cast<std::uint64_t>(*bytes);
    }
  }
  if (auto value = map.optional("events")) {
    if (auto count = reader_.integer(*value, 0))
      websocket.events = static_cast<std::uint64_t>(*count);
  }
  read_duration("endAfterIdle", 0, websocket.end_after_idle_ns);
}

void ConfigLoader::read_dpdk_source(MapReader& map, DpdkSourceConfig& dpdk) {
  if (auto value = map.optional("udpPort")) {
    if (auto port = reader_.integer(*value, 0, kMaxPort)) {
      dpdk.udp_port = static_cast<std::uint16_t>(*port);
    }
  }
  if (auto value = map.optional("events")) {
    if (auto count = reader_.integer(*value, 0)) dpdk.events = static_cast<std::uint64_t>(*count);
  }
  if (auto value = map.optional("endAfterIdle")) {
    if (auto idle = reader_.duration(*value)) dpdk.end_after_idle_ns = *idle;
  }
  if (auto value = map.optional("maxBatchLatency")) {
    if (auto latency = reader_.duration(*value)) dpdk.max_batch_latency_ns = *latency;
  }
  auto settings = map.required("dpdk", "a map with eal, port, queues, ...");
  if (!settings) return;
  MapReader inner(reader_, *settings, "a map with eal, port, queues, ...");
  if (!inner.is_map()) return;
  if (auto value = inner.optional("eal")) {
    for (const auto& item : reader_.items(*value, "a list of EAL arguments")) {
      if (auto argument = reader_.text(item, "an EAL argument")) dpdk.eal.push_back(*argument);
    }
  }
  auto read_count = [&](std::string_view key, std::int64_t minimum, std::int64_t maximum,
                        auto& target) {
    if (auto value = inner.optional(key)) {
      if (auto count = reader_.integer(*value, minimum, maximum)) {
        target = static_cast<std::remove_reference_t<decltype(target)>>(*count);
      }
    }
  };
  read_count("port", 0, kMaxDpdkPort, dpdk.port);
  read_count("queues", 1, kMaxDpdkQueues, dpdk.queues);
  read_count("rxDescriptors", 1, kMaxPort, dpdk.rx_descriptors);
  read_count("burst", 1, kMaxDpdkBurst, dpdk.burst);
  read_count("mempool", 0, kMaxDpdkMempool, dpdk.mempool);
  read_count("buffers", 2, kMaxDpdkBuffers, dpdk.buffers);
  read_count("bufferSize", kMinDpdkBufferBytes, kMaxDpdkBufferBytes, dpdk.buffer_bytes);
  if (auto value = inner.optional("cores")) {
    for (const auto& item : reader_.items(*value, "a list of CPU numbers, one per queue")) {
      if (auto cpu = reader_.integer(item, 0, kMaxCpu)) {
        dpdk.cores.push_back(static_cast<std::uint32_t>(*cpu));
      }
    }
    if (!dpdk.cores.empty() && dpdk.cores.size() != dpdk.queues) {
      reader_.report(*value, "expected one CPU per queue (" + std::to_string(dpdk.queues) +
                                 "), got " + std::to_string(dpdk.cores.size()));
    }
  }
  if (auto value = inner.optional("idleSleep")) {
    if (auto sleep = reader_.duration(*value)) dpdk.idle_sleep_ns = *sleep;
  }
  if (auto value = inner.optional("promiscuous")) {
    if (auto enabled = reader_.boolean(*value)) dpdk.promiscuous = *enabled;
  }
  inner.finish();
}

void ConfigLoader::read_kafka_source(MapReader& map, KafkaSourceConfig& kafka) {
  auto topic = map.optional("topic");
  auto topics = map.optional("topics");
  auto settings = map.required("config", "a map with brokers and group");
  if (topic && topics) {
    reader_.report(*topics, "give either 'topic' or 'topics', not both");
  } else if (topic) {
    if (auto name = read_topic(*topic)) kafka.topics.push_back(*name);
  } else if (topics) {
    auto items = reader_.items(*topics, "a list of topic names");
    if (topics->node.IsSequence() && items.empty()) {
      reader_.report(*topics, "expected at least one topic");
    }
    for (const auto& item : items) {
      auto name = read_topic(item);
      if (!name) continue;
      if (std::find(kafka.topics.begin(), kafka.topics.end(), *name) != kafka.topics.end()) {
        reader_.report(item, "topic '" + *name + "' is listed twice");
        continue;
      }
      kafka.topics.push_back(*name);
    }
  } else {
    map.report_missing("topic", "the topic to consume; or 'topics', a list");
  }
  if (settings) read_kafka_settings(*settings, kafka);
  if (auto value = map.optional("events")) {
    if (auto count = reader_.integer(*value, 0)) kafka.events = static_cast<std::uint64_t>(*count);
  }
  if (auto value = map.optional("endAfterIdle")) {
    if (auto idle = reader_.duration(*value)) kafka.end_after_idle_ns = *idle;
  }
}

std::optional<std::string> ConfigLoader::read_topic(const ConfigNode& value) {
  auto name = reader_.text(value, "a topic name");
  if (!name) return std::nullopt;
  if (is_topic_name(*name)) return name;
  reader_.report(value,
                 "expected a topic name of 1 to 249 letters, digits, '.', '_' or '-' (or "
                 "a pattern starting with ^), got " +
                     ConfigReader::describe(value.node));
  return std::nullopt;
}

void ConfigLoader::read_kafka_settings(const ConfigNode& value, KafkaSourceConfig& kafka) {
  kafka.where = value.where;
  MapReader map(reader_, value, "a map with brokers and group");
  auto brokers =
      map.required("brokers", "a list of host:port, or one text of them separated by commas");
  auto group = map.required("group", "the consumer group's id");
  auto auto_commit = map.optional("autoCommit");
  auto properties = map.optional("properties");
  map.finish();
  if (brokers) read_kafka_brokers(*brokers, kafka);
  if (group) {
    if (auto id = reader_.text(*group, "a consumer group id")) {
      if (id->empty()) {
        reader_.report(*group, "expected a consumer group id, got the empty string");
      } else {
        kafka.group = *id;
      }
    }
  }
  if (auto_commit) {
    if (auto enabled = reader_.boolean(*auto_commit)) kafka.auto_commit = *enabled;
  }
  if (properties) read_kafka_properties(*properties, kafka);
}

void ConfigLoader::read_kafka_brokers(const ConfigNode& value, KafkaSourceConfig& kafka) {
  constexpr std::string_view kExpected = "host:port, e.g. localhost:9092";
  auto add = [&](const ConfigNode& node, std::string_view address) {
    if (!is_broker_address(address)) {
      reader_.report(node,
                     "expected " + std::string(kExpected) + ", got '" + std::string(address) + "'");
      return;
    }
    kafka.brokers.emplace_back(address);
  };
  if (value.node.IsSequence()) {
    auto items = reader_.items(value, "a list of host:port");
    if (items.empty()) reader_.report(value, "expected at least one broker");
    for (const auto& item : items) {
      if (auto address = reader_.text(item, kExpected)) add(item, *address);
    }
    return;
  }
  auto text = reader_.text(value, "a list of host:port, or one text of them separated by commas");
  if (!text) return;
  std::string_view rest = *text;
  while (true) {
    std::size_t comma = rest.find(',');
    std::string_view address = rest.substr(0, comma);
    while (!address.empty() && address.front() == ' ') address.remove_prefix(1);
    while (!address.empty() && address.back() == ' ') address.remove_suffix(1);
    add(value, address);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
}

void ConfigLoader::read_kafka_properties(const ConfigNode& value, KafkaSourceConfig& kafka) {
  if (!reader_.expect_map(value,
                          "a map of librdkafka properties, e.g. {session.timeout.ms: 6000}")) {
    return;
  }
  std::vector<std::pair<std::string, SourceLocation>> seen;
  for (const auto& pair : value.node) {
    ConfigNode key{pair.first, value.path, reader_.location(pair.first)};
    if (!pair.first.IsScalar()) {
      reader_.report(key, "expected a property name, got " + ConfigReader::describe(pair.first));
      continue;
    }
    const std::string name = pair.first.Scalar();
    key.path = value.child_path(name);
    ConfigNode property{pair.second, key.path, reader_.location(pair.second)};
    if (pair.second.IsNull() || property.where.line == 0) property.where = key.where;
    auto reserved = std::find_if(kReservedKafkaProperties.begin(), kReservedKafkaProperties.end(),
                                 [&](const auto& entry) { return entry.first == name; });
    if (reserved != kReservedKafkaProperties.end()) {
      reader_.report(key, "property '" + name + "' cannot be set here: " + reserved->second);
      continue;
    }
    auto duplicate = std::find_if(seen.begin(), seen.end(),
                                  [&](const auto& other) { return other.first == name; });
    if (duplicate != seen.end()) {
      reader_.report(key, "duplicate property '" + name + "' (first at " +
                              where_text(duplicate->second) + ")");
      continue;
    }
    seen.emplace_back(name, key.where);
    if (!pair.second.IsScalar()) {
      reader_.report(property, "expected a property value (text, a number or a boolean), got " +
                                   ConfigReader::describe(pair.second));
      continue;
    }
    kafka.properties.push_back({name, pair.second.Scalar(), key.path, key.where});
  }
}

// ---------------------------------------------------------------------------------------------
// Processing

void ConfigLoader::read_processing(const ConfigNode& value) {
  MapReader map(reader_, value, "a map with pipeline and windows");
  auto pipeline = map.optional("pipeline");
  auto time = map.optional("time");
  auto watermark = map.optional("watermark");
  auto late_events = map.optional("lateEvents");
  auto group_by = map.optional("groupBy");
  auto aggregations = map.optional("aggregations");
  auto metrics = map.optional("metrics");
  auto windows = map.optional("windows");
  map.finish();
  if (pipeline) {
    for (const auto& item : reader_.items(*pipeline, "a list of stages")) read_stage(item);
  }
  if (time) {
    if (auto processing = reader_.choice(*time, "time mode", kTimeModes)) {
      config_.processing_time = *processing;
    }
  }
  if (watermark) read_watermark(*watermark);
  if (late_events) {
    if (auto path = read_path(*late_events)) config_.late_path = *path;
  }
  // Windows see the fields that leave the last stage, so they are read after the pipeline.
  const WindowDefaults defaults = read_window_defaults(group_by, aggregations, metrics);
  if (!windows) return;
  read_windows(*windows, defaults);
  check_event_time(*windows);
}

void ConfigLoader::read_watermark(const ConfigNode& value) {
  MapReader map(reader_, value, "a map with maxOutOfOrderness, allowedLateness and idleTimeout");
  auto out_of_orderness = map.optional("maxOutOfOrderness");
  auto allowed_lateness = map.optional("allowedLateness");
  auto idle_timeout = map.optional("idleTimeout");
  map.finish();
  WatermarkConfig& watermark = config_.watermark;
  if (out_of_orderness) {
    if (auto ns = reader_.duration(*out_of_orderness)) watermark.max_out_of_orderness_ns = *ns;
  }
  if (allowed_lateness) {
    if (auto ns = reader_.duration(*allowed_lateness)) watermark.allowed_lateness_ns = *ns;
  }
  if (idle_timeout) {
    if (auto ns = reader_.duration(*idle_timeout)) watermark.idle_timeout_ns = *ns;
  }
}

WindowDefaults ConfigLoader::read_window_defaults(const std::optional<ConfigNode>& group_by,
                                                  const std::optional<ConfigNode>& aggregations,
                                                  const std::optional<ConfigNode>& metrics) {
  WindowDefaults defaults;
  std::optional<ConfigNode> dimensions;
  std::optional<ConfigNode> measures;
  if (aggregations) {
    MapReader map(reader_, *aggregations, "a map with dimensions and measures");
    dimensions = map.optional("dimensions");
    measures = map.optional("measures");
    map.finish();
  }
  // A default that cannot be read becomes empty rather than absent, so that windows do not fall
  // back to another one and report mistakes that are not there.
  auto settle = [&](auto read, auto& slot) {
    slot = read();
    if (slot) return;
    slot.emplace();
    windows_complete_ = false;
  };
  if (group_by) {
    settle([&] { return read_window_fields(*group_by, FieldRole::group_by); }, defaults.group_by);
  }
  if (dimensions && group_by) {
    reader_.report(*dimensions,
                   "give either processing.groupBy or aggregations.dimensions, not both");
  } else if (dimensions) {
    settle([&] { return read_window_fields(*dimensions, FieldRole::group_by); }, defaults.group_by);
  }
  if (measures) {
    settle([&] { return read_window_fields(*measures, FieldRole::measure); }, defaults.measures);
  }
  if (metrics) settle([&] { return read_default_metrics(*metrics); }, defaults.metrics);
  return defaults;
}

std::optional<NamedNodes> ConfigLoader::read_window_fields(const ConfigNode& value,
                                                           FieldRole role) {
  const bool measure = role == FieldRole::measure;
  auto items = reader_.items(value, "a list of field names");
  if (!value.node.IsSequence()) return std::nullopt;
  if (measure && items.empty()) {
    reader_.report(value, "expected at least one measure");
    return std::nullopt;
  }
  NamedNodes names;
  for (const auto& item : items) {
    auto name = reader_.text(item, "a field name");
    if (!name) continue;
    if (scope_.known) {
      const FieldScope::Entry* entry = scope_.find(*name);
      if (entry == nullptr) {
        const std::vector<std::string> fields = scope_.names();
        reader_.report(item, "unknown field '" + *name + "'" + did_you_mean(*name, fields) +
                                 "; fields after the pipeline: " + join_names(fields));
        continue;
      }
      if (measure && entry->type && !is_measurable(*entry->type)) {
        reader_.report(item, "a measure must be an int32, int64, float32 or float64 field; '" +
                                 *name + "' is " + std::string(to_string(*entry->type)));
        continue;
      }
    }
    auto first = std::find_if(names.begin(), names.end(),
                              [&](const auto& other) { return other.first == *name; });
    if (first != names.end()) {
      reader_.report(item, "duplicate " + std::string(measure ? "measure" : "group-by field") +
                               " '" + *name + "' (first at " + where_text(first->second.where) +
                               ")");
      continue;
    }
    names.emplace_back(*name, item);
  }
  return names;
}

std::optional<std::vector<MetricConfig>> ConfigLoader::read_default_metrics(
    const ConfigNode& value) {
  if (value.node.IsSequence()) return read_metrics(value, reader_.items(value));
  MapReader map(reader_, value, "a list of metric names, or a map with basic and advanced");
  auto basic = map.optional("basic");
  auto advanced = map.optional("advanced");
  map.finish();
  if (!map.is_map()) return std::nullopt;
  if (!basic && !advanced) {
    map.report_missing("basic", "a list of metric names; or give 'advanced'");
    return std::nullopt;
  }
  std::vector<ConfigNode> items;
  bool lists = true;
  for (const auto& list : {basic, advanced}) {
    if (!list) continue;
    auto more = reader_.items(*list, "a list of metric names");
    lists = lists && list->node.IsSequence();
    items.insert(items.end(), more.begin(), more.end());
  }
  if (!lists) return std::nullopt;
  return read_metrics(value, items);
}

std::optional<std::vector<MetricConfig>> ConfigLoader::read_metrics(
    const ConfigNode& owner, const std::vector<ConfigNode>& items) {
  if (items.empty()) {
    reader_.report(owner, "expected at least one metric");
    return std::nullopt;
  }
  std::vector<MetricConfig> metrics;
  std::vector<std::string> words;  // the word each metric came from
  bool complete = true;
  for (const auto& item : items) {
    auto word = reader_.text(item, "a metric name");
    if (!word) {
      complete = false;
      continue;
    }
    std::string problem;
    std::vector<MetricConfig> expanded = metrics_of(*word, problem);
    if (!problem.empty()) {
      reader_.report(item, problem);
      complete = false;
      continue;
    }
    for (auto& metric : expanded) {
      metric.where = item.where;
      auto first = std::find_if(metrics.begin(), metrics.end(), [&](const MetricConfig& other) {
        return other.name == metric.name;
      });
      if (first == metrics.end()) {
        metrics.push_back(std::move(metric));
        words.push_back(*word);
        continue;
      }
      const std::string& first_word = words[static_cast<std::size_t>(first - metrics.begin())];
      std::string message = "duplicate metric '" + metric.name + "'";
      if (*word != metric.name) message += " from '" + *word + "'";
      message += " (first";
      if (first_word != metric.name) message += " from '" + first_word + "'";
      reader_.report(item, message + " at " + where_text(first->where) + ")");
      complete = false;
    }
  }
  if (!complete) return std::nullopt;
  return metrics;
}

void ConfigLoader::read_windows(const ConfigNode& value, const WindowDefaults& defaults) {
  std::vector<WindowDraft> drafts;
  if (value.node.IsMap()) {
    drafts = read_window_types(value);
  } else if (value.node.IsSequence()) {
    const auto items = reader_.items(value);
    if (items.empty()) {
      reader_.report(value, "expected at least one window");
      windows_complete_ = false;
    }
    for (const auto& item : items) {
      if (auto draft = read_window(item)) drafts.push_back(std::move(*draft));
    }
  } else {
    reader_.report(value, "expected a list of windows, or a map with types and default, got " +
                              ConfigReader::describe(value.node));
    windows_complete_ = false;
    return;
  }
  for (auto& draft : drafts) {
    const ConfigNode& at = draft.name ? *draft.name : draft.node;
    auto first =
        std::find_if(config_.windows.begin(), config_.windows.end(),
                     [&](const WindowConfig& other) { return other.name == draft.window.name; });
    if (first != config_.windows.end()) {
      std::string message = "duplicate window name '" + draft.window.name + "' (first at " +
                            where_text(first->where) + ")";
      if (!draft.name)
        message += "; an unnamed window is named after its type, so give it a 'name'";
      reader_.report(at, message);
    }
    finish_window(draft, defaults);
    config_.windows.push_back(std::move(draft.window));
  }
}

std::optional<WindowDraft> ConfigLoader::read_window(const ConfigNode& item) {
  MapReader map(reader_, item, "a map with type and size");
  auto name = map.optional("name");
  auto type_node = map.required("type", "one of: " + names_text(kWindowTypes));
  auto size = map.optional("size");
  auto slide = map.optional("slide");
  auto gap = map.optional("gap");
  auto metrics = map.optional("metrics");
  auto group_by = map.optional("groupBy");
  auto measures = map.optional("measures");
  auto accuracy = map.optional("accuracy");
  map.finish();
  if (!map.is_map()) {
    windows_complete_ = false;
    return std::nullopt;
  }
  WindowDraft draft;
  draft.node = item;
  draft.window.where = item.where;
  draft.accuracy = accuracy;
  bool complete = true;
  if (name) {
    draft.name = name;
    if (auto text = read_name(*name)) {
      draft.window.name = *text;
    } else {
      complete = false;
    }
  }
  // A key that cannot be read becomes empty, not absent, so the defaults do not step in.
  if (metrics) {
    auto items = reader_.items(*metrics, "a list of metric names");
    if (metrics->node.IsSequence()) draft.metrics = read_metrics(*metrics, items);
    complete = complete && draft.metrics;
    if (!draft.metrics) draft.metrics.emplace();
  }
  if (group_by) {
    draft.group_by = read_window_fields(*group_by, FieldRole::group_by);
    complete = complete && draft.group_by;
    if (!draft.group_by) draft.group_by.emplace();
  }
  if (measures) {
    draft.measures = read_window_fields(*measures, FieldRole::measure);
    complete = complete && draft.measures;
    if (!draft.measures) draft.measures.emplace();
  }
  std::optional<WindowType> type;
  if (type_node) type = reader_.choice(*type_node, "window type", kWindowTypes);
  if (!type) {
    windows_complete_ = false;
    return std::nullopt;
  }
  WindowConfig& window = draft.window;
  window.type = *type;
  if (!name) window.name = type_node->node.Scalar();
  auto misplaced = [&](const std::optional<ConfigNode>& node, std::string_view key,
                       std::string_view applies) {
    if (!node) return;
    reader_.report(*node, "'" + std::string(key) + "' applies only to " + std::string(applies) +
                              " windows; this one is " + type_node->node.Scalar());
    complete = false;
  };
  auto needed = [&](const std::optional<ConfigNode>& node, std::string_view key,
                    std::string_view expected) -> std::optional<std::int64_t> {
    std::optional<std::int64_t> nanoseconds;
    if (node) nanoseconds = reader_.duration(*node, 1);
    if (!node) map.report_missing(key, expected);
    if (!nanoseconds) complete = false;
    return nanoseconds;
  };
  if (window.type == WindowType::session) {
    misplaced(size, "size", "tumbling and sliding");
    misplaced(slide, "slide", "sliding");
    window.size_ns = 0;
    if (auto gap_ns = needed(gap, "gap", kGapExpected)) window.gap_ns = *gap_ns;
  } else {
    misplaced(gap, "gap", "session");
    const auto size_ns = needed(size, "size", kSizeExpected);
    if (size_ns) window.size_ns = *size_ns;
    if (window.type == WindowType::tumbling) {
      misplaced(slide, "slide", "sliding");
    } else if (auto slide_ns = needed(slide, "slide", kSlideExpected); slide_ns && size_ns) {
      window.slide_ns = *slide_ns;
      complete = slide_fits(*slide, *slide_ns, *size_ns) && complete;
    }
  }
  if (!complete) windows_complete_ = false;
  return draft;
}

bool ConfigLoader::slide_fits(const ConfigNode& slide, std::int64_t slide_ns,
                              std::int64_t size_ns) {
  if (slide_ns <= size_ns) return true;
  reader_.report(slide, "the slide (" + duration_text(slide_ns) + ") must not exceed the size (" +
                            duration_text(size_ns) + ")");
  return false;
}

std::vector<WindowDraft> ConfigLoader::read_window_types(const ConfigNode& value) {
  MapReader map(reader_, value, "a map with types and default");
  auto types = map.required("types", "a list of window types: " + names_text(kWindowTypes));
  auto defaults = map.required("default", "a map with size, slide and gap");
  map.finish();
  std::optional<ConfigNode> size;
  std::optional<ConfigNode> slide;
  std::optional<ConfigNode> gap;
  bool have_defaults = false;
  if (defaults) {
    MapReader durations(reader_, *defaults, "a map with size, slide and gap");
    size = durations.optional("size");
    slide = durations.optional("slide");
    gap = durations.optional("gap");
    durations.finish();
    have_defaults = durations.is_map();
  }
  std::vector<WindowDraft> drafts;
  if (!types || !have_defaults) windows_complete_ = false;
  if (!types) return drafts;
  const auto items = reader_.items(*types, "a list of window types");
  if (types->node.IsSequence() && items.empty()) {
    reader_.report(*types, "expected at least one window type");
  }
  bool uses[3] = {false, false, false};
  for (const auto& item : items) {
    auto type = reader_.choice(item, "window type", kWindowTypes);
    if (!type) {
      windows_complete_ = false;
      continue;
    }
    const std::string& word = item.node.Scalar();
    auto first = std::find_if(drafts.begin(), drafts.end(),
                              [&](const WindowDraft& other) { return other.window.name == word; });
    if (first != drafts.end()) {
      reader_.report(item, "duplicate window type '" + word + "' (first at " +
                               where_text(first->node.where) + ")");
      continue;
    }
    uses[static_cast<int>(*type)] = true;
    WindowDraft draft;
    draft.node = item;
    draft.window.where = item.where;
    draft.window.type = *type;
    draft.window.name = word;
    drafts.push_back(std::move(draft));
  }
  if (!have_defaults) return drafts;

  const bool tumbling = uses[static_cast<int>(WindowType::tumbling)];
  const bool sliding = uses[static_cast<int>(WindowType::sliding)];
  const bool session = uses[static_cast<int>(WindowType::session)];
  const bool any = tumbling || sliding || session;
  std::optional<std::int64_t> size_ns;
  std::optional<std::int64_t> slide_ns;
  std::optional<std::int64_t> gap_ns;
  auto read = [&](const std::optional<ConfigNode>& node, std::string_view key, bool used,
                  std::string_view applies, std::string_view expected,
                  std::optional<std::int64_t>& nanoseconds) {
    if (node && any && !used) {
      reader_.report(*node, "'" + std::string(key) + "' applies only to " + std::string(applies) +
                                " windows, and types has none");
      windows_complete_ = false;
    } else if (node) {
      nanoseconds = reader_.duration(*node, 1);
    } else if (used) {
      reader_.report(*defaults, "missing required key '" + std::string(key) + "' (" +
                                    std::string(expected) + ")");
    }
    if (used && !nanoseconds) windows_complete_ = false;
  };
  // The seed's analytics engine gives sessions no gap: then `size` serves as the gap.
  read(size, "size", tumbling || sliding || (session && !gap), "tumbling and sliding",
       kSizeExpected, size_ns);
  read(slide, "slide", sliding, "sliding", kSlideExpected, slide_ns);
  read(gap, "gap", session && (gap || !size), "session", kGapExpected, gap_ns);
  if (slide_ns && size_ns && !slide_fits(*slide, *slide_ns, *size_ns)) {
    windows_complete_ = false;
  }
  for (auto& draft : drafts) {
    WindowConfig& window = draft.window;
    if (window.type == WindowType::session) {
      window.size_ns = 0;
      if (gap_ns) {
        window.gap_ns = *gap_ns;
      } else if (size_ns) {
        window.gap_ns = *size_ns;
      }
      continue;
    }
    if (size_ns) window.size_ns = *size_ns;
    if (window.type == WindowType::sliding && slide_ns) window.slide_ns = *slide_ns;
  }
  return drafts;
}

void ConfigLoader::finish_window(WindowDraft& draft, const WindowDefaults& defaults) {
  WindowConfig& window = draft.window;
  const std::string label = "window '" + window.name + "'";
  const NamedNodes* group_by = draft.group_by      ? &*draft.group_by
                               : defaults.group_by ? &*defaults.group_by
                                                   : nullptr;
  if (group_by != nullptr) {
    for (const auto& entry : *group_by) window.group_by.push_back(entry.first);
  }
  const NamedNodes* measures = draft.measures      ? &*draft.measures
                               : defaults.measures ? &*defaults.measures
                                                   : nullptr;
  if (measures != nullptr) {
    for (const auto& [name, node] : *measures) {
      if (contains(window.group_by, name)) {
        reader_.report(node, "'" + name + "' is a group-by field of " + label +
                                 ", so it cannot also be a measure");
        continue;
      }
      window.measures.push_back(name);
    }
  } else if (scope_.known) {
    window.default_measures = true;
    for (const auto& entry : scope_.entries()) {
      if (entry.type && is_measurable(*entry.type) && !contains(window.group_by, entry.name)) {
        window.measures.push_back(entry.name);
      }
    }
    if (window.measures.empty()) {
      reader_.report(draft.node, "no numeric field outside the group-by reaches " + label +
                                     ", so it has nothing to measure; fields after the "
                                     "pipeline: " +
                                     join_names(scope_.names()));
    }
  }
  if (draft.metrics) {
    window.metrics = *draft.metrics;
  } else if (defaults.metrics) {
    window.metrics = *defaults.metrics;
  } else {
    for (const auto& word : kDefaultMetrics) {
      std::string unused;
      MetricConfig metric = metrics_of(word, unused).front();
      metric.where = window.where;
      window.metrics.push_back(std::move(metric));
    }
  }
  if (draft.accuracy) {
    const auto accuracy = ConfigReader::as_number(draft.accuracy->node);
    const bool approximate = std::any_of(
        window.metrics.begin(), window.metrics.end(),
        [](const MetricConfig& metric) { return metric.kind == MetricKind::approx_percentile; });
    if (!accuracy || *accuracy <= 0 || *accuracy >= 1) {
      reader_.report(*draft.accuracy, "expected a number greater than 0 and less than 1, got " +
                                          ConfigReader::describe(draft.accuracy->node));
    } else if (!approximate && !window.metrics.empty()) {
      reader_.report(*draft.accuracy,
                     "'accuracy' applies only to approximate percentiles (approx_p95, "
                     "approx_percentile, ...); " +
                         label + " computes none");
    } else {
      window.relative_accuracy = *accuracy;
    }
  }
  check_result_columns(draft, group_by);
}

void ConfigLoader::check_result_columns(const WindowDraft& draft, const NamedNodes* group_by) {
  const WindowConfig& window = draft.window;
  std::vector<std::string> columns = kResultColumns;
  if (group_by != nullptr) {
    for (const auto& [name, node] : *group_by) {
      if (contains(kResultColumns, name)) {
        reader_.report(node, "group-by field '" + name + "' has the name of the result column '" +
                                 name + "'; rename it in a transform first");
      }
      add_once(columns, name);
    }
  }
  for (const auto& measure : window.measures) {
    for (const auto& metric : window.metrics) {
      const std::string column = measure + "_" + metric.name;
      if (contains(columns, column)) {
        reader_.report(draft.node, "window '" + window.name + "' would write the column '" +
                                       column + "' twice (measure '" + measure + "', metric '" +
                                       metric.name + "'); rename a field in a transform first");
      }
      columns.push_back(column);
    }
  }
}

void ConfigLoader::check_event_time(const ConfigNode& windows) {
  if (config_.processing_time) return;
  const Schema& schema = config_.format.schema;
  if (schema.event_time < 0) {
    if (event_time_given_) return;  // reported where eventTime is
    reader_.report(windows,
                   "windows on event time need input.format.schema.eventTime (a timestamp "
                   "field); set it, or set processing.time: processing");
    return;
  }
  if (!scope_.known) return;
  const std::string& name = schema.fields[static_cast<std::size_t>(schema.event_time)].name;
  const FieldScope::Entry* entry = scope_.find(name);
  if (entry == nullptr) {
    reader_.report(windows, "windows on event time read the field '" + name +
                                "', which the pipeline removes or renames; keep it, or set "
                                "processing.time: processing");
  } else if (entry->type && *entry->type != DataType::timestamp) {
    reader_.report(windows, "windows on event time read the field '" + name +
                                "', which the pipeline turns into " +
                                std::string(to_string(*entry->type)) +
                                "; keep it a timestamp, or set processing.time: processing");
  }
}

void ConfigLoader::read_stage(const ConfigNode& item) {
  MapReader map(reader_, item, "a map with type and config");
  auto name = map.optional("name");
  auto type = map.required("type", "one of: " + names_text(kStageTypes));
  auto settings = map.required("config",
                               "a map with rules for a filter, operations for a "
                               "transform");
  map.finish();
  if (!map.is_map()) return;
  StageConfig stage;
  stage.where = item.where;
  if (name) {
    if (auto text = read_name(*name)) {
      stage.name = *text;
      for (const auto& other : config_.pipeline) {
        if (other.name != stage.name) continue;
        reader_.report(*name, "duplicate stage name '" + stage.name + "' (first at " +
                                  where_text(other.where) + ")");
        break;
      }
    }
  }
  std::optional<StageType> stage_type;
  if (type) stage_type = reader_.choice(*type, "stage type", kStageTypes);
  if (!stage_type) return;
  stage.type = *stage_type;
  if (settings) {
    if (stage.type == StageType::filter) {
      read_filter(*settings, stage.filter);
    } else {
      read_transform(*settings, stage.transform);
    }
  }
  config_.pipeline.push_back(std::move(stage));
}

void ConfigLoader::read_filter(const ConfigNode& value, FilterConfig& filter) {
  MapReader map(reader_, value, "a map with rules");
  auto combine = map.optional("combine");
  auto rejects = map.optional("rejects");
  auto rules = map.required("rules", "a list of rules");
  map.finish();
  if (combine) {
    if (auto how = reader_.choice(*combine, "combine mode", kCombines)) filter.combine = *how;
  }
  if (rejects) {
    if (auto path = read_path(*rejects)) filter.reject_path = *path;
  }
  if (!rules) return;
  auto items = reader_.items(*rules, "a list of rules");
  if (rules->node.IsSequence() && items.empty()) {
    reader_.report(*rules, "expected at least one rule");
  }
  for (const auto& item : items) read_rule(item, filter);
}

void ConfigLoader::read_rule(const ConfigNode& item, FilterConfig& filter) {
  MapReader map(reader_, item, "a map with field, operator and value, or with condition");
  auto field = map.optional("field");
  auto op = map.optional("operator");
  auto value = map.optional("value");
  auto condition = map.optional("condition");
  map.finish();
  if (!map.is_map()) return;
  FilterRule rule;
  rule.where = item.where;
  std::optional<FilterOperator> op_value;
  if (op) op_value = reader_.choice(*op, "operator", kOperators);

  if (condition || (op_value && *op_value == FilterOperator::condition)) {
    rule.op = FilterOperator::condition;
    if (op_value && *op_value != FilterOperator::condition) {
      reader_.report(*op, "a rule with 'condition' takes no operator; remove 'operator'");
    }
    if (field) {
      reader_.report(*field,
                     "a rule with 'condition' takes no 'field'; name fields inside the "
                     "condition");
    }
    if (value) reader_.report(*value, "a rule with 'condition' takes no 'value'");
    if (!condition) {
      map.report_missing("condition", "an expression such as \"temperature > 100\"");
      return;
    }
    auto text = read_expression(*condition);
    if (!text) return;
    rule.condition = *text;
    rule.condition_where = reader_.text_location(condition->node);
    filter.rules.push_back(std::move(rule));
    return;
  }

  if (!field) map.report_missing("field", "the field the rule tests");
  if (!op)
    map.report_missing("operator",
                       "one of: range, eq, ne, gt, ge, lt, le, in, not_in, "
                       "exists");
  std::optional<std::string> field_name;
  const FieldScope::Entry* entry = nullptr;
  if (field) entry = reference(*field, "filter rule", field_name);
  if (field_name) rule.field = *field_name;
  if (!op_value) return;
  rule.op = *op_value;

  const bool ordered = rule.op == FilterOperator::range || rule.op == FilterOperator::gt ||
                       rule.op == FilterOperator::ge || rule.op == FilterOperator::lt ||
                       rule.op == FilterOperator::le;
  if (ordered && entry != nullptr && entry->type &&
      (*entry->type == DataType::string || *entry->type == DataType::boolean)) {
    reader_.report(*op, "operator '" + op->node.Scalar() +
                            "' needs a number or timestamp field; '" + entry->name + "' is " +
                            std::string(to_string(*entry->type)));
    entry = nullptr;
  }
  if (rule.op == FilterOperator::exists) {
    if (value) reader_.report(*value, "operator 'exists' takes no value");
  } else if (!value) {
    map.report_missing("value", expected_value(rule.op));
  } else {
    read_rule_values(*value, rule, entry);
  }
  filter.rules.push_back(std::move(rule));
}

void ConfigLoader::read_rule_values(const ConfigNode& value, FilterRule& rule,
                                    const FieldScope::Entry* field) {
  std::optional<DataType> type;
  std::string context;
  if (field != nullptr && field->type) {
    type = field->type;
    context = "field '" + field->name + "' is " + std::string(to_string(*type));
  }
  if (rule.op == FilterOperator::range) {
    auto items = reader_.items(value, "a list of two numbers [low, high]");
    if (!value.node.IsSequence()) return;
    if (items.size() != 2) {
      reader_.report(value, "expected a list of two numbers [low, high], got a list of " +
                                std::to_string(items.size()));
      return;
    }
    for (const auto& item : items) {
      if (auto literal = read_literal(item, type, context)) rule.values.push_back(*literal);
    }
    if (rule.values.size() == 2 && std::holds_alternative<double>(rule.values[0]) &&
        std::holds_alternative<double>(rule.values[1]) &&
        std::get<double>(rule.values[0]) > std::get<double>(rule.values[1])) {
      reader_.report(value, "the low end of a range must not exceed the high end");
    }
    return;
  }
  if (rule.op == FilterOperator::in || rule.op == FilterOperator::not_in) {
    auto items = reader_.items(value, "a list of values");
    if (value.node.IsSequence() && items.empty()) {
      reader_.report(value, "expected at least one value");
    }
    for (const auto& item : items) {
      if (auto literal = read_literal(item, type, context)) rule.values.push_back(*literal);
    }
    return;
  }
  if (value.node.IsSequence()) {
    reader_.report(value, "expected one value, got a list (operator 'in' matches a list)");
    return;
  }
  if (auto literal = read_literal(value, type, context)) rule.values.push_back(*literal);
}

void ConfigLoader::read_transform(const ConfigNode& value, TransformConfig& transform) {
  MapReader map(reader_, value, "a map with operations");
  auto operations = map.required("operations", "a list of operations");
  map.finish();
  if (!operations) return;
  auto items = reader_.items(*operations, "a list of operations");
  if (operations->node.IsSequence() && items.empty()) {
    reader_.report(*operations, "expected at least one operation");
  }
  for (const auto& item : items) read_operation(item, transform);
}

void ConfigLoader::read_operation(const ConfigNode& item, TransformConfig& transform) {
  MapReader map(reader_, item, "a map with type and field");
  auto type = map.required("type", "one of: " + names_text(kTransformKinds));
  std::optional<TransformKind> kind;
  if (type) kind = reader_.choice(*type, "operation type", kTransformKinds);
  if (!kind) {
    // Which other keys belong depends on the type.
    map.finish_ignoring_unknown();
    return;
  }
  TransformOperation operation;
  operation.kind = *kind;
  operation.where = item.where;
  switch (*kind) {
    case TransformKind::add_field:
      read_add_field(map, operation);
      break;
    case TransformKind::calculate:
      read_calculate(map, operation);
      break;
    case TransformKind::rename: {
      auto field = map.required("field", "the field to rename");
      auto to = map.required("to", "the new name");
      map.finish();
      std::optional<std::string> from;
      const FieldScope::Entry* entry = field ? reference(*field, "rename", from) : nullptr;
      std::optional<std::string> new_name;
      if (to) new_name = read_field_name(*to);
      if (from) operation.field = *from;
      if (new_name) operation.to = *new_name;
      if (new_name && scope_.known && scope_.find(*new_name) != nullptr) {
        reader_.report(*to, "rename target '" + *new_name + "' already exists");
        break;
      }
      if (entry != nullptr && new_name) scope_.rename(*from, *new_name);
      break;
    }
    case TransformKind::drop: {
      auto field = map.optional("field");
      auto fields = map.optional("fields");
      map.finish();
      if (field && fields) {
        reader_.report(*fields, "give either 'field' or 'fields', not both");
        break;
      }
      std::vector<ConfigNode> names;
      if (field) names.push_back(*field);
      if (fields) {
        names = reader_.items(*fields, "a list of field names");
        if (fields->node.IsSequence() && names.empty()) {
          reader_.report(*fields, "expected at least one field name");
        }
      }
      if (!field && !fields) map.report_missing("field", "the field to drop; or 'fields', a list");
      for (const auto& name : names) {
        std::optional<std::string> dropped;
        const FieldScope::Entry* entry = reference(name, "drop", dropped);
        if (!dropped) continue;
        TransformOperation drop = operation;
        drop.field = *dropped;
        if (fields) drop.where = name.where;
        transform.operations.push_back(std::move(drop));
        if (entry != nullptr) scope_.remove(*dropped);
      }
      return;
    }
    case TransformKind::cast: {
      auto field = map.required("field", "the field to convert");
      auto to = map.required("to", "one of: " + names_text(kDataTypes));
      map.finish();
      std::optional<std::string> name;
      const FieldScope::Entry* entry = field ? reference(*field, "cast", name) : nullptr;
      if (name) operation.field = *name;
      if (to) operation.type = reader_.choice(*to, "data type", kDataTypes);
      if (entry != nullptr && operation.type) scope_.set(*name, operation.type);
      break;
    }
  }
  transform.operations.push_back(std::move(operation));
}

void ConfigLoader::read_add_field(MapReader& map, TransformOperation& operation) {
  auto field = map.required("field", "the name of the field to add");
  auto value = map.optional("value");
  auto expression = map.optional("expression");
  auto as = map.optional("as");
  map.finish();
  if (as) operation.type = reader_.choice(*as, "data type", kDataTypes);
  std::optional<DataType> result = operation.type;
  if (value && expression) {
    reader_.report(*expression, "give either 'value' or 'expression', not both");
  } else if (expression) {
    if (auto text = read_expression(*expression)) {
      operation.expression = *text;
      operation.expression_where = reader_.text_location(expression->node);
    }
    if (!result && !as) result = DataType::float64;
  } else if (value && value->node.IsScalar() && value->node.Scalar() == "now()") {
    operation.now = true;
    if (operation.type && *operation.type != DataType::timestamp) {
      reader_.report(*as, "now() gives a timestamp; remove 'as' or make it timestamp");
    }
    result = DataType::timestamp;
  } else if (value) {
    std::string context;
    if (operation.type) context = "'as' is " + std::string(to_string(*operation.type));
    // A timestamp constant is a number of milliseconds, never text.
    std::optional<DataType> check = operation.type;
    if (check == DataType::timestamp) check = DataType::int64;
    operation.constant = read_literal(*value, check, context);
    if (operation.constant && !result) {
      if (std::holds_alternative<std::string>(*operation.constant)) result = DataType::string;
      if (std::holds_alternative<bool>(*operation.constant)) result = DataType::boolean;
      if (std::holds_alternative<double>(*operation.constant)) result = DataType::float64;
    }
  } else {
    map.report_missing("value", "a constant or \"now()\"; or give 'expression'");
  }
  if (!field) return;
  auto name = read_field_name(*field);
  if (!name) return;
  operation.field = *name;
  // add-field on an existing field only fills rows where it is missing: the type stays.
  if (scope_.find(*name) == nullptr) scope_.set(*name, result);
}

void ConfigLoader::read_calculate(MapReader& map, TransformOperation& operation) {
  auto field = map.required("field", "the field that receives the result");
  auto formula = map.required("formula",
                              "an expression such as \"heat_index(temperature, "
                              "humidity)\"");
  auto as = map.optional("as");
  map.finish();
  if (as) operation.type = reader_.choice(*as, "data type", kDataTypes);
  if (formula) {
    if (auto text = read_expression(*formula)) {
      operation.expression = *text;
      operation.expression_where = reader_.text_location(formula->node);
    }
  }
  if (!field) return;
  auto name = read_field_name(*field);
  if (!name) return;
  operation.field = *name;
  scope_.set(*name, as ? operation.type : std::optional<DataType>(DataType::float64));
}

// ---------------------------------------------------------------------------------------------
// Output

void ConfigLoader::read_output(const ConfigNode& value) {
  MapReader map(reader_, value, "a map with destinations");
  auto destinations = map.required("destinations", "a list of destinations");
  auto alerts = map.optional("alerts");
  auto format = map.optional("format");
  auto compression = map.optional("compression");
  auto batching = map.optional("batching");
  map.finish();
  if (format) read_output_format(*format);
  if (compression) {
    if (auto chosen = read_compression(*compression)) destination_defaults_.compression = *chosen;
  }
  if (batching) read_batching(*batching, destination_defaults_.delivery);
  if (alerts) read_alerts(*alerts);
  if (!destinations) return;
  auto items = reader_.items(*destinations, "a list of destinations");
  if (destinations->node.IsSequence() && items.empty()) {
    reader_.report(*destinations, "expected at least one destination");
  }
  for (const auto& item : items) read_destination(item);
}

void ConfigLoader::read_destination(const ConfigNode& item) {
  MapReader map(reader_, item, "a map with type");
  auto type_node = map.required("type", "one of: " + names_text(kSinkTypes));
  if (!type_node) {
    map.finish_ignoring_unknown();
    return;
  }
  if (type_node->node.IsScalar() &&
      std::find(kNotificationTypes.begin(), kNotificationTypes.end(), type_node->node.Scalar()) !=
          kNotificationTypes.end()) {
    const std::string& name = type_node->node.Scalar();
    reader_.report(*type_node, "'" + name +
                                   "' is an alert notification channel, not a destination: list "
                                   "it in output.alerts.notifications and set output.alerts." +
                                   name);
    map.finish_ignoring_unknown();
    return;
  }
  auto type = reader_.choice(*type_node, "destination type", kSinkTypes);
  if (!type) {
    map.finish_ignoring_unknown();
    return;
  }
  SinkConfig sink = destination_defaults_;
  sink.type = *type;
  sink.where = item.where;
  if (sink.type == SinkType::jsonl) {
    if (auto path = map.required("path", "the file to write")) {
      if (auto resolved = read_path(*path)) sink.path = *resolved;
    }
    if (auto value = map.optional("compression")) {
      if (auto chosen = read_compression(*value)) sink.compression = *chosen;
    }
  }
  if (sink.type == SinkType::websocket) read_websocket_sink(map, sink.websocket);
  if (sink.type == SinkType::kafka) read_kafka_sink(map, sink);
  if (sink.type == SinkType::elasticsearch) read_elasticsearch_sink(map, sink);
  map.finish();
  if (sink.delivery.dead_letter_path.empty()) {
    // Each network destination gets its own file: elasticsearch-dead-letter.jsonl, then
    // elasticsearch-1-dead-letter.jsonl for a second one of the type.
    std::size_t same_type = 0;
    for (const auto& other : config_.destinations) same_type += other.type == sink.type;
    const std::string type_name = type_node->node.Scalar();
    sink.delivery.dead_letter_path =
        type_name + (same_type == 0 ? "" : "-" + std::to_string(same_type)) + "-dead-letter.jsonl";
  }
  config_.destinations.push_back(std::move(sink));
}

void ConfigLoader::read_output_format(const ConfigNode& value) {
  auto format = reader_.choice(value, "output format", kOutputFormats);
  if (format == Format::protobuf) {
    reader_.report(value,
                   "protobuf output needs a message type for result rows, which this build does "
                   "not define; use json");
  }
}

std::optional<Compression> ConfigLoader::read_compression(const ConfigNode& value) {
  if (auto enabled = ConfigReader::as_boolean(value.node)) {
    return *enabled ? Compression::gzip : Compression::none;
  }
  return reader_.choice(value, "compression", kCompressions);
}

void ConfigLoader::read_batching(const ConfigNode& value, DeliveryConfig& delivery) {
  MapReader batching(reader_, value, "a map with size and timeout");
  if (!batching.is_map()) return;
  auto size = batching.optional("size");
  auto timeout = batching.optional("timeout");
  batching.finish();
  if (size) {
    if (auto records = reader_.integer(*size, 1, 1'000'000))
      delivery.batch_records = static_cast<std::size_t>(*records);
  }
  if (timeout) {
    if (auto wait = reader_.duration(*timeout, 1'000'000)) delivery.batch_interval_ns = *wait;
  }
}

void ConfigLoader::read_websocket_sink(MapReader& map, WebSocketSinkConfig& websocket) {
  constexpr std::string_view kPathExpected = "the path clients connect to, such as /metrics";
  if (auto value = map.optional("endpoint")) {
    if (auto path = reader_.text(*value, kPathExpected)) {
      if (path->empty() || path->front() != '/' ||
          path->find_first_of(" ?#") != std::string::npos) {
        reader_.report(*value, "expected " + std::string(kPathExpected) + ", got " +
                                   ConfigReader::describe(value->node));
      } else {
        websocket.endpoint = *path;
      }
    }
  }
  if (auto value = map.optional("format")) read_output_format(*value);
  if (auto value = map.optional("bind")) {
    if (auto address = reader_.text(*value, "a numeric IPv4 or IPv6 address")) {
      in6_addr parsed;
      if (::inet_pton(AF_INET, address->c_str(), &parsed) == 1 ||
          ::inet_pton(AF_INET6, address->c_str(), &parsed) == 1) {
        websocket.bind = *address;
      } else {
        reader_.report(*value,
                       "expected a numeric IPv4 or IPv6 address like 127.0.0.1 or ::1, got " +
                           ConfigReader::describe(value->node));
      }
    }
  }
  if (auto value = map.optional("port")) {
    if (auto port = reader_.integer(*value, 0, kMaxPort)) {
      websocket.port = static_cast<std::uint16_t>(*port);
    }
  }
  if (auto value = map.optional("token")) {
    if (auto token = reader_.text(*value, "the bearer token clients must send")) {
      if (token->empty() || token->find_first_of(" \t\r\n") != std::string::npos) {
        reader_.report(*value, "expected a bearer token without spaces, got " +
                                   ConfigReader::describe(value->node));
      } else {
        websocket.token = *token;
      }
    }
  }
  if (auto value = map.optional("maxMessageBytes")) {
    if (auto bytes = reader_.integer(*value, 64, std::int64_t{1} << 30)) {
      websocket.max_message_bytes = static_cast<std::uint64_t>(*bytes);
    }
  }
  if (auto value = map.optional("clientQueue")) {
    if (auto count = reader_.integer(*value, 1, 100'000'000)) {
      websocket.client_queue = static_cast<std::uint64_t>(*count);
    }
  }
  if (auto value = map.optional("messageLines")) {
    if (auto count = reader_.integer(*value, 1, 1'000'000)) {
      websocket.message_lines = static_cast<std::uint32_t>(*count);
    }
  }
  if (auto value = map.optional("drainTimeout")) {
    if (auto wait = reader_.duration(*value)) websocket.drain_timeout_ns = *wait;
  }
}

void ConfigLoader::read_kafka_sink(MapReader& map, SinkConfig& sink) {
  KafkaSinkConfig& kafka = sink.kafka;
  if (auto value = map.required("topic", "the topic to produce to")) {
    if (auto name = read_topic(*value)) {
      if (name->front() == '^') {
        reader_.report(*value, "expected a topic name; a pattern cannot be produced to");
      } else {
        kafka.topic = *name;
      }
    }
  }
  if (auto value = map.optional("format")) read_output_format(*value);
  if (auto settings = map.required("config", "a map with brokers")) {
    kafka.where = settings->where;
    MapReader settings_map(reader_, *settings, "a map with brokers and properties");
    auto brokers = settings_map.required(
        "brokers", "a list of host:port, or one text of them separated by commas");
    auto properties = settings_map.optional("properties");
    settings_map.finish();
    // The source's readers check brokers and properties the same way for both directions.
    KafkaSourceConfig read;
    if (brokers) read_kafka_brokers(*brokers, read);
    if (properties) read_kafka_properties(*properties, read);
    kafka.brokers = std::move(read.brokers);
    for (auto& property : read.properties) {
      if (property.key == "enable.idempotence") {
        reader_.report(property.where, property.path +
                                           ": property 'enable.idempotence' cannot be set here: "
                                           "ldh produces idempotently, so that its retries add "
                                           "no duplicates");
        continue;
      }
      kafka.properties.push_back(std::move(property));
    }
  }
  for (const auto& window : config_.windows) {
    kafka.key_fields.emplace_back(window.name, window.group_by);
  }
  read_delivery(map, sink.delivery);
}

void ConfigLoader::read_elasticsearch_sink(MapReader& map, SinkConfig& sink) {
  ElasticsearchConfig& elasticsearch = sink.elasticsearch;
  if (auto value = map.optional("url")) {
    if (auto url = read_url(*value, {"http", "https"})) elasticsearch.url = *url;
  }
  if (auto value = map.optional("index")) {
    if (auto name = reader_.text(*value, "an index name")) {
      // Elasticsearch's own rules for index names, checked here rather than item by item.
      const bool valid =
          !name->empty() && name->size() <= 255 && *name != "." && *name != ".." &&
          std::string_view("-_+").find(name->front()) == std::string_view::npos &&
          std::none_of(name->begin(), name->end(), [](char c) {
            return (c >= 'A' && c <= 'Z') ||
                   std::string_view("\\/*?\"<>| ,#:").find(c) != std::string_view::npos;
          });
      if (valid) {
        elasticsearch.index = *name;
      } else {
        reader_.report(*value,
                       "expected an Elasticsearch index name (lowercase, without spaces or "
                       "\\/*?\"<>|,#:, not starting with -, _ or +), got " +
                           ConfigReader::describe(value->node));
      }
    }
  }
  auto username = map.optional("username");
  auto password = map.optional("password");
  auto api_key = map.optional("apiKey");
  if (username) {
    if (auto text = reader_.text(*username, "a user name")) elasticsearch.username = *text;
  }
  if (password) {
    if (auto text = reader_.text(*password, "a password")) elasticsearch.password = *text;
    if (!username) reader_.report(*password, "a password needs a username");
  }
  if (api_key) {
    if (auto text = reader_.text(*api_key, "an API key (the base64 id:key Elasticsearch gives)")) {
      elasticsearch.api_key = *text;
    }
    if (username) reader_.report(*api_key, "give either username and password or apiKey");
  }
  if (auto value = map.optional("timeout")) {
    if (auto wait = reader_.duration(*value, 1'000'000)) elasticsearch.timeout_ns = *wait;
  }
  if (auto value = map.optional("connectTimeout")) {
    if (auto wait = reader_.duration(*value, 1'000'000)) elasticsearch.connect_timeout_ns = *wait;
  }
  if (auto value = map.optional("tls")) read_tls(*value, elasticsearch.tls);
  if (auto value = map.optional("format")) read_output_format(*value);
  for (const auto& window : config_.windows) {
    elasticsearch.key_fields.emplace_back(window.name, window.group_by);
  }
  read_delivery(map, sink.delivery);
}

void ConfigLoader::read_tls(const ConfigNode& value, TlsConfig& tls) {
  MapReader map(reader_, value, "a map with verify and caFile");
  if (!map.is_map()) return;
  auto verify = map.optional("verify");
  auto ca_file = map.optional("caFile");
  map.finish();
  if (verify) {
    if (auto flag = reader_.boolean(*verify)) tls.verify_peer = *flag;
  }
  if (ca_file) {
    if (auto path = read_path(*ca_file)) tls.ca_file = *path;
  }
}

std::optional<std::string> ConfigLoader::read_url(const ConfigNode& value,
                                                  const std::vector<std::string>& schemes) {
  std::string expected = "a URL starting with ";
  for (std::size_t i = 0; i < schemes.size(); ++i) {
    expected += (i == 0 ? "" : i + 1 == schemes.size() ? " or " : ", ") + schemes[i] + "://";
  }
  auto text = reader_.text(value, expected);
  if (!text) return std::nullopt;
  const std::size_t separator = text->find("://");
  const bool known =
      separator != std::string::npos &&
      std::find(schemes.begin(), schemes.end(), text->substr(0, separator)) != schemes.end();
  if (!known || text->size() == separator + 3 || text->at(separator + 3) == '/' ||
      text->find_first_of(" \t\r\n") != std::string::npos) {
    reader_.report(
        value, "expected " + expected + " and a host, got " + ConfigReader::describe(value.node));
    return std::nullopt;
  }
  while (text->back() == '/') text->pop_back();
  return text;
}

void ConfigLoader::read_delivery(MapReader& map, DeliveryConfig& delivery) {
  if (auto value = map.optional("batch")) {
    MapReader batch(reader_, *value, "a map with size and interval");
    if (batch.is_map()) {
      auto size = batch.optional("size");
      auto interval = batch.optional("interval");
      batch.finish();
      if (size) {
        if (auto records = reader_.integer(*size, 1, 1'000'000))
          delivery.batch_records = static_cast<std::size_t>(*records);
      }
      if (interval) {
        if (auto wait = reader_.duration(*interval, 1'000'000)) delivery.batch_interval_ns = *wait;
      }
    }
  }
  if (auto value = map.optional("queue")) {
    MapReader queue(reader_, *value, "a map with records and bytes");
    if (queue.is_map()) {
      auto records = queue.optional("records");
      auto bytes = queue.optional("bytes");
      queue.finish();
      if (records) {
        if (auto count = reader_.integer(*records, 1))
          delivery.queue_records = static_cast<std::uint64_t>(*count);
      }
      if (bytes) {
        if (auto count = reader_.integer(*bytes, 1))
          delivery.queue_bytes = static_cast<std::uint64_t>(*count);
      }
    }
  }
  if (auto value = map.optional("overflow")) {
    static const Names<bool> kDeliveryOverflow = {{"deadLetter", false}, {"block", true}};
    if (auto block = reader_.choice(*value, "overflow policy", kDeliveryOverflow))
      delivery.block_on_overflow = *block;
  }
  if (auto value = map.optional("retry")) {
    MapReader retry(reader_, *value, "a map with maxAttempts, initialDelay, maxDelay, jitter");
    if (retry.is_map()) {
      auto attempts = retry.optional("maxAttempts");
      auto initial = retry.optional("initialDelay");
      auto maximum = retry.optional("maxDelay");
      auto jitter = retry.optional("jitter");
      retry.finish();
      if (attempts) {
        if (auto count = reader_.integer(*attempts, 1, 1'000'000))
          delivery.max_attempts = static_cast<std::uint32_t>(*count);
      }
      if (initial) {
        if (auto wait = reader_.duration(*initial, 1'000'000)) delivery.initial_backoff_ns = *wait;
      }
      if (maximum) {
        if (auto wait = reader_.duration(*maximum, 1'000'000)) delivery.max_backoff_ns = *wait;
      }
      if (jitter) {
        if (auto share = reader_.number(*jitter, 0, 1)) delivery.jitter = *share;
      }
      if (maximum && delivery.max_backoff_ns < delivery.initial_backoff_ns) {
        reader_.report(*maximum, "expected at least initialDelay");
      }
    }
  }
  if (auto value = map.optional("drainTimeout")) {
    if (auto wait = reader_.duration(*value)) delivery.drain_timeout_ns = *wait;
  }
  if (auto value = map.optional("deadLetter")) {
    if (auto path = read_path(*value)) delivery.dead_letter_path = *path;
  }
}

void ConfigLoader::read_alerts(const ConfigNode& value) {
  MapReader map(reader_, value, "a map with conditions");
  auto conditions = map.optional("conditions");
  if (!conditions && map.is_map()) alerts_without_conditions_ = value;
  auto path = map.optional("path");
  auto notifications = map.optional("notifications");
  auto cooldown = map.optional("cooldown");
  auto webhook = map.optional("webhook");
  auto email = map.optional("email");
  map.finish();
  if (path) {
    if (auto resolved = read_path(*path)) config_.alerts.path = *resolved;
  }
  if (notifications) read_notifications(*notifications);
  if (cooldown) {
    if (auto wait = reader_.duration(*cooldown)) config_.alerts.cooldown_ns = *wait;
  }
  if (webhook) read_webhook(*webhook);
  if (email) read_email(*email);
  // Each listed channel needs its settings, and settings of an unlisted channel would be unused.
  const auto& listed = config_.alerts.notifications;
  for (const auto& [name, channel] : kNotificationChannels) {
    const auto& settings = channel == NotificationChannel::webhook ? webhook : email;
    const bool named = std::find(listed.begin(), listed.end(), channel) != listed.end();
    if (named && !settings) {
      map.report_missing(name, channel == NotificationChannel::webhook
                                   ? "a map with url, where webhook notifications go"
                                   : "a map with smtp, from and to, where alert mails go");
    }
    if (!named && settings && map.is_map()) {
      reader_.report(*settings, "notifications does not list " + name +
                                    ", so these settings would be unused; add it to "
                                    "output.alerts.notifications");
    }
  }
  if (!conditions) return;
  auto items = reader_.items(*conditions, "a list of conditions");
  if (conditions->node.IsSequence() && items.empty()) {
    reader_.report(*conditions, "expected at least one condition");
  }
  if (windows_complete_ && config_.windows.empty() && !items.empty()) {
    reader_.report(value,
                   "alerts are checked on window results, but processing.windows defines none");
    windows_complete_ = false;  // nothing to match the conditions against
  }
  for (const auto& item : items) read_alert_condition(item);
}

void ConfigLoader::read_notifications(const ConfigNode& value) {
  std::vector<ConfigNode> items;
  if (value.node.IsScalar()) {
    items.push_back(value);
  } else {
    items = reader_.items(value, "a list of channels: email, webhook");
  }
  auto& channels = config_.alerts.notifications;
  for (const auto& item : items) {
    auto channel = reader_.choice(item, "notification channel", kNotificationChannels);
    if (!channel) continue;
    if (std::find(channels.begin(), channels.end(), *channel) != channels.end()) {
      reader_.report(item, "channel listed twice");
      continue;
    }
    channels.push_back(*channel);
  }
}

void ConfigLoader::read_webhook(const ConfigNode& value) {
  MapReader map(reader_, value, "a map with url");
  if (!map.is_map()) return;
  WebhookConfig& webhook = config_.alerts.webhook;
  if (auto url = map.required("url", "the http:// or https:// URL alerts are POSTed to")) {
    if (auto text = read_url(*url, {"http", "https"})) webhook.url = *text;
  }
  if (auto headers = map.optional("headers")) {
    MapReader header_map(reader_, *headers, "a map of header names to values");
    for (const auto& pair : header_map.is_map() ? headers->node : YAML::Node()) {
      if (!pair.first.IsScalar()) continue;  // reported by the MapReader
      const std::string name = pair.first.Scalar();
      auto header = header_map.optional(name);
      const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
      });
      if (!token) {
        reader_.report(*header, "expected a header name (letters, digits, -), got '" + name + "'");
        continue;
      }
      auto text = reader_.text(*header, "the header's value");
      if (!text) continue;
      if (text->find_first_of("\r\n") != std::string::npos) {
        reader_.report(*header, "expected a header value on one line");
        continue;
      }
      webhook.headers.emplace_back(name, *text);
    }
    header_map.finish();
  }
  if (auto timeout = map.optional("timeout")) {
    if (auto wait = reader_.duration(*timeout, 1'000'000)) webhook.timeout_ns = *wait;
  }
  if (auto tls = map.optional("tls")) read_tls(*tls, webhook.tls);
  webhook.delivery.dead_letter_path = "alert-webhook-dead-letter.jsonl";
  map.not_supported("batch", "webhook notifications send one alert per request");
  read_delivery(map, webhook.delivery);
  webhook.delivery.batch_records = 1;
  map.finish();
}

void ConfigLoader::read_email(const ConfigNode& value) {
  MapReader map(reader_, value, "a map with to");
  if (!map.is_map()) return;
  EmailConfig& email = config_.alerts.email;
  if (auto smtp = map.optional("smtp")) {
    if (auto url = read_url(*smtp, {"smtp", "smtps"})) email.smtp = *url;
  }
  // An address without the characters that would break the SMTP envelope or the headers.
  const auto read_address = [&](const ConfigNode& node) -> std::optional<std::string> {
    auto text = reader_.text(node, "a mail address such as alerts@example.com");
    if (!text) return std::nullopt;
    const std::size_t at = text->find('@');
    if (at == std::string::npos || at == 0 || at + 1 == text->size() ||
        text->find_first_of(" \t\r\n<>,;\"") != std::string::npos) {
      reader_.report(node, "expected a mail address such as alerts@example.com, got " +
                               ConfigReader::describe(node.node));
      return std::nullopt;
    }
    return text;
  };
  if (auto from = map.optional("from")) {
    if (auto address = read_address(*from)) email.from = *address;
  }
  if (auto to = map.required("to", "the addresses alerts are mailed to")) {
    std::vector<ConfigNode> items;
    if (to->node.IsScalar()) {
      items.push_back(*to);
    } else {
      items = reader_.items(*to, "a list of mail addresses");
      if (to->node.IsSequence() && items.empty()) {
        reader_.report(*to, "expected at least one address");
      }
    }
    for (const auto& item : items) {
      if (auto address = read_address(item)) email.to.push_back(*address);
    }
  }
  if (auto start_tls = map.optional("startTls")) {
    if (auto flag = reader_.boolean(*start_tls)) email.start_tls = *flag;
  }
  auto username = map.optional("username");
  auto password = map.optional("password");
  if (username) {
    if (auto text = reader_.text(*username, "a user name")) email.username = *text;
  }
  if (password) {
    if (auto text = reader_.text(*password, "a password")) email.password = *text;
    if (!username) reader_.report(*password, "a password needs a username");
  }
  if (auto timeout = map.optional("timeout")) {
    if (auto wait = reader_.duration(*timeout, 1'000'000)) email.timeout_ns = *wait;
  }
  if (auto tls = map.optional("tls")) read_tls(*tls, email.tls);
  email.delivery.dead_letter_path = "alert-email-dead-letter.jsonl";
  map.not_supported("batch", "email notifications send one alert per mail");
  read_delivery(map, email.delivery);
  email.delivery.batch_records = 1;
  map.finish();
}

void ConfigLoader::read_alert_condition(const ConfigNode& item) {
  MapReader map(reader_, item, "a map with metric, operator and value");
  auto metric = map.required("metric", "a result column such as temperature_max, or a measure");
  auto op = map.required("operator", "one of: " + names_text(kAlertOperators));
  auto value = map.required("value", "the number to compare with");
  auto window = map.optional("window");
  map.finish();
  if (!map.is_map()) return;
  AlertCondition condition;
  condition.where = item.where;
  std::optional<std::string> metric_name;
  std::optional<FilterOperator> op_value;
  std::optional<double> number;
  std::optional<std::string> window_name;
  if (metric) metric_name = read_name(*metric);
  if (op) op_value = reader_.choice(*op, "operator", kAlertOperators);
  if (value) {
    number = ConfigReader::as_number(value->node);
    if (!number) {
      reader_.report(*value, "expected a number, got " + ConfigReader::describe(value->node));
    }
  }
  if (window) window_name = read_name(*window);
  if (!metric_name || !op_value || !number || (window && !window_name)) return;
  condition.metric = *metric_name;
  condition.op = *op_value;
  condition.value = *number;
  if (window_name) condition.window = *window_name;
  if (windows_complete_ && scope_.known) check_alert(condition, *metric, *op, window);
  config_.alerts.conditions.push_back(std::move(condition));
}

void ConfigLoader::check_alert(const AlertCondition& condition, const ConfigNode& metric,
                               const ConfigNode& op, const std::optional<ConfigNode>& window) {
  std::vector<const WindowConfig*> matched;
  std::optional<std::int64_t> size_ns;
  for (const auto& candidate : config_.windows) {
    if (!window || candidate.name == condition.window) matched.push_back(&candidate);
  }
  if (window && matched.empty()) {
    size_ns = parse_duration_ns(condition.window);
    for (const auto& candidate : config_.windows) {
      if (size_ns && candidate.type != WindowType::session && candidate.size_ns == *size_ns) {
        matched.push_back(&candidate);
      }
    }
  }
  if (matched.empty()) {
    std::vector<std::string> names;
    std::vector<std::string> described;
    for (const auto& candidate : config_.windows) {
      names.push_back(candidate.name);
      described.push_back(window_text(candidate));
    }
    std::string message = "no window is named '" + condition.window + "'";
    message += size_ns ? " or has size " + condition.window : did_you_mean(condition.window, names);
    reader_.report(*window, message + "; windows: " + join_names(described));
    return;
  }

  std::vector<std::string> measures;
  std::vector<std::string> columns = {"count"};
  for (const WindowConfig* candidate : matched) {
    for (const auto& measure : candidate->measures) {
      add_once(measures, measure);
      for (const auto& result : candidate->metrics) add_once(columns, measure + "_" + result.name);
    }
  }
  if (contains(columns, condition.metric)) return;
  if (contains(measures, condition.metric)) {
    if (condition.op == FilterOperator::eq || condition.op == FilterOperator::ne) {
      reader_.report(op, "operator '" + op.node.Scalar() + "' needs a result column such as '" +
                             condition.metric +
                             "_max'; a bare measure compares the window's "
                             "max (gt, ge) or min (lt, le)");
    }
    return;
  }
  std::string scope = "any window";
  if (matched.size() == 1) {
    scope = "window '" + matched.front()->name + "'";
  } else if (window) {
    scope = "the windows of size " + condition.window;
  }
  std::vector<std::string> candidates = measures;
  candidates.insert(candidates.end(), columns.begin(), columns.end());
  reader_.report(metric, "'" + condition.metric + "' is neither a measure nor a result column of " +
                             scope + did_you_mean(condition.metric, candidates) + "; measures: " +
                             join_names(measures) + "; columns: " + join_names(columns));
}

// ---------------------------------------------------------------------------------------------
// Values

// ---------------------------------------------------------------------------------------------
// Events

/// Appends a YAML value as JSON: plain scalars that read as booleans, numbers or null as those,
/// every other scalar as a string.
void append_yaml_as_json(std::string& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const auto& item : node) {
        if (!first) out += ',';
        first = false;
        append_yaml_as_json(out, item);
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& pair : node) {
        if (!first) out += ',';
        first = false;
        append_json_string(out,
                           pair.first.IsScalar() ? pair.first.Scalar() : YAML::Dump(pair.first));
        out += ':';
        append_yaml_as_json(out, pair.second);
      }
      out += '}';
      return;
    }
    case YAML::NodeType::Scalar:
      if (ConfigReader::is_plain(node)) {
        if (auto flag = ConfigReader::as_boolean(node)) {
          out += *flag ? "true" : "false";
          return;
        }
        if (auto number = ConfigReader::as_number(node)) {
          append_json_number(out, *number);
          return;
        }
      }
      append_json_string(out, node.Scalar());
      return;
    default:
      out += "null";
      return;
  }
}

void ConfigLoader::read_handlers(const ConfigNode& value) {
  MapReader map(reader_, value, "a map of handler names to {plugin, config}");
  if (!map.is_map()) return;
  for (const auto& pair : value.node) {
    if (!pair.first.IsScalar()) continue;  // reported by the MapReader
    const std::string name = pair.first.Scalar();
    auto entry = map.optional(name);
    if (!entry || std::any_of(config_.handlers.begin(), config_.handlers.end(),
                              [&](const HandlerConfig& other) { return other.name == name; })) {
      continue;  // a duplicate, reported by the MapReader
    }
    if (std::any_of(kEventActions.begin(), kEventActions.end(),
                    [&](const auto& action) { return action.first == name; })) {
      reader_.report(*entry, "'" + name + "' is a built-in action; give the handler another name");
      continue;
    }
    MapReader handler_map(reader_, *entry, "a map with plugin and config");
    if (!handler_map.is_map()) continue;
    auto plugin = handler_map.required("plugin", "the path of the handler's shared library");
    auto settings = handler_map.optional("config");
    handler_map.finish();
    HandlerConfig handler;
    handler.name = name;
    handler.where = entry->where;
    if (plugin) {
      handler.where = plugin->where;
      if (auto path = read_path(*plugin)) {
        std::error_code error;
        if (std::filesystem::is_regular_file(*path, error)) {
          handler.plugin = *path;
        } else {
          reader_.report(*plugin, "no plugin file '" + *path + "'");
        }
      }
    }
    if (settings) {
      append_yaml_as_json(handler.config_json, settings->node);
    } else {
      handler.config_json = "{}";
    }
    config_.handlers.push_back(std::move(handler));
  }
  map.finish();
}

void ConfigLoader::read_events(const ConfigNode& value) {
  EventsConfig& events = config_.events;
  events.where = value.where;
  MapReader map(reader_, value, "a map with types and routing");
  if (!map.is_map()) return;
  auto types = map.required("types", "a list of event types {name, priority, schema}");
  auto schemas = map.optional("schemas");
  auto type_field = map.optional("typeField");
  auto routing = map.required("routing", "a map with rules");
  auto processing = map.optional("processing");
  auto retry = map.optional("retry");
  auto auto_ack = map.optional("autoAck");
  auto log = map.optional("log");
  auto dead_letter = map.optional("deadLetter");
  auto drain_timeout = map.optional("drainTimeout");
  map.finish();
  if (types) read_event_types(*types, schemas);
  if (type_field) {
    std::optional<std::string> name;
    const FieldScope::Entry* entry = reference(*type_field, "typeField", name);
    if (entry != nullptr && entry->type && *entry->type != DataType::string) {
      reader_.report(*type_field, "expected a string field naming each row's event type; '" +
                                      entry->name + "' is " + std::string(to_string(*entry->type)));
    } else if (name) {
      events.type_field = *name;
    }
  }
  if (processing) read_event_processing(*processing);
  if (retry) read_event_retry(*retry);
  if (auto_ack) {
    if (auto flag = reader_.boolean(*auto_ack)) events.auto_ack = *flag;
  }
  if (log) {
    if (auto path = read_path(*log)) events.log_path = *path;
  }
  if (dead_letter) {
    if (auto path = read_path(*dead_letter)) events.dead_letter_path = *path;
  }
  if (drain_timeout) {
    if (auto wait = reader_.duration(*drain_timeout)) events.drain_timeout_ns = *wait;
  }
  if (!routing) return;
  MapReader routing_map(reader_, *routing, "a map with rules");
  auto rules = routing_map.required("rules", "a list of rules {event, condition, action}");
  routing_map.finish();
  if (!rules) return;
  auto items = reader_.items(*rules, "a list of rules");
  if (rules->node.IsSequence() && items.empty()) {
    reader_.report(*rules, "expected at least one rule");
  }
  for (const auto& item : items) read_event_rule(item);
}

void ConfigLoader::read_event_types(const ConfigNode& value,
                                    const std::optional<ConfigNode>& schemas) {
  // Named schemas first: types refer to them by name (the product description's
  // `schema: temperatureSchema`). A schema that could not be read is kept, empty, so that
  // types naming it are not reported a second time.
  std::vector<std::pair<std::string, std::vector<std::string>>> named;
  if (schemas) {
    MapReader schema_map(reader_, *schemas, "a map of schema names to lists of fields");
    for (const auto& pair : schema_map.is_map() ? schemas->node : YAML::Node()) {
      if (!pair.first.IsScalar()) continue;  // reported by the MapReader
      auto entry = schema_map.optional(pair.first.Scalar());
      if (!entry) continue;
      named.emplace_back(pair.first.Scalar(),
                         read_event_fields(*entry).value_or(std::vector<std::string>()));
    }
    schema_map.finish();
  }
  auto items = reader_.items(value, "a list of event types");
  if (value.node.IsSequence() && items.empty()) {
    reader_.report(value, "expected at least one event type");
  }
  NamedNodes names;
  for (const auto& item : items) {
    MapReader map(reader_, item, "a map with name, priority and schema");
    auto name = map.required("name", "the event type's name");
    auto priority = map.optional("priority");
    auto schema = map.optional("schema");
    map.finish();
    if (!map.is_map()) continue;
    EventTypeConfig type;
    type.where = item.where;
    if (name) {
      if (auto text = read_name(*name)) {
        type.name = *text;
        names.emplace_back(*text, *name);
      }
    }
    if (priority) {
      if (auto chosen = reader_.choice(*priority, "priority", kEventPriorities)) {
        type.priority = *chosen;
      }
    }
    if (schema && schema->node.IsScalar()) {
      const std::string& wanted = schema->node.Scalar();
      auto found = std::find_if(named.begin(), named.end(),
                                [&](const auto& entry) { return entry.first == wanted; });
      if (found != named.end()) {
        type.fields = found->second;
      } else {
        std::vector<std::string> candidates;
        for (const auto& entry : named) candidates.push_back(entry.first);
        reader_.report(*schema,
                       "no schema named '" + wanted + "' under events.schemas" +
                           did_you_mean(wanted, candidates) +
                           (candidates.empty() ? "; give a list of fields, or define it there"
                                               : "; schemas: " + join_names(candidates)));
      }
    } else if (schema) {
      if (auto fields = read_event_fields(*schema)) type.fields = std::move(*fields);
    }
    config_.events.types.push_back(std::move(type));
  }
  check_unique(names, "event type");
}

std::optional<std::vector<std::string>> ConfigLoader::read_event_fields(const ConfigNode& value) {
  auto items =
      reader_.items(value, "a list of fields, or the name of a schema under events.schemas");
  if (!value.node.IsSequence()) return std::nullopt;
  if (items.empty()) {
    reader_.report(value, "expected at least one field");
    return std::nullopt;
  }
  std::vector<std::string> fields;
  NamedNodes names;
  bool complete = true;
  for (const auto& item : items) {
    auto name = reader_.text(item, "a field name");
    if (!name) {
      complete = false;
      continue;
    }
    if (scope_.known && scope_.find(*name) == nullptr) {
      const std::vector<std::string> known = scope_.names();
      reader_.report(item, "unknown field '" + *name + "'" + did_you_mean(*name, known) +
                               "; fields leaving the pipeline: " + join_names(known));
      complete = false;
      continue;
    }
    fields.push_back(*name);
    names.emplace_back(*name, item);
  }
  check_unique(names, "field");
  if (!complete) return std::nullopt;
  return fields;
}

void ConfigLoader::read_event_processing(const ConfigNode& value) {
  EventsConfig& events = config_.events;
  MapReader map(reader_, value, "a map with parallel, maxWorkers and queueSize");
  if (!map.is_map()) return;
  auto parallel = map.optional("parallel");
  auto max_workers = map.optional("maxWorkers");
  auto queue_size = map.optional("queueSize");
  auto overflow = map.optional("overflow");
  auto weights = map.optional("weights");
  map.finish();
  bool in_parallel = true;
  if (parallel) {
    if (auto flag = reader_.boolean(*parallel)) in_parallel = *flag;
  }
  if (max_workers) {
    if (auto count = reader_.integer(*max_workers, 1, kMaxEventWorkers)) {
      events.workers = static_cast<std::uint32_t>(*count);
    }
    if (!in_parallel) {
      reader_.report(*max_workers,
                     "with parallel: false one worker handles the events in turn; remove "
                     "maxWorkers or set parallel: true");
    }
  }
  if (!in_parallel) events.workers = 1;
  if (queue_size) {
    if (auto count = reader_.integer(*queue_size, 1, 100'000'000)) {
      events.queue_size = static_cast<std::uint64_t>(*count);
    }
  }
  if (overflow) {
    static const Names<bool> kEventOverflow = {{"deadLetter", false}, {"block", true}};
    if (auto block = reader_.choice(*overflow, "overflow policy", kEventOverflow)) {
      events.block_on_overflow = *block;
    }
  }
  if (!weights) return;
  MapReader weight_map(reader_, *weights, "a map with high, medium and low");
  if (!weight_map.is_map()) return;
  for (const auto& [name, priority] : kEventPriorities) {
    if (auto weight = weight_map.optional(name)) {
      if (auto count = reader_.integer(*weight, 1, 1000)) {
        events.weights[static_cast<std::size_t>(priority)] = static_cast<std::uint32_t>(*count);
      }
    }
  }
  weight_map.finish();
}

void ConfigLoader::read_event_retry(const ConfigNode& value) {
  EventsConfig& events = config_.events;
  MapReader map(reader_, value, "a map with enabled and maxAttempts");
  if (!map.is_map()) return;
  auto enabled = map.optional("enabled");
  auto attempts = map.optional("maxAttempts");
  auto initial = map.optional("initialDelay");
  auto maximum = map.optional("maxDelay");
  auto jitter = map.optional("jitter");
  map.finish();
  bool on = true;
  if (enabled) {
    if (auto flag = reader_.boolean(*enabled)) on = *flag;
  }
  if (attempts) {
    if (auto count = reader_.integer(*attempts, 1, 1'000'000)) {
      events.max_attempts = static_cast<std::uint32_t>(*count);
    }
  }
  if (initial) {
    if (auto wait = reader_.duration(*initial, 1'000'000)) events.initial_backoff_ns = *wait;
  }
  if (maximum) {
    if (auto wait = reader_.duration(*maximum, 1'000'000)) events.max_backoff_ns = *wait;
    if (events.max_backoff_ns < events.initial_backoff_ns) {
      reader_.report(*maximum, "expected at least initialDelay");
    }
  }
  if (jitter) {
    if (auto share = reader_.number(*jitter, 0, 1)) events.jitter = *share;
  }
  if (on) return;
  events.max_attempts = 1;
  for (const auto& node : {attempts, initial, maximum, jitter}) {
    if (node) {
      reader_.report(*node,
                     "retries are off (enabled: false), so this would be unused; remove it or "
                     "set enabled: true");
    }
  }
}

void ConfigLoader::read_event_rule(const ConfigNode& item) {
  MapReader map(reader_, item, "a map with event, condition and action");
  if (!map.is_map()) return;
  auto event = map.required("event", "the name of one of events.types");
  auto condition = map.optional("condition");
  auto action = map.optional("action");
  auto message = map.optional("message");
  auto url = map.optional("url");
  auto timeout = map.optional("timeout");
  auto topic = map.optional("topic");
  auto brokers = map.optional("brokers");
  map.finish();
  EventRuleConfig rule;
  rule.where = item.where;
  const auto& types = config_.events.types;
  if (event) {
    if (auto name = read_name(*event)) {
      rule.event = *name;
      const bool known = std::any_of(types.begin(), types.end(), [&](const EventTypeConfig& type) {
        return type.name == *name;
      });
      if (!known && !types.empty()) {
        std::vector<std::string> candidates;
        for (const auto& type : types) candidates.push_back(type.name);
        reader_.report(*event, "unknown event type '" + *name + "'" +
                                   did_you_mean(*name, candidates) +
                                   "; event types: " + join_names(candidates));
      }
    }
  }
  if (condition) {
    if (auto text = read_expression(*condition)) {
      rule.condition = *text;
      rule.condition_where = reader_.text_location(condition->node);
    }
  }
  if (message) {
    if (auto text = reader_.text(*message, "a text with {field} placeholders")) {
      rule.message = *text;
      rule.message_where = reader_.text_location(message->node);
    }
  }
  // The action: a built-in one or a handler; without one, the handler named like the event
  // type (the product description keys its handlers by event type).
  std::optional<std::string> action_name = rule.event;
  if (action) action_name = read_name(*action);
  if (!action_name || action_name->empty()) return;
  bool resolved = false;
  for (const auto& [name, kind] : kEventActions) {
    if (name != *action_name) continue;
    rule.action = kind;
    resolved = true;
  }
  for (std::size_t i = 0; i < config_.handlers.size() && !resolved; ++i) {
    if (config_.handlers[i].name != *action_name) continue;
    rule.action = EventAction::handler;
    rule.handler = *action_name;
    handlers_used_.resize(config_.handlers.size());
    handlers_used_[i] = true;
    resolved = true;
  }
  if (!resolved) {
    std::vector<std::string> candidates;
    for (const auto& entry : kEventActions) candidates.push_back(entry.first);
    for (const auto& handler : config_.handlers) candidates.push_back(handler.name);
    const std::string expected = "notify, log, webhook, kafka, or a handler named under handlers";
    if (action) {
      reader_.report(*action, "unknown action '" + *action_name + "'" +
                                  did_you_mean(*action_name, candidates) + "; expected " +
                                  expected);
    } else {
      map.report_missing("action", expected + "; without it the handler named '" + rule.event +
                                       "' is used, and there is none");
    }
    return;
  }
  // Keys that only one action takes.
  const auto only_for = [&](const std::optional<ConfigNode>& node, EventAction owner,
                            std::string_view owner_name) {
    if (node && rule.action != owner) {
      reader_.report(*node, "only action " + std::string(owner_name) + " takes this key");
    }
  };
  only_for(url, EventAction::webhook, "webhook");
  only_for(timeout, EventAction::webhook, "webhook");
  only_for(topic, EventAction::kafka, "kafka");
  only_for(brokers, EventAction::kafka, "kafka");
  if (rule.action == EventAction::webhook) {
    if (!url) {
      map.report_missing("url", "the http:// or https:// URL events are POSTed to");
    } else if (auto text = read_url(*url, {"http", "https"})) {
      rule.webhook.url = *text;
    }
    if (timeout) {
      if (auto wait = reader_.duration(*timeout, 1'000'000)) rule.webhook.timeout_ns = *wait;
    }
  }
  if (rule.action == EventAction::kafka) {
    rule.kafka.where = item.where;
    if (!topic) {
      map.report_missing("topic", "the topic events are produced to");
    } else if (auto name = read_topic(*topic)) {
      if (name->front() == '^') {
        reader_.report(*topic, "expected a topic name; a pattern cannot be produced to");
      } else {
        rule.kafka.topic = *name;
      }
    }
    if (brokers) {
      KafkaSourceConfig read;
      read_kafka_brokers(*brokers, read);
      rule.kafka.brokers = std::move(read.brokers);
    } else {
      // The brokers (and properties) of the first Kafka destination.
      auto destination =
          std::find_if(config_.destinations.begin(), config_.destinations.end(),
                       [](const SinkConfig& sink) { return sink.type == SinkType::kafka; });
      if (destination == config_.destinations.end()) {
        map.report_missing("brokers",
                           "a list of host:port; without it the brokers of the first kafka "
                           "destination are used, and there is none");
      } else {
        rule.kafka.brokers = destination->kafka.brokers;
        rule.kafka.properties = destination->kafka.properties;
      }
    }
  }
  if (rule.action == EventAction::notify && config_.alerts.notifications.empty()) {
    reader_.report(action ? *action : item,
                   "action notify sends through output.alerts.notifications, which lists no "
                   "channel; add output.alerts: {notifications: [webhook], webhook: {url: ...}}");
  }
  config_.events.rules.push_back(std::move(rule));
}

void ConfigLoader::check_event_references() {
  handlers_used_.resize(config_.handlers.size());
  for (std::size_t i = 0; i < config_.handlers.size(); ++i) {
    if (handlers_used_[i]) continue;
    reader_.report(config_.handlers[i].where,
                   "handlers." + config_.handlers[i].name +
                       ": no event rule uses this handler; name it in a rule's action "
                       "(events.routing.rules)");
  }
  if (!alerts_without_conditions_) return;
  const auto& rules = config_.events.rules;
  const bool notified = std::any_of(rules.begin(), rules.end(), [](const EventRuleConfig& rule) {
    return rule.action == EventAction::notify;
  });
  if (!notified) {
    reader_.report(*alerts_without_conditions_,
                   "missing required key 'conditions' (a list of {metric, operator, value, "
                   "window}; it may be left out only when an event rule's action is notify)");
  }
}

std::optional<std::string> ConfigLoader::read_path(const ConfigNode& value) {
  auto text = reader_.text(value, "a file path");
  if (!text) return std::nullopt;
  if (text->empty()) {
    reader_.report(value, "expected a file path, got the string ''");
    return std::nullopt;
  }
  std::filesystem::path path(*text);
  if (path.is_absolute()) return path.lexically_normal().string();
  return (folder_ / path).lexically_normal().string();
}

std::optional<std::string> ConfigLoader::read_name(const ConfigNode& value) {
  auto text = reader_.text(value, "a name");
  if (text && text->empty()) {
    reader_.report(value, "expected a name, got the string ''");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> ConfigLoader::read_field_name(const ConfigNode& value) {
  auto text = reader_.text(value, "a field name");
  if (!text) return std::nullopt;
  if (!is_identifier(*text)) {
    reader_.report(value,
                   "expected a field name of letters, digits and '_' that does not start "
                   "with a digit, got " +
                       ConfigReader::describe(value.node));
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> ConfigLoader::read_expression(const ConfigNode& value) {
  auto text = reader_.text(value, "an expression");
  if (text && text->find_first_not_of(" \t\r\n") == std::string::npos) {
    reader_.report(value, "expected an expression, got " + ConfigReader::describe(value.node));
    return std::nullopt;
  }
  return text;
}

std::optional<Literal> ConfigLoader::read_literal(const ConfigNode& value,
                                                  std::optional<DataType> type,
                                                  const std::string& context) {
  const std::string because = context.empty() ? "" : " (" + context + ")";
  if (!value.node.IsScalar()) {
    reader_.report(value, "expected a number, text or true/false" + because + ", got " +
                              ConfigReader::describe(value.node));
    return std::nullopt;
  }
  const std::string& text = value.node.Scalar();
  const auto number = ConfigReader::as_number(value.node);
  const auto flag = ConfigReader::as_boolean(value.node);
  if (!type) {
    if (flag) return Literal(*flag);
    if (number) return Literal(*number);
    return Literal(text);
  }
  switch (*type) {
    case DataType::string:
      return Literal(text);
    case DataType::boolean:
      if (flag) return Literal(*flag);
      reader_.report(value, "expected true or false" + because + ", got " +
                                ConfigReader::describe(value.node));
      return std::nullopt;
    case DataType::timestamp:
      if (number) return Literal(*number);
      if (parse_iso8601(text)) return Literal(text);
      reader_.report(value, "expected milliseconds since the epoch or ISO-8601 text" + because +
                                ", got " + ConfigReader::describe(value.node));
      return std::nullopt;
    case DataType::int32:
    case DataType::int64:
    case DataType::float32:
    case DataType::float64:
      if (number) return Literal(*number);
      reader_.report(value,
                     "expected a number" + because + ", got " + ConfigReader::describe(value.node));
      return std::nullopt;
  }
  return std::nullopt;
}

const FieldScope::Entry* ConfigLoader::reference(const ConfigNode& value, std::string_view what,
                                                 std::optional<std::string>& name) {
  name = reader_.text(value, "a field name");
  if (!name || !scope_.known) return nullptr;
  const FieldScope::Entry* entry = scope_.find(*name);
  if (entry != nullptr) return entry;
  const std::vector<std::string> names = scope_.names();
  reader_.report(value, std::string(what) + " on unknown field '" + *name + "'" +
                            did_you_mean(*name, names) + "; fields here: " + join_names(names));
  return nullptr;
}

void ConfigLoader::check_unique(const std::vector<std::pair<std::string, ConfigNode>>& names,
                                std::string_view what) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (names[j].first != names[i].first) continue;
      reader_.report(names[i].second, "duplicate " + std::string(what) + " '" + names[i].first +
                                          "' (first at " + where_text(names[j].second.where) + ")");
      break;
    }
  }
}

}  // namespace

std::optional<std::int64_t> parse_duration_ns(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  std::int64_t count = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + digits, count);
  if (error != std::errc() || end != text.data() + digits) return std::nullopt;
  static constexpr std::pair<std::string_view, std::int64_t> kUnits[] = {{"ns", 1},
                                                                         {"us", 1'000},
                                                                         {"ms", 1'000'000},
                                                                         {"s", 1'000'000'000},
                                                                         {"m", 60'000'000'000},
                                                                         {"h", 3'600'000'000'000},
                                                                         {"d", 86'400'000'000'000}};
  const std::string_view unit = text.substr(digits);
  for (const auto& [name, nanoseconds] : kUnits) {
    if (unit != name) continue;
    if (count > kMaxInt64 / nanoseconds) return std::nullopt;
    return count * nanoseconds;
  }
  return std::nullopt;
}

Config parse_config(const std::string& text, const std::string& path) {
  ConfigReader reader(path, text);
  Config config;
  config.path = path;
  if (auto root = reader.parse()) {
    ConfigLoader loader(reader, std::filesystem::path(path).parent_path());
    config = loader.load(*root);
  }
  if (reader.diagnostics().empty()) return config;
  std::vector<ConfigDiagnostic> diagnostics = reader.diagnostics();
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const ConfigDiagnostic& a, const ConfigDiagnostic& b) {
                     return std::pair(a.where.line, a.where.column) <
                            std::pair(b.where.line, b.where.column);
                   });
  throw ConfigError(std::move(diagnostics));
}

std::optional<WebSocketEndpoint> parse_websocket_endpoint(const std::string& text,
                                                          std::string& error) {
  WebSocketEndpoint endpoint;
  std::string_view rest = text;
  if (rest.starts_with("ws://")) {
    rest.remove_prefix(5);
  } else if (rest.starts_with("wss://")) {
    endpoint.secure = true;
    rest.remove_prefix(6);
  } else {
    error = "expected a ws:// or wss:// URL";
    return std::nullopt;
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  endpoint.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty()) {
    error = "the URL has no host";
    return std::nullopt;
  }
  std::string_view port;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "an IPv6 host misses its ']'";
      return std::nullopt;
    }
    endpoint.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        error = "expected ':' and a port after the IPv6 host";
        return std::nullopt;
      }
      port = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (endpoint.host.empty()) {
    error = "the URL has no host";
    return std::nullopt;
  }
  if (port.empty()) {
    endpoint.port = endpoint.secure ? "443" : "80";
  } else {
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535) {
        error = "the port is not a number from 1 to 65535";
        return std::nullopt;
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) {
      error = "the port is not a number from 1 to 65535";
      return std::nullopt;
    }
    endpoint.port = std::string(port);
  }
  return endpoint;
}

Config load_config(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    throw UserError("cannot open configuration file '" + path + "': " + std::strerror(errno));
  }
  std::string text;
  char buffer[1 << 16];
  std::size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, count);
  const int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    throw UserError("cannot read configuration file '" + path + "': " + std::strerror(error));
  }
  return parse_config(text, path);
}

}  // namespace ldh
