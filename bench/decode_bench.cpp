// Decoding throughput per wire format: 1 M sensor readings from the built-in generator, encoded
// once in memory, framed into chunks as a source would, decoded on one thread into 64 Ki-row
// batches. Reports events/s (items) and input bytes/s.

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "ingest/decoder.h"
#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "ingest/sensor_schema.h"
#include "pipeline/batch.h"
#include "pipeline/memory.h"
#include "pipeline/string_dictionary.h"

namespace ldh {
namespace {

constexpr std::uint64_t kEvents = 1'000'000;
constexpr std::size_t kBatchRows = 64 * 1024;

/// Holds one format's pre-encoded stream and its chunks.
struct EncodedStream {
  std::string bytes;
  std::vector<std::span<const std::byte>> chunks;
};

EncodedStream encode_stream(Format format, const Schema& schema) {
  GeneratorConfig config;
  config.events = kEvents;
  config.sensors = 100;
  config.seed = 7;
  SensorGenerator generator(config, schema);
  auto encoder = make_encoder(format, schema, 1024);
  EncodedStream stream;
  while (generator.generate(*encoder, 65536, stream.bytes) > 0) {
  }
  encoder->flush(stream.bytes);
  auto framer = make_decoder(format, schema);
  std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(stream.bytes.data()),
                                  stream.bytes.size());
  while (!rest.empty()) {
    std::size_t length = framer->frame(rest, kBatchRows, true);
    stream.chunks.push_back(rest.first(length));
    rest = rest.subspan(length);
  }
  return stream;
}

void decode_format(benchmark::State& state, Format format) {
  Schema schema = sensor_schema();
  EncodedStream stream = encode_stream(format, schema);
  auto decoder = make_decoder(format, schema);
  std::vector<SlotSpec> slots;
  std::vector<int> field_slots;
  for (std::size_t i = 0; i < schema.fields.size(); ++i) {
    slots.push_back({schema.fields[i].type, false});
    field_slots.push_back(static_cast<int>(i));
  }
  EventBatch batch(slots, kBatchRows, page_aligned_memory());
  StringDictionary strings;
  std::vector<DeadLetter> dead_letters;
  DecodeTarget target{&batch, &field_slots, &strings, &dead_letters, 0};
  std::uint64_t rows = 0;
  for (auto _ : state) {
    std::uint64_t offset = 0;
    for (const auto& chunk : stream.chunks) {
      DecodeCursor cursor;
      while (!cursor.done(chunk.size())) {
        decoder->decode(chunk, offset, cursor, target);
        rows += batch.size();
        benchmark::DoNotOptimize(batch.column(4).data<double>());
        batch.clear();
      }
      offset += chunk.size();
    }
  }
  if (!dead_letters.empty() || rows != kEvents * state.iterations()) {
    state.SkipWithError("decoding lost or rejected records");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rows));
  state.SetBytesProcessed(static_cast<std::int64_t>(stream.bytes.size() * state.iterations()));
  state.counters["bytes_per_event"] =
      static_cast<double>(stream.bytes.size()) / static_cast<double>(kEvents);
}

void BM_DecodeBinary(benchmark::State& state) {
  decode_format(state, Format::binary);
}
void BM_DecodeProtobuf(benchmark::State& state) {
  decode_format(state, Format::protobuf);
}
void BM_DecodeJson(benchmark::State& state) {
  decode_format(state, Format::json);
}

BENCHMARK(BM_DecodeBinary)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeProtobuf)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeJson)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ldh

BENCHMARK_MAIN();
