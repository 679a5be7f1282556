#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace ldh {

/// Spaces out retries of one peer: after n failures the wait is initial × 2^(n-1), capped at
/// `longest`, scaled by a random factor in [1 - jitter, 1 + jitter] so that many clients of one
/// peer spread out. Shared by every path that retries (delivery, event handlers, reconnects).
class Backoff {
 public:
  Backoff(std::int64_t initial_ns, std::int64_t longest_ns, double jitter)
      : initial_(static_cast<double>(initial_ns)),
        longest_(static_cast<double>(longest_ns)),
        jitter_(jitter),
        state_(std::random_device{}() | 1) {}

  /// Returns the wait after `failures` (>= 1) failed attempts in a row.
  std::chrono::nanoseconds after(std::uint32_t failures) {
    double wait = initial_;
    for (std::uint32_t i = 1; i < failures && wait < longest_; ++i) wait *= 2;
    wait = std::min(wait, longest_);
    wait *= 1 - jitter_ + 2 * jitter_ * next_unit();
    return std::chrono::nanoseconds(static_cast<std::int64_t>(wait));
  }

 private:
  /// Returns a uniform double in [0, 1) from a xorshift state (jitter needs no better).
  double next_unit() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return static_cast<double>(state_ >> 11) * 0x1.0p-53;
  }

  double initial_;
  double longest_;
  double jitter_;
  std::uint64_t state_;
};

}  // namespace ldh
