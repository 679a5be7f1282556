// Runs the exact aggregation core on the device for tests/exact_sum_gpu_test.cpp: events are
// added to per-group dense accumulators with 64-bit integer atomics (so the order is whatever
// the hardware schedules), then each group is finalised by the same LDH_HOST_DEVICE cores the
// CPU uses (pipeline/exact_sum.h, pipeline/moments.h); percentile keys and DDSketch buckets come
// from pipeline/percentile.h and pipeline/ddsketch.h. The test compares every bit with the CPU.

#include <cstddef>
#include <cstdint>

#include "kernels/cuda_check.cuh"
#include "kernels/device_buffer.cuh"
#include "kernels/exact_sum_check.h"
#include "pipeline/ddsketch.h"
#include "pipeline/exact_sum.h"
#include "pipeline/moments.h"
#include "pipeline/percentile.h"

namespace ldh {
namespace {

/// The sums of one group, as the CPU's Moments and TrendSums hold them.
struct GroupSums {
  exact::DenseExactSum sum;
  exact::DenseExactSum squares;
  exact::DenseExactSum times;
  exact::DenseExactSum time_squares;
  exact::DenseExactSum time_products;
  unsigned long long count;
  unsigned int flags;
};

/// Adds a term's digits to carry-save limbs with integer atomics: order-free, so any schedule
/// reaches the same limbs.
__device__ void atomic_add_term(exact::DenseExactSum& target, const exact::Term& term) {
  std::uint32_t digits[5];
  const exact::NumberView value = exact::term_number(term, digits);
  const int first = (value.exponent + exact::kBiasBits) / exact::kDigitBits;
  for (int i = 0; i < value.size; ++i) {
    const long long digit = value.negative ? -static_cast<long long>(value.digits[i])
                                           : static_cast<long long>(value.digits[i]);
    atomicAdd(reinterpret_cast<unsigned long long*>(&target.limbs[first + i]),
              static_cast<unsigned long long>(digit));
  }
}

__global__ void accumulate(const double* values, const std::int64_t* times,
                           const std::uint32_t* groups, std::size_t count, GroupSums* sums) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    GroupSums& group = sums[groups[i]];
    const double x = values[i];
    const double t = static_cast<double>(times[i]);  // the test keeps times below 2^53
    atomicAdd(&group.count, 1ULL);
    atomic_add_term(group.times, exact::term_of(t));
    atomic_add_term(group.time_squares, exact::product_term(t, t));
    if (exact::is_finite(x)) {
      atomic_add_term(group.sum, exact::term_of(x));
      atomic_add_term(group.squares, exact::product_term(x, x));
      atomic_add_term(group.time_products, exact::scaled_integer_term(x, times[i]));
    } else {
      atomicOr(&group.flags, static_cast<unsigned int>(exact::special_flag(x)));
    }
  }
}

/// Writes sum, average, sample variance, sample standard deviation and trend per group, with
/// a validity byte each (0 where the CPU returns nullopt).
__global__ void finalise(const GroupSums* sums, std::size_t group_count, double* results,
                         std::uint8_t* valid) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t g = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       g < group_count; g += stride) {
    const GroupSums& group = sums[g];
    double* out = results + 5 * g;
    std::uint8_t* ok = valid + 5 * g;
    const std::uint64_t n = group.count;
    const auto flags = static_cast<std::uint8_t>(group.flags);
    std::uint32_t sum_digits[exact::kNumberDigits];
    std::uint32_t square_digits[exact::kNumberDigits];
    const exact::NumberView sum = group.sum.to_number(sum_digits);
    const exact::NumberView squares = group.squares.to_number(square_digits);
    out[0] = flags != 0 ? exact::special_sum(flags) : exact::round_to_double(sum);
    ok[0] = 1;
    out[1] = flags != 0 ? exact::special_sum(flags) : exact::average_value(n, sum);
    ok[1] = n >= 1;
    ok[2] = ok[3] = n >= 2;
    out[2] = out[3] = math::quiet_nan();
    if (n >= 2 && flags == 0) {
      out[2] = exact::variance_value(n, sum, squares, true);
      out[3] = exact::standard_deviation_value(n, sum, squares, true);
    }
    std::uint32_t time_digits[exact::kNumberDigits];
    std::uint32_t time_square_digits[exact::kNumberDigits];
    std::uint32_t product_digits[exact::kNumberDigits];
    double slope = 0.0;
    ok[4] = exact::trend_value(n, sum, group.times.to_number(time_digits),
                               group.time_squares.to_number(time_square_digits),
                               group.time_products.to_number(product_digits), &slope);
    out[4] = flags != 0 ? math::quiet_nan() : slope;
  }
}

