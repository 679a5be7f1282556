#include "pipeline/schema.h"

namespace ldh {

int Schema::find(std::string_view name) const {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::size_t binary_width(const Field& field) {
  if (field.type == DataType::string) return field.binary_size;
  return storage_width(field.type);
}

std::size_t Schema::binary_record_size() const {
  std::size_t size = 0;
  for (const auto& field : fields) size += binary_width(field);
  return size;
}

std::size_t Schema::binary_offset(std::size_t index) const {
  std::size_t offset = 0;
  for (std::size_t i = 0; i < index; ++i) offset += binary_width(fields[i]);
  return offset;
}

std::string Schema::layout_text() const {
  std::string text;
  for (const auto& field : fields) {
    if (!text.empty()) text += ';';
    text += field.name;
    text += ':';
    text += to_string(field.type);
    if (field.type == DataType::timestamp) {
      text += '/';
      text += to_string(field.time_unit);
    }
    if (field.type == DataType::string) {
      text += '[';
      text += std::to_string(field.binary_size);
      text += ']';
    }
  }
  return text;
}

std::uint32_t Schema::layout_id() const {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : layout_text()) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

}  // namespace ldh
