#include "ingest/sensor_schema.h"

namespace ldh {

Schema sensor_schema() {
  Schema schema;
  auto add = [&](const char* name, DataType type, std::uint32_t binary_size = 16) {
    Field field;
    field.name = name;
    field.type = type;
    field.binary_size = binary_size;
    field.proto_number = static_cast<std::uint32_t>(schema.fields.size() + 1);
    schema.fields.push_back(field);
  };
  add("timestamp", DataType::timestamp);
  schema.fields.back().time_unit = TimeUnit::ms;
  add("sensor_id", DataType::int32);
  add("location", DataType::string, 12);
  add("type", DataType::string, 8);
  add("temperature", DataType::float64);
  add("humidity", DataType::float32);
  add("pressure", DataType::float32);
  schema.event_time = 0;
  schema.id = schema.layout_id();
  return schema;
}

}  // namespace ldh
