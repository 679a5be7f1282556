#include "pipeline/task_pool.h"

namespace ldh {

TaskPool::TaskPool(std::size_t parts) {
  for (std::size_t part = 1; part < parts; ++part)
    threads_.emplace_back([this, part] { work(part); });
}

TaskPool::~TaskPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  start_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void TaskPool::run(const std::function<void(std::size_t)>& task) {
  if (threads_.empty()) {
    task(0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    task_ = &task;
    running_ = threads_.size();
    error_ = nullptr;
    ++generation_;
  }
  start_.notify_all();
  std::exception_ptr failure;
  try {
    task(0);
  } catch (...) {
    failure = std::current_exception();
  }
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return running_ == 0; });
  task_ = nullptr;
  if (!failure) failure = error_;
  if (failure) std::rethrow_exception(failure);
}

void TaskPool::work(std::size_t part) {
  std::uint64_t seen = 0;
  while (true) {
    const std::function<void(std::size_t)>* task = nullptr;
    {
      std::unique_lock lock(mutex_);
      start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      task = task_;
    }
    std::exception_ptr failure;
    try {
      (*task)(part);
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    if (failure && !error_) error_ = failure;
    if (--running_ == 0) done_.notify_one();
  }
}

}  // namespace ldh
