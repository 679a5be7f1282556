#include "host/executor.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "host/event_actions.h"
#include "host/event_json.h"
#include "host/event_router.h"
#include "host/flow_control.h"
#include "host/memory.h"
#include "host/notification.h"
#include "ingest/decoder.h"
#include "pipeline/time.h"
#include "pipeline/window.h"

namespace ldh {

namespace {

using Clock = std::chrono::steady_clock;

struct Work {
  /// Where the chunk's results go in the write order: with replayable sources, its position in
  /// its source's stream, and results are written in (index, source) order, one chunk of each
  /// open source in turn, so the output is the same on every run; with live sources, its
  /// arrival number (the source part of the key is then 0).
  std::uint64_t index = 0;
  RawChunk chunk;
  /// Marks the end of a source's stream (no bytes), so windows learn it in sequence order.
  bool end_of_source = false;
};

/// What a worker made of one chunk, written later in sequence order.
struct ChunkResult {
  std::string output;
  std::vector<std::string> rejects;  // one per reject target
  std::vector<DeadLetter> dead_letters;
  /// With windows: the live rows of each batch, for the writer's window engine.
  std::vector<WindowRows> window_rows;
  /// With event rules: the events the chunk's rows made, for the writer's event processor.
  std::vector<RoutedEvent> events;
  std::uint64_t rows = 0;
  std::uint64_t rows_out = 0;
  bool end_of_source = false;
  std::uint32_t source_index = 0;
  /// Flow control: the chunk's size as admitted, and whether it was shed instead.
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  bool dropped = false;
  std::uint64_t ack_token = 0;
  /// The chunk's stream (a Kafka partition + 1), and whether it ends that stream.
  std::uint32_t stream = 0;
  bool stream_ends = false;
};

/// The write-order key of a chunk: (index, source) for replayable sources, (arrival, 0) else.
using WriteKey = std::pair<std::uint64_t, std::uint32_t>;

/// Returns the latest event time among the rows a chunk handed to the windows.
std::int64_t latest_time(const std::vector<WindowRows>& batches) {
  std::int64_t latest = std::numeric_limits<std::int64_t>::min();
  for (const auto& rows : batches) {
    for (std::int64_t t : rows.times) latest = std::max(latest, t);
  }
  return latest;
}

/// Everything the threads of one run share, behind one mutex: chunks are large (tens of
/// thousands of events), so one lock per chunk costs nothing measurable.
struct RunState {
  std::mutex mutex;
  std::condition_variable work_ready;    // workers wait for chunks
  std::condition_variable result_ready;  // the writer waits for the next result
  std::condition_variable space_ready;   // sources wait for in-flight room
  std::deque<Work> queue;
  std::map<WriteKey, ChunkResult> results;
  /// Per source: the index of its next chunk, and what it holds in flight against
  /// `input.buffer` (read, not yet written out).
  std::vector<std::uint64_t> next_index;
  std::vector<SourceBudget> budgets;
  /// A replayable source gains nothing from reading further ahead than the workers can use:
  /// under `overflow: block` at most `read_ahead` of its chunks are in flight, whatever the
  /// budget allows (`limit_read_ahead`).
  std::vector<std::size_t> chunks_in_flight;
  std::vector<bool> limit_read_ahead;
  std::size_t read_ahead = 0;
  /// Live sources: chunks are written in the order they arrived.
  bool arrival_order = false;
  std::uint64_t next_arrival = 0;
  std::size_t sources_running = 0;
  std::exception_ptr error;
  std::atomic<std::uint64_t> rows_decoded{0};
  std::atomic<std::uint64_t> dead_lettered{0};

