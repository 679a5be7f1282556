#include "host/cli.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host/arguments.h"
#include "host/bench.h"
#include "host/default_config.h"
#include "host/device.h"
#include "host/event_router.h"
#include "host/executor.h"
#include "host/memory.h"
#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "ingest/pcap_writer.h"
#include "ingest/sensor_schema.h"
#include "pipeline/config.h"
#include "pipeline/error.h"
#include "pipeline/time.h"
#include "pipeline/window.h"

namespace ldh {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitInvalid = 2;

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) {
  interrupted = true;
}

const char* const kUsage =
    "usage: ldh <command> [options]\n"
    "\n"
    "commands:\n"
    "  run [CONFIG]      run a pipeline (default: the built-in sensor demo)\n"
    "  validate CONFIG   check a configuration without running it (exit 0 valid, 2 invalid)\n"
    "  gen               write generated sensor events to a file\n"
    "  info              show the version, build features and CUDA devices\n"
    "  bench             measure the sensor pipeline end to end\n"
    "\n"
    "Run 'ldh <command> --help' for a command's options.\n";

const char* const kRunUsage =
    "usage: ldh run [CONFIG] [options]\n"
    "\n"
    "Runs the pipeline CONFIG describes (YAML or JSON); without CONFIG, the built-in sensor demo\n"
    "(examples/sensors.yaml).\n"
    "\n"
    "options:\n"
    "  --backend auto|cpu|gpu  where the bulk work runs (default auto: a GPU when usable)\n"
    "  --threads N             worker threads (default: the number of cores)\n"
    "  --batch-size N          events per batch (default 65536)\n"
    "  --fold-windows          fold on-time window rows by (key, pane) before they reach\n"
    "                          window state, on the GPU when the backend is one (--backend\n"
    "                          gpu always folds; auto adds rows on the CPU, measured faster)\n"
    "  --idle-decoders         with windows and several threads, decode at idle priority so\n"
    "                          the window shards never wait for a core; only on a machine\n"
    "                          kept for ldh (other busy programs would starve decoding)\n"
    "  --dead-letter PATH      where malformed records go (default: the config's, else\n"
    "                          dead-letter.jsonl)\n"
    "  --quiet                 no status line and no summary\n";

const char* const kValidateUsage =
    "usage: ldh validate CONFIG\n"
    "\n"
    "Checks CONFIG and prints every problem as FILE:LINE:COL: error: MESSAGE.\n"
    "Exit status: 0 valid, 2 invalid, 1 could not check (e.g. unreadable file).\n";

const char* const kGenUsage =
    "usage: ldh gen -o FILE [options]\n"
    "       ldh gen --pcap FILE --format binary|protobuf [options]\n"
    "\n"
    "Writes generated sensor events (timestamp, sensor_id, location, type, temperature,\n"
    "humidity, pressure) to FILE, or as UDP/IPv4 Ethernet frames to a pcap file (for a dpdk\n"
    "source reading it through net_pcap, or for tcpreplay).\n"
    "\n"
    "options:\n"
    "  --format json|binary|protobuf  (default json)\n"
    "  --events N           number of events (default 100000)\n"
    "  --sensors K          number of sensors (default 100)\n"
    "  --seed S             random seed (default 1)\n"
    "  --interval DURATION  time between two readings of one sensor (default 1s)\n"
    "  --jitter DURATION    out-of-order jitter of event times (default 0s)\n"
    "  --bad-share X        share of malformed records, 0..1 (default 0)\n"
    "  --start ISO-8601     event time of the first reading (default 2026-11-18T11:06:40Z)\n"
    "  --frame-records N    binary: records per frame (default 1024)\n"
    "  --config CONFIG      use CONFIG's schema instead of the built-in sensor schema\n"
    "  -o, --output FILE    where to write ('-' for stdout)\n"
    "  --pcap FILE          write a pcap file of UDP datagrams instead, each carrying\n"
    "                       --packet-events events (binary: one frame per datagram)\n"
    "  --packet-events N    events per datagram (default 10)\n"
    "  --udp-port P         destination UDP port (default 9000)\n"
    "  --flows N            source ports the datagrams cycle through, for RSS (default 1)\n";

