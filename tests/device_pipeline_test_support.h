#pragma once

// Shared by device_pipeline_test (a host BatchProcessor built from the same per-row functions the
// kernels run) and device_pipeline_gpu_test (the CUDA one): random binary streams full of
// adversarial values and bad records, pipelines covering every device-side operator, and a CPU
// reference that runs the binary decoder and the plan exactly as the executor's workers do.

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "host/device_runtime.h"
#include "host/event_json.h"
#include "ingest/binary_frame.h"
#include "ingest/decoder.h"
#include "kernels/device_pipeline.h"
#include "pipeline/config.h"
#include "pipeline/memory.h"
#include "pipeline/plan.h"

namespace ldh::testing {

inline constexpr double kInfinity = std::numeric_limits<double>::infinity();

/// The schema every case uses: each data type, nullable fields, NaN allowed and forbidden, two
/// string widths; `unit` is the timestamp's (s makes int64 overflow reachable).
inline std::string schema_yaml(const std::string& unit) {
  return R"yaml(
input:
  sources: [{type: generator}]
  format:
    type: binary
    validation: true
    schema:
      fields:
        - {name: ts, type: timestamp, unit: )yaml" +
         unit + R"yaml(}
        - {name: id, type: int32}
        - {name: count, type: int64, required: false}
        - {name: temperature, type: float64}
        - {name: humidity, type: float32, allowNaN: true}
        - {name: reading, type: float64, allowNaN: true, required: false}
        - {name: active, type: bool}
        - {name: location, type: string, size: 12}
        - {name: kind, type: string, size: 3, required: false}
output:
  destinations: [{type: stdout}]
processing:
  pipeline:
)yaml";
}

/// Pipelines that together use every filter operator, both combines, conditions, every
/// transform source the device runs, numeric casts, renames and drops. REJECTS marks reject
/// file paths (a test folder, or any text when the harness formats rejects itself).
inline const std::vector<std::string>& device_pipelines() {
  static const std::vector<std::string> pipelines = {
      // Filters: every operator, sets of up to 8 members (scanned) and more (binary search).
      R"yaml(
    - name: checks
      type: filter
      config:
        rejects: REJECTS/checks.jsonl
        rules:
          - {field: temperature, operator: range, value: [-40, 120]}
          - {field: location, operator: in, value: [north, south, east, west, lab-1, lab-2, roof, cellar, hall]}
          - {field: count, operator: exists}
    - name: picky
      type: filter
      config:
        combine: any
        rules:
          - {field: humidity, operator: ne, value: 50}
          - {field: id, operator: not_in, value: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}
          - {field: ts, operator: lt, value: "2026-01-01T00:00:00Z"}
          - {field: active, operator: eq, value: true}
          - {field: count, operator: le, value: 1000}
          - {field: reading, operator: in, value: [0, 1, 2, -0.0]}
    - name: bounds
      type: filter
      config:
        rejects: REJECTS/bounds.jsonl
        rules:
          - {field: humidity, operator: ge, value: -10}
          - {field: reading, operator: gt, value: -1e300}
          - {field: kind, operator: not_in, value: [abc]}
)yaml",
      // Expressions into every kind of target, add-field filling a nullable field, constants.
      R"yaml(
    - name: enrich
      type: transform
      config:
        operations:
          - {type: calculate, field: heat, formula: "heat_index(temperature, humidity)", as: float32}
          - {type: add-field, field: dew, expression: "dew_point(temperature, humidity)"}
          - {type: add-field, field: count, expression: "id * 3"}
          - {type: calculate, field: ratio, formula: "reading / humidity"}
          - {type: add-field, field: site, value: north}
          - {type: add-field, field: flag, value: true}
          - {type: add-field, field: level, value: 7, as: int32}
          - {type: calculate, field: big, formula: "temperature * 1e17", as: int64}
          - {type: calculate, field: small, formula: "temperature * 1e7", as: int32}
          - {type: calculate, field: when, formula: "ts + reading", as: timestamp}
          - {type: calculate, field: hot, formula: "temperature > 30 && active"}
          - {type: calculate, field: place, formula: "if(active, location, kind)"}
    - name: late
      type: filter
      config:
        combine: any
        rejects: REJECTS/late.jsonl
        rules:
          - {condition: "heat > 20 || exp(dew / 10) < 3"}
          - {condition: "pow(abs(temperature), 0.5) != ratio && place == 'north'"}
)yaml",
      // Numeric casts (some fail and become null), renames and drops, then filters on results.
      R"yaml(
    - name: convert
      type: transform
      config:
        operations:
          - {type: cast, field: id, to: float32}
          - {type: cast, field: temperature, to: int32}
          - {type: cast, field: humidity, to: bool}
          - {type: cast, field: count, to: float64}
          - {type: cast, field: reading, to: timestamp}
          - {type: cast, field: ts, to: timestamp}
          - {type: cast, field: active, to: int64}
          - {type: rename, field: location, to: place}
          - {type: drop, field: kind}
    - name: after
      type: filter
      config:
        rejects: REJECTS/after.jsonl
        rules:
          - {field: temperature, operator: exists}
          - {field: humidity, operator: eq, value: true}
)yaml",
  };
  return pipelines;
}

