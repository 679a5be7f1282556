#include "pipeline/types.h"

namespace ldh {

std::string_view to_string(DataType type) {
  switch (type) {
    case DataType::int32:
      return "int32";
    case DataType::int64:
      return "int64";
    case DataType::float32:
      return "float32";
    case DataType::float64:
      return "float64";
    case DataType::boolean:
      return "bool";
    case DataType::string:
      return "string";
    case DataType::timestamp:
      return "timestamp";
  }
  return "?";
}

std::string_view to_string(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::s:
      return "s";
    case TimeUnit::ms:
      return "ms";
    case TimeUnit::us:
      return "us";
    case TimeUnit::ns:
      return "ns";
    case TimeUnit::iso8601:
      return "iso8601";
  }
  return "?";
}

std::string_view to_string(Format format) {
  switch (format) {
    case Format::json:
      return "json";
    case Format::binary:
      return "binary";
    case Format::protobuf:
      return "protobuf";
  }
  return "?";
}

std::optional<DataType> parse_data_type(std::string_view text) {
  for (auto type : {DataType::int32, DataType::int64, DataType::float32, DataType::float64,
                    DataType::boolean, DataType::string, DataType::timestamp}) {
    if (text == to_string(type)) return type;
  }
  if (text == "boolean") return DataType::boolean;
  return std::nullopt;
}

std::optional<TimeUnit> parse_time_unit(std::string_view text) {
  for (auto unit : {TimeUnit::s, TimeUnit::ms, TimeUnit::us, TimeUnit::ns, TimeUnit::iso8601}) {
    if (text == to_string(unit)) return unit;
  }
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view text) {
  for (auto format : {Format::json, Format::binary, Format::protobuf}) {
    if (text == to_string(format)) return format;
  }
  return std::nullopt;
}

}  // namespace ldh
