#include "host/executor.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "host/event_json.h"
#include "host/memory.h"
#include "ingest/decoder.h"
#include "pipeline/time.h"
#include "pipeline/window.h"

namespace ldh {

namespace {

using Clock = std::chrono::steady_clock;

struct Work {
  /// The chunk's position in its source's stream: results are written in (index, source)
  /// order, one chunk of each open source in turn, so the output is the same on every run.
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
  std::uint64_t rows = 0;
  std::uint64_t rows_out = 0;
  bool end_of_source = false;
  std::uint32_t source_index = 0;
};

/// Everything the threads of one run share, behind one mutex: chunks are large (tens of
/// thousands of events), so one lock per chunk costs nothing measurable.
struct RunState {
  std::mutex mutex;
  std::condition_variable work_ready;    // workers wait for chunks
  std::condition_variable result_ready;  // the writer waits for the next result
  std::condition_variable space_ready;   // sources wait for in-flight room
  std::deque<Work> queue;
  std::map<std::pair<std::uint64_t, std::uint32_t>, ChunkResult> results;
  /// Per source: the index of its next chunk and how many of its chunks are not yet written.
  std::vector<std::uint64_t> next_index;
  std::vector<std::size_t> in_flight;
  std::size_t in_flight_limit = 0;
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
  Worker(const Plan& plan, const WindowEngine* windows, StringDictionary& strings,
         const RunOptions& options, const std::vector<Format>& source_formats, bool validate)
      : plan_(plan),
        windows_(windows),
        validate_(validate),
        strings_(strings),
        options_(options),
        source_formats_(source_formats),
        batch_(plan.slots(), options.batch_size, batch_memory()),
        output_writer_(plan.output_fields(), strings) {
    for (const auto& target : plan.reject_targets()) {
      reject_writers_.emplace_back(target.fields, strings);
    }
  }

  void process(const Work& work, ChunkResult& result) {
    result.source_index = work.chunk.source_index;
    result.end_of_source = work.end_of_source;
    if (work.end_of_source) return;
    Format format = source_formats_[work.chunk.source_index];
    std::unique_ptr<Decoder>& decoder = decoders_[static_cast<int>(format)];
    if (!decoder) decoder = make_decoder(format, plan_.schema(), validate_);
    DecodeTarget target;
    target.batch = &batch_;
    target.field_slots = &plan_.input_slots();
    target.strings = &strings_;
    target.dead_letters = &result.dead_letters;
    target.source_index = work.chunk.source_index;
    result.rejects.resize(plan_.reject_targets().size());

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
      result.rows += batch_.size();
      plan_.apply(batch_);
      result.rows_out += batch_.live_count();
      if (windows_ != nullptr) {
        windows_->extract(batch_, result.window_rows.emplace_back());
      } else if (!options_.discard_output) {
        output_writer_.append_rows(batch_, kLive, result.output);
      }
      for (std::size_t i = 0; i < plan_.reject_targets().size(); ++i) {
        const RejectTarget& reject = plan_.reject_targets()[i];
        if (!reject.path.empty() && options_.side_files) {
          reject_writers_[i].append_rows(batch_, reject.code, result.rejects[i]);
        }
      }
    }
  }