/// Replaces every REJECTS in `text` with `folder`.
inline std::string with_reject_folder(std::string text, const std::string& folder) {
  for (std::size_t at = text.find("REJECTS"); at != std::string::npos;
       at = text.find("REJECTS", at + folder.size())) {
    text.replace(at, 7, folder);
  }
  return text;
}

/// Writes random frames of `schema`'s records: adversarial values (NaN with payloads, -0.0,
/// infinities, 1e300 next to 1e-300, integer extremes, timestamps that overflow), records the
/// decoder must reject (forbidden NaN, bad booleans, bad string padding, invalid UTF-8), empty
/// frames, garbage, frames of another schema and, at the end, maybe a truncated frame.
class StreamWriter {
 public:
  StreamWriter(const Schema& schema, std::uint64_t seed) : schema_(schema), random_(seed) {}

  std::string write(std::size_t records, double bad_share) {
    std::string out;
    std::size_t written = 0;
    while (written < records) {
      const std::size_t roll = random_() % 40;
      if (roll == 0) {
        append_garbage(out);
        continue;
      }
      if (roll == 1) {
        append_frame(out, schema_.id ^ 1u, 2, bad_share);
        continue;
      }
      const std::size_t count =
          std::min<std::size_t>(records - written, roll == 2 ? 0 : 1 + random_() % 400);
      append_frame(out, schema_.id, count, bad_share);
      written += count;
    }
    if (random_() % 3 == 0) {
      std::string tail;
      append_frame(tail, schema_.id, 3, bad_share);
      out.append(tail, 0, tail.size() - 1 - random_() % (tail.size() - 1));
    }
    return out;
  }

