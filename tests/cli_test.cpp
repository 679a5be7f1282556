// Runs the built `ldh` binary as a user would and checks exit codes and output.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "run_pipeline.h"

namespace ldh {
namespace {

struct Outcome {
  int status = -1;
  std::string output;  // stdout and stderr together
};

Outcome ldh(const std::string& arguments) {
  std::string command = std::string(LDH_EXECUTABLE) + " " + arguments + " 2>&1";
  Outcome outcome;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return outcome;
  char buffer[4096];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) outcome.output.append(buffer, got);
  int status = pclose(pipe);
  outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

const std::string kExamples = std::string(LDH_SOURCE_DIR) + "/examples";

TEST(Cli, HelpForEveryCommand) {
  EXPECT_EQ(ldh("--help").status, 0);
  for (const char* command : {"run", "validate", "gen", "info", "bench"}) {
    Outcome outcome = ldh(std::string(command) + " --help");
    EXPECT_EQ(outcome.status, 0) << command;
    EXPECT_NE(outcome.output.find("usage: ldh"), std::string::npos) << command;
  }
  Outcome unknown = ldh("frobnicate");
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.output.find("unknown command"), std::string::npos);
  EXPECT_EQ(ldh("run --no-such-option").status, 1);
}

TEST(Cli, ValidateExitCodes) {
  Outcome good = ldh("validate " + kExamples + "/sensors.yaml");
  EXPECT_EQ(good.status, 0) << good.output;
  EXPECT_NE(good.output.find("valid"), std::string::npos);

  testing::ScratchFolder scratch;
  std::string bad = scratch.file("bad.yaml");
  write_file(bad,
             "input:\n"
             "  sources: [{type: generator}]\n"
             "  format:\n"
             "    type: json\n"
             "    schema:\n"
             "      fields: [{name: temperature, type: float64}]\n"
             "processing:\n"
             "  pipeline:\n"
             "    - type: filter\n"
             "      config:\n"
             "        rules: [{field: temprature, operator: gt, value: 1}]\n"
             "output:\n"
             "  destinations: [{type: stdout}]\n");
  Outcome invalid = ldh("validate " + bad);
  EXPECT_EQ(invalid.status, 2) << invalid.output;
  EXPECT_NE(invalid.output.find(bad + ":11:"), std::string::npos) << invalid.output;
  EXPECT_NE(invalid.output.find("did you mean 'temperature'"), std::string::npos) << invalid.output;

  Outcome expression = ldh("validate " + bad + ".missing");
  EXPECT_EQ(expression.status, 1) << expression.output;
}

TEST(Cli, ExpressionErrorsPointAtTheCharacter) {
  testing::ScratchFolder scratch;
  std::string path = scratch.file("expression.yaml");
  write_file(
      path,
      "input:\n"
      "  sources: [{type: generator}]\n"
      "  format:\n"
      "    type: json\n"
      "    schema:\n"
      "      fields: [{name: temperature, type: float64}, {name: humidity, type: float64}]\n"
      "processing:\n"
      "  pipeline:\n"
      "    - type: transform\n"
      "      config:\n"
      "        operations:\n"
      "          - {type: calculate, field: h, formula: \"heat_index(temperature, humidty)\"}\n"
      "output:\n"
      "  destinations: [{type: stdout}]\n");
  Outcome outcome = ldh("validate " + path);
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  // Column of 'humidty' inside the quoted formula on line 12.
  std::string line =
      "          - {type: calculate, field: h, formula: \"heat_index(temperature, humidty)\"}";
  std::size_t column = line.find("humidty") + 1;
  EXPECT_NE(outcome.output.find(path + ":12:" + std::to_string(column) + ":"), std::string::npos)
      << outcome.output;
  EXPECT_NE(outcome.output.find("humidity"), std::string::npos) << outcome.output;
}

TEST(Cli, GeneratedFilesInEveryFormatGiveTheSameResults) {
  testing::ScratchFolder scratch;
  std::string reference;
  for (const char* format : {"json", "binary", "protobuf"}) {
    std::string events = scratch.file(std::string("events.") + format);
    Outcome gen = ldh(std::string("gen --format ") + format +
                      " --events 3000 --sensors 25 --seed 4 --jitter 2s -o " + events);
    ASSERT_EQ(gen.status, 0) << gen.output;
    std::string config = scratch.file(std::string("run-") + format + ".yaml");
    std::string results = scratch.file(std::string("results-") + format + ".jsonl");
    std::ifstream example(kExamples + "/sensors.yaml");
    std::string text((std::istreambuf_iterator<char>(example)), std::istreambuf_iterator<char>());
    // Swap the generator source for the file, and the output path for ours.
    std::size_t sources = text.find("  sources:");
    std::size_t format_key = text.find("  format:");
    text.replace(sources, format_key - sources,
                 "  sources:\n    - {type: file, format: " + std::string(format) +
                     ", path: " + events + "}\n");
    text.replace(text.find("out/sensors.jsonl"), std::string("out/sensors.jsonl").size(), results);
    text.replace(text.find("out/rejected.jsonl"), std::string("out/rejected.jsonl").size(),
                 scratch.file("rejected.jsonl"));
    text.replace(text.find("out/dead-letter.jsonl"), std::string("out/dead-letter.jsonl").size(),
                 scratch.file("dead.jsonl"));
    write_file(config, text);
    Outcome run = ldh("run " + config + " --threads 2 --batch-size 500");
    ASSERT_EQ(run.status, 0) << run.output;
    std::string output = testing::read_file(results);
    ASSERT_FALSE(output.empty());
    if (reference.empty()) {
      reference = output;
    } else {
      EXPECT_EQ(output, reference) << format;
    }
  }
}

TEST(Cli, RunsTheBuiltInDemo) {
  testing::ScratchFolder scratch;
  std::string command = "cd " + scratch.path().string() + " && " + LDH_EXECUTABLE + " run --quiet";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::string results = testing::read_file(scratch.file("out/sensors.jsonl"));
  EXPECT_NE(results.find("\"window\":\"minute\""), std::string::npos);
}

TEST(Cli, GpuBackendFailsClearlyWithoutADevice) {
  Outcome info = ldh("info");
  ASSERT_EQ(info.status, 0) << info.output;
  EXPECT_NE(info.output.find("cuda"), std::string::npos);
  if (info.output.find("cuda devices: none") == std::string::npos) {
    GTEST_SKIP() << "a CUDA device is present";
  }
  Outcome run = ldh("run " + kExamples + "/sensors.yaml --backend gpu --quiet");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("no usable CUDA device"), std::string::npos) << run.output;
}

