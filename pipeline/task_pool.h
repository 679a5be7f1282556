#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ldh {

/// Runs tasks on one thread per part, kept for the pool's life: every task posted runs once for
/// each part, and a part runs its tasks in the order they were posted, so state that only part
/// i's tasks touch (a window shard) needs no lock. The caller goes on while they run (post())
/// and waits only when it needs their results (wait(), run()): a part whose thread starts late
/// holds nobody up until then. A pool of one part has no thread: post() runs the task, since
/// handing it over cost more (waking a thread, moving rows and state between cores) than the
/// overlap gained.
class TaskPool {
 public:
  /// Makes a pool of `parts` (>= 1) parts, with a thread each when there are several; post()
  /// blocks while `queue_limit` tasks wait.
  explicit TaskPool(std::size_t parts, std::size_t queue_limit = 4);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  std::size_t parts() const { return next_.size(); }

  /// Queues task(part) for every part and returns (with one part: runs task(0)). A task that
  /// throws makes the pool skip the tasks queued behind it until the exception is rethrown, by
  /// the next post() or wait().
  void post(std::function<void(std::size_t)> task);
  /// Returns once every posted task has run (or been skipped) for every part; rethrows the
  /// first exception a task threw since the last rethrow.
  void wait();
  /// Posts `task` and waits for it.
  void run(std::function<void(std::size_t)> task) {
    post(std::move(task));
    wait();
  }

 private:
  struct Task {
    std::function<void(std::size_t)> work;
    std::size_t parts_left = 0;
  };

  void work(std::size_t part);

  const std::size_t queue_limit_;
  std::mutex mutex_;
  std::condition_variable posted_;   // a task was posted, or the pool stops
  std::condition_variable drained_;  // a task finished on every part
  std::deque<Task> tasks_;
  std::uint64_t first_ = 0;          // sequence number of tasks_.front()
  std::vector<std::uint64_t> next_;  // per part: the sequence number of its next task
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

}  // namespace ldh