 private:
  void append_garbage(std::string& out) {
    const std::size_t size = 1 + random_() % 40;
    for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<char>(random_() % 80));
  }

  void append_frame(std::string& out, std::uint32_t schema_id, std::size_t count,
                    double bad_share) {
    FrameHeader header;
    header.schema_id = schema_id;
    header.record_count = static_cast<std::uint32_t>(count);
    header.record_size = static_cast<std::uint32_t>(schema_.binary_record_size());
    append_frame_header(out, header);
    std::string record(schema_.binary_record_size(), '\0');
    for (std::size_t r = 0; r < count; ++r) {
      const bool bad = std::uniform_real_distribution<double>(0, 1)(random_) < bad_share;
      const std::size_t bad_field = bad ? random_() % schema_.fields.size() : SIZE_MAX;
      for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
        write_value(schema_.fields[i], record.data() + schema_.binary_offset(i), i == bad_field);
      }
      out += record;
    }
  }

  template <typename T>
  static void put(char* at, T value) {
    std::memcpy(at, &value, sizeof value);
  }

  double special_double() {
    static const double kSpecial[] = {std::numeric_limits<double>::quiet_NaN(),
                                      -std::numeric_limits<double>::quiet_NaN(),
                                      0.0,
                                      -0.0,
                                      kInfinity,
                                      -kInfinity,
                                      1e300,
                                      -1e300,
                                      1e-300,
                                      -1e-300,
                                      5e-324,
                                      1e17,
                                      -2147483648.0,
                                      2147483647.5,
                                      9.2233720368547748e18,
                                      0.1,
                                      30.0,
                                      50.0,
                                      120.0,
                                      2.0};
    return kSpecial[random_() % (sizeof kSpecial / sizeof kSpecial[0])];
  }

  double plausible_double() {
    if (random_() % 4 == 0) return special_double();
    return std::uniform_real_distribution<double>(-60.0, 140.0)(random_);
  }

  void write_value(const Field& field, char* at, bool bad) {
    switch (field.type) {
      case DataType::timestamp: {
        static const std::int64_t kEdges[] = {std::numeric_limits<std::int64_t>::max(),
                                              std::numeric_limits<std::int64_t>::min(),
                                              9'223'372'036,
                                              -9'223'372'036,
                                              9'223'372'037,
                                              0,
                                              -1};
        std::int64_t value = 1'700'000'000 + static_cast<std::int64_t>(random_() % 200'000'000);
        if (random_() % 8 == 0) value = kEdges[random_() % 7];
        if (bad) value = random_() % 2 ? std::numeric_limits<std::int64_t>::max() : -9'300'000'000;
        put(at, value);
        return;
      }
      case DataType::int32: {
        static const std::int32_t kEdges[] = {std::numeric_limits<std::int32_t>::max(),
                                              std::numeric_limits<std::int32_t>::min(), 0, 5};
        put(at, random_() % 6 == 0 ? kEdges[random_() % 4]
                                   : static_cast<std::int32_t>(random_() % 40) - 5);
        return;
      }
      case DataType::int64: {
        static const std::int64_t kEdges[] = {std::numeric_limits<std::int64_t>::max(),
                                              std::numeric_limits<std::int64_t>::min(),
                                              (std::int64_t{1} << 53) + 1, 1000, 1001};
        put(at, random_() % 5 == 0 ? kEdges[random_() % 5]
                                   : static_cast<std::int64_t>(random_() % 3000) - 1000);
        return;
      }
      case DataType::float32: {
        double value = plausible_double();
        if (bad && !field.allow_nan) value = std::numeric_limits<double>::quiet_NaN();
        put(at, static_cast<float>(value));
        return;
      }
      case DataType::float64: {
        double value = plausible_double();
        if (!field.allow_nan && value != value) value = -0.0;
        if (bad && !field.allow_nan) {
          value = random_() % 2 ? std::numeric_limits<double>::quiet_NaN()
                                : std::bit_cast<double>(0xfff0000000000123ull);
        }
        put(at, value);
        return;
      }
      case DataType::boolean:
        *at = static_cast<char>(bad ? 2 + random_() % 254 : random_() % 2);
        return;
      case DataType::string: {
        static const char* const kWords[] = {"north", "south", "east",   "west", "lab-1",
                                             "lab-2", "roof",  "cellar", "hall", "abc",
                                             "",      "x",     "héllo",  "ab"};
        const std::size_t width = field.binary_size;
        std::memset(at, 0, width);
        std::string text = kWords[random_() % (sizeof kWords / sizeof kWords[0])];
        if (random_() % 10 == 0) text.assign(width, static_cast<char>('a' + random_() % 26));
        std::memcpy(at, text.data(), std::min(text.size(), width));
        if (bad) {
          if (random_() % 2 == 0 && width >= 2) {
            at[0] = '\0';
            at[width - 1] = 'z';  // a byte after the terminating NUL
          } else {
            at[0] = static_cast<char>(0xff);  // never valid UTF-8
          }
        }
        return;
      }
    }
  }

  const Schema& schema_;
  std::mt19937_64 random_;
};

/// Everything a run writes, for byte-for-byte comparison.
struct RunTexts {
  std::string output;
  std::vector<std::string> rejects;
  std::string dead_letters;
  std::uint64_t rows = 0;
  std::uint64_t rows_out = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> stage_counters;  // (in, rejected)
};

/// Cuts `input` into chunks of whole frames as a source does.
inline std::vector<std::pair<std::size_t, std::size_t>> cut_chunks(const Schema& schema,
                                                                   const std::string& input,
                                                                   std::size_t chunk_records) {
  auto framer = make_decoder(Format::binary, schema);
  const auto bytes = std::as_bytes(std::span(input.data(), input.size()));
  std::vector<std::pair<std::size_t, std::size_t>> chunks;
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t length = framer->frame(bytes.subspan(at), chunk_records, true);
    chunks.emplace_back(at, length);
    at += length;
  }
  return chunks;
}

/// Formats one batch as a worker does: live rows to the output, rejected rows to their stage's
/// reject file when it has one.
class BatchWriter {
 public:
  BatchWriter(const Plan& plan, const StringDictionary& strings, RunTexts& texts)
      : plan_(plan), output_(plan.output_fields(), strings), texts_(texts) {
    texts.rejects.resize(plan.reject_targets().size());
    for (const auto& target : plan.reject_targets()) rejects_.emplace_back(target.fields, strings);
  }
  void write(EventBatch& batch, std::uint64_t rows) {
    texts_.rows += rows;
    texts_.rows_out += batch.live_count();
    output_.append_rows(batch, kLive, texts_.output);
    for (std::size_t i = 0; i < plan_.reject_targets().size(); ++i) {
      const RejectTarget& target = plan_.reject_targets()[i];
      if (!target.path.empty()) rejects_[i].append_rows(batch, target.code, texts_.rejects[i]);
    }
  }

