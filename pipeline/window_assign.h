#pragma once

#include <cstdint>

#include "pipeline/host_device.h"

namespace ldh {

/// Divides rounding toward negative infinity (b > 0), so times before 1970 land in the right
/// window.
LDH_HOST_DEVICE LDH_FORCE_INLINE std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t quotient = a / b;
  return quotient - ((a % b != 0) & (a < 0));
}

/// Returns the largest multiple of `step` (> 0) that is <= t: windows align to the Unix epoch.
LDH_HOST_DEVICE LDH_FORCE_INLINE std::int64_t align_down(std::int64_t t, std::int64_t step) {
  return floor_div(t, step) * step;
}

/// Returns the greatest common divisor of two positive durations: the pane length of a sliding
/// window, so every event falls in exactly one pane and windows are unions of panes.
LDH_HOST_DEVICE LDH_FORCE_INLINE std::int64_t pane_length(std::int64_t size, std::int64_t slide) {
  while (slide != 0) {
    std::int64_t rest = size % slide;
    size = slide;
    slide = rest;
  }
  return size;
}

/// Returns the start of the last window (starts are multiples of `slide`) that contains t; the
/// windows containing t start at last, last - slide, ... while start > t - size.
LDH_HOST_DEVICE LDH_FORCE_INLINE std::int64_t last_window_start(std::int64_t t,
                                                                std::int64_t slide) {
  return align_down(t, slide);
}

}  // namespace ldh