const char* const kInfoUsage =
    "usage: ldh info\n"
    "\n"
    "Prints the version, the build's features and the CUDA devices seen (or why none).\n";

Config load_or_default(const std::optional<std::string>& path) {
  if (path) return load_config(*path);
  return parse_config(kDefaultConfigText, kDefaultConfigName);
}

void print_summary(const RunSummary& summary, const Config& config) {
  double rate =
      summary.seconds > 0 ? static_cast<double>(summary.rows_decoded) / summary.seconds : 0;
  std::fprintf(stderr, "ldh: %llu events in %.3f s (%.0f events/s), %llu emitted\n",
               static_cast<unsigned long long>(summary.rows_decoded), summary.seconds, rate,
               static_cast<unsigned long long>(summary.rows_emitted));
  for (const auto& stage : summary.stages) {
    if (stage.rejected > 0) {
      std::fprintf(stderr, "ldh:   stage %s rejected %llu of %llu\n", stage.name.c_str(),
                   static_cast<unsigned long long>(stage.rejected),
                   static_cast<unsigned long long>(stage.rows_in));
    }
  }
  if (!config.windows.empty()) {
    std::fprintf(stderr,
                 "ldh:   windows: %llu results, %llu alerts in %llu steps; late events: %llu "
                 "revised windows, %llu too late%s; at most %zu (key, window) states held\n",
                 static_cast<unsigned long long>(summary.windows.results),
                 static_cast<unsigned long long>(summary.windows.alerts),
                 static_cast<unsigned long long>(summary.windows.steps),
                 static_cast<unsigned long long>(summary.windows.late_revised),
                 static_cast<unsigned long long>(summary.windows.late_dropped),
                 config.late_path.empty() ? "" : (" (in " + config.late_path + ")").c_str(),
                 summary.window_states_peak);
    if (summary.windows.folds > 0) {
      std::fprintf(stderr,
                   "ldh:   window rows folded on %s: %llu rows into %llu partials in %llu folds\n",
                   summary.windows_folded_on.c_str(),
                   static_cast<unsigned long long>(summary.windows.folded_rows),
                   static_cast<unsigned long long>(summary.windows.partials),
                   static_cast<unsigned long long>(summary.windows.folds));
    }
  }
  for (const auto& source : summary.sources) {
    const FlowCounters& flow = source.flow;
    std::string line;
    auto add = [&line](const std::string& part) { line += (line.empty() ? "" : "; ") + part; };
    if (flow.events_dropped > 0 || flow.chunks_dropped > 0) {
      add("dropped " + std::to_string(flow.events_dropped) + " events in " +
          std::to_string(flow.chunks_dropped) + " chunks (overflow: drop)");
    }
    if (flow.time_blocked.count() > 0) {
      add("blocked " + std::to_string(std::chrono::duration<double>(flow.time_blocked).count()) +
          " s");
    }
    if (flow.time_throttled.count() > 0) {
      add("throttled " +
          std::to_string(std::chrono::duration<double>(flow.time_throttled).count()) + " s");
    }
    if (flow.resizes > 0) add(std::to_string(flow.resizes) + " buffer resizes");
    for (const auto& counter : source.counters) {
      add(counter.name + " " + std::to_string(counter.value));
    }
    if (line.empty()) continue;
    std::fprintf(stderr, "ldh:   source %s: %s; at most %llu events, %llu bytes in flight\n",
                 source.name.c_str(), line.c_str(),
                 static_cast<unsigned long long>(flow.peak_events),
                 static_cast<unsigned long long>(flow.peak_bytes));
  }
  for (const auto& sink : summary.sinks) {
    if (sink.counters.empty()) continue;
    std::string line;
    for (const auto& counter : sink.counters) {
      line += (line.empty() ? "" : ", ") + counter.name + " " + std::to_string(counter.value);
    }
    std::fprintf(stderr, "ldh:   destination %s: %s\n", sink.name.c_str(), line.c_str());
  }
  std::uint64_t dead = summary.dead_letters.total();
  if (dead > 0) {
    std::string reasons;
    for (std::size_t i = 0; i < kDeadLetterReasonCount; ++i) {
      std::uint64_t count = summary.dead_letters.by_reason[i];
      if (count == 0) continue;
      if (!reasons.empty()) reasons += ", ";
      reasons +=
          std::string(to_string(static_cast<DeadLetterReason>(i))) + " " + std::to_string(count);
    }
    std::fprintf(stderr, "ldh:   %llu dead-lettered to %s (%s)\n",
                 static_cast<unsigned long long>(dead), summary.dead_letter_path.c_str(),
                 reasons.c_str());
  }
  for (const auto& destination : config.destinations) {
    if (destination.type == SinkType::jsonl) {
      std::fprintf(stderr, "ldh:   results in %s\n", destination.path.c_str());
    }
  }
}

