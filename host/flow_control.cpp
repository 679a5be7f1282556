#include "host/flow_control.h"

#include <algorithm>

namespace ldh {

TokenBucket::TokenBucket(double rate, double burst, Clock::time_point now)
    : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

TokenBucket::Clock::duration TokenBucket::take(std::uint64_t events, Clock::time_point now) {
  if (rate_ <= 0) return Clock::duration::zero();
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  tokens_ -= static_cast<double>(events);
  if (tokens_ >= 0) return Clock::duration::zero();
  // In debt: the caller waits until the bucket would be back at zero.
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(-tokens_ / rate_));
}

SourceBudget::SourceBudget(const BufferConfig& config)
    : config_(config), max_events_(config.max_events), max_bytes_(config.max_bytes) {}

bool SourceBudget::fits(std::uint64_t events, std::uint64_t bytes) const {
  if (events_ == 0 && bytes_ == 0) return true;
  return events_ + events <= max_events_ && bytes_ + bytes <= max_bytes_;
}

SourceBudget::Decision SourceBudget::decide(std::uint64_t events, std::uint64_t bytes) {
  if (fits(events, bytes)) return Decision::admit;
  switch (config_.overflow) {
    case OverflowPolicy::drop:
      return Decision::drop;
    case OverflowPolicy::resize:
      while (!fits(events, bytes) &&
             (max_events_ < config_.resize_max_events || max_bytes_ < config_.resize_max_bytes)) {
        max_events_ = std::min(config_.resize_max_events, std::max(max_events_, max_events_ * 2));
        max_bytes_ = std::min(config_.resize_max_bytes, std::max(max_bytes_, max_bytes_ * 2));
        ++counters_.resizes;
      }
      return fits(events, bytes) ? Decision::admit : Decision::wait;
    case OverflowPolicy::block:
      break;
  }
  return Decision::wait;
}

void SourceBudget::admit(std::uint64_t events, std::uint64_t bytes) {
  events_ += events;
  bytes_ += bytes;
  counters_.peak_events = std::max(counters_.peak_events, events_);
  counters_.peak_bytes = std::max(counters_.peak_bytes, bytes_);
}

void SourceBudget::release(std::uint64_t events, std::uint64_t bytes) {
  events_ -= std::min(events_, events);
  bytes_ -= std::min(bytes_, bytes);
}

}  // namespace ldh
