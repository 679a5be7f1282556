#pragma once

#include <string>

#include "pipeline/memory.h"

namespace ldh {

/// Returns the resource batches should use: pinned memory (cudaHostAlloc) when this build has
/// CUDA and a device is usable, page-aligned memory otherwise. `why` says which and why.
HostMemoryResource& batch_memory(std::string* why = nullptr);

}  // namespace ldh
