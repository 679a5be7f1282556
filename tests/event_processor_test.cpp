// The event processor: weighted round-robin priorities without starvation, overflow (dead
// letters or blocking), retries with backoff then dead letters carrying the last error, a
// handler that fails transiently then succeeds, the drain timeout; routing rows by condition
// and event type; the webhook action against tests/http_peer.py (answering errors, down then
// up), the kafka action against librdkafka's mock cluster; and the product description's
// EventProcessor configuration run as written. Every test ends with handled + dead-lettered ==
// produced.

#include "host/event_processor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "host/event_actions.h"
#include "host/event_router.h"
#include "host/kafka_sink.h"
#include "host/notification.h"
#include "http_peer.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using std::chrono::milliseconds;
using testing::HttpPeer;
using testing::lines_of;
using testing::read_file;
using testing::ScratchFolder;

bool have_python() {
  return std::system("/usr/bin/python3 -c 'import http.server'") == 0;
}

/// Returns `prefix` followed by `number`.
std::string numbered(std::string_view prefix, int number) {
  std::string text(prefix);
  text += std::to_string(number);
  return text;
}

/// What a test handler does with each event, and what it saw (shared by every instance).
struct Script {
  std::mutex mutex;
  std::vector<std::string> seen;
  std::function<HandlerOutcome(std::string_view)> answer = [](std::string_view) {
    return HandlerOutcome{};
  };

  std::vector<std::string> events() {
    std::lock_guard lock(mutex);
    return seen;
  }
};

class ScriptFactory final : public HandlerFactory {
 public:
  explicit ScriptFactory(std::shared_ptr<Script> script) : script_(std::move(script)) {}
  std::unique_ptr<EventHandler> create() override {
    class Handler final : public EventHandler {
     public:
      explicit Handler(std::shared_ptr<Script> script) : script_(std::move(script)) {}
      HandlerOutcome handle(std::string_view event) override {
        {
          std::lock_guard lock(script_->mutex);
          script_->seen.emplace_back(event);
        }
        return script_->answer(event);
      }

     private:
      std::shared_ptr<Script> script_;
    };
    return std::make_unique<Handler>(script_);
  }
  std::string describe() const override { return "script"; }

 private:
  std::shared_ptr<Script> script_;
};

/// Holds handlers back until released.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [&] { return open_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

/// Fast settings: one worker, millisecond backoffs, dead letters in `folder`.
EventsConfig fast_events(const ScratchFolder& folder) {
  EventsConfig events;
  events.workers = 1;
  events.queue_size = 100'000;
  events.initial_backoff_ns = 1'000'000;
  events.max_backoff_ns = 5'000'000;
  events.dead_letter_path = folder.file("events-dead-letter.jsonl");
  events.drain_timeout_ns = 20'000'000'000;
  return events;
}

/// Routes 0, 1 and 2 carry high, medium and low events to the script.
std::unique_ptr<EventProcessor> processor_for(std::shared_ptr<Script> script,
                                              const EventsConfig& events) {
  std::vector<std::unique_ptr<HandlerFactory>> factories;
  factories.push_back(std::make_unique<ScriptFactory>(std::move(script)));
  std::vector<EventRoute> routes = {
      {EventPriority::high, {0}}, {EventPriority::medium, {0}}, {EventPriority::low, {0}}};
  return std::make_unique<EventProcessor>(std::move(factories), std::move(routes), events);
}

void expect_accounted(const EventProcessor& processor) {
  const EventProcessorCounters counted = processor.counters();
  EXPECT_EQ(counted.handled + counted.dead_lettered, counted.produced);
  EXPECT_EQ(counted.queued, 0u);
  EXPECT_EQ(processor.settled_through(), processor.last_sequence());
}

/// Returns the first letter of each event (H, M or L): the dispatch order.
std::string order_of(const std::vector<std::string>& events) {
  std::string order;
  for (const auto& event : events) order += event.front();
  return order;
}

