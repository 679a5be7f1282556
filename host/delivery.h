#pragma once

// Delivery to network destinations (Elasticsearch, Kafka, webhooks, ...): a bounded queue per
// destination, drained by its own thread through a Transport, with retries, exponential
// backoff and jitter, and a dead-letter file for what finally fails, so a slow, failing or
// absent peer never stalls the pipeline and nothing is dropped silently:
// delivered + dead-lettered == produced.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "host/sink.h"
#include "pipeline/backoff.h"
#include "pipeline/config.h"

namespace ldh {

/// What became of one record handed to a Transport.
struct DeliveryOutcome {
  enum class Kind : std::uint8_t {
    delivered,
    retry,   // a transient failure: the peer is down, slow, overloaded (429) or failing (5xx)
    failed,  // the peer refused this record for good (e.g. a mapping error): dead-lettered
  };
  Kind kind = Kind::delivered;
  std::string error;
};

/// Sends batches of records (one JSON object each, no newline) to one peer. Called from one
/// delivery thread only; may block up to its own timeouts.
class Transport {
 public:
  virtual ~Transport() = default;
  /// Sends `records` as one batch and sets one outcome per record (`outcomes` has their size
  /// and starts as delivered). A failure of the whole batch sets every outcome.
  virtual void send(std::span<const std::string_view> records,
                    std::span<DeliveryOutcome> outcomes) = 0;
  virtual std::string describe() const = 0;
};

/// Counts what one destination was given and what became of it.
struct DeliveryCounters {
  std::uint64_t produced = 0;       // records handed to the sink
  std::uint64_t delivered = 0;      // acknowledged by the peer
  std::uint64_t retried = 0;        // attempts that failed transiently and were tried again
  std::uint64_t dead_lettered = 0;  // failed for good, out of attempts, shed on overflow, or
                                    // still undelivered when the drain timeout ran out
  std::uint64_t overflowed = 0;     // of dead_lettered: shed because the queue was full
  std::uint64_t batches = 0;
  std::uint64_t queued = 0;       // in the queue or waiting for a retry now
  std::uint64_t peak_queued = 0;  // most at once
};

/// A Sink that queues whole JSON lines and delivers them through a Transport from its own
/// thread. write() never waits for the peer: with `overflow: deadLetter` (the default) records
/// that do not fit the queue are dead-lettered at once, with `overflow: block` the writer waits
/// for room. finish() drains the queue, giving up after the drain timeout.
class DeliverySink final : public Sink {
 public:
  DeliverySink(std::unique_ptr<Transport> transport, const DeliveryConfig& config);
  ~DeliverySink() override;
  DeliverySink(const DeliverySink&) = delete;
  DeliverySink& operator=(const DeliverySink&) = delete;

  void write(std::string_view text) override;
  void flush() override;
  void finish() override;
  std::string describe() const override { return description_; }
  void statistics(std::vector<SinkCounter>& out) const override;

  DeliveryCounters counters() const;
  std::uint64_t produced() const override;
  std::uint64_t settled_through() const override;

 private:
  struct Pending {
    std::string record;
    std::uint64_t sequence = 0;  // 1, 2, ... in write order
    std::uint32_t attempts = 0;
    std::chrono::steady_clock::time_point due{};  // retries wait until then
    std::string last_error;
  };

  void run();
  void deliver();
  /// Moves `pending` to the dead-letter file with `reason` (mutex held).
  void dead_letter(const Pending& pending, std::string_view reason);

  std::unique_ptr<Transport> transport_;
  DeliveryConfig config_;
  std::string description_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable room_ready_;
  std::deque<Pending> queue_;     // first attempts, in order
  std::vector<Pending> retries_;  // waiting for their due time
  std::uint64_t queued_bytes_ = 0;
  std::unique_ptr<FileSink> dead_letters_;
  DeliveryCounters counters_;
  Backoff backoff_;
  std::exception_ptr failure_;  // what stopped the delivery thread, rethrown by finish()
  bool finishing_ = false;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::thread worker_;
};

}  // namespace ldh
