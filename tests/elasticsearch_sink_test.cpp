// The Elasticsearch destination against tests/http_peer.py, a local server implementing the
// `_bulk` request/response contract (no Elasticsearch server can be installed here): partial
// failures (mapping errors refused for good, 429 items retried), whole requests answered 429
// or 500, a peer killed and restarted mid-run, a slow peer; delivered + dead-lettered ==
// produced every time, and a replay overwrites the same documents.

#include "host/elasticsearch_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <thread>

#include "http_peer.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using std::chrono::milliseconds;
using testing::HttpPeer;
using testing::json_integer;
using testing::lines_of;

bool have_python() {
  return std::system("/usr/bin/python3 -c 'import http.server'") == 0;
}

/// A window result row of the "minute" window grouped by sensor_id.
std::string result_row(int sensor, int minute, const std::string& temperature = "20.5",
                       int revision = 0) {
  char text[256];
  std::snprintf(text, sizeof text,
                "{\"window\":\"minute\",\"start\":\"2026-11-29T04:%02d:00.000Z\",\"end\":\"2026-"
                "11-29T04:%02d:00.000Z\",\"sensor_id\":%d,\"count\":60,\"temperature_avg\":%s",
                minute, minute + 1, sensor, temperature.c_str());
  std::string row = text;
  if (revision > 0) row += ",\"revision\":" + std::to_string(revision);
  return row + "}";
}

const std::vector<std::pair<std::string, std::vector<std::string>>> kKeyFields = {
    {"minute", {"sensor_id"}}};

ElasticsearchConfig elasticsearch_config(const HttpPeer& peer) {
  ElasticsearchConfig config;
  config.url = peer.url();
  config.index = "sensor-metrics";
  config.timeout_ns = 2'000'000'000;
  config.connect_timeout_ns = 500'000'000;
  config.key_fields = kKeyFields;
  return config;
}

DeliveryConfig fast_delivery(const testing::ScratchFolder& folder) {
  DeliveryConfig delivery;
  delivery.batch_records = 50;
  delivery.batch_interval_ns = 5'000'000;
  delivery.initial_backoff_ns = 10'000'000;
  delivery.max_backoff_ns = 200'000'000;
  delivery.max_attempts = 6;
  delivery.drain_timeout_ns = 20'000'000'000;
  delivery.dead_letter_path = folder.file("dead.jsonl");
  return delivery;
}

/// Writes `count` rows (minute i / 10, sensor i % 10) in chunks, as the executor does.
std::vector<std::string> write_rows(DeliverySink& sink, int first, int count,
                                    const std::function<std::string(int)>& temperature = {}) {
  std::vector<std::string> rows;
  std::string chunk;
  for (int i = first; i < first + count; ++i) {
    rows.push_back(result_row(i % 10, i / 10, temperature ? temperature(i) : "20.5"));
    chunk += rows.back() + "\n";
    if (chunk.size() > 2000) {
      sink.write(chunk);
      sink.flush();
      chunk.clear();
    }
  }
  sink.write(chunk);
  sink.flush();
  return rows;
}

void wait_until(const std::function<bool()>& done, milliseconds limit = milliseconds(15000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
}

void expect_accounted(const DeliveryCounters& counters, std::uint64_t produced) {
  EXPECT_EQ(counters.produced, produced);
  EXPECT_EQ(counters.delivered + counters.dead_lettered, counters.produced);
  EXPECT_EQ(counters.queued, 0u);
}

class ElasticsearchSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_python()) GTEST_SKIP() << "/usr/bin/python3 is not installed";
  }
};

TEST(DocumentIdsTest, DerivesIdsFromWindowStartKeyAndRevision) {
  DocumentIds ids(kKeyFields);
  const std::string first = ids.id(result_row(3, 3));
  // The documented layout: SHA-256 of these lines, the first 16 bytes in hex (docs/outputs.md).
  EXPECT_EQ(first, sha256_id("result\n\"minute\"\n\"2026-11-29T04:03:00.000Z\"\nsensor_id=3\n"
                             "revision=0"));
  EXPECT_EQ(first, "d7a7b44aefc6197f6422e6a9af299ae3");  // computed with Python's hashlib
  EXPECT_EQ(ids.id(result_row(3, 3, "99.5")), first) << "metric values are not part of the id";
  EXPECT_NE(ids.id(result_row(4, 3)), first);
  EXPECT_NE(ids.id(result_row(3, 4)), first);
  EXPECT_NE(ids.id(result_row(3, 3, "20.5", 1)), first);
  EXPECT_EQ(ids.id(result_row(3, 3, "20.5", 1)), ids.id(result_row(3, 3, "21", 1)));
  const std::string alert =
      "{\"alert\":\"temperature gt 29\",\"window\":\"minute\",\"start\":\"2026-11-29T04:03:00."
      "000Z\",\"end\":\"2026-11-29T04:04:00.000Z\",\"sensor_id\":3,\"metric\":\"temperature_max\","
      "\"value\":29.5,\"threshold\":29}";
  EXPECT_NE(ids.id(alert), first) << "an alert is its own document";
  EXPECT_EQ(ids.id(alert), sha256_id("alert\n\"temperature gt 29\"\n\"minute\"\n\"2026-11-29T04:"
                                     "03:00.000Z\"\nsensor_id=3\nrevision=0"));
  // Events (and rows of windows the sink was not told about) get the hash of the line.
  const std::string event = "{\"sensor_id\":3,\"temperature\":20.5}";
  EXPECT_EQ(ids.id(event), "8373d7835050315ad171cd08e840bf7f");
  const std::string unknown =
      "{\"window\":\"hour\",\"start\":\"2026-11-29T04:00:00.000Z\",\"sensor_id\":3}";
  EXPECT_EQ(ids.id(unknown), sha256_id("line\n" + unknown));
  EXPECT_EQ(ids.id("{\"window\":"), sha256_id("line\n{\"window\":")) << "broken JSON";
}

