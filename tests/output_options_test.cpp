// The output options of the product description's analytics engine: `output.format: json`
// (protobuf refused with a reason), `output.compression` (gzip or zstd streams that `gzip -dc`
// and `zstd -dc` read back, per file destination or for all of them) and `output.batching`
// (the default batch of network destinations).

#include "host/compression.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdlib>
#include <map>

#include "host/executor.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using testing::read_file;
using testing::ScratchFolder;

const std::string kInput = R"(input:
  sources:
    - {name: sensors, type: generator, events: 20000, sensors: 50, interval: 1s, seed: 3}
)" + testing::sensor_format("json") +
                           R"(processing:
  groupBy: [sensor_id]
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [avg, max, p95]}
)";

std::vector<ConfigDiagnostic> errors_of(const std::string& text) {
  try {
    parse_config(text, "inline.yaml");
  } catch (const ConfigError& error) {
    return error.diagnostics();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << text;
  return {};
}

/// Expects exactly one diagnostic, about `path`, containing `text`.
void expect_only_error(const std::string& yaml, const std::string& path, const std::string& text) {
  const auto errors = errors_of(yaml);
  ASSERT_EQ(errors.size(), 1u) << (errors.empty() ? "" : errors[1 % errors.size()].message);
  EXPECT_EQ(errors[0].message.rfind(path + ": ", 0), 0u) << errors[0].message;
  EXPECT_NE(errors[0].message.find(text), std::string::npos) << errors[0].message;
}

/// Runs `tool` -dc on `path` and returns what it printed (empty when it failed).
std::string decompress_with(const std::string& tool, const std::string& path) {
  const std::string out = path + ".out";
  const std::string command = tool + " -dc '" + path + "' > '" + out + "' 2>/dev/null";
  if (std::system(command.c_str()) != 0) return "";
  return read_file(out);
}

constexpr std::size_t kSlice = 1 << 16;

/// Inflates a gzip stream that may stop at a sync point (no trailer yet).
std::string gunzip_prefix(const std::string& compressed) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  while (true) {
    const std::size_t before = out.size();
    out.resize(before + kSlice);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    stream.avail_out = static_cast<uInt>(kSlice);
    const int status = inflate(&stream, Z_SYNC_FLUSH);
    EXPECT_TRUE(status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR) << status;
    const bool full = stream.avail_out == 0;
    out.resize(before + kSlice - stream.avail_out);
    if (!full || status != Z_OK) break;
  }
  inflateEnd(&stream);
  return out;
}

/// Decompresses a zstd frame that may stop at a flush point (not ended yet).
std::string unzstd_prefix(const std::string& compressed) {
  ZSTD_DStream* stream = ZSTD_createDStream();
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  std::string out;
  while (true) {
    const std::size_t before = out.size();
    out.resize(before + kSlice);
    ZSTD_outBuffer slice{out.data() + before, kSlice, 0};
    const std::size_t status = ZSTD_decompressStream(stream, &slice, &in);
    EXPECT_FALSE(ZSTD_isError(status)) << ZSTD_getErrorName(status);
    out.resize(before + slice.pos);
    if (ZSTD_isError(status) || (in.pos == in.size && slice.pos < kSlice)) break;
  }
  ZSTD_freeDStream(stream);
  return out;
}

/// Compares long texts without printing them: a mismatch shows the sizes and where it starts.
void expect_same_text(const std::string& actual, const std::string& expected) {
  if (actual == expected) return;
  std::size_t first = 0;
  while (first < actual.size() && first < expected.size() && actual[first] == expected[first]) {
    ++first;
  }
  ADD_FAILURE() << "texts differ: " << actual.size() << " bytes, expected " << expected.size()
                << "; first difference at byte " << first;
}

std::string numbered_lines(std::size_t first, std::size_t count) {
  std::string text;
  for (std::size_t i = first; i < first + count; ++i) {
    text += "{\"window\":\"minute\",\"sensor_id\":" + std::to_string(i % 97) +
            ",\"temperature_avg\":" + std::to_string(20.0 + static_cast<double>(i % 13) / 7) +
            "}\n";
  }
  return text;
}

class CompressionTest : public ::testing::TestWithParam<Compression> {
 protected:
  std::string tool() const { return GetParam() == Compression::gzip ? "gzip" : "zstd"; }
  void SetUp() override {
    const std::string check = "command -v " + tool() + " > /dev/null";
    if (std::system(check.c_str()) != 0) GTEST_SKIP() << tool() << " is not installed";
  }
};

