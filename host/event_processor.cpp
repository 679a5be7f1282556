#include "host/event_processor.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "pipeline/json_writer.h"

namespace ldh {

namespace {

/// Orders the retry heap so that its front is the earliest due.
constexpr auto kDueLater = [](const auto& a, const auto& b) { return a.due > b.due; };

}  // namespace

EventProcessor::EventProcessor(std::vector<std::unique_ptr<HandlerFactory>> handlers,
                               std::vector<EventRoute> routes, const EventsConfig& config)
    : factories_(std::move(handlers)),
      routes_(std::move(routes)),
      config_(config),
      backoff_(config.initial_backoff_ns, config.max_backoff_ns, config.jitter) {
  config_.workers = std::max<std::uint32_t>(config_.workers, 1);
  config_.max_attempts = std::max<std::uint32_t>(config_.max_attempts, 1);
  for (auto& weight : config_.weights) weight = std::max<std::uint32_t>(weight, 1);
  credits_ = config_.weights;
  for (const auto& route : routes_) {
    for (std::size_t handler : route.handlers) {
      LDH_EXPECTS(handler < factories_.size(), "an event route names a handler that is not there");
    }
  }
  // Side files open on first use: a previous run's must not pass for this run's.
  std::error_code ignored;
  std::filesystem::remove(config_.dead_letter_path, ignored);
}

EventProcessor::~EventProcessor() {
  finish();
}

void EventProcessor::start() {
  LDH_EXPECTS(!started_, "the event processor was started twice");
  instances_.resize(config_.workers);
  for (auto& instances : instances_) {
    for (auto& factory : factories_) instances.push_back(factory->create());
  }
  {
    std::lock_guard lock(mutex_);
    started_ = true;
  }
  for (std::size_t worker = 0; worker < config_.workers; ++worker) {
    workers_.emplace_back([this, worker] { run(worker); });
  }
}

std::uint64_t EventProcessor::submit(std::size_t route, std::string_view event) {
  LDH_EXPECTS(route < routes_.size(), "an event names a route that is not there");
  const EventRoute& target = routes_[route];
  std::unique_lock lock(mutex_);
  for (std::size_t handler : target.handlers) {
    Task task;
    task.sequence = next_sequence_++;
    task.handler = static_cast<std::uint32_t>(handler);
    task.priority = target.priority;
    task.event = std::string(event);
    settled_flags_.push_back(false);
    ++counters_.produced;
    const auto full = [&] { return counters_.queued >= config_.queue_size; };
    if (full() && config_.block_on_overflow && started_ && !stopping_) {
      ++counters_.blocked;
      room_ready_.wait(lock, [&] { return !full() || stopping_; });
    }
    if (full() || stopping_) {
      ++counters_.overflowed;
      dead_letter(task, "overflow", "the event queue is full (events.processing.queueSize)");
      continue;
    }
    ++counters_.queued;
    counters_.peak_queued = std::max(counters_.peak_queued, counters_.queued);
    queues_[static_cast<std::size_t>(task.priority)].push_back(std::move(task));
    work_ready_.notify_one();
  }
  return next_sequence_ - 1;
}

std::uint64_t EventProcessor::settled_through() const {
  std::lock_guard lock(mutex_);
  return first_unsettled_ - 1;
}

std::uint64_t EventProcessor::last_sequence() const {
  std::lock_guard lock(mutex_);
  return next_sequence_ - 1;
}

bool EventProcessor::take(Task& task) {
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t priority = 0; priority < queues_.size(); ++priority) {
      if (queues_[priority].empty() || credits_[priority] == 0) continue;
      --credits_[priority];
      task = std::move(queues_[priority].front());
      queues_[priority].pop_front();
      return true;
    }
    // Every priority with queued tasks has used its credit: a new round.
    credits_ = config_.weights;
  }
  return false;
}

void EventProcessor::release_due(Clock::time_point now) {
  while (!retries_.empty() && retries_.front().due <= now) {
    std::pop_heap(retries_.begin(), retries_.end(), kDueLater);
    Task& task = retries_.back();
    queues_[static_cast<std::size_t>(task.priority)].push_back(std::move(task));
    retries_.pop_back();
  }
}

void EventProcessor::run(std::size_t worker) {
  std::vector<std::unique_ptr<EventHandler>>& handlers = instances_[worker];
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    release_due(Clock::now());
    Task task;
    if (take(task)) {
      ++task.attempts;
      lock.unlock();
      HandlerOutcome outcome;
      try {
        outcome = handlers[task.handler]->handle(task.event);
      } catch (const std::exception& error) {
        outcome = {HandlerOutcome::Kind::retry, error.what()};
      }
      lock.lock();
      settle(task, std::move(outcome));
      continue;
    }
    if (finishing_ && counters_.queued == 0) return;
    if (retries_.empty()) {
      work_ready_.wait(lock);
    } else {
      work_ready_.wait_until(lock, retries_.front().due);
    }
  }
}

