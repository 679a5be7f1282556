// The WebSocket broadcast destination against real clients (Debian's python3-websockets, in
// tests/websocket_client.py): several clients get everything in order; a slow client loses
// only its own messages and is told how many; the bearer token, the endpoint path and the
// message size limits are enforced; clients that leave mid-stream harm nothing; and a whole
// pipeline streams its window results to a client.

#include "host/websocket_sink.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "child_process.h"
#include "host/executor.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using std::chrono::milliseconds;
using testing::ChildProcess;

const char* const kPython = "/usr/bin/python3";
constexpr auto kPatience = milliseconds(20000);

bool have_websockets() {
  return std::system("/usr/bin/python3 -c 'import websockets' 2>/dev/null") == 0;
}

/// Waits until `condition` holds; false when it did not within `patience`.
bool wait_until(const std::function<bool()>& condition, milliseconds patience = kPatience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

/// One result-like line with a sequence number, padded to about `bytes`.
std::string line(std::uint64_t seq, std::size_t bytes = 40) {
  std::string text = "{\"seq\":" + std::to_string(seq) + ",\"pad\":\"";
  if (text.size() + 3 < bytes) text.append(bytes - text.size() - 3, 'x');
  return text + "\"}\n";
}

std::string lines(std::uint64_t first, std::uint64_t count, std::size_t bytes = 40) {
  std::string text;
  for (std::uint64_t seq = first; seq < first + count; ++seq) text += line(seq, bytes);
  return text;
}

/// A tests/websocket_client.py process.
class Client {
 public:
  Client(const std::string& url, std::vector<std::string> options = {}) {
    std::vector<std::string> argv = {
        kPython, std::string(LDH_SOURCE_DIR) + "/tests/websocket_client.py", "--url", url};
    argv.insert(argv.end(), options.begin(), options.end());
    process_ = std::make_unique<ChildProcess>(argv);
    const auto first = process_->read_line(kPatience);
    greeting_ = first ? *first : "";
    if (greeting_.starts_with("READY ")) local_port_ = std::stoi(greeting_.substr(6));
  }

  bool connected() const { return local_port_ != 0; }
  /// "REFUSED <status>" or "READY <port>".
  const std::string& greeting() const { return greeting_; }
  /// The server's name for this client.
  std::string peer() const { return "127.0.0.1:" + std::to_string(local_port_); }

  /// Waits for the closing DONE line and returns its fields (empty when none came).
  std::map<std::string, std::string> summary() {
    std::map<std::string, std::string> fields;
    const auto done = process_->read_line(kPatience);
    if (!done || !done->starts_with("DONE ")) return fields;
    std::istringstream words(done->substr(5));
    std::string word;
    while (words >> word) {
      const std::size_t equals = word.find('=');
      fields[word.substr(0, equals)] = word.substr(equals + 1);
    }
    return fields;
  }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string greeting_;
  int local_port_ = 0;
};

std::uint64_t number(const std::map<std::string, std::string>& fields, const std::string& key) {
  auto found = fields.find(key);
  return found == fields.end() ? ~std::uint64_t{0} : std::stoull(found->second);
}

WebSocketSinkConfig local_config() {
  WebSocketSinkConfig config;
  config.port = 0;
  return config;
}

std::string url_of(const WebSocketSink& sink, const std::string& path = "/metrics") {
  return "ws://127.0.0.1:" + std::to_string(sink.port()) + path;
}

std::optional<WebSocketClientCounters> client_of(const WebSocketSink& sink,
                                                 const std::string& peer) {
  for (auto& client : sink.client_counters()) {
    if (client.peer == peer) return client;
  }
  return std::nullopt;
}

class WebSocketSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_websockets()) GTEST_SKIP() << "python3-websockets is not installed";
  }
};

TEST_F(WebSocketSinkTest, SeveralClientsReceiveEverythingInOrder) {
  WebSocketSink sink(local_config());
  EXPECT_EQ(sink.describe(), url_of(sink));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(url_of(sink)));
    ASSERT_TRUE(clients.back()->connected()) << clients.back()->greeting();
  }
  ASSERT_TRUE(wait_until([&] { return sink.counters().clients == 3; }));
  constexpr std::uint64_t kLines = 5000;
  for (std::uint64_t first = 0; first < kLines; first += 250) {
    sink.write(lines(first, 250));
    sink.flush();
  }
  sink.finish();
  for (auto& client : clients) {
    const auto done = client->summary();
    EXPECT_EQ(number(done, "lines"), kLines);
    EXPECT_EQ(number(done, "messages"), kLines);  // one line per message by default
    EXPECT_EQ(number(done, "gaps"), 0u);
    EXPECT_EQ(number(done, "disorder"), 0u);
    EXPECT_EQ(number(done, "told"), 0u);
    EXPECT_EQ(done.at("close"), "1000");  // a normal close at the end of the run
  }
  const WebSocketSinkCounters counted = sink.counters();
  EXPECT_EQ(counted.connections, 3u);
  EXPECT_EQ(counted.messages, kLines);
  EXPECT_EQ(counted.sent, 3 * kLines);
  EXPECT_EQ(counted.dropped, 0u);
  EXPECT_EQ(counted.clients, 0u);
}