  void fail(std::exception_ptr failure) {
    std::lock_guard lock(mutex);
    if (!error) error = failure;
    work_ready.notify_all();
    result_ready.notify_all();
    space_ready.notify_all();
  }
};

/// Per-thread state: a decoder per format, a batch and the JSON writers.
class Worker {
 public:
  /// With `device_stages`, binary chunks run through a device pipeline on options.device.
  Worker(const Plan& plan, const WindowEngine* windows, const EventRouter* events,
         StringDictionary& strings, const RunOptions& options,
         const std::vector<Format>& source_formats, bool validate, const StageImage* device_stages)
      : plan_(plan),
        windows_(windows),
        events_(events),
        validate_(validate),
        strings_(strings),
        options_(options),
        source_formats_(source_formats),
        batch_(plan.slots(), options.batch_size, batch_memory()),
        output_writer_(plan.output_fields(), strings) {
    if (events_ != nullptr) event_scratch_ = events_->make_scratch();
    bool keep_rejected = false;
    for (const auto& target : plan.reject_targets()) {
      reject_writers_.emplace_back(target.fields, strings);
      keep_rejected |= !target.path.empty() && options.side_files;
    }
    if (device_stages != nullptr) {
      device_ = make_device_chunk_runner(plan, *device_stages, validate, strings, options.device,
                                         options.batch_size, keep_rejected);
    }
  }

  void process(const Work& work, ChunkResult& result) {
    result.source_index = work.chunk.source_index;
    result.end_of_source = work.end_of_source;
    result.records = work.chunk.records;
    result.bytes = work.chunk.bytes.size();
    result.ack_token = work.chunk.ack_token;
    result.stream = work.chunk.stream;
    result.stream_ends = work.chunk.stream_ends;
    if (work.end_of_source) return;
    Format format = source_formats_[work.chunk.source_index];
    result.rejects.resize(plan_.reject_targets().size());
    if (device_ && format == Format::binary) {
      device_->run(work.chunk.bytes, work.chunk.stream_offset, work.chunk.source_index, batch_,
                   result.dead_letters,
                   [&](EventBatch& batch, std::uint64_t rows) { deliver(batch, rows, result); });
      return;
    }
    std::unique_ptr<Decoder>& decoder = decoders_[static_cast<int>(format)];
    if (!decoder) decoder = make_decoder(format, plan_.schema(), validate_);
    DecodeTarget target;
    target.batch = &batch_;
    target.field_slots = &plan_.input_slots();
    target.strings = &strings_;
    target.dead_letters = &result.dead_letters;
    target.source_index = work.chunk.source_index;

    DecodeCursor cursor;
    const std::span<const std::byte> bytes = work.chunk.bytes;
    while (!cursor.done(bytes.size())) {
      DecodeCursor before = cursor;
      std::size_t dead_before = result.dead_letters.size();
      batch_.clear();
      batch_.source_index = work.chunk.source_index;
      batch_.processing_time_ns = wall_clock_ns();
      decoder->decode(bytes, work.chunk.stream_offset, cursor, target);
      LDH_EXPECTS(cursor.offset != before.offset || cursor.record != before.record ||
                      batch_.size() > 0 || result.dead_letters.size() > dead_before,
                  "decoder made no progress");
      if (batch_.size() == 0) continue;
      plan_.apply(batch_);
      deliver(batch_, batch_.size(), result);
    }
  }

 private:
  /// Hands the rows of a batch the plan has run over to the windows or the output, and its
  /// rejected rows to the reject files; `rows` were decoded into it.
  void deliver(EventBatch& batch, std::uint64_t rows, ChunkResult& result) {
    result.rows += rows;
    result.rows_out += batch.live_count();
    if (events_ != nullptr) events_->route(batch, *event_scratch_, result.events);
    if (windows_ != nullptr) {
      WindowRows& window_rows = result.window_rows.emplace_back(windows_->spare_rows());
      windows_->extract(batch, window_rows);
      window_rows.stream = result.stream;
    } else if (!options_.discard_output) {
      output_writer_.append_rows(batch, kLive, result.output);
    }
    for (std::size_t i = 0; i < plan_.reject_targets().size(); ++i) {
      const RejectTarget& reject = plan_.reject_targets()[i];
      if (!reject.path.empty() && options_.side_files) {
        reject_writers_[i].append_rows(batch, reject.code, result.rejects[i]);
      }
    }
  }

