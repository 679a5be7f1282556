#pragma once

// Folding window rows by (key, pane) on a device: the sort keys, cuts and fold of the host
// aggregator (pipeline/window_partial.h) with CUB's radix sort, scan and selection, so the
// partials are the host's to the byte. No CUDA types here: host code holds a PaneAggregator.

#include <memory>

#include "pipeline/window_partial.h"

namespace ldh {

/// Creates a PaneAggregator on CUDA device `device`, with one non-blocking stream and buffers
/// from the device pool that grow to the largest fold seen. Throws DeviceError when a CUDA call
/// fails. Defined only with LDH_HAVE_CUDA.
std::unique_ptr<PaneAggregator> make_device_pane_aggregator(int device);

}  // namespace ldh