 private:
  const Plan& plan_;
  EventJsonWriter output_;
  std::vector<EventJsonWriter> rejects_;
  RunTexts& texts_;
};

inline void finish_texts(const Plan& plan, const std::vector<DeadLetter>& letters,
                         RunTexts& texts) {
  for (const auto& letter : letters) append_dead_letter(letter, "input", texts.dead_letters);
  for (const auto& op : plan.operators()) {
    texts.stage_counters.emplace_back(op->counters().rows_in.load(),
                                      op->counters().rows_rejected.load());
  }
}

/// Runs the CPU path: the binary decoder into batches of `batch_size`, then the plan.
inline RunTexts run_on_cpu(const Config& config, const std::string& input, std::size_t batch_size,
                           std::size_t chunk_records) {
  StringDictionary strings;
  Plan plan(config, strings);
  RunTexts texts;
  BatchWriter writer(plan, strings, texts);
  EventBatch batch(plan.slots(), batch_size, page_aligned_memory());
  auto decoder = make_decoder(Format::binary, plan.schema(), config.format.validation);
  std::vector<DeadLetter> letters;
  DecodeTarget target;
  target.batch = &batch;
  target.field_slots = &plan.input_slots();
  target.strings = &strings;
  target.dead_letters = &letters;
  const auto bytes = std::as_bytes(std::span(input.data(), input.size()));
  for (const auto& [offset, length] : cut_chunks(plan.schema(), input, chunk_records)) {
    DecodeCursor cursor;
    const auto chunk = bytes.subspan(offset, length);
    while (!cursor.done(chunk.size())) {
      batch.clear();
      batch.processing_time_ns = 1'795'000'000'000'000'000;
      decoder->decode(chunk, offset, cursor, target);
      if (batch.size() == 0) continue;
      plan.apply(batch);
      writer.write(batch, batch.size());
    }
  }
  finish_texts(plan, letters, texts);
  return texts;
}

using ProcessorFactory = std::function<std::unique_ptr<BatchProcessor>(const DevicePipelineSpec&)>;

/// Runs the device path through `make_processor` with `capacity` records per device batch.
inline RunTexts run_on_device(const Config& config, const std::string& input, std::size_t capacity,
                              std::size_t chunk_records, const ProcessorFactory& make_processor) {
  StringDictionary strings;
  Plan plan(config, strings);
  DeviceStagePlan stages = plan_device_stages(plan);
  EXPECT_TRUE(stages.supported) << stages.why_not;
  DevicePipelineSpec spec;
  spec.capacity = capacity;
  spec.layout =
      make_binary_decode_layout(plan.schema(), config.format.validation, plan.input_slots());
  spec.slots = plan.slots();
  spec.stages = stages.stages;
  for (const auto& target : plan.reject_targets()) spec.keep_rejected |= !target.path.empty();
  DeviceChunkRunner runner(plan, config.format.validation, strings, make_processor(spec));
  RunTexts texts;
  BatchWriter writer(plan, strings, texts);
  EventBatch batch(plan.slots(), capacity, page_aligned_memory());
  std::vector<DeadLetter> letters;
  const auto bytes = std::as_bytes(std::span(input.data(), input.size()));
  for (const auto& [offset, length] : cut_chunks(plan.schema(), input, chunk_records)) {
    runner.run(bytes.subspan(offset, length), offset, 0, batch, letters,
               [&](EventBatch& rows, std::uint64_t decoded) { writer.write(rows, decoded); });
  }
  finish_texts(plan, letters, texts);
  return texts;
}

/// Compares two runs piece by piece, so a failure names what differs.
inline void expect_same_texts(const RunTexts& cpu, const RunTexts& device) {
  EXPECT_EQ(cpu.rows, device.rows);
  EXPECT_EQ(cpu.rows_out, device.rows_out);
  EXPECT_EQ(cpu.dead_letters, device.dead_letters);
  EXPECT_EQ(cpu.stage_counters, device.stage_counters);
  ASSERT_EQ(cpu.rejects.size(), device.rejects.size());
  for (std::size_t i = 0; i < cpu.rejects.size(); ++i) {
    EXPECT_TRUE(cpu.rejects[i] == device.rejects[i]) << "reject target " << i << " differs";
  }
  EXPECT_TRUE(cpu.output == device.output)
      << "outputs differ (" << cpu.output.size() << " vs " << device.output.size() << " bytes)";
}

}  // namespace ldh::testing
