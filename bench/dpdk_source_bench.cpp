// Packets/s and events/s of 48-byte binary sensor events received by the DPDK source on one
// polling thread: DPDK's net_pcap replays a small pcap from memory without end (infinite_rx=1),
// and the source checks each frame and copies its payload into chunk buffers (pinned when a
// CUDA device is usable). Chunks are handed on and dropped, not decoded. One port per payload
// size, and one reading a pcap file through libpcap; the EAL starts once for the whole program.
//
//   ldh/build/bench/dpdk_source_bench --benchmark_min_time=2

#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host/memory.h"
#include "ingest/dpdk_source.h"
#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "ingest/pcap_writer.h"
#include "ingest/sensor_schema.h"
#include "pipeline/config.h"

namespace {

#ifdef LDH_HAVE_DPDK
// Events per datagram of the in-memory pcap behind each replaying port.
const std::vector<std::uint32_t> kEventsPerPacket = {1, 10, 30};
constexpr std::uint32_t kPacketsInPcap = 1024;
// The last port reads a pcap file once through libpcap, as a capture is replayed.
constexpr std::uint32_t kFileEventsPerPacket = 10;
constexpr std::uint32_t kPacketsInFile = 200'000;
const auto kFilePort = static_cast<std::uint16_t>(kEventsPerPacket.size());

/// Returns the CPU time the process has used (every thread), for CPU time per event.
double process_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::vector<std::string>& written_pcaps() {
  static std::vector<std::string> paths;
  return paths;
}

/// Writes a pcap of `packets` datagrams of `events` binary sensor events each; returns its
/// path (in /dev/shm when there is one, so reading never touches a disk).
std::string write_pcap(std::uint32_t events, std::uint32_t packets) {
  const std::filesystem::path folder =
      std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  const std::string path =
      (folder / ("ldh-dpdk-bench-" + std::to_string(::getpid()) + "-" + std::to_string(events) +
                 "-" + std::to_string(packets) + ".pcap"))
          .string();
  ldh::GeneratorConfig generator;
  generator.events = std::uint64_t{events} * packets;
  const ldh::Schema schema = ldh::sensor_schema();
  ldh::SensorGenerator sensors(generator, schema);
  auto encoder = ldh::make_encoder(ldh::Format::binary, schema, events);
  ldh::UdpFrameAddresses addresses;
  std::string out;
  ldh::append_pcap_header(out);
  std::string payload;
  std::string frame;
  for (std::uint32_t packet = 0; packet < packets; ++packet) {
    payload.clear();
    sensors.generate(*encoder, events, payload);
    encoder->flush(payload);
    addresses.source_port = static_cast<std::uint16_t>(40000 + packet % 64);
    frame.clear();
    ldh::append_udp_frame(addresses, std::as_bytes(std::span(payload)), frame);
    ldh::append_pcap_record(std::as_bytes(std::span(frame)), packet * 1000LL, out);
  }
  std::ofstream(path, std::ios::binary) << out;
  written_pcaps().push_back(path);
  return path;
}

/// The source settings of port `port`: every port shares the one EAL argument list.
ldh::SourceConfig source_config(std::uint16_t port) {
  static const std::vector<std::string> eal = [] {
    std::vector<std::string> arguments = {"--no-huge", "--no-pci", "--no-shconf", "-m",
                                          "512",       "-l",       "0",           "--no-telemetry"};
    for (std::size_t i = 0; i < kEventsPerPacket.size(); ++i) {
      arguments.push_back("--vdev=net_pcap" + std::to_string(i) + ",rx_pcap=" +
                          write_pcap(kEventsPerPacket[i], kPacketsInPcap) + ",infinite_rx=1");
    }
    arguments.push_back("--vdev=net_pcap" + std::to_string(kFilePort) +
                        ",rx_pcap=" + write_pcap(kFileEventsPerPacket, kPacketsInFile));
    return arguments;
  }();
  ldh::SourceConfig config;
  config.name = "bench";
  config.type = ldh::SourceType::dpdk;
  config.format = ldh::Format::binary;
  config.dpdk.eal = eal;
  config.dpdk.port = port;
  config.dpdk.burst = 64;
  return config;
}
#endif

void BM_DpdkPcapReceive(benchmark::State& state) {
#ifdef LDH_HAVE_DPDK
  const auto port = static_cast<std::uint16_t>(state.range(0));
  // One source per port for the whole program: net_pcap cannot set up the queues of a stopped
  // infinite_rx port again, and Google Benchmark runs this function several times.
  static std::map<std::uint16_t, std::unique_ptr<ldh::DpdkSource>> sources;
  auto& held = sources[port];
  if (!held) {
    held = std::make_unique<ldh::DpdkSource>(source_config(port), 0, ldh::sensor_schema(),
                                             ldh::SourceOptions{}, ldh::batch_memory());
  }
  ldh::DpdkSource& source = *held;
  ldh::RawChunk chunk;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  const double cpu_before = process_cpu_seconds();
  for (auto _ : state) {
    if (!source.next(chunk)) {
      state.SkipWithError("the source ended");
      break;
    }
    records += chunk.records;
    bytes += chunk.bytes.size();
    chunk = ldh::RawChunk{};
  }
  const double cpu = process_cpu_seconds() - cpu_before;
  const ldh::DpdkSourceStatistics statistics = source.snapshot();
  state.counters["cpu_ns_per_event"] =
      cpu * 1e9 / static_cast<double>(std::max<std::uint64_t>(records, 1));
  const double packets = static_cast<double>(records) / kEventsPerPacket[port];
  state.counters["packets/s"] = benchmark::Counter(packets, benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.counters["payload_bytes/s"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsRate);
  state.counters["imissed"] = static_cast<double>(statistics.port_missed);
  state.counters["rx_nombuf"] = static_cast<double>(statistics.port_no_mbuf);
  state.SetLabel(std::to_string(kEventsPerPacket[port]) + " events/packet, " +
                 std::string(ldh::batch_memory().name()));
#else
  state.SkipWithError("this build has no DPDK (configure with -DLDH_DPDK=ON)");
  for (auto _ : state) {
  }
#endif
}
BENCHMARK(BM_DpdkPcapReceive)->DenseRange(0, 2)->UseRealTime()->Unit(benchmark::kMillisecond);

/// Reads the whole pcap file per iteration, timed from the source's start to its last chunk.
void BM_DpdkPcapFileReceive(benchmark::State& state) {
#ifdef LDH_HAVE_DPDK
  ldh::SourceConfig config = source_config(kFilePort);
  config.dpdk.end_after_idle_ns = 20'000'000;
  std::uint64_t records = 0;
  double cpu = 0;
  for (auto _ : state) {
    const double cpu_before = process_cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    ldh::DpdkSource source(config, 0, ldh::sensor_schema(), ldh::SourceOptions{},
                           ldh::batch_memory());
    ldh::RawChunk chunk;
    std::uint64_t read = 0;
    while (source.next(chunk)) {
      read += chunk.records;
      last = std::chrono::steady_clock::now();
      chunk = ldh::RawChunk{};
    }
    // Includes the idle polls that end the source (20 ms, mostly asleep).
    cpu += process_cpu_seconds() - cpu_before;
    if (read != std::uint64_t{kFileEventsPerPacket} * kPacketsInFile) {
      state.SkipWithError("the source did not read the whole file");
      break;
    }
    records += read;
    state.SetIterationTime(std::chrono::duration<double>(last - start).count());
  }
  state.counters["cpu_ns_per_event"] =
      cpu * 1e9 / static_cast<double>(std::max<std::uint64_t>(records, 1));
  state.counters["packets/s"] = benchmark::Counter(
      static_cast<double>(records) / kFileEventsPerPacket, benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.SetLabel(std::to_string(kFileEventsPerPacket) + " events/packet from a pcap file, " +
                 std::string(ldh::batch_memory().name()));
#else
  state.SkipWithError("this build has no DPDK (configure with -DLDH_DPDK=ON)");
  for (auto _ : state) {
  }
#endif
}
BENCHMARK(BM_DpdkPcapFileReceive)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
#ifdef LDH_HAVE_DPDK
  for (const auto& path : written_pcaps()) std::filesystem::remove(path);
#endif
  return 0;
}
