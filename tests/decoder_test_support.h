#pragma once

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/decoder.h"
#include "ingest/encoder.h"
#include "ingest/sensor_schema.h"
#include "pipeline/batch.h"
#include "pipeline/memory.h"
#include "pipeline/string_dictionary.h"

namespace ldh::testing {

/// One decoded row, each value rendered as text so rows from different formats (and expected
/// rows) compare exactly: floats in shortest round-trip form, strings by their text.
using Row = std::vector<std::string>;

inline constexpr std::string_view kNullText = "<null>";

template <typename T>
std::string real_text(T value) {
  if (value != value) return "NaN";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

/// Renders row `row` of `batch` (slot i = schema field i).
inline Row render_row(const Schema& schema, const EventBatch& batch, std::size_t row,
                      const StringDictionary& strings) {
  Row out;
  for (std::size_t i = 0; i < schema.fields.size(); ++i) {
    const Column& column = batch.column(i);
    if (column.nullable() && column.validity()[row] == 0) {
      out.emplace_back(kNullText);
      continue;
    }
    switch (column.type()) {
      case DataType::int32:
        out.push_back(std::to_string(column.data<std::int32_t>()[row]));
        break;
      case DataType::int64:
      case DataType::timestamp:
        out.push_back(std::to_string(column.data<std::int64_t>()[row]));
        break;
      case DataType::float32:
        out.push_back(real_text(column.data<float>()[row]));
        break;
      case DataType::float64:
        out.push_back(real_text(column.data<double>()[row]));
        break;
      case DataType::boolean:
        out.push_back(column.data<std::uint8_t>()[row] != 0 ? "true" : "false");
        break;
      case DataType::string:
        out.emplace_back(strings.lookup(column.data<std::int32_t>()[row]));
        break;
    }
  }
  return out;
}

/// Renders what a field holds after decoding `value` (timestamps in nanoseconds, floats
/// narrowed for float32 fields, absent optional fields as null).
inline std::string expected_text(const Field& field, const FieldValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return std::string(kNullText);
  switch (field.type) {
    case DataType::int32:
    case DataType::int64:
    case DataType::timestamp:
      return std::to_string(std::get<std::int64_t>(value));
    case DataType::float32:
      return real_text(static_cast<float>(std::get<double>(value)));
    case DataType::float64:
      return real_text(std::get<double>(value));
    case DataType::boolean:
      return std::get<bool>(value) ? "true" : "false";
    case DataType::string:
      return std::get<std::string>(value);
  }
  return "";
}

inline Row expected_row(const Schema& schema, const std::vector<FieldValue>& values) {
  Row row;
  for (std::size_t i = 0; i < schema.fields.size(); ++i) {
    row.push_back(expected_text(schema.fields[i], values[i]));
  }
  return row;
}

/// Makes `count` varied sensor readings for sensor_schema(): millisecond timestamps (as ns),
/// non-ASCII locations, values with few decimals, like the built-in generator's.
inline std::vector<std::vector<FieldValue>> sensor_rows(std::size_t count, std::uint64_t seed = 1) {
  static const char* const kLocations[] = {"Zürich", "Lyon", "Tromsø", "Kraków", "Ōsaka", "Quito"};
  static const char* const kTypes[] = {"indoor", "outdoor", "cellar", "roof"};
  std::vector<std::vector<FieldValue>> rows;
  std::uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (std::size_t i = 0; i < count; ++i) {
    std::int64_t millis = 1'795'000'000'000 + static_cast<std::int64_t>(i * 250 + next() % 100);
    rows.push_back(
        {FieldValue(millis * 1'000'000), FieldValue(static_cast<std::int64_t>(next() % 500) - 3),
         FieldValue(std::string(kLocations[next() % 6])),
         FieldValue(std::string(kTypes[next() % 4])),
         FieldValue(static_cast<double>(static_cast<std::int64_t>(next() % 8000) - 2000) / 100.0),
         FieldValue(static_cast<double>(next() % 1000) / 10.0),
         FieldValue(950.0 + static_cast<double>(next() % 10000) / 100.0)});
  }
  return rows;
}

inline std::vector<Row> expected_rows(const Schema& schema,
                                      const std::vector<std::vector<FieldValue>>& rows) {
  std::vector<Row> out;
  for (const auto& row : rows) out.push_back(expected_row(schema, row));
  return out;
}

struct Decoded {
  std::vector<Row> rows;
  std::vector<DeadLetter> dead_letters;
  std::size_t chunks = 0;
};

struct StreamOptions {
  std::size_t capacity = 1024;                                  // rows per batch
  std::size_t chunk_records = 1000;                             // max_records passed to frame()
  std::size_t block = std::numeric_limits<std::size_t>::max();  // bytes a source reads at once
  bool validate = true;
  std::uint64_t stream_offset = 0;  // offset of the first byte in the stream
};

/// Decodes `bytes` the way a source and a worker would: frame() over a growing window of
/// `block`-byte reads (end of stream with the last), decode() of each chunk into batches of
/// `capacity` rows. Checks the frame() contract on the way.
inline Decoded decode_stream(Format format, const Schema& schema, std::string_view bytes,
                             const StreamOptions& options = {}) {
  std::unique_ptr<Decoder> framer = make_decoder(format, schema, options.validate);
  std::unique_ptr<Decoder> decoder = make_decoder(format, schema, options.validate);
  std::vector<SlotSpec> slots;
  std::vector<int> field_slots;
  for (std::size_t i = 0; i < schema.fields.size(); ++i) {
    slots.push_back({schema.fields[i].type, !schema.fields[i].required});
    field_slots.push_back(static_cast<int>(i));
  }
  EventBatch batch(slots, options.capacity, page_aligned_memory());
  StringDictionary strings;
  Decoded decoded;
  DecodeTarget target{&batch, &field_slots, &strings, &decoded.dead_letters, 3};
  const auto* data = reinterpret_cast<const std::byte*>(bytes.data());
  std::size_t position = 0;
  std::size_t available = std::min(options.block, bytes.size());
  while (position < bytes.size()) {
    bool end = available == bytes.size();
    std::span<const std::byte> window(data + position, available - position);
    FrameInfo info;
    std::size_t length = framer->frame(window, options.chunk_records, end, &info);
    bool framing_lost = info.framing_lost;
    EXPECT_LE(length, window.size());
    // As the sources do: after a framing loss this chunk is the stream's last.
    if (framing_lost) {
      length = window.size();
      bytes = bytes.substr(0, position + length);
      available = bytes.size();
    }
    if (length == 0) {
      EXPECT_FALSE(end) << "frame() made no progress at the end of the stream";
      if (end) break;
      available = std::min(bytes.size(), available + options.block);
      continue;
    }
    ++decoded.chunks;
    std::span<const std::byte> chunk = window.first(length);
    DecodeCursor cursor;
    std::size_t stalls = 0;
    while (!cursor.done(chunk.size())) {
      std::size_t before_offset = cursor.offset;
      std::uint32_t before_record = cursor.record;
      decoder->decode(chunk, options.stream_offset + position, cursor, target);
      for (std::size_t row = 0; row < batch.size(); ++row) {
        decoded.rows.push_back(render_row(schema, batch, row, strings));
      }
      bool moved = cursor.offset != before_offset || cursor.record != before_record;
      if (!moved && batch.size() == 0) {
        ADD_FAILURE() << "decode() made no progress on an empty batch";
        return decoded;
      }
      stalls = moved ? 0 : stalls + 1;
      if (stalls > 1) {
        ADD_FAILURE() << "decode() stalled";
        return decoded;
      }
      batch.clear();
    }
    position += length;
    if (available < position) available = position;
  }
  return decoded;
}

/// Encodes `rows` with a fresh encoder (then flushes).
inline std::string encode_rows(Format format, const Schema& schema,
                               const std::vector<std::vector<FieldValue>>& rows,
                               std::uint32_t frame_records = 1024) {
  std::unique_ptr<Encoder> encoder = make_encoder(format, schema, frame_records);
  std::string out;
  for (const auto& row : rows) encoder->append(row, out);
  encoder->flush(out);
  return out;
}

/// Encodes generated sensor rows in `format` and checks that decoding gives them back with no
/// dead letter, for every batch capacity (1, 2, 3 and a large one) and read block size, so
/// resumption inside chunks and records cut by block boundaries are both exercised.
inline void expect_sensor_round_trip(Format format, std::size_t count,
                                     std::initializer_list<std::size_t> blocks,
                                     std::size_t chunk_records,
                                     std::uint32_t frame_records = 1024) {
  Schema schema = sensor_schema();
  auto rows = sensor_rows(count);
  std::string bytes = encode_rows(format, schema, rows, frame_records);
  auto expected = expected_rows(schema, rows);
  std::vector<std::size_t> block_sizes(blocks);
  block_sizes.push_back(bytes.size());
  for (std::size_t capacity : {1, 2, 3, 4096}) {
    for (std::size_t block : block_sizes) {
      StreamOptions options;
      options.capacity = capacity;
      options.block = block;
      options.chunk_records = chunk_records;
      auto decoded = decode_stream(format, schema, bytes, options);
      EXPECT_TRUE(decoded.dead_letters.empty());
      ASSERT_EQ(decoded.rows, expected)
          << "frame_records " << frame_records << " capacity " << capacity << " block " << block;
    }
  }
}

/// The sensor reading of the worked examples in docs/formats.md.
inline std::vector<FieldValue> documented_example_row() {
  return {std::int64_t{1'795'000'000'123} * 1'000'000,
          std::int64_t{42},
          std::string("lab-1"),
          std::string("temp"),
          21.5,
          40.25,
          1013.5};
}

}  // namespace ldh::testing
