#pragma once

// Sorting the values of exact percentiles on a device: one segmented radix sort over the
// values' sort_key bits for every group of a slice of an emission step (pipeline/value_sort.h).
// No CUDA types here.

#include <memory>

#include "pipeline/value_sort.h"

namespace ldh {

/// Creates a ValueSorter on CUDA device `device` with its own non-blocking stream and buffers
/// from the device pool. Throws DeviceError when a CUDA call fails. Defined only with
/// LDH_HAVE_CUDA.
std::unique_ptr<ValueSorter> make_device_value_sorter(int device);

}  // namespace ldh
