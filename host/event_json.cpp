#include "host/event_json.h"

#include "pipeline/json_writer.h"
#include "pipeline/time.h"

namespace ldh {

namespace {
void append_base64(std::string& out, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                      (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
}
}  // namespace

EventJsonWriter::EventJsonWriter(std::vector<PlanField> fields, const StringDictionary& strings)
    : fields_(std::move(fields)), strings_(strings) {
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    std::string key = i == 0 ? "{" : ",";
    append_json_string(key, fields_[i].name);
    key += ':';
    keys_.push_back(std::move(key));
  }
}

std::string_view EventJsonWriter::string_of(std::int32_t id) {
  auto index = static_cast<std::size_t>(id);
  if (index >= cache_.size()) cache_.resize(index + 1);
  if (cache_[index].data() == nullptr) cache_[index] = strings_.lookup(id);
  return cache_[index];
}

void EventJsonWriter::append_row(const EventBatch& batch, std::size_t row, std::string& out) {
  if (fields_.empty()) out += '{';
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const PlanField& field = fields_[i];
    const Column& column = batch.column(static_cast<std::size_t>(field.slot));
    out += keys_[i];
    if (column.nullable() && column.validity()[row] == 0) {
      out += "null";
      continue;
    }
    switch (field.type) {
      case DataType::int32:
        out += std::to_string(column.data<std::int32_t>()[row]);
        break;
      case DataType::int64:
        out += std::to_string(column.data<std::int64_t>()[row]);
        break;
      case DataType::float32:
        append_json_number(out, column.data<float>()[row]);
        break;
      case DataType::float64:
        append_json_number(out, column.data<double>()[row]);
        break;
      case DataType::boolean:
        out += column.data<std::uint8_t>()[row] ? "true" : "false";
        break;
      case DataType::string:
        append_json_string(out, string_of(column.data<std::int32_t>()[row]));
        break;
      case DataType::timestamp:
        out += '"';
        append_iso8601(out, column.data<std::int64_t>()[row], field.time_digits);
        out += '"';
        break;
    }
  }
  out += "}\n";
}

void EventJsonWriter::append_rows(const EventBatch& batch, std::uint8_t code, std::string& out) {
  const std::uint8_t* selection = batch.selection();
  for (std::size_t row = 0; row < batch.size(); ++row) {
    if (selection[row] == code) append_row(batch, row, out);
  }
}

void append_dead_letter(const DeadLetter& letter, std::string_view source_name, std::string& out) {
  out += "{\"source\":";
  append_json_string(out, source_name);
  out += ",\"offset\":";
  out += std::to_string(letter.offset);
  out += ",\"reason\":\"";
  out += to_string(letter.reason);
  out += "\",\"detail\":";
  append_json_string(out, letter.detail);
  if (is_valid_utf8(letter.record)) {
    out += ",\"record\":";
    append_json_string(out, letter.record);
  } else {
    out += ",\"record_base64\":\"";
    append_base64(out, letter.record);
    out += '"';
  }
  out += "}\n";
}

}  // namespace ldh