TEST(EventProcessorTest, ServesHighBeforeMediumBeforeLowByWeightedRoundRobin) {
  ScratchFolder folder;
  auto script = std::make_shared<Script>();
  auto processor = processor_for(script, fast_events(folder));
  for (int i = 0; i < 8; ++i) {
    processor->submit(2, numbered("L", i));
    processor->submit(1, numbered("M", i));
    processor->submit(0, numbered("H", i));
  }
  processor->start();
  processor->finish();
  // Rounds of 4 high, 2 medium, 1 low; a priority whose queue is empty passes its turn.
  EXPECT_EQ(order_of(script->events()), "HHHHMMLHHHHMMLMMLMMLLLLL");
  // Each priority in submission order.
  std::vector<std::string> lows;
  for (const auto& event : script->events()) {
    if (event.front() == 'L') lows.push_back(event);
  }
  EXPECT_EQ(lows, (std::vector<std::string>{"L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7"}));
  expect_accounted(*processor);
  EXPECT_EQ(processor->counters().handled_by_priority[0], 8u);
}

TEST(EventProcessorTest, CustomWeightsSetTheShares) {
  ScratchFolder folder;
  EventsConfig events = fast_events(folder);
  events.weights = {2, 1, 1};
  auto script = std::make_shared<Script>();
  auto processor = processor_for(script, events);
  for (int i = 0; i < 4; ++i) {
    processor->submit(0, "H");
    processor->submit(1, "M");
    processor->submit(2, "L");
  }
  processor->start();
  processor->finish();
  EXPECT_EQ(order_of(script->events()), "HHMLHHMLMLML");
}

TEST(EventProcessorTest, LowPriorityEventsDoNotStarveUnderAFloodOfHighOnes) {
  ScratchFolder folder;
  auto script = std::make_shared<Script>();
  auto processor = processor_for(script, fast_events(folder));
  for (int i = 0; i < 50; ++i) processor->submit(0, "H");
  for (int i = 0; i < 5; ++i) processor->submit(2, "L");
  processor->start();
  // High events keep coming while the low ones wait.
  for (int i = 0; i < 2000; ++i) processor->submit(0, "H");
  processor->finish();
  const std::string order = order_of(script->events());
  ASSERT_EQ(order.size(), 2055u);
  // With medium empty, every round is HHHHL until the low events are done: a queued event
  // waits for at most 2 x (the other priorities' weights) dispatches of other priorities.
  std::size_t since_low = 0;
  std::size_t lows = 0;
  for (char c : order) {
    if (c == 'L') {
      EXPECT_LE(since_low, 12u) << order.substr(0, 40);
      since_low = 0;
      if (++lows == 5) break;
    } else {
      ++since_low;
    }
  }
  EXPECT_EQ(lows, 5u);
  EXPECT_EQ(order.substr(0, 10), "HHHHLHHHHL");
  expect_accounted(*processor);
}

TEST(EventProcessorTest, AFullQueueDeadLettersWhatDoesNotFit) {
  ScratchFolder folder;
  EventsConfig events = fast_events(folder);
  events.queue_size = 4;
  auto gate = std::make_shared<Gate>();
  auto script = std::make_shared<Script>();
  script->answer = [gate](std::string_view) {
    gate->wait();
    return HandlerOutcome{};
  };
  auto processor = processor_for(script, events);
  processor->start();
  for (int i = 0; i < 10; ++i) processor->submit(1, numbered("M", i));
  // Four are accepted (queued or running); the other six find the queue full.
  EXPECT_EQ(processor->counters().overflowed, 6u);
  EXPECT_EQ(processor->settled_through(), 0u);
  gate->release();
  processor->finish();
  const EventProcessorCounters counted = processor->counters();
  EXPECT_EQ(counted.produced, 10u);
  EXPECT_EQ(counted.handled, 4u);
  EXPECT_EQ(counted.dead_lettered, 6u);
  EXPECT_EQ(counted.peak_queued, 4u);
  expect_accounted(*processor);
  const auto letters = lines_of(read_file(events.dead_letter_path));
  ASSERT_EQ(letters.size(), 6u);
  EXPECT_NE(letters[0].find("\"reason\":\"overflow\""), std::string::npos) << letters[0];
  EXPECT_NE(letters[0].find("\"event\":M4"), std::string::npos) << letters[0];
}