TEST_F(WebSocketSinkTest, SlowClientLosesOnlyItsOwnMessagesAndIsTold) {
  WebSocketSinkConfig config = local_config();
  config.client_queue = 50;
  WebSocketSink sink(config);
  Client fast(url_of(sink));
  // Reads one message, then nothing for 4 s: the kernel's buffers fill, then its queue.
  Client slow(url_of(sink), {"--pause-after", "1", "--pause", "4"});
  ASSERT_TRUE(fast.connected() && slow.connected());
  ASSERT_TRUE(wait_until([&] { return sink.counters().clients == 2; }));
  // 5000 lines of 4 KiB (20 MiB) outgrow any socket buffer. Each chunk waits for the fast
  // client to have taken the previous one (its queue holds one chunk), never for the slow one.
  constexpr std::uint64_t kLines = 5000;
  constexpr std::uint64_t kChunk = 50;
  for (std::uint64_t first = 0; first < kLines; first += kChunk) {
    ASSERT_TRUE(wait_until([&] {
      auto client = client_of(sink, fast.peer());
      return client && client->queued == 0;
    }));
    sink.write(lines(first, kChunk, 4096));
    sink.flush();
  }
  const auto slow_counted = client_of(sink, slow.peer());
  ASSERT_TRUE(slow_counted.has_value());
  EXPECT_GT(slow_counted->dropped, 0u);
  sink.finish();

  const auto fast_done = fast.summary();
  EXPECT_EQ(number(fast_done, "lines"), kLines);
  EXPECT_EQ(number(fast_done, "told"), 0u);
  EXPECT_EQ(number(fast_done, "gaps"), 0u);
  const auto slow_done = slow.summary();
  // Every message the slow client missed was told to it: where a gap is, or at the close
  // for the messages lost at the end.
  EXPECT_EQ(number(slow_done, "told"), slow_counted->dropped);
  EXPECT_EQ(number(slow_done, "gaps") + (kLines - 1 - number(slow_done, "last")),
            slow_counted->dropped);
  EXPECT_EQ(number(slow_done, "lines") + number(slow_done, "told"), kLines);
  EXPECT_EQ(number(slow_done, "disorder"), 0u);
  EXPECT_GE(number(slow_done, "notices"), 1u);
  EXPECT_EQ(sink.counters().dropped, slow_counted->dropped);
}

TEST_F(WebSocketSinkTest, BearerTokenAndEndpointPathAreChecked) {
  WebSocketSinkConfig config = local_config();
  config.token = "s3cret-token";
  WebSocketSink sink(config);
  EXPECT_EQ(Client(url_of(sink)).greeting(), "REFUSED 401");
  EXPECT_EQ(Client(url_of(sink), {"--token", "s3cret-tokeN"}).greeting(), "REFUSED 401");
  EXPECT_EQ(Client(url_of(sink), {"--token", "s3cret"}).greeting(), "REFUSED 401");
  EXPECT_EQ(Client(url_of(sink, "/other"), {"--token", "s3cret-token"}).greeting(), "REFUSED 404");
  Client allowed(url_of(sink, "/metrics?since=now"), {"--token", "s3cret-token"});
  ASSERT_TRUE(allowed.connected()) << allowed.greeting();
  ASSERT_TRUE(wait_until([&] { return sink.counters().clients == 1; }));
  sink.write(lines(0, 10));
  sink.finish();
  EXPECT_EQ(number(allowed.summary(), "lines"), 10u);
  EXPECT_EQ(sink.counters().refused, 4u);
  EXPECT_EQ(sink.counters().connections, 1u);
}

TEST_F(WebSocketSinkTest, MessagesStayWithinTheSizeLimit) {
  WebSocketSinkConfig config = local_config();
  config.max_message_bytes = 400;
  config.message_lines = 10;
  WebSocketSink sink(config);
  Client client(url_of(sink));
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(wait_until([&] { return sink.counters().clients == 1; }));
  // 100 lines of 60 bytes: 6 fit in 400 bytes with their separators, not 10.
  sink.write(lines(0, 50, 60));
  sink.write(line(50, 1000));  // over the limit alone: counted, never sent
  sink.write(lines(51, 50, 60));
  sink.finish();
  const auto done = client.summary();
  EXPECT_EQ(number(done, "lines"), 100u);
  EXPECT_LE(number(done, "longest"), 400u);
  EXPECT_EQ(number(done, "gaps"), 1u);  // seq 50
  const WebSocketSinkCounters counted = sink.counters();
  EXPECT_EQ(counted.oversized, 1u);
  EXPECT_EQ(counted.messages, number(done, "messages"));
  EXPECT_EQ(counted.messages, 18u);  // 50 lines in 9 messages of at most 6, twice
}

