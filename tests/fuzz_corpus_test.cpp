// Replays the fuzz seed corpus (tests/fuzz/corpus/<target>/) through the same driver the
// libFuzzer targets use, so every build checks those inputs even without clang.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/decode_fuzz_driver.h"

namespace ldh {
namespace {

std::vector<std::string> corpus_files(const std::string& target) {
  std::vector<std::string> files;
  std::filesystem::path folder =
      std::filesystem::path(LDH_SOURCE_DIR) / "tests/fuzz/corpus" / target;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  }
  return files;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void replay(Format format) {
  std::string target = std::string(to_string(format)) + "_decoder_fuzz";
  auto files = corpus_files(target);
  EXPECT_GE(files.size(), 3u) << target;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    std::string bytes = read_file(path);
    std::span<const std::byte> span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    for (bool validate : {true, false}) {
      fuzzing::decode_stream(format, sensor_schema(), span, validate);
      fuzzing::decode_stream(format, fuzzing::every_type_schema(), span, validate);
    }
    // Every prefix too: a stream cut anywhere must still decode without breaking a rule.
    for (std::size_t size = 0; size < bytes.size(); size += 1 + size / 8) {
      fuzzing::decode_stream(format, sensor_schema(), span.first(size), true);
    }
  }
}

TEST(FuzzCorpus, ReplaysJson) {
  replay(Format::json);
}
TEST(FuzzCorpus, ReplaysBinary) {
  replay(Format::binary);
}
TEST(FuzzCorpus, ReplaysProtobuf) {
  replay(Format::protobuf);
}

}  // namespace
}  // namespace ldh
