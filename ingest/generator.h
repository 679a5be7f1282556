#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ingest/encoder.h"
#include "pipeline/config.h"
#include "pipeline/schema.h"

namespace ldh {

/// Synthesises a realistic, reproducible sensor feed: each sensor has a site and a kind that set
/// its climate; readings follow a daily cycle plus a random walk and noise, with rare faulty
/// spikes, out-of-order event times (jitter) and, on request, deliberately malformed records.
/// The same config and seed give the same bytes on every machine (no libm, own RNG).
class SensorGenerator {
 public:
  /// Fills the schema's fields by name: timestamp (or the event-time field), sensor_id,
  /// location, type, temperature, humidity, pressure. Throws UserError for a required field it
  /// cannot produce or a type it cannot convert to.
  SensorGenerator(const GeneratorConfig& config, const Schema& schema);

  /// Appends up to `count` encoded events to `out`; returns how many were appended (fewer only
  /// when the configured number of events is reached or event times reach the year 2262).
  std::uint64_t generate(Encoder& encoder, std::uint64_t count, std::string& out);
  /// Counts events produced so far (malformed ones included).
  std::uint64_t produced() const { return produced_; }
  /// Counts the malformed records produced so far.
  std::uint64_t malformed() const { return malformed_; }

 private:
  enum class Quantity : std::uint8_t {
    time,
    sensor_id,
    location,
    kind,
    temperature,
    humidity,
    pressure,
    none
  };
  /// Fills row_ with reading number `reading`; false once event times leave the int64 range.
  bool fill_row(std::uint64_t reading);
  std::uint64_t next_random();
  double next_unit();  // uniform in [0, 1)

  GeneratorConfig config_;
  Schema schema_;
  std::vector<Quantity> quantities_;
  std::vector<FieldValue> row_;
  std::vector<double> walk_;  // per-sensor random-walk offset of the temperature
  std::uint64_t state_;
  std::uint64_t produced_ = 0;
  std::uint64_t malformed_ = 0;
};

}  // namespace ldh
