#pragma once

// The event processor (`events`, the product description's EventProcessor): events that the
// routing rules made wait in three bounded priority queues and are handed to their handlers by
// a pool of workers, high before medium before low by weighted round robin, so that none
// starves. A handler's transient failure is retried with exponential backoff and jitter; what
// fails for good, runs out of attempts, finds the queue full (overflow: deadLetter) or is still
// waiting when the drain timeout runs out goes to a dead-letter file with the last error:
// handled + dead-lettered == produced. See docs/events.md.

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "host/sink.h"
#include "pipeline/backoff.h"
#include "pipeline/config.h"

namespace ldh {

/// What became of one attempt to handle an event.
struct HandlerOutcome {
  enum class Kind : std::uint8_t {
    handled,
    retry,   // a transient failure: tried again after a backoff, while attempts remain
    failed,  // a permanent failure: dead-lettered at once
  };
  Kind kind = Kind::handled;
  std::string message;
};

/// Handles events one at a time. The processor makes one per worker, so an instance is never
/// called from two threads at once. An exception counts as a transient failure.
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  /// Handles one event (one JSON object, docs/events.md#events); may block, bounded.
  virtual HandlerOutcome handle(std::string_view event) = 0;
};

/// Makes the per-worker instances of one handler: a built-in action or a plugin.
class HandlerFactory {
 public:
  virtual ~HandlerFactory() = default;
  /// Makes one instance; called on the thread that starts the processor, once per worker.
  /// Throws UserError (or ConfigError) when the handler cannot be made.
  virtual std::unique_ptr<EventHandler> create() = 0;
  virtual std::string describe() const = 0;
};

/// Where the events of one routing rule go: their priority, and the handlers each one is given
/// to (one task per handler, each retried and dead-lettered on its own).
struct EventRoute {
  EventPriority priority = EventPriority::medium;
  std::vector<std::size_t> handlers;  // indexes into the processor's factories
};

/// Counts the tasks (one event for one handler) the processor was given and what became of
/// them; at the end handled + dead_lettered == produced.
struct EventProcessorCounters {
  std::uint64_t produced = 0;
  std::uint64_t handled = 0;
  std::uint64_t retried = 0;        // attempts that failed transiently and were tried again
  std::uint64_t dead_lettered = 0;  // failed for good, out of attempts, overflowed, or left
                                    // when the drain timeout ran out
  std::uint64_t overflowed = 0;     // of dead_lettered: the queue was full
  std::uint64_t blocked = 0;        // submissions that waited for room (overflow: block)
  std::uint64_t queued = 0;         // accepted and not yet settled (waiting, retrying, running)
  std::uint64_t peak_queued = 0;
  std::array<std::uint64_t, 3> handled_by_priority{};  // high, medium, low
};

/// Queues events by priority and hands them to their handlers on `workers` threads. submit()
/// is called from one thread (the executor's writer), in order; every task gets the next
/// sequence number, and settled_through() tells how far every task is settled (handled or
/// dead-lettered), for source acknowledgements (autoAck).
///
/// Dispatch is weighted round robin over credits: a round gives each priority `weights[p]`
/// dispatches; the next task comes from the highest priority that has a queued task and
/// credit left; when every priority with queued tasks has used its credit, a new round starts.
/// With every queue busy the shares are exactly weights (4:2:1 by default) in the order
/// HHHHMML, and a queued task waits for at most 2 x (the other priorities' weights) dispatches
/// of other priorities.
class EventProcessor {
 public:
  /// `config` supplies workers, queue_size, block_on_overflow, weights, the retry settings,
  /// drain_timeout_ns and dead_letter_path (a previous run's file is removed now).
  EventProcessor(std::vector<std::unique_ptr<HandlerFactory>> handlers,
                 std::vector<EventRoute> routes, const EventsConfig& config);
  ~EventProcessor();
  EventProcessor(const EventProcessor&) = delete;
  EventProcessor& operator=(const EventProcessor&) = delete;

  /// Makes every worker's handlers and starts the workers; tasks submitted before wait. Throws
  /// what a handler factory throws.
  void start();
  /// Hands `event` to each handler of route `route` and returns the last sequence number
  /// given. When the queue is full, waits for room (overflow: block; only once started) or
  /// dead-letters the task.
  std::uint64_t submit(std::size_t route, std::string_view event);
  /// Returns n such that every task numbered n or lower is settled.
  std::uint64_t settled_through() const;
  /// Returns the number of the last task submitted (0 before the first).
  std::uint64_t last_sequence() const;
  /// Waits until every task is settled or the drain timeout ran out, dead-letters what is
  /// left, stops the workers and destroys the handlers.
  void finish();

  std::string describe() const;
  EventProcessorCounters counters() const;
  void statistics(std::vector<SinkCounter>& out) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Task {
    std::uint64_t sequence = 0;
    std::uint32_t handler = 0;
    EventPriority priority = EventPriority::medium;
    std::uint32_t attempts = 0;
    std::string event;
    std::string last_error;
    Clock::time_point due{};  // a retry waits until then
  };

  void run(std::size_t worker);
  /// Takes the next task by weighted round robin; false when every queue is empty (mutex
  /// held).
  bool take(Task& task);
  /// Moves retries that are due to the back of their queue (mutex held).
  void release_due(Clock::time_point now);
  /// Records what became of an attempt (mutex held).
  void settle(Task& task, HandlerOutcome outcome);
  /// Writes `task` to the dead-letter file and settles it (mutex held).
  void dead_letter(const Task& task, std::string_view reason, std::string_view error);
  void mark_settled(std::uint64_t sequence);

  std::vector<std::unique_ptr<HandlerFactory>> factories_;
  std::vector<EventRoute> routes_;
  EventsConfig config_;
  /// Per worker, an instance of every handler.
  std::vector<std::vector<std::unique_ptr<EventHandler>>> instances_;
  std::vector<std::thread> workers_;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable room_ready_;
  std::condition_variable settled_;
  std::array<std::deque<Task>, 3> queues_;  // high, medium, low
  std::vector<Task> retries_;               // a heap, earliest due first
  std::array<std::uint32_t, 3> credits_{};
  /// Whether each task from `first_unsettled_` on is settled.
  std::deque<bool> settled_flags_;
  std::uint64_t first_unsettled_ = 1;
  std::uint64_t next_sequence_ = 1;
  EventProcessorCounters counters_;
  std::unique_ptr<FileSink> dead_letters_;
  Backoff backoff_;
  bool started_ = false;
  bool finishing_ = false;
  bool stopping_ = false;  // the drain timeout ran out: workers take nothing more
  bool finished_ = false;
};

}  // namespace ldh