TEST(EventProcessorTest, OverflowBlockMakesTheSubmitterWaitForRoom) {
  ScratchFolder folder;
  EventsConfig events = fast_events(folder);
  events.queue_size = 2;
  events.block_on_overflow = true;
  auto gate = std::make_shared<Gate>();
  auto script = std::make_shared<Script>();
  script->answer = [gate](std::string_view) {
    gate->wait();
    return HandlerOutcome{};
  };
  auto processor = processor_for(script, events);
  processor->start();
  std::atomic<bool> submitted{false};
  std::thread submitter([&] {
    for (int i = 0; i < 6; ++i) processor->submit(0, numbered("H", i));
    submitted = true;
  });
  while (processor->counters().blocked == 0) std::this_thread::sleep_for(milliseconds(1));
  EXPECT_FALSE(submitted.load());
  gate->release();
  submitter.join();
  processor->finish();
  const EventProcessorCounters counted = processor->counters();
  EXPECT_EQ(counted.handled, 6u);
  EXPECT_EQ(counted.dead_lettered, 0u);
  EXPECT_GE(counted.blocked, 1u);
  EXPECT_LE(counted.peak_queued, 2u);
  expect_accounted(*processor);
}

TEST(EventProcessorTest, RetriesWithBackoffThenDeadLettersWithTheLastError) {
  ScratchFolder folder;
  EventsConfig events = fast_events(folder);
  events.workers = 3;
  events.max_attempts = 3;
  auto script = std::make_shared<Script>();
  std::atomic<int> calls{0};
  script->answer = [&calls](std::string_view) {
    return HandlerOutcome{HandlerOutcome::Kind::retry,
                          "peer down (call " + std::to_string(++calls) + ")"};
  };
  auto processor = processor_for(script, events);
  processor->start();
  for (int i = 0; i < 20; ++i) processor->submit(i % 3, numbered("event-", i));
  processor->finish();
  const EventProcessorCounters counted = processor->counters();
  EXPECT_EQ(counted.produced, 20u);
  EXPECT_EQ(counted.handled, 0u);
  EXPECT_EQ(counted.retried, 40u);
  EXPECT_EQ(counted.dead_lettered, 20u);
  EXPECT_EQ(calls.load(), 60);
  expect_accounted(*processor);
  const auto letters = lines_of(read_file(events.dead_letter_path));
  ASSERT_EQ(letters.size(), 20u);
  for (const auto& letter : letters) {
    EXPECT_NE(letter.find("\"reason\":\"attempts\",\"error\":\"peer down (call "),
              std::string::npos)
        << letter;
    EXPECT_NE(letter.find("\"attempts\":3,\"handler\":\"script\""), std::string::npos) << letter;
  }
}

TEST(EventProcessorTest, AHandlerThatFailsTransientlyThenSucceedsLosesNothing) {
  ScratchFolder folder;
  EventsConfig events = fast_events(folder);
  events.workers = 4;
  events.max_attempts = 5;
  auto script = std::make_shared<Script>();
  auto attempts = std::make_shared<std::map<std::string, int>>();
  auto attempts_mutex = std::make_shared<std::mutex>();
  script->answer = [attempts, attempts_mutex](std::string_view event) {
    std::lock_guard lock(*attempts_mutex);
    if (++(*attempts)[std::string(event)] <= 2) {
      return HandlerOutcome{HandlerOutcome::Kind::retry, "not yet"};
    }
    return HandlerOutcome{};
  };
  auto processor = processor_for(script, events);
  processor->start();
  for (int i = 0; i < 100; ++i) processor->submit(i % 3, numbered("event-", i));
  processor->finish();
  const EventProcessorCounters counted = processor->counters();
  EXPECT_EQ(counted.handled, 100u);
  EXPECT_EQ(counted.retried, 200u);
  EXPECT_EQ(counted.dead_lettered, 0u);
  expect_accounted(*processor);
  for (const auto& [event, count] : *attempts) EXPECT_EQ(count, 3) << event;
}

TEST(EventProcessorTest, APermanentFailureIsDeadLetteredAtOnce) {
  ScratchFolder folder;
  EventsConfig events = fast_events(folder);
  auto script = std::make_shared<Script>();
  script->answer = [](std::string_view event) {
    if (event == "bad") return HandlerOutcome{HandlerOutcome::Kind::failed, "refused"};
    return HandlerOutcome{};
  };
  auto processor = processor_for(script, events);
  processor->start();
  processor->submit(0, "good");
  processor->submit(0, "bad");
  processor->finish();
  const EventProcessorCounters counted = processor->counters();
  EXPECT_EQ(counted.handled, 1u);
  EXPECT_EQ(counted.dead_lettered, 1u);
  EXPECT_EQ(counted.retried, 0u);
  expect_accounted(*processor);
  EXPECT_EQ(read_file(events.dead_letter_path),
            "{\"reason\":\"failed\",\"error\":\"refused\",\"attempts\":1,\"handler\":\"script\","
            "\"event\":bad}\n");
}

