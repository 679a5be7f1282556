#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "ingest/decoder.h"
#include "ingest/sensor_schema.h"
#include "pipeline/batch.h"
#include "pipeline/memory.h"
#include "pipeline/string_dictionary.h"

namespace ldh::fuzzing {

/// Stops the process when an invariant breaks, so libFuzzer records the input.
inline void require(bool condition) {
  if (!condition) std::abort();
}

/// A schema with every type and timestamp unit, to reach conversions the sensor schema lacks.
inline Schema every_type_schema() {
  Schema schema;
  auto add = [&](const char* name, DataType type, bool required) {
    Field field;
    field.name = name;
    field.type = type;
    field.required = required;
    field.binary_size = 5;
    field.proto_number = static_cast<std::uint32_t>(schema.fields.size() + 1);
    schema.fields.push_back(field);
  };
  add("a", DataType::int32, true);
  add("b", DataType::int64, false);
  add("c", DataType::float32, false);
  schema.fields.back().allow_nan = true;
  add("d", DataType::float64, true);
  add("e", DataType::boolean, false);
  add("f", DataType::string, false);
  add("g", DataType::timestamp, false);
  schema.fields.back().time_unit = TimeUnit::s;
  add("h", DataType::timestamp, false);
  schema.fields.back().time_unit = TimeUnit::iso8601;
  schema.fields.back().proto_number = 1000;
  schema.id = schema.layout_id();
  return schema;
}

/// Frames and decodes `bytes` as one stream into a tiny batch, checking what the Decoder
/// contract promises: progress, no row beyond capacity, dead letters inside the stream.
inline void decode_stream(Format format, const Schema& schema, std::span<const std::byte> bytes,
                          bool validate) {
  auto framer = make_decoder(format, schema, validate);
  auto decoder = make_decoder(format, schema, validate);
  std::vector<SlotSpec> slots;
  std::vector<int> field_slots;
  for (std::size_t i = 0; i < schema.fields.size(); ++i) {
    slots.push_back({schema.fields[i].type, !schema.fields[i].required});
    // Leave one field without a slot: it must still be checked, never written.
    field_slots.push_back(i == 1 ? -1 : static_cast<int>(i));
  }
  EventBatch batch(slots, 3, page_aligned_memory());
  StringDictionary strings;
  std::vector<DeadLetter> dead_letters;
  DecodeTarget target{&batch, &field_slots, &strings, &dead_letters, 1};
  std::size_t position = 0;
  while (position < bytes.size()) {
    std::span<const std::byte> rest = bytes.subspan(position);
    std::size_t length = framer->frame(rest, 4, false);
    if (length == 0) length = framer->frame(rest, 4, true);
    require(length > 0 && length <= rest.size());
    std::span<const std::byte> chunk = rest.first(length);
    DecodeCursor cursor;
    while (!cursor.done(chunk.size())) {
      DecodeCursor before = cursor;
      decoder->decode(chunk, position, cursor, target);
      require(batch.size() <= batch.capacity());
      require(cursor.offset > before.offset || cursor.record > before.record || batch.full());
      for (std::size_t slot = 0; slot < batch.slot_count(); ++slot) {
        const Column& column = batch.column(slot);
        if (column.type() != DataType::string) continue;
        for (std::size_t row = 0; row < batch.size(); ++row) {
          if (column.nullable() && column.validity()[row] == 0) continue;
          std::int32_t id = column.data<std::int32_t>()[row];
          require(id >= 0 && static_cast<std::size_t>(id) < strings.size());
        }
      }
      batch.clear();
    }
    position += length;
  }
  for (const DeadLetter& letter : dead_letters) {
    require(letter.offset < bytes.size());
    require(letter.record.size() <= kDeadLetterRecordBytes);
    require(!letter.detail.empty());
  }
}

/// Runs one fuzz input through `format`'s decoder with the sensor schema (value checks on) and
/// with a schema of every type (checks on or off by the first byte's low bit).
inline void fuzz_decoder(Format format, const std::uint8_t* data, std::size_t size) {
  static const Schema sensors = sensor_schema();
  static const Schema every_type = every_type_schema();
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  decode_stream(format, sensors, bytes, true);
  decode_stream(format, every_type, bytes, size == 0 || (data[0] & 1) == 0);
}

}  // namespace ldh::fuzzing
