#include "ingest/field_store.h"

#include <algorithm>

namespace ldh {

DeadLetterReason reason_of(StoreStatus status) {
  switch (status) {
    case StoreStatus::ok:
    case StoreStatus::wrong_type:
      return DeadLetterReason::wrong_type;
    case StoreStatus::out_of_range:
      return DeadLetterReason::out_of_range;
    case StoreStatus::not_a_number:
      return DeadLetterReason::not_a_number;
  }
  return DeadLetterReason::wrong_type;
}

void bind_outputs(const Schema& schema, bool validate, const DecodeTarget& target,
                  std::vector<FieldOutput>& outputs) {
  outputs.resize(schema.fields.size());
  for (std::size_t i = 0; i < schema.fields.size(); ++i) {
    const Field& field = schema.fields[i];
    FieldOutput& out = outputs[i];
    out.type = field.type;
    out.unit_ns = field.type == DataType::timestamp && field.time_unit != TimeUnit::iso8601
                      ? nanoseconds_per(field.time_unit)
                      : 1;
    out.reject_nan = validate && !field.allow_nan;
    out.data = nullptr;
    out.validity = nullptr;
    int slot = -1;
    if (target.field_slots != nullptr && i < target.field_slots->size()) {
      slot = (*target.field_slots)[i];
    }
    if (slot >= 0 && target.batch != nullptr) {
      Column& column = target.batch->column(static_cast<std::size_t>(slot));
      LDH_EXPECTS(column.type() == field.type, "batch slot type differs from the schema field");
      out.data = column.data<char>();
      out.validity = column.nullable() ? column.validity() : nullptr;
    }
  }
}

void add_dead_letter(const DecodeTarget& target, std::span<const std::byte> chunk,
                     std::uint64_t chunk_offset, std::size_t offset, std::size_t size,
                     DeadLetterReason reason, std::string detail) {
  if (target.dead_letters == nullptr) return;
  DeadLetter letter;
  letter.source_index = target.source_index;
  letter.offset = chunk_offset + offset;
  letter.reason = reason;
  letter.detail = std::move(detail);
  std::size_t kept = std::min({size, kDeadLetterRecordBytes, chunk.size() - offset});
  letter.record.assign(reinterpret_cast<const char*>(chunk.data()) + offset, kept);
  target.dead_letters->push_back(std::move(letter));
}

namespace {

std::string expected_text(const Field& field) {
  switch (field.type) {
    case DataType::int32:
      return "an int32 integer";
    case DataType::int64:
      return "an int64 integer";
    case DataType::float32:
    case DataType::float64:
      return "a number";
    case DataType::boolean:
      return "a boolean";
    case DataType::string:
      return "a string";
    case DataType::timestamp:
      if (field.time_unit == TimeUnit::iso8601) return "an ISO-8601 timestamp";
      return "an integer timestamp in " + std::string(to_string(field.time_unit));
  }
  return "a value";
}

}  // namespace

std::string describe_store_failure(const Field& field, StoreStatus status, std::string_view got) {
  std::string text = "field '" + field.name + "': ";
  switch (status) {
    case StoreStatus::ok:
    case StoreStatus::wrong_type:
      text += "expected " + expected_text(field) + ", got ";
      text += got;
      break;
    case StoreStatus::out_of_range:
      text += got;
      text += " is out of range for ";
      text += field.type == DataType::timestamp
                  ? std::string("a timestamp in ") + std::string(to_string(field.time_unit))
                  : std::string(to_string(field.type));
      break;
    case StoreStatus::not_a_number:
      text += "NaN is not allowed";
      break;
  }
  return text;
}

}  // namespace ldh
