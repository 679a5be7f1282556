#include "ingest/generator.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "pipeline/error.h"

namespace ldh {

namespace {

struct Site {
  const char* location;
  const char* kind;
};

// Locations fit the sensor schema's 12-byte slot and kinds its 8-byte slot.
constexpr Site kSites[] = {
    {"north-hall", "indoor"},   {"south-hall", "indoor"},  {"east-wing", "indoor"},
    {"west-wing", "indoor"},    {"roof", "outdoor"},       {"yard", "outdoor"},
    {"dock-1", "outdoor"},      {"dock-2", "outdoor"},     {"cold-store", "freezer"},
    {"lab-freezer", "freezer"}, {"server-room", "server"}, {"rack-row-b", "server"},
    {"lab-1", "indoor"},        {"lab-2", "indoor"},       {"office-3", "indoor"},
    {"lobby", "indoor"},
};

struct Climate {
  double temperature;  // mean, Celsius
  double swing;        // daily amplitude, Celsius
  double humidity;     // mean, percent
};

Climate climate_of(std::string_view kind) {
  if (kind == "outdoor") return {14.0, 6.0, 68.0};
  if (kind == "freezer") return {-18.0, 0.5, 30.0};
  if (kind == "server") return {29.0, 1.5, 35.0};
  return {21.5, 1.0, 45.0};
}

/// Maps a position in the day onto [-1, 1]: a triangle wave peaking mid-afternoon (no libm, so
/// every machine generates the same values).
double daily_cycle(std::int64_t time_ns) {
  constexpr std::int64_t kDay = 86'400'000'000'000;
  std::int64_t in_day = ((time_ns % kDay) + kDay) % kDay;
  double phase = static_cast<double>(in_day) / static_cast<double>(kDay);  // 0 at midnight
  double shifted = phase - 0.625;                                          // peak at 15:00
  if (shifted < 0) shifted += 1.0;
  return shifted < 0.5 ? 1.0 - 4.0 * shifted : -3.0 + 4.0 * shifted;
}

/// Rounds to a number of decimals the way a sensor reports, landing on the nearest double.
double round_to(double value, double scale) {
  return std::round(value * scale) / scale;
}

}  // namespace

SensorGenerator::SensorGenerator(const GeneratorConfig& config, const Schema& schema)
    : config_(config), schema_(schema), walk_(config.sensors, 0.0), state_(config.seed) {
  if (config_.sensors == 0) throw UserError("generator: sensors must be at least 1");
  for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
    const Field& field = schema_.fields[i];
    Quantity quantity = Quantity::none;
    if (static_cast<int>(i) == schema_.event_time || field.name == "timestamp") {
      quantity = Quantity::time;
    } else if (field.name == "sensor_id") {
      quantity = Quantity::sensor_id;
    } else if (field.name == "location") {
      quantity = Quantity::location;
    } else if (field.name == "type") {
      quantity = Quantity::kind;
    } else if (field.name == "temperature") {
      quantity = Quantity::temperature;
    } else if (field.name == "humidity") {
      quantity = Quantity::humidity;
    } else if (field.name == "pressure") {
      quantity = Quantity::pressure;
    }
    bool compatible = true;
    switch (quantity) {
      case Quantity::time:
        compatible = field.type == DataType::timestamp;
        break;
      case Quantity::sensor_id:
        compatible = field.type != DataType::boolean && field.type != DataType::timestamp;
        break;
      case Quantity::location:
      case Quantity::kind:
        compatible = field.type == DataType::string;
        break;
      case Quantity::temperature:
      case Quantity::humidity:
      case Quantity::pressure:
        compatible = field.type == DataType::float64 || field.type == DataType::float32;
        break;
      case Quantity::none:
        if (field.required) {
          throw UserError("generator: the schema's required field '" + field.name +
                          "' is not one the sensor generator makes (timestamp, sensor_id, "
                          "location, type, temperature, humidity, pressure)");
        }
        break;
    }
    if (!compatible) {
      throw UserError("generator: field '" + field.name + "' has type " +
                      std::string(to_string(field.type)) + ", which the generator cannot fill");
    }
    quantities_.push_back(quantity);
  }
  row_.resize(schema_.fields.size());
}