/// Writes each value's sort key and, for finite nonzero values, the DDSketch bucket of its
/// magnitude and that bucket's representative.
__global__ void keys_and_buckets(const double* values, std::size_t count, DDSketchMapping mapping,
                                 std::uint64_t* keys, int* buckets, double* representatives) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    const double x = values[i];
    keys[i] = sort_key(x);
    const double magnitude = math::abs(x);
    const bool bucketed = exact::is_finite(x) && magnitude > 0;
    buckets[i] = bucketed ? mapping.index(magnitude) : 0;
    representatives[i] = bucketed ? mapping.representative(buckets[i]) : 0.0;
  }
}

/// Writes the continuous and discrete percentile of `sorted` at each fraction.
__global__ void percentiles(const double* sorted, std::size_t count, const double* fractions,
                            std::size_t fraction_count, double* continuous, double* discrete) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < fraction_count) {
    continuous[i] = continuous_percentile(sorted, count, fractions[i]);
    discrete[i] = discrete_percentile(sorted, count, fractions[i]);
  }
}

int blocks_for(std::size_t items, int threads) {
  const std::size_t wanted = (items + threads - 1) / threads;
  return static_cast<int>(wanted < 4096 ? (wanted > 0 ? wanted : 1) : 4096);
}

}  // namespace

void exact_moments_on_device(const double* values, const std::int64_t* times,
                             const std::uint32_t* groups, std::size_t count,
                             std::size_t group_count, double* results, std::uint8_t* valid) {
  DeviceBuffer device_values(count * sizeof(double));
  DeviceBuffer device_times(count * sizeof(std::int64_t));
  DeviceBuffer device_groups(count * sizeof(std::uint32_t));
  DeviceBuffer device_sums(group_count * sizeof(GroupSums));
  DeviceBuffer device_results(5 * group_count * sizeof(double));
  DeviceBuffer device_valid(5 * group_count);
  device_values.upload(values);
  device_times.upload(times);
  device_groups.upload(groups);
  LDH_CUDA_TRY(cudaMemset(device_sums.as<void>(), 0, group_count * sizeof(GroupSums)));
  constexpr int kThreads = 256;
  accumulate<<<blocks_for(count, kThreads), kThreads>>>(
      device_values.as<double>(), device_times.as<std::int64_t>(),
      device_groups.as<std::uint32_t>(), count, device_sums.as<GroupSums>());
  LDH_CUDA_CHECK_LAUNCH();
  finalise<<<blocks_for(group_count, 64), 64>>>(device_sums.as<GroupSums>(), group_count,
                                                device_results.as<double>(),
                                                device_valid.as<std::uint8_t>());
  LDH_CUDA_CHECK_LAUNCH();
  LDH_CUDA_TRY(cudaDeviceSynchronize());
  device_results.download(results);
  device_valid.download(valid);
}

void percentile_parts_on_device(const double* values, std::size_t count, double accuracy,
                                std::uint64_t* keys, int* buckets, double* representatives,
                                const double* sorted, std::size_t sorted_count,
                                const double* fractions, std::size_t fraction_count,
                                double* continuous, double* discrete) {
  DeviceBuffer device_values(count * sizeof(double));
  DeviceBuffer device_keys(count * sizeof(std::uint64_t));
  DeviceBuffer device_buckets(count * sizeof(int));
  DeviceBuffer device_representatives(count * sizeof(double));
  DeviceBuffer device_sorted(sorted_count * sizeof(double));
  DeviceBuffer device_fractions(fraction_count * sizeof(double));
  DeviceBuffer device_continuous(fraction_count * sizeof(double));
  DeviceBuffer device_discrete(fraction_count * sizeof(double));
  device_values.upload(values);
  device_sorted.upload(sorted);
  device_fractions.upload(fractions);
  constexpr int kThreads = 256;
  keys_and_buckets<<<blocks_for(count, kThreads), kThreads>>>(
      device_values.as<double>(), count, DDSketchMapping(accuracy), device_keys.as<std::uint64_t>(),
      device_buckets.as<int>(), device_representatives.as<double>());
  LDH_CUDA_CHECK_LAUNCH();
  percentiles<<<blocks_for(fraction_count, kThreads), kThreads>>>(
      device_sorted.as<double>(), sorted_count, device_fractions.as<double>(), fraction_count,
      device_continuous.as<double>(), device_discrete.as<double>());
  LDH_CUDA_CHECK_LAUNCH();
  LDH_CUDA_TRY(cudaDeviceSynchronize());
  device_keys.download(keys);
  device_buckets.download(buckets);
  device_representatives.download(representatives);
  device_continuous.download(continuous);
  device_discrete.download(discrete);
}

}  // namespace ldh