int command_run(Arguments& arguments) {
  if (arguments.flag("--help") || arguments.flag("-h")) {
    std::fputs(kRunUsage, stdout);
    return kExitOk;
  }
  RunOptions options;
  Backend backend = Backend::automatic;
  if (auto value = arguments.value("--backend")) backend = parse_backend(*value);
  options.threads = default_threads();
  read_pipeline_options(arguments, options);
  if (auto value = arguments.value("--dead-letter")) options.dead_letter_path = *value;
  bool quiet = arguments.flag("--quiet");
  auto positionals = arguments.positionals();
  if (positionals.size() > 1) throw UserError("run takes one CONFIG (see ldh run --help)");
  std::optional<std::string> path;
  if (!positionals.empty()) path = positionals[0];

  Config config = load_or_default(path);
  std::string why;
  use_backend(backend, options, why);
  options.status_line = !quiet && isatty(STDERR_FILENO);
  options.stop = &interrupted;
  // Without SA_RESTART a blocked read returns, so a source on a quiet pipe stops too; with
  // SA_RESETHAND a second Ctrl-C ends the process at once.
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  Executor executor(config, options);
  if (!quiet) {
    std::vector<Format> formats;
    for (const auto& source : config.sources) formats.push_back(source.format);
    const std::string note = executor.backend_note(formats);
    std::fprintf(stderr, "ldh: %s%s%s\n", why.c_str(), note.empty() ? "" : "; ", note.c_str());
  }
  RunSummary summary = executor.run(executor.make_sources(), executor.make_sinks());
  if (!quiet) print_summary(summary, config);
  return kExitOk;
}

int command_validate(Arguments& arguments) {
  if (arguments.flag("--help") || arguments.flag("-h")) {
    std::fputs(kValidateUsage, stdout);
    return kExitOk;
  }
  auto positionals = arguments.positionals();
  if (positionals.size() != 1) {
    std::fputs(kValidateUsage, stderr);
    return kExitFailure;
  }
  Config config = load_config(positionals[0]);
  StringDictionary strings;
  // Compiles what `ldh run` compiles, so every error a run would report shows here.
  Plan plan(config, strings);
  if (!config.windows.empty()) WindowEngine windows(config, plan, strings, config.sources.size());
  if (!config.events.rules.empty()) EventRouter router(config, plan, strings);
  std::printf("%s: valid (%zu source%s, %zu stage%s, %zu destination%s)\n", positionals[0].c_str(),
              config.sources.size(), config.sources.size() == 1 ? "" : "s", config.pipeline.size(),
              config.pipeline.size() == 1 ? "" : "s", config.destinations.size(),
              config.destinations.size() == 1 ? "" : "s");
  return kExitOk;
}