TEST_F(ElasticsearchSinkTest, RefusesMappingErrorsForGoodAndRetriesThrottledItems) {
  testing::ScratchFolder folder;
  // Items whose id hashes to 0 mod 3 answer 429 the first time they are sent.
  HttpPeer peer({"--throttle-every", "3", "--throttle-times", "1"});
  DeliveryConfig delivery = fast_delivery(folder);
  DeliverySink sink(std::make_unique<ElasticsearchTransport>(elasticsearch_config(peer)), delivery);
  // Every 25th row after the first batch has text in a numeric field: a mapping error.
  const auto temperature = [](int i) {
    return i >= 50 && i % 25 == 0 ? std::string("\"warm\"") : std::to_string(20 + i % 7);
  };
  write_rows(sink, 0, 400, temperature);
  sink.finish();
  const DeliveryCounters counters = sink.counters();
  expect_accounted(counters, 400);
  EXPECT_EQ(counters.dead_lettered, 14u);  // 50, 75, ..., 375
  EXPECT_EQ(counters.delivered, 386u);
  EXPECT_GT(counters.retried, 0u);
  const std::string state = peer.query("state");
  EXPECT_EQ(json_integer(state, "documents"), 386);
  EXPECT_EQ(json_integer(state, "itemsThrottled"), static_cast<long long>(counters.retried));
  const auto dead = lines_of(testing::read_file(delivery.dead_letter_path));
  ASSERT_EQ(dead.size(), 14u);
  for (const auto& line : dead) {
    EXPECT_NE(line.find("\"reason\":\"refused by the destination\""), std::string::npos) << line;
    EXPECT_NE(line.find("item status 400 mapper_parsing_exception: failed to parse field "
                        "[temperature_avg]"),
              std::string::npos)
        << line;
    EXPECT_NE(line.find("\"temperature_avg\":\"warm\""), std::string::npos) << line;
  }
}

TEST_F(ElasticsearchSinkTest, RetriesAWholeRequestAnswered429) {
  testing::ScratchFolder folder;
  HttpPeer peer({"--fail-requests", "2", "--fail-status", "429"});
  DeliverySink sink(std::make_unique<ElasticsearchTransport>(elasticsearch_config(peer)),
                    fast_delivery(folder));
  write_rows(sink, 0, 120);
  sink.finish();
  const DeliveryCounters counters = sink.counters();
  expect_accounted(counters, 120);
  EXPECT_EQ(counters.delivered, 120u);
  EXPECT_GE(counters.retried, 2u);
  const std::string state = peer.query("state");
  EXPECT_EQ(json_integer(state, "requestsFailed"), 2);
  EXPECT_EQ(json_integer(state, "documents"), 120);
}

TEST_F(ElasticsearchSinkTest, KeepsGoingWhileThePeerIsKilledAndRestarted) {
  testing::ScratchFolder folder;
  HttpPeer peer;
  const int port = peer.port();
  DeliveryConfig delivery = fast_delivery(folder);
  delivery.max_attempts = 100;  // the peer is away for a while
  DeliverySink sink(std::make_unique<ElasticsearchTransport>(elasticsearch_config(peer)), delivery);
  write_rows(sink, 0, 200);
  wait_until([&] { return sink.counters().delivered == 200; });
  ASSERT_EQ(sink.counters().delivered, 200u);
  peer.stop();
  // Writing never waits for the absent peer.
  write_rows(sink, 200, 200);
  wait_until([&] { return sink.counters().retried >= 2; });
  EXPECT_GE(sink.counters().retried, 2u);
  peer.start({}, port);
  write_rows(sink, 400, 100);
  sink.finish();
  const DeliveryCounters counters = sink.counters();
  expect_accounted(counters, 500);
  EXPECT_EQ(counters.delivered, 500u);
  // The restarted peer holds everything sent after the restart.
  EXPECT_EQ(json_integer(peer.query("state"), "documents"), 300);
}

