#pragma once

#include <cstdint>

#include "pipeline/host_device.h"

namespace ldh {

/// Tells whether the sorted `set` holds `value`; NaN is in no set, as it fails every
/// comparison. Up to 8 members are scanned, more are searched. The CPU filter and the device
/// filter both call this, so `in` and `not_in` agree bit for bit.
LDH_HOST_DEVICE inline bool set_contains(const double* set, std::uint32_t size, double value) {
  if (value != value) return false;
  if (size <= 8) {
    bool found = false;
    for (std::uint32_t i = 0; i < size; ++i) found |= set[i] == value;
    return found;
  }
  std::uint32_t first = 0;
  std::uint32_t length = size;
  while (length > 0) {
    const std::uint32_t half = length >> 1;
    if (set[first + half] < value) {
      first += half + 1;
      length -= half + 1;
    } else {
      length = half;
    }
  }
  return first < size && set[first] == value;
}

}  // namespace ldh