TEST_P(CompressionTest, StreamIsReadableByTheCommandLineTool) {
  ScratchFolder scratch;
  const std::string path = scratch.file("out/results.jsonl." + tool());
  std::string written;
  {
    CompressedFileSink sink(path, GetParam());
    EXPECT_EQ(sink.describe(), path + " (" + tool() + ")");
    for (std::size_t chunk = 0; chunk < 20; ++chunk) {
      const std::string text = numbered_lines(chunk * 5000, 5000);
      sink.write(text);
      sink.flush();
      written += text;
    }
    sink.finish();
    std::vector<SinkCounter> counters;
    sink.statistics(counters);
    ASSERT_EQ(counters.size(), 2u);
    EXPECT_EQ(counters[0].value, written.size());
    EXPECT_EQ(counters[1].value, read_file(path).size());
    EXPECT_LT(counters[1].value * 4, counters[0].value);  // JSON lines compress well
  }
  expect_same_text(decompress_with(tool(), path), written);
}

TEST_P(CompressionTest, FlushMakesEverythingWrittenSoFarReadable) {
  ScratchFolder scratch;
  const std::string path = scratch.file("results.jsonl." + tool());
  CompressedFileSink sink(path, GetParam());
  const std::string first = numbered_lines(0, 300);
  sink.write(first);
  sink.flush();
  const std::string partial = read_file(path);
  ASSERT_FALSE(partial.empty());
  expect_same_text(
      GetParam() == Compression::gzip ? gunzip_prefix(partial) : unzstd_prefix(partial), first);
  // A flush with nothing new written adds nothing.
  sink.flush();
  EXPECT_EQ(read_file(path).size(), partial.size());
}

TEST_P(CompressionTest, WritingAfterFinishStartsAnotherMemberOfTheSameStream) {
  ScratchFolder scratch;
  const std::string path = scratch.file("results.jsonl." + tool());
  {
    CompressedFileSink sink(path, GetParam());
    sink.write(numbered_lines(0, 100));
    sink.finish();
    sink.write(numbered_lines(100, 100));
    // The destructor ends the stream too.
  }
  expect_same_text(decompress_with(tool(), path), numbered_lines(0, 200));
}

INSTANTIATE_TEST_SUITE_P(Formats, CompressionTest,
                         ::testing::Values(Compression::gzip, Compression::zstd),
                         [](const auto& test) {
                           return std::string(compression_name(test.param));
                         });

TEST(OutputOptionsTest, CompressionAppliesToEveryFileDestinationUnlessItSaysOtherwise) {
  if (std::system("command -v gzip > /dev/null && command -v zstd > /dev/null") != 0) {
    GTEST_SKIP() << "gzip or zstd is not installed";
  }
  ScratchFolder scratch;
  const std::string yaml = kInput + R"(output:
  format: json
  compression: zstd
  destinations:
    - {type: jsonl, path: )" +
                           scratch.file("default.jsonl.zst") +
                           R"(}
    - {type: jsonl, path: )" +
                           scratch.file("plain.jsonl") +
                           R"(, compression: false}
    - {type: jsonl, path: )" +
                           scratch.file("gzip.jsonl.gz") +
                           R"(, compression: true}
)";
  const Config config = parse_config(yaml, scratch.file("run.yaml"));
  ASSERT_EQ(config.destinations.size(), 3u);
  EXPECT_EQ(config.destinations[0].compression, Compression::zstd);
  EXPECT_EQ(config.destinations[1].compression, Compression::none);
  EXPECT_EQ(config.destinations[2].compression, Compression::gzip);
  RunOptions options;
  options.dead_letter_path = scratch.file("dead.jsonl");
  Executor executor(config, options);
  const RunSummary summary = executor.run(executor.make_sources(), executor.make_sinks());
  const std::string plain = read_file(scratch.file("plain.jsonl"));
  EXPECT_EQ(std::count(plain.begin(), plain.end(), '\n'), 400);  // 50 sensors, 8 minutes
  expect_same_text(decompress_with("zstd", scratch.file("default.jsonl.zst")), plain);
  expect_same_text(decompress_with("gzip", scratch.file("gzip.jsonl.gz")), plain);
  // The compressed destinations report what they took in and wrote out.
  ASSERT_EQ(summary.sinks.size(), 3u);
  std::map<std::string, std::uint64_t> counted;
  for (const auto& counter : summary.sinks[0].counters) counted[counter.name] = counter.value;
  EXPECT_EQ(counted["bytes_in"], plain.size());
  EXPECT_EQ(counted["bytes_out"], read_file(scratch.file("default.jsonl.zst")).size());
}

