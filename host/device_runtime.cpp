#include "host/device_runtime.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "ingest/binary_decoder.h"
#include "ingest/binary_frame.h"
#include "ingest/field_store.h"
#include "kernels/value_sort.h"
#include "kernels/window_aggregate.h"
#include "pipeline/filter.h"
#include "pipeline/time.h"
#include "pipeline/transform.h"

namespace ldh {

std::vector<RecordRun> index_binary_chunk(std::span<const std::byte> chunk,
                                          std::uint64_t chunk_offset, const Schema& schema,
                                          const DecodeTarget& target) {
  const std::size_t record_size = schema.binary_record_size();
  std::vector<RecordRun> runs;
  std::size_t position = 0;
  while (position < chunk.size()) {
    std::size_t next = 0;
    const std::optional<FrameHeader> frame =
        check_frame(chunk, chunk_offset, position, schema.id, record_size, target, next);
    if (frame && frame->record_count > 0) {
      runs.push_back({position + frame->header_size, frame->record_count});
    }
    position = next;
  }
  return runs;
}

std::vector<DeviceBatchSlice> schedule_device_batches(const std::vector<RecordRun>& runs,
                                                      std::size_t record_size,
                                                      std::size_t capacity) {
  LDH_EXPECTS(capacity > 0, "device batches need a positive capacity");
  std::vector<DeviceBatchSlice> slices;
  for (const RecordRun& run : runs) {
    std::size_t done = 0;
    while (done < run.count) {
      if (slices.empty() || slices.back().records == capacity) slices.emplace_back();
      DeviceBatchSlice& slice = slices.back();
      const std::size_t take = std::min(run.count - done, capacity - slice.records);
      slice.pieces.push_back({run.offset + done * record_size, take});
      done += take;
      slice.records += take;
    }
  }
  return slices;
}

BinaryDecodeLayout make_binary_decode_layout(const Schema& schema, bool validate,
                                             const std::vector<int>& field_slots) {
  LDH_EXPECTS(schema.fields.size() <= kMaxSlots, "too many fields for a device record layout");
  BinaryDecodeLayout layout;
  layout.record_size = static_cast<std::uint32_t>(schema.binary_record_size());
  layout.field_count = static_cast<std::uint32_t>(schema.fields.size());
  for (std::size_t i = 0; i < schema.fields.size(); ++i) {
    const Field& field = schema.fields[i];
    BinaryFieldDecode& decode = layout.fields[i];
    decode.offset = static_cast<std::uint32_t>(schema.binary_offset(i));
    decode.type = field.type;
    decode.reject_nan = validate && !field.allow_nan;
    decode.unit_ns = field.type == DataType::timestamp && field.time_unit != TimeUnit::iso8601
                         ? nanoseconds_per(field.time_unit)
                         : 1;
    decode.slot = i < field_slots.size() ? field_slots[i] : -1;
    if (field.type == DataType::string) {
      decode.string_index = static_cast<std::int32_t>(layout.string_count++);
    }
  }
  return layout;
}

namespace {

DeviceProgram add_program(StageImage& image, const CompiledExpression& expression) {
  DeviceProgram program;
  program.code_offset = static_cast<std::uint32_t>(image.code.size());
  program.code_count = static_cast<std::uint32_t>(expression.code.size());
  program.constants_offset = static_cast<std::uint32_t>(image.numbers.size());
  image.code.insert(image.code.end(), expression.code.begin(), expression.code.end());
  image.numbers.insert(image.numbers.end(), expression.constants.begin(),
                       expression.constants.end());
  return program;
}

DeviceFilterRule device_rule(StageImage& image, const CompiledFilterRule& rule) {
  DeviceFilterRule device;
  device.op = rule.op;
  if (rule.op == FilterOperator::condition) {
    device.condition = add_program(image, rule.condition);
    return device;
  }
  device.slot = rule.field.slot;
  device.low = rule.low;
  device.high = rule.high;
  device.set_offset = static_cast<std::uint32_t>(image.numbers.size());
  device.set_size = static_cast<std::uint32_t>(rule.set.size());
  image.numbers.insert(image.numbers.end(), rule.set.begin(), rule.set.end());
  return device;
}

/// Converts one transform operation; false (with `why_not`) when it needs the host.
bool device_transform(StageImage& image, const CompiledTransform& operation,
                      DeviceTransform& device, std::string& why_not) {
  device.target_slot = operation.target.slot;
  device.target_type = operation.target.type;
  device.fill_missing_only = operation.fill_missing_only;
  switch (operation.source) {
    case CompiledTransform::Source::expression:
      device.kind = DeviceTransformKind::expression;
      device.expression = add_program(image, operation.expression);
      return true;
    case CompiledTransform::Source::constant:
      device.kind = DeviceTransformKind::constant;
      device.constant = operation.constant;
      return true;
    case CompiledTransform::Source::now:
      device.kind = DeviceTransformKind::now;
      return true;
    case CompiledTransform::Source::cast:
      if ((operation.cast_from.type == DataType::string) !=
          (operation.target.type == DataType::string)) {
        why_not = "casting '" + operation.cast_from.name + "' between " +
                  std::string(to_string(operation.cast_from.type)) + " and " +
                  std::string(to_string(operation.target.type)) +
                  " needs the string dictionary on the host";
        return false;
      }
      device.kind = DeviceTransformKind::cast;
      device.cast_slot = operation.cast_from.slot;
      return true;
  }
  why_not = "an unknown transform operation";
  return false;
}

}  // namespace

DeviceStagePlan plan_device_stages(const Plan& plan) {
  DeviceStagePlan result;
  StageImage& image = result.stages;
  for (const auto& op : plan.operators()) {
    DeviceStage stage;
    if (const auto* filter = dynamic_cast<const Filter*>(op.get())) {
      stage.filter = true;
      stage.rules.first_rule = static_cast<std::uint32_t>(image.rules.size());
      stage.rules.rule_count = static_cast<std::uint32_t>(filter->rules().size());
      stage.rules.combine = filter->combine();
      stage.rules.reject_code = filter->reject_code();
      for (const auto& rule : filter->rules()) image.rules.push_back(device_rule(image, rule));
    } else if (const auto* transform = dynamic_cast<const Transform*>(op.get())) {
      stage.first_transform = static_cast<std::uint32_t>(image.transforms.size());
      stage.transform_count = static_cast<std::uint32_t>(transform->operations().size());
      for (const auto& operation : transform->operations()) {
        DeviceTransform device;
        std::string why_not;
        if (!device_transform(image, operation, device, why_not)) {
          result.why_not = "stage '" + op->name() + "': " + why_not;
          return result;
        }
        image.transforms.push_back(device);
      }
    } else {
      result.why_not = "stage '" + op->name() + "' is neither a filter nor a transform";
      return result;
    }
    image.stages.push_back(stage);
  }
  result.supported = true;
  return result;
}

void add_stage_counters(const Plan& plan, const SelectionCounts& counts) {
  // A stage saw the rows live at the end plus those it or a later filter rejected.
  std::uint64_t rows_in = counts.codes[kLive];
  const auto& operators = plan.operators();
  for (std::size_t i = operators.size(); i-- > 0;) {
    OperatorCounters& counters = operators[i]->counters();
    if (const auto* filter = dynamic_cast<const Filter*>(operators[i].get())) {
      const std::uint64_t rejected = counts.codes[filter->reject_code()];
      rows_in += rejected;
      counters.rows_rejected.fetch_add(rejected, std::memory_order_relaxed);
    }
    counters.rows_in.fetch_add(rows_in, std::memory_order_relaxed);
  }
}

StringSlotResolver::StringSlotResolver(bool validate, StringDictionary& strings)
    : validate_(validate), strings_(strings) {
  cache_.use(&strings);
}

std::int32_t StringSlotResolver::resolve_missing(const char* slot, std::uint32_t width) {
  const void* nul = std::memchr(slot, 0, width);
  const std::size_t length =
      nul == nullptr ? width : static_cast<std::size_t>(static_cast<const char*>(nul) - slot);
  for (std::size_t i = length; i < width; ++i) {
    if (slot[i] != 0) return -1;
  }
  if (validate_ && !simdjson::validate_utf8(slot, length)) return -1;
  const std::int32_t id = strings_.intern(std::string_view(slot, length));
  cache_.insert(slot, width, id);
  return id;
}

DeadRecordWriter::DeadRecordWriter(const Schema& schema, bool validate)
    : decoder_(make_decoder(Format::binary, schema, validate)),
      scratch_({}, 1, page_aligned_memory()),
      schema_id_(schema.id),
      record_size_(static_cast<std::uint32_t>(schema.binary_record_size())) {}

void DeadRecordWriter::write(std::span<const std::byte> chunk, std::uint64_t chunk_offset,
                             std::size_t offset, const DecodeTarget& target) {
  LDH_EXPECTS(offset >= kFrameHeaderBytes && offset + record_size_ <= chunk.size(),
              "dead record outside its chunk");
  FrameHeader header;
  header.schema_id = schema_id_;
  header.record_count = 1;
  header.record_size = record_size_;
  frame_.clear();
  append_frame_header(frame_, header);
  frame_.append(reinterpret_cast<const char*>(chunk.data()) + offset, record_size_);
  DecodeTarget alone = target;
  alone.batch = &scratch_;
  alone.field_slots = nullptr;
  scratch_.clear();
  const std::size_t before = target.dead_letters->size();
  DecodeCursor cursor;
  decoder_->decode(std::as_bytes(std::span(frame_.data(), frame_.size())),
                   chunk_offset + offset - kFrameHeaderBytes, cursor, alone);
  LDH_EXPECTS(scratch_.size() == 0 && target.dead_letters->size() == before + 1,
              "the device rejected a record the CPU decoder accepts");
}

DeviceChunkRunner::DeviceChunkRunner(const Plan& plan, bool validate, StringDictionary& strings,
                                     std::unique_ptr<BatchProcessor> processor)
    : plan_(plan),
      strings_(strings),
      processor_(std::move(processor)),
      record_size_(plan.schema().binary_record_size()),
      resolver_(validate, strings),
      dead_records_(plan.schema(), validate) {
  const Schema& schema = plan.schema();
  for (std::size_t i = 0; i < schema.fields.size(); ++i) {
    if (schema.fields[i].type != DataType::string) continue;
    string_fields_.push_back({static_cast<std::uint32_t>(schema.binary_offset(i)),
                              static_cast<std::uint32_t>(binary_width(schema.fields[i]))});
  }
}

void DeviceChunkRunner::stage(std::span<const std::byte> chunk, const DeviceBatchSlice& slice,
                              const BatchStaging& staging) {
  unsigned char* out = staging.records;
  for (const RecordRun& piece : slice.pieces) {
    const std::size_t bytes = piece.count * record_size_;
    std::memcpy(out, chunk.data() + piece.offset, bytes);
    out += bytes;
  }
  // Field by field, so each loop keeps one slot width and one column of ids.
  const std::size_t string_count = string_fields_.size();
  const auto* records = reinterpret_cast<const char*>(staging.records);
  for (std::size_t k = 0; k < string_count; ++k) {
    const StringField field = string_fields_[k];
    const char* slot = records + field.offset;
    std::int32_t* ids = staging.string_ids + k;
    for (std::size_t row = 0; row < slice.records; ++row) {
      ids[row * string_count] = resolver_.resolve(slot + row * record_size_, field.width);
    }
  }
}

void DeviceChunkRunner::finish_oldest(std::span<const std::byte> chunk, std::uint64_t chunk_offset,
                                      std::uint32_t source_index, EventBatch& batch,
                                      const Consumer& consume) {
  processor_->collect(batch, outcome_);
  const DeviceBatchSlice& slice = *in_flight_.front();
  in_flight_.pop_front();
  LDH_EXPECTS(outcome_.dead_rows.size() == outcome_.counts.codes[0],
              "dead rows and their count disagree");
  if (!outcome_.dead_rows.empty()) {
    DecodeTarget target;
    target.strings = &strings_;
    target.dead_letters = &record_letters_;
    target.source_index = source_index;
    auto piece = slice.pieces.begin();
    std::size_t piece_first_row = 0;
    for (std::uint32_t row : outcome_.dead_rows) {
      while (row >= piece_first_row + piece->count) piece_first_row += (piece++)->count;
      dead_records_.write(chunk, chunk_offset,
                          piece->offset + (row - piece_first_row) * record_size_, target);
    }
  }
  add_stage_counters(plan_, outcome_.counts);
  batch.source_index = source_index;
  batch.processing_time_ns = outcome_.processing_time_ns;
  const std::uint64_t decoded = slice.records - outcome_.dead_rows.size();
  if (decoded > 0) consume(batch, decoded);
}

void DeviceChunkRunner::run(std::span<const std::byte> chunk, std::uint64_t chunk_offset,
                            std::uint32_t source_index, EventBatch& batch,
                            std::vector<DeadLetter>& dead_letters, const Consumer& consume) {
  frame_letters_.clear();
  record_letters_.clear();
  in_flight_.clear();
  DecodeTarget frames;
  frames.strings = &strings_;
  frames.dead_letters = &frame_letters_;
  frames.source_index = source_index;
  const std::vector<DeviceBatchSlice> slices =
      schedule_device_batches(index_binary_chunk(chunk, chunk_offset, plan_.schema(), frames),
                              record_size_, processor_->capacity());
  for (const DeviceBatchSlice& slice : slices) {
    if (processor_->in_flight() == processor_->lanes()) {
      finish_oldest(chunk, chunk_offset, source_index, batch, consume);
    }
    stage(chunk, slice, processor_->staging());
    processor_->submit(slice.records, wall_clock_ns());
    in_flight_.push_back(&slice);
  }
  while (processor_->in_flight() > 0) {
    finish_oldest(chunk, chunk_offset, source_index, batch, consume);
  }
  // Frames and records are dead-lettered in separate passes; both lists are in stream order.
  const std::size_t first = dead_letters.size();
  dead_letters.resize(first + frame_letters_.size() + record_letters_.size());
  std::merge(std::make_move_iterator(frame_letters_.begin()),
             std::make_move_iterator(frame_letters_.end()),
             std::make_move_iterator(record_letters_.begin()),
             std::make_move_iterator(record_letters_.end()), dead_letters.begin() + first,
             [](const DeadLetter& a, const DeadLetter& b) { return a.offset < b.offset; });
}

std::unique_ptr<DeviceChunkRunner> make_device_chunk_runner(const Plan& plan,
                                                            const StageImage& stages, bool validate,
                                                            StringDictionary& strings, int device,
                                                            std::size_t capacity,
                                                            bool keep_rejected) {
#ifdef LDH_HAVE_CUDA
  DevicePipelineSpec spec;
  spec.device = device;
  spec.capacity = capacity;
  spec.lanes = 2;
  spec.layout = make_binary_decode_layout(plan.schema(), validate, plan.input_slots());
  spec.slots = plan.slots();
  spec.stages = stages;
  spec.keep_rejected = keep_rejected;
  return std::make_unique<DeviceChunkRunner>(plan, validate, strings, make_device_pipeline(spec));
#else
  (void)plan, (void)stages, (void)validate, (void)strings, (void)device, (void)capacity,
      (void)keep_rejected;
  throw DeviceError("this build has no CUDA backend (configured with LDH_CUDA=OFF or no nvcc)");
#endif
}

std::unique_ptr<ValueSorter> make_value_sorter(int device) {
  if (device < 0) return make_host_value_sorter();
#ifdef LDH_HAVE_CUDA
  return make_device_value_sorter(device);
#else
  throw DeviceError("this build has no CUDA backend (configured with LDH_CUDA=OFF or no nvcc)");
#endif
}

std::unique_ptr<PaneAggregator> make_pane_aggregator(int device) {
  if (device < 0) return make_host_pane_aggregator();
#ifdef LDH_HAVE_CUDA
  return make_device_pane_aggregator(device);
#else
  throw DeviceError("this build has no CUDA backend (configured with LDH_CUDA=OFF or no nvcc)");
#endif
}

}  // namespace ldh
