// Event handler plugins: the example plugin (examples/plugins/example_handler.cpp) loaded with
// dlopen and exercised directly and through a whole run, its broken builds refused with errors
// that name the file and the problem, and autoAck holding a source's acknowledgement until the
// plugin has handled the chunk's events.

#include "host/handler_plugin.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>

#include "host/executor.h"
#include "http_peer.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using testing::lines_of;
using testing::read_file;
using testing::ScratchFolder;

HandlerConfig example_handler(const std::string& config_json,
                              const std::string& plugin = LDH_EXAMPLE_PLUGIN) {
  HandlerConfig handler;
  handler.name = "audit";
  handler.plugin = plugin;
  handler.config_json = config_json;
  handler.where = {"run.yaml", 30, 15};
  return handler;
}

std::string path_config(const std::string& path, const std::string& more = "") {
  return "{\"path\":\"" + path + "\"" + more + "}";
}

/// Returns the message of the ConfigError that loading `handler` throws.
std::string load_error(const HandlerConfig& handler) {
  try {
    PluginHandlerFactory factory(handler);
    factory.create();
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "no error";
}

TEST(HandlerPluginTest, TheExamplePluginHandlesEvents) {
  ScratchFolder folder;
  PluginHandlerFactory factory(example_handler(path_config(folder.file("seen.jsonl"))));
  EXPECT_EQ(factory.describe(), std::string("handler audit (") + LDH_EXAMPLE_PLUGIN + ")");
  auto first = factory.create();
  auto second = factory.create();
  EXPECT_EQ(first->handle("{\"n\":1}").kind, HandlerOutcome::Kind::handled);
  EXPECT_EQ(second->handle("{\"n\":2}").kind, HandlerOutcome::Kind::handled);
  EXPECT_EQ(read_file(folder.file("seen.jsonl")), "{\"n\":1}\n{\"n\":2}\n");
}

TEST(HandlerPluginTest, TransientAndPermanentFailuresCarryThePluginsMessage) {
  ScratchFolder folder;
  PluginHandlerFactory factory(example_handler(path_config(
      folder.file("seen.jsonl"), ",\"transientFailures\":1,\"failWhen\":\"\\\"bad\\\"\"")));
  auto handler = factory.create();
  const HandlerOutcome retry = handler->handle("{\"n\":1}");
  EXPECT_EQ(retry.kind, HandlerOutcome::Kind::retry);
  EXPECT_EQ(retry.message, "a simulated transient failure");
  EXPECT_EQ(handler->handle("{\"n\":1}").kind, HandlerOutcome::Kind::handled);
  const HandlerOutcome failed = handler->handle("{\"n\":\"bad\"}");
  EXPECT_EQ(failed.kind, HandlerOutcome::Kind::failed);
  EXPECT_EQ(failed.message, "the event matches failWhen");
  EXPECT_EQ(read_file(folder.file("seen.jsonl")), "{\"n\":1}\n");
}

TEST(HandlerPluginTest, RefusesAPluginBuiltForAnotherInterfaceVersion) {
  EXPECT_EQ(load_error(example_handler("{}", LDH_WRONG_VERSION_PLUGIN)),
            std::string("run.yaml:30:15: error: handlers.audit.plugin: handler plugin ") +
                LDH_WRONG_VERSION_PLUGIN +
                " implements handler interface version 2, but this ldh implements version 1: "
                "rebuild it against this ldh's host/ldh_plugin.h");
}

TEST(HandlerPluginTest, RefusesAPluginThatLacksAFunction) {
  EXPECT_EQ(load_error(example_handler("{}", LDH_INCOMPLETE_PLUGIN)),
            std::string("run.yaml:30:15: error: handlers.audit.plugin: handler plugin ") +
                LDH_INCOMPLETE_PLUGIN +
                " does not export ldh_handler_destroy, which handler interface version 1 "
                "requires (see host/ldh_plugin.h)");
}

TEST(HandlerPluginTest, RefusesFilesThatAreNoPlugins) {
  ScratchFolder folder;
  const std::string text = folder.file("notes.so");
  std::ofstream(text) << "not a shared library\n";
  const std::string message = load_error(example_handler("{}", text));
  EXPECT_NE(message.find("handlers.audit.plugin: cannot load handler plugin " + text + ": "),
            std::string::npos)
      << message;
  // A shared library that is not a plugin: the test binary's own libstdc++ will do.
  const std::string library = "libstdc++.so.6";
  const std::string foreign = load_error(example_handler("{}", library));
  EXPECT_NE(foreign.find("handler plugin libstdc++.so.6 is not an ldh handler plugin: it does "
                         "not export ldh_plugin_api_version"),
            std::string::npos)
      << foreign;
}

TEST(HandlerPluginTest, ReportsThePluginsReasonWhenItRefusesItsConfiguration) {
  EXPECT_EQ(load_error(example_handler("{}")),
            std::string("run.yaml:30:15: error: handlers.audit: plugin ") + LDH_EXAMPLE_PLUGIN +
                " refused to create the handler: config.path (the file to append events to) is "
                "required");
}

const std::string kInput =
    "input:\n"
    "  sources: [{type: generator}]\n"
    "  format:\n"
    "    type: json\n"
    "    schema:\n"
    "      fields:\n"
    "        - {name: sensor_id, type: int32}\n"
    "        - {name: status, type: string}\n"
    "output: {destinations: [{type: stdout}]}\n";

std::string status_rows(int count) {
  std::string input;
  for (int i = 0; i < count; ++i) {
    input += "{\"sensor_id\":" + std::to_string(i) + ",\"status\":\"" +
             (i % 10 == 0 ? "error" : "ok") + "\"}\n";
  }
  return input;
}

TEST(HandlerPluginTest, ARunHandsEventsToThePluginAndAccountsForEachOne) {
  ScratchFolder folder;
  const std::string yaml =
      kInput +
      "handlers:\n"
      "  audit:\n"
      "    plugin: " LDH_EXAMPLE_PLUGIN
      "\n"
      "    config:\n"
      "      path: " +
      folder.file("audit.jsonl") +
      "\n"
      "      transientFailures: 2\n"
      "      failWhen: '\"sensor_id\":30,'\n"
      "events:\n"
      "  types: [{name: status_change, priority: low}]\n"
      "  routing:\n"
      "    rules: [{event: status_change, condition: 'status == \"error\"', action: audit}]\n"
      "  processing: {parallel: false}\n"
      "  retry: {maxAttempts: 3, initialDelay: 1ms}\n"
      "  deadLetter: " +
      folder.file("events-dead-letter.jsonl") + "\n";
  const auto output = testing::run_pipeline(yaml, status_rows(100), Format::json);
  std::map<std::string, std::uint64_t> counters;
  for (const auto& sink : output.summary.sinks) {
    for (const auto& counter : sink.counters)
      counters[sink.name + "." + counter.name] = counter.value;
  }
  const std::string prefix = "event processor (1 worker).";
  EXPECT_EQ(counters[prefix + "produced"], 10u);
  EXPECT_EQ(counters[prefix + "handled"], 9u);
  EXPECT_EQ(counters[prefix + "retried"], 2u);
  EXPECT_EQ(counters[prefix + "dead_lettered"], 1u);
  const std::string handled = read_file(folder.file("audit.jsonl"));
  EXPECT_EQ(lines_of(handled).size(), 9u);
  EXPECT_NE(handled.find("\"record\":{\"sensor_id\":0,\"status\":\"error\"}}\n"), std::string::npos)
      << handled;
  const auto letters = lines_of(read_file(folder.file("events-dead-letter.jsonl")));
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_NE(letters[0].find("{\"reason\":\"failed\",\"error\":\"the event matches failWhen\","
                            "\"attempts\":1,\"handler\":\"handler audit ("),
            std::string::npos)
      << letters[0];
}

TEST(HandlerPluginTest, ARunRefusesABrokenPluginNamingTheConfigLine) {
  ScratchFolder folder;
  const std::string yaml = kInput +
                           "handlers:\n"
                           "  audit: {plugin: " LDH_WRONG_VERSION_PLUGIN
                           "}\n"
                           "events:\n"
                           "  types: [{name: status_change}]\n"
                           "  routing: {rules: [{event: status_change, action: audit}]}\n"
                           "  deadLetter: " +
                           folder.file("events-dead-letter.jsonl") + "\n";
  try {
    testing::run_pipeline(yaml, status_rows(3), Format::json);
    ADD_FAILURE() << "the run accepted a plugin of another interface version";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what())
                  .rfind("test.yaml:11:19: error: handlers.audit.plugin: "
                         "handler plugin ",
                         0),
              0u)
        << error.what();
  }
}

