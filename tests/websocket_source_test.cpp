// The WebSocket source against a real WebSocket server (Debian's python3-websockets, in
// tests/websocket_server.py): JSON and binary messages, the subprotocol, pings both ways,
// reconnection with the records lost across a disconnect counted, and wss:// with a
// certificate made for the test.

#include "ingest/websocket_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "child_process.h"
#include "host/executor.h"
#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using std::chrono::milliseconds;
using testing::ChildProcess;

const char* const kPython = "/usr/bin/python3";

/// The test server, started with `arguments`, and the port it listens on.
class FeedServer {
 public:
  explicit FeedServer(std::vector<std::string> arguments) {
    std::vector<std::string> argv = {kPython,
                                     std::string(LDH_SOURCE_DIR) + "/tests/websocket_server.py"};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    process_ = std::make_unique<ChildProcess>(argv);
    const auto line = process_->read_line(milliseconds(20000));
    if (!line || !line->starts_with("PORT ")) {
      throw std::runtime_error("the WebSocket test server did not start");
    }
    port_ = std::stoi(line->substr(5));
  }
  int port() const { return port_; }
  /// Waits for the server's closing "SENT n LOST g" line.
  std::string summary() {
    auto line = process_->read_line(milliseconds(20000));
    return line ? *line : "";
  }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

bool have_websockets() {
  return std::system("/usr/bin/python3 -c 'import websockets' 2>/dev/null") == 0;
}

std::string json_config(const std::string& endpoint, const std::string& extra) {
  return R"yaml(
input:
  sources:
    - type: websocket
      name: feed
      endpoint: ")yaml" +
         endpoint + R"yaml("
      protocol: v1
      sequenceField: seq
      reconnect: {initialDelay: 50ms, maxDelay: 200ms, jitter: 0.1}
      endAfterIdle: 10s
)yaml" + extra +
         R"yaml(
  format:
    type: json
    schema:
      eventTime: time
      fields:
        - {name: seq, type: int64}
        - {name: time, type: timestamp, unit: ms}
        - {name: sensor_id, type: int32}
        - {name: temperature, type: float64}
output:
  destinations:
    - {type: jsonl, path: out.jsonl}
)yaml";
}

/// Runs `config` through the executor; returns its summary and the results.
RunSummary run(const Config& config, std::string& out) {
  RunOptions options;
  options.side_files = false;
  Executor executor(config, options);
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<testing::StringSink>(out));
  return executor.run(executor.make_sources(), std::move(sinks));
}

std::uint64_t counter(const RunSummary& summary, const std::string& name) {
  for (const auto& counted : summary.sources.at(0).counters) {
    if (counted.name == name) return counted.value;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

std::uint64_t count_lines(const std::string& text) {
  return static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

class WebSocketSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_websockets()) GTEST_SKIP() << "python3-websockets is not installed";
  }
};

TEST(WebSocketEndpointTest, ParsesSchemesHostsPortsAndTargets) {
  std::string error;
  auto plain = parse_websocket_endpoint("ws://data-source/feed", error);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->secure);
  EXPECT_EQ(plain->host, "data-source");
  EXPECT_EQ(plain->port, "80");
  EXPECT_EQ(plain->target, "/feed");
  auto secure = parse_websocket_endpoint("wss://[::1]:8443", error);
  ASSERT_TRUE(secure);
  EXPECT_TRUE(secure->secure);
  EXPECT_EQ(secure->host, "::1");
  EXPECT_EQ(secure->port, "8443");
  EXPECT_EQ(secure->target, "/");
  EXPECT_FALSE(parse_websocket_endpoint("http://host/", error));
  EXPECT_EQ(error, "expected a ws:// or wss:// URL");
  EXPECT_FALSE(parse_websocket_endpoint("ws://host:99999/", error));
  EXPECT_FALSE(parse_websocket_endpoint("ws:///path", error));
}

TEST(WebSocketConfigTest, BadEndpointNamesItsPosition) {
  try {
    parse_config(json_config("tcp://x", "      events: 1"), "ws.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what())
                  .find("ws.yaml:6:17: error: input.sources[0].endpoint: "
                        "expected a ws:// or wss:// URL, got 'tcp://x'"),
              std::string::npos)
        << error.what();
  }
}

TEST_F(WebSocketSourceTest, ReadsEveryJsonRecordWithTheSubprotocol) {
  FeedServer server({"--events", "2000", "--per-message", "10"});
  const std::string endpoint = "ws://127.0.0.1:" + std::to_string(server.port()) + "/feed";
  std::string out;
  const RunSummary summary =
      run(parse_config(json_config(endpoint, "      events: 2000"), "ws.yaml"), out);
  EXPECT_EQ(summary.rows_decoded, 2000u);
  EXPECT_EQ(count_lines(out), 2000u);
  EXPECT_EQ(counter(summary, "messages"), 200u);
  EXPECT_EQ(counter(summary, "connects"), 1u);
  EXPECT_EQ(counter(summary, "lost"), 0u);
}