std::uint64_t SensorGenerator::next_random() {
  // splitmix64: tiny, fast and the same everywhere.
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double SensorGenerator::next_unit() {
  return static_cast<double>(next_random() >> 11) * 0x1.0p-53;
}

bool SensorGenerator::fill_row(std::uint64_t reading) {
  const std::uint64_t sensors = config_.sensors;
  const std::uint64_t sensor = reading % sensors;
  const std::uint64_t round = reading / sensors;
  const Site& site = kSites[(sensor * 7 + sensor / 16) % std::size(kSites)];
  const Climate climate = climate_of(site.kind);

  const __int128 stagger = config_.interval_ns / static_cast<std::int64_t>(sensors);
  __int128 wide = static_cast<__int128>(config_.start_ns) +
                  static_cast<__int128>(round) * config_.interval_ns +
                  static_cast<__int128>(sensor) * stagger;
  if (config_.jitter_ns > 0) {
    wide -= static_cast<__int128>(next_random() % static_cast<std::uint64_t>(config_.jitter_ns));
  }
  // Event times end where int64 nanoseconds end (year 2262): the feed stops there.
  if (wide > std::numeric_limits<std::int64_t>::max() ||
      wide < std::numeric_limits<std::int64_t>::min()) {
    return false;
  }
  const auto time = static_cast<std::int64_t>(wide);
  double& walk = walk_[sensor];
  walk = walk * 0.98 + (next_unit() - 0.5) * 0.4;
  double temperature =
      climate.temperature + climate.swing * daily_cycle(time) + walk + (next_unit() - 0.5) * 0.2;
  // About one reading in 500 is a faulty spike that validation should catch.
  if (next_random() % 500 == 0) temperature = next_unit() < 0.5 ? 185.0 : -99.0;
  double humidity =
      climate.humidity - 1.5 * climate.swing * daily_cycle(time) + (next_unit() - 0.5) * 4.0;
  humidity = humidity < 0 ? 0 : (humidity > 100 ? 100 : humidity);
  double pressure = 1013.25 + walk * 2.0 + (next_unit() - 0.5) * 1.5;

  for (std::size_t i = 0; i < quantities_.size(); ++i) {
    const Field& field = schema_.fields[i];
    FieldValue& value = row_[i];
    switch (quantities_[i]) {
      case Quantity::time:
        value = time;
        break;
      case Quantity::sensor_id:
        if (field.type == DataType::string) {
          char text[24];
          std::snprintf(text, sizeof text, "s-%05llu", static_cast<unsigned long long>(sensor + 1));
          value = std::string(text);
        } else if (field.type == DataType::float32 || field.type == DataType::float64) {
          value = static_cast<double>(sensor + 1);
        } else {
          value = static_cast<std::int64_t>(sensor + 1);
        }
        break;
      case Quantity::location:
        value = std::string(site.location);
        break;
      case Quantity::kind:
        value = std::string(site.kind);
        break;
      case Quantity::temperature:
        value = round_to(temperature, 100.0);
        break;
      case Quantity::humidity:
        value = round_to(humidity, 10.0);
        break;
      case Quantity::pressure:
        value = round_to(pressure, 100.0);
        break;
      case Quantity::none:
        value = std::monostate{};
        break;
    }
  }
  return true;
}

std::uint64_t SensorGenerator::generate(Encoder& encoder, std::uint64_t count, std::string& out) {
  std::uint64_t made = 0;
  while (made < count && (config_.events == 0 || produced_ < config_.events)) {
    if (!fill_row(produced_)) break;
    if (config_.bad_share > 0 && next_unit() < config_.bad_share) {
      encoder.append_malformed(row_, next_random(), out);
      ++malformed_;
    } else {
      encoder.append(row_, out);
    }
    ++produced_;
    ++made;
  }
  return made;
}

}  // namespace ldh
