#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ldh {

/// Runs one task per part on a fixed set of threads kept for the pool's life: part 0 on the
/// caller, the others on the pool's threads. Made for work split into a few large parts that
/// must all finish before the caller goes on (the window engine's shards), so it has no queue.
class TaskPool {
 public:
  /// Makes a pool for `parts` (>= 1) parts: parts - 1 threads.
  explicit TaskPool(std::size_t parts);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  std::size_t parts() const { return threads_.size() + 1; }

  /// Runs task(part) for every part and returns when all are done; rethrows the first
  /// exception a part threw.
  void run(const std::function<void(std::size_t)>& task);

 private:
  void work(std::size_t part);

  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  const std::function<void(std::size_t)>* task_ = nullptr;
  std::uint64_t generation_ = 0;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

}  // namespace ldh