  const Plan& plan_;
  const WindowEngine* windows_;
  const EventRouter* events_;
  std::optional<EventRouter::Scratch> event_scratch_;
  bool validate_;
  StringDictionary& strings_;
  const RunOptions& options_;
  const std::vector<Format>& source_formats_;
  EventBatch batch_;
  EventJsonWriter output_writer_;
  std::vector<EventJsonWriter> reject_writers_;
  std::unique_ptr<Decoder> decoders_[3];
  std::unique_ptr<DeviceChunkRunner> device_;
};

std::string human_count(double value) {
  char text[32];
  if (value >= 1e9) {
    std::snprintf(text, sizeof text, "%.2fG", value / 1e9);
  } else if (value >= 1e6) {
    std::snprintf(text, sizeof text, "%.2fM", value / 1e6);
  } else if (value >= 1e3) {
    std::snprintf(text, sizeof text, "%.1fk", value / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.0f", value);
  }
  return text;
}

}  // namespace

Executor::Executor(const Config& config, RunOptions options)
    : config_(config), options_(std::move(options)) {
  if (options_.threads == 0) options_.threads = 1;
  if (options_.batch_size == 0) options_.batch_size = 1;
  plan_ = std::make_unique<Plan>(config_, strings_);
  if (!config_.events.rules.empty()) {
    events_ = std::make_unique<EventRouter>(config_, *plan_, strings_);
  }
  if (options_.device >= 0) device_stages_ = plan_device_stages(*plan_);
}

void use_backend(Backend requested, RunOptions& options, std::string& reason) {
  if (resolve_backend(requested, reason) != Backend::gpu) return;
  options.device = survey_devices().devices.front().index;
  if (requested == Backend::gpu) options.fold_windows = true;
}

std::string Executor::backend_note(const std::vector<Format>& source_formats) const {
  if (options_.device < 0) return "";
  std::string note;
  if (!device_stages_.supported) {
    note = "pipeline stages run on the CPU: " + device_stages_.why_not;
  } else if (std::find(source_formats.begin(), source_formats.end(), Format::binary) ==
             source_formats.end()) {
    note = "pipeline stages run on the CPU: the device decodes binary input only";
  } else {
    note = "binary input is decoded, filtered and transformed on the GPU";
    for (Format format : {Format::json, Format::protobuf}) {
      if (std::find(source_formats.begin(), source_formats.end(), format) != source_formats.end()) {
        note += "; " + std::string(to_string(format)) + " input runs on the CPU";
      }
    }
  }
  if (!config_.windows.empty()) {
    note += options_.fold_windows
                ? "; window rows are folded and percentile values sorted on the GPU, window state "
                  "stays on the CPU"
                : "; window rows are added on the CPU";
  }
  return note;
}

Executor::~Executor() = default;

void Executor::write_window_output(const WindowOutput& output,
                                   std::vector<std::unique_ptr<Sink>>& sinks,
                                   std::unique_ptr<Sink>& late_sink,
                                   std::unique_ptr<Sink>& alert_sink) {
  // Alerts without a file of their own are in the results already, after their rows.
  for (auto& sink : sinks) sink->write(output.results);
  if (!options_.side_files) return;
  if (!output.alerts.empty() && !config_.alerts.path.empty()) {
    if (!alert_sink) alert_sink = std::make_unique<FileSink>(config_.alerts.path);
    alert_sink->write(output.alerts);
  }
  if (!output.late.empty() && !config_.late_path.empty()) {
    if (!late_sink) late_sink = std::make_unique<FileSink>(config_.late_path);
    late_sink->write(output.late);
  }
}

SourceOptions Executor::source_options() const {
  SourceOptions source_options;
  source_options.chunk_records = options_.chunk_records;
  source_options.stop = &stop_;
  source_options.max_batch_latency_ns = config_.buffer.max_latency_ns;
  source_options.flush_partial = config_.buffer.underflow == UnderflowPolicy::flush;
  source_options.memory = &batch_memory();
  return source_options;
}

std::vector<std::unique_ptr<Source>> Executor::make_sources() const {
  std::vector<std::unique_ptr<Source>> sources;
  for (std::size_t i = 0; i < config_.sources.size(); ++i) {
    sources.push_back(make_source(config_.sources[i], static_cast<std::uint32_t>(i),
                                  plan_->schema(), source_options()));
  }
  return sources;
}

std::vector<std::unique_ptr<Sink>> Executor::make_sinks() const {
  std::vector<std::unique_ptr<Sink>> sinks;
  for (const auto& destination : config_.destinations) sinks.push_back(make_sink(destination));
  return sinks;
}

RunSummary Executor::run(std::vector<std::unique_ptr<Source>> sources,
                         std::vector<std::unique_ptr<Sink>> sinks) {
  RunSummary summary;
  summary.dead_letter_path = !options_.dead_letter_path.empty()  ? options_.dead_letter_path
                             : !config_.dead_letter_path.empty() ? config_.dead_letter_path
                                                                 : "dead-letter.jsonl";
  std::vector<Format> formats;
  std::vector<std::string> source_names;
  for (const auto& source : sources) {
    formats.push_back(source->format());
    source_names.push_back(source->name());
  }
  // Side files open on first use, so a clean run leaves none behind; a previous run's are
  // removed now so they cannot pass for this run's.
  if (options_.side_files) {
    std::error_code ignored;
    std::filesystem::remove(summary.dead_letter_path, ignored);
    for (const auto& target : plan_->reject_targets()) {
      if (!target.path.empty()) std::filesystem::remove(target.path, ignored);
    }
    if (!config_.late_path.empty()) std::filesystem::remove(config_.late_path, ignored);
    if (!config_.alerts.path.empty()) std::filesystem::remove(config_.alerts.path, ignored);
  }
  std::vector<std::unique_ptr<Sink>> reject_sinks(plan_->reject_targets().size());
  std::unique_ptr<Sink> dead_letter_sink;
  std::unique_ptr<Sink> late_sink;
  std::unique_ptr<Sink> alert_sink;
  // Alert notifications (email, webhook) go out from their own threads; benchmarks skip them.
  // Channels without alert conditions only serve the event rules' notify action.
  std::unique_ptr<AlertNotifier> notifier =
      options_.side_files && !config_.alerts.conditions.empty()
          ? make_alert_notifier(config_.alerts)
          : nullptr;
  // Events the rules make are handled on the event processor's own workers; benchmarks skip
  // them, as they skip notifications.
  std::unique_ptr<EventProcessor> event_processor;
  if (events_ && options_.side_files) {
    event_processor = make_event_processor(config_);
    event_processor->start();
  }
  // autoAck: a source's acknowledgement also waits until the events of what it covers were
  // handled or dead-lettered.
  const bool events_hold_acks = event_processor && config_.events.auto_ack;
  if (!config_.windows.empty()) {
    windows_ =
        std::make_unique<WindowEngine>(config_, *plan_, strings_, sources.size(), options_.threads);
    if (options_.fold_windows) {
      windows_->fold_with(make_pane_aggregator(options_.device));
      windows_->sort_values_with([this] { return make_value_sorter(options_.device); });
    }
  }

  RunState state;
  state.sources_running = sources.size();
  state.next_index.assign(sources.size(), 0);
  for (std::size_t i = 0; i < sources.size(); ++i) state.budgets.emplace_back(config_.buffer);
  state.chunks_in_flight.assign(sources.size(), 0);
  for (const auto& source : sources) {
    // Under `block`, a replayable source waits for the workers rather than reading ahead; under
    // drop and resize the budget alone decides, as the user asked.
    state.limit_read_ahead.push_back(source->replayable() &&
                                     config_.buffer.overflow == OverflowPolicy::block);
  }
  state.read_ahead = 2 * options_.threads + 2;
  for (const auto& source : sources)
    state.arrival_order = state.arrival_order || !source->replayable();
  if (state.arrival_order && options_.status_line) {
    std::fprintf(stderr, "ldh: live sources: chunks are processed in arrival order\n");
  }
  const auto started = Clock::now();
  // Takes the next write-order key for a chunk of `source_index` (state.mutex held).
  auto next_key = [&state](std::uint32_t source_index) -> WriteKey {
    if (state.arrival_order) return {state.next_arrival++, 0};
    return {state.next_index[source_index]++, source_index};
  };

  std::vector<std::thread> source_threads;
  for (std::uint32_t source_index = 0; source_index < sources.size(); ++source_index) {
    auto& source = sources[source_index];
    const ThrottleConfig throttle = source_index < config_.sources.size()
                                        ? config_.sources[source_index].throttle
                                        : ThrottleConfig{};
    source_threads.emplace_back([&state, &source, &next_key, source_index, throttle, this] {
      try {
        TokenBucket bucket(throttle.rate, throttle.burst, Clock::now());
        RawChunk chunk;
        while (source->next(chunk)) {
          const std::uint64_t events = chunk.records;
          const std::uint64_t bytes = chunk.bytes.size();
          const auto throttled = bucket.take(events, Clock::now());
          if (throttled > Clock::duration::zero()) {
            const auto resume = Clock::now() + throttled;
            while (!stop_ && Clock::now() < resume) {
              std::this_thread::sleep_until(
                  std::min(resume, Clock::now() + std::chrono::milliseconds(100)));
            }
          }
          std::unique_lock lock(state.mutex);
          SourceBudget& budget = state.budgets[source_index];
          budget.counters().time_throttled += throttled;
          // An empty chunk (one that only ends a stream) costs nothing and is never shed.
          SourceBudget::Decision decision = events == 0 && bytes == 0
                                                ? SourceBudget::Decision::admit
                                                : budget.decide(events, bytes);
          if (decision == SourceBudget::Decision::wait) {
            // Backpressure: the source stops receiving (Kafka pauses its partitions; UDP and
            // DPDK leave packets to the kernel or NIC, which count what they drop).
            const auto blocked = Clock::now();
            source->set_paused(true);
            state.space_ready.wait(lock, [&] {
              decision = budget.decide(events, bytes);
              return decision != SourceBudget::Decision::wait || state.error;
            });
            source->set_paused(false);
            budget.counters().time_blocked += Clock::now() - blocked;
          }
          if (decision == SourceBudget::Decision::admit && state.limit_read_ahead[source_index]) {
            state.space_ready.wait(lock, [&] {
              return state.chunks_in_flight[source_index] < state.read_ahead || state.error;
            });
          }
          if (state.error) break;
          if (decision == SourceBudget::Decision::drop) {
            // Shed, counted, and still written in order, so its acknowledgement keeps its place.
            ++budget.counters().chunks_dropped;
            budget.counters().events_dropped += events;
            budget.counters().bytes_dropped += bytes;
            ChunkResult shed;
            shed.source_index = source_index;
            shed.records = events;
            shed.dropped = true;
            shed.ack_token = chunk.ack_token;
            state.results.emplace(next_key(source_index), std::move(shed));
            state.result_ready.notify_all();
            continue;
          }
          budget.admit(events, bytes);
          ++state.chunks_in_flight[source_index];
          state.queue.push_back({next_key(source_index).first, std::move(chunk)});
          state.work_ready.notify_one();
        }
        std::unique_lock lock(state.mutex);
        if (!state.error) {
          Work marker;
          marker.index = next_key(source_index).first;
          marker.chunk.source_index = source_index;
          marker.end_of_source = true;
          state.queue.push_back(std::move(marker));
          state.work_ready.notify_one();
        }
      } catch (...) {
        stop_ = true;
        state.fail(std::current_exception());
      }
      std::lock_guard lock(state.mutex);
      --state.sources_running;
      state.work_ready.notify_all();
      state.result_ready.notify_all();
    });
  }

  const bool binary_input =
      std::find(formats.begin(), formats.end(), Format::binary) != formats.end();
  const StageImage* device_stages = options_.device >= 0 && device_stages_.supported && binary_input
                                        ? &device_stages_.stages
                                        : nullptr;

  // With --idle-decoders (see RunOptions), decode workers take only the cores the window
  // shards leave free.
  const bool decode_at_idle =
      options_.idle_decoders && windows_ && options_.threads > 1 && device_stages == nullptr;
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < options_.threads; ++t) {
    workers.emplace_back([&state, &formats, decode_at_idle, device_stages, this] {
      try {
        if (decode_at_idle) {
          const sched_param priority{};
          sched_setscheduler(0, SCHED_IDLE, &priority);  // this thread; best effort
        }
        Worker worker(*plan_, windows_.get(), events_.get(), strings_, options_, formats,
                      config_.format.validation, device_stages);
        while (true) {
          Work work;
          {
            std::unique_lock lock(state.mutex);
            state.work_ready.wait(lock, [&] {
              return !state.queue.empty() || state.sources_running == 0 || state.error;
            });
            if (state.error || state.queue.empty()) return;
            work = std::move(state.queue.front());
            state.queue.pop_front();
          }
          ChunkResult result;
          worker.process(work, result);
          state.rows_decoded.fetch_add(result.rows, std::memory_order_relaxed);
          state.dead_lettered.fetch_add(result.dead_letters.size(), std::memory_order_relaxed);
          work.chunk.block.reset();
          std::lock_guard lock(state.mutex);
          state.results.emplace(
              WriteKey{work.index, state.arrival_order ? 0 : work.chunk.source_index},
              std::move(result));
          state.result_ready.notify_all();
        }
      } catch (...) {
        stop_ = true;
        state.fail(std::current_exception());
      }
    });
  }