/// A live source of one chunk that stays open until the chunk is acknowledged (or 10 s pass),
/// checking at the acknowledgement what the plugin has written.
class AcknowledgedSource final : public Source {
 public:
  AcknowledgedSource(std::string bytes, std::function<void()> on_acknowledge)
      : bytes_(std::make_shared<std::string>(std::move(bytes))),
        on_acknowledge_(std::move(on_acknowledge)) {}

  bool next(RawChunk& chunk) override {
    if (sent_) {
      std::unique_lock lock(mutex_);
      acknowledged_while_open_ = acknowledged_changed_.wait_for(lock, std::chrono::seconds(10),
                                                                [&] { return acknowledged_; });
      return false;
    }
    sent_ = true;
    chunk.block = bytes_;
    chunk.bytes = std::as_bytes(std::span(bytes_->data(), bytes_->size()));
    chunk.ack_token = 7;
    return true;
  }
  void acknowledge(std::uint64_t token) override {
    EXPECT_EQ(token, 7u);
    on_acknowledge_();
    std::lock_guard lock(mutex_);
    acknowledged_ = true;
    acknowledged_changed_.notify_all();
  }
  bool replayable() const override { return false; }
  Format format() const override { return Format::json; }
  const std::string& name() const override { return name_; }
  std::uint64_t bytes_read() const override { return bytes_->size(); }

