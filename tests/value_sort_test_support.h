#pragma once

// Groups of canonical values for the bulk sorters' tests: empty groups, single values, many
// duplicates, -0.0 (canonical +0.0), NaN, infinities, subnormals, and groups past the counting
// sort's limit.

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "pipeline/percentile.h"

namespace ldh::testing {

struct ValueGroups {
  std::vector<double> values;
  std::vector<std::uint32_t> offsets{0};
};

inline ValueGroups make_value_groups(std::uint64_t seed, int groups, std::uint32_t largest) {
  std::mt19937_64 random(seed);
  ValueGroups made;
  for (int g = 0; g < groups; ++g) {
    const std::uint32_t size = g % 7 == 0 ? 0 : static_cast<std::uint32_t>(random() % largest);
    for (std::uint32_t i = 0; i < size; ++i) {
      double x = std::uniform_real_distribution<double>(-100, 100)(random);
      switch (random() % 16) {
        case 0:
          x = -0.0;
          break;
        case 1:
          x = std::numeric_limits<double>::quiet_NaN();
          break;
        case 2:
          x = std::numeric_limits<double>::infinity();
          break;
        case 3:
          x = -std::numeric_limits<double>::infinity();
          break;
        case 4:
          x = std::numeric_limits<double>::denorm_min() * static_cast<double>(random() % 5);
          break;
        case 5:
          x = static_cast<double>(random() % 3);
          break;
        default:
          break;
      }
      // Some groups carry no NaN, so the host takes its counting sort for them.
      if (g % 2 == 0 && std::isnan(x)) x = 1.5;
      made.values.push_back(canonical_value(x));
    }
    made.offsets.push_back(static_cast<std::uint32_t>(made.values.size()));
  }
  return made;
}

}  // namespace ldh::testing
