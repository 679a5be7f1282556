#include "host/bench.h"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "host/default_config.h"
#include "host/device.h"
#include "host/executor.h"
#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "kernels/device_pipeline.h"
#include "pipeline/error.h"

namespace ldh {

namespace {

const char* const kBenchUsage =
    "usage: ldh bench [options]\n"
    "\n"
    "Generates sensor events in memory, then runs a pipeline on them end to end (decode,\n"
    "filter, derived fields) several times and prints events/s, and events per CPU second\n"
    "of all its threads. Results are counted, not printed, unless --with-output is given.\n"
    "\n"
    "options:\n"
    "  --config CONFIG       pipeline to run (default: the built-in examples/sensors.yaml)\n"
    "  --format json|binary|protobuf  input format (default binary)\n"
    "  --events N            events per run (default 4000000)\n"
    "  --sensors K           sensors (default 10000)\n"
    "  --threads N           worker threads (default 1)\n"
    "  --batch-size N        events per batch (default 65536)\n"
    "  --fold-windows        fold on-time window rows by (key, pane) first, on the GPU when\n"
    "                        the backend is one (--backend gpu always folds)\n"
    "  --idle-decoders       decode at idle priority when window shards use several threads\n"
    "                        (see ldh run --help)\n"
    "  --repeat N            runs; the median is reported (default 5)\n"
    "  --backend auto|cpu|gpu\n"
    "  --with-output         also format every result as JSON (written nowhere)\n";

/// Returns the CPU time every thread of the process has used, in seconds.
double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  // An even number of runs: the mean of the two middle ones, not the better of them.
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

/// Discards what it is given; lets the bench include JSON formatting without disk I/O.
class NullSink final : public Sink {
 public:
  void write(std::string_view text) override { bytes_ += text.size(); }
  void flush() override {}
  std::string describe() const override { return "null"; }

 private:
  std::size_t bytes_ = 0;
};

}  // namespace

int command_bench(Arguments& arguments) {
  if (arguments.flag("--help") || arguments.flag("-h")) {
    std::fputs(kBenchUsage, stdout);
    return 0;
  }
  Format format = Format::binary;
  if (auto value = arguments.value("--format")) {
    auto parsed = parse_format(*value);
    if (!parsed) throw UserError("--format: expected json, binary or protobuf");
    format = *parsed;
  }
  std::uint64_t events = 4'000'000;
  if (auto count = arguments.count("--events", 1, 1'000'000'000)) events = *count;
  std::uint32_t sensors = 10'000;
  if (auto count = arguments.count("--sensors", 1, 10'000'000)) {
    sensors = static_cast<std::uint32_t>(*count);
  }
  RunOptions options;
  options.threads = 1;
  read_pipeline_options(arguments, options);
  std::uint64_t repeat = 5;
  if (auto count = arguments.count("--repeat", 1, 1000)) repeat = *count;
  Backend backend = Backend::automatic;
  if (auto value = arguments.value("--backend")) backend = parse_backend(*value);
  bool with_output = arguments.flag("--with-output");
  auto config_path = arguments.value("--config");
  arguments.positionals();

  Config config = config_path ? load_config(*config_path)
                              : parse_config(kDefaultConfigText, kDefaultConfigName);
  std::string why;
  use_backend(backend, options, why);
  options.discard_output = !with_output;
  options.side_files = false;
  const std::string note = Executor(config, options).backend_note({format});
  if (!note.empty()) why += "; " + note;

  GeneratorConfig generator;
  generator.events = events;
  generator.sensors = sensors;
  generator.seed = 7;
  SensorGenerator source_events(generator, config.format.schema);
  auto encoder = make_encoder(format, config.format.schema, generator.frame_records);
  auto bytes = std::make_shared<std::string>();
  source_events.generate(*encoder, events, *bytes);
  encoder->flush(*bytes);

  std::printf("ldh bench: %llu %s events (%.1f MB), %u sensors, %u thread%s, batch %zu, %s\n",
              static_cast<unsigned long long>(events), std::string(to_string(format)).c_str(),
              static_cast<double>(bytes->size()) / 1e6, sensors, options.threads,
              options.threads == 1 ? "" : "s", options.batch_size, why.c_str());
  std::printf("pipeline: %s, %zu stage%s%s\n",
              config_path ? config_path->c_str() : "built-in examples/sensors.yaml",
              config.pipeline.size(), config.pipeline.size() == 1 ? "" : "s",
              with_output ? ", JSON output formatted" : ", output counted");

  std::vector<double> rates;
  std::vector<double> cpu_rates;
  for (std::uint64_t run = 0; run < repeat; ++run) {
    const double cpu_before = process_cpu_seconds();
    Executor executor(config, options);
    std::vector<std::unique_ptr<Source>> sources;
    sources.push_back(make_memory_source("bench", format, config.format.schema, bytes, 0,
                                         executor.source_options()));
    std::vector<std::unique_ptr<Sink>> sinks;
    sinks.push_back(std::make_unique<NullSink>());
    RunSummary summary = executor.run(std::move(sources), std::move(sinks));
    // All threads' CPU time, so a run that keeps more cores busy does not look cheaper.
    const double cpu_seconds = process_cpu_seconds() - cpu_before;
    double rate = static_cast<double>(summary.rows_decoded) / summary.seconds;
    rates.push_back(rate);
    cpu_rates.push_back(static_cast<double>(summary.rows_decoded) / cpu_seconds);
    std::printf(
        "run %llu: %.3f s  %.2f M events/s  %.0f MB/s  (%llu emitted); %.3f CPU s, %.2f cores, "
        "%.2f M events per CPU s\n",
        static_cast<unsigned long long>(run + 1), summary.seconds, rate / 1e6,
        static_cast<double>(bytes->size()) / summary.seconds / 1e6,
        static_cast<unsigned long long>(summary.rows_emitted), cpu_seconds,
        cpu_seconds / summary.seconds, cpu_rates.back() / 1e6);
    if (run == 0 && summary.windows.folds > 0) {
      std::printf("window rows folded on %s: %llu rows into %llu partials in %llu folds\n",
                  summary.windows_folded_on.c_str(),
                  static_cast<unsigned long long>(summary.windows.folded_rows),
                  static_cast<unsigned long long>(summary.windows.partials),
                  static_cast<unsigned long long>(summary.windows.folds));
    }
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double typical = median(rates);
#ifdef LDH_HAVE_CUDA
  if (options.device >= 0) {
    // The ceiling for input fed from host memory, measured in this run on this card (printed
    // before the median, which stays the last line for scripts).
    const double bandwidth = pinned_copy_bandwidth(options.device, 256u << 20, 5);
    const double input_rate = typical * static_cast<double>(bytes->size()) / events / 1e9;
    std::printf(
        "pinned host-to-device: %.1f GB/s; the pipeline moved %.1f GB/s of input, %.0f%% "
        "of it\n",
        bandwidth, input_rate, 100 * input_rate / bandwidth);
  }
#endif
  std::printf(
      "median: %.2f M events/s (%.2f M events/s per thread, %.2f M events per CPU s), peak RSS "
      "%.0f MB\n",
      typical / 1e6, typical / 1e6 / options.threads, median(cpu_rates) / 1e6,
      static_cast<double>(usage.ru_maxrss) / 1024);
  return 0;
}

}  // namespace ldh