 private:
  const Plan& plan_;
  const WindowEngine* windows_;
  bool validate_;
  StringDictionary& strings_;
  const RunOptions& options_;
  const std::vector<Format>& source_formats_;
  EventBatch batch_;
  EventJsonWriter output_writer_;
  std::vector<EventJsonWriter> reject_writers_;
  std::unique_ptr<Decoder> decoders_[3];
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
}

Executor::~Executor() = default;

void Executor::write_window_output(const WindowOutput& output,
                                   std::vector<std::unique_ptr<Sink>>& sinks,
                                   std::unique_ptr<Sink>& late_sink,
                                   std::unique_ptr<Sink>& alert_sink) {
  for (auto& sink : sinks) sink->write(output.results);
  if (!options_.side_files) return;
  if (!output.alerts.empty()) {
    if (config_.alerts.path.empty()) {
      for (auto& sink : sinks) sink->write(output.alerts);
    } else {
      if (!alert_sink) alert_sink = std::make_unique<FileSink>(config_.alerts.path);
      alert_sink->write(output.alerts);
    }
  }
  if (!output.late.empty() && !config_.late_path.empty()) {
    if (!late_sink) late_sink = std::make_unique<FileSink>(config_.late_path);
    late_sink->write(output.late);
  }
  peak_window_states_ = std::max(peak_window_states_, windows_->active_states());
}

SourceOptions Executor::source_options() const {
  SourceOptions source_options;
  source_options.chunk_records = options_.chunk_records;
  source_options.stop = &stop_;
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
  if (!config_.windows.empty()) {
    windows_ =
        std::make_unique<WindowEngine>(config_, *plan_, strings_, sources.size(), options_.threads);
  }

  RunState state;
  state.in_flight_limit = 2 * options_.threads + 2;
  state.sources_running = sources.size();
  state.next_index.assign(sources.size(), 0);
  state.in_flight.assign(sources.size(), 0);
  const auto started = Clock::now();

  std::vector<std::thread> source_threads;
  for (std::uint32_t source_index = 0; source_index < sources.size(); ++source_index) {
    auto& source = sources[source_index];
    source_threads.emplace_back([&state, &source, source_index, this] {
      try {
        RawChunk chunk;
        while (source->next(chunk)) {
          std::unique_lock lock(state.mutex);
          state.space_ready.wait(lock, [&] {
            return state.in_flight[source_index] < state.in_flight_limit || state.error;
          });
          if (state.error) break;
          ++state.in_flight[source_index];
          state.queue.push_back({state.next_index[source_index]++, std::move(chunk)});
          state.work_ready.notify_one();
        }
        std::unique_lock lock(state.mutex);
        if (!state.error) {
          Work marker;
          marker.index = state.next_index[source_index]++;
          marker.chunk.source_index = source_index;
          marker.end_of_source = true;
          ++state.in_flight[source_index];
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

  std::vector<std::thread> workers;
  for (unsigned t = 0; t < options_.threads; ++t) {
    workers.emplace_back([&state, &formats, this] {
      try {
        Worker worker(*plan_, windows_.get(), strings_, options_, formats,
                      config_.format.validation);
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
          state.results.emplace(std::pair{work.index, work.chunk.source_index}, std::move(result));
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
  // in source order, then chunk i + 1. A source is open until its end marker is written.
  std::vector<bool> open(sources.size(), true);
  std::size_t open_count = sources.size();
  std::uint64_t round = 0;
  std::uint32_t turn = 0;
  std::exception_ptr failure;
  // Reused for every chunk, so the window output's buffers grow once.
  WindowOutput window_output;
  while (open_count > 0) {
    if (!open[turn]) {
      if (++turn == sources.size()) turn = 0, ++round;
      continue;
    }
    const std::pair<std::uint64_t, std::uint32_t> next{round, turn};
    ChunkResult result;
    {
      std::unique_lock lock(state.mutex);
      while (true) {
        if (options_.stop != nullptr && options_.stop->load()) stop_ = true;
        if (state.error) break;
        if (state.results.count(next) != 0) break;
        state.result_ready.wait_for(lock, std::chrono::milliseconds(100));
      }
      if (state.error) {
        failure = state.error;
        break;
      }
      auto found = state.results.find(next);
      result = std::move(found->second);
      state.results.erase(found);
    }
    try {
      if (windows_) {
        window_output.results.clear();
        window_output.late.clear();
        window_output.alerts.clear();
        for (const auto& rows : result.window_rows) windows_->add(rows, window_output);
        if (result.end_of_source) windows_->end_source(result.source_index, window_output);
        write_window_output(window_output, sinks, late_sink, alert_sink);
      }
      for (auto& sink : sinks) {
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
    } catch (...) {
      stop_ = true;
      state.fail(std::current_exception());
      failure = std::current_exception();
      break;
    }
    summary.rows_decoded += result.rows;
    summary.rows_emitted += result.rows_out;
    if (result.end_of_source) {
      open[turn] = false;
      --open_count;
    }
    if (++turn == sources.size()) turn = 0, ++round;
    std::lock_guard lock(state.mutex);
    --state.in_flight[result.source_index];
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
    window_output.results.clear();
    window_output.late.clear();
    window_output.alerts.clear();
    windows_->finish(window_output);
    write_window_output(window_output, sinks, late_sink, alert_sink);
    summary.windows = windows_->counters();
    summary.window_states_peak = peak_window_states_;
  }
  for (auto& sink : sinks) sink->flush();
  if (late_sink) late_sink->flush();
  if (alert_sink) alert_sink->flush();
  for (auto& sink : reject_sinks) {
    if (sink) sink->flush();
  }
  if (dead_letter_sink) dead_letter_sink->flush();
  for (const auto& source : sources) summary.bytes_in += source->bytes_read();
  for (const auto& op : plan_->operators()) {
    summary.stages.push_back(
        {op->name(), op->counters().rows_in.load(), op->counters().rows_rejected.load()});
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return summary;
}

}  // namespace ldh
