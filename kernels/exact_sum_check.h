#pragma once

// Host-only entry points of kernels/exact_sum_check.cu, which runs the exact aggregation cores
// on a device so tests/exact_sum_gpu_test.cpp can compare every bit with the CPU.

#include <cstddef>
#include <cstdint>

namespace ldh {

/// Computes per group (groups[i] < group_count): sum, average, sample variance, sample
/// standard deviation and trend (units per second, times in ns below 2^53), five doubles and
/// five validity bytes per group. Synchronous; throws DeviceError when CUDA fails.
void exact_moments_on_device(const double* values, const std::int64_t* times,
                             const std::uint32_t* groups, std::size_t count,
                             std::size_t group_count, double* results, std::uint8_t* valid);

/// Computes sort keys, DDSketch buckets and representatives for `values`, and the continuous
/// and discrete percentiles of `sorted` at `fractions`. Synchronous.
void percentile_parts_on_device(const double* values, std::size_t count, double accuracy,
                                std::uint64_t* keys, int* buckets, double* representatives,
                                const double* sorted, std::size_t sorted_count,
                                const double* fractions, std::size_t fraction_count,
                                double* continuous, double* discrete);

}  // namespace ldh
