#pragma once

#include "pipeline/schema.h"

namespace ldh {

/// Returns the schema of the built-in sensor feed (the generator's events, proto/sensors.proto):
/// timestamp (ms), sensor_id int32, location string[12], type string[8], temperature float64,
/// humidity float32, pressure float32: 48 bytes per binary record.
Schema sensor_schema();

}  // namespace ldh
