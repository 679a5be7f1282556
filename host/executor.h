#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/device.h"
#include "host/device_runtime.h"
#include "host/flow_control.h"
#include "host/sink.h"
#include "ingest/dead_letter.h"
#include "ingest/source.h"
#include "pipeline/config.h"
#include "pipeline/plan.h"
#include "pipeline/string_dictionary.h"
#include "pipeline/window.h"

namespace ldh {

class EventRouter;

/// Settings of one run that do not belong in the config file.
struct RunOptions {
  unsigned threads = 1;
  std::size_t batch_size = 65536;
  /// Records per chunk that sources cut. Fixed, not derived from batch_size, so how several
  /// sources interleave (and where a generator closes binary frames) never depends on it.
  std::size_t chunk_records = 65536;
  /// Overrides the config's dead-letter path when not empty.
  std::string dead_letter_path;
  /// Prints a live status line to stderr (only makes sense on a terminal).
  bool status_line = false;
  /// Skips formatting results (benchmarks measure the pipeline, not JSON printing).
  bool discard_output = false;
  /// Writes dead-letter, reject, late-event and alert files (benchmarks only count them).
  bool side_files = true;
  /// Set from outside (Ctrl-C) to stop sources early; what was read is still processed.
  const std::atomic<bool>* stop = nullptr;
  /// CUDA device that decodes, filters and transforms binary input, and folds window rows when
  /// `fold_windows` is set (the caller has resolved --backend); -1 runs everything on the CPU.
  int device = -1;
  /// Folds the on-time rows of tumbling and sliding windows by (key, pane) before they reach
  /// window state (pipeline/window_partial.h) and sorts the values of exact percentiles of each
  /// slice of a watermark step in one call (pipeline/value_sort.h): on `device` when one is set,
  /// else on the host; results are the same either way.
  bool fold_windows = false;
  /// Runs the decode workers at the scheduler's idle priority (SCHED_IDLE) when window shards
  /// run on several threads (CPU backend), so the shards, the bottleneck, never wait for a core.
  /// Only for machines kept for ldh: when other programs keep the cores busy, a decoder
  /// holding the chunk the writer needs next gets almost no CPU and the pipeline crawls.
  bool idle_decoders = false;
};

/// Points `options` at the backend `requested` resolves to (resolve_backend, which says why in
/// `reason`). On a GPU, window rows fold on the device only when the GPU was asked for by name:
/// under auto they are added on the CPU (on an H200, with the state on the host, the windows demo
/// ran at 21.85–23.01 M events/s that way against 6.04–6.54 M folded; docs/performance.md, "first
/// run on a GPU").
void use_backend(Backend requested, RunOptions& options, std::string& reason);

/// What one source read and what flow control did to it.
struct SourceSummary {
  std::string name;
  FlowCounters flow;
  std::vector<SourceCounter> counters;  // the source's own (kernel drops, reconnects, ...)
};

/// What one destination delivered (network destinations count retries and dead letters).
struct SinkSummary {
  std::string name;
  std::vector<SinkCounter> counters;
};

struct StageSummary {
  std::string name;
  std::uint64_t rows_in = 0;
  std::uint64_t rejected = 0;
};

/// Accounts for every record of a run: decoded + dead-lettered + dropped == records read, and
/// decoded == emitted + rejected by the filters.
struct RunSummary {
  std::uint64_t bytes_in = 0;
  std::uint64_t rows_decoded = 0;
  /// Records shed by `input.buffer.policy.overflow: drop`.
  std::uint64_t rows_dropped = 0;
  std::vector<SourceSummary> sources;
  std::vector<SinkSummary> sinks;
  std::uint64_t rows_emitted = 0;
  DeadLetterCounts dead_letters;
  std::vector<StageSummary> stages;
  double seconds = 0;
  std::string dead_letter_path;
  /// With windows: what the window engine did, and the most (key, window) states held at once.
  WindowCounters windows;
  /// Where window rows were folded ("host", "GPU 0 (...)"; empty when they were not).
  std::string windows_folded_on;
  std::size_t window_states_peak = 0;
};

/// Runs a pipeline: one thread per source cuts its stream into chunks; `threads` workers decode
/// chunks into batches and apply the plan; the calling thread writes results, rejects and dead
/// letters in a fixed order (chunk i of each source in turn), so the output is byte-identical
/// for any thread count and batch size, with any number of sources.
class Executor {
 public:
  /// Compiles the config's plan; throws ConfigError when it cannot run.
  Executor(const Config& config, RunOptions options);
  ~Executor();

  const Plan& plan() const { return *plan_; }
  StringDictionary& strings() { return strings_; }
  /// Makes the config's sources (call before run(); the executor keeps ownership of nothing).
  std::vector<std::unique_ptr<Source>> make_sources() const;
  /// Makes the config's destinations.
  std::vector<std::unique_ptr<Sink>> make_sinks() const;
  /// Runs until every source ends (or stop is set) and everything read is written.
  RunSummary run(std::vector<std::unique_ptr<Source>> sources,
                 std::vector<std::unique_ptr<Sink>> sinks);
  /// Options sources should be built with (chunk size, stop flag).
  SourceOptions source_options() const;
  /// Says which stages run on the device for sources of these formats, and why the others do
  /// not; empty when the run has no device.
  std::string backend_note(const std::vector<Format>& source_formats) const;

 private:
  void write_window_output(const WindowOutput& output, std::vector<std::unique_ptr<Sink>>& sinks,
                           std::unique_ptr<Sink>& late_sink, std::unique_ptr<Sink>& alert_sink);
  Config config_;
  RunOptions options_;
  StringDictionary strings_;
  std::unique_ptr<Plan> plan_;
  DeviceStagePlan device_stages_;
  std::unique_ptr<WindowEngine> windows_;
  /// With `events.routing.rules`: turns rows leaving the pipeline into events.
  std::unique_ptr<EventRouter> events_;
  std::atomic<bool> stop_{false};
};

}  // namespace ldh
