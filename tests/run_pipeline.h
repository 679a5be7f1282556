#pragma once

// Runs a pipeline from YAML text over bytes in memory and captures everything it writes, so
// tests can compare outputs byte for byte.

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "host/executor.h"
#include "pipeline/config.h"

namespace ldh::testing {

/// Collects what a sink is given.
class StringSink final : public Sink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void write(std::string_view text) override { out_.append(text); }
  void flush() override {}
  std::string describe() const override { return "string"; }

 private:
  std::string& out_;
};

/// A folder of its own under the system temp folder, removed at the end of the test.
class ScratchFolder {
 public:
  ScratchFolder() {
    path_ = std::filesystem::temp_directory_path() /
            ("ldh-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static int& counter() {
    static int value = 0;
    return value;
  }
  std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Returns the batch size tests run with when they do not choose one: LDH_TEST_BATCH_SIZE if
/// set (scripts/test.sh runs the suite again with 3, to shake out batch-boundary bugs), else
/// the engine's default.
inline std::size_t default_batch_size() {
  const char* text = std::getenv("LDH_TEST_BATCH_SIZE");
  if (text == nullptr || *text == '\0') return 65536;
  return std::max<std::size_t>(1, std::strtoull(text, nullptr, 10));
}

/// Returns the input section of a config whose one generator source is replaced by the test's
/// JSON lines: the schema's `fields` lines (indented as list items under `fields:`) and the
/// event-time field, if any.
inline std::string json_input(const std::string& fields, const std::string& event_time = "") {
  return "input:\n  sources: [{type: generator}]\n  format:\n    type: json\n    schema:\n" +
         (event_time.empty() ? std::string() : "      eventTime: " + event_time + "\n") +
         "      fields:\n" + fields;
}

/// Returns the `format` block of the sensor schema of docs/formats.md (the generator's events:
/// 48-byte binary records) for an input of format `type`, as the sensor tests' configs use it.
inline std::string sensor_format(const std::string& type) {
  return "  format:\n    type: " + type + R"(
    schema:
      eventTime: timestamp
      fields:
        - {name: timestamp, type: timestamp, unit: ms}
        - {name: sensor_id, type: int32}
        - {name: location, type: string, size: 12}
        - {name: type, type: string, size: 8}
        - {name: temperature, type: float64}
        - {name: humidity, type: float32}
        - {name: pressure, type: float32}
)";
}

/// Tells whether tests fold window rows on the host (LDH_TEST_FOLD_WINDOWS=1: scripts/test.sh
/// runs the window tests again that way, so both paths must give the same bytes).
inline bool fold_windows_in_tests() {
  const char* text = std::getenv("LDH_TEST_FOLD_WINDOWS");
  return text != nullptr && std::string(text) == "1";
}

struct PipelineOutput {
  std::string results;
  std::string dead_letters;
  RunSummary summary;
};

/// Runs `config` (its sources are replaced by one memory source holding `input`) and returns
/// the results and the dead-letter file's text.
inline PipelineOutput run_pipeline(const Config& config, const std::string& input, Format format,
                                   unsigned threads = 1,
                                   std::size_t batch_size = default_batch_size(),
                                   bool fold_windows = fold_windows_in_tests(), int device = -1) {
  ScratchFolder scratch;
  RunOptions options;
  options.threads = threads;
  options.batch_size = batch_size;
  options.dead_letter_path = scratch.file("dead.jsonl");
  options.fold_windows = fold_windows;
  options.device = device;
  Executor executor(config, options);
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(make_memory_source("input", format, executor.plan().schema(),
                                       std::make_shared<std::string>(input), 0,
                                       executor.source_options()));
  PipelineOutput output;
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<StringSink>(output.results));
  output.summary = executor.run(std::move(sources), std::move(sinks));
  if (std::filesystem::exists(options.dead_letter_path)) {
    output.dead_letters = read_file(options.dead_letter_path);
  }
  return output;
}

inline PipelineOutput run_pipeline(const std::string& yaml, const std::string& input, Format format,
                                   unsigned threads = 1,
                                   std::size_t batch_size = default_batch_size(),
                                   bool fold_windows = fold_windows_in_tests(), int device = -1) {
  return run_pipeline(parse_config(yaml, "test.yaml"), input, format, threads, batch_size,
                      fold_windows, device);
}

}  // namespace ldh::testing
