#include "pipeline/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/config_reader.h"
#include "pipeline/did_you_mean.h"
#include "pipeline/time.h"

namespace ldh {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kDataFolder = std::string(LDH_SOURCE_DIR) + "/tests/data/config/";

std::string data_path(const std::string& name) {
  return kDataFolder + name;
}

std::string listing(const std::vector<ConfigDiagnostic>& diagnostics) {
  std::string text;
  for (const auto& diagnostic : diagnostics) text += diagnostic.to_string() + "\n";
  return text;
}

/// Loads a fixture that must fail and returns its diagnostics.
std::vector<ConfigDiagnostic> errors_of_file(const std::string& name) {
  try {
    load_config(data_path(name));
  } catch (const ConfigError& error) {
    return error.diagnostics();
  }
  ADD_FAILURE() << name << " loaded without a ConfigError";
  return {};
}

/// Parses inline text that must fail (as "inline.yaml") and returns its diagnostics.
std::vector<ConfigDiagnostic> errors_of(const std::string& text) {
  try {
    parse_config(text, "inline.yaml");
  } catch (const ConfigError& error) {
    return error.diagnostics();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << text;
  return {};
}

/// Expects a diagnostic at `where` (FILE:LINE:COL) about `path` whose message contains `text`.
void expect_error(const std::vector<ConfigDiagnostic>& diagnostics, const std::string& where,
                  const std::string& path, const std::string& text) {
  for (const auto& diagnostic : diagnostics) {
    if (diagnostic.where.to_string() != where) continue;
    if (diagnostic.message.rfind(path + ": ", 0) != 0 && !path.empty()) continue;
    if (diagnostic.message.find(text) == std::string::npos) continue;
    return;
  }
  ADD_FAILURE() << "no error at " << where << " for '" << path << "' containing '" << text
                << "'; got:\n"
                << listing(diagnostics);
}

/// Expects some diagnostic (anywhere) about `path` whose message contains `text`.
void expect_message(const std::vector<ConfigDiagnostic>& diagnostics, const std::string& path,
                    const std::string& text) {
  for (const auto& diagnostic : diagnostics) {
    if ((path.empty() || diagnostic.message.rfind(path + ": ", 0) == 0) &&
        diagnostic.message.find(text) != std::string::npos) {
      return;
    }
  }
  ADD_FAILURE() << "no error for '" << path << "' containing '" << text << "'; got:\n"
                << listing(diagnostics);
}

// Lines 1-12 of every inline document: a generator and a five-field schema.
const std::string kInput =
    "input:\n"
    "  sources: [{type: generator}]\n"
    "  format:\n"
    "    type: json\n"
    "    schema:\n"
    "      eventTime: timestamp\n"
    "      fields:\n"
    "        - {name: timestamp, type: timestamp}\n"
    "        - {name: temperature, type: float64}\n"
    "        - {name: humidity, type: float32}\n"
    "        - {name: location, type: string}\n"
    "        - {name: ok, type: bool}\n";
// Lines 13-14; stages start on line 15.
const std::string kHeader = kInput + "processing:\n  pipeline:\n";
const std::string kFooter = "output:\n  destinations: [{type: stdout}]\n";

/// Builds a complete document around `stages` (items of processing.pipeline, indented by 4).
std::string with_pipeline(const std::string& stages) {
  if (stages.empty()) return kInput + kFooter;
  return kHeader + stages + kFooter;
}

/// Builds a one-stage document with one filter rule (a flow map) on line 15.
std::string with_rule(const std::string& rule) {
  return with_pipeline("    - {type: filter, config: {rules: [" + rule + "]}}\n");
}

/// Builds a one-stage document with transform operations (one flow map per line).
std::string with_operations(const std::vector<std::string>& operations) {
  std::string stages = "    - type: transform\n      config:\n        operations:\n";
  for (const auto& operation : operations) stages += "          - " + operation + "\n";
  return with_pipeline(stages);
}

/// Builds a document whose only source is `source`, a flow map starting on line 2, column 13.
std::string with_source(const std::string& source) {
  return "input:\n  sources: [" + source + "]\n" + kInput.substr(kInput.find("  format:")) +
         kFooter;
}

// ---------------------------------------------------------------------------------------------
// Accepted documents

TEST(ConfigTest, FullConfigParsesIntoTheStructs) {
  const std::string path = data_path("good/full.yaml");
  const std::string folder = kDataFolder + "good/";
  const Config config = load_config(path);
  EXPECT_EQ(config.path, path);

  ASSERT_EQ(config.sources.size(), 2u);
  const SourceConfig& feed = config.sources[0];
  EXPECT_EQ(feed.name, "feed");
  EXPECT_EQ(feed.type, SourceType::generator);
  EXPECT_EQ(feed.format, Format::binary);
  EXPECT_EQ(feed.generator.events, 5000u);
  EXPECT_EQ(feed.generator.sensors, 12u);
  EXPECT_EQ(feed.generator.rate, 2500.5);
  EXPECT_EQ(feed.generator.interval_ns, 500'000'000);
  EXPECT_EQ(feed.generator.jitter_ns, 2'000'000'000);
  EXPECT_EQ(feed.generator.bad_share, 0.01);
  EXPECT_EQ(feed.generator.seed, 7u);
  EXPECT_EQ(feed.generator.start_ns, *parse_iso8601("2026-11-29T04:00:00Z"));
  EXPECT_EQ(feed.generator.frame_records, 256u);
  EXPECT_EQ(feed.where.to_string(), path + ":4:7");
  const SourceConfig& replay = config.sources[1];
  EXPECT_EQ(replay.name, "file-1");
  EXPECT_EQ(replay.type, SourceType::file);
  EXPECT_EQ(replay.format, Format::json);
  EXPECT_EQ(replay.file.path, folder + "replay/events.jsonl");
  EXPECT_EQ(replay.file.rate, 100);

  const InputFormatConfig& format = config.format;
  EXPECT_EQ(format.type, Format::json);
  EXPECT_FALSE(format.validation);
  EXPECT_EQ(format.where.to_string(), path + ":20:5");
  const Schema& schema = format.schema;
  EXPECT_EQ(schema.id, 1234u);
  EXPECT_EQ(schema.event_time, 0);
  ASSERT_EQ(schema.fields.size(), 8u);
  EXPECT_EQ(schema.fields[0].name, "timestamp");
  EXPECT_EQ(schema.fields[0].type, DataType::timestamp);
  EXPECT_EQ(schema.fields[0].time_unit, TimeUnit::us);
  EXPECT_EQ(schema.fields[0].proto_number, 1u);
  EXPECT_EQ(schema.fields[1].proto_number, 9u);
  EXPECT_EQ(schema.fields[2].type, DataType::string);
  EXPECT_EQ(schema.fields[2].binary_size, 12u);
  EXPECT_FALSE(schema.fields[3].required);
  EXPECT_EQ(schema.fields[3].binary_size, 16u);
  EXPECT_EQ(schema.fields[3].proto_number, 4u);
  EXPECT_TRUE(schema.fields[4].allow_nan);
  EXPECT_FALSE(schema.fields[5].allow_nan);
  EXPECT_EQ(schema.fields[5].type, DataType::float32);
  EXPECT_EQ(schema.fields[7].type, DataType::boolean);
  EXPECT_EQ(schema.fields[7].where.to_string(), path + ":33:11");
  EXPECT_EQ(config.dead_letter_path, folder + "out/dead.jsonl");

  ASSERT_EQ(config.pipeline.size(), 3u);
  const StageConfig& validation = config.pipeline[0];
  EXPECT_EQ(validation.name, "validation");
  EXPECT_EQ(validation.type, StageType::filter);
  EXPECT_EQ(validation.filter.combine, FilterCombine::any);
  EXPECT_EQ(validation.filter.reject_path, folder + "out/rejects.jsonl");
  const auto& rules = validation.filter.rules;
  ASSERT_EQ(rules.size(), 6u);
  EXPECT_EQ(rules[0].field, "temperature");
  EXPECT_EQ(rules[0].op, FilterOperator::range);
  EXPECT_EQ(rules[0].values, (std::vector<Literal>{-50.0, 150.0}));
  EXPECT_EQ(rules[0].where.to_string(), path + ":43:13");
  EXPECT_EQ(rules[1].op, FilterOperator::in);
  // A plain 12 in a set for a string field is the text "12".
  EXPECT_EQ(rules[1].values,
            (std::vector<Literal>{std::string("lab"), std::string("roof"), std::string("12")}));
  EXPECT_EQ(rules[2].op, FilterOperator::exists);
  EXPECT_TRUE(rules[2].values.empty());
  EXPECT_EQ(rules[3].values, (std::vector<Literal>{true}));
  EXPECT_EQ(rules[4].op, FilterOperator::ge);
  EXPECT_EQ(rules[4].values, (std::vector<Literal>{std::string("2026-01-01T00:00:00Z")}));
  EXPECT_EQ(rules[5].op, FilterOperator::condition);
  EXPECT_EQ(rules[5].condition, "temperature > 100 && humidity < 5");
  EXPECT_EQ(rules[5].where.to_string(), path + ":48:13");
  EXPECT_EQ(rules[5].condition_where.to_string(), path + ":48:25");

  const StageConfig& enrichment = config.pipeline[1];
  EXPECT_EQ(enrichment.type, StageType::transform);
  const auto& operations = enrichment.transform.operations;
  ASSERT_EQ(operations.size(), 8u);
  EXPECT_EQ(operations[0].kind, TransformKind::add_field);
  EXPECT_EQ(operations[0].field, "ingested_at");
  EXPECT_TRUE(operations[0].now);
  EXPECT_FALSE(operations[0].constant);
  EXPECT_EQ(operations[1].constant, Literal(std::string("north")));
  EXPECT_FALSE(operations[1].type);
  EXPECT_EQ(operations[2].expression, "temperature * 2");
  EXPECT_EQ(operations[2].type, DataType::float32);
  EXPECT_EQ(operations[2].expression_where.to_string(), path + ":55:55");
  EXPECT_EQ(operations[3].kind, TransformKind::calculate);
  EXPECT_EQ(operations[3].field, "heat_index");
  EXPECT_EQ(operations[3].expression, "heat_index(temperature, humidity)");
  EXPECT_FALSE(operations[3].type);
  EXPECT_EQ(operations[3].where.to_string(), path + ":56:13");
  EXPECT_EQ(operations[3].expression_where.to_string(), path + ":58:23");
  EXPECT_EQ(operations[4].kind, TransformKind::rename);
  EXPECT_EQ(operations[4].field, "pressure");
  EXPECT_EQ(operations[4].to, "pressure_hpa");
  // `fields: [a, b]` becomes one drop per field, each pointing at its name.
  EXPECT_EQ(operations[5].kind, TransformKind::drop);
  EXPECT_EQ(operations[5].field, "healthy");
  EXPECT_EQ(operations[5].where.to_string(), path + ":60:35");
  EXPECT_EQ(operations[6].field, "f2");
  EXPECT_EQ(operations[6].where.to_string(), path + ":60:44");
  EXPECT_EQ(operations[7].kind, TransformKind::cast);
  EXPECT_EQ(operations[7].type, DataType::int64);

  EXPECT_EQ(config.pipeline[2].name, "");
  EXPECT_EQ(config.pipeline[2].filter.combine, FilterCombine::all);
  EXPECT_EQ(config.pipeline[2].filter.rules.size(), 3u);

  ASSERT_EQ(config.destinations.size(), 2u);
  EXPECT_EQ(config.destinations[0].type, SinkType::stdout_sink);
  EXPECT_EQ(config.destinations[1].type, SinkType::jsonl);
  EXPECT_EQ(config.destinations[1].path, folder + "out/results.jsonl");
  EXPECT_EQ(config.destinations[1].where.to_string(), path + ":71:7");
}

TEST(ConfigTest, JsonConfigIsAccepted) {
  const std::string path = data_path("good/sensors.json");
  const Config config = load_config(path);
  ASSERT_EQ(config.sources.size(), 1u);
  EXPECT_EQ(config.sources[0].name, "sensors");
  EXPECT_EQ(config.sources[0].generator.events, 1000u);
  EXPECT_EQ(config.sources[0].generator.interval_ns, 1'000'000'000);
  EXPECT_EQ(config.format.schema.fields.size(), 5u);
  EXPECT_EQ(config.format.schema.id, config.format.schema.layout_id());
  EXPECT_EQ(config.dead_letter_path, kDataFolder + "good/dead.jsonl");
  ASSERT_EQ(config.pipeline.size(), 2u);
  const FilterRule& condition = config.pipeline[0].filter.rules[1];
  EXPECT_EQ(condition.condition, "humidity <= 100");
  EXPECT_EQ(condition.condition_where.to_string(), path + ":23:20");
  const TransformOperation& heat = config.pipeline[1].transform.operations[0];
  EXPECT_EQ(heat.expression_where.to_string(), path + ":26:62");
}

TEST(ConfigTest, ExampleConfigIsAccepted) {
  const Config config = load_config(std::string(LDH_SOURCE_DIR) + "/examples/sensors.yaml");
  EXPECT_EQ(config.sources.size(), 1u);
  EXPECT_EQ(config.format.schema.event_time, 0);
  EXPECT_EQ(config.pipeline.size(), 2u);
}

TEST(ConfigTest, SchemaFromProtoFile) {
  const std::string path = data_path("good/proto.yaml");
  const Config config = load_config(path);
  const Schema& schema = config.format.schema;
  EXPECT_EQ(config.format.type, Format::protobuf);
  EXPECT_EQ(config.format.proto_file, std::string(LDH_SOURCE_DIR) + "/proto/sensors.proto");
  EXPECT_EQ(config.format.proto_message, "ldh.examples.SensorReading");
  ASSERT_EQ(schema.fields.size(), 7u);
  EXPECT_EQ(schema.fields[0].name, "timestamp");
  EXPECT_EQ(schema.fields[0].type, DataType::timestamp);
  EXPECT_EQ(schema.fields[0].time_unit, TimeUnit::ms);
  EXPECT_EQ(schema.fields[2].name, "location");
  EXPECT_EQ(schema.fields[2].type, DataType::string);
  EXPECT_EQ(schema.fields[6].proto_number, 7u);
  EXPECT_EQ(schema.event_time, 0);
  // The id follows the layout after `units` made the int64 a timestamp.
  EXPECT_EQ(schema.id, schema.layout_id());
  EXPECT_EQ(config.sources[0].format, Format::protobuf);
  EXPECT_EQ(config.pipeline[0].filter.rules[0].values.size(), 2u);
}

TEST(ConfigTest, DefaultsApplyWhenKeysAreLeftOut) {
  const Config config = parse_config(with_pipeline(""), "/configs/minimal.yaml");
  ASSERT_EQ(config.sources.size(), 1u);
  const GeneratorConfig defaults;
  EXPECT_EQ(config.sources[0].name, "generator-0");
  EXPECT_EQ(config.sources[0].generator.events, defaults.events);
  EXPECT_EQ(config.sources[0].generator.seed, defaults.seed);
  EXPECT_TRUE(config.format.validation);
  EXPECT_EQ(config.format.schema.fields[0].time_unit, TimeUnit::ms);
  EXPECT_TRUE(config.format.schema.fields[1].required);
  EXPECT_TRUE(config.pipeline.empty());
  EXPECT_TRUE(config.dead_letter_path.empty());
}

TEST(ConfigTest, UdpSourceReadsEverySetting) {
  const Config config = parse_config(
      with_source("{type: udp, name: feed, bind: \"::1\", port: 9999, threads: 4, "
                  "receiveBuffer: 8388608, maxBatchLatency: 2ms, events: 1000, endAfterIdle: 2s, "
                  "format: binary}"),
      "inline.yaml");
  ASSERT_EQ(config.sources.size(), 1u);
  const SourceConfig& source = config.sources[0];
  EXPECT_EQ(source.type, SourceType::udp);
  EXPECT_EQ(source.name, "feed");
  EXPECT_EQ(source.format, Format::binary);
  EXPECT_EQ(source.udp.bind, "::1");
  EXPECT_EQ(source.udp.port, 9999);
  EXPECT_EQ(source.udp.threads, 4u);
  EXPECT_EQ(source.udp.receive_buffer, 8388608u);
  EXPECT_EQ(source.udp.max_batch_latency_ns, 2'000'000);
  EXPECT_EQ(source.udp.events, 1000u);
  EXPECT_EQ(source.udp.end_after_idle_ns, 2'000'000'000);
}

TEST(ConfigTest, KafkaSourceReadsTheSeedShapeAndEverySetting) {
  const Config config = parse_config(
      with_source("{type: kafka, name: sensors, topic: sensor-data, format: binary, events: 500, "
                  "endAfterIdle: 2s, config: {brokers: [\"localhost:9092\", \"[::1]:9093\"], "
                  "group: processor-group, autoCommit: false, properties: "
                  "{session.timeout.ms: 6000, auto.offset.reset: earliest, check.crcs: true}}}"),
      "inline.yaml");
  ASSERT_EQ(config.sources.size(), 1u);
  const SourceConfig& source = config.sources[0];
  EXPECT_EQ(source.type, SourceType::kafka);
  EXPECT_EQ(source.name, "sensors");
  EXPECT_EQ(source.format, Format::binary);
  const KafkaSourceConfig& kafka = source.kafka;
  EXPECT_EQ(kafka.brokers, (std::vector<std::string>{"localhost:9092", "[::1]:9093"}));
  EXPECT_EQ(kafka.topics, std::vector<std::string>{"sensor-data"});
  EXPECT_EQ(kafka.group, "processor-group");
  EXPECT_FALSE(kafka.auto_commit);
  EXPECT_EQ(kafka.events, 500u);
  EXPECT_EQ(kafka.end_after_idle_ns, 2'000'000'000);
  EXPECT_EQ(kafka.where.to_string(), "inline.yaml:2:117");
  ASSERT_EQ(kafka.properties.size(), 3u);
  EXPECT_EQ(kafka.properties[0].key, "session.timeout.ms");
  EXPECT_EQ(kafka.properties[0].value, "6000");
  EXPECT_EQ(kafka.properties[0].path, "input.sources[0].config.properties.session.timeout.ms");
  EXPECT_EQ(kafka.properties[0].where.to_string(), "inline.yaml:2:217");
  EXPECT_EQ(kafka.properties[1].value, "earliest");
  EXPECT_EQ(kafka.properties[2].value, "true");

  const Config listed = parse_config(
      with_source("{type: kafka, topics: [a, b.c, ^sensor-.*], config: {brokers: \"k1:9092, "
                  "k2:9092\", group: g, autoCommit: true}}"),
      "inline.yaml");
  const KafkaSourceConfig& other = listed.sources[0].kafka;
  EXPECT_EQ(listed.sources[0].name, "kafka-0");
  EXPECT_EQ(other.topics, (std::vector<std::string>{"a", "b.c", "^sensor-.*"}));
  EXPECT_EQ(other.brokers, (std::vector<std::string>{"k1:9092", "k2:9092"}));
  EXPECT_TRUE(other.auto_commit);
  EXPECT_TRUE(other.properties.empty());
  EXPECT_EQ(other.events, 0u);
  EXPECT_EQ(other.end_after_idle_ns, 0);
}

TEST(ConfigTest, UdpSourceDefaultsToOneLoopbackSocket) {
  const Config config = parse_config(with_source("{type: udp, port: 0}"), "inline.yaml");
  ASSERT_EQ(config.sources.size(), 1u);
  const UdpSourceConfig& udp = config.sources[0].udp;
  EXPECT_EQ(config.sources[0].name, "udp-0");
  EXPECT_EQ(config.sources[0].format, Format::json);
  EXPECT_EQ(udp.bind, "127.0.0.1");
  EXPECT_EQ(udp.port, 0);
  EXPECT_EQ(udp.threads, 1u);
  EXPECT_EQ(udp.receive_buffer, 0u);
  EXPECT_FALSE(udp.max_batch_latency_ns.has_value());
  EXPECT_EQ(udp.events, 0u);
  EXPECT_EQ(udp.end_after_idle_ns, 0);
}

TEST(ConfigTest, RelativePathsFollowTheConfigFolder) {
  const std::string text =
      "input:\n"
      "  sources: [{type: file, path: ../data/in.bin, format: binary}, {type: file, path: "
      "/abs/x.jsonl}]\n"
      "  format: {type: protobuf, schema: {fields: [{name: x, type: int64}]}}\n"
      "  deadLetter: dead.jsonl\n"
      "output: {destinations: [{type: jsonl, path: ./out/r.jsonl}]}\n";
  const Config config = parse_config(text, "/srv/ldh/configs/run.yaml");
  EXPECT_EQ(config.sources[0].file.path, "/srv/ldh/data/in.bin");
  EXPECT_EQ(config.sources[0].format, Format::binary);
  EXPECT_EQ(config.sources[1].file.path, "/abs/x.jsonl");
  EXPECT_EQ(config.sources[1].format, Format::protobuf);
  EXPECT_EQ(config.dead_letter_path, "/srv/ldh/configs/dead.jsonl");
  EXPECT_EQ(config.destinations[0].path, "/srv/ldh/configs/out/r.jsonl");
  const Config here = parse_config(text, "run.yaml");
  EXPECT_EQ(here.dead_letter_path, "dead.jsonl");
}

TEST(ConfigTest, AnchorsAndAliasesAreFollowed) {
  const Config config = parse_config(with_pipeline("    - type: filter\n"
                                                   "      config:\n"
                                                   "        rules:\n"
                                                   "          - &hot {field: temperature, "
                                                   "operator: gt, value: 30}\n"
                                                   "          - *hot\n"),
                                     "inline.yaml");
  const auto& rules = config.pipeline[0].filter.rules;
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[1].field, "temperature");
  EXPECT_EQ(rules[1].values, (std::vector<Literal>{30.0}));
  EXPECT_EQ(rules[1].where.to_string(), rules[0].where.to_string());
}

TEST(ConfigTest, ExpressionLocationsPointInsideTheText) {
  const Config config = parse_config(with_pipeline("    - type: filter\n"
                                                   "      config:\n"
                                                   "        rules:\n"
                                                   "          - condition: &c \"ok == true\"\n"
                                                   "          - condition: |\n"
                                                   "              temperature > 3\n"
                                                   "          - condition: !!str temperature < 9\n"
                                                   "          - condition: humidity > 1\n"),
                                     "inline.yaml");
  const auto& rules = config.pipeline[0].filter.rules;
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].condition_where.to_string(), "inline.yaml:18:28");
  EXPECT_EQ(rules[1].condition, "temperature > 3\n");
  EXPECT_EQ(rules[1].condition_where.to_string(), "inline.yaml:20:15");
  EXPECT_EQ(rules[2].condition_where.to_string(), "inline.yaml:21:30");
  EXPECT_EQ(rules[3].condition_where.to_string(), "inline.yaml:22:24");
}

TEST(ConfigTest, ByteOrderMarkAndWindowsLineEndingsKeepLocations) {
  std::string text = "\xEF\xBB\xBF" + with_rule("{condition: \"ok\"}");
  std::string windows;
  for (char c : text) {
    if (c == '\n') windows += '\r';
    windows += c;
  }
  const Config config = parse_config(windows, "inline.yaml");
  const FilterRule& rule = config.pipeline[0].filter.rules[0];
  EXPECT_EQ(rule.condition, "ok");
  EXPECT_EQ(rule.condition_where.to_string(), "inline.yaml:15:52");
}

TEST(ConfigTest, TransformsTrackFieldsThroughThePipeline) {
  const Config config = parse_config(
      with_operations({"{type: add-field, field: flag, value: true}",
                       "{type: add-field, field: count, value: 3, as: int32}",
                       "{type: add-field, field: stamp, value: now(), as: timestamp}",
                       "{type: add-field, field: temperature, value: 0}",
                       "{type: calculate, field: level, formula: \"temperature\", as: int64}",
                       "{type: drop, field: level}", "{type: add-field, field: level, value: x}",
                       "{type: rename, field: level, to: grade}",
                       "{type: cast, field: grade, to: string}"}),
      "inline.yaml");
  const auto& operations = config.pipeline[0].transform.operations;
  ASSERT_EQ(operations.size(), 9u);
  EXPECT_EQ(operations[0].constant, Literal(true));
  EXPECT_EQ(operations[1].constant, Literal(3.0));
  EXPECT_EQ(operations[1].type, DataType::int32);
  EXPECT_TRUE(operations[2].now);
  EXPECT_EQ(operations[4].type, DataType::int64);
  EXPECT_EQ(operations[6].constant, Literal(std::string("x")));
  EXPECT_EQ(operations[8].type, DataType::string);
}

/// Builds a document with `body` as the keys of `processing` (starting on line 14) and
/// `alerts` as the lines of output.alerts (after `output` and `destinations`).
std::string with_processing(const std::string& body, const std::string& alerts = "") {
  std::string text = kInput + "processing:\n" + body + kFooter;
  if (!alerts.empty()) text += "  alerts:\n" + alerts;
  return text;
}

/// Returns the result column names of `window` in order: `<measure>_<metric>`.
std::vector<std::string> columns_of(const WindowConfig& window) {
  std::vector<std::string> columns;
  for (const auto& measure : window.measures) {
    for (const auto& metric : window.metrics) columns.push_back(measure + "_" + metric.name);
  }
  return columns;
}

std::vector<std::string> metric_names(const WindowConfig& window) {
  std::vector<std::string> names;
  for (const auto& metric : window.metrics) names.push_back(metric.name);
  return names;
}

using Strings = std::vector<std::string>;
constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kMinute = 60 * kSecond;

TEST(ConfigTest, SeedStreamProcessorWindowsAndAlert) {
  const std::string path = data_path("good/stream_processor.yaml");
  const Config config = load_config(path);
  EXPECT_FALSE(config.processing_time);
  ASSERT_EQ(config.windows.size(), 2u);

  const WindowConfig& minute = config.windows[0];
  EXPECT_EQ(minute.name, "tumbling");
  EXPECT_EQ(minute.type, WindowType::tumbling);
  EXPECT_EQ(minute.size_ns, kMinute);
  EXPECT_EQ(minute.slide_ns, 0);
  EXPECT_EQ(minute.gap_ns, 0);
  EXPECT_EQ(minute.where.to_string(), path + ":34:7");
  ASSERT_EQ(minute.metrics.size(), 3u);
  EXPECT_EQ(minute.metrics[0].kind, MetricConfig::Kind::avg);
  EXPECT_EQ(minute.metrics[1].kind, MetricConfig::Kind::max);
  EXPECT_EQ(minute.metrics[2].kind, MetricConfig::Kind::min);
  EXPECT_EQ(metric_names(minute), (Strings{"avg", "max", "min"}));
  EXPECT_EQ(minute.metrics[1].where.to_string(), path + ":36:22");
  // No group-by anywhere: one group; the measures are every number that leaves the pipeline,
  // heat_index (added by the enrichment stage) included.
  EXPECT_TRUE(minute.group_by.empty());
  EXPECT_EQ(minute.measures,
            (Strings{"sensor_id", "temperature", "humidity", "pressure", "heat_index"}));
  EXPECT_EQ(minute.relative_accuracy, 0.01);

  const WindowConfig& trend = config.windows[1];
  EXPECT_EQ(trend.name, "sliding");
  EXPECT_EQ(trend.type, WindowType::sliding);
  EXPECT_EQ(trend.size_ns, 5 * kMinute);
  EXPECT_EQ(trend.slide_ns, kMinute);
  ASSERT_EQ(trend.metrics.size(), 1u);
  EXPECT_EQ(trend.metrics[0].kind, MetricConfig::Kind::trend);
  EXPECT_EQ(columns_of(trend)[1], "temperature_trend");

  const WatermarkConfig defaults;
  EXPECT_EQ(config.watermark.max_out_of_orderness_ns, defaults.max_out_of_orderness_ns);
  EXPECT_EQ(config.watermark.allowed_lateness_ns, 0);
  EXPECT_EQ(config.watermark.idle_timeout_ns, 0);
  EXPECT_TRUE(config.late_path.empty());

  ASSERT_EQ(config.alerts.conditions.size(), 1u);
  const AlertCondition& alert = config.alerts.conditions[0];
  EXPECT_EQ(alert.metric, "temperature");
  EXPECT_EQ(alert.op, FilterOperator::gt);
  EXPECT_EQ(alert.value, 100);
  EXPECT_EQ(alert.window, "5m");
  EXPECT_EQ(alert.where.to_string(), path + ":46:9");
  EXPECT_TRUE(config.alerts.path.empty());
}

TEST(ConfigTest, SeedAnalyticsEngineMapForm) {
  const std::string path = data_path("good/analytics.yaml");
  const std::string folder = kDataFolder + "good/";
  const Config config = load_config(path);
  EXPECT_FALSE(config.processing_time);
  EXPECT_EQ(config.watermark.max_out_of_orderness_ns, 5 * kSecond);
  EXPECT_EQ(config.watermark.allowed_lateness_ns, kMinute);
  EXPECT_EQ(config.watermark.idle_timeout_ns, 30 * kSecond);
  EXPECT_EQ(config.late_path, folder + "out/late.jsonl");

  ASSERT_EQ(config.windows.size(), 3u);
  const Strings metrics = {"count", "sum", "avg", "min",    "max",
                           "p50",   "p95", "p99", "stddev", "trend"};
  for (const auto& window : config.windows) {
    EXPECT_EQ(window.group_by, (Strings{"sensor_id", "location", "type"})) << window.name;
    EXPECT_EQ(window.measures, (Strings{"temperature", "humidity", "pressure"})) << window.name;
    EXPECT_EQ(metric_names(window), metrics) << window.name;
  }
  const WindowConfig& tumbling = config.windows[0];
  EXPECT_EQ(tumbling.name, "tumbling");
  EXPECT_EQ(tumbling.size_ns, kMinute);
  EXPECT_EQ(tumbling.slide_ns, 0);
  EXPECT_EQ(tumbling.where.to_string(), path + ":23:13");
  const WindowConfig& sliding = config.windows[1];
  EXPECT_EQ(sliding.name, "sliding");
  EXPECT_EQ(sliding.type, WindowType::sliding);
  EXPECT_EQ(sliding.size_ns, kMinute);
  EXPECT_EQ(sliding.slide_ns, 30 * kSecond);
  const WindowConfig& session = config.windows[2];
  EXPECT_EQ(session.name, "session");
  EXPECT_EQ(session.type, WindowType::session);
  EXPECT_EQ(session.gap_ns, 30 * kSecond);
  EXPECT_EQ(session.size_ns, 0);
  EXPECT_EQ(session.slide_ns, 0);

  // `percentile` is p50, p95 and p99, each pointing at the word.
  const MetricConfig& p95 = tumbling.metrics[6];
  EXPECT_EQ(p95.kind, MetricConfig::Kind::percentile);
  EXPECT_EQ(p95.quantile, 0.95);
  EXPECT_EQ(p95.where.to_string(), path + ":30:16");
  EXPECT_EQ(tumbling.metrics[7].quantile, 0.99);
  EXPECT_EQ(tumbling.metrics[0].where.to_string(), path + ":29:13");
  EXPECT_EQ(tumbling.metrics[8].kind, MetricConfig::Kind::stddev);
  const Strings columns = columns_of(tumbling);
  ASSERT_EQ(columns.size(), 30u);
  EXPECT_EQ(columns[0], "temperature_count");
  EXPECT_EQ(columns[6], "temperature_p95");
  EXPECT_EQ(columns[29], "pressure_trend");

  EXPECT_EQ(config.alerts.path, folder + "out/alerts.jsonl");
  ASSERT_EQ(config.alerts.conditions.size(), 3u);
  EXPECT_EQ(config.alerts.conditions[0].metric, "temperature_p99");
  EXPECT_EQ(config.alerts.conditions[0].op, FilterOperator::ge);
  EXPECT_EQ(config.alerts.conditions[0].window, "session");
  EXPECT_EQ(config.alerts.conditions[1].op, FilterOperator::lt);
  EXPECT_EQ(config.alerts.conditions[1].window, "");
  EXPECT_EQ(config.alerts.conditions[2].op, FilterOperator::ne);
  EXPECT_EQ(config.alerts.conditions[2].value, 0);
}

TEST(ConfigTest, WindowsTakeProcessingDefaultsUnlessTheySetTheirOwn) {
  const Config config = parse_config(
      with_processing("  groupBy: [location]\n"
                      "  metrics: [sum, p99.9]\n"
                      "  windows:\n"
                      "    - {type: tumbling, size: 90s}\n"
                      "    - {name: fine, type: sliding, size: 10s, slide: 5s, groupBy: [], "
                      "measures: [humidity], metrics: [approx_p95, last], accuracy: 0.001}\n"
                      "    - {type: session, gap: 2m, groupBy: [ok, location]}\n"),
      "inline.yaml");
  ASSERT_EQ(config.windows.size(), 3u);
  const WindowConfig& inherited = config.windows[0];
  EXPECT_EQ(inherited.size_ns, 90 * kSecond);
  EXPECT_EQ(inherited.group_by, (Strings{"location"}));
  // Default measures: every number after the pipeline that is not grouped by.
  EXPECT_EQ(inherited.measures, (Strings{"temperature", "humidity"}));
  EXPECT_EQ(columns_of(inherited),
            (Strings{"temperature_sum", "temperature_p99_9", "humidity_sum", "humidity_p99_9"}));
  EXPECT_EQ(inherited.metrics[1].where.to_string(), "inline.yaml:15:18");
  const WindowConfig& fine = config.windows[1];
  EXPECT_EQ(fine.name, "fine");
  EXPECT_TRUE(fine.group_by.empty());
  EXPECT_EQ(fine.measures, (Strings{"humidity"}));
  EXPECT_EQ(metric_names(fine), (Strings{"approx_p95", "last"}));
  EXPECT_EQ(fine.relative_accuracy, 0.001);
  EXPECT_EQ(config.windows[2].group_by, (Strings{"ok", "location"}));

  // Without processing.metrics a window computes count, avg, min and max.
  const Config plain =
      parse_config(with_processing("  windows: [{type: tumbling, size: 1m}]\n"), "inline.yaml");
  ASSERT_EQ(plain.windows.size(), 1u);
  EXPECT_EQ(metric_names(plain.windows[0]), (Strings{"count", "avg", "min", "max"}));
  EXPECT_EQ(plain.windows[0].metrics[0].where.to_string(), "inline.yaml:14:13");
  EXPECT_EQ(plain.windows[0].measures, (Strings{"temperature", "humidity"}));
}

TEST(ConfigTest, ProcessingTimeNeedsNoEventTimeField) {
  const std::string text =
      "input:\n  sources: [{type: generator}]\n"
      "  format: {type: json, schema: {fields: [{name: x, type: float64}]}}\n"
      "processing:\n  time: processing\n  windows: [{type: tumbling, size: 1s}]\n" +
      kFooter;
  const Config config = parse_config(text, "inline.yaml");
  EXPECT_TRUE(config.processing_time);
  ASSERT_EQ(config.windows.size(), 1u);
  EXPECT_EQ(config.windows[0].measures, (Strings{"x"}));
}

TEST(ConfigTest, AlertsMatchWindowsByNameOrSize) {
  const Config config = parse_config(
      with_processing("  windows:\n"
                      "    - {name: a, type: tumbling, size: 5m, metrics: [max]}\n"
                      "    - {name: b, type: sliding, size: 5m, slide: 1m, metrics: [p95]}\n"
                      "    - {name: 5m, type: session, gap: 1m, metrics: [min]}\n",
                      "    conditions:\n"
                      // Size 5m: a or b; the column exists in b.
                      "      - {metric: humidity_p95, operator: le, value: -2.5, window: 300s}\n"
                      // A window's name wins over sizes.
                      "      - {metric: temperature_min, operator: eq, value: 0, window: 5m}\n"
                      // Every window has a count.
                      "      - {metric: count, operator: gt, value: 1e3}\n"),
      "inline.yaml");
  ASSERT_EQ(config.alerts.conditions.size(), 3u);
  EXPECT_EQ(config.alerts.conditions[0].value, -2.5);
  EXPECT_EQ(config.alerts.conditions[0].window, "300s");
  EXPECT_EQ(config.alerts.conditions[1].op, FilterOperator::eq);
  EXPECT_EQ(config.alerts.conditions[2].value, 1000);
}

TEST(MetricNameTest, NamesGiveKindQuantileAndColumn) {
  using Kind = MetricConfig::Kind;
  struct Row {
    std::string word;
    Kind kind;
    double quantile;
    std::string name;
  };
  const Row rows[] = {
      {"count", Kind::count, 0.5, "count"},
      {"sum", Kind::sum, 0.5, "sum"},
      {"avg", Kind::avg, 0.5, "avg"},
      {"mean", Kind::avg, 0.5, "avg"},
      {"min", Kind::min, 0.5, "min"},
      {"max", Kind::max, 0.5, "max"},
      {"variance", Kind::variance, 0.5, "variance"},
      {"variance_pop", Kind::variance_pop, 0.5, "variance_pop"},
      {"stddev", Kind::stddev, 0.5, "stddev"},
      {"stddev_pop", Kind::stddev_pop, 0.5, "stddev_pop"},
      {"trend", Kind::trend, 0.5, "trend"},
      {"first", Kind::first, 0.5, "first"},
      {"last", Kind::last, 0.5, "last"},
      {"median", Kind::percentile, 0.5, "median"},
      {"p50", Kind::percentile, 0.5, "p50"},
      {"p95", Kind::percentile, 0.95, "p95"},
      {"p99", Kind::percentile, 0.99, "p99"},
      // 99.9 / 100 in doubles is 0.9990000000000001; the quantile is the double nearest 0.999.
      {"p99.9", Kind::percentile, 0.999, "p99_9"},
      {"p99.99", Kind::percentile, 0.9999, "p99_99"},
      {"p0.1", Kind::percentile, 0.001, "p0_1"},
      {"p7", Kind::percentile, 0.07, "p7"},
      {"p57.3", Kind::percentile, 0.573, "p57_3"},
      {"p100", Kind::percentile, 1.0, "p100"},
      {"p95_disc", Kind::percentile_disc, 0.95, "p95_disc"},
      {"p99.9_disc", Kind::percentile_disc, 0.999, "p99_9_disc"},
      {"approx_p50", Kind::approx_percentile, 0.5, "approx_p50"},
      {"approx_p99.9", Kind::approx_percentile, 0.999, "approx_p99_9"},
  };
  for (const Row& row : rows) {
    const Config config = parse_config(
        with_processing("  windows: [{type: tumbling, size: 1m, metrics: [" + row.word + "]}]\n"),
        "inline.yaml");
    ASSERT_EQ(config.windows[0].metrics.size(), 1u) << row.word;
    const MetricConfig& metric = config.windows[0].metrics[0];
    EXPECT_EQ(metric.kind, row.kind) << row.word;
    EXPECT_EQ(metric.quantile, row.quantile) << row.word;
    EXPECT_EQ(metric.name, row.name) << row.word;
  }

  struct Family {
    std::string word;
    Kind kind;
    Strings names;
  };
  const Family families[] = {
      {"percentile", Kind::percentile, {"p50", "p95", "p99"}},
      {"percentile_disc", Kind::percentile_disc, {"p50_disc", "p95_disc", "p99_disc"}},
      {"approx_percentile", Kind::approx_percentile, {"approx_p50", "approx_p95", "approx_p99"}},
  };
  for (const Family& family : families) {
    const Config config =
        parse_config(with_processing("  windows: [{type: tumbling, size: 1m, metrics: [" +
                                     family.word + "]}]\n"),
                     "inline.yaml");
    const WindowConfig& window = config.windows[0];
    EXPECT_EQ(metric_names(window), family.names) << family.word;
    ASSERT_EQ(window.metrics.size(), 3u);
    EXPECT_EQ(window.metrics[0].quantile, 0.5);
    EXPECT_EQ(window.metrics[1].quantile, 0.95);
    EXPECT_EQ(window.metrics[2].quantile, 0.99);
    for (const auto& metric : window.metrics) EXPECT_EQ(metric.kind, family.kind);
  }
}

// ---------------------------------------------------------------------------------------------
// One test per kind of error

TEST(ConfigErrorTest, UnknownKeySuggestsTheNearestKey) {
  const std::string file = data_path("bad/unknown_key.yaml");
  const auto errors = errors_of_file("bad/unknown_key.yaml");
  expect_error(errors, file + ":4:7", "input.sources[0].sensorz",
               "unknown key (did you mean 'sensors'?); expected one of: type, name, format, "
               "throttle, events, sensors");
  expect_error(errors, file + ":5:3", "input.formt",
               "unknown key (did you mean 'format'?); expected one of: sources, format, "
               "deadLetter");
  expect_error(errors, file + ":16:9", "processing.pipeline[0].config.rulez",
               "unknown key (did you mean 'rules'?)");
  expect_error(errors, file + ":16:9", "processing.pipeline[0].config",
               "missing required key 'rules'");
  EXPECT_EQ(errors.size(), 4u) << listing(errors);
}

TEST(ConfigErrorTest, WrongStructureNamesWhatWasExpected) {
  const std::string file = data_path("bad/wrong_type.yaml");
  const auto errors = errors_of_file("bad/wrong_type.yaml");
  expect_error(errors, file + ":3:5", "input.sources", "expected a list of sources, got a map");
  expect_error(errors, file + ":6:17", "input.format.validation",
               "expected true or false, got 'yes'");
  expect_error(errors, file + ":8:15", "input.format.schema.fields",
               "expected a list of fields, got 'temperature'");
  expect_error(errors, file + ":12:13", "output.destinations[0].path",
               "expected a file path, got a list");
  EXPECT_EQ(errors.size(), 4u) << listing(errors);
}

TEST(ConfigErrorTest, WrongScalarsNameTheRange) {
  const std::string file = data_path("bad/wrong_scalar.yaml");
  const auto errors = errors_of_file("bad/wrong_scalar.yaml");
  expect_error(errors, file + ":4:15", "input.sources[0].events",
               "expected an integer >= 0, got 'many'");
  expect_error(errors, file + ":5:16", "input.sources[0].sensors",
               "expected an integer from 1 to 4294967295, got the string '12'");
  expect_error(errors, file + ":6:13", "input.sources[0].rate", "expected a number >= 0, got '-5'");
  expect_error(errors, file + ":7:19", "input.sources[0].badRecords",
               "expected a number from 0 to 1, got '1.5'");
  expect_error(errors, file + ":8:13", "input.sources[0].seed",
               "expected an integer >= 0, got '1.5'");
  EXPECT_EQ(errors.size(), 5u) << listing(errors);
}

TEST(ConfigErrorTest, BadDurationShowsTheSyntax) {
  const std::string file = data_path("bad/bad_duration.yaml");
  const auto errors = errors_of_file("bad/bad_duration.yaml");
  expect_error(errors, file + ":4:17", "input.sources[0].interval",
               "expected a duration like 500ms, 10s, 1m or 24h, got '10 seconds'");
  expect_error(errors, file + ":5:15", "input.sources[0].jitter",
               "expected a duration like 500ms, 10s, 1m or 24h, got '5'");
  EXPECT_EQ(errors.size(), 2u) << listing(errors);
}

TEST(ConfigErrorTest, BadEnumValuesSuggestTheNearestName) {
  const std::string file = data_path("bad/bad_enum.yaml");
  const auto errors = errors_of_file("bad/bad_enum.yaml");
  expect_error(errors, file + ":3:13", "input.sources[0].type",
               "unknown source type 'generater' (did you mean 'generator'?); expected one of: "
               "file, generator");
  expect_error(errors, file + ":6:15", "input.sources[1].format",
               "unknown format 'binray' (did you mean 'binary'?)");
  expect_error(errors, file + ":8:11", "input.format.type",
               "unknown format 'jsn' (did you mean 'json'?); expected one of: json, binary, "
               "protobuf");
  expect_error(errors, file + ":11:52", "input.format.schema.fields[0].unit",
               "unknown time unit 'msec'; expected one of: s, ms, us, ns, iso8601");
  expect_error(errors, file + ":12:37", "input.format.schema.fields[1].type",
               "unknown data type 'flaot64' (did you mean 'float64'?)");
  expect_error(errors, file + ":17:18", "processing.pipeline[0].config.combine",
               "unknown combine mode 'every'; expected one of: all, any");
  expect_error(errors, file + ":19:44", "processing.pipeline[0].config.rules[0].operator",
               "unknown operator 'rnage' (did you mean 'range'?)");
  expect_error(errors, file + ":20:13", "processing.pipeline[1].type",
               "unknown stage type 'transfrom' (did you mean 'transform'?)");
  expect_error(errors, file + ":25:20", "processing.pipeline[2].config.operations[0].type",
               "unknown operation type 'add_field' (did you mean 'add-field'?)");
  expect_error(errors, file + ":26:50", "processing.pipeline[2].config.operations[1].to",
               "unknown data type 'integer64'");
  expect_error(errors, file + ":29:13", "output.destinations[0].type",
               "unknown destination type 'jsonlines'; expected one of: stdout, jsonl");
  EXPECT_EQ(errors.size(), 11u) << listing(errors);
}

TEST(ConfigErrorTest, RuleOrOperationOnMissingField) {
  const std::string file = data_path("bad/unknown_field.yaml");
  const auto errors = errors_of_file("bad/unknown_field.yaml");
  expect_error(errors, file + ":16:21", "processing.pipeline[0].config.rules[0].field",
               "filter rule on unknown field 'temprature' (did you mean 'temperature'?); fields "
               "here: timestamp, temperature, humidity");
  // Renamed away one operation earlier.
  expect_error(errors, file + ":22:33", "processing.pipeline[1].config.operations[2].field",
               "cast on unknown field 'temperature'; fields here: timestamp, celsius");
  // Dropped by the transform stage before.
  expect_error(errors, file + ":27:21", "processing.pipeline[2].config.rules[0].field",
               "filter rule on unknown field 'humidity'; fields here: timestamp, celsius, kelvin");
  EXPECT_EQ(errors.size(), 3u) << listing(errors);
}

TEST(ConfigErrorTest, MissingRequiredKeys) {
  const std::string file = data_path("bad/missing_key.yaml");
  const auto errors = errors_of_file("bad/missing_key.yaml");
  expect_error(errors, file + ":3:7", "input.sources[0]",
               "missing required key 'path' (the file to read)");
  expect_error(errors, file + ":5:5", "input.format",
               "missing required key 'type' (one of: json, binary, protobuf)");
  expect_error(errors, file + ":7:11", "input.format.schema.fields[0]",
               "missing required key 'type'");
  expect_error(errors, file + ":13:13", "processing.pipeline[0].config.rules[0]",
               "missing required key 'operator'");
  expect_error(errors, file + ":14:13", "processing.pipeline[0].config.rules[1]",
               "missing required key 'field'");
  expect_error(errors, file + ":15:13", "processing.pipeline[0].config.rules[2]",
               "missing required key 'value'");
  expect_error(errors, file + ":16:7", "processing.pipeline[1]", "missing required key 'config'");
  expect_error(errors, file + ":19:7", "output.destinations[0]", "missing required key 'path'");
  EXPECT_EQ(errors.size(), 8u) << listing(errors);
}

TEST(ConfigErrorTest, DuplicateNamesAndKeys) {
  const std::string file = data_path("bad/duplicate.yaml");
  const auto errors = errors_of_file("bad/duplicate.yaml");
  expect_error(errors, file + ":4:14", "input.sources[1].name",
               "duplicate source name 'feed' (first at line 3, column 7)");
  expect_error(errors, file + ":10:18", "input.format.schema.fields[1].name",
               "duplicate field name 'temperature' (first at line 9, column 18)");
  expect_error(errors, file + ":11:55", "input.format.schema.fields[2].protoField",
               "protobuf field number 1 is already used by field 'temperature'");
  expect_error(errors, file + ":15:14", "processing.pipeline[1].name",
               "duplicate stage name 'check' (first at line 14, column 7)");
  expect_error(errors, file + ":19:3", "output.destinations",
               "duplicate key (first given at line 17, column 3)");
  EXPECT_EQ(errors.size(), 5u) << listing(errors);
}

TEST(ConfigErrorTest, YamlSyntaxErrorHasItsPosition) {
  const std::string file = data_path("bad/syntax_error.yaml");
  const auto errors = errors_of_file("bad/syntax_error.yaml");
  ASSERT_EQ(errors.size(), 1u) << listing(errors);
  EXPECT_EQ(errors[0].where.to_string(), file + ":8:1");
  EXPECT_EQ(errors[0].message, "YAML syntax error: end of sequence flow not found");

  const auto tab = errors_of("input:\n\tsources: []\n");
  ASSERT_EQ(tab.size(), 1u) << listing(tab);
  EXPECT_EQ(tab[0].where.to_string(), "inline.yaml:2:9");
  EXPECT_EQ(tab[0].message, "YAML syntax error: illegal map value");
}

TEST(ConfigErrorTest, KnownButUnsupportedFeaturesSaySo) {
  const std::string file = data_path("bad/unsupported.yaml");
  const auto errors = errors_of_file("bad/unsupported.yaml");
  // The kafka and websocket sources are supported: their own keys are read, and the group the
  // kafka source lacks is reported.
  expect_error(errors, file + ":6:9", "input.sources[0].config",
               "missing required key 'group' (the consumer group's id)");
  // The elasticsearch destination runs as written (on http://127.0.0.1:9200); the channels
  // the notifications name need to be told where alerts go.
  expect_error(errors, file + ":24:5", "output.alerts",
               "missing required key 'email' (a map with smtp, from and to, where alert mails "
               "go)");
  expect_error(errors, file + ":24:5", "output.alerts",
               "missing required key 'webhook' (a map with url, where webhook notifications go)");
  expect_error(errors, file + ":26:1", "state", "state storage and recovery are not supported");
  EXPECT_EQ(errors.size(), 4u) << listing(errors);

  for (const std::string type : {"webhook", "email"}) {
    const auto sink = errors_of(kInput + "output: {destinations: [{type: " + type + ", x: 1}]}\n");
    ASSERT_EQ(sink.size(), 1u) << listing(sink);
    std::string expected = "'";
    expected += type;
    expected +=
        "' is an alert notification channel, not a destination: list it in "
        "output.alerts.notifications and set output.alerts.";
    expected += type;
    EXPECT_THAT(sink[0].message, HasSubstr(expected));
  }
}

TEST(ConfigTest, WebSocketAndKafkaDestinationsAreRead) {
  const Config config = parse_config(kInput + R"(processing:
  groupBy: [location]
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [avg]}
output:
  destinations:
    - {type: websocket, endpoint: "/metrics", format: json}
    - type: websocket
      endpoint: /live
      bind: "::1"
      port: 0
      token: abc
      maxMessageBytes: 4096
      clientQueue: 10
      messageLines: 100
      drainTimeout: 1s
    - type: kafka
      topic: results
      format: json
      config: {brokers: "a:9092, b:9093", properties: {linger.ms: 5}}
      retry: {maxAttempts: 3}
)",
                                     "inline.yaml");
  ASSERT_EQ(config.destinations.size(), 3u);
  // The product description's destination as written: loopback, port 8080, no token.
  const WebSocketSinkConfig& seed = config.destinations[0].websocket;
  EXPECT_EQ(config.destinations[0].type, SinkType::websocket);
  EXPECT_EQ(seed.endpoint, "/metrics");
  EXPECT_EQ(seed.bind, "127.0.0.1");
  EXPECT_EQ(seed.port, 8080);
  EXPECT_EQ(seed.token, "");
  EXPECT_EQ(seed.client_queue, 10'000u);
  EXPECT_EQ(seed.message_lines, 1u);
  const WebSocketSinkConfig& live = config.destinations[1].websocket;
  EXPECT_EQ(live.endpoint, "/live");
  EXPECT_EQ(live.bind, "::1");
  EXPECT_EQ(live.port, 0);
  EXPECT_EQ(live.token, "abc");
  EXPECT_EQ(live.max_message_bytes, 4096u);
  EXPECT_EQ(live.client_queue, 10u);
  EXPECT_EQ(live.message_lines, 100u);
  EXPECT_EQ(live.drain_timeout_ns, 1'000'000'000);
  const SinkConfig& kafka = config.destinations[2];
  EXPECT_EQ(kafka.type, SinkType::kafka);
  EXPECT_EQ(kafka.kafka.topic, "results");
  EXPECT_EQ(kafka.kafka.brokers, (std::vector<std::string>{"a:9092", "b:9093"}));
  ASSERT_EQ(kafka.kafka.properties.size(), 1u);
  EXPECT_EQ(kafka.kafka.properties[0].key, "linger.ms");
  EXPECT_EQ(kafka.kafka.properties[0].path, "output.destinations[2].config.properties.linger.ms");
  // Message keys come from each window's group-by fields.
  ASSERT_EQ(kafka.kafka.key_fields.size(), 1u);
  EXPECT_EQ(kafka.kafka.key_fields[0].first, "minute");
  EXPECT_EQ(kafka.kafka.key_fields[0].second, std::vector<std::string>{"location"});
  EXPECT_EQ(kafka.delivery.max_attempts, 3u);
}

TEST(ConfigErrorTest, WebSocketAndKafkaDestinationSettingsAreChecked) {
  const auto errors = errors_of(
      kInput +
      "output:\n  destinations:\n"
      "    - {type: websocket, endpoint: metrics, bind: localhost, port: 70000, token: \"a b\", "
      "maxMessageBytes: 10, clientQueue: 0, messageLines: 0}\n"
      "    - {type: kafka, topic: \"^re.*\", config: {brokers: [nohost], properties: "
      "{enable.idempotence: false}}}\n");
  const std::string websocket = "output.destinations[0].";
  expect_message(errors, websocket + "endpoint",
                 "expected the path clients connect to, such as /metrics, got 'metrics'");
  expect_message(errors, websocket + "bind", "expected a numeric IPv4 or IPv6 address");
  expect_message(errors, websocket + "port", "expected");
  expect_message(errors, websocket + "token", "expected a bearer token without spaces");
  expect_message(errors, websocket + "maxMessageBytes", "expected");
  expect_message(errors, websocket + "clientQueue", "expected");
  expect_message(errors, websocket + "messageLines", "expected");
  const std::string kafka = "output.destinations[1].";
  expect_message(errors, kafka + "topic", "a pattern cannot be produced to");
  expect_message(errors, kafka + "config.brokers[0]", "expected host:port");
  expect_message(errors, kafka + "config.properties.enable.idempotence",
                 "ldh produces idempotently, so that its retries add no duplicates");
  EXPECT_EQ(errors.size(), 10u) << listing(errors);
}

TEST(ConfigErrorTest, KafkaSourceSettingsAreChecked) {
  const auto errors = errors_of(with_source(
      "{type: kafka, topic: sensor-data, topics: [a], config: {brokers: [localhost], group: \"\", "
      "autoCommit: maybe, properties: {group.id: x, fetch.wait.max.ms: {a: 1}, "
      "fetch.wait.max.ms: 5}, grup: g}, events: -1}"));
  const std::string config = "input.sources[0].config";
  expect_error(errors, "inline.yaml:2:55", "input.sources[0].topics",
               "give either 'topic' or 'topics', not both");
  expect_error(errors, "inline.yaml:2:79", config + ".brokers[0]",
               "expected host:port, e.g. localhost:9092, got 'localhost'");
  expect_error(errors, "inline.yaml:2:98", config + ".group",
               "expected a consumer group id, got the empty string");
  expect_error(errors, "inline.yaml:2:114", config + ".autoCommit", "got 'maybe'");
  expect_error(errors, "inline.yaml:2:134", config + ".properties.group.id",
               "property 'group.id' cannot be set here: it is set by config.group");
  expect_error(errors, "inline.yaml:2:166", config + ".properties.fetch.wait.max.ms",
               "expected a property value (text, a number or a boolean), got a map");
  expect_error(errors, "inline.yaml:2:174", config + ".properties.fetch.wait.max.ms",
               "duplicate property 'fetch.wait.max.ms' (first at line 2, column 147)");
  expect_error(errors, "inline.yaml:2:197", config + ".grup",
               "unknown key (did you mean 'group'?)");
  expect_error(errors, "inline.yaml:2:215", "input.sources[0].events",
               "expected an integer >= 0, got '-1'");
  EXPECT_EQ(errors.size(), 9u) << listing(errors);

  const auto names = errors_of(with_source(
      "{type: kafka, topic: \"bad topic\", config: {brokers: \"a:1, b:0,\", group: g}}"));
  expect_error(names, "inline.yaml:2:34", "input.sources[0].topic",
               "expected a topic name of 1 to 249 letters, digits, '.', '_' or '-' (or a pattern "
               "starting with ^), got the string 'bad topic'");
  expect_error(names, "inline.yaml:2:65", config + ".brokers",
               "expected host:port, e.g. localhost:9092, got 'b:0'");
  expect_error(names, "inline.yaml:2:65", config + ".brokers",
               "expected host:port, e.g. localhost:9092, got ''");
  EXPECT_EQ(names.size(), 3u) << listing(names);

  const auto missing = errors_of(with_source("{type: kafka, config: {group: g}}"));
  expect_error(missing, "inline.yaml:2:13", "input.sources[0]",
               "missing required key 'topic' (the topic to consume; or 'topics', a list)");
  expect_error(missing, "inline.yaml:2:35", config,
               "missing required key 'brokers' (a list of host:port, or one text of them "
               "separated by commas)");
  EXPECT_EQ(missing.size(), 2u) << listing(missing);
}

TEST(ConfigErrorTest, UdpSourceSettingsAreChecked) {
  const auto errors = errors_of(
      with_source("{type: udp, bind: localhost, port: 70000, threads: 0, receiveBuffer: -1, "
                  "maxBatchLatency: soon, endAfterIdle: 5, event: 3}"));
  expect_error(errors, "inline.yaml:2:126", "input.sources[0].event",
               "unknown key (did you mean 'events'?)");
  expect_error(errors, "inline.yaml:2:31", "input.sources[0].bind",
               "expected a numeric IPv4 or IPv6 address like 127.0.0.1 or ::1, got 'localhost'");
  expect_error(errors, "inline.yaml:2:48", "input.sources[0].port",
               "expected an integer from 0 to 65535, got '70000'");
  expect_error(errors, "inline.yaml:2:64", "input.sources[0].threads",
               "expected an integer from 1 to 256, got '0'");
  expect_error(errors, "inline.yaml:2:82", "input.sources[0].receiveBuffer",
               "expected an integer from 0 to 1073741824, got '-1'");
  expect_error(errors, "inline.yaml:2:103", "input.sources[0].maxBatchLatency",
               "expected a duration like 500ms, 10s, 1m or 24h, got 'soon'");
  expect_error(errors, "inline.yaml:2:123", "input.sources[0].endAfterIdle",
               "expected a duration like 500ms, 10s, 1m or 24h, got '5'");
  EXPECT_EQ(errors.size(), 7u) << listing(errors);

  const auto missing = errors_of(with_source("{type: udp, threads: 2}"));
  expect_error(missing, "inline.yaml:2:13", "input.sources[0]",
               "missing required key 'port' (the UDP port to listen on (0 takes a free one))");
  EXPECT_EQ(missing.size(), 1u) << listing(missing);

  const auto misspelt = errors_of(with_source("{type: upd, port: 9}"));
  expect_error(misspelt, "inline.yaml:2:20", "input.sources[0].type",
               "unknown source type 'upd' (did you mean 'udp'?); expected one of: file, "
               "generator, udp");
  EXPECT_EQ(misspelt.size(), 1u) << listing(misspelt);
}

TEST(ConfigErrorTest, FilterValuesAreCheckedAgainstFieldTypes) {
  const std::string file = data_path("bad/value_types.yaml");
  const auto errors = errors_of_file("bad/value_types.yaml");
  const std::string rules = "processing.pipeline[0].config.rules";
  expect_error(errors, file + ":17:55", rules + "[0].value",
               "expected a number (field 'temperature' is float64), got 'hot'");
  expect_error(errors, file + ":18:41", rules + "[1].operator",
               "operator 'range' needs a number or timestamp field; 'location' is string");
  expect_error(errors, file + ":19:58", rules + "[2].value",
               "expected a list of two numbers [low, high], got a list of 3");
  expect_error(errors, file + ":20:58", rules + "[3].value",
               "the low end of a range must not exceed the high end");
  expect_error(errors, file + ":21:59", rules + "[4].value", "operator 'exists' takes no value");
  expect_error(errors, file + ":22:55", rules + "[5].value",
               "expected one value, got a list (operator 'in' matches a list)");
  expect_error(errors, file + ":23:46", rules + "[6].value",
               "expected true or false (field 'ok' is bool), got '1'");
  expect_error(errors, file + ":24:53", rules + "[7].value",
               "expected milliseconds since the epoch or ISO-8601 text (field 'timestamp' is "
               "timestamp), got 'yesterday'");
  expect_error(errors, file + ":25:52", rules + "[8].value", "expected at least one value");
  expect_error(errors, file + ":26:25", rules + "[9].condition",
               "expected an expression, got the string ''");
  expect_error(errors, file + ":26:36", rules + "[9].field",
               "a rule with 'condition' takes no 'field'");
  EXPECT_EQ(errors.size(), 11u) << listing(errors);
}

TEST(ConfigErrorTest, SchemaChecks) {
  const std::string file = data_path("bad/schema_checks.yaml");
  const auto errors = errors_of_file("bad/schema_checks.yaml");
  const std::string fields = "input.format.schema.fields";
  expect_error(errors, file + ":9:43", fields + "[0].unit",
               "'unit' applies only to timestamp fields; 'time' is int64");
  expect_error(errors, file + ":10:49", fields + "[1].allowNaN",
               "'allowNaN' applies only to float32 and float64 fields; 'label' is string");
  expect_error(errors, file + ":11:44", fields + "[2].size",
               "'size' applies only to string fields; 'count' is int32");
  expect_error(errors, file + ":12:18", fields + "[3].name",
               "expected a field name of letters, digits and '_' that does not start with a "
               "digit, got '2nd'");
  expect_error(errors, file + ":13:44", fields + "[4].size",
               "expected an integer from 1 to 255, got '300'");
  // The field list had an error, so eventTime is not checked against it.
  EXPECT_EQ(errors.size(), 5u) << listing(errors);

  const auto event_time = errors_of(
      "input:\n  sources: [{type: generator}]\n  format:\n    type: json\n    schema:\n"
      "      eventTime: temperatur\n      fields: [{name: temperature, type: float64}]\n" +
      kFooter);
  expect_error(event_time, "inline.yaml:6:18", "input.format.schema.eventTime",
               "names unknown field 'temperatur' (did you mean 'temperature'?); fields: "
               "temperature");
  const auto not_timestamp = errors_of(
      "input:\n  sources: [{type: generator}]\n  format:\n    type: json\n    schema:\n"
      "      eventTime: t\n      fields: [{name: t, type: int64}]\n" +
      kFooter);
  expect_error(not_timestamp, "inline.yaml:6:18", "input.format.schema.eventTime",
               "the event-time field must be a timestamp; 't' is int64");
}

TEST(ConfigErrorTest, ProtoSchemaChecks) {
  const std::string file = data_path("bad/proto_units.yaml");
  const auto errors = errors_of_file("bad/proto_units.yaml");
  const std::string schema = "input.format.schema";
  expect_error(errors, file + ":9:18", schema + ".eventTime",
               "the event-time field must be a timestamp; 'timestamp' is int64; give its unit "
               "under 'units', e.g. units: {timestamp: ms}");
  expect_error(errors, file + ":10:26", schema + ".units.timestamp",
               "'iso8601' timestamps need a string field; 'timestamp' is int64");
  expect_error(errors, file + ":10:45", schema + ".units.location",
               "'ms' timestamps need an integer field; 'location' is string");
  expect_error(errors, file + ":10:49", schema + ".units.temprature",
               "unknown key (did you mean 'temperature'?); expected one of: timestamp, sensor_id");
  EXPECT_EQ(errors.size(), 4u) << listing(errors);

  // Inline documents "in" the bad/ folder, so relative .proto paths resolve there.
  auto proto_errors = [](const std::string& schema_text) {
    try {
      parse_config("input:\n  sources: [{type: generator}]\n  format: {type: protobuf, schema: " +
                       schema_text + "}\n" + kFooter,
                   data_path("bad/inline.yaml"));
    } catch (const ConfigError& error) {
      return error.diagnostics();
    }
    ADD_FAILURE() << "no ConfigError for " << schema_text;
    return std::vector<ConfigDiagnostic>{};
  };
  const std::string inline_file = data_path("bad/inline.yaml");
  expect_error(proto_errors("{proto: broken.proto, message: Broken}"), inline_file + ":3:44",
               schema + ".proto", "broken.proto:5:3: error: Expected \";\"");
  expect_message(proto_errors("{proto: missing.proto, message: M}"), schema + ".proto",
                 "no such .proto file");
  expect_message(proto_errors("{proto: ../../../../proto/sensors.proto, message: Reading}"),
                 schema + ".proto", "no message 'Reading'");
  expect_message(proto_errors("{proto: ../../../../proto/sensors.proto, message: [M]}"),
                 schema + ".message", "expected a message name, got a list");
  expect_message(proto_errors("{proto: ../../../../proto/sensors.proto, message: SensorReading, "
                              "units: [timestamp]}"),
                 schema + ".units", "expected a map from field name to time unit, got a list");
  expect_message(proto_errors("{proto: ../../../../proto/sensors.proto, message: SensorReading, "
                              "units: {timestamp: hours}}"),
                 schema + ".units.timestamp", "unknown time unit 'hours'");
}

TEST(ConfigErrorTest, SeveralErrorsAreReportedTogetherInOrder) {
  const std::string file = data_path("bad/several.yaml");
  try {
    load_config(file);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& error) {
    const auto& errors = error.diagnostics();
    ASSERT_EQ(errors.size(), 5u) << listing(errors);
    EXPECT_EQ(errors[0].where.to_string(), file + ":4:17");
    EXPECT_THAT(errors[0].message, HasSubstr("expected a duration"));
    EXPECT_EQ(errors[1].where.to_string(), file + ":7:5");
    EXPECT_THAT(errors[1].message, HasSubstr("did you mean 'validation'?"));
    EXPECT_EQ(errors[2].where.to_string(), file + ":16:21");
    EXPECT_THAT(errors[2].message, HasSubstr("unknown field 'temprature'"));
    // The kafka destination lacks its topic and its brokers.
    EXPECT_EQ(errors[3].where.to_string(), file + ":19:7");
    EXPECT_THAT(errors[3].message, HasSubstr("missing required key 'topic'"));
    EXPECT_EQ(errors[4].where.to_string(), file + ":19:7");
    EXPECT_THAT(errors[4].message, HasSubstr("missing required key 'config'"));
    // what() lists them all, one "FILE:LINE:COL: error: ..." per line.
    const std::string text = error.what();
    EXPECT_THAT(text, StartsWith(file + ":4:17: error: input.sources[0].interval: expected"));
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
  }
}

TEST(ConfigErrorTest, MissingFileIsAUserErrorNotAConfigError) {
  const std::string path = data_path("no/such/file.yaml");
  try {
    load_config(path);
    FAIL() << "no error";
  } catch (const ConfigError&) {
    FAIL() << "a missing file is not a configuration error";
  } catch (const UserError& error) {
    EXPECT_THAT(error.what(), HasSubstr(path));
    EXPECT_THAT(error.what(), HasSubstr("No such file or directory"));
  }
  try {
    load_config(kDataFolder);
    FAIL() << "no error";
  } catch (const ConfigError&) {
    FAIL() << "a folder is not a configuration error";
  } catch (const UserError& error) {
    EXPECT_THAT(error.what(), HasSubstr("Is a directory"));
  }
}

// ---------------------------------------------------------------------------------------------
// Odd documents never crash

TEST(ConfigErrorTest, OddDocumentsGiveErrorsNotCrashes) {
  for (const std::string empty : {"", "\n# only a comment\n", "---\n...\n", "~\n"}) {
    const auto errors = errors_of(empty);
    ASSERT_EQ(errors.size(), 1u) << listing(errors);
    EXPECT_EQ(errors[0].where.to_string(), "inline.yaml:1:1");
    EXPECT_THAT(errors[0].message, StartsWith("the configuration is empty"));
  }
  const auto scalar = errors_of("just text\n");
  ASSERT_EQ(scalar.size(), 1u);
  EXPECT_EQ(scalar[0].message,
            "expected a map with keys input, processing and output, got 'just text'");
  EXPECT_THAT(errors_of("[1, 2]")[0].message, HasSubstr("got a list"));

  const auto two = errors_of(with_pipeline("") + "---\ninput: {}\n");
  expect_error(two, "inline.yaml:15:1", "", "expected one YAML document; a second one starts here");

  // yaml-cpp 0.7 alone would loop without bound on a stray ',' between documents.
  for (const std::string stray : {",", "{\"input\": {}},\n", "[1],"}) {
    const auto errors = errors_of(stray);
    ASSERT_EQ(errors.size(), 1u) << listing(errors);
    EXPECT_EQ(errors[0].message, "YAML syntax error: unexpected ','");
  }
  EXPECT_EQ(errors_of("{\"input\": {}},")[0].where.to_string(), "inline.yaml:1:14");

  // An alias that contains itself.
  expect_message(errors_of("input: &a [*a]\noutput: {destinations: [{type: stdout}]}\n"), "input",
                 "expected a map, got a list");
  expect_message(errors_of("input: {sources: &s [*s], format: {type: json, schema: {fields: "
                           "[{name: x, type: int64}]}}}\n" +
                           kFooter),
                 "input.sources[0]", "expected a map with type, got a list");

  const auto nulls = errors_of(
      "input:\n  sources: [~]\n  format:\n    type:\n    schema: {fields: [null]}\n"
      "  deadLetter:\nprocessing:\noutput: {destinations: [{type: stdout}]}\n");
  expect_error(nulls, "inline.yaml:2:13", "input.sources[0]",
               "expected a map with type, got nothing");
  expect_error(nulls, "inline.yaml:4:5", "input.format.type", "expected a format, got nothing");
  expect_message(nulls, "input.format.schema.fields[0]",
                 "expected a map with name and type, got nothing");
  expect_error(nulls, "inline.yaml:6:3", "input.deadLetter",
               "expected a file path or a map with path, got nothing");
  expect_error(nulls, "inline.yaml:7:1", "processing",
               "expected a map with pipeline and windows, got nothing");

  const auto keys = errors_of("? [a, b]\n: 1\n" + with_pipeline(""));
  expect_error(keys, "inline.yaml:1:3", "", "expected a key name, got a list");

  const auto merge = errors_of("base: &b {type: stdout}\n" + with_pipeline("") + "  x: {<<: *b}\n");
  expect_message(merge, "base", "unknown key");
  expect_message(merge, "output.x", "unknown key");

  const auto merged_key = errors_of(with_pipeline("    - <<: {type: filter}\n"));
  expect_message(merged_key, "processing.pipeline[0].<<",
                 "YAML merge keys are not supported; write the keys out");

  const auto deep = errors_of("input: " + std::string(5000, '[') + std::string(5000, ']'));
  ASSERT_EQ(deep.size(), 1u);
  EXPECT_THAT(deep[0].message, StartsWith("YAML syntax error"));

  const auto binary = errors_of(std::string("\x00\xff\xfe{:[", 6));
  EXPECT_FALSE(binary.empty());
}

TEST(ConfigErrorTest, TagsAndQuotesDecideTypes) {
  EXPECT_EQ(parse_config(kInput + kFooter, "a.yaml").sources[0].generator.events, 100'000u);
  const std::string source =
      "input:\n  sources: [{type: generator, events: !!int 5, seed: !!str 5}]\n"
      "  format: {type: json, schema: {fields: [{name: x, type: int64}]}}\n" +
      kFooter;
  const auto errors = errors_of(source);
  ASSERT_EQ(errors.size(), 1u) << listing(errors);
  EXPECT_EQ(errors[0].message,
            "input.sources[0].seed: expected an integer >= 0, got the string '5'");
  const auto huge = errors_of(
      "input:\n  sources: [{type: generator, events: 99999999999999999999, interval: "
      "999999999999d, jitter: [1s], rate: .inf, start: yesterday, frameRecords: 0}]\n"
      "  format: {type: json, schema: {fields: [{name: x, type: int64}]}}\n" +
      kFooter);
  expect_message(huge, "input.sources[0].events", "expected an integer >= 0");
  expect_message(huge, "input.sources[0].interval", "expected a duration like");
  expect_message(huge, "input.sources[0].jitter",
                 "expected a duration like 500ms, 10s, 1m or 24h, got a list");
  expect_message(huge, "input.sources[0].rate", "expected a number >= 0, got '.inf'");
  expect_message(huge, "input.sources[0].start",
                 "expected an ISO-8601 time like 2026-11-29T04:22:00Z, got 'yesterday'");
  expect_message(huge, "input.sources[0].frameRecords", "expected an integer from 1 to");
  EXPECT_EQ(huge.size(), 6u) << listing(huge);
}

// ---------------------------------------------------------------------------------------------
// The remaining checks, one document each

TEST(ConfigErrorTest, InputChecks) {
  const std::string format = "  format: {type: json, schema: {fields: [{name: x, type: int64}]}}\n";
  auto input = [&](const std::string& sources, const std::string& rest = "") {
    return errors_of("input:\n  sources: " + sources + "\n" + format + rest + kFooter);
  };
  expect_message(input("[]"), "input.sources", "expected at least one source");
  expect_message(input("[{name: feed}]"), "input.sources[0]", "missing required key 'type'");
  expect_message(input("[{type: generator, name: ''}]"), "input.sources[0].name",
                 "expected a name, got the string ''");
  expect_message(input("[{type: file, path: '', rate: fast}]"), "input.sources[0].path",
                 "expected a file path, got the string ''");
  expect_message(input("[{type: file, path: a, rate: fast}]"), "input.sources[0].rate",
                 "expected a number >= 0, got 'fast'");
  expect_message(input("[{type: generator, interval: 0s}]"), "input.sources[0].interval",
                 "expected a duration of at least 1ns, got '0s'");
  expect_message(input("[{type: generator}]", "  deadLetter: [a]\n"), "input.deadLetter",
                 "expected a file path or a map with path, got a list");
  expect_message(input("[{type: generator}]", "  deadLetter: {file: a}\n"), "input.deadLetter",
                 "missing required key 'path'");

  auto schema = [&](const std::string& body) {
    return errors_of("input:\n  sources: [{type: generator}]\n  format: {type: json, schema: " +
                     body + "}\n" + kFooter);
  };
  expect_message(schema("{}"), "input.format.schema",
                 "missing required key 'fields' (a list of fields; or give 'proto' and "
                 "'message')");
  expect_message(schema("{message: M, units: {}}"), "input.format.schema.message",
                 "'message' needs 'proto'");
  expect_message(schema("{message: M, units: {}}"), "input.format.schema.units",
                 "'units' needs 'proto'");
  expect_message(schema("{fields: [], message: M}"), "input.format.schema.fields",
                 "expected at least one field");
  expect_message(schema("{fields: [{name: x, type: int64}], message: M}"),
                 "input.format.schema.message", "'message' needs 'proto'");
  expect_message(schema("{fields: [{name: x, type: int64}], units: {x: ms}}"),
                 "input.format.schema.units", "'units' applies to a .proto schema");
  expect_message(schema("{fields: [{name: x, type: int64}], proto: a.proto, message: M}"),
                 "input.format.schema.proto", "give either 'fields' or 'proto'");
  expect_message(schema("{proto: a.proto}"), "input.format.schema",
                 "missing required key 'message'");
  expect_message(schema("{fields: [{name: x, type: int64}], id: -1}"), "input.format.schema.id",
                 "expected an integer from 0 to 4294967295, got '-1'");
  expect_message(schema("{fields: [{name: x, type: int64, protoField: 0, required: maybe}]}"),
                 "input.format.schema.fields[0].protoField",
                 "expected an integer from 1 to 536870911, got '0'");
  expect_message(schema("{fields: [{name: x, type: int64, required: maybe}]}"),
                 "input.format.schema.fields[0].required", "expected true or false, got 'maybe'");
  expect_message(schema("{fields: [{name: x, type: float32, allowNaN: 1}]}"),
                 "input.format.schema.fields[0].allowNaN", "expected true or false, got '1'");
  expect_message(schema("{fields: [{name: x, type: float32}], eventTime: [x]}"),
                 "input.format.schema.eventTime", "expected a field name, got a list");
  expect_message(schema("{fields: [{name: x, type: int64}, {type: int64}], eventTime: [x]}"),
                 "input.format.schema.eventTime", "expected a field name, got a list");
  expect_message(schema("{fields: [{name: x, type: int64}, x]}"), "input.format.schema.fields[1]",
                 "expected a map with name and type, got 'x'");
}

TEST(ConfigErrorTest, FilterChecks) {
  const std::string rules = "processing.pipeline[0].config.rules";
  expect_message(errors_of(with_rule("{condition: 'ok', operator: range}")), rules + "[0].operator",
                 "a rule with 'condition' takes no operator");
  expect_message(errors_of(with_rule("{condition: 'ok', value: 1}")), rules + "[0].value",
                 "a rule with 'condition' takes no 'value'");
  expect_message(errors_of(with_rule("{operator: condition}")), rules + "[0]",
                 "missing required key 'condition'");
  expect_message(errors_of(with_rule("{condition: [a]}")), rules + "[0].condition",
                 "expected an expression, got a list");
  expect_message(errors_of(with_rule("{field: ok, operator: gt, value: 1}")),
                 rules + "[0].operator", "operator 'gt' needs a number or timestamp field");
  expect_message(errors_of(with_rule("{field: temperature, operator: range, value: 5}")),
                 rules + "[0].value", "expected a list of two numbers [low, high], got '5'");
  expect_message(errors_of(with_rule("{field: temperature, operator: range}")), rules + "[0]",
                 "missing required key 'value' (a list [low, high])");
  expect_message(errors_of(with_rule("{field: location, operator: in}")), rules + "[0]",
                 "missing required key 'value' (a list of values)");
  expect_message(errors_of(with_rule("{field: location, operator: not_in, value: a}")),
                 rules + "[0].value", "expected a list of values, got 'a'");
  expect_message(errors_of(with_rule("{field: location, operator: in, value: [[a]]}")),
                 rules + "[0].value[0]",
                 "expected a number, text or true/false (field 'location' "
                 "is string), got a list");
  expect_message(errors_of(with_rule("x")), rules + "[0]",
                 "expected a map with field, operator and value, or with condition, got 'x'");
  expect_message(errors_of(with_rule("{field: [t], operator: gt, value: 1}")), rules + "[0].field",
                 "expected a field name, got a list");
  expect_message(
      errors_of(with_pipeline("    - {type: filter, config: {rules: [], rejects: ''}}\n")),
      "processing.pipeline[0].config.rules", "expected at least one rule");
  expect_message(
      errors_of(with_pipeline("    - {type: filter, config: {rules: [], rejects: ''}}\n")),
      "processing.pipeline[0].config.rejects", "expected a file path, got the string ''");
  expect_message(errors_of(with_pipeline("    - {type: filter, config: [a]}\n")),
                 "processing.pipeline[0].config", "expected a map with rules, got a list");
  expect_message(errors_of(with_pipeline("    - {type: filter, name: '', config: {}}\n")),
                 "processing.pipeline[0].name", "expected a name, got the string ''");
  expect_message(errors_of(with_pipeline("    - filter\n")), "processing.pipeline[0]",
                 "expected a map with type and config, got 'filter'");
  expect_message(errors_of(kInput + "processing:\n  pipeline: {}\n" + kFooter),
                 "processing.pipeline", "expected a list of stages, got a map");

  // A field whose own declaration was wrong is known by name; its values are not type-checked.
  const auto bad_type = errors_of(
      "input:\n  sources: [{type: generator}]\n"
      "  format: {type: json, schema: {fields: [{name: x, type: decimal}]}}\n"
      "processing:\n  pipeline:\n"
      "    - {type: filter, config: {rules: [{field: x, operator: in, value: [1, a, true]}]}}\n" +
      kFooter);
  ASSERT_EQ(bad_type.size(), 1u) << listing(bad_type);
  // With no usable schema at all, references are not checked.
  const auto no_schema = errors_of(
      "input:\n  sources: [{type: generator}]\n  format: {type: json, schema: []}\n"
      "processing:\n  pipeline:\n"
      "    - {type: filter, config: {rules: [{field: y, operator: eq, value: 1}]}}\n" +
      kFooter);
  ASSERT_EQ(no_schema.size(), 1u) << listing(no_schema);
}

TEST(ConfigErrorTest, TransformChecks) {
  auto errors = [](const std::string& operation) {
    return errors_of(with_operations({operation}));
  };
  const std::string at = "processing.pipeline[0].config.operations[0]";
  expect_message(errors("{type: add-field, field: a, value: 1, expression: 'x'}"),
                 at + ".expression", "give either 'value' or 'expression', not both");
  expect_message(errors("{type: add-field, field: a}"), at,
                 "missing required key 'value' (a constant or \"now()\"; or give 'expression')");
  expect_message(errors("{type: add-field, field: a, value: now(), as: int32}"), at + ".as",
                 "now() gives a timestamp");
  expect_message(errors("{type: add-field, field: a, value: abc, as: int32}"), at + ".value",
                 "expected a number ('as' is int32), got 'abc'");
  expect_message(errors("{type: add-field, field: a, value: '2026-01-01T00:00:00Z', as: "
                        "timestamp}"),
                 at + ".value", "expected a number ('as' is timestamp)");
  expect_message(errors("{type: add-field, field: a b, value: 1}"), at + ".field",
                 "expected a field name of letters, digits and '_'");
  expect_message(errors("{type: add-field, field: a, expression: ' '}"), at + ".expression",
                 "expected an expression");
  expect_message(errors("{type: add-field, field: a, value: [1]}"), at + ".value",
                 "expected a number, text or true/false, got a list");
  expect_message(errors("{type: calculate, field: a}"), at, "missing required key 'formula'");
  expect_message(errors("{type: calculate, field: a, formula: x, expression: y}"),
                 at + ".expression", "unknown key; expected one of: type, field, formula, as");
  expect_message(errors("{type: calculate, field: '9', formula: x, as: int}"), at + ".as",
                 "unknown data type 'int'");
  expect_message(errors("{type: calculate, field: '9', formula: x}"), at + ".field",
                 "expected a field name");
  expect_message(errors("{type: rename, field: temperature, to: humidity}"), at + ".to",
                 "rename target 'humidity' already exists");
  expect_message(errors("{type: rename, field: temperatur, to: t}"), at + ".field",
                 "rename on unknown field 'temperatur' (did you mean 'temperature'?)");
  expect_message(errors("{type: rename, field: temperature, to: 't-1'}"), at + ".to",
                 "expected a field name");
  expect_message(errors("{type: rename}"), at, "missing required key 'field'");
  expect_message(errors("{type: rename}"), at, "missing required key 'to'");
  expect_message(errors("{type: drop, field: ok, fields: [ok]}"), at + ".fields",
                 "give either 'field' or 'fields', not both");
  expect_message(errors("{type: drop}"), at, "missing required key 'field'");
  expect_message(errors("{type: drop, fields: []}"), at + ".fields",
                 "expected at least one field name");
  expect_message(errors("{type: drop, fields: [temperature, okk]}"), at + ".fields[1]",
                 "drop on unknown field 'okk' (did you mean 'ok'?)");
  expect_message(errors("{type: drop, fields: ok}"), at + ".fields",
                 "expected a list of field names, got 'ok'");
  expect_message(errors("{type: cast, field: nothing, to: int64}"), at + ".field",
                 "cast on unknown field 'nothing'");
  expect_message(errors("{type: cast, field: ok}"), at, "missing required key 'to'");
  expect_message(errors("{field: a}"), at, "missing required key 'type'");
  expect_message(errors("{type: upsert, field: a, anything: 1}"), at + ".type",
                 "unknown operation type 'upsert'");
  expect_message(errors("[a]"), at, "expected a map with type and field, got a list");
  expect_message(errors_of(with_pipeline("    - {type: transform, config: {operations: []}}\n")),
                 "processing.pipeline[0].config.operations", "expected at least one operation");
  expect_message(errors_of(with_pipeline("    - {type: transform, config: {}}\n")),
                 "processing.pipeline[0].config", "missing required key 'operations'");
}

TEST(ConfigErrorTest, OutputChecks) {
  const std::string& head = kInput;
  expect_message(errors_of(head + "output: {destinations: []}\n"), "output.destinations",
                 "expected at least one destination");
  expect_message(errors_of(head + "output: {destinations: [stdout]}\n"), "output.destinations[0]",
                 "expected a map with type, got 'stdout'");
  expect_message(errors_of(head + "output: {destinations: [{path: a}]}\n"),
                 "output.destinations[0]",
                 "missing required key 'type' (one of: stdout, jsonl, websocket, kafka");
  expect_message(errors_of(head + "output: {destinations: [{type: stdout, path: a}]}\n"),
                 "output.destinations[0].path", "unknown key; expected one of: type");
  expect_message(errors_of(head + "output: []\n"), "output",
                 "expected a map with destinations, got a list");
  expect_message(errors_of(head), "", "missing required key 'output'");
}

/// Expects a diagnostic at `where` (FILE:LINE:COL) whose whole message is `message`.
void expect_exact(const std::vector<ConfigDiagnostic>& diagnostics, const std::string& where,
                  const std::string& message) {
  for (const auto& diagnostic : diagnostics) {
    if (diagnostic.where.to_string() == where && diagnostic.message == message) return;
  }
  ADD_FAILURE() << "no error at " << where << " reading '" << message << "'; got:\n"
                << listing(diagnostics);
}

TEST(WindowErrorTest, TypesAndDurations) {
  const auto errors =
      errors_of(with_processing("  windows:\n"
                                "    - {type: tumblin, size: 1m}\n"
                                "    - {name: a, type: tumbling}\n"
                                "    - {name: b, type: tumbling, size: 1m, slide: 1m, gap: 1s}\n"
                                "    - {name: c, type: sliding, size: 1m, slide: 2m}\n"
                                "    - {name: d, type: session, size: 1m, gap: 0s}\n"
                                "    - {name: e, type: sliding, size: 1m}\n"
                                "    - {name: f, type: session}\n"
                                "    - {name: g, type: tumbling, size: 1m, sise: 1m}\n"));
  expect_exact(errors, "inline.yaml:15:14",
               "processing.windows[0].type: unknown window type 'tumblin' (did you mean "
               "'tumbling'?); expected one of: tumbling, sliding, session");
  expect_exact(errors, "inline.yaml:16:7",
               "processing.windows[1]: missing required key 'size' (the window length, a "
               "duration such as 1m)");
  expect_exact(errors, "inline.yaml:17:50",
               "processing.windows[2].slide: 'slide' applies only to sliding windows; this one "
               "is tumbling");
  expect_exact(errors, "inline.yaml:17:59",
               "processing.windows[2].gap: 'gap' applies only to session windows; this one is "
               "tumbling");
  expect_exact(errors, "inline.yaml:18:49",
               "processing.windows[3].slide: the slide (2m) must not exceed the size (1m)");
  expect_exact(errors, "inline.yaml:19:38",
               "processing.windows[4].size: 'size' applies only to tumbling and sliding windows; "
               "this one is session");
  expect_exact(errors, "inline.yaml:19:47",
               "processing.windows[4].gap: expected a duration of at least 1ns, got '0s'");
  expect_exact(errors, "inline.yaml:20:7",
               "processing.windows[5]: missing required key 'slide' (how far each window starts "
               "after the previous, a duration such as 30s)");
  expect_exact(errors, "inline.yaml:21:7",
               "processing.windows[6]: missing required key 'gap' (the inactivity that closes a "
               "session, a duration such as 30s)");
  expect_exact(errors, "inline.yaml:22:43",
               "processing.windows[7].sise: unknown key (did you mean 'size'?); expected one of: "
               "name, type, size, slide, gap, metrics, groupBy, measures, accuracy");
  EXPECT_EQ(errors.size(), 10u) << listing(errors);

  const auto scalar = errors_of(with_processing("  windows: tumbling\n"));
  ASSERT_EQ(scalar.size(), 1u) << listing(scalar);
  expect_exact(scalar, "inline.yaml:14:12",
               "processing.windows: expected a list of windows, or a map with types and default, "
               "got 'tumbling'");
  const auto empty = errors_of(with_processing("  windows: []\n"));
  ASSERT_EQ(empty.size(), 1u) << listing(empty);
  expect_exact(empty, "inline.yaml:14:12", "processing.windows: expected at least one window");
}

TEST(WindowErrorTest, NamesAreUnique) {
  const auto errors =
      errors_of(with_processing("  windows:\n"
                                "    - {type: tumbling, size: 1m}\n"
                                "    - {type: tumbling, size: 5m}\n"
                                "    - {name: x, type: session, gap: 1s}\n"
                                "    - {name: x, type: session, gap: 2s}\n"
                                "    - {name: '', type: session, gap: 2s}\n"));
  expect_exact(errors, "inline.yaml:16:7",
               "processing.windows[1]: duplicate window name 'tumbling' (first at line 15, column "
               "7); an unnamed window is named after its type, so give it a 'name'");
  expect_exact(errors, "inline.yaml:18:14",
               "processing.windows[3].name: duplicate window name 'x' (first at line 17, column "
               "7)");
  expect_exact(errors, "inline.yaml:19:14",
               "processing.windows[4].name: expected a name, got the string ''");
  EXPECT_EQ(errors.size(), 3u) << listing(errors);
}

TEST(WindowErrorTest, MetricNamesAreChecked) {
  const std::string expected =
      "; expected one of: count, sum, avg, mean, min, max, variance, variance_pop, stddev, "
      "stddev_pop, median, trend, first, last, percentile, percentile_disc, approx_percentile, "
      "or pN, pN_disc or approx_pN with N greater than 0 and at most 100 (p95, p99.9)";
  const auto errors = errors_of(with_processing(
      "  windows:\n"
      "    - name: a\n"
      "      type: tumbling\n"
      "      size: 1m\n"
      "      metrics: [stdev, p95_dsic, p0, p101, p05, p99.90, p99., avg, mean, percentile, p95, "
      "x]\n"
      "    - {name: b, type: tumbling, size: 1m, metrics: []}\n"
      "    - {name: c, type: tumbling, size: 1m, metrics: avg}\n"));
  const std::string at = "processing.windows[0].metrics";
  expect_exact(errors, "inline.yaml:18:17",
               at + "[0]: unknown metric 'stdev' (did you mean 'stddev'?)" + expected);
  expect_exact(errors, "inline.yaml:18:24",
               at + "[1]: unknown metric 'p95_dsic' (did you mean 'p95_disc'?)" + expected);
  expect_exact(errors, "inline.yaml:18:34",
               at + "[2]: percentile 'p0' is out of range: N must be greater than 0 and at most "
                    "100");
  expect_exact(errors, "inline.yaml:18:38",
               at + "[3]: percentile 'p101' is out of range: N must be greater than 0 and at "
                    "most 100");
  expect_exact(errors, "inline.yaml:18:44",
               at + "[4]: write 'p5' instead of 'p05', so that each percentile has one column "
                    "name");
  expect_exact(errors, "inline.yaml:18:49",
               at + "[5]: write 'p99.9' instead of 'p99.90', so that each percentile has one "
                    "column name");
  expect_exact(errors, "inline.yaml:18:57",
               at + "[6]: expected pN, pN_disc or approx_pN with N greater than 0 and at most "
                    "100 (p95, p99.9), got 'p99.'");
  expect_exact(errors, "inline.yaml:18:68",
               at + "[8]: duplicate metric 'avg' from 'mean' (first at line 18, column 63)");
  expect_exact(errors, "inline.yaml:18:86",
               at + "[10]: duplicate metric 'p95' (first from 'percentile' at line 18, column "
                    "74)");
  expect_exact(errors, "inline.yaml:18:91", at + "[11]: unknown metric 'x'" + expected);
  expect_exact(errors, "inline.yaml:19:52",
               "processing.windows[1].metrics: expected at least one metric");
  expect_exact(errors, "inline.yaml:20:52",
               "processing.windows[2].metrics: expected a list of metric names, got 'avg'");
  EXPECT_EQ(errors.size(), 12u) << listing(errors);

  const std::string window = "  windows: [{type: tumbling, size: 1m}]\n";
  const auto map = errors_of(with_processing("  metrics: {basics: [avg]}\n" + window));
  expect_exact(map, "inline.yaml:14:12",
               "processing.metrics: missing required key 'basic' (a list of metric names; or "
               "give 'advanced')");
  expect_exact(map, "inline.yaml:14:13",
               "processing.metrics.basics: unknown key (did you mean 'basic'?); expected one of: "
               "basic, advanced");
  EXPECT_EQ(map.size(), 2u) << listing(map);
  const auto across =
      errors_of(with_processing("  metrics: {basic: [sum], advanced: [stddev, sum]}\n" + window));
  ASSERT_EQ(across.size(), 1u) << listing(across);
  expect_exact(across, "inline.yaml:14:46",
               "processing.metrics.advanced[1]: duplicate metric 'sum' (first at line 14, column "
               "21)");
}

TEST(WindowErrorTest, MapFormChecks) {
  const auto errors =
      errors_of(with_processing("  windows:\n"
                                "    types: [tumbling, session, tumbling, hopping]\n"
                                "    default: {size: 1m, slide: 30s, gapp: 1s}\n"));
  expect_exact(errors, "inline.yaml:15:32",
               "processing.windows.types[2]: duplicate window type 'tumbling' (first at line 15, "
               "column 13)");
  expect_exact(errors, "inline.yaml:15:42",
               "processing.windows.types[3]: unknown window type 'hopping'; expected one of: "
               "tumbling, sliding, session");
  expect_exact(errors, "inline.yaml:16:32",
               "processing.windows.default.slide: 'slide' applies only to sliding windows, and "
               "types has none");
  expect_exact(errors, "inline.yaml:16:37",
               "processing.windows.default.gapp: unknown key (did you mean 'gap'?); expected one "
               "of: size, slide, gap");
  EXPECT_EQ(errors.size(), 4u) << listing(errors);

  const auto slide =
      errors_of(with_processing("  windows: {types: [sliding], default: {slide: 2m, size: 1m}}\n"));
  ASSERT_EQ(slide.size(), 1u) << listing(slide);
  expect_exact(slide, "inline.yaml:14:48",
               "processing.windows.default.slide: the slide (2m) must not exceed the size (1m)");
  const auto shape = errors_of(with_processing("  windows: {default: [1]}\n"));
  expect_exact(shape, "inline.yaml:14:12",
               "processing.windows: missing required key 'types' (a list of window types: "
               "tumbling, sliding, session)");
  expect_exact(shape, "inline.yaml:14:22",
               "processing.windows.default: expected a map with size, slide and gap, got a list");
  EXPECT_EQ(shape.size(), 2u) << listing(shape);
}

TEST(WindowErrorTest, EventTimeMustReachTheWindows) {
  const std::string no_event_time =
      "input:\n  sources: [{type: generator}]\n"
      "  format: {type: json, schema: {fields: [{name: t, type: timestamp}, {name: x, type: "
      "float64}]}}\n"
      "processing:\n  time: event\n  windows: [{type: tumbling, size: 1m}]\n" +
      kFooter;
  const auto missing = errors_of(no_event_time);
  ASSERT_EQ(missing.size(), 1u) << listing(missing);
  expect_exact(missing, "inline.yaml:6:12",
               "processing.windows: windows on event time need input.format.schema.eventTime (a "
               "timestamp field); set it, or set processing.time: processing");

  const std::string window = "  windows: [{type: tumbling, size: 1m}]\n";
  const auto dropped = errors_of(with_processing(
      "  pipeline:\n"
      "    - {type: transform, config: {operations: [{type: drop, field: timestamp}]}}\n" +
      window));
  ASSERT_EQ(dropped.size(), 1u) << listing(dropped);
  expect_exact(dropped, "inline.yaml:16:12",
               "processing.windows: windows on event time read the field 'timestamp', which the "
               "pipeline removes or renames; keep it, or set processing.time: processing");
  const auto cast = errors_of(with_processing(
      "  pipeline:\n"
      "    - {type: transform, config: {operations: [{type: cast, field: timestamp, to: "
      "int64}]}}\n" +
      window));
  ASSERT_EQ(cast.size(), 1u) << listing(cast);
  expect_exact(cast, "inline.yaml:16:12",
               "processing.windows: windows on event time read the field 'timestamp', which the "
               "pipeline turns into int64; keep it a timestamp, or set processing.time: "
               "processing");

  const auto mode = errors_of(with_processing("  time: evnt\n" + window));
  ASSERT_EQ(mode.size(), 1u) << listing(mode);
  expect_exact(mode, "inline.yaml:14:9",
               "processing.time: unknown time mode 'evnt' (did you mean 'event'?); expected one "
               "of: event, processing");

  // A wrong eventTime is reported where it is written, not again at the windows.
  const auto wrong = errors_of(
      "input:\n  sources: [{type: generator}]\n"
      "  format: {type: json, schema: {eventTime: x, fields: [{name: x, type: float64}]}}\n"
      "processing:\n" +
      window + kFooter);
  ASSERT_EQ(wrong.size(), 1u) << listing(wrong);
  EXPECT_THAT(wrong[0].message, HasSubstr("the event-time field must be a timestamp"));
}

TEST(WindowErrorTest, WatermarkAndLateEvents) {
  const auto errors = errors_of(
      with_processing("  watermark: {maxOutOfOrderness: 5, allowedLatenes: 1m, idleTimeout: -1s}\n"
                      "  lateEvents: ''\n"));
  expect_exact(errors, "inline.yaml:14:34",
               "processing.watermark.maxOutOfOrderness: expected a duration like 500ms, 10s, 1m "
               "or 24h, got '5'");
  expect_exact(errors, "inline.yaml:14:37",
               "processing.watermark.allowedLatenes: unknown key (did you mean "
               "'allowedLateness'?); expected one of: maxOutOfOrderness, allowedLateness, "
               "idleTimeout");
  expect_exact(errors, "inline.yaml:14:70",
               "processing.watermark.idleTimeout: expected a duration like 500ms, 10s, 1m or 24h, "
               "got '-1s'");
  expect_exact(errors, "inline.yaml:15:15",
               "processing.lateEvents: expected a file path, got the string ''");
  EXPECT_EQ(errors.size(), 4u) << listing(errors);
  const auto scalar = errors_of(with_processing("  watermark: 5s\n"));
  ASSERT_EQ(scalar.size(), 1u) << listing(scalar);
  expect_exact(scalar, "inline.yaml:14:14",
               "processing.watermark: expected a map with maxOutOfOrderness, allowedLateness and "
               "idleTimeout, got '5s'");
}

TEST(WindowErrorTest, GroupByAndMeasuresNameFieldsThatReachTheWindows) {
  const std::string fields =
      "; fields after the pipeline: timestamp, temperature, humidity, location, ok";
  const std::string numeric = "a measure must be an int32, int64, float32 or float64 field; ";
  const auto errors =
      errors_of(with_processing("  groupBy: [locaton, location, ok, location]\n"
                                "  aggregations:\n"
                                "    dimensions: [location]\n"
                                "    measures: [temperature, location, humidty, timestamp, ok]\n"
                                "    measure: [x]\n"
                                "  windows:\n"
                                "    - {type: tumbling, size: 1m}\n"));
  expect_exact(
      errors, "inline.yaml:14:13",
      "processing.groupBy[0]: unknown field 'locaton' (did you mean 'location'?)" + fields);
  expect_exact(errors, "inline.yaml:14:36",
               "processing.groupBy[3]: duplicate group-by field 'location' (first at line 14, "
               "column 22)");
  expect_exact(errors, "inline.yaml:16:17",
               "processing.aggregations.dimensions: give either processing.groupBy or "
               "aggregations.dimensions, not both");
  expect_exact(errors, "inline.yaml:17:29",
               "processing.aggregations.measures[1]: " + numeric + "'location' is string");
  expect_exact(errors, "inline.yaml:17:39",
               "processing.aggregations.measures[2]: unknown field 'humidty' (did you mean "
               "'humidity'?)" +
                   fields);
  expect_exact(errors, "inline.yaml:17:48",
               "processing.aggregations.measures[3]: " + numeric + "'timestamp' is timestamp");
  expect_exact(errors, "inline.yaml:17:59",
               "processing.aggregations.measures[4]: " + numeric + "'ok' is bool");
  expect_exact(errors, "inline.yaml:18:5",
               "processing.aggregations.measure: unknown key (did you mean 'measures'?); expected "
               "one of: dimensions, measures");
  EXPECT_EQ(errors.size(), 8u) << listing(errors);

  const auto overlap = errors_of(with_processing(
      "  aggregations: {measures: [temperature, humidity]}\n"
      "  windows:\n"
      "    - {type: tumbling, size: 1m, groupBy: [temperature]}\n"
      "    - {name: b, type: tumbling, size: 1m, measures: []}\n"
      "    - {name: c, type: tumbling, size: 1m, measures: [humidity], groupBy: [humidity]}\n"));
  expect_exact(overlap, "inline.yaml:14:29",
               "processing.aggregations.measures[0]: 'temperature' is a group-by field of window "
               "'tumbling', so it cannot also be a measure");
  expect_exact(overlap, "inline.yaml:17:53",
               "processing.windows[1].measures: expected at least one measure");
  expect_exact(overlap, "inline.yaml:18:54",
               "processing.windows[2].measures[0]: 'humidity' is a group-by field of window 'c', "
               "so it cannot also be a measure");
  EXPECT_EQ(overlap.size(), 3u) << listing(overlap);

  const auto nothing = errors_of(with_processing(
      "  windows: [{type: tumbling, size: 1m, groupBy: [temperature, humidity]}]\n"));
  ASSERT_EQ(nothing.size(), 1u) << listing(nothing);
  expect_exact(nothing, "inline.yaml:14:13",
               "processing.windows[0]: no numeric field outside the group-by reaches window "
               "'tumbling', so it has nothing to measure" +
                   fields);
}

TEST(WindowErrorTest, AccuracyIsForApproximatePercentiles) {
  const auto errors = errors_of(with_processing(
      "  windows:\n"
      "    - {name: a, type: tumbling, size: 1m, metrics: [approx_p99], accuracy: 1}\n"
      "    - {name: b, type: tumbling, size: 1m, metrics: [p99], accuracy: 0.5}\n"
      "    - {name: c, type: tumbling, size: 1m, metrics: [approx_p99], accuracy: low}\n"));
  expect_exact(errors, "inline.yaml:15:76",
               "processing.windows[0].accuracy: expected a number greater than 0 and less than 1, "
               "got '1'");
  expect_exact(errors, "inline.yaml:16:69",
               "processing.windows[1].accuracy: 'accuracy' applies only to approximate "
               "percentiles (approx_p95, approx_percentile, ...); window 'b' computes none");
  expect_exact(errors, "inline.yaml:17:76",
               "processing.windows[2].accuracy: expected a number greater than 0 and less than 1, "
               "got 'low'");
  EXPECT_EQ(errors.size(), 3u) << listing(errors);
}

TEST(WindowErrorTest, ResultColumnsMustNotCollide) {
  const auto errors = errors_of(
      with_processing("  pipeline:\n"
                      "    - type: transform\n"
                      "      config:\n"
                      "        operations:\n"
                      "          - {type: rename, field: ok, to: count}\n"
                      "          - {type: rename, field: humidity, to: temperature_approx}\n"
                      "  windows:\n"
                      "    - {type: tumbling, size: 1m, groupBy: [count], metrics: [p50]}\n"
                      "    - {name: x, type: tumbling, size: 1m, metrics: [p50, approx_p50]}\n"));
  expect_exact(errors, "inline.yaml:21:44",
               "processing.windows[0].groupBy[0]: group-by field 'count' has the name of the "
               "result column 'count'; rename it in a transform first");
  expect_exact(errors, "inline.yaml:22:7",
               "processing.windows[1]: window 'x' would write the column "
               "'temperature_approx_p50' twice (measure 'temperature_approx', metric 'p50'); "
               "rename a field in a transform first");
  EXPECT_EQ(errors.size(), 2u) << listing(errors);
}

// Lines 14-17 of the alert documents: three windows.
const std::string kAlertWindows =
    "  windows:\n"
    "    - {name: minute, type: tumbling, size: 1m, metrics: [avg, max]}\n"
    "    - {type: sliding, size: 5m, slide: 1m, metrics: [trend]}\n"
    "    - {type: session, gap: 30s, metrics: [p95]}\n";
const std::string kWindowList =
    "windows: minute (tumbling, size 1m), sliding (sliding, size 5m, slide 1m), session "
    "(session, gap 30s)";

TEST(AlertErrorTest, ConditionsAreChecked) {
  // Conditions start on line 22.
  const auto errors =
      errors_of(with_processing(kAlertWindows,
                                "    conditions:\n"
                                "      - {metric: temperature, operator: gte, value: 100}\n"
                                "      - {metric: temperature_max, operator: gt, value: '100'}\n"
                                "      - {operator: gt}\n"
                                "      - {metric: '', operator: gt, value: 1, windw: minute}\n"));
  const std::string at = "output.alerts.conditions";
  expect_exact(errors, "inline.yaml:22:41",
               at + "[0].operator: unknown operator 'gte' (did you mean 'gt'?); expected one of: "
                    "gt, ge, lt, le, eq, ne");
  expect_exact(errors, "inline.yaml:23:56",
               at + "[1].value: expected a number, got the string '100'");
  expect_exact(errors, "inline.yaml:24:9",
               at + "[2]: missing required key 'metric' (a result column such as "
                    "temperature_max, or a measure)");
  expect_exact(errors, "inline.yaml:24:9",
               at + "[2]: missing required key 'value' (the number to compare with)");
  expect_exact(errors, "inline.yaml:25:18", at + "[3].metric: expected a name, got the string ''");
  expect_exact(errors, "inline.yaml:25:46",
               at + "[3].windw: unknown key (did you mean 'window'?); expected one of: metric, "
                    "operator, value, window");
  EXPECT_EQ(errors.size(), 6u) << listing(errors);

  const auto empty = errors_of(with_processing(kAlertWindows, "    conditions: []\n"));
  ASSERT_EQ(empty.size(), 1u) << listing(empty);
  expect_exact(empty, "inline.yaml:21:17",
               "output.alerts.conditions: expected at least one condition");
}

TEST(AlertErrorTest, MetricsAndWindowsMustExist) {
  const auto errors = errors_of(
      with_processing(kAlertWindows,
                      "    conditions:\n"
                      "      - {metric: temperature, operator: eq, value: 100}\n"
                      "      - {metric: temprature_max, operator: gt, value: 1, window: minute}\n"
                      "      - {metric: temperature_max, operator: gt, value: 1, window: minit}\n"
                      "      - {metric: temperature_max, operator: gt, value: 1, window: 10m}\n"
                      "      - {metric: x, operator: gt, value: 1}\n"
                      "      - {metric: humidity_p95, operator: gt, value: 1, window: 5m}\n"));
  const std::string at = "output.alerts.conditions";
  expect_exact(errors, "inline.yaml:22:41",
               at + "[0].operator: operator 'eq' needs a result column such as "
                    "'temperature_max'; a bare measure compares the window's max (gt, ge) or min "
                    "(lt, le)");
  expect_exact(errors, "inline.yaml:23:18",
               at + "[1].metric: 'temprature_max' is neither a measure nor a result column of "
                    "window 'minute' (did you mean 'temperature_max'?); measures: temperature, "
                    "humidity; columns: count, temperature_avg, temperature_max, humidity_avg, "
                    "humidity_max");
  expect_exact(
      errors, "inline.yaml:24:67",
      at + "[2].window: no window is named 'minit' (did you mean 'minute'?); " + kWindowList);
  expect_exact(errors, "inline.yaml:25:67",
               at + "[3].window: no window is named '10m' or has size 10m; " + kWindowList);
  expect_exact(errors, "inline.yaml:26:18",
               at + "[4].metric: 'x' is neither a measure nor a result column of any window; "
                    "measures: temperature, humidity; columns: count, temperature_avg, "
                    "temperature_max, humidity_avg, humidity_max, temperature_trend, "
                    "humidity_trend, temperature_p95, humidity_p95");
  expect_exact(errors, "inline.yaml:27:18",
               at + "[5].metric: 'humidity_p95' is neither a measure nor a result column of "
                    "window 'sliding' (did you mean 'humidity'?); measures: temperature, "
                    "humidity; columns: count, temperature_trend, humidity_trend");
  EXPECT_EQ(errors.size(), 6u) << listing(errors);

  const auto sized = errors_of(with_processing(
      "  windows:\n"
      "    - {name: a, type: tumbling, size: 5m, metrics: [max]}\n"
      "    - {name: b, type: sliding, size: 5m, slide: 1m, metrics: [p95]}\n",
      "    conditions: [{metric: humidity_min, operator: lt, value: 1, window: 5m}]\n"));
  ASSERT_EQ(sized.size(), 1u) << listing(sized);
  expect_exact(sized, "inline.yaml:20:27",
               at + "[0].metric: 'humidity_min' is neither a measure nor a result column of the "
                    "windows of size 5m (did you mean 'humidity_max'?); measures: temperature, "
                    "humidity; columns: count, temperature_max, humidity_max, temperature_p95, "
                    "humidity_p95");

  const auto no_windows =
      errors_of(with_pipeline("") +
                "  alerts:\n    conditions: [{metric: temperature, operator: gt, value: 1}]\n");
  ASSERT_EQ(no_windows.size(), 1u) << listing(no_windows);
  expect_exact(no_windows, "inline.yaml:16:5",
               "output.alerts: alerts are checked on window results, but processing.windows "
               "defines none");
}

TEST(ConfigTest, AlertNotificationsAreRead) {
  const std::string conditions = "    conditions: [{metric: count, operator: gt, value: 1}]\n";
  const Config config = parse_config(with_processing(kAlertWindows, conditions + R"(
    notifications: [email, webhook]
    cooldown: 10m
    webhook:
      url: "https://hooks.example.com/ldh/"
      headers: {Authorization: "Bearer s3cret", X-Source: ldh}
      timeout: 3s
      tls: {caFile: ca.pem}
      retry: {maxAttempts: 8}
    email:
      smtp: "smtp://127.0.0.1:2525"
      from: ldh@example.com
      to: [ops@example.com, oncall@example.com]
      startTls: true
      username: ldh
      password: pa55
      timeout: 20s
      deadLetter: mail-dead.jsonl
)"),
                                     "/configs/inline.yaml");
  const AlertConfig& alerts = config.alerts;
  EXPECT_EQ(alerts.notifications, (std::vector<NotificationChannel>{NotificationChannel::email,
                                                                    NotificationChannel::webhook}));
  EXPECT_EQ(alerts.cooldown_ns, 600'000'000'000);
  EXPECT_EQ(alerts.webhook.url, "https://hooks.example.com/ldh");
  EXPECT_EQ(alerts.webhook.headers, (std::vector<std::pair<std::string, std::string>>{
                                        {"Authorization", "Bearer s3cret"}, {"X-Source", "ldh"}}));
  EXPECT_EQ(alerts.webhook.timeout_ns, 3'000'000'000);
  EXPECT_EQ(alerts.webhook.tls.ca_file, "/configs/ca.pem");
  EXPECT_TRUE(alerts.webhook.tls.verify_peer);
  EXPECT_EQ(alerts.webhook.delivery.max_attempts, 8u);
  EXPECT_EQ(alerts.webhook.delivery.batch_records, 1u) << "one alert per request";
  EXPECT_EQ(alerts.webhook.delivery.dead_letter_path, "alert-webhook-dead-letter.jsonl");
  EXPECT_EQ(alerts.email.smtp, "smtp://127.0.0.1:2525");
  EXPECT_EQ(alerts.email.from, "ldh@example.com");
  EXPECT_EQ(alerts.email.to, (std::vector<std::string>{"ops@example.com", "oncall@example.com"}));
  EXPECT_TRUE(alerts.email.start_tls);
  EXPECT_EQ(alerts.email.username, "ldh");
  EXPECT_EQ(alerts.email.password, "pa55");
  EXPECT_EQ(alerts.email.timeout_ns, 20'000'000'000);
  EXPECT_EQ(alerts.email.delivery.batch_records, 1u);
  EXPECT_EQ(alerts.email.delivery.dead_letter_path, "/configs/mail-dead.jsonl");

  // One channel, one address, the defaults.
  const Config single = parse_config(
      with_processing(kAlertWindows, conditions + "    notifications: email\n"
                                                  "    email: {to: ops@example.com}\n"),
      "inline.yaml");
  EXPECT_EQ(single.alerts.notifications,
            std::vector<NotificationChannel>{NotificationChannel::email});
  EXPECT_EQ(single.alerts.cooldown_ns, 300'000'000'000);
  EXPECT_EQ(single.alerts.email.smtp, "smtp://127.0.0.1:25");
  EXPECT_EQ(single.alerts.email.from, "ldh@localhost");
  EXPECT_FALSE(single.alerts.email.start_tls);
  EXPECT_EQ(single.alerts.email.delivery.dead_letter_path, "alert-email-dead-letter.jsonl");
}

TEST(AlertErrorTest, NotificationChannelsAreChecked) {
  const std::string conditions = "    conditions: [{metric: count, operator: gt, value: 1}]\n";
  // The product description's list alone does not say where alerts go.
  const auto list = errors_of(
      with_processing(kAlertWindows, conditions + "    notifications: [email, webhook]\n"));
  expect_exact(list, "inline.yaml:21:5",
               "output.alerts: missing required key 'email' (a map with smtp, from and to, where "
               "alert mails go)");
  expect_exact(list, "inline.yaml:21:5",
               "output.alerts: missing required key 'webhook' (a map with url, where webhook "
               "notifications go)");
  EXPECT_EQ(list.size(), 2u) << listing(list);

  const auto errors = errors_of(with_processing(kAlertWindows, conditions + R"(
    notifications: [webhook, slack, webhook]
    webhook: {url: "ftp://example.com", headers: {"Bad Name": x, X-Ok: "a\nb"}, batch: {size: 5}}
    email: {smtp: "http://mail", from: "ldh", to: []}
)"));
  const std::string at = "output.alerts.";
  expect_message(errors, at + "notifications[1]",
                 "unknown notification channel 'slack'; expected one of: email, webhook");
  expect_message(errors, at + "notifications[2]", "channel listed twice");
  expect_message(errors, at + "webhook.url",
                 "expected a URL starting with http:// or https:// and a host, got the string "
                 "'ftp://example.com'");
  expect_message(errors, at + "webhook.headers.Bad Name", "expected a header name");
  expect_message(errors, at + "webhook.headers.X-Ok", "expected a header value on one line");
  expect_message(errors, at + "webhook.batch", "webhook notifications send one alert per request");
  expect_message(errors, at + "email.smtp", "expected a URL starting with smtp:// or smtps://");
  expect_message(errors, at + "email.from", "expected a mail address such as alerts@example.com");
  expect_message(errors, at + "email.to", "expected at least one address");
  expect_message(errors, at + "email",
                 "notifications does not list email, so these settings would be unused");
  EXPECT_EQ(errors.size(), 10u) << listing(errors);
}

TEST(ConfigTest, ElasticsearchDestinationIsRead) {
  const Config config = parse_config(kInput + R"(processing:
  groupBy: [location]
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [avg]}
output:
  destinations:
    - {type: elasticsearch, index: sensor-metrics, batch: {size: 1000, interval: 10s}}
    - type: elasticsearch
      url: "https://es.example.com:9243/"
      index: ldh-results
      apiKey: aWQ6a2V5
      timeout: 5s
      connectTimeout: 1s
      tls: {verify: false}
      format: json
      retry: {maxAttempts: 3}
      deadLetter: es-dead.jsonl
    - {type: elasticsearch, username: elastic, password: changeme}
)",
                                     "/configs/inline.yaml");
  ASSERT_EQ(config.destinations.size(), 3u);
  // The product description's destination as written: the local default server.
  const SinkConfig& seed = config.destinations[0];
  EXPECT_EQ(seed.type, SinkType::elasticsearch);
  EXPECT_EQ(seed.elasticsearch.url, "http://127.0.0.1:9200");
  EXPECT_EQ(seed.elasticsearch.index, "sensor-metrics");
  EXPECT_EQ(seed.delivery.batch_records, 1000u);
  EXPECT_EQ(seed.delivery.batch_interval_ns, 10'000'000'000);
  ASSERT_EQ(seed.elasticsearch.key_fields.size(), 1u);
  EXPECT_EQ(seed.elasticsearch.key_fields[0].first, "minute");
  EXPECT_EQ(seed.elasticsearch.key_fields[0].second, std::vector<std::string>{"location"});
  const ElasticsearchConfig& secure = config.destinations[1].elasticsearch;
  EXPECT_EQ(secure.url, "https://es.example.com:9243");
  EXPECT_EQ(secure.index, "ldh-results");
  EXPECT_EQ(secure.api_key, "aWQ6a2V5");
  EXPECT_EQ(secure.timeout_ns, 5'000'000'000);
  EXPECT_EQ(secure.connect_timeout_ns, 1'000'000'000);
  EXPECT_FALSE(secure.tls.verify_peer);
  EXPECT_EQ(config.destinations[1].delivery.max_attempts, 3u);
  EXPECT_EQ(config.destinations[1].delivery.dead_letter_path, "/configs/es-dead.jsonl");
  EXPECT_EQ(config.destinations[2].elasticsearch.username, "elastic");
  EXPECT_EQ(config.destinations[2].elasticsearch.password, "changeme");
}

TEST(ConfigErrorTest, ElasticsearchSettingsAreChecked) {
  const auto errors =
      errors_of(kInput +
                "output:\n  destinations:\n"
                "    - {type: elasticsearch, url: \"localhost:9200\", index: \"Sensor Metrics\", "
                "username: a, apiKey: k}\n"
                "    - {type: elasticsearch, index: _hidden, password: p, tls: {verify: maybe}}\n");
  const std::string first = "output.destinations[0].";
  expect_message(errors, first + "url",
                 "expected a URL starting with http:// or https:// and a host, got the string "
                 "'localhost:9200'");
  expect_message(errors, first + "index", "expected an Elasticsearch index name");
  expect_message(errors, first + "apiKey", "give either username and password or apiKey");
  const std::string second = "output.destinations[1].";
  expect_message(errors, second + "index", "not starting with -, _ or +");
  expect_message(errors, second + "password", "a password needs a username");
  expect_message(errors, second + "tls.verify", "expected");
  EXPECT_EQ(errors.size(), 6u) << listing(errors);
}

TEST(ConfigReaderTest, TextLocationFallsBackToTheNodePosition) {
  ConfigReader reader("x.yaml", "a: |\n");
  const auto root = reader.parse();
  ASSERT_TRUE(root);
  // A block scalar with no text: nothing to point inside, so the node itself.
  const YAML::Node block = root->node["a"];
  EXPECT_EQ(reader.text_location(block).to_string(), "x.yaml:1:4");
  // A node without a position, and one from another document.
  EXPECT_EQ(reader.text_location(YAML::Node()).to_string(), "x.yaml");
  const YAML::Node other = YAML::Load("\n\n\nb: 'x'\n")["b"];
  EXPECT_EQ(reader.text_location(other).to_string(), "x.yaml:4:4");
  EXPECT_TRUE(reader.diagnostics().empty());
}

// ---------------------------------------------------------------------------------------------
// Helpers

TEST(DurationTest, ParsesIntegerAndUnit) {
  EXPECT_EQ(parse_duration_ns("500ms"), 500'000'000);
  EXPECT_EQ(parse_duration_ns("10s"), 10'000'000'000);
  EXPECT_EQ(parse_duration_ns("1m"), 60'000'000'000);
  EXPECT_EQ(parse_duration_ns("24h"), 86'400'000'000'000);
  EXPECT_EQ(parse_duration_ns("2d"), 172'800'000'000'000);
  EXPECT_EQ(parse_duration_ns("250us"), 250'000);
  EXPECT_EQ(parse_duration_ns("100ns"), 100);
  EXPECT_EQ(parse_duration_ns("0s"), 0);
  for (const char* bad : {"", "10", "ms", "-5s", "+5s", "1.5s", "10 s", "10S", "10sec", "5mss",
                          " 5s", "99999999999999999999s", "106752d"}) {
    EXPECT_EQ(parse_duration_ns(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parse_duration_ns("106751d"), 106751 * 86'400'000'000'000);
}

#ifdef LDH_HAVE_DPDK
TEST(ConfigTest, DpdkSourceReadsEverySetting) {
  const Config config = parse_config(
      with_source("{type: dpdk, name: nic, format: binary, udpPort: 9000, events: 5, "
                  "endAfterIdle: 200ms, maxBatchLatency: 1ms, dpdk: {eal: [--no-huge, -m, "
                  "'256'], port: 1, queues: 2, rxDescriptors: 2048, burst: 64, mempool: 16383, "
                  "buffers: 4, bufferSize: 1048576, cores: [2, 3], idleSleep: 0s, "
                  "promiscuous: true}}"),
      "inline.yaml");
  ASSERT_EQ(config.sources.size(), 1u);
  const SourceConfig& source = config.sources[0];
  EXPECT_EQ(source.type, SourceType::dpdk);
  EXPECT_EQ(source.name, "nic");
  EXPECT_EQ(source.format, Format::binary);
  const DpdkSourceConfig& dpdk = source.dpdk;
  EXPECT_EQ(dpdk.eal, (std::vector<std::string>{"--no-huge", "-m", "256"}));
  EXPECT_EQ(dpdk.port, 1);
  EXPECT_EQ(dpdk.queues, 2u);
  EXPECT_EQ(dpdk.rx_descriptors, 2048u);
  EXPECT_EQ(dpdk.burst, 64u);
  EXPECT_EQ(dpdk.mempool, 16383u);
  EXPECT_EQ(dpdk.buffers, 4u);
  EXPECT_EQ(dpdk.buffer_bytes, 1048576u);
  EXPECT_EQ(dpdk.cores, (std::vector<std::uint32_t>{2, 3}));
  EXPECT_EQ(dpdk.idle_sleep_ns, 0);
  EXPECT_TRUE(dpdk.promiscuous);
  EXPECT_EQ(dpdk.udp_port, 9000);
  EXPECT_EQ(dpdk.events, 5u);
  EXPECT_EQ(dpdk.end_after_idle_ns, 200'000'000);
  EXPECT_EQ(dpdk.max_batch_latency_ns, 1'000'000);
}

TEST(ConfigTest, DpdkSourceDefaultsToOneQueueOnPortZero) {
  const Config config =
      parse_config(with_source("{type: dpdk, format: protobuf, dpdk: {}}"), "inline.yaml");
  ASSERT_EQ(config.sources.size(), 1u);
  EXPECT_EQ(config.sources[0].name, "dpdk-0");
  const DpdkSourceConfig& dpdk = config.sources[0].dpdk;
  EXPECT_TRUE(dpdk.eal.empty());
  EXPECT_EQ(dpdk.port, 0);
  EXPECT_EQ(dpdk.queues, 1u);
  EXPECT_EQ(dpdk.rx_descriptors, 1024u);
  EXPECT_EQ(dpdk.burst, 32u);
  EXPECT_EQ(dpdk.mempool, 0u);
  EXPECT_EQ(dpdk.buffers, 8u);
  EXPECT_EQ(dpdk.buffer_bytes, 4u << 20);
  EXPECT_TRUE(dpdk.cores.empty());
  EXPECT_EQ(dpdk.idle_sleep_ns, 10'000);
  EXPECT_FALSE(dpdk.promiscuous);
  EXPECT_EQ(dpdk.udp_port, 0);
  EXPECT_EQ(dpdk.events, 0u);
  EXPECT_EQ(dpdk.end_after_idle_ns, 0);
  EXPECT_FALSE(dpdk.max_batch_latency_ns.has_value());
}

TEST(ConfigErrorTest, DpdkSourceSettingsAreChecked) {
  const auto errors = errors_of(with_source(
      "{type: dpdk, format: json, udpPort: 70000, dpdk: {eal: [[nested]], queues: 0, burst: 513, "
      "bufferSize: 100, cores: [1, 2], idleSleep: soon, colour: red}}"));
  expect_message(errors, "input.sources[0].format", "reads binary or protobuf payloads, not json");
  expect_message(errors, "input.sources[0].udpPort", "65535");
  expect_message(errors, "input.sources[0].dpdk.eal[0]", "an EAL argument");
  expect_message(errors, "input.sources[0].dpdk.queues", "1");
  expect_message(errors, "input.sources[0].dpdk.burst", "512");
  expect_message(errors, "input.sources[0].dpdk.bufferSize", "65536");
  expect_message(errors, "input.sources[0].dpdk.cores", "expected one CPU per queue (1), got 2");
  expect_message(errors, "input.sources[0].dpdk.idleSleep", "a duration");
  expect_message(errors, "input.sources[0].dpdk.colour", "unknown key");
  const auto missing = errors_of(with_source("{type: dpdk, format: binary}"));
  expect_message(missing, "input.sources[0]", "missing required key 'dpdk'");
}
#else
TEST(ConfigErrorTest, DpdkSourceSaysThisBuildHasNoDpdk) {
  const auto errors = errors_of(with_source("{type: dpdk, format: binary, dpdk: {}}"));
  expect_message(errors, "input.sources[0].type", "this build has no DPDK");
}
#endif

// Lines 13-15 of the event documents; events start on line 16.
const std::string kAlertChannel =
    "output:\n  destinations: [{type: stdout}]\n"
    "  alerts: {notifications: [webhook], webhook: {url: 'http://127.0.0.1:9/hook'}}\n";

TEST(EventConfigTest, ReadsTheProductDescriptionsEventProcessor) {
  const Config config = parse_config(
      kInput + kAlertChannel +
          "events:\n"
          "  types:\n"
          "    - {name: temperature_alert, priority: high, schema: temperatureSchema}\n"
          "    - {name: system_status, priority: medium, schema: [location, ok]}\n"
          "  schemas: {temperatureSchema: [timestamp, temperature]}\n"
          "  routing:\n"
          "    rules:\n"
          "      - {event: temperature_alert, condition: 'temperature > 100', action: notify,\n"
          "         message: 'High temperature detected: {temperature}°C'}\n"
          "      - {event: system_status, condition: 'location == \"error\"', action: log}\n"
          "      - {event: system_status, action: webhook, url: 'http://127.0.0.1:9/events/'}\n"
          "      - {event: system_status, action: kafka, topic: events, brokers: [b:9092]}\n"
          "      - {event: system_status, action: audit}\n"
          "  processing: {parallel: true, maxWorkers: 8, queueSize: 500, overflow: block,\n"
          "               weights: {high: 8, low: 2}}\n"
          "  retry: {enabled: true, maxAttempts: 4, initialDelay: 50ms, maxDelay: 2s, jitter: "
          "0.5}\n"
          "  autoAck: false\n"
          "  log: out/events.jsonl\n"
          "  deadLetter: /tmp/events-dead.jsonl\n"
          "  drainTimeout: 5s\n"
          "handlers:\n"
          "  audit: {plugin: /bin/sh, config: {path: x.jsonl, retries: 2, on: true, list: [1, "
          "b]}}\n",
      "/configs/events.yaml");
  const EventsConfig& events = config.events;
  ASSERT_EQ(events.types.size(), 2u);
  EXPECT_EQ(events.types[0].priority, EventPriority::high);
  EXPECT_EQ(events.types[0].fields, (std::vector<std::string>{"timestamp", "temperature"}));
  EXPECT_EQ(events.types[1].priority, EventPriority::medium);
  EXPECT_EQ(events.types[1].fields, (std::vector<std::string>{"location", "ok"}));
  ASSERT_EQ(events.rules.size(), 5u);
  EXPECT_EQ(events.rules[0].action, EventAction::notify);
  EXPECT_EQ(events.rules[0].condition, "temperature > 100");
  EXPECT_EQ(events.rules[0].condition_where.to_string(), "/configs/events.yaml:23:48");
  EXPECT_EQ(events.rules[0].message, "High temperature detected: {temperature}°C");
  EXPECT_EQ(events.rules[1].action, EventAction::log);
  EXPECT_EQ(events.rules[2].action, EventAction::webhook);
  EXPECT_EQ(events.rules[2].webhook.url, "http://127.0.0.1:9/events");
  EXPECT_EQ(events.rules[3].action, EventAction::kafka);
  EXPECT_EQ(events.rules[3].kafka.topic, "events");
  EXPECT_EQ(events.rules[3].kafka.brokers, (std::vector<std::string>{"b:9092"}));
  EXPECT_EQ(events.rules[4].action, EventAction::handler);
  EXPECT_EQ(events.rules[4].handler, "audit");
  EXPECT_EQ(events.workers, 8u);
  EXPECT_EQ(events.queue_size, 500u);
  EXPECT_TRUE(events.block_on_overflow);
  EXPECT_EQ(events.weights, (std::array<std::uint32_t, 3>{8, 2, 2}));
  EXPECT_EQ(events.max_attempts, 4u);
  EXPECT_EQ(events.initial_backoff_ns, 50'000'000);
  EXPECT_EQ(events.max_backoff_ns, 2'000'000'000);
  EXPECT_EQ(events.jitter, 0.5);
  EXPECT_FALSE(events.auto_ack);
  EXPECT_EQ(events.log_path, "/configs/out/events.jsonl");
  EXPECT_EQ(events.dead_letter_path, "/tmp/events-dead.jsonl");
  EXPECT_EQ(events.drain_timeout_ns, 5'000'000'000);
  ASSERT_EQ(config.handlers.size(), 1u);
  EXPECT_EQ(config.handlers[0].name, "audit");
  EXPECT_EQ(config.handlers[0].plugin, "/bin/sh");
  EXPECT_EQ(config.handlers[0].config_json,
            "{\"path\":\"x.jsonl\",\"retries\":2,\"on\":true,\"list\":[1,\"b\"]}");
}

TEST(EventConfigTest, DefaultsFollowTheProductDescription) {
  const Config config = parse_config(kInput + kFooter +
                                         "events:\n"
                                         "  types: [{name: any}]\n"
                                         "  routing: {rules: [{event: any, action: log}]}\n"
                                         "  processing: {parallel: false}\n"
                                         "  retry: {enabled: false}\n",
                                     "/configs/events.yaml");
  const EventsConfig& events = config.events;
  EXPECT_TRUE(events.types[0].fields.empty());
  EXPECT_EQ(events.types[0].priority, EventPriority::medium);
  EXPECT_TRUE(events.rules[0].condition.empty());
  EXPECT_EQ(events.workers, 1u);
  EXPECT_EQ(events.queue_size, 1000u);
  EXPECT_FALSE(events.block_on_overflow);
  EXPECT_EQ(events.max_attempts, 1u);
  EXPECT_TRUE(events.auto_ack);
  EXPECT_EQ(events.log_path, "events.jsonl");
  EXPECT_EQ(events.dead_letter_path, "events-dead-letter.jsonl");
}

TEST(EventConfigTest, MistakesAreReportedWhereTheyAre) {
  const auto errors = errors_of(kInput + kFooter +
                                "events:\n"
                                "  types:\n"
                                "    - {name: hot, priority: urgent, schema: [temprature]}\n"
                                "    - {name: hot, schema: missingSchema}\n"
                                "  typeField: temperature\n"
                                "  routing:\n"
                                "    rules:\n"
                                "      - {event: hott, action: log}\n"
                                "      - {event: hot, action: notiffy}\n"
                                "      - {event: hot, action: notify}\n"
                                "      - {event: hot, action: log, url: 'http://x'}\n"
                                "      - {event: hot, action: webhook}\n"
                                "      - {event: hot}\n"
                                "      - {event: hot, action: kafka, topic: t}\n"
                                "  processing: {parallel: false, maxWorkers: 4, overflow: drop}\n"
                                "  retry: {enabled: false, maxAttempts: 3}\n"
                                "handlers:\n"
                                "  log: {plugin: /bin/sh}\n"
                                "  unused: {plugin: /no/such/plugin.so}\n");
  expect_error(errors, "inline.yaml:17:29", "events.types[0].priority",
               "unknown priority 'urgent'; expected one of: high, medium, low");
  expect_error(errors, "inline.yaml:17:46", "events.types[0].schema[0]",
               "unknown field 'temprature' (did you mean 'temperature'?); fields leaving the "
               "pipeline: timestamp, temperature, humidity, location, ok");
  expect_error(errors, "inline.yaml:18:27", "events.types[1].schema",
               "no schema named 'missingSchema' under events.schemas; give a list of fields");
  expect_message(errors, "events.types[1].name", "duplicate event type 'hot'");
  expect_error(errors, "inline.yaml:19:14", "events.typeField",
               "expected a string field naming each row's event type; 'temperature' is float64");
  expect_error(errors, "inline.yaml:22:17", "events.routing.rules[0].event",
               "unknown event type 'hott' (did you mean 'hot'?); event types: hot, hot");
  expect_error(errors, "inline.yaml:23:30", "events.routing.rules[1].action",
               "unknown action 'notiffy' (did you mean 'notify'?); expected notify, log, webhook, "
               "kafka, or a handler named under handlers");
  expect_error(errors, "inline.yaml:24:30", "events.routing.rules[2].action",
               "action notify sends through output.alerts.notifications, which lists no channel");
  expect_error(errors, "inline.yaml:25:40", "events.routing.rules[3].url",
               "only action webhook takes this key");
  expect_error(errors, "inline.yaml:26:9", "events.routing.rules[4]", "missing required key 'url'");
  expect_error(errors, "inline.yaml:27:9", "events.routing.rules[5]",
               "missing required key 'action' (notify, log, webhook, kafka, or a handler named "
               "under handlers; without it the handler named 'hot' is used, and there is none)");
  expect_error(errors, "inline.yaml:28:9", "events.routing.rules[6]",
               "missing required key 'brokers' (a list of host:port; without it the brokers of "
               "the first kafka destination are used, and there is none)");
  expect_error(errors, "inline.yaml:29:45", "events.processing.maxWorkers",
               "with parallel: false one worker handles the events in turn");
  expect_message(errors, "events.processing.overflow",
                 "unknown overflow policy 'drop'; expected one of: deadLetter, block");
  expect_error(errors, "inline.yaml:30:40", "events.retry.maxAttempts",
               "retries are off (enabled: false), so this would be unused");
  expect_error(errors, "inline.yaml:32:8", "handlers.log",
               "'log' is a built-in action; give the handler another name");
  expect_error(errors, "inline.yaml:33:20", "handlers.unused.plugin",
               "no plugin file '/no/such/plugin.so'");
  expect_message(errors, "handlers.unused", "no event rule uses this handler");
}

TEST(EventConfigTest, AlertsWithoutConditionsOnlyServeEventNotifications) {
  const std::string alerts_only = kInput + kAlertChannel;
  expect_message(errors_of(alerts_only), "output.alerts",
                 "missing required key 'conditions' (a list of {metric, operator, value, window}; "
                 "it may be left out only when an event rule's action is notify)");
  const Config config = parse_config(alerts_only +
                                         "events:\n  types: [{name: hot}]\n"
                                         "  routing: {rules: [{event: hot, action: notify}]}\n",
                                     "events.yaml");
  EXPECT_TRUE(config.alerts.conditions.empty());
  EXPECT_EQ(config.events.rules[0].action, EventAction::notify);
}

TEST(DidYouMeanTest, SuggestsOnlyNearMisses) {
  const std::vector<std::string> fields = {"timestamp", "temperature", "humidity"};
  EXPECT_EQ(did_you_mean("temprature", fields), " (did you mean 'temperature'?)");
  EXPECT_EQ(did_you_mean("humdiity", fields), " (did you mean 'humidity'?)");
  EXPECT_EQ(did_you_mean("Timestamp", fields), " (did you mean 'timestamp'?)");
  EXPECT_EQ(did_you_mean("pressure", fields), "");
  EXPECT_EQ(did_you_mean("humidity", fields), "");
  EXPECT_EQ(did_you_mean("x", {}), "");
  EXPECT_EQ(did_you_mean("gt", {"ge", "gt2"}), " (did you mean 'ge'?)");
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(join_names({"a", "b"}), "a, b");
}

}  // namespace
}  // namespace ldh
