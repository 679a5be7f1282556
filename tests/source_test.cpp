// The memory source (benchmarks, tests) against the file source it stands in for: the same
// bytes handed on in order without gaps, as views rather than copies, and an over-long record
// cut where a file source cuts it.

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "decoder_test_support.h"
#include "ingest/decoder.h"
#include "ingest/encoder.h"
#include "ingest/sensor_schema.h"
#include "ingest/source.h"
#include "pipeline/config.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

/// Reads every chunk of `source`: (stream offset, bytes) in order.
std::vector<std::pair<std::uint64_t, std::string>> read_all(Source& source) {
  std::vector<std::pair<std::uint64_t, std::string>> chunks;
  RawChunk chunk;
  while (source.next(chunk)) {
    chunks.emplace_back(
        chunk.stream_offset,
        std::string(reinterpret_cast<const char*>(chunk.bytes.data()), chunk.bytes.size()));
    chunk = RawChunk{};
  }
  return chunks;
}

/// Checks that `chunks` cover `bytes` in order, each starting where the one before ended.
void expect_whole_stream(const std::vector<std::pair<std::uint64_t, std::string>>& chunks,
                         const std::string& bytes) {
  std::string joined;
  for (const auto& [offset, text] : chunks) {
    EXPECT_EQ(offset, joined.size());
    joined += text;
  }
  EXPECT_TRUE(joined == bytes);
}

std::unique_ptr<Source> file_source(const std::string& path, Format format, const Schema& schema,
                                    const SourceOptions& options) {
  SourceConfig config;
  config.name = "file";
  config.type = SourceType::file;
  config.format = format;
  config.file.path = path;
  return make_source(config, 0, schema, options);
}

TEST(MemorySource, HandsOnEveryByteInOrderAsViewsOfItsBuffer) {
  const Schema schema = sensor_schema();
  auto encoder = make_encoder(Format::binary, schema, 100);
  auto bytes = std::make_shared<std::string>();
  std::vector<FieldValue> row = {std::int64_t{1'700'000'000'000'000'000},
                                 std::int64_t{7},
                                 std::string("hall"),
                                 std::string("temp"),
                                 21.5,
                                 40.0,
                                 1000.0};
  for (int i = 0; i < 1000; ++i) encoder->append(row, *bytes);
  encoder->flush(*bytes);
  *bytes += "garbage between frames";
  for (int i = 0; i < 500; ++i) encoder->append(row, *bytes);
  encoder->flush(*bytes);
  SourceOptions options;
  options.chunk_records = 300;
  auto source = make_memory_source("memory", Format::binary, schema, bytes, 0, options);
  RawChunk chunk;
  std::uint64_t records = 0;
  std::size_t chunks = 0;
  std::uint64_t offset = 0;
  while (source->next(chunk)) {
    EXPECT_EQ(chunk.stream_offset, offset);
    EXPECT_EQ(reinterpret_cast<const char*>(chunk.bytes.data()), bytes->data() + offset);
    offset += chunk.bytes.size();
    records += chunk.records;
    ++chunks;
  }
  EXPECT_EQ(offset, bytes->size());
  EXPECT_EQ(source->bytes_read(), bytes->size());
  EXPECT_GE(records, 1500u);
  EXPECT_GE(chunks, 5u);
}

/// Decodes `chunks` in order, each as a worker decodes a chunk; returns the rows kept and each
/// dead letter's offset, reason and detail.
std::pair<std::size_t, std::vector<std::string>> decode_all(
    const std::vector<std::pair<std::uint64_t, std::string>>& chunks, Format format,
    const Schema& schema) {
  std::size_t rows = 0;
  std::vector<std::string> letters;
  for (const auto& [offset, text] : chunks) {
    const auto decoded = testing::decode_stream(format, schema, text, {.stream_offset = offset});
    rows += decoded.rows.size();
    for (const DeadLetter& letter : decoded.dead_letters) {
      letters.push_back(std::to_string(letter.offset) + " " +
                        std::string(to_string(letter.reason)) + " " + letter.detail);
    }
  }
  return {rows, letters};
}

TEST(MemorySource, CutsALineLongerThanAFileSourceHoldsWhereTheFileSourceDoes) {
  const Schema schema = sensor_schema();
  const std::string good =
      R"({"timestamp":1700000000000,"sensor_id":7,"location":"hall","type":"temp",)"
      R"("temperature":21.5,"humidity":40,"pressure":1000})"
      "\n";
  std::string text = good;
  // Longer than the most a file source holds (the record cap plus one read), so the source
  // cuts it one byte past the cap and its tail is framed as a line of its own.
  text += std::string(kMaxRecordBytes + (4u << 20) + 5, 'x') + "\n";
  while (text.size() < kMaxRecordBytes + (10u << 20)) text += good;
  testing::ScratchFolder folder;
  const std::string path = folder.file("input.jsonl");
  std::ofstream(path, std::ios::binary) << text;

  const SourceOptions options;
  auto memory = make_memory_source("memory", Format::json, schema,
                                   std::make_shared<std::string>(text), 0, options);
  auto file = file_source(path, Format::json, schema, options);
  const auto from_memory = read_all(*memory);
  const auto from_file = read_all(*file);
  expect_whole_stream(from_memory, text);
  expect_whole_stream(from_file, text);
  const auto decoded_from_memory = decode_all(from_memory, Format::json, schema);
  const auto decoded_from_file = decode_all(from_file, Format::json, schema);
  EXPECT_EQ(decoded_from_memory, decoded_from_file);
  EXPECT_EQ(decoded_from_file.second.size(), 2u);  // the line up to the cap, then its tail
  EXPECT_GT(decoded_from_file.first, 40'000u);
}

}  // namespace
}  // namespace ldh