TEST(EventProcessorTest, TheDrainTimeoutDeadLettersWhatIsStillFailing) {
  ScratchFolder folder;
  EventsConfig events = fast_events(folder);
  events.max_attempts = 1'000'000;
  events.initial_backoff_ns = 10'000'000;
  events.max_backoff_ns = 10'000'000;
  events.drain_timeout_ns = 200'000'000;
  auto script = std::make_shared<Script>();
  script->answer = [](std::string_view) {
    return HandlerOutcome{HandlerOutcome::Kind::retry, "still down"};
  };
  auto processor = processor_for(script, events);
  processor->start();
  for (int i = 0; i < 3; ++i) processor->submit(2, "event");
  processor->finish();
  EXPECT_EQ(processor->counters().dead_lettered, 3u);
  expect_accounted(*processor);
  for (const auto& letter : lines_of(read_file(events.dead_letter_path))) {
    EXPECT_NE(letter.find("\"reason\":\"drain\",\"error\":\"still failing when "
                          "events.drainTimeout ran out: still down\""),
              std::string::npos)
        << letter;
  }
}

TEST(EventProcessorTest, SettledThroughWaitsForTheOldestUnsettledEvent) {
  ScratchFolder folder;
  EventsConfig events = fast_events(folder);
  events.workers = 2;
  auto gate = std::make_shared<Gate>();
  auto script = std::make_shared<Script>();
  script->answer = [gate](std::string_view event) {
    if (event == "slow") gate->wait();
    return HandlerOutcome{};
  };
  auto processor = processor_for(script, events);
  processor->start();
  EXPECT_EQ(processor->submit(0, "slow"), 1u);
  EXPECT_EQ(processor->submit(0, "fast"), 2u);
  while (processor->counters().handled < 1) std::this_thread::sleep_for(milliseconds(1));
  // The second is handled, but the first holds the mark back.
  EXPECT_EQ(processor->settled_through(), 0u);
  gate->release();
  processor->finish();
  EXPECT_EQ(processor->settled_through(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Routing and actions through the executor

const std::string kInput =
    "input:\n"
    "  sources: [{type: generator}]\n"
    "  format:\n"
    "    type: json\n"
    "    schema:\n"
    "      fields:\n"
    "        - {name: timestamp, type: timestamp}\n"
    "        - {name: sensor_id, type: int32}\n"
    "        - {name: kind, type: string, required: false}\n"
    "        - {name: temperature, type: float64, required: false}\n"
    "        - {name: status, type: string, required: false}\n"
    "        - {name: details, type: string, required: false}\n";

/// Sensor readings (sensors 1-10 at 95.5 to 113.5 degrees, seven of them above 100) and
/// status reports (two of them errors).
std::string sample_input() {
  std::string input;
  for (int i = 0; i < 10; ++i) {
    input += "{\"timestamp\":" + std::to_string(1'795'000'000'000 + i * 1000) +
             ",\"sensor_id\":" + std::to_string(i + 1) +
             ",\"kind\":\"reading\",\"temperature\":" + std::to_string(95 + 2 * i) + ".5}\n";
  }
  const char* statuses[] = {"ok", "error", "ok", "error", "degraded"};
  for (int i = 0; i < 5; ++i) {
    input += "{\"timestamp\":" + std::to_string(1'795'000'100'000 + i * 1000) +
             ",\"sensor_id\":" + std::to_string(i + 1) + ",\"kind\":\"status\",\"status\":\"" +
             statuses[i] + "\",\"details\":\"disk " + std::to_string(i) + " full\"}\n";
  }
  return input;
}

/// Returns the counters of the run's event processor.
std::map<std::string, std::uint64_t> processor_counters(const RunSummary& summary) {
  std::map<std::string, std::uint64_t> counters;
  for (const auto& sink : summary.sinks) {
    if (sink.name.rfind("event processor", 0) != 0) continue;
    for (const auto& counter : sink.counters) counters[counter.name] = counter.value;
  }
  return counters;
}

TEST(EventRoutingTest, RoutesRowsByConditionToTheLogWithTheirSchemaAndMessage) {
  ScratchFolder folder;
  const std::string yaml = kInput + "output: {destinations: [{type: stdout}]}\n" +
                           "events:\n"
                           "  types:\n"
                           "    - {name: hot, priority: high, schema: [sensor_id, temperature]}\n"
                           "    - {name: failing, priority: low}\n"
                           "  routing:\n"
                           "    rules:\n"
                           "      - {event: hot, condition: temperature > 100, action: log,\n"
                           "         message: \"{temperature}°C at sensor {sensor_id} {{hot}}\"}\n"
                           "      - {event: failing, condition: 'status == \"error\"', action: "
                           "log}\n"
                           "  log: " +
                           folder.file("events.jsonl") + "\n" +
                           "  deadLetter: " + folder.file("events-dead-letter.jsonl") + "\n";
  const auto output = testing::run_pipeline(yaml, sample_input(), Format::json);
  const auto lines = lines_of(read_file(folder.file("events.jsonl")));
  ASSERT_EQ(lines.size(), 9u) << read_file(folder.file("events.jsonl"));
  std::size_t hot = 0;
  std::size_t failing = 0;
  for (const auto& line : lines) {
    EXPECT_EQ(line.rfind("{\"type\":\"event\",\"id\":\"", 0), 0u) << line;
    if (line.find("\"event\":\"hot\"") != std::string::npos) {
      ++hot;
      EXPECT_NE(line.find("\"priority\":\"high\",\"rule\":0,\"text\":\""), std::string::npos);
      // The record carries the type's schema only.
      EXPECT_NE(line.find(",\"record\":{\"sensor_id\":"), std::string::npos) << line;
      EXPECT_EQ(line.find("timestamp"), std::string::npos) << line;
    } else {
      ++failing;
      EXPECT_NE(line.find("\"priority\":\"low\",\"rule\":1,\"text\":\"failing: status == "
                          "\\\"error\\\"\""),
                std::string::npos)
          << line;
      EXPECT_NE(line.find("\"status\":\"error\""), std::string::npos) << line;
    }
  }
  EXPECT_EQ(hot, 7u);
  EXPECT_EQ(failing, 2u);
  EXPECT_NE(read_file(folder.file("events.jsonl"))
                .find("\"text\":\"113.5°C at sensor 10 {hot}\",\"record\":{\"sensor_id\":10,"
                      "\"temperature\":113.5}}"),
            std::string::npos);
  auto counters = processor_counters(output.summary);
  EXPECT_EQ(counters["produced"], 9u);
  EXPECT_EQ(counters["handled"], 9u);
  EXPECT_EQ(counters["dead_lettered"], 0u);
}

TEST(EventRoutingTest, ATypeFieldClassifiesRowsBeforeTheConditions) {
  ScratchFolder folder;
  const std::string yaml = kInput + "output: {destinations: [{type: stdout}]}\n" +
                           "events:\n"
                           "  typeField: kind\n"
                           "  types: [{name: reading}, {name: status}]\n"
                           "  routing:\n"
                           "    rules:\n"
                           "      - {event: status, action: log}\n"
                           "      - {event: reading, condition: sensor_id <= 2, action: log}\n"
                           "  log: " +
                           folder.file("events.jsonl") + "\n";
  testing::run_pipeline(yaml, sample_input(), Format::json);
  // Several workers write the log: lines come in any order.
  const auto lines = lines_of(read_file(folder.file("events.jsonl")));
  ASSERT_EQ(lines.size(), 7u);
  std::size_t readings = 0;
  for (const auto& line : lines) {
    readings += line.find("\"event\":\"reading\"") != std::string::npos;
  }
  EXPECT_EQ(readings, 2u);
}

/// Returns the message of the ConfigError that compiling `yaml`'s rules throws.
std::string routing_error(const std::string& yaml) {
  const Config config = parse_config(yaml, "events.yaml");
  StringDictionary strings;
  Plan plan(config, strings);
  try {
    EventRouter router(config, plan, strings);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "no error";
}

TEST(EventRoutingTest, RulesAreCompiledAgainstTheirEventTypesSchema) {
  const std::string head = kInput + "output: {destinations: [{type: stdout}]}\n" +
                           "events:\n"
                           "  types: [{name: hot, schema: [sensor_id, temperature]}]\n"
                           "  routing:\n"
                           "    rules:\n";
  const std::string outside =
      routing_error(head + "      - {event: hot, condition: status == 'x', action: log}\n");
  EXPECT_NE(outside.find("events.yaml:18:33: error: events.routing.rules[0].condition: in "
                         "expression \"status == 'x'\": field 'status' is not in the schema of "
                         "event type 'hot' (fields: sensor_id, temperature); add it there"),
            std::string::npos)
      << outside;
  EXPECT_NE(routing_error(head + "      - {event: hot, condition: temperature + 1, action: log}\n")
                .find("a condition must be true or false (a comparison), not a number"),
            std::string::npos);
  EXPECT_NE(routing_error(head + "      - {event: hot, action: log, message: 'at {sensr_id}'}\n")
                .find("placeholder {sensr_id} names no field of event type 'hot' (did you mean "
                      "'sensor_id'?)"),
            std::string::npos);
  EXPECT_NE(routing_error(head + "      - {event: hot, action: log, message: 'a { b'}\n")
                .find("'{' opens a placeholder that no '}' closes"),
            std::string::npos);
}

class WebhookActionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_python()) GTEST_SKIP() << "needs /usr/bin/python3 for tests/http_peer.py";
  }
};

/// An event processor whose one route posts to `url` through the webhook action.
std::unique_ptr<EventProcessor> webhook_processor(const std::string& url,
                                                  const EventsConfig& events) {
  WebhookConfig webhook;
  webhook.url = url;
  webhook.timeout_ns = 2'000'000'000;
  std::vector<std::unique_ptr<HandlerFactory>> factories;
  factories.push_back(std::make_unique<TransportHandlerFactory>(
      "webhook " + url, [webhook] { return std::make_unique<WebhookTransport>(webhook); }, false));
  return std::make_unique<EventProcessor>(
      std::move(factories), std::vector<EventRoute>{{EventPriority::high, {0}}}, events);
}

TEST_F(WebhookActionTest, RetriesA500AndDeliversEveryEvent) {
  ScratchFolder folder;
  HttpPeer peer({"--webhook-status", "500", "--webhook-count", "3"});
  EventsConfig events = fast_events(folder);
  events.workers = 2;
  events.max_attempts = 10;
  auto processor = webhook_processor(peer.url() + "/events", events);
  processor->start();
  for (int i = 0; i < 5; ++i) processor->submit(0, numbered("{\"n\":", i) + "}");
  processor->finish();
  const EventProcessorCounters counted = processor->counters();
  EXPECT_EQ(counted.handled, 5u);
  EXPECT_EQ(counted.retried, 3u);
  expect_accounted(*processor);
  const auto calls = lines_of(peer.query("webhooks"));
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_NE(calls[0].find("\"path\": \"/events\""), std::string::npos) << calls[0];
}

TEST_F(WebhookActionTest, APeerThatIsDownThenComesUpGetsEveryEvent) {
  ScratchFolder folder;
  auto peer = std::make_unique<HttpPeer>();
  const int port = peer->port();
  const std::string url = peer->url() + "/events";
  peer->stop();
  EventsConfig events = fast_events(folder);
  events.max_attempts = 1000;
  events.initial_backoff_ns = 20'000'000;
  events.max_backoff_ns = 50'000'000;
  auto processor = webhook_processor(url, events);
  processor->start();
  for (int i = 0; i < 4; ++i) processor->submit(0, numbered("{\"n\":", i) + "}");
  while (processor->counters().retried < 2) std::this_thread::sleep_for(milliseconds(5));
  peer = std::make_unique<HttpPeer>(std::vector<std::string>{}, port);
  processor->finish();
  const EventProcessorCounters counted = processor->counters();
  EXPECT_EQ(counted.handled, 4u);
  EXPECT_EQ(counted.dead_lettered, 0u);
  expect_accounted(*processor);
  EXPECT_EQ(lines_of(peer->query("webhooks")).size(), 4u);
}

TEST_F(WebhookActionTest, APeerThatRefusesForGoodDeadLettersEveryEvent) {
  ScratchFolder folder;
  HttpPeer peer({"--webhook-status", "400", "--webhook-count", "-1"});
  EventsConfig events = fast_events(folder);
  auto processor = webhook_processor(peer.url() + "/events", events);
  processor->start();
  for (int i = 0; i < 3; ++i) processor->submit(0, numbered("{\"n\":", i) + "}");
  processor->finish();
  EXPECT_EQ(processor->counters().dead_lettered, 3u);
  expect_accounted(*processor);
  const auto letters = lines_of(read_file(events.dead_letter_path));
  ASSERT_EQ(letters.size(), 3u);
  EXPECT_NE(letters[0].find("\"reason\":\"failed\",\"error\":\"HTTP 400"), std::string::npos)
      << letters[0];
}

// The kafka action produces through the Kafka destination's transport; librdkafka's mock
// cluster inside the producer (test.mock.num.brokers) acknowledges each message.
TEST(KafkaActionTest, ProducesEachEventAndCountsItHandledOnItsDeliveryReport) {
  ScratchFolder folder;
  KafkaSinkConfig kafka;
  kafka.brokers = {"127.0.0.1:1"};
  kafka.topic = "events";
  kafka.properties = {{"test.mock.num.brokers", "1", "test", {}}};
  EventsConfig events = fast_events(folder);
  events.workers = 2;
  std::vector<std::unique_ptr<HandlerFactory>> factories;
  factories.push_back(std::make_unique<TransportHandlerFactory>(
      "kafka topic events", [kafka] { return std::make_unique<KafkaTransport>(kafka); }, false));
  EventProcessor processor(std::move(factories), {{EventPriority::medium, {0}}}, events);
  processor.start();
  for (int i = 0; i < 20; ++i) processor.submit(0, numbered("{\"n\":", i) + "}");
  processor.finish();
  EXPECT_EQ(processor.counters().handled, 20u);
  expect_accounted(processor);
}

// The product description's EventProcessor, translated to YAML as docs/events.md shows: its
// handlers become the rules' built-in actions with a message, notify goes through
// output.alerts' webhook, and the start options sit under events.
TEST_F(WebhookActionTest, TheProductDescriptionsEventProcessorRunsAsWritten) {
  ScratchFolder folder;
  HttpPeer peer({"--webhook-status", "500", "--webhook-count", "2"});
  const std::string yaml =
      kInput +
      "output:\n"
      "  destinations: [{type: stdout}]\n"
      "  alerts:\n"
      "    notifications: [webhook]\n"
      "    webhook: {url: " +
      peer.url() +
      "/alerts}\n"
      "events:\n"
      "  types:\n"
      "    - {name: temperature_alert, priority: high, schema: temperatureSchema}\n"
      "    - {name: system_status, priority: medium, schema: statusSchema}\n"
      "  schemas:\n"
      "    temperatureSchema: [sensor_id, temperature, timestamp]\n"
      "    statusSchema: [sensor_id, status, details, timestamp]\n"
      "  routing:\n"
      "    rules:\n"
      "      - event: temperature_alert\n"
      "        condition: \"temperature > 100\"\n"
      "        action: notify\n"
      "        message: \"High temperature detected: {temperature}°C\"\n"
      "      - event: system_status\n"
      "        condition: 'status == \"error\"'\n"
      "        action: log\n"
      "        message: \"System error: {details}\"\n"
      "  processing:\n"
      "    parallel: true\n"
      "    maxWorkers: 4\n"
      "    queueSize: 1000\n"
      "  autoAck: true\n"
      "  retry:\n"
      "    enabled: true\n"
      "    maxAttempts: 3\n"
      "    initialDelay: 10ms\n"
      "  log: " +
      folder.file("events.jsonl") + "\n  deadLetter: " + folder.file("events-dead.jsonl") + "\n";
  const auto output = testing::run_pipeline(yaml, sample_input(), Format::json);
  auto counters = processor_counters(output.summary);
  EXPECT_EQ(counters["produced"], 9u);
  EXPECT_EQ(counters["handled"] + counters["dead_lettered"], 9u);
  EXPECT_EQ(counters["retried"], 2u);
  EXPECT_EQ(counters["handled"], 9u);
  const auto calls = lines_of(peer.query("webhooks"));
  ASSERT_EQ(calls.size(), 7u);
  std::string bodies;
  for (const auto& call : calls) bodies += call + "\n";
  // The peer records the body as a JSON string, with the degree sign escaped.
  EXPECT_NE(bodies.find("High temperature detected: 113.5\\u00b0C"), std::string::npos) << bodies;
  EXPECT_NE(bodies.find("\\\"notifiedAt\\\":"), std::string::npos) << bodies;
  const std::string logged = read_file(folder.file("events.jsonl"));
  EXPECT_EQ(lines_of(logged).size(), 2u);
  EXPECT_NE(logged.find("\"text\":\"System error: disk 1 full\""), std::string::npos) << logged;
}

}  // namespace
}  // namespace ldh