void EventProcessor::settle(Task& task, HandlerOutcome outcome) {
  if (outcome.kind == HandlerOutcome::Kind::retry && task.attempts < config_.max_attempts &&
      !stopping_) {
    ++counters_.retried;
    task.last_error = std::move(outcome.message);
    task.due = Clock::now() + backoff_.after(task.attempts);
    retries_.push_back(std::move(task));
    std::push_heap(retries_.begin(), retries_.end(), kDueLater);
    work_ready_.notify_all();
    return;
  }
  --counters_.queued;
  switch (outcome.kind) {
    case HandlerOutcome::Kind::handled:
      ++counters_.handled;
      ++counters_.handled_by_priority[static_cast<std::size_t>(task.priority)];
      mark_settled(task.sequence);
      break;
    case HandlerOutcome::Kind::failed:
      dead_letter(task, "failed", outcome.message);
      break;
    case HandlerOutcome::Kind::retry:
      dead_letter(task, stopping_ ? "drain" : "attempts", outcome.message);
      break;
  }
  room_ready_.notify_one();
  if (counters_.queued == 0) {
    settled_.notify_all();
    work_ready_.notify_all();
  }
}

void EventProcessor::dead_letter(const Task& task, std::string_view reason,
                                 std::string_view error) {
  ++counters_.dead_lettered;
  mark_settled(task.sequence);
  std::string line = "{\"reason\":\"";
  line += reason;
  line += "\",\"error\":";
  append_json_string(line, error);
  line += ",\"attempts\":" + std::to_string(task.attempts) + ",\"handler\":";
  append_json_string(line, factories_[task.handler]->describe());
  line += ",\"event\":";
  line += task.event;
  line += "}\n";
  try {
    if (!dead_letters_) dead_letters_ = std::make_unique<FileSink>(config_.dead_letter_path);
    dead_letters_->write(line);
    dead_letters_->flush();
  } catch (const UserError& failure) {
    // Workers have no caller to throw to: say so, once a problem, and keep counting.
    std::fprintf(stderr, "ldh: event dead letter lost: %s\n", failure.what());
  }
}

void EventProcessor::mark_settled(std::uint64_t sequence) {
  settled_flags_[sequence - first_unsettled_] = true;
  while (!settled_flags_.empty() && settled_flags_.front()) {
    settled_flags_.pop_front();
    ++first_unsettled_;
  }
}

void EventProcessor::finish() {
  std::unique_lock lock(mutex_);
  if (finished_) return;
  finishing_ = true;
  work_ready_.notify_all();
  if (started_) {
    const auto deadline = Clock::now() + std::chrono::nanoseconds(config_.drain_timeout_ns);
    settled_.wait_until(lock, deadline, [&] { return counters_.queued == 0; });
  }
  stopping_ = true;
  const auto leave = [&](Task& task) {
    --counters_.queued;
    dead_letter(task, "drain",
                task.last_error.empty()
                    ? "still queued when events.drainTimeout ran out"
                    : "still failing when events.drainTimeout ran out: " + task.last_error);
  };
  for (auto& queue : queues_) {
    for (auto& task : queue) leave(task);
    queue.clear();
  }
  for (auto& task : retries_) leave(task);
  retries_.clear();
  work_ready_.notify_all();
  room_ready_.notify_all();
  lock.unlock();
  // Running handlers finish their event; one that fails now is dead-lettered (stopping_).
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  instances_.clear();
  lock.lock();
  finished_ = true;
  if (dead_letters_) {
    try {
      dead_letters_->flush();
    } catch (const UserError& failure) {
      std::fprintf(stderr, "ldh: event dead letters lost: %s\n", failure.what());
    }
  }
}

std::string EventProcessor::describe() const {
  return "event processor (" + std::to_string(config_.workers) + " worker" +
         (config_.workers == 1 ? "" : "s") + ")";
}

EventProcessorCounters EventProcessor::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void EventProcessor::statistics(std::vector<SinkCounter>& out) const {
  const EventProcessorCounters counted = counters();
  out.push_back({"produced", counted.produced});
  out.push_back({"handled", counted.handled});
  out.push_back({"retried", counted.retried});
  out.push_back({"dead_lettered", counted.dead_lettered});
  out.push_back({"overflowed", counted.overflowed});
  out.push_back({"blocked", counted.blocked});
  out.push_back({"peak_queued", counted.peak_queued});
}

}  // namespace ldh