TEST_F(WebSocketSinkTest, ClientSendingTooLargeAMessageIsClosedAndOthersGoOn) {
  WebSocketSinkConfig config = local_config();
  config.max_message_bytes = 1000;
  WebSocketSink sink(config);
  Client loud(url_of(sink), {"--send-bytes", "5000"});
  Client quiet(url_of(sink));
  ASSERT_TRUE(loud.connected() && quiet.connected());
  EXPECT_EQ(loud.summary().at("close"), "1009");  // message too big
  ASSERT_TRUE(wait_until([&] { return sink.counters().clients == 1; }));
  sink.write(lines(0, 100));
  sink.finish();
  EXPECT_EQ(number(quiet.summary(), "lines"), 100u);
}

TEST_F(WebSocketSinkTest, ClientsLeavingMidStreamHarmNothing) {
  WebSocketSink sink(local_config());
  Client aborts(url_of(sink), {"--stop-after", "100", "--abort"});
  Client closes(url_of(sink), {"--stop-after", "50"});
  Client stays(url_of(sink));
  ASSERT_TRUE(aborts.connected() && closes.connected() && stays.connected());
  ASSERT_TRUE(wait_until([&] { return sink.counters().clients == 3; }));
  constexpr std::uint64_t kLines = 3000;
  for (std::uint64_t first = 0; first < kLines; first += 100) {
    sink.write(lines(first, 100));
    sink.flush();
    if (first == 1000) {
      // Both have left by now; the writes after this go to the one that stays.
      EXPECT_EQ(aborts.summary().at("close"), "left");
      EXPECT_EQ(closes.summary().at("close"), "left");
      ASSERT_TRUE(wait_until([&] { return sink.counters().clients == 1; }));
    }
  }
  sink.finish();
  const auto done = stays.summary();
  EXPECT_EQ(number(done, "lines"), kLines);
  EXPECT_EQ(number(done, "gaps"), 0u);
  EXPECT_EQ(sink.counters().connections, 3u);
}

TEST_F(WebSocketSinkTest, NoClientsCostsNothingAndLateClientsGetWhatFollows) {
  WebSocketSink sink(local_config());
  sink.write(lines(0, 1000));
  EXPECT_EQ(sink.counters().messages, 0u);
  Client late(url_of(sink));
  ASSERT_TRUE(wait_until([&] { return sink.counters().clients == 1; }));
  sink.write(lines(1000, 10));
  sink.finish();
  EXPECT_EQ(number(late.summary(), "lines"), 10u);
}

TEST_F(WebSocketSinkTest, PipelineStreamsWindowResultsToClients) {
  testing::ScratchFolder scratch;
  const std::string yaml = R"(input:
  sources:
    - {name: sensors, type: generator, events: 3000, sensors: 10, interval: 1s, seed: 7}
)" + testing::sensor_format("json") +
                           R"(processing:
  groupBy: [sensor_id]
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [avg, max]}
output:
  destinations:
    - {type: websocket, endpoint: "/metrics", format: json, port: 0}
    - {type: jsonl, path: )" +
                           scratch.file("results.jsonl") +
                           R"(}
)";
  const Config config = parse_config(yaml, scratch.file("run.yaml"));
  RunOptions options;
  options.dead_letter_path = scratch.file("dead.jsonl");
  Executor executor(config, options);
  std::vector<std::unique_ptr<Sink>> sinks = executor.make_sinks();
  auto* websocket = dynamic_cast<WebSocketSink*>(sinks[0].get());
  ASSERT_NE(websocket, nullptr);
  const std::string url = url_of(*websocket);
  Client client(url);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(wait_until([&] { return websocket->counters().clients == 1; }));
  const RunSummary summary = executor.run(executor.make_sources(), std::move(sinks));
  const std::string results = testing::read_file(scratch.file("results.jsonl"));
  const auto rows = static_cast<std::uint64_t>(std::count(results.begin(), results.end(), '\n'));
  EXPECT_EQ(rows, 60u);  // 10 sensors, 6 minutes
  EXPECT_EQ(number(client.summary(), "lines"), rows);
  ASSERT_EQ(summary.sinks.size(), 2u);
  EXPECT_EQ(summary.sinks[0].name, url);
}

}  // namespace
}  // namespace ldh