  bool acknowledged_while_open() const { return acknowledged_while_open_; }

 private:
  std::shared_ptr<std::string> bytes_;
  std::function<void()> on_acknowledge_;
  std::string name_ = "live";
  bool sent_ = false;
  std::mutex mutex_;
  std::condition_variable acknowledged_changed_;
  bool acknowledged_ = false;
  bool acknowledged_while_open_ = false;
};

TEST(HandlerPluginTest, AutoAckAcknowledgesAChunkOnlyOnceItsEventsAreHandled) {
  ScratchFolder folder;
  const std::string audit = folder.file("audit.jsonl");
  const std::string yaml =
      kInput +
      "handlers:\n"
      "  audit:\n"
      "    plugin: " LDH_EXAMPLE_PLUGIN
      "\n"
      "    config: {transientFailures: 3, path: " +
      audit +
      "}\n"
      "events:\n"
      "  types: [{name: status_change}]\n"
      "  routing: {rules: [{event: status_change, condition: 'status == \"error\"', action: "
      "audit}]}\n"
      "  processing: {parallel: false}\n"
      "  retry: {maxAttempts: 10, initialDelay: 50ms}\n"
      "  autoAck: true\n"
      "  deadLetter: " +
      folder.file("events-dead-letter.jsonl") + "\n";
  RunOptions options;
  options.dead_letter_path = folder.file("dead.jsonl");
  Executor executor(parse_config(yaml, "test.yaml"), options);
  std::size_t handled_at_acknowledgement = 0;
  auto source = std::make_unique<AcknowledgedSource>(
      status_rows(30), [&] { handled_at_acknowledgement = lines_of(read_file(audit)).size(); });
  AcknowledgedSource& live = *source;
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::move(source));
  std::string results;
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<testing::StringSink>(results));
  executor.run(std::move(sources), std::move(sinks));
  // The three events were retried for a while; the acknowledgement waited for all of them,
  // and came while the source was still open.
  EXPECT_EQ(handled_at_acknowledgement, 3u);
  EXPECT_TRUE(live.acknowledged_while_open());
}

}  // namespace
}  // namespace ldh