TEST_F(ElasticsearchSinkTest, RetriesRequestsThatTimeOutOnASlowPeer) {
  testing::ScratchFolder folder;
  HttpPeer peer({"--delay", "1.5"});
  ElasticsearchConfig config = elasticsearch_config(peer);
  config.timeout_ns = 300'000'000;
  DeliverySink sink(std::make_unique<ElasticsearchTransport>(config), fast_delivery(folder));
  write_rows(sink, 0, 60);
  wait_until([&] { return sink.counters().retried >= 1; });
  peer.control("{\"delay\": 0}");
  sink.finish();
  const DeliveryCounters counters = sink.counters();
  expect_accounted(counters, 60);
  EXPECT_EQ(counters.delivered, 60u);
  EXPECT_GE(counters.retried, 1u);
  // A request that timed out may still have been indexed: the same ids are overwritten.
  EXPECT_EQ(json_integer(peer.query("state"), "documents"), 60);
}

TEST_F(ElasticsearchSinkTest, DeadLettersWhenThePeerAnswers500UntilAttemptsRunOut) {
  testing::ScratchFolder folder;
  HttpPeer peer({"--fail-requests", "-1", "--fail-status", "500"});
  DeliveryConfig delivery = fast_delivery(folder);
  delivery.max_attempts = 3;
  DeliverySink sink(std::make_unique<ElasticsearchTransport>(elasticsearch_config(peer)), delivery);
  write_rows(sink, 0, 80);
  sink.finish();
  const DeliveryCounters counters = sink.counters();
  expect_accounted(counters, 80);
  EXPECT_EQ(counters.dead_lettered, 80u);
  const auto dead = lines_of(testing::read_file(delivery.dead_letter_path));
  ASSERT_EQ(dead.size(), 80u);
  EXPECT_NE(dead.front().find("\"reason\":\"out of attempts\",\"attempts\":3"), std::string::npos)
      << dead.front();
  EXPECT_NE(dead.front().find("HTTP 500 from _bulk"), std::string::npos) << dead.front();
}

TEST_F(ElasticsearchSinkTest, AReplayOverwritesTheSameDocuments) {
  testing::ScratchFolder folder;
  HttpPeer peer;
  for (int run = 0; run < 2; ++run) {
    DeliverySink sink(std::make_unique<ElasticsearchTransport>(elasticsearch_config(peer)),
                      fast_delivery(folder));
    write_rows(sink, 0, 150);
    sink.finish();
    EXPECT_EQ(sink.counters().delivered, 150u);
  }
  const auto documents = lines_of(peer.query("documents"));
  ASSERT_EQ(documents.size(), 150u);
  std::set<std::string> ids;
  DocumentIds expected(kKeyFields);
  for (int i = 0; i < 150; ++i) ids.insert(expected.id(result_row(i % 10, i / 10)));
  for (const auto& document : documents) {
    EXPECT_NE(document.find("\"_index\": \"sensor-metrics\""), std::string::npos) << document;
    EXPECT_NE(document.find("\"_version\": 2"), std::string::npos) << document;
    const std::size_t at = document.find("\"_id\": \"") + 8;
    EXPECT_EQ(ids.count(document.substr(at, 32)), 1u) << document;
  }
}

TEST_F(ElasticsearchSinkTest, SendsTheApiKeyAndTheNdjsonContentType) {
  testing::ScratchFolder folder;
  HttpPeer peer;
  ElasticsearchConfig config = elasticsearch_config(peer);
  config.api_key = "aWQ6a2V5";
  DeliverySink sink(std::make_unique<ElasticsearchTransport>(config), fast_delivery(folder));
  write_rows(sink, 0, 5);
  sink.finish();
  EXPECT_EQ(sink.counters().delivered, 5u);
  const std::string state = peer.query("state");
  EXPECT_NE(state.find("\"Authorization\": \"ApiKey aWQ6a2V5\""), std::string::npos) << state;
  EXPECT_NE(state.find("\"Content-Type\": \"application/x-ndjson\""), std::string::npos) << state;
}

TEST_F(ElasticsearchSinkTest, SendsBasicAuthentication) {
  testing::ScratchFolder folder;
  HttpPeer peer;
  ElasticsearchConfig config = elasticsearch_config(peer);
  config.username = "elastic";
  config.password = "changeme";
  DeliverySink sink(std::make_unique<ElasticsearchTransport>(config), fast_delivery(folder));
  write_rows(sink, 0, 5);
  sink.finish();
  EXPECT_EQ(sink.counters().delivered, 5u);
  // base64("elastic:changeme")
  EXPECT_NE(peer.query("state").find("\"Authorization\": \"Basic ZWxhc3RpYzpjaGFuZ2VtZQ==\""),
            std::string::npos);
}

}  // namespace
}  // namespace ldh
