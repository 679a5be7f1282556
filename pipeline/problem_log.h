#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace ldh {

/// Prints one component's problems (a peer down, a failed commit) on standard error at most
/// once per interval, saying how many it held back since, so a dead peer cannot flood the log.
/// Thread-safe.
class ProblemLog {
 public:
  explicit ProblemLog(std::string prefix,
                      std::chrono::steady_clock::duration interval = std::chrono::seconds(5))
      : prefix_(std::move(prefix)), interval_(interval) {}

  void report(const std::string& text) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) {
      ++held_back_;
      return;
    }
    std::string line = prefix_ + text;
    if (held_back_ > 0) {
      line += " (" + std::to_string(held_back_) + " more problems since the last report)";
    }
    std::fprintf(stderr, "%s\n", line.c_str());
    held_back_ = 0;
    next_ = now + interval_;
  }

 private:
  std::string prefix_;
  std::chrono::steady_clock::duration interval_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point next_{};
  std::uint64_t held_back_ = 0;
};

}  // namespace ldh
