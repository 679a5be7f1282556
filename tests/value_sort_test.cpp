#include "pipeline/value_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "value_sort_test_support.h"

namespace ldh {
namespace {

TEST(ValueSort, TheHostSortsEachGroupBySortKeyAndLeavesTheOthersAlone) {
  auto sorter = make_host_value_sorter();
  for (std::uint32_t largest : {2u, 60u, 500u}) {
    testing::ValueGroups groups = testing::make_value_groups(largest, 40, largest);
    std::vector<double> expected = groups.values;
    for (std::size_t g = 0; g + 1 < groups.offsets.size(); ++g) {
      std::sort(expected.begin() + groups.offsets[g], expected.begin() + groups.offsets[g + 1],
                [](double a, double b) { return sort_key(a) < sort_key(b); });
    }
    sorter->sort_groups(groups.values, groups.offsets);
    ASSERT_EQ(groups.values.size(), expected.size());
    EXPECT_EQ(std::memcmp(groups.values.data(), expected.data(), expected.size() * sizeof(double)),
              0)
        << "largest group " << largest;
  }
}

}  // namespace
}  // namespace ldh
