// The device's bulk sort of percentile values against the host's, bit for bit. Skips without a
// device.

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "pipeline/value_sort.h"
#include "value_sort_test_support.h"

#if LDH_HAVE_CUDA
#include "kernels/device.h"
#include "kernels/value_sort.h"
#endif

namespace ldh {
namespace {

#if LDH_HAVE_CUDA

bool device_available(std::string& why_none) {
  return !device::list_devices(why_none).empty();
}

void expect_same_sort(std::uint64_t seed, int groups, std::uint32_t largest) {
  auto host = make_host_value_sorter();
  auto device = make_device_value_sorter(0);
  testing::ValueGroups expected = testing::make_value_groups(seed, groups, largest);
  testing::ValueGroups actual = expected;
  host->sort_groups(expected.values, expected.offsets);
  device->sort_groups(actual.values, actual.offsets);
  ASSERT_EQ(expected.values.size(), actual.values.size());
  EXPECT_EQ(std::memcmp(expected.values.data(), actual.values.data(),
                        expected.values.size() * sizeof(double)),
            0)
      << "seed " << seed << ", " << groups << " groups up to " << largest;
}

TEST(ValueSortGpu, TheDeviceSortsEveryGroupAsTheHostDoes) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  expect_same_sort(1, 1, 5);
  expect_same_sort(2, 30'000, 130);  // a minute of 10 000 sensors, three measures
  expect_same_sort(3, 50, 200'000);  // few groups past any counting sort
}

TEST(ValueSortGpu, ShortSortForSanitizers) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  expect_same_sort(4, 20, 100);
}

#else

TEST(ValueSortGpu, NeedsACudaBuild) {
  GTEST_SKIP() << "this build has no CUDA backend";
}

#endif

}  // namespace
}  // namespace ldh
