#include "host/delivery.h"

#include <algorithm>

#include "pipeline/error.h"
#include "pipeline/json_writer.h"

namespace ldh {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

DeliverySink::DeliverySink(std::unique_ptr<Transport> transport, const DeliveryConfig& config)
    : transport_(std::move(transport)),
      config_(config),
      description_(transport_->describe()),
      backoff_(config.initial_backoff_ns, config.max_backoff_ns, config.jitter) {
  LDH_EXPECTS(!config_.dead_letter_path.empty(), "a delivery without a dead-letter file");
  worker_ = std::thread([this] { run(); });
}

DeliverySink::~DeliverySink() {
  try {
    finish();
  } catch (...) {
    // Reported by the finish() the executor calls; a destructor only stops the thread.
  }
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  work_ready_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void DeliverySink::write(std::string_view text) {
  std::unique_lock lock(mutex_);
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (line.empty()) continue;
    ++counters_.produced;
    Pending pending;
    pending.record = std::string(line);
    pending.sequence = counters_.produced;
    // An empty queue takes any record, so one larger than the byte limit cannot wait forever.
    const auto full = [&] {
      return counters_.queued != 0 && (counters_.queued >= config_.queue_records ||
                                       queued_bytes_ + line.size() > config_.queue_bytes);
    };
    if (full() && config_.block_on_overflow) {
      work_ready_.notify_one();
      room_ready_.wait(lock, [&] { return !full() || stopped_ || failure_; });
    }
    if (full()) {
      ++counters_.overflowed;
      dead_letter(pending, "overflow: the delivery queue is full");
      continue;
    }
    queued_bytes_ += line.size();
    ++counters_.queued;
    counters_.peak_queued = std::max(counters_.peak_queued, counters_.queued);
    queue_.push_back(std::move(pending));
  }
  work_ready_.notify_one();
}

void DeliverySink::flush() {
  work_ready_.notify_one();
}

void DeliverySink::finish() {
  std::unique_lock lock(mutex_);
  if (stopped_) return;
  if (!finishing_) {
    finishing_ = true;
    drain_deadline_ = Clock::now() + std::chrono::nanoseconds(config_.drain_timeout_ns);
  }
  work_ready_.notify_all();
  room_ready_.wait(lock, [&] { return counters_.queued == 0 || failure_; });
  if (failure_) std::rethrow_exception(failure_);
  if (dead_letters_) dead_letters_->flush();
}

std::uint64_t DeliverySink::produced() const {
  std::lock_guard lock(mutex_);
  return counters_.produced;
}

std::uint64_t DeliverySink::settled_through() const {
  std::lock_guard lock(mutex_);
  std::uint64_t oldest = counters_.produced + 1;
  if (!queue_.empty()) oldest = std::min(oldest, queue_.front().sequence);
  for (const auto& pending : retries_) oldest = std::min(oldest, pending.sequence);
  return oldest - 1;
}

DeliveryCounters DeliverySink::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void DeliverySink::statistics(std::vector<SinkCounter>& out) const {
  const DeliveryCounters counted = counters();
  out.push_back({"produced", counted.produced});
  out.push_back({"delivered", counted.delivered});
  out.push_back({"retried", counted.retried});
  out.push_back({"dead_lettered", counted.dead_lettered});
  out.push_back({"overflowed", counted.overflowed});
  out.push_back({"batches", counted.batches});
  out.push_back({"peak_queued", counted.peak_queued});
}

void DeliverySink::dead_letter(const Pending& pending, std::string_view reason) {
  if (!dead_letters_) dead_letters_ = std::make_unique<FileSink>(config_.dead_letter_path);
  std::string line = "{\"destination\":";
  append_json_string(line, description_);
  line += ",\"reason\":";
  append_json_string(line, reason);
  line += ",\"attempts\":" + std::to_string(pending.attempts);
  if (!pending.last_error.empty()) {
    line += ",\"error\":";
    append_json_string(line, pending.last_error);
  }
  line += ",\"record\":";
  line += pending.record;
  line += "}\n";
  dead_letters_->write(line);
  ++counters_.dead_lettered;
}

void DeliverySink::run() {
  try {
    deliver();
  } catch (...) {
    // A dead-letter file that cannot be written, a transport that threw: the run fails
    // loudly at finish() rather than losing records quietly.
    std::lock_guard lock(mutex_);
    failure_ = std::current_exception();
    room_ready_.notify_all();
  }
}

void DeliverySink::deliver() {
  std::vector<Pending> batch;
  std::vector<std::string_view> records;
  std::vector<DeliveryOutcome> outcomes;
  std::unique_lock lock(mutex_);
  Clock::time_point oldest{};  // when the first record of a partial batch was seen
  while (true) {
    const auto now = Clock::now();
    if (finishing_ && now >= drain_deadline_) {
      // Out of time: whatever is left is dead-lettered with its last error.
      for (const auto& pending : queue_) dead_letter(pending, "undelivered when the run ended");
      for (const auto& pending : retries_) dead_letter(pending, "undelivered when the run ended");
      queue_.clear();
      retries_.clear();
      counters_.queued = 0;
      queued_bytes_ = 0;
      room_ready_.notify_all();
    }
    if (stopped_ && queue_.empty() && retries_.empty()) return;
    // Retries whose time has come go first, then new records in order.
    batch.clear();
    auto due = std::partition(retries_.begin(), retries_.end(),
                              [&](const Pending& p) { return p.due > now; });
    auto taken = due;
    for (; taken != retries_.end() && batch.size() < config_.batch_records; ++taken) {
      batch.push_back(std::move(*taken));
    }
    retries_.erase(due, taken);
    const bool batch_full = queue_.size() + batch.size() >= config_.batch_records;
    if (!queue_.empty() && oldest == Clock::time_point{}) oldest = now;
    const bool waited = oldest != Clock::time_point{} &&
                        now - oldest >= std::chrono::nanoseconds(config_.batch_interval_ns);
    if (batch_full || waited || finishing_ || !batch.empty()) {
      while (!queue_.empty() && batch.size() < config_.batch_records) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      oldest = queue_.empty() ? Clock::time_point{} : now;
    }
    if (batch.empty()) {
      auto wake = now + std::chrono::milliseconds(100);
      if (oldest != Clock::time_point{}) {
        wake = std::min(wake, oldest + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::nanoseconds(config_.batch_interval_ns)));
      }
      for (const auto& pending : retries_) wake = std::min(wake, pending.due);
      if (finishing_) wake = std::min(wake, drain_deadline_);
      work_ready_.wait_until(lock, wake);
      continue;
    }
    lock.unlock();
    records.clear();
    for (const auto& pending : batch) records.push_back(pending.record);
    outcomes.assign(batch.size(), DeliveryOutcome{});
    transport_->send(records, outcomes);
    lock.lock();
    ++counters_.batches;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Pending& pending = batch[i];
      ++pending.attempts;
      const DeliveryOutcome& outcome = outcomes[i];
      if (outcome.kind == DeliveryOutcome::Kind::retry && pending.attempts < config_.max_attempts) {
        ++counters_.retried;
        pending.last_error = outcome.error;
        pending.due = Clock::now() + backoff_.after(pending.attempts);
        retries_.push_back(std::move(pending));
        continue;
      }
      queued_bytes_ -= std::min<std::uint64_t>(queued_bytes_, pending.record.size());
      --counters_.queued;
      if (outcome.kind == DeliveryOutcome::Kind::delivered) {
        ++counters_.delivered;
      } else {
        pending.last_error = outcome.error;
        dead_letter(pending, outcome.kind == DeliveryOutcome::Kind::failed
                                 ? "refused by the destination"
                                 : "out of attempts");
      }
    }
    room_ready_.notify_all();
  }
}

}  // namespace ldh
