#pragma once

#include "host/arguments.h"

namespace ldh {

/// Runs `ldh bench`: the sensor pipeline end to end on pre-generated events held in memory.
int command_bench(Arguments& arguments);

}  // namespace ldh