  std::atomic<bool> status_done{false};
  std::thread status_thread;
  if (options_.status_line) {
    status_thread = std::thread([&] {
      std::uint64_t last_rows = 0;
      auto last_time = Clock::now();
      while (!status_done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        auto now = Clock::now();
        std::uint64_t rows = state.rows_decoded.load();
        double seconds = std::chrono::duration<double>(now - last_time).count();
        double rate = seconds > 0 ? static_cast<double>(rows - last_rows) / seconds : 0;
        std::fprintf(stderr, "\r\033[Kldh: %s events  %s events/s  %s dead-lettered",
                     human_count(static_cast<double>(rows)).c_str(), human_count(rate).c_str(),
                     human_count(static_cast<double>(state.dead_lettered.load())).c_str());
        std::fflush(stderr);
        last_rows = rows;
        last_time = now;
      }
      std::fprintf(stderr, "\r\033[K");
    });
  }

  // The calling thread writes results in (index, source) order: chunk i of every open source,
  // in source order, then chunk i + 1 (a source is open until its end marker is written); with
  // live sources, in arrival order.
  std::vector<bool> open(sources.size(), true);
  std::size_t open_count = sources.size();
  std::uint64_t round = 0;
  std::uint32_t turn = 0;
  std::uint64_t arrival = 0;
  std::exception_ptr failure;
  // Reused for every chunk, so the window output's buffers grow once.
  WindowOutput window_output;
  // Per source: chunks written whose windows may still be open, acknowledged once the window
  // engine no longer holds any of their events.
  struct PendingAck {
    std::uint64_t token;
    std::int64_t latest;
    std::uint64_t events_through;  // the last event task submitted up to the chunk
  };
  std::vector<std::deque<PendingAck>> pending_acks(sources.size());
  // Chunks whose results were all written, waiting for the network destinations to deliver (or
  // dead-letter) them: `marks` holds each destination's produced() when the chunk got here.
  struct SettlingAck {
    std::uint64_t token;
    std::vector<std::uint64_t> marks;
  };
  std::vector<std::deque<SettlingAck>> settling_acks(sources.size());
  std::vector<std::uint64_t> marks;
  std::vector<std::uint64_t> settled;
  auto acknowledge_done = [&](bool everything) {
    marks.clear();
    settled.clear();
    for (const auto& sink : sinks) {
      marks.push_back(sink->produced());
      settled.push_back(everything ? UINT64_MAX : sink->settled_through());
    }
    const bool acks_pending = std::any_of(pending_acks.begin(), pending_acks.end(),
                                          [](const auto& queue) { return !queue.empty(); });
    const std::int64_t pending_from = everything || !windows_ || !acks_pending
                                          ? std::numeric_limits<std::int64_t>::max()
                                          : windows_->pending_from();
    const std::uint64_t events_settled = everything || !events_hold_acks
                                             ? std::numeric_limits<std::uint64_t>::max()
                                             : event_processor->settled_through();
    for (std::size_t s = 0; s < sources.size(); ++s) {
      auto& queue = pending_acks[s];
      while (!queue.empty() && (everything || (queue.front().latest < pending_from &&
                                               queue.front().events_through <= events_settled))) {
        settling_acks[s].push_back({queue.front().token, marks});
        queue.pop_front();
      }
      auto& settling = settling_acks[s];
      std::uint64_t last = 0;
      bool any = false;
      while (!settling.empty()) {
        bool delivered = true;
        for (std::size_t d = 0; d < settled.size(); ++d) {
          delivered = delivered && settled[d] >= settling.front().marks[d];
        }
        if (!delivered) break;
        last = settling.front().token;
        any = true;
        settling.pop_front();
      }
      if (!any) continue;
      // What the acknowledged chunks sent to side files is on disk before a source forgets it.
      if (dead_letter_sink) dead_letter_sink->flush();
      for (auto& reject : reject_sinks) {
        if (reject) reject->flush();
      }
      sources[s]->acknowledge(last);
    }
  };
  auto write_output = [&](const WindowOutput& output) {
    write_window_output(output, sinks, late_sink, alert_sink);
    if (notifier && !output.alerts.empty()) notifier->write(output.alerts);
  };
  // A watermark step with many results hands them over as it writes them.
  window_output.drain = write_output;
  auto write_windows = [&](auto&& feed) {
    window_output.results.clear();
    window_output.late.clear();
    window_output.alerts.clear();
    feed();
    write_output(window_output);
  };
  auto last_poll = Clock::now();
  while (open_count > 0) {
    if (!state.arrival_order && !open[turn]) {
      if (++turn == sources.size()) turn = 0, ++round;
      continue;
    }
    const WriteKey next = state.arrival_order ? WriteKey{arrival, 0} : WriteKey{round, turn};
    ChunkResult result;
    bool have = false;
    while (!have) {
      bool poll_windows = false;
      bool poll_acks = false;
      {
        std::unique_lock lock(state.mutex);
        while (true) {
          if (options_.stop != nullptr && options_.stop->load()) stop_ = true;
          if (state.error) break;
          if (state.results.count(next) != 0) break;
          state.result_ready.wait_for(lock, std::chrono::milliseconds(100));
          // A quiet live feed must still close windows whose idle sources stopped holding the
          // watermark back.
          if (state.arrival_order && windows_ &&
              Clock::now() - last_poll >= std::chrono::milliseconds(100)) {
            poll_windows = true;
            break;
          }
          // Acknowledgements held for events or destinations go out as those settle.
          const bool acks_waiting =
              events_hold_acks || std::any_of(settling_acks.begin(), settling_acks.end(),
                                              [](const auto& waiting) { return !waiting.empty(); });
          if (acks_waiting && Clock::now() - last_poll >= std::chrono::milliseconds(100)) {
            poll_acks = true;
            break;
          }
        }
        if (state.error) {
          failure = state.error;
          break;
        }
        auto found = state.results.find(next);
        if (found != state.results.end()) {
          result = std::move(found->second);
          state.results.erase(found);
          have = true;
        }
      }
      if (poll_windows || poll_acks) {
        last_poll = Clock::now();
        try {
          if (poll_windows) write_windows([&] { windows_->poll(window_output); });
          acknowledge_done(false);
        } catch (...) {
          stop_ = true;
          state.fail(std::current_exception());
          failure = std::current_exception();
          break;
        }
      }
    }
    if (failure) break;
    try {
      // For acknowledgements; taken before the window engine takes the rows.
      const std::int64_t latest = result.ack_token != 0 ? latest_time(result.window_rows) : 0;
      if (windows_) {
        write_windows([&] {
          for (auto& rows : result.window_rows) windows_->add(std::move(rows), window_output);
          if (result.stream != 0 && !result.stream_ends && result.bytes == 0) {
            windows_->start_stream(result.source_index, result.stream);
          }
          if (result.stream_ends) {
            windows_->end_stream(result.source_index, result.stream, window_output);
          }
          if (result.end_of_source) windows_->end_source(result.source_index, window_output);
        });
      }
      for (auto& sink : sinks) {
        if (result.output.empty()) continue;
        sink->write(result.output);
        // Results of a chunk are visible at once (live feeds, pipes); chunks are large, so this
        // costs one write per chunk.
        sink->flush();
      }
      for (std::size_t i = 0; i < result.rejects.size(); ++i) {
        if (result.rejects[i].empty()) continue;
        if (!reject_sinks[i]) {
          reject_sinks[i] = std::make_unique<FileSink>(plan_->reject_targets()[i].path);
        }
        reject_sinks[i]->write(result.rejects[i]);
      }
      if (!result.dead_letters.empty() && !options_.side_files) {
        for (const auto& letter : result.dead_letters) summary.dead_letters.add(letter.reason);
      } else if (!result.dead_letters.empty()) {
        if (!dead_letter_sink)
          dead_letter_sink = std::make_unique<FileSink>(summary.dead_letter_path);
        std::string text;
        for (const auto& letter : result.dead_letters) {
          append_dead_letter(letter, source_names[letter.source_index], text);
          summary.dead_letters.add(letter.reason);
        }
        dead_letter_sink->write(text);
      }
      if (event_processor) {
        for (const auto& event : result.events) event_processor->submit(event.rule, event.event);
      }
      if (!result.end_of_source) {
        if (result.ack_token != 0) {
          pending_acks[result.source_index].push_back(
              {result.ack_token, result.dropped ? std::numeric_limits<std::int64_t>::min() : latest,
               event_processor ? event_processor->last_sequence() : 0});
        }
        acknowledge_done(false);
      }
    } catch (...) {
      stop_ = true;
      state.fail(std::current_exception());
      failure = std::current_exception();
      break;
    }
    summary.rows_decoded += result.rows;
    summary.rows_emitted += result.rows_out;
    if (result.end_of_source) {
      open[result.source_index] = false;
      --open_count;
    }
    if (state.arrival_order) {
      ++arrival;
    } else if (++turn == sources.size()) {
      turn = 0, ++round;
    }
    std::lock_guard lock(state.mutex);
    if (!result.dropped && !result.end_of_source) {
      state.budgets[result.source_index].release(result.records, result.bytes);
      --state.chunks_in_flight[result.source_index];
    }
    state.space_ready.notify_all();
  }

