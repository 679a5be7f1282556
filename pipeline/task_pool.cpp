#include "pipeline/task_pool.h"

#include <algorithm>
#include <utility>

namespace ldh {

TaskPool::TaskPool(std::size_t parts, std::size_t queue_limit)
    : queue_limit_(std::max<std::size_t>(1, queue_limit)),
      next_(std::max<std::size_t>(1, parts), 0) {
  if (next_.size() == 1) return;  // post() runs the one part
  for (std::size_t part = 0; part < next_.size(); ++part)
    threads_.emplace_back([this, part] { work(part); });
}

TaskPool::~TaskPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  posted_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void TaskPool::post(std::function<void(std::size_t)> task) {
  if (threads_.empty()) {
    // No lock: only the caller touches error_ when there are no threads.
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    try {
      task(0);
    } catch (...) {
      error_ = std::current_exception();  // rethrown by the next post() or wait(), as above
    }
    return;
  }
  {
    std::unique_lock lock(mutex_);
    drained_.wait(lock, [this] { return tasks_.size() < queue_limit_; });
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    tasks_.push_back({std::move(task), threads_.size()});
  }
  posted_.notify_all();
}

void TaskPool::wait() {
  std::unique_lock lock(mutex_);
  drained_.wait(lock, [this] { return tasks_.empty(); });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void TaskPool::work(std::size_t part) {
  std::unique_lock lock(mutex_);
  while (true) {
    posted_.wait(lock, [&] { return stopping_ || next_[part] < first_ + tasks_.size(); });
    if (next_[part] == first_ + tasks_.size()) return;  // stopping, nothing left
    // Deque elements stay put while others are pushed behind them; the front one is popped
    // only once every part has run it.
    Task& task = tasks_[next_[part] - first_];
    // After a failure the tasks behind it are skipped: they would build on broken state.
    const bool skip = error_ != nullptr;
    lock.unlock();
    std::exception_ptr failure;
    if (!skip) {
      try {
        task.work(part);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    lock.lock();
    if (failure && !error_) error_ = failure;
    ++next_[part];
    if (--task.parts_left == 0) {
      bool popped = false;
      while (!tasks_.empty() && tasks_.front().parts_left == 0) {
        tasks_.pop_front();
        ++first_;
        popped = true;
      }
      if (popped) drained_.notify_all();
    }
  }
}

}  // namespace ldh
