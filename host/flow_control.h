#pragma once

// Flow control between a source and the pipeline (the seed's BufferPolicy and FlowController):
// how much a source may hold in flight, what happens when it would exceed that, and a token
// bucket per source. The executor owns the locking; these classes only keep the arithmetic.

#include <chrono>
#include <cstdint>

#include "pipeline/config.h"

namespace ldh {

/// Lets `rate` events per second through on average, in bursts of up to `burst` events.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate, double burst, Clock::time_point now);

  /// Takes `events` tokens (going into debt when there are too few) and returns how long the
  /// caller must wait before passing them on; zero when they were there.
  Clock::duration take(std::uint64_t events, Clock::time_point now);

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

/// What flow control did to one source, for the run summary.
struct FlowCounters {
  std::uint64_t chunks_dropped = 0;
  std::uint64_t events_dropped = 0;
  std::uint64_t bytes_dropped = 0;
  std::uint64_t resizes = 0;
  std::chrono::nanoseconds time_blocked{0};
  std::chrono::nanoseconds time_throttled{0};
  std::uint64_t peak_events = 0;  // most events in flight at once
  std::uint64_t peak_bytes = 0;   // most bytes in flight at once
};

/// Accounts for what one source has in flight (read, not yet written out) against the limits
/// of `input.buffer`, and decides what a new chunk may do.
class SourceBudget {
 public:
  explicit SourceBudget(const BufferConfig& config);

  enum class Decision { admit, wait, drop };

  /// Decides for a chunk of `events` and `bytes`: admit it, wait for room (block, or resize at
  /// its cap) or drop it. A chunk always fits when nothing is in flight, so one larger than the
  /// limits still moves. `resize` doubles the limits up to their caps before it waits.
  Decision decide(std::uint64_t events, std::uint64_t bytes);
  void admit(std::uint64_t events, std::uint64_t bytes);
  void release(std::uint64_t events, std::uint64_t bytes);

  std::uint64_t events() const { return events_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t max_events() const { return max_events_; }
  std::uint64_t max_bytes() const { return max_bytes_; }
  FlowCounters& counters() { return counters_; }
  const FlowCounters& counters() const { return counters_; }

 private:
  bool fits(std::uint64_t events, std::uint64_t bytes) const;

  const BufferConfig& config_;
  std::uint64_t max_events_;
  std::uint64_t max_bytes_;
  std::uint64_t events_ = 0;
  std::uint64_t bytes_ = 0;
  FlowCounters counters_;
};

}  // namespace ldh