TEST(OutputOptionsTest, CompressionValues) {
  const auto compression_of = [](const std::string& value) {
    return parse_config(kInput + "output:\n  compression: " + value +
                            "\n  destinations: [{type: jsonl, path: r.jsonl}]\n",
                        "inline.yaml")
        .destinations[0]
        .compression;
  };
  EXPECT_EQ(compression_of("true"), Compression::gzip);
  EXPECT_EQ(compression_of("false"), Compression::none);
  EXPECT_EQ(compression_of("gzip"), Compression::gzip);
  EXPECT_EQ(compression_of("zstd"), Compression::zstd);
  EXPECT_EQ(compression_of("none"), Compression::none);
  expect_only_error(kInput + "output:\n  compression: lz4\n  destinations: [{type: stdout}]\n",
                    "output.compression",
                    "unknown compression 'lz4'; expected one of: gzip, zstd, none");
  expect_only_error(kInput +
                        "output:\n  destinations: [{type: jsonl, path: r, compression: "
                        "gzp}]\n",
                    "output.destinations[0].compression",
                    "unknown compression 'gzp' (did you mean 'gzip'?)");
  // Standard output stays text.
  expect_only_error(kInput + "output:\n  destinations: [{type: stdout, compression: gzip}]\n",
                    "output.destinations[0].compression", "unknown key");
}

TEST(OutputOptionsTest, FormatIsJsonAndProtobufIsRefusedWithTheReason) {
  EXPECT_NO_THROW(parse_config(kInput + "output:\n  format: json\n  destinations: [{type: "
                                        "stdout}]\n",
                               "inline.yaml"));
  const std::string reason = "protobuf output needs a message type for result rows";
  expect_only_error(kInput + "output:\n  format: protobuf\n  destinations: [{type: stdout}]\n",
                    "output.format", reason);
  expect_only_error(kInput +
                        "output:\n  destinations: [{type: kafka, topic: t, format: protobuf, "
                        "config: {brokers: [localhost:9092]}}]\n",
                    "output.destinations[0].format", reason);
  expect_only_error(kInput + "output:\n  destinations: [{type: websocket, format: protobuf}]\n",
                    "output.destinations[0].format", reason);
  expect_only_error(kInput + "output:\n  format: binary\n  destinations: [{type: stdout}]\n",
                    "output.format",
                    "unknown output format 'binary'; expected one of: json, protobuf");
}

TEST(OutputOptionsTest, BatchingIsTheDefaultBatchOfNetworkDestinations) {
  const Config config = parse_config(kInput + R"(output:
  batching: {size: 1000, timeout: 5s}
  destinations:
    - {type: kafka, topic: a, config: {brokers: [localhost:9092]}}
    - {type: kafka, topic: b, config: {brokers: [localhost:9092]}, batch: {size: 10}}
)",
                                     "inline.yaml");
  ASSERT_EQ(config.destinations.size(), 2u);
  EXPECT_EQ(config.destinations[0].delivery.batch_records, 1000u);
  EXPECT_EQ(config.destinations[0].delivery.batch_interval_ns, 5'000'000'000);
  // A destination's own batch wins; what it leaves out comes from output.batching.
  EXPECT_EQ(config.destinations[1].delivery.batch_records, 10u);
  EXPECT_EQ(config.destinations[1].delivery.batch_interval_ns, 5'000'000'000);
  // Without output.batching, the delivery defaults hold.
  const Config plain = parse_config(
      kInput + "output:\n  destinations: [{type: kafka, topic: a, config: {brokers: [h:1]}}]\n",
      "inline.yaml");
  EXPECT_EQ(plain.destinations[0].delivery.batch_records, DeliveryConfig{}.batch_records);
  EXPECT_EQ(plain.destinations[0].delivery.batch_interval_ns, DeliveryConfig{}.batch_interval_ns);

  expect_only_error(kInput + "output:\n  batching: {size: 0}\n  destinations: [{type: stdout}]\n",
                    "output.batching.size", "expected");
  expect_only_error(
      kInput + "output:\n  batching: {timeout: soon}\n  destinations: [{type: stdout}]\n",
      "output.batching.timeout", "expected a duration");
  expect_only_error(kInput +
                        "output:\n  batching: {size: 5, interval: 1s}\n  destinations: [{type: "
                        "stdout}]\n",
                    "output.batching.interval", "unknown key");
}

}  // namespace
}  // namespace ldh