  stop_ = stop_ || failure != nullptr;
  {
    std::lock_guard lock(state.mutex);
    state.space_ready.notify_all();
    state.work_ready.notify_all();
  }
  for (auto& thread : source_threads) thread.join();
  for (auto& thread : workers) thread.join();
  status_done = true;
  if (status_thread.joinable()) status_thread.join();
  if (failure) std::rethrow_exception(failure);

  if (windows_) {
    write_windows([&] { windows_->finish(window_output); });
    summary.windows = windows_->counters();
    summary.windows_folded_on = windows_->fold_place();
    summary.window_states_peak = windows_->states_peak();
  }
  for (auto& sink : sinks) {
    sink->finish();
    SinkSummary& entry = summary.sinks.emplace_back();
    entry.name = sink->describe();
    sink->statistics(entry.counters);
  }
  if (notifier) {
    notifier->finish();
    SinkSummary& entry = summary.sinks.emplace_back();
    entry.name = notifier->describe();
    notifier->statistics(entry.counters);
  }
  if (event_processor) {
    event_processor->finish();
    SinkSummary& entry = summary.sinks.emplace_back();
    entry.name = event_processor->describe();
    event_processor->statistics(entry.counters);
  }
  if (late_sink) late_sink->flush();
  if (alert_sink) alert_sink->flush();
  for (auto& sink : reject_sinks) {
    if (sink) sink->flush();
  }
  if (dead_letter_sink) dead_letter_sink->flush();
  // Everything read was written out above: the sources may commit all of it.
  acknowledge_done(true);
  for (std::size_t s = 0; s < sources.size(); ++s) {
    summary.bytes_in += sources[s]->bytes_read();
    SourceSummary& entry = summary.sources.emplace_back();
    entry.name = sources[s]->name();
    entry.flow = state.budgets[s].counters();
    sources[s]->statistics(entry.counters);
    summary.rows_dropped += entry.flow.events_dropped;
  }
  for (const auto& op : plan_->operators()) {
    summary.stages.push_back(
        {op->name(), op->counters().rows_in.load(), op->counters().rows_rejected.load()});
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return summary;
}

}  // namespace ldh
