// The device's fold of window rows against the host's: the same partials field by field on
// adversarial rows, and the same output bytes from the engine with windows folded on the device
// as with rows added one by one on the CPU. Skips without a device.

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>

#include "pipeline/window_partial.h"
#include "run_pipeline.h"
#include "window_fold_test_support.h"

#if LDH_HAVE_CUDA
#include "kernels/device.h"
#include "kernels/window_aggregate.h"
#endif

namespace ldh {
namespace {

#if LDH_HAVE_CUDA

using testing::run_pipeline;

bool device_available(std::string& why_none) {
  return !device::list_devices(why_none).empty();
}

TEST(WindowPartialGpu, DevicePartialsAreTheHostsFieldByField) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  auto host = make_host_pane_aggregator();
  auto device = make_device_pane_aggregator(0);
  std::uint64_t seed = 900;
  for (bool wild : {false, true}) {
    for (bool collide : {false, true}) {
      for (std::uint32_t count : {1u, 255u, 256u, 257u, 70'000u, 1u << 20}) {
        for (std::uint32_t keys : {1u, 37u, 100'000u}) {
          ++seed;
          const testing::FoldCase fold =
              testing::make_fold_case(seed, count, keys, 3, 5, collide, wild);
          for (const FoldPlan& plan : {fold.plan, make_session_fold_plan(3'000'000'000)}) {
            PanePartials expected;
            PanePartials actual;
            host->fold(fold.rows.view(), plan, fold.needs, expected);
            device->fold(fold.rows.view(), plan, fold.needs, actual);
            SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(count) + " rows" +
                         (plan.gap > 0 ? ", sessions" : ""));
            testing::expect_same_partials(expected, actual);
          }
        }
      }
    }
  }
}

TEST(WindowPartialGpu, ShortFoldForSanitizers) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  auto host = make_host_pane_aggregator();
  auto device = make_device_pane_aggregator(0);
  for (std::uint32_t count : {1u, 300u, 5000u}) {
    const testing::FoldCase fold = testing::make_fold_case(count, count, 17, 2, 3, false, true);
    for (const FoldPlan& plan : {fold.plan, make_session_fold_plan(2'000'000'000)}) {
      PanePartials expected;
      PanePartials actual;
      host->fold(fold.rows.view(), plan, fold.needs, expected);
      device->fold(fold.rows.view(), plan, fold.needs, actual);
      testing::expect_same_partials(expected, actual);
    }
  }
}

TEST(WindowPartialGpu, TheEngineWritesTheSameBytesWithWindowsFoldedOnTheDevice) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  const std::string yaml = testing::fold_engine_config();
  for (int round = 0; round < 3; ++round) {
    const std::string input = testing::fold_engine_input(round, 20'000);
    const auto reference = run_pipeline(yaml, input, Format::json, 1, 65536, false);
    for (auto [threads, batch] : {std::pair{1u, std::size_t{65536}}, std::pair{2u, std::size_t{3}},
                                  std::pair{3u, std::size_t{4093}}}) {
      const auto folded = run_pipeline(yaml, input, Format::json, threads, batch, true, 0);
      EXPECT_EQ(folded.results, reference.results)
          << "round " << round << ", " << threads << " threads, batch " << batch;
    }
  }
}

TEST(WindowPartialGpu, AMillionKeysFoldOnTheDeviceAsOnTheCpu) {
  std::string why_none;
  if (!device_available(why_none)) GTEST_SKIP() << "no CUDA device: " << why_none;
  const std::string yaml = testing::fold_engine_config();
  std::ostringstream input;
  const std::int64_t base = 1'795'910'400'000;
  for (int i = 0; i < 1'000'000; ++i) {
    input << "{\"ts\":" << base + i / 40 << ",\"k\":\"k" << i << "\",\"v\":" << i % 997 << "}\n";
  }
  const auto reference = run_pipeline(yaml, input.str(), Format::json, 2, 65536, false);
  const auto folded = run_pipeline(yaml, input.str(), Format::json, 2, 65536, true, 0);
  EXPECT_EQ(folded.results.size(), reference.results.size());
  EXPECT_TRUE(folded.results == reference.results);
}

#else

TEST(WindowPartialGpu, NeedsACudaBuild) {
  GTEST_SKIP() << "this build has no CUDA backend";
}

#endif

}  // namespace
}  // namespace ldh
