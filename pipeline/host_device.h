#pragma once

// Marks functions that CUDA kernels and host code share, so every formula has exactly one source.
#if defined(__CUDACC__)
#define LDH_HOST_DEVICE __host__ __device__
#define LDH_FORCE_INLINE __forceinline__
#else
#define LDH_HOST_DEVICE
#define LDH_FORCE_INLINE inline __attribute__((always_inline))
#endif