int command_gen(Arguments& arguments) {
  if (arguments.flag("--help") || arguments.flag("-h")) {
    std::fputs(kGenUsage, stdout);
    return kExitOk;
  }
  GeneratorConfig generator;
  Format format = Format::json;
  if (auto value = arguments.value("--format")) {
    auto parsed = parse_format(*value);
    if (!parsed)
      throw UserError("--format: expected json, binary or protobuf, got '" + *value + "'");
    format = *parsed;
  }
  if (auto events = arguments.count("--events", 1, UINT64_MAX)) generator.events = *events;
  if (auto sensors = arguments.count("--sensors", 1, 10'000'000)) {
    generator.sensors = static_cast<std::uint32_t>(*sensors);
  }
  if (auto seed = arguments.count("--seed", 0, UINT64_MAX)) generator.seed = *seed;
  if (auto interval = arguments.duration("--interval", 1)) generator.interval_ns = *interval;
  if (auto jitter = arguments.duration("--jitter", 0)) generator.jitter_ns = *jitter;
  if (auto value = arguments.value("--bad-share")) {
    generator.bad_share = parse_real(*value, "--bad-share");
    if (!(generator.bad_share >= 0 && generator.bad_share <= 1)) {
      throw UserError("--bad-share: expected a share from 0 to 1");
    }
  }
  if (auto value = arguments.value("--start")) {
    auto start = parse_iso8601(*value);
    if (!start) throw UserError("--start: expected ISO-8601 time like 2026-11-29T00:00:00Z");
    generator.start_ns = *start;
  }
  if (auto records = arguments.count("--frame-records", 1, 1'000'000)) {
    generator.frame_records = static_cast<std::uint32_t>(*records);
  }
  Schema schema = sensor_schema();
  if (auto value = arguments.value("--config")) schema = load_config(*value).format.schema;
  auto output = arguments.value("--output", "-o");
  auto pcap = arguments.value("--pcap");
  auto packet_events = arguments.count("--packet-events", 1, 1'000'000);
  auto udp_port = arguments.count("--udp-port", 1, 65535);
  auto flows = arguments.count("--flows", 1, 16384);
  auto positionals = arguments.positionals();
  if (output.has_value() == pcap.has_value() || !positionals.empty()) {
    std::fputs(kGenUsage, stderr);
    return kExitFailure;
  }
  SensorGenerator sensors(generator, schema);
  if (pcap) {
    if (format == Format::json) {
      throw UserError("--pcap: datagrams carry binary or protobuf events; give --format");
    }
    const std::uint64_t per_packet = packet_events.value_or(10);
    auto encoder = make_encoder(format, schema, static_cast<std::uint32_t>(per_packet));
    UdpFrameAddresses addresses;
    const std::uint16_t first_source_port = addresses.source_port;
    if (udp_port) addresses.destination_port = static_cast<std::uint16_t>(*udp_port);
    FileSink sink(*pcap);
    std::string out;
    std::string payload;
    std::string frame;
    append_pcap_header(out);
    std::uint64_t packets = 0;
    while (true) {
      payload.clear();
      if (sensors.generate(*encoder, per_packet, payload) == 0) break;
      encoder->flush(payload);
      if (payload.size() > kMaxUdpPayloadBytes) {
        throw UserError("--packet-events: " + std::to_string(per_packet) + " events take " +
                        std::to_string(payload.size()) + " bytes, more than the " +
                        std::to_string(kMaxUdpPayloadBytes) + " of one UDP datagram");
      }
      addresses.source_port =
          static_cast<std::uint16_t>(first_source_port + packets % flows.value_or(1));
      frame.clear();
      append_udp_frame(addresses, std::as_bytes(std::span(payload)), frame);
      // One microsecond apart from the first event time, so the file replays at 1 M packets/s.
      append_pcap_record(std::as_bytes(std::span(frame)),
                         generator.start_ns + static_cast<std::int64_t>(packets) * 1000, out);
      ++packets;
      if (out.size() >= (1u << 20)) {
        sink.write(out);
        out.clear();
      }
    }
    sink.write(out);
    sink.flush();
    std::fprintf(stderr, "ldh: wrote %llu %s events (%llu malformed) in %llu UDP datagrams to %s\n",
                 static_cast<unsigned long long>(sensors.produced()),
                 std::string(to_string(format)).c_str(),
                 static_cast<unsigned long long>(sensors.malformed()),
                 static_cast<unsigned long long>(packets), pcap->c_str());
    return kExitOk;
  }
  auto encoder = make_encoder(format, schema, generator.frame_records);
  FileSink sink(*output);
  std::string buffer;
  while (true) {
    buffer.clear();
    std::uint64_t made = sensors.generate(*encoder, generator.frame_records * 16ull, buffer);
    encoder->flush(buffer);
    sink.write(buffer);
    if (made == 0) break;
  }
  sink.flush();
  if (*output != "-") {
    std::fprintf(stderr, "ldh: wrote %llu %s events (%llu malformed) to %s\n",
                 static_cast<unsigned long long>(sensors.produced()),
                 std::string(to_string(format)).c_str(),
                 static_cast<unsigned long long>(sensors.malformed()), output->c_str());
  }
  return kExitOk;
}

