#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "pipeline/error.h"
#include "pipeline/schema.h"
#include "pipeline/types.h"

namespace ldh {

/// A constant from the configuration: a number, a string or a boolean.
using Literal = std::variant<double, std::string, bool>;

enum class SourceType : std::uint8_t { file, generator, udp, kafka, dpdk, websocket };

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

/// Receives datagrams on a UDP port (`type: udp`); see docs/sources.md.
struct UdpSourceConfig {
  /// Numeric IPv4 or IPv6 address to listen on; loopback unless asked otherwise.
  std::string bind = "127.0.0.1";
  /// 0 takes a free port (UdpSource::port() tells which).
  std::uint16_t port = 0;
  /// Sockets sharing the port through SO_REUSEPORT, one receive thread each.
  std::uint32_t threads = 1;
  /// SO_RCVBUF request in bytes; 0 keeps the system default.
  std::uint64_t receive_buffer = 0;
  /// Hands a partial chunk on at most this long after its first datagram arrived; unset takes
  /// SourceOptions::max_batch_latency_ns.
  std::optional<std::int64_t> max_batch_latency_ns;
  /// Ends the source once this many records have arrived; 0 = no limit.
  std::uint64_t events = 0;
  /// Ends the source after this long without a datagram; 0 = never.
  std::int64_t end_after_idle_ns = 0;
};

/// One librdkafka property of a Kafka source (`config.properties`), passed through as text.
struct KafkaProperty {
  std::string key;
  std::string value;
  /// The key's dotted path and position, for errors librdkafka reports about the property.
  std::string path;
  SourceLocation where;
};

/// Consumes topics as a member of a consumer group (`type: kafka`); see docs/sources.md.
struct KafkaSourceConfig {
  /// host:port of the bootstrap brokers (`config.brokers`).
  std::vector<std::string> brokers;
  /// `topic` or `topics`; a name starting with ^ is a regular expression.
  std::vector<std::string> topics;
  /// The consumer group's id (`config.group`).
  std::string group;
  /// `config.autoCommit`: librdkafka commits acknowledged offsets on its own timer instead of
  /// ldh committing them at each acknowledgement; at-least-once either way.
  bool auto_commit = false;
  std::vector<KafkaProperty> properties;
  /// Ends the source once this many records have arrived; 0 = no limit.
  std::uint64_t events = 0;
  /// Ends the source after this long without a message, once one arrived; 0 = never.
  std::int64_t end_after_idle_ns = 0;
  /// Where `config` is, for errors found when the consumer is created.
  SourceLocation where;
};

/// Receives UDP/IPv4 datagrams through a DPDK port (`type: dpdk`); see docs/dpdk.md.
struct DpdkSourceConfig {
  /// EAL arguments, without the program name. The EAL starts once per process, so every dpdk
  /// source of a run must give the same list.
  std::vector<std::string> eal;
  std::uint16_t port = 0;
  /// RX queues, one polling thread each; traffic is spread over them by RSS where the port
  /// supports it.
  std::uint32_t queues = 1;
  std::uint32_t rx_descriptors = 1024;
  /// Packets taken per rte_eth_rx_burst call.
  std::uint32_t burst = 32;
  /// Mbufs in the port's pool; 0 sizes it from queues, descriptors and burst.
  std::uint32_t mempool = 0;
  /// Chunk buffers per queue, allocated once (pinned when a CUDA device is usable).
  std::uint32_t buffers = 8;
  std::uint64_t buffer_bytes = 4u << 20;
  /// CPU of each queue's polling thread; empty leaves the threads unpinned.
  std::vector<std::uint32_t> cores;
  /// Sleep after an empty poll; 0 polls without pause (a dedicated core).
  std::int64_t idle_sleep_ns = 10'000;
  bool promiscuous = false;
  /// Takes only datagrams sent to this UDP port (`udpPort`); 0 takes any.
  std::uint16_t udp_port = 0;
  /// Hands a partial chunk on at most this long after its first datagram arrived; unset takes
  /// SourceOptions::max_batch_latency_ns.
  std::optional<std::int64_t> max_batch_latency_ns;
  /// Ends the source once this many records have arrived; 0 = no limit.
  std::uint64_t events = 0;
  /// Ends the source after this long without a packet; 0 = never.
  std::int64_t end_after_idle_ns = 0;
};

/// A source's `throttle`: a token bucket of `rate` events/s holding up to `burst` events
/// (default: one second's worth). rate 0: unthrottled.
struct ThrottleConfig {
  double rate = 0;
  double burst = 0;
};

/// Where a `ws://` or `wss://` endpoint points.
struct WebSocketEndpoint {
  bool secure = false;
  std::string host;
  std::string port;
  std::string target;  // path and query, "/" at least
};

/// Splits `ws://host[:port][/path]` or `wss://...`; nullopt (with `error` set) when it is not
/// one. IPv6 hosts go in brackets.
std::optional<WebSocketEndpoint> parse_websocket_endpoint(const std::string& text,
                                                          std::string& error);

/// Reads a WebSocket feed (`type: websocket`); see docs/sources.md.
struct WebSocketSourceConfig {
  std::string endpoint;  // ws://host:port/path or wss://...
  std::string protocol;  // the subprotocol asked for (Sec-WebSocket-Protocol); empty: none
  std::int64_t ping_interval_ns = 10'000'000'000;
  std::int64_t connect_timeout_ns = 5'000'000'000;
  std::int64_t reconnect_initial_ns = 100'000'000;
  std::int64_t reconnect_max_ns = 10'000'000'000;
  double reconnect_jitter = 0.2;  // each wait is scaled by a random factor in [1 - j, 1 + j]
  /// JSON records carry this integer field, incremented by the server per record: gaps count
  /// as lost. Empty: no loss accounting beyond disconnects.
  std::string sequence_field;
  bool verify_peer = true;  // wss: check the server's certificate and name
  std::string ca_file;      // wss: trusted CAs (PEM); empty: the system's
  std::uint64_t max_message_bytes = 16u << 20;
  std::uint64_t events = 0;            // ends after this many records; 0: never
  std::int64_t end_after_idle_ns = 0;  // ends after this long without a message; 0: never
};

/// One entry of `input.sources`.
struct SourceConfig {
  std::string name;
  SourceType type = SourceType::generator;
  ThrottleConfig throttle;
  /// The source's own wire format; defaults to `input.format.type`.
  Format format = Format::json;
  FileSourceConfig file;
  GeneratorConfig generator;
  UdpSourceConfig udp;
  KafkaSourceConfig kafka;
  DpdkSourceConfig dpdk;
  WebSocketSourceConfig websocket;
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

enum class SinkType : std::uint8_t { stdout_sink, jsonl, websocket, kafka, elasticsearch };

/// One entry of `output.destinations`.
/// How a network destination queues, batches, retries and dead-letters (`delivery`, and the
/// seed's `batch: {size, interval}`); see docs/outputs.md.
struct DeliveryConfig {
  std::uint64_t queue_records = 100'000;
  std::uint64_t queue_bytes = 64ull << 20;
  /// `overflow: block` makes the writer wait for room; the default dead-letters what does not
  /// fit, so a dead peer never stalls the pipeline.
  bool block_on_overflow = false;
  std::uint32_t max_attempts = 5;
  std::int64_t initial_backoff_ns = 100'000'000;
  std::int64_t max_backoff_ns = 10'000'000'000;
  double jitter = 0.2;
  std::size_t batch_records = 1000;
  std::int64_t batch_interval_ns = 1'000'000'000;  // a partial batch goes after this
  std::int64_t drain_timeout_ns = 30'000'000'000;  // at the end of a run
  /// Where what finally fails goes; empty: `<type>-dead-letter.jsonl` in the current folder.
  std::string dead_letter_path;
};

/// How a file destination compresses what it writes (`compression`); see docs/outputs.md.
enum class Compression : std::uint8_t { none, gzip, zstd };

/// Serves results and alerts to WebSocket clients (`type: websocket`); see docs/outputs.md.
struct WebSocketSinkConfig {
  /// The path clients connect to; other paths are answered 404.
  std::string endpoint = "/metrics";
  /// Numeric IPv4 or IPv6 address to listen on; loopback unless asked otherwise.
  std::string bind = "127.0.0.1";
  /// 0 takes a free port (WebSocketSink::port() tells which).
  std::uint16_t port = 8080;
  /// Bearer token clients must send (`Authorization: Bearer ...`); empty: none asked.
  std::string token;
  /// Largest message sent (longer result lines are not sent, but counted) or accepted.
  std::uint64_t max_message_bytes = 1u << 20;
  /// Messages queued per client; a client that falls further behind loses the newest ones.
  std::uint64_t client_queue = 10'000;
  /// Result lines per message, separated by newlines.
  std::uint32_t message_lines = 1;
  /// finish() waits this long for clients to take what is queued for them.
  std::int64_t drain_timeout_ns = 5'000'000'000;
};

/// Produces results to a Kafka topic (`type: kafka`); see docs/outputs.md.
struct KafkaSinkConfig {
  std::vector<std::string> brokers;
  std::string topic;
  /// librdkafka producer properties (`config.properties`), passed through as text.
  std::vector<KafkaProperty> properties;
  /// Each window's group-by fields, by window name (from processing.windows): a result row's
  /// message key is made of their values.
  std::vector<std::pair<std::string, std::vector<std::string>>> key_fields;
  /// Where `config` is, for errors found when the producer is created.
  SourceLocation where;
};

/// How an HTTPS or SMTP client checks its peer (`tls: {verify, caFile}`).
struct TlsConfig {
  bool verify_peer = true;  // check the certificate and the host name
  std::string ca_file;      // trusted CAs (PEM); empty: the system's
};

/// Indexes results through the `_bulk` API (`type: elasticsearch`); see docs/outputs.md.
struct ElasticsearchConfig {
  std::string url = "http://127.0.0.1:9200";
  std::string index = "sensor-metrics";
  /// Basic authentication when `username` is set; `apiKey` sends `Authorization: ApiKey ...`.
  std::string username;
  std::string password;
  std::string api_key;
  std::int64_t timeout_ns = 30'000'000'000;  // one whole bulk request
  std::int64_t connect_timeout_ns = 5'000'000'000;
  TlsConfig tls;
  /// Each window's group-by fields, by window name (from processing.windows): a result row's
  /// document id is made of its window, start, these fields' values and its revision.
  std::vector<std::pair<std::string, std::vector<std::string>>> key_fields;
};

struct SinkConfig {
  SinkType type = SinkType::stdout_sink;
  std::string path;  // jsonl
  /// jsonl: written as a gzip or zstd stream (`compression`, default `output.compression`).
  Compression compression = Compression::none;
  WebSocketSinkConfig websocket;
  KafkaSinkConfig kafka;
  ElasticsearchConfig elasticsearch;
  /// Network destinations: queue, batches, retries and dead letters.
  DeliveryConfig delivery;
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

enum class NotificationChannel : std::uint8_t { email, webhook };

/// `output.alerts.webhook`: alert notifications POSTed as JSON; see docs/outputs.md.
struct WebhookConfig {
  std::string url;
  /// Extra request headers (`headers: {Authorization: "Bearer ..."}`).
  std::vector<std::pair<std::string, std::string>> headers;
  std::int64_t timeout_ns = 10'000'000'000;
  TlsConfig tls;
  /// Queue, retries and dead letters; one alert per request.
  DeliveryConfig delivery;
};

/// `output.alerts.email`: alert notifications mailed through SMTP; see docs/outputs.md.
struct EmailConfig {
  /// smtp://host:port, or smtps://host:port for TLS from the start.
  std::string smtp = "smtp://127.0.0.1:25";
  std::string from = "ldh@localhost";
  std::vector<std::string> to;
  /// Requires STARTTLS on smtp:// (the mail fails rather than going out in the clear).
  bool start_tls = false;
  std::string username;
  std::string password;
  std::int64_t timeout_ns = 30'000'000'000;
  TlsConfig tls;
  /// Queue, retries and dead letters; one alert per mail.
  DeliveryConfig delivery;
};

struct AlertConfig {
  std::vector<AlertCondition> conditions;
  /// Where alert records go (JSON lines); empty = the run's destinations.
  std::string path;
  /// Channels every alert is also notified through (`notifications: [email, webhook]`).
  std::vector<NotificationChannel> notifications;
  /// After a notification for a (condition, key), further alerts for it whose window ends less
  /// than this much later (event time) are held back.
  std::int64_t cooldown_ns = 300'000'000'000;
  WebhookConfig webhook;
  EmailConfig email;
};

/// How urgent an event type is: the event processor serves high before medium before low, by
/// weighted round robin so that none starves (docs/events.md).
enum class EventPriority : std::uint8_t { high, medium, low };

/// One of `events.types`: a kind of event, its priority and the fields it carries.
struct EventTypeConfig {
  std::string name;
  EventPriority priority = EventPriority::medium;
  /// The fields an event of this type carries (`schema`), in order; empty: every field that
  /// leaves the pipeline.
  std::vector<std::string> fields;
  SourceLocation where;
};

/// What a routing rule does with the events it matches (`action`).
enum class EventAction : std::uint8_t { notify, log, webhook, kafka, handler };

/// One of `events.routing.rules`: rows of the rule's event type for which the condition holds
/// become events that the action handles.
struct EventRuleConfig {
  std::string event;      // the event type's name
  std::string condition;  // an expression (docs/expressions.md); empty: every row of the type
  SourceLocation condition_where;
  EventAction action = EventAction::handler;
  std::string handler;  // action handler: a name under `handlers`
  /// The event's text, with {field} placeholders; empty: "<event type>: <condition>".
  std::string message;
  SourceLocation message_where;
  WebhookConfig webhook;  // action webhook: `url`, `timeout`
  KafkaSinkConfig kafka;  // action kafka: `topic`, `brokers`
  SourceLocation where;
};

/// One entry of the top-level `handlers`: an event handler loaded from a plugin
/// (host/ldh_plugin.h).
struct HandlerConfig {
  std::string name;
  std::string plugin;       // the shared library's path
  std::string config_json;  // `config` as JSON text, handed to the plugin's create function
  SourceLocation where;     // of `plugin`, for load errors
};

/// `events`: the event processor (the product description's EventProcessor); see docs/events.md.
struct EventsConfig {
  std::vector<EventTypeConfig> types;
  std::vector<EventRuleConfig> rules;
  /// A string field naming each row's event type (`typeField`); empty: rows have every type,
  /// and the rules' conditions alone decide.
  std::string type_field;
  /// `processing.maxWorkers`; 1 with `processing.parallel: false`.
  std::uint32_t workers = 4;
  /// Events accepted and not yet handled or dead-lettered, at most (`processing.queueSize`).
  std::uint64_t queue_size = 1000;
  /// `processing.overflow: block` makes the pipeline wait for room; the default dead-letters
  /// what does not fit, so a dead peer never stalls the pipeline.
  bool block_on_overflow = false;
  /// Dispatches per round of high, medium and low events (`processing.weights`).
  std::array<std::uint32_t, 3> weights = {4, 2, 1};
  /// Attempts per event (`retry.maxAttempts`; 1 with `retry.enabled: false`).
  std::uint32_t max_attempts = 3;
  std::int64_t initial_backoff_ns = 100'000'000;
  std::int64_t max_backoff_ns = 10'000'000'000;
  double jitter = 0.2;
  /// Source acknowledgements (Kafka commits) wait until the events of what they cover were
  /// handled or dead-lettered (`autoAck`).
  bool auto_ack = true;
  /// Where `action: log` writes (`log`); events that finally fail go to `dead_letter_path`.
  std::string log_path = "events.jsonl";
  std::string dead_letter_path = "events-dead-letter.jsonl";
  std::int64_t drain_timeout_ns = 30'000'000'000;  // at the end of a run
  SourceLocation where;
};

/// The whole configuration file.
enum class OverflowPolicy : std::uint8_t { block, drop, resize };
enum class UnderflowPolicy : std::uint8_t { wait, flush };

/// `input.buffer`: how much each source may have read but not yet written out, and what
/// happens when it reads faster than the pipeline keeps up (the seed's BufferPolicy).
struct BufferConfig {
  OverflowPolicy overflow = OverflowPolicy::block;
  UnderflowPolicy underflow = UnderflowPolicy::wait;
  std::uint64_t max_events = 4'000'000;
  std::uint64_t max_bytes = 256ull << 20;
  /// `resize`: the limits double on overflow up to these, then the source blocks.
  std::uint64_t resize_max_events = 16'000'000;
  std::uint64_t resize_max_bytes = 1ull << 30;
  /// Live sources hand on a partial chunk after this (underflow wait).
  std::int64_t max_latency_ns = 5'000'000;
  SourceLocation where;
};

struct Config {
  std::string path;
  std::vector<SourceConfig> sources;
  BufferConfig buffer;
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
  EventsConfig events;
  /// Event handlers loaded from plugins (`handlers`), by name.
  std::vector<HandlerConfig> handlers;
};

/// Parses a duration: 500ms, 10s, 1m, 24h, 2d, 250us, 100ns (an integer and a unit).
std::optional<std::int64_t> parse_duration_ns(std::string_view text);

/// Loads and checks a YAML or JSON configuration. Throws ConfigError listing every problem with
/// FILE:LINE:COL. Relative paths inside are resolved against the file's folder.
Config load_config(const std::string& path);

/// Parses configuration text as if it came from `path` (for tests and embedded configs).
Config parse_config(const std::string& text, const std::string& path);

}  // namespace ldh