TEST_F(WebSocketSourceTest, ReconnectsAndCountsWhatWasLostWhileDisconnected) {
  // The server drops the first connection after 300 records and lets 50 go by unsent.
  FeedServer server(
      {"--events", "1000", "--per-message", "5", "--drop-after", "300", "--gap", "50"});
  const std::string endpoint = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";
  std::string out;
  const RunSummary summary =
      run(parse_config(json_config(endpoint, "      events: 950"), "ws.yaml"), out);
  EXPECT_EQ(server.summary(), "SENT 950 LOST 50");
  EXPECT_EQ(summary.rows_decoded, 950u);
  EXPECT_EQ(counter(summary, "lost"), 50u);
  EXPECT_EQ(summary.rows_decoded + counter(summary, "lost"), 1000u);
  EXPECT_EQ(counter(summary, "connects"), 2u);
  EXPECT_EQ(counter(summary, "disconnects"), 1u);
}

/// Runs a source directly for `duration`, then stops it; returns its statistics.
WebSocketStatistics run_for(const Config& config, milliseconds duration) {
  std::atomic<bool> stop{false};
  SourceOptions options;
  options.stop = &stop;
  WebSocketSource source(config.sources.at(0), 0, config.format.schema, options);
  std::thread stopper([&] {
    std::this_thread::sleep_for(duration);
    stop = true;
  });
  RawChunk chunk;
  while (source.next(chunk)) {
  }
  stopper.join();
  return source.snapshot();
}

TEST_F(WebSocketSourceTest, RefusesAServerThatDoesNotSpeakTheSubprotocolAndKeepsRetrying) {
  FeedServer server({"--events", "10", "--subprotocol", "v2"});
  const std::string endpoint = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";
  const auto statistics =
      run_for(parse_config(json_config(endpoint, ""), "ws.yaml"), milliseconds(800));
  EXPECT_EQ(statistics.connects, 0u);
  EXPECT_GE(statistics.failed_attempts, 2u);
  EXPECT_EQ(statistics.records, 0u);
}

TEST_F(WebSocketSourceTest, AnswersServerPingsAndSendsItsOwnWhenIdle) {
  FeedServer server({"--events", "0", "--ping-interval", "0.1"});
  const std::string endpoint = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";
  const auto statistics =
      run_for(parse_config(json_config(endpoint, "      pingInterval: 100ms"), "ws.yaml"),
              milliseconds(1000));
  EXPECT_EQ(statistics.connects, 1u);
  EXPECT_EQ(statistics.disconnects, 0u);  // both sides answered every ping in time
  EXPECT_GE(statistics.pings, 2u);
  EXPECT_GE(statistics.pongs, 2u);
}

TEST_F(WebSocketSourceTest, ReadsOverTlsWithTheServersCertificate) {
  if (std::system("command -v openssl >/dev/null") != 0) GTEST_SKIP() << "no openssl";
  testing::ScratchFolder folder;
  const std::string certificate = folder.file("cert.pem");
  const std::string key = folder.file("key.pem");
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost -keyout " +
      key + " -out " + certificate + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  FeedServer server(
      {"--events", "500", "--per-message", "50", "--certificate", certificate, "--key", key});
  const std::string endpoint = "wss://localhost:" + std::to_string(server.port()) + "/secure";
  std::string out;
  const RunSummary summary =
      run(parse_config(
              json_config(endpoint, "      events: 500\n      tls: {caFile: " + certificate + "}"),
              "ws.yaml"),
          out);
  EXPECT_EQ(summary.rows_decoded, 500u);
  EXPECT_EQ(counter(summary, "connects"), 1u);
}

TEST_F(WebSocketSourceTest, ReadsBinaryFramesAndDeadLettersACutFrame) {
  testing::ScratchFolder folder;
  const auto config_for = [](int port) {
    return R"yaml(
input:
  sources:
    - type: websocket
      endpoint: "ws://127.0.0.1:)yaml" +
           std::to_string(port) + R"yaml(/"
      format: binary
      events: 901
      endAfterIdle: 10s
  format:
    type: binary
    schema:
      eventTime: timestamp
      fields:
        - {name: timestamp, type: timestamp, unit: ms}
        - {name: sensor_id, type: int32}
        - {name: temperature, type: float64}
output:
  destinations:
    - {type: jsonl, path: out.jsonl}
)yaml";
  };
  Config probe = parse_config(config_for(1), "ws.yaml");
  // Nine messages of one 100-record frame each, then one frame cut short.
  GeneratorConfig generator;
  generator.sensors = 10;
  SensorGenerator readings(generator, probe.format.schema);
  auto encoder = make_encoder(Format::binary, probe.format.schema, 100);
  std::string messages;
  for (int m = 0; m < 10; ++m) {
    std::string frame;
    readings.generate(*encoder, 100, frame);
    encoder->flush(frame);
    if (m == 9) frame.resize(frame.size() / 2);
    const auto length = static_cast<std::uint32_t>(frame.size());
    messages.append(reinterpret_cast<const char*>(&length), 4);
    messages += frame;
  }
  const std::string path = folder.file("messages.bin");
  std::ofstream(path, std::ios::binary) << messages;
  FeedServer server({"--binary", path});
  std::string out;
  const RunSummary summary = run(parse_config(config_for(server.port()), "ws.yaml"), out);
  EXPECT_EQ(summary.rows_decoded, 900u);
  EXPECT_EQ(summary.dead_letters.total(), 1u);
  EXPECT_EQ(counter(summary, "partial_messages"), 1u);
}

}  // namespace
}  // namespace ldh
