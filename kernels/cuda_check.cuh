#pragma once

#include <cuda_runtime.h>

#include <string>

#include "pipeline/error.h"

/// Throws ldh::DeviceError naming the failed CUDA call, the file and the line.
#define LDH_CUDA_TRY(call)                                                                        \
  do {                                                                                            \
    cudaError_t ldh_status = (call);                                                              \
    if (ldh_status != cudaSuccess) {                                                              \
      throw ::ldh::DeviceError(std::string(#call) + " failed at " + __FILE__ + ":" +              \
                               std::to_string(__LINE__) + ": " + cudaGetErrorString(ldh_status)); \
    }                                                                                             \
  } while (0)

/// Checks the last kernel launch (launch errors surface here, execution errors at sync).
#define LDH_CUDA_CHECK_LAUNCH() LDH_CUDA_TRY(cudaGetLastError())