TEST(Cli, BenchPrintsTheMedian) {
  Outcome bench = ldh("bench --events 20000 --sensors 100 --repeat 2");
  EXPECT_EQ(bench.status, 0) << bench.output;
  ASSERT_NE(bench.output.find("median:"), std::string::npos) << bench.output;
  // Of two runs, the mean of both (not the better one): the printed figures, to their rounding.
  const auto figure_after = [&](const std::string& label, const char* unit) {
    const std::size_t at = bench.output.find(label);
    const std::size_t end = bench.output.find(unit, at);
    const std::size_t start = bench.output.rfind(' ', end - 2) + 1;
    return std::stod(bench.output.substr(start, end - start));
  };
  const double first = figure_after("run 1:", " M events per CPU s");
  const double second = figure_after("run 2:", " M events per CPU s");
  const double median = figure_after("median:", " M events per CPU s");
  EXPECT_NEAR(median, (first + second) / 2, 0.011) << bench.output;
}

TEST(Cli, BenchPrintsCpuTimeAndIdleDecodersEmitTheSameRows) {
  // Decoders at idle priority change who gets a core, never what is computed.
  const std::string common = "bench --events 50000 --sensors 100 --repeat 1 --threads 2";
  Outcome normal = ldh(common);
  Outcome idle = ldh(common + " --idle-decoders");
  ASSERT_EQ(normal.status, 0) << normal.output;
  ASSERT_EQ(idle.status, 0) << idle.output;
  EXPECT_NE(normal.output.find("M events per CPU s"), std::string::npos) << normal.output;
  const auto emitted = [](const std::string& output) {
    const std::size_t open = output.find("(", output.find("run 1:"));
    return output.substr(open, output.find(" emitted)", open) - open);
  };
  EXPECT_EQ(emitted(idle.output), emitted(normal.output)) << idle.output;
}

TEST(Cli, BadArgumentsAreUserErrors) {
  Outcome outcome = ldh("run --threads zero");
  EXPECT_EQ(outcome.status, 1);
  EXPECT_NE(outcome.output.find("--threads"), std::string::npos);
  outcome = ldh("gen --format xml -o /dev/null");
  EXPECT_EQ(outcome.status, 1);
  EXPECT_NE(outcome.output.find("--format"), std::string::npos);
}

}  // namespace
}  // namespace ldh