int command_info(Arguments& arguments) {
  if (arguments.flag("--help") || arguments.flag("-h")) {
    std::fputs(kInfoUsage, stdout);
    return kExitOk;
  }
  arguments.positionals();
  const DeviceSurvey& survey = survey_devices();
  std::printf("ldh %s\n", LDH_VERSION);
  std::printf("build: C++20, %s, -ffp-contract=off\n",
#ifdef NDEBUG
              "optimised"
#else
              "debug"
#endif
  );
  std::printf("cuda backend: %s\n",
              survey.cuda_built ? ("built for " + survey.architectures).c_str() : "not built");
  std::printf("decoders: json (simdjson), binary (ldh frames), protobuf (wire format)\n");
  std::printf("sources: file, generator, udp, kafka (librdkafka %s), websocket (Boost.Beast), %s\n",
              rd_kafka_version_str(),
#ifdef LDH_HAVE_DPDK
              "dpdk"
#else
              "dpdk not built (no libdpdk-dev)"
#endif
  );
  std::printf(
      "destinations: stdout, jsonl (gzip, zstd), kafka, elasticsearch, websocket; alert "
      "notifications: webhook, email (libcurl)\n");
  if (survey.devices.empty()) {
    std::printf("cuda devices: none (%s)\n", survey.why_none.c_str());
  } else {
    for (const auto& device : survey.devices) {
      std::printf("cuda device %d: %s, compute %d.%d, %d SMs, %.1f GiB (%.1f GiB free)\n",
                  device.index, device.name.c_str(), device.compute_major, device.compute_minor,
                  device.multiprocessors, static_cast<double>(device.total_memory) / (1u << 30),
                  static_cast<double>(device.free_memory) / (1u << 30));
    }
  }
  std::string why;
  batch_memory(&why);
  std::printf("batch memory: %s\n", why.c_str());
  std::printf("cpu threads: %u\n", default_threads());
  return kExitOk;
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitFailure;
  }
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (command == "--version") {
    std::printf("ldh %s\n", LDH_VERSION);
    return kExitOk;
  }
  Arguments arguments(argc, argv, 2);
  try {
    if (command == "run") return command_run(arguments);
    if (command == "validate") return command_validate(arguments);
    if (command == "gen") return command_gen(arguments);
    if (command == "info") return command_info(arguments);
    if (command == "bench") return command_bench(arguments);
    std::fprintf(stderr, "ldh: unknown command '%s'\n\n%s", command.c_str(), kUsage);
    return kExitFailure;
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return kExitInvalid;
  } catch (const UserError& error) {
    std::fprintf(stderr, "ldh: error: %s\n", error.what());
    return kExitFailure;
  } catch (const DeviceError& error) {
    std::fprintf(stderr, "ldh: device error: %s\n", error.what());
    return kExitFailure;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "ldh: internal error: %s\n", error.what());
    return kExitFailure;
  }
}

}  // namespace ldh
