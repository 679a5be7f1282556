#include "pipeline/task_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace ldh {
namespace {

TEST(TaskPool, EveryPartRunsEveryTaskInTheOrderPosted) {
  constexpr std::size_t kParts = 3;
  TaskPool pool(kParts);
  std::vector<std::vector<int>> seen(kParts);  // each part touches only its own
  for (int task = 0; task < 200; ++task) {
    pool.post([&seen, task](std::size_t part) { seen[part].push_back(task); });
  }
  pool.wait();
  for (std::size_t part = 0; part < kParts; ++part) {
    ASSERT_EQ(seen[part].size(), 200u) << "part " << part;
    for (int task = 0; task < 200; ++task) EXPECT_EQ(seen[part][task], task) << "part " << part;
  }
}

TEST(TaskPool, PostReturnsWhileTasksRunAndWaitReturnsWhenAllAreDone) {
  TaskPool pool(2, 4);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  pool.post([&](std::size_t part) {
    if (part == 1) released.wait();  // part 1 is held up; part 0 goes on
    ++done;
  });
  for (int i = 0; i < 3; ++i) pool.post([&](std::size_t) { ++done; });
  // Four tasks wait on part 1 and post() returned for each: part 0 ran its four meanwhile.
  while (done.load() < 4) std::this_thread::yield();
  EXPECT_EQ(done.load(), 4);
  release.set_value();
  pool.wait();
  EXPECT_EQ(done.load(), 8);
}

TEST(TaskPool, AFailureSkipsTheTasksBehindItUntilItIsRethrownOnce) {
  TaskPool pool(2);
  std::atomic<int> runs{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pool.post([released](std::size_t part) {
    released.wait();
    if (part == 1) throw std::runtime_error("shard failed");
  });
  pool.post([&](std::size_t part) {
    if (part == 1) ++runs;  // part 1 skips it
  });
  release.set_value();
  EXPECT_THROW(pool.wait(), std::runtime_error);
  EXPECT_EQ(runs.load(), 0);
  pool.run([&](std::size_t) { ++runs; });
  EXPECT_EQ(runs.load(), 2);
  // The next post() rethrows a failure as well, once.
  pool.post([](std::size_t part) {
    if (part == 0) throw std::runtime_error("again");
  });
  bool thrown = false;
  for (int i = 0; i < 10000 && !thrown; ++i) {
    try {
      pool.post([](std::size_t) {});
    } catch (const std::runtime_error&) {
      thrown = true;
    }
    std::this_thread::yield();
  }
  EXPECT_TRUE(thrown);
  EXPECT_NO_THROW(pool.wait());
}

TEST(TaskPool, APoolOfOnePartRunsTasksInPostAndRethrowsFailuresLater) {
  TaskPool pool(1);
  EXPECT_EQ(pool.parts(), 1u);
  const std::thread::id caller = std::this_thread::get_id();
  int runs = 0;
  pool.post([&](std::size_t part) { runs += part == 0 && std::this_thread::get_id() == caller; });
  EXPECT_EQ(runs, 1);  // done when post() returns
  pool.post([](std::size_t) { throw std::runtime_error("failed"); });
  EXPECT_THROW(pool.wait(), std::runtime_error);
  EXPECT_NO_THROW(pool.wait());
  pool.post([](std::size_t) { throw std::runtime_error("again"); });
  EXPECT_THROW(pool.post([&](std::size_t) { ++runs; }), std::runtime_error);
  EXPECT_EQ(runs, 1);  // the task behind the failure was skipped
  pool.run([&](std::size_t) { ++runs; });
  EXPECT_EQ(runs, 2);
}

TEST(TaskPool, DestroyingThePoolRunsWhatIsQueued) {
  std::atomic<int> runs{0};
  {
    TaskPool pool(2);
    for (int i = 0; i < 3; ++i) pool.post([&](std::size_t) { ++runs; });
  }
  EXPECT_EQ(runs.load(), 6);
}

}  // namespace
}  // namespace ldh
